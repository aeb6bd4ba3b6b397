package abi_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// wire sends m through its encoding, as a peer would receive it.
func wire[M any, P interface {
	*M
	message
}](t *testing.T, m P) P {
	t.Helper()
	var out M
	if err := P(&out).Unmarshal(m.MarshalAppend(nil)); err != nil {
		t.Fatal(err)
	}
	return &out
}

func values() []model.Value {
	return []model.Value{
		{},
		model.String(""), model.String("héllo"), model.String("\xff\x00not utf-8"),
		model.Int(0), model.Int(-1), model.Int(math.MinInt64), model.Int(math.MaxInt64),
		model.Uint(0), model.Uint(math.MaxUint64),
		model.Float(0), model.Float(math.Copysign(0, -1)), model.Float(21.5), model.Float(-1e300),
		model.Float(math.Inf(1)), model.Float(math.Inf(-1)), model.Float(math.NaN()),
		model.Float(math.SmallestNonzeroFloat64),
		model.Bool(false), model.Bool(true),
		model.Opaque(nil), model.Opaque([]byte{0, 1, 0xff}),
		model.UnixTime(0), model.UnixTime(-1), model.Time(time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)),
		model.UnixTime(math.MaxInt64),
		model.Objlnk(0, 0), model.Objlnk(3303, 65534), model.Objlnk(model.NoID, model.NoID),
		model.Corelnk(""), model.Corelnk("</3303/0>;rt=\"x\""),
	}
}

func TestValueRoundTrip(t *testing.T) {
	types := map[model.Type]bool{}
	for _, v := range values() {
		types[v.Type()] = true
		t.Run(fmt.Sprintf("%s %q", v.Type(), model.FormatText(v)), func(t *testing.T) {
			got, err := wire(t, abi.ValueOf(v)).Model()
			if err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Fatalf("got %#v, want %#v", got, v)
			}
		})
	}
	for typ := model.TypeNone; typ <= model.TypeCorelnk; typ++ {
		if !types[typ] {
			t.Errorf("no value of type %s tested", typ)
		}
	}
}

func TestValueModelErrors(t *testing.T) {
	for _, v := range []*abi.Value{
		{Type: 10},
		{Type: -1},
		{Type: abi.ValueTypeObjlnk, ObjlnkObject: 65536},
		{Type: abi.ValueTypeObjlnk, ObjlnkInstance: 1 << 31},
	} {
		if _, err := v.Model(); !errors.Is(err, model.ErrBadRequest) {
			t.Errorf("%+v: got %v, want 4.00", v, err)
		}
	}
	if got, err := (*abi.Value)(nil).Model(); err != nil || !got.IsNone() {
		t.Errorf("nil Value: %v, %v", got, err)
	}
}

func TestPathRoundTrip(t *testing.T) {
	for _, s := range []string{"/", "/0", "/3303", "/3303/0", "/3303/0/5700", "/3/0/7/1", "/65534/65534/65534/65534"} {
		p := model.MustPath(s)
		got, err := wire(t, abi.PathOf(p)).Model()
		if err != nil || got != p {
			t.Errorf("%s: got %v, %v", s, got, err)
		}
	}
	if got, err := (*abi.Path)(nil).Model(); err != nil || !got.IsRoot() {
		t.Errorf("nil Path: %v, %v", got, err)
	}
	for _, p := range []*abi.Path{{IDs: []uint32{1, 2, 3, 4, 5}}, {IDs: []uint32{65535}}, {IDs: []uint32{1 << 20}}} {
		if _, err := p.Model(); !errors.Is(err, model.ErrBadRequest) {
			t.Errorf("%v: got %v, want 4.00", p.IDs, err)
		}
	}
	ps := []model.Path{model.MustPath("/1"), model.MustPath("/3/0/1")}
	got, err := abi.PathsModel(abi.PathsOf(ps))
	if err != nil || !reflect.DeepEqual(got, ps) {
		t.Errorf("paths: %v, %v", got, err)
	}
}

