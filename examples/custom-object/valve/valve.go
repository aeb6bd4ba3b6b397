package main

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// ObjectID is the valve's object id, in the range the OMA keeps for
// private objects (26241 to 32768).
const ObjectID = 26241

// Resources of the valve.
const (
	resOpen     = 0
	resPosition = 1
	resFlow     = 2
	resCycles   = 3
	resReset    = 4
	resName     = 5
)

const (
	maxValves = 16
	maxName   = 64
	maxFlow   = 12.0 // l/min, fully open
)

// definition is ../26241.xml in Go (TestDefinitionIsTheDDF keeps them
// equal).
var definition = &model.ObjectDef{
	ID:           ObjectID,
	Name:         "Valve",
	Description:  "A valve that opens, closes and throttles a flow of water.",
	URN:          "urn:oma:lwm2m:x:26241",
	Version:      model.V1_0,
	LWM2MVersion: model.V1_1,
	Multiple:     true,
	Resources: []model.ResourceDef{
		{ID: resOpen, Name: "Open", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeBoolean,
			Description: "Whether the valve is open."},
		{ID: resPosition, Name: "Position", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger,
			RangeText: "0..100", Range: model.Range{Min: 0, Max: 100}, HasRange: true, Units: "%",
			Description: "How far the valve opens when it is open."},
		{ID: resFlow, Name: "Flow Rate", Operations: model.OpRead, Type: model.TypeFloat, Units: "l/min",
			Description: "The flow through the valve now."},
		{ID: resCycles, Name: "Cycle Count", Operations: model.OpRead, Type: model.TypeInteger,
			Description: "How many times the valve was opened."},
		{ID: resReset, Name: "Reset Cycle Count", Operations: model.OpExecute,
			Description: "Sets the Cycle Count to 0."},
		{ID: resName, Name: "Name", Operations: model.OpRead | model.OpWrite, Type: model.TypeString,
			Description: "What the valve is called."},
	},
}

// valves is object 26241. Each valve is one key of the plugin's key-value
// space, "valve/<id>", because the host runs a pool of instances of the
// plugin, each with its own memory; the value is the C plugin's layout
// (open, position, cycle count little-endian, name), so the two are
// interchangeable on one store.
type valves struct{}

type valve struct {
	open     bool
	position int64
	cycles   int64
	name     string
}

func fresh() valve { return valve{position: 100} }

func key(id uint16) string { return "valve/" + strconv.Itoa(int(id)) }

func (v valve) encode() []byte {
	b := []byte{0, byte(v.position), 0, 0, 0, 0}
	if v.open {
		b[0] = 1
	}
	binary.LittleEndian.PutUint32(b[2:], uint32(v.cycles))
	return append(b, v.name...)
}

func decode(b []byte) (valve, error) {
	if len(b) < 6 {
		return valve{}, model.Errorf(model.InternalServerError, "stored valve of %d bytes", len(b))
	}
	return valve{open: b[0] != 0, position: int64(b[1]), cycles: int64(binary.LittleEndian.Uint32(b[2:])), name: string(b[6:])}, nil
}

func (v valve) flow() float64 {
	if !v.open {
		return 0
	}
	return maxFlow * float64(v.position) / 100
}

func load(ctx context.Context, id uint16) (valve, error) {
	b, err := guest.KV.Get(ctx, key(id))
	if errors.Is(err, model.ErrNotFound) {
		return valve{}, model.Errorf(model.NotFound, "no valve /%d/%d", ObjectID, id)
	}
	if err != nil {
		return valve{}, err
	}
	return decode(b)
}

func save(ctx context.Context, id uint16, v valve) error {
	return guest.KV.Put(ctx, key(id), v.encode())
}

func (valves) Definition() *model.ObjectDef { return definition }

// Configure implements guest.Configurer: the first start creates valve 0,
// and the key "init" remembers it, so that valves the server deleted stay
// deleted.
func (valves) Configure(ctx context.Context, config []byte) error {
	if _, err := guest.KV.Get(ctx, "init"); !errors.Is(err, model.ErrNotFound) {
		return err
	}
	v := fresh()
	v.name = "valve 0"
	if err := save(ctx, 0, v); err != nil {
		return err
	}
	guest.Log(ctx, guest.LevelInfo, "first start: valve 0 created")
	return guest.KV.Put(ctx, "init", []byte{'1'})
}

