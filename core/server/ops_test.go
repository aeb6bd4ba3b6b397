package server

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/transport"
)

// TestOperationsEveryFormat runs every device management operation in
// every content format the device and the server share.
func TestOperationsEveryFormat(t *testing.T) {
	s := startServer(t, Config{})
	for _, f := range allFormats {
		t.Run(f.Name(), func(t *testing.T) {
			ep := "fmt-" + f.Name()
			d := register(t, s, ep, func(c *servertest.Config) {
				c.Formats = []codec.Format{f, codec.TLV, codec.Text, codec.CBOR, codec.Opaque, codec.SenMLCBOR}
				c.Version = model.V1_2
			})
			ctx := ctxT(t)
			wf := WithFormat(f)

			// Read an object, an instance, a resource, a resource instance.
			obj, err := s.Read(ctx, ep, mustPath("/3303"), wf)
			if err != nil || obj.Kind != model.KindObject || len(obj.Children) != 2 {
				t.Fatalf("read /3303: %v %v", obj, err)
			}
			inst, err := s.Read(ctx, ep, mustPath("/3/0"), wf)
			want, _ := d.Get(mustPath("/3/0"))
			if err != nil || !inst.Equal(&want) {
				t.Fatalf("read /3/0: %v %v\nwant %v", inst, err, want)
			}
			res, err := s.Read(ctx, ep, mustPath("/3303/1/5700"), wf)
			if err != nil || res.Value != model.Float(-4) {
				t.Fatalf("read /3303/1/5700: %v %v", res, err)
			}
			ri, err := s.Read(ctx, ep, mustPath("/3/0/7/1"), wf)
			if err != nil || ri.Kind != model.KindResourceInstance || ri.Value != model.Int(5000) {
				t.Fatalf("read /3/0/7/1: %v %v", ri, err)
			}

			// Write replace on a resource and on an instance, partial update.
			if err := s.Write(ctx, ep, mustPath("/1/0/1"), model.NewResource(1, model.Int(120)), true, wf); err != nil {
				t.Fatalf("write resource: %v", err)
			}
			if n, _ := d.Get(mustPath("/1/0/1")); n.Value != model.Int(120) {
				t.Errorf("lifetime on the device: %v", n)
			}
			if err := s.Write(ctx, ep, mustPath("/3303/1"), model.NewInstance(1, model.NewResource(5701, model.String("K"))), false, wf); err != nil {
				t.Fatalf("partial update: %v", err)
			}
			if n, _ := d.Get(mustPath("/3303/1")); len(n.Children) != 2 || n.Child(5701).Value != model.String("K") {
				t.Errorf("after partial update: %v", n)
			}
			if err := s.Write(ctx, ep, mustPath("/3303/1"), model.NewInstance(1, model.NewResource(5700, model.Float(7))), true, wf); err != nil {
				t.Fatalf("replace instance: %v", err)
			}
			if n, _ := d.Get(mustPath("/3303/1")); len(n.Children) != 1 || n.Child(5700).Value != model.Float(7) {
				t.Errorf("after replace: %v", n)
			}

			// Composite operations (SenML and LwM2M CBOR only).
			if f.Composite() {
				paths := []model.Path{mustPath("/3/0/0"), mustPath("/3303/0"), mustPath("/1/0/1")}
				entries, err := s.ReadComposite(ctx, ep, paths, wf)
				if err != nil || len(entries) != 3 || entries[0].Node.Value != model.String("Open Mobile Alliance") || len(entries[1].Node.Children) != 2 {
					t.Fatalf("read-composite: %v %v", entries, err)
				}
				err = s.WriteComposite(ctx, ep, []model.Entry{
					{Path: mustPath("/1/0/1"), Node: model.NewResource(1, model.Int(99))},
					{Path: mustPath("/3303/0/5701"), Node: model.NewResource(5701, model.String("Far"))},
				}, wf)
				if err != nil {
					t.Fatalf("write-composite: %v", err)
				}
				if n, _ := d.Get(mustPath("/3303/0/5701")); n.Value != model.String("Far") {
					t.Errorf("after write-composite: %v", n)
				}
			}
		})
	}
}