// nodes returns one tree of each kind, holding every value type.
func nodes() []model.Node {
	var rs []model.Node
	for i, v := range values() {
		rs = append(rs, model.NewResource(uint16(100+i), v))
	}
	multi := model.NewMultipleResourceOf(7, values()...)
	inst := model.NewInstance(0, append(rs, multi)...)
	return []model.Node{
		model.NewResource(5700, model.Float(21.5)),
		model.NewResource(4, model.Value{}), // an executable resource in a tree
		model.NewResourceInstance(3, model.Objlnk(1, 2)),
		multi,
		model.NewMultipleResource(11), // empty
		inst,
		model.NewInstance(65534),
		model.NewObject(3303, inst, model.NewInstance(1, model.NewResource(5701, model.String("Cel")))),
		model.NewObject(1),
	}
}

func TestNodeRoundTrip(t *testing.T) {
	kinds := map[model.Kind]bool{}
	for _, n := range nodes() {
		kinds[n.Kind] = true
		t.Run(n.Kind.String(), func(t *testing.T) {
			if err := n.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := wire(t, abi.NodeOf(&n)).Model()
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&n) || !reflect.DeepEqual(got, n) {
				t.Fatalf("got  %v\nwant %v", got, n)
			}
		})
	}
	for k := model.KindObject; k <= model.KindResourceInstance; k++ {
		if !kinds[k] {
			t.Errorf("no node of kind %s tested", k)
		}
	}
}