func (valves) Instances(ctx context.Context) ([]uint16, error) {
	keys, err := guest.KV.List(ctx, "valve/")
	if err != nil {
		return nil, err
	}
	ids := make([]uint16, 0, len(keys))
	for _, k := range keys {
		if id, err := model.ParseID(strings.TrimPrefix(k, "valve/")); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // the keys sort as text: valve/10 before valve/2
	return ids, nil
}

func (v valve) resource(res uint16) model.Node {
	switch res {
	case resOpen:
		return model.NewResource(res, model.Bool(v.open))
	case resPosition:
		return model.NewResource(res, model.Int(v.position))
	case resFlow:
		return model.NewResource(res, model.Float(v.flow()))
	case resCycles:
		return model.NewResource(res, model.Int(v.cycles))
	}
	return model.NewResource(resName, model.String(v.name))
}

func (valves) Read(ctx context.Context, p model.Path) (model.Node, error) {
	v, err := load(ctx, p.InstanceID())
	if err != nil {
		return model.Node{}, err
	}
	switch {
	case p.IsInstance():
		in := model.NewInstance(p.InstanceID())
		for _, r := range definition.Resources {
			if r.Operations.Readable() {
				in.Children = append(in.Children, v.resource(r.ID))
			}
		}
		return in, nil
	case p.IsResource():
		return v.resource(p.ResourceID()), nil // the SDK let through readable resources only
	}
	return model.Node{}, model.Errorf(model.NotFound, "%s: single resource", p)
}

// set applies resource node r, which the SDK checked against the
// definition (writable, of its type, in range).
func (v *valve) set(r *model.Node) error {
	switch r.ID {
	case resOpen:
		v.open = r.Value.Bool()
	case resPosition:
		v.position = r.Value.Int()
	case resName:
		s := r.Value.Str()
		if len(s) > maxName || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return model.Errorf(model.BadRequest, "name: at most %d bytes of UTF-8 without NUL", maxName)
		}
		v.name = s
	}
	return nil
}

// report tells the host what changed from a to b besides what was written:
// the flow rate and the cycle count.
func report(ctx context.Context, id uint16, a, b valve) error {
	var ps []model.Path
	if a.flow() != b.flow() {
		ps = append(ps, model.ResourcePath(ObjectID, id, resFlow))
	}
	if a.cycles != b.cycles {
		ps = append(ps, model.ResourcePath(ObjectID, id, resCycles))
	}
	if len(ps) == 0 {
		return nil
	}
	return guest.Changed(ctx, ps...)
}

func (valves) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	id := p.InstanceID()
	v, err := load(ctx, id)
	if err != nil {
		return err
	}
	w := v
	switch {
	case p.IsInstance():
		if replace {
			d := fresh()
			w.open, w.position, w.name = d.open, d.position, d.name
		}
		for i := range n.Children {
			if err := w.set(&n.Children[i]); err != nil {
				return err
			}
		}
	case p.IsResource():
		if err := w.set(&n); err != nil {
			return err
		}
	default:
		return model.Errorf(model.NotFound, "%s: single resource", p)
	}
	if w.open && !v.open {
		w.cycles++
	}
	if err := save(ctx, id, w); err != nil {
		return err
	}
	return report(ctx, id, v, w)
}

// Execute resets the Cycle Count (5605-like: the only executable).
func (valves) Execute(ctx context.Context, p model.Path, args []byte) error {
	id := p.InstanceID()
	v, err := load(ctx, id)
	if err != nil {
		return err
	}
	w := v
	w.cycles = 0
	if err := save(ctx, id, w); err != nil {
		return err
	}
	guest.Log(ctx, guest.LevelInfo, "cycle count reset", "instance", id)
	return report(ctx, id, v, w)
}

func (o valves) Create(ctx context.Context, n model.Node) (uint16, error) {
	ids, err := o.Instances(ctx)
	if err != nil {
		return 0, err
	}
	if len(ids) >= maxValves {
		return 0, model.Errorf(model.BadRequest, "%d valves already, the most there may be", maxValves)
	}
	id := n.ID
	switch {
	case id == model.NoID:
		for id = 0; slices.Contains(ids, id); id++ {
		}
	case slices.Contains(ids, id):
		return 0, model.Errorf(model.BadRequest, "valve %d exists", id)
	}
	v := fresh()
	for i := range n.Children {
		if err := v.set(&n.Children[i]); err != nil {
			return 0, err
		}
	}
	if v.open {
		v.cycles = 1
	}
	if err := save(ctx, id, v); err != nil {
		return 0, err
	}
	guest.Log(ctx, guest.LevelInfo, "valve created", "instance", id)
	return id, nil
}

func (valves) Delete(ctx context.Context, id uint16) error {
	if _, err := load(ctx, id); err != nil {
		return err
	}
	if err := guest.KV.Delete(ctx, key(id)); err != nil {
		return err
	}
	guest.Log(ctx, guest.LevelInfo, "valve deleted", "instance", id)
	return nil
}