func TestExecuteCreateDeleteDiscoverAttributes(t *testing.T) {
	s := startServer(t, Config{})
	d := register(t, s, "ops", nil)
	ctx := ctxT(t)

	if err := s.Execute(ctx, "ops", mustPath("/3/0/4"), "0='4',1"); err != nil {
		t.Fatal(err)
	}
	if got := d.Executed(); !slices.Equal(got, []string{"/3/0/4 0='4',1"}) {
		t.Errorf("executed %q", got)
	}
	if err := s.Execute(ctx, "ops", mustPath("/3/0/0"), ""); model.CodeOf(err) != model.MethodNotAllowed {
		t.Errorf("execute of a readable resource: %v, want 4.05", err)
	}

	// Create with an instance id, then without (the device picks one).
	p, err := s.Create(ctx, "ops", 3303, model.NewInstance(7, model.NewResource(5700, model.Float(1)), model.NewResource(5701, model.String("Cel"))))
	if err != nil || p != mustPath("/3303/7") {
		t.Fatalf("create with id: %v %v", p, err)
	}
	if n, err := d.Get(mustPath("/3303/7/5700")); err != nil || n.Value != model.Float(1) {
		t.Errorf("created instance: %v %v", n, err)
	}
	p, err = s.Create(ctx, "ops", 3303, model.NewInstance(model.NoID, model.NewResource(5700, model.Float(2))))
	if err != nil || p != mustPath("/3303/2") {
		t.Fatalf("create without id: %v %v", p, err)
	}
	if err := s.Delete(ctx, "ops", mustPath("/3303/7")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(mustPath("/3303/7")); err == nil {
		t.Error("deleted instance still there")
	}
	if err := s.Delete(ctx, "ops", mustPath("/3303/7")); model.CodeOf(err) != model.NotFound {
		t.Errorf("second delete: %v, want 4.04", err)
	}

	// Write-Attributes, then Discover shows them.
	attrs := link.Attributes{PMin: link.Set[uint32](10), PMax: link.Set[uint32](60), GT: link.Set(25.5)}
	if err := s.WriteAttributes(ctx, "ops", mustPath("/3303/0/5700"), attrs); err != nil {
		t.Fatal(err)
	}
	if got := d.Attributes(mustPath("/3303/0/5700")); !got.Equal(attrs) {
		t.Errorf("device holds %v, want %v", got, attrs)
	}
	entries, err := s.Discover(ctx, "ops", mustPath("/3303/0"))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		if e.Path == mustPath("/3303/0/5700") {
			found = true
			if v, _ := e.PMin.Get(); v != 10 {
				t.Errorf("discovered pmin %v", e.Attributes)
			}
		}
	}
	if !found || entries[0].Path != mustPath("/3303/0") {
		t.Errorf("discover: %v", entries)
	}
	if err := s.WriteAttributes(ctx, "ops", mustPath("/3303/0/5700"), link.Attributes{PMin: link.Set[uint32](50), PMax: link.Set[uint32](10)}); model.CodeOf(err) != model.BadRequest {
		t.Errorf("pmax < pmin: %v", err)
	}
	// Unset an attribute.
	if err := s.WriteAttributes(ctx, "ops", mustPath("/3303/0/5700"), link.Attributes{GT: link.Unset[float64]()}); err != nil {
		t.Fatal(err)
	}
	if got := d.Attributes(mustPath("/3303/0/5700")); !got.GT.IsAbsent() && !got.GT.IsUnset() {
		t.Errorf("gt not removed: %v", got)
	}
}

func TestOperationErrors(t *testing.T) {
	s := startServer(t, Config{})
	register(t, s, "errs", nil)
	ctx := ctxT(t)
	tests := []struct {
		name string
		err  error
		code model.Code
	}{
		{"unknown device", func() error { _, err := s.Read(ctx, "nobody", mustPath("/3/0")); return err }(), model.NotFound},
		{"missing object", func() error { _, err := s.Read(ctx, "errs", mustPath("/9/0")); return err }(), model.NotFound},
		{"root read", func() error { _, err := s.Read(ctx, "errs", model.RootPath()); return err }(), model.BadRequest},
		{"partial update of a resource", s.Write(ctx, "errs", mustPath("/3/0/1"), model.NewResource(1, model.String("x")), false), model.BadRequest},
		{"format the device does not speak", func() error {
			_, err := s.Read(ctx, "errs", mustPath("/3/0"), WithFormat(codec.JSON))
			return err
		}(), model.NotAcceptable},
		{"execute an instance", s.Execute(ctx, "errs", mustPath("/3/0"), ""), model.BadRequest},
		{"delete a resource", s.Delete(ctx, "errs", mustPath("/3/0/1")), model.BadRequest},
	}
	for _, tc := range tests {
		if model.CodeOf(tc.err) != tc.code {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.code)
		}
	}
	// A device that does not answer: 5.04 within the transport's give-up time.
	d := register(t, s, "silent", nil)
	d.Close()
	start := time.Now()
	_, err := s.Read(ctx, "silent", mustPath("/3/0"))
	if model.CodeOf(err) != model.GatewayTimeout || !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("silent device: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout took %v", time.Since(start))
	}
}

