package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
)

// TestCrossProduct runs every device management and information
// reporting operation in every content format the client and the server
// share, the way Eclipse Leshan tests itself: a 1.2 client (every format,
// composite operations) against core/server over loopback UDP. An
// operation a format cannot carry must fail with the code the
// specification gives (4.06 for a response format, 4.15 for a request
// format) rather than succeed or crash.
func TestCrossProduct(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
	ep := "dev-xp"
	e := registered(t, s, ep, d, func(c *client.Config) {
		c.Version = model.V1_2
		c.ConfirmableNotifications = true
	})
	ctx := ctxT(t, 60*time.Second)
	formats := []codec.Format{codec.SenMLCBOR, codec.LwM2MCBOR, codec.SenMLJSON, codec.TLV, codec.JSON, codec.CBOR, codec.Text, codec.Opaque}

	want0 := testInstance(0)
	reset := func(t *testing.T) {
		t.Helper()
		if err := d.test.RemoveInstance(0); err != nil && !errors.Is(err, model.ErrNotFound) {
			t.Fatal(err)
		}
		if err := d.test.AddInstance(want0); err != nil {
			t.Fatal(err)
		}
	}
	expectCode := func(t *testing.T, err error, code model.Code) {
		t.Helper()
		if code == 0 {
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if model.CodeOf(err) != code {
			t.Fatalf("got %v, want %v", err, code)
		}
	}
	sameNode := func(t *testing.T, got, want model.Node) {
		t.Helper()
		if !got.Equal(&want) {
			t.Fatalf("got  %v\nwant %v", got, want)
		}
	}
	// readable is want0 as a read returns it (every resource is
	// readable but the executable, which holds no value).
	resource := func(id uint16) model.Node { return *want0.Child(id) }
	temp := 30.5

	for _, f := range formats {
		tree := !f.SingleValue()
		t.Run(f.Name(), func(t *testing.T) {
			t.Run("read object", func(t *testing.T) {
				reset(t)
				n, err := s.Read(ctx, ep, mustPath("/33001"), server.WithFormat(f))
				if !tree {
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, 0)
				sameNode(t, n, model.NewObject(testObjectID, want0))
			})
			t.Run("read instance", func(t *testing.T) {
				reset(t)
				n, err := s.Read(ctx, ep, mustPath("/33001/0"), server.WithFormat(f))
				if !tree {
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, 0)
				sameNode(t, n, want0)
			})
			t.Run("read resource", func(t *testing.T) {
				reset(t)
				for _, id := range []uint16{0, 1, 2, 3, 4, 5, 6, 7, 9} {
					n, err := s.Read(ctx, ep, model.ResourcePath(testObjectID, 0, id), server.WithFormat(f))
					want := resource(id)
					switch {
					case f == codec.Opaque && id != 5, !tree && want.Kind == model.KindMultipleResource:
						expectCode(t, err, model.NotAcceptable)
						continue
					}
					if err != nil {
						t.Fatalf("resource %d: %v", id, err)
					}
					sameNode(t, n, want)
				}
			})
			t.Run("read resource instance", func(t *testing.T) {
				reset(t)
				n, err := s.Read(ctx, ep, mustPath("/33001/0/9/1"), server.WithFormat(f))
				if f == codec.Opaque {
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, 0)
				sameNode(t, n, model.NewResourceInstance(1, model.Int(2)))
			})
			t.Run("write resource", func(t *testing.T) {
				reset(t)
				writes := []model.Node{
					model.NewResource(0, model.String("written "+f.Name())),
					model.NewResource(1, model.Int(-7)),
					model.NewResource(3, model.Float(-0.25)),
					model.NewResource(4, model.Bool(false)),
					model.NewResource(5, model.Opaque([]byte("bytes"))),
					model.NewResource(6, model.UnixTime(1800000000)),
					model.NewResource(7, model.Objlnk(3303, 1)),
				}
				for _, w := range writes {
					p := model.ResourcePath(testObjectID, 0, w.ID)
					if !codec.CanEncode(f, &w) {
						// A format chosen by the caller that cannot carry
						// the node: the server refuses before sending.
						expectCode(t, s.Write(ctx, ep, p, w, true, server.WithFormat(f)), model.NotAcceptable)
						continue
					}
					if err := s.Write(ctx, ep, p, w, true, server.WithFormat(f)); err != nil {
						t.Fatalf("write %s: %v", p, err)
					}
					got, ok := d.test.Node(p)
					if !ok {
						t.Fatalf("%s gone", p)
					}
					sameNode(t, got, w)
				}
			})
			t.Run("write multiple resource", func(t *testing.T) {
				reset(t)
				w := model.NewMultipleResourceOf(9, model.Int(7), model.Int(8), model.Int(9))
				err := s.Write(ctx, ep, mustPath("/33001/0/9"), w, true, server.WithFormat(f))
				if !codec.CanEncode(f, &w) {
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, 0)
				got, _ := d.test.Node(mustPath("/33001/0/9"))
				sameNode(t, got, w)
			})
			t.Run("write resource instance", func(t *testing.T) {
				reset(t)
				w := model.NewResourceInstance(1, model.Int(77))
				err := s.Write(ctx, ep, mustPath("/33001/0/9/1"), w, true, server.WithFormat(f))
				if !codec.CanEncode(f, &w) {
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, 0)
				got, _ := d.test.Node(mustPath("/33001/0/9"))
				sameNode(t, got, model.NewMultipleResourceOf(9, model.Int(1), model.Int(77)))
			})
			t.Run("write instance replace", func(t *testing.T) {
				reset(t)
				w := model.NewInstance(0,
					model.NewResource(0, model.String("replaced")),
					model.NewResource(1, model.Int(1)),
					model.NewResource(2, model.Uint(2)),
					model.NewResource(3, model.Float(3)),
					model.NewResource(4, model.Bool(false)),
					model.NewResource(5, model.Opaque(nil)),
					model.NewResource(6, model.UnixTime(5)),
					model.NewResource(7, model.Objlnk(1, 0)),
					model.NewMultipleResourceOf(9, model.Int(5)),
					model.NewResource(12, model.Int(99)),
				)
				if !tree {
					expectCode(t, s.Write(ctx, ep, mustPath("/33001/0"), w, true, server.WithFormat(f)), model.NotAcceptable)
					return
				}
				if err := s.Write(ctx, ep, mustPath("/33001/0"), w, true, server.WithFormat(f)); err != nil {
					t.Fatal(err)
				}
				got, _ := d.test.Node(mustPath("/33001/0"))
				want := w.Clone()
				want.Children = append(want.Children, model.NewResource(11, model.String("fixed")))
				want.Sort()
				sameNode(t, got, want)
			})
			t.Run("write instance partial", func(t *testing.T) {
				reset(t)
				w := model.NewInstance(0, model.NewResource(0, model.String("partial")), model.NewResource(12, model.Int(1)))
				if !tree {
					expectCode(t, s.Write(ctx, ep, mustPath("/33001/0"), w, false, server.WithFormat(f)), model.NotAcceptable)
					return
				}
				if err := s.Write(ctx, ep, mustPath("/33001/0"), w, false, server.WithFormat(f)); err != nil {
					t.Fatal(err)
				}
				got, _ := d.test.Node(mustPath("/33001/0"))
				want := want0.Clone()
				want.Child(0).Value = model.String("partial")
				want.Child(12).Value = model.Int(1)
				sameNode(t, got, want)
			})
			t.Run("write read-only resource", func(t *testing.T) {
				reset(t)
				w := model.NewResource(11, model.String("x"))
				err := s.Write(ctx, ep, mustPath("/33001/0/11"), w, true, server.WithFormat(f))
				if !codec.CanEncode(f, &w) {
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, model.MethodNotAllowed)
			})
			t.Run("write out of range", func(t *testing.T) {
				reset(t)
				w := model.NewResource(12, model.Int(101))
				err := s.Write(ctx, ep, mustPath("/33001/0/12"), w, true, server.WithFormat(f))
				if !codec.CanEncode(f, &w) {
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, model.BadRequest)
			})
			t.Run("create with id", func(t *testing.T) {
				reset(t)
				in := testInstance(7)
				p, err := s.Create(ctx, ep, testObjectID, in, server.WithFormat(f))
				if !tree {
					// The server cannot encode an object in a
					// single-value format: it refuses before sending.
					expectCode(t, err, model.NotAcceptable)
					return
				}
				expectCode(t, err, 0)
				if p != mustPath("/33001/7") {
					t.Fatalf("created %s", p)
				}
				got, _ := d.test.Node(p)
				sameNode(t, got, in)
				if err := s.Delete(ctx, ep, p); err != nil {
					t.Fatal(err)
				}
				if _, ok := d.test.Node(p); ok {
					t.Fatal("not deleted")
				}
				expectCode(t, s.Delete(ctx, ep, p), model.NotFound)
			})
			t.Run("observe", func(t *testing.T) {
				if f == codec.Opaque {
					_, err := s.Observe(ctx, ep, mustPath("/33001/0/1"), server.WithFormat(f))
					expectCode(t, err, model.NotAcceptable)
					return
				}
				for _, active := range []bool{false, true} {
					reset(t)
					p := mustPath("/33001/0/1")
					o, err := s.Observe(ctx, ep, p, server.WithFormat(f))
					if err != nil {
						t.Fatal(err)
					}
					if len(o.First) != 1 || !o.First[0].Node.Equal(ptr(resource(1))) {
						t.Fatalf("first %v", o.First)
					}
					waitFor(t, 5*time.Second, "the observation", func() bool { return observations(e) == 1 })
					if err := d.test.Set(p, model.Int(1234)); err != nil {
						t.Fatal(err)
					}
					n := nextNotification(t, o)
					if len(n.Entries) != 1 || n.Entries[0].Node.Value != model.Int(1234) {
						t.Fatalf("notification %+v", n)
					}
					if err := o.Cancel(ctx, active); err != nil {
						t.Fatal(err)
					}
					if !active {
						// The next (confirmable) notification is reset.
						if err := d.test.Set(p, model.Int(5)); err != nil {
							t.Fatal(err)
						}
					}
					waitFor(t, 5*time.Second, fmt.Sprintf("the cancel (active %v)", active), func() bool { return observations(e) == 0 })
				}
			})
			if !f.Composite() {
				return
			}
			paths := []model.Path{mustPath("/33001/0/1"), mustPath("/3303/0"), mustPath("/3/0/0")}
			t.Run("read composite", func(t *testing.T) {
				reset(t)
				entries, err := s.ReadComposite(ctx, ep, paths, server.WithFormat(f))
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 3 || entries[0].Node.Value != model.Int(-42) || entries[2].Node.Value != model.String("wasm2m") {
					t.Fatalf("entries %v", entries)
				}
				if entries[1].Node.Kind != model.KindInstance || entries[1].Node.Child(5700) == nil {
					t.Fatalf("temperature %v", entries[1].Node)
				}
			})
			t.Run("write composite", func(t *testing.T) {
				reset(t)
				err := s.WriteComposite(ctx, ep, []model.Entry{
					{Path: mustPath("/33001/0/0"), Node: model.NewResource(0, model.String("composite"))},
					{Path: mustPath("/33001/0/9/0"), Node: model.NewResourceInstance(0, model.Int(100))},
					{Path: mustPath("/3/0/14"), Node: model.NewResource(14, model.String("+02:00"))},
				}, server.WithFormat(f))
				if err != nil {
					t.Fatal(err)
				}
				if v, _ := d.test.Get(mustPath("/33001/0/0")); v != model.String("composite") {
					t.Errorf("/33001/0/0 = %v", v)
				}
				if v, _ := d.test.Get(mustPath("/33001/0/9/0")); v != model.Int(100) {
					t.Errorf("/33001/0/9/0 = %v", v)
				}
				if v, _ := d.device.Get(mustPath("/3/0/14")); v != model.String("+02:00") {
					t.Errorf("/3/0/14 = %v", v)
				}
				// One value not writable: nothing is written.
				err = s.WriteComposite(ctx, ep, []model.Entry{
					{Path: mustPath("/33001/0/0"), Node: model.NewResource(0, model.String("not this"))},
					{Path: mustPath("/33001/0/11"), Node: model.NewResource(11, model.String("read-only"))},
				}, server.WithFormat(f))
				expectCode(t, err, model.MethodNotAllowed)
				if v, _ := d.test.Get(mustPath("/33001/0/0")); v != model.String("composite") {
					t.Errorf("a refused write-composite wrote /33001/0/0 = %v", v)
				}
			})
			t.Run("observe composite", func(t *testing.T) {
				for _, active := range []bool{false, true} {
					reset(t)
					o, err := s.ObserveComposite(ctx, ep, paths[:2], server.WithFormat(f))
					if err != nil {
						t.Fatal(err)
					}
					if len(o.First) != 2 {
						t.Fatalf("first %v", o.First)
					}
					waitFor(t, 5*time.Second, "the observation", func() bool { return observations(e) == 1 })
					temp++
					if err := d.temp.SetValue(0, temp); err != nil {
						t.Fatal(err)
					}
					n := nextNotification(t, o)
					if len(n.Entries) != 2 || n.Entries[1].Node.Child(5700).Value != model.Float(temp) {
						t.Fatalf("notification %+v", n)
					}
					if err := o.Cancel(ctx, active); err != nil {
						t.Fatal(err)
					}
					if !active {
						if err := d.test.Set(mustPath("/33001/0/1"), model.Int(6)); err != nil {
							t.Fatal(err)
						}
					}
					waitFor(t, 5*time.Second, fmt.Sprintf("the cancel (active %v)", active), func() bool { return observations(e) == 0 })
				}
			})
		})
	}

	// Operations without a content format of their own.
	t.Run("execute", func(t *testing.T) {
		reset(t)
		var mu sync.Mutex
		var got []string
		d.test.OnExecute(10, func(ctx context.Context, inst uint16, args []byte) error {
			mu.Lock()
			got = append(got, string(args))
			mu.Unlock()
			return nil
		})
		for _, args := range []string{"", "0='a',1", "5"} {
			if err := s.Execute(ctx, ep, mustPath("/33001/0/10"), args); err != nil {
				t.Fatalf("execute %q: %v", args, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, []string{"", "0='a',1", "5"}) {
			t.Errorf("executed with %q", got)
		}
		expectCode(t, s.Execute(ctx, ep, mustPath("/33001/0/1"), ""), model.MethodNotAllowed)
		expectCode(t, s.Execute(ctx, ep, mustPath("/33001/0/10"), "a=b"), model.BadRequest)
		expectCode(t, s.Execute(ctx, ep, mustPath("/33001/9/10"), ""), model.NotFound)
	})
	t.Run("create without id", func(t *testing.T) {
		reset(t)
		in := testInstance(model.NoID)
		p, err := s.Create(ctx, ep, testObjectID, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Level() != model.LevelInstance || p.InstanceID() == 0 {
			t.Fatalf("created %s", p)
		}
		got, _ := d.test.Node(p)
		in.ID = p.InstanceID()
		sameNode(t, got, in)
		if err := s.Delete(ctx, ep, p); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("discover and write-attributes", func(t *testing.T) {
		reset(t)
		gt := 10.0
		if err := s.WriteAttributes(ctx, ep, mustPath("/33001/0/1"), link.Attributes{PMin: link.Set[uint32](1), GT: link.Set(gt)}); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteAttributes(ctx, ep, mustPath("/33001"), link.Attributes{PMax: link.Set[uint32](60)}); err != nil {
			t.Fatal(err)
		}
		entries, err := s.Discover(ctx, ep, mustPath("/33001"))
		if err != nil {
			t.Fatal(err)
		}
		byPath := map[model.Path]link.Entry{}
		for _, en := range entries {
			byPath[en.Path] = en
		}
		for _, p := range []string{"/33001", "/33001/0", "/33001/0/0", "/33001/0/9", "/33001/0/10", "/33001/0/12"} {
			if _, ok := byPath[mustPath(p)]; !ok {
				t.Errorf("discover lacks %s: %v", p, entries)
			}
		}
		if a := byPath[mustPath("/33001/0/1")]; a.PMin != link.Set[uint32](1) || a.GT != link.Set(gt) {
			t.Errorf("/33001/0/1 attributes %v", a.Attributes)
		}
		if a := byPath[mustPath("/33001")]; a.PMax != link.Set[uint32](60) {
			t.Errorf("/33001 attributes %v", a.Attributes)
		}
		if a := byPath[mustPath("/33001/0/9")]; a.Dim != link.Set[uint8](2) {
			t.Errorf("/33001/0/9 dim %v", a.Attributes)
		}
		// Unset them again.
		if err := s.WriteAttributes(ctx, ep, mustPath("/33001/0/1"), link.Attributes{PMin: link.Unset[uint32](), GT: link.Unset[float64]()}); err != nil {
			t.Fatal(err)
		}
		entries, err = s.Discover(ctx, ep, mustPath("/33001/0/1"))
		if err != nil || len(entries) != 1 || !entries[0].Attributes.IsZero() {
			t.Errorf("after unset: %v %v", entries, err)
		}
		expectCode(t, s.WriteAttributes(ctx, ep, mustPath("/33001/0/0"), link.Attributes{GT: link.Set(1.0)}), model.BadRequest)
		expectCode(t, s.WriteAttributes(ctx, ep, mustPath("/33001/5"), link.Attributes{PMin: link.Set[uint32](1)}), model.NotFound)
		_, err = s.Discover(ctx, ep, mustPath("/0"))
		expectCode(t, err, model.NotFound)
	})
	t.Run("security object hidden", func(t *testing.T) {
		for _, p := range []string{"/0", "/0/0", "/0/0/0"} {
			_, err := s.Read(ctx, ep, mustPath(p))
			expectCode(t, err, model.NotFound)
		}
		expectCode(t, s.Write(ctx, ep, mustPath("/0/0/0"), model.NewResource(0, model.String("coap://x")), true), model.NotFound)
	})
}

func ptr[T any](v T) *T { return &v }

// observations counts the observations the servers hold on e.
func observations(e *client.Engine) int {
	n := 0
	for _, s := range e.Status() {
		n += s.Observations
	}
	return n
}

// nextNotification waits for the next notification of o.
func nextNotification(t *testing.T, o *server.Observation) server.Notification {
	t.Helper()
	select {
	case n, ok := <-o.C:
		if !ok {
			t.Fatal("observation closed")
		}
		if n.Err != nil {
			t.Fatalf("notification error: %v", n.Err)
		}
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	return server.Notification{}
}