func TestNodeModelSortsChildren(t *testing.T) {
	m := &abi.Node{Kind: abi.NodeKindInstance, Children: []abi.Node{
		{Kind: abi.NodeKindResource, ID: 9, Value: &abi.Value{Type: abi.ValueTypeBoolean, Boolean: true}},
		{Kind: abi.NodeKindResource, ID: 1, Value: &abi.Value{Type: abi.ValueTypeInteger, Integer: 5}},
	}}
	got, err := m.Model()
	want := model.NewInstance(0, model.NewResource(1, model.Int(5)), model.NewResource(9, model.Bool(true)))
	if err != nil || !got.Equal(&want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
}

func TestNodeModelErrors(t *testing.T) {
	res := abi.Node{Kind: abi.NodeKindResource, ID: 1}
	deep := abi.Node{Kind: abi.NodeKindObject}
	cur := &deep
	for range 6 {
		cur.Children = []abi.Node{{Kind: abi.NodeKindObject}}
		cur = &cur.Children[0]
	}
	for name, n := range map[string]*abi.Node{
		"nil":                  nil,
		"no kind":              {ID: 1},
		"unknown kind":         {Kind: 6},
		"id above 65534":       {Kind: abi.NodeKindResource, ID: 65535},
		"resource children":    {Kind: abi.NodeKindResource, Children: []abi.Node{res}},
		"instance value":       {Kind: abi.NodeKindInstance, Value: &abi.Value{Type: abi.ValueTypeBoolean}},
		"object holds a res":   {Kind: abi.NodeKindObject, Children: []abi.Node{res}},
		"duplicate ids":        {Kind: abi.NodeKindInstance, Children: []abi.Node{res, res}},
		"bad value":            {Kind: abi.NodeKindResource, Value: &abi.Value{Type: 99}},
		"nested over 4 levels": &deep,
	} {
		if _, err := n.Model(); !errors.Is(err, model.ErrBadRequest) {
			t.Errorf("%s: got %v, want 4.00", name, err)
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	es := []model.Entry{
		{Path: model.MustPath("/3303/0/5700"), Node: model.NewResource(5700, model.Float(1))},
		{Path: model.MustPath("/3303/0"), Node: model.NewInstance(0, model.NewResource(1, model.Int(1)))},
	}
	m := &abi.LWM2MRequest{Entries: abi.EntriesOf(es)}
	got, err := abi.EntriesModel(wire(t, m).Entries)
	if err != nil || !reflect.DeepEqual(got, es) {
		t.Fatalf("got %v, %v", got, err)
	}
	bad := abi.EntryOf(&model.Entry{Path: model.MustPath("/3303/0/5701"), Node: model.NewResource(5700, model.Float(1))})
	if _, err := bad.Model(); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("node that does not fit its path: %v", err)
	}
}

func checkObjectDefs(t *testing.T, defs []*model.ObjectDef) {
	t.Helper()
	resp := &abi.ObjectListResponse{}
	for _, d := range defs {
		resp.Objects = append(resp.Objects, *abi.ObjectDefOf(d))
	}
	got := wire(t, resp)
	if len(got.Objects) != len(defs) {
		t.Fatalf("%d objects, want %d", len(got.Objects), len(defs))
	}
	for i, d := range defs {
		back, err := got.Objects[i].Model()
		if err != nil {
			t.Fatalf("object %d %s: %v", d.ID, d.Version, err)
		}
		if !reflect.DeepEqual(back, d) {
			t.Fatalf("object %d %s:\n got %+v\nwant %+v", d.ID, d.Version, back, d)
		}
	}
}

func TestObjectDefRoundTripCore(t *testing.T) {
	checkObjectDefs(t, objects.Core())
	// A definition built by hand with zero versions and no resources.
	checkObjectDefs(t, []*model.ObjectDef{{ID: 65534, Name: "bare"}})
}

// TestObjectDefRoundTripDDF runs the published definitions through the
// conversion when the DDF corpus is there (.ci/run points at it).
func TestObjectDefRoundTripDDF(t *testing.T) {
	dir := os.Getenv("WASM2M_DDF_DIR")
	if dir == "" {
		t.Skip("WASM2M_DDF_DIR not set")
	}
	defs, err := objects.LoadDir(os.DirFS(dir), ".")
	if err != nil {
		t.Fatal(err)
	}
	checkObjectDefs(t, defs)
	t.Logf("%d definitions", len(defs))
}

func TestObjectDefModelErrors(t *testing.T) {
	for name, d := range map[string]*abi.ObjectDef{
		"id above 65534":    {ID: 65535},
		"bad version":       {Version: "one"},
		"bad lwm2m version": {LWM2MVersion: "1.x"},
		"resource id":       {Resources: []abi.ResourceDef{{ID: 65535, Type: abi.ValueTypeString}}},
		"operations":        {Resources: []abi.ResourceDef{{ID: 1, Operations: 8, Type: abi.ValueTypeString}}},
		"type":              {Resources: []abi.ResourceDef{{ID: 1, Type: 10}}},
		"out of order":      {Resources: []abi.ResourceDef{{ID: 2, Type: 1}, {ID: 1, Type: 1}}},
		"executable, typed": {Resources: []abi.ResourceDef{{ID: 1, Operations: 4, Type: 1}}},
		"readable, no type": {Resources: []abi.ResourceDef{{ID: 1, Operations: 1}}},
	} {
		if _, err := d.Model(); !errors.Is(err, model.ErrBadRequest) {
			t.Errorf("%s: got %v, want 4.00", name, err)
		}
	}
}

func TestStatus(t *testing.T) {
	codes := []model.Code{
		model.BadRequest, model.Unauthorized, model.BadOption, model.Forbidden, model.NotFound,
		model.MethodNotAllowed, model.NotAcceptable, model.RequestEntityIncomplete, model.Conflict,
		model.PreconditionFailed, model.RequestEntityTooLarge, model.UnsupportedContentFormat,
		model.InternalServerError, model.NotImplemented, model.BadGateway, model.ServiceUnavailable,
		model.GatewayTimeout,
	}
	sentinels := []error{
		model.ErrBadRequest, model.ErrUnauthorized, model.ErrBadOption, model.ErrForbidden, model.ErrNotFound,
		model.ErrMethodNotAllowed, model.ErrNotAcceptable, model.ErrRequestEntityIncomplete, model.ErrConflict,
		model.ErrPreconditionFailed, model.ErrRequestEntityTooLarge, model.ErrUnsupportedContentFormat,
		model.ErrInternal, model.ErrNotImplemented, nil, model.ErrServiceUnavailable, model.ErrGatewayTimeout,
	}
	for i, c := range codes {
		t.Run(c.String(), func(t *testing.T) {
			orig := fmt.Errorf("read /3303/0/5700: %w", model.Errorf(c, "no sensor"))
			st := abi.StatusOf(orig)
			if st != int32(c) {
				t.Fatalf("StatusOf = %d, want %d", st, c)
			}
			// Through the i64 of wasm2m_call and back.
			if _, _, got := abi.UnpackResult(abi.PackStatus(st)); got != st {
				t.Fatalf("packed status %d came back %d", st, got)
			}
			err := abi.ErrorOf(st, orig.Error())
			if model.CodeOf(err) != c || err.Error() != c.String()+" "+c.Text()+": "+orig.Error() {
				t.Fatalf("ErrorOf = %v", err)
			}
			if sentinels[i] != nil && !errors.Is(err, sentinels[i]) {
				t.Fatalf("errors.Is(%v, %v) is false", err, sentinels[i])
			}
			if abi.StatusOf(err) != st {
				t.Fatalf("second trip: %d", abi.StatusOf(err))
			}
		})
	}
	if abi.StatusOf(nil) != 0 || abi.ErrorOf(0, "ignored") != nil {
		t.Error("success is 0 and nil")
	}
	if abi.StatusOf(errors.New("plain")) != abi.StatusInternal {
		t.Error("a plain error is 5.00")
	}
	if abi.StatusOf(&model.Error{Code: model.Content}) != abi.StatusInternal || abi.StatusOf(&model.Error{}) != abi.StatusInternal {
		t.Error("an *Error with a success or zero code is 5.00")
	}
	for _, st := range []int32{1, 69, 127, 256, -132, 224} {
		err := abi.ErrorOf(st, "x")
		if !errors.Is(err, model.ErrInternal) {
			t.Errorf("ErrorOf(%d) = %v, want 5.00", st, err)
		}
	}
	if !errors.Is(abi.ErrorOf(abi.StatusNotFound, ""), model.ErrNotFound) {
		t.Error("4.04 without a message")
	}
}

func TestPackResult(t *testing.T) {
	for _, c := range []struct{ ptr, n uint32 }{{0, 0}, {1024, 20}, {1<<31 - 1, 1<<32 - 1}} {
		r := abi.PackResult(c.ptr, c.n)
		if r < 0 {
			t.Errorf("PackResult(%d, %d) = %d < 0", c.ptr, c.n, r)
		}
		ptr, n, st := abi.UnpackResult(r)
		if ptr != c.ptr || n != c.n || st != 0 {
			t.Errorf("UnpackResult(PackResult(%d, %d)) = %d, %d, %d", c.ptr, c.n, ptr, n, st)
		}
	}
	if _, _, st := abi.UnpackResult(-1000); st != abi.StatusInternal {
		t.Errorf("a negative result that is no status: %d", st)
	}
	if _, _, st := abi.UnpackResult(-132); st != abi.StatusNotFound {
		t.Errorf("-132: %d", st)
	}
}

// TestStatusOfContext checks that a plugin giving up on its caller's
// deadline or cancellation reports 5.04 or 5.03, as the hosts do, and any
// other error without a code 5.00.
func TestStatusOfContext(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want model.Code
	}{
		{context.DeadlineExceeded, model.GatewayTimeout},
		{fmt.Errorf("wait for the sensor: %w", context.DeadlineExceeded), model.GatewayTimeout},
		{context.Canceled, model.ServiceUnavailable},
		{errors.New("disk on fire"), model.InternalServerError},
		{model.Errorf(model.NotFound, "gone: %w", context.DeadlineExceeded), model.NotFound},
	} {
		if got := abi.StatusOf(tc.err); got != int32(tc.want) {
			t.Errorf("StatusOf(%v) = %d, want %d (%v)", tc.err, got, tc.want, tc.want)
		}
	}
}