// TestVersionDecidesWhatADeviceIsSent: the lwm2m= parameter of the
// registration decides the formats and operations a device may be sent.
func TestVersionDecidesWhatADeviceIsSent(t *testing.T) {
	s := startServer(t, Config{})
	register(t, s, "v10", func(c *servertest.Config) {
		c.Version = model.V1_0
		c.Formats = []codec.Format{codec.TLV, codec.Text, codec.JSON}
	})
	register(t, s, "v11", func(c *servertest.Config) { c.Version = model.V1_1 })
	ctx := ctxT(t)
	if _, err := s.Read(ctx, "v10", mustPath("/3/0")); err != nil {
		t.Fatalf("read in the default format of a 1.0 device: %v", err)
	}
	for name, err := range map[string]error{
		"senml to 1.0": func() error { _, err := s.Read(ctx, "v10", mustPath("/3/0"), WithFormat(codec.SenMLCBOR)); return err }(),
		"lwm2m cbor to 1.1": func() error {
			_, err := s.Read(ctx, "v11", mustPath("/3/0"), WithFormat(codec.LwM2MCBOR))
			return err
		}(),
		"read-composite to 1.0":  func() error { _, err := s.ReadComposite(ctx, "v10", []model.Path{mustPath("/3/0/0")}); return err }(),
		"write-composite to 1.0": s.WriteComposite(ctx, "v10", []model.Entry{{Path: mustPath("/1/0/1"), Node: model.NewResource(1, model.Int(5))}}),
		"observe-composite to 1.0": func() error {
			_, err := s.ObserveComposite(ctx, "v10", []model.Path{mustPath("/3/0/0")})
			return err
		}(),
		"unknown format": func() error { _, err := s.Read(ctx, "v11", mustPath("/3/0"), WithFormat(codec.Format(9))); return err }(),
	} {
		if model.CodeOf(err) != model.NotAcceptable {
			t.Errorf("%s: %v, want 4.06", name, err)
		}
	}
}

// TestBlockwise reads and writes a value larger than one CoAP block
// (RFC 7959): the transport fetches Block2 and sends Block1.
func TestBlockwise(t *testing.T) {
	s := startServer(t, Config{})
	big := make([]byte, 20000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	d := register(t, s, "big", func(c *servertest.Config) {
		c.Objects = append(c.Objects, model.NewObject(5, model.NewInstance(0, model.NewResource(0, model.Opaque(big)))))
	})
	ctx := ctxT(t)
	for _, f := range []codec.Format{codec.TLV, codec.Opaque, codec.SenMLCBOR} {
		n, err := s.Read(ctx, "big", mustPath("/5/0/0"), WithFormat(f))
		if err != nil || n.Value != model.Opaque(big) {
			t.Fatalf("block-wise read in %v: %d bytes, %v", f, len(n.Value.Str()), err)
		}
	}
	bigger := append(big, big...)
	if err := s.Write(ctx, "big", mustPath("/5/0/0"), model.NewResource(0, model.Opaque(bigger)), true, WithFormat(codec.Opaque)); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Get(mustPath("/5/0/0")); n.Value != model.Opaque(bigger) {
		t.Errorf("block-wise write: the device holds %d bytes", len(n.Value.Str()))
	}
}

// TestBlockwiseRegister: a device with many instances registers with a
// payload larger than one block (Block1 on the Register).
func TestBlockwiseRegister(t *testing.T) {
	s := startServer(t, Config{})
	var insts []model.Node
	for i := range 400 {
		insts = append(insts, model.NewInstance(uint16(i), model.NewResource(5700, model.Float(float64(i)))))
	}
	d := register(t, s, "many", func(c *servertest.Config) { c.Objects = append(c.Objects, model.NewObject(3300, insts...)) })
	if len(d.Payload()) < 3000 {
		t.Fatalf("payload of %d bytes does not need block-wise", len(d.Payload()))
	}
	r, err := s.Registration(ctxT(t), "many")
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Objects[len(r.Objects)-1]; o.ID != 3303 && len(r.Objects) != 4 {
		t.Errorf("objects %v", r.Objects)
	}
	found := false
	for _, o := range r.Objects {
		if o.ID == 3300 {
			found = len(o.Instances) == 400
		}
	}
	if !found {
		t.Errorf("the 400 instances did not all arrive: %+v", r.Objects)
	}
}

func TestWriteRefusesAFormatThatCannotCarryTheNode(t *testing.T) {
	s := startServer(t, Config{})
	register(t, s, "fmt", nil)
	err := s.Write(ctxT(t), "fmt", mustPath("/3303/0"), model.NewInstance(0, model.NewResource(5701, model.String("K"))), false, WithFormat(codec.Text))
	if model.CodeOf(err) != model.NotAcceptable {
		t.Errorf("partial update in text: %v, want 4.06", err)
	}
}
