package guest

import (
	"math"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Conversions between core/model and the messages of abi.proto, as the
// guest needs them. Decoding checks what the model requires (ids, depth,
// kinds, types) and fails with 4.00: the bytes come from the host.

func pathMsg(p model.Path) *abi.Path {
	m := &abi.Path{IDs: make([]uint32, p.Len())}
	for i := range m.IDs {
		m.IDs[i] = uint32(p.ID(i))
	}
	return m
}

func pathOf(m *abi.Path) (model.Path, error) {
	if m == nil {
		return model.RootPath(), nil
	}
	if len(m.IDs) > 4 {
		return model.Path{}, model.Errorf(model.BadRequest, "path of %d ids", len(m.IDs))
	}
	var ids [4]uint16
	for i, id := range m.IDs {
		if id > model.MaxID {
			return model.Path{}, model.Errorf(model.BadRequest, "path id %d above 65534", id)
		}
		ids[i] = uint16(id)
	}
	return model.NewPath(ids[:len(m.IDs)]...)
}

func pathsMsg(ps []model.Path) []abi.Path {
	out := make([]abi.Path, len(ps))
	for i, p := range ps {
		out[i] = *pathMsg(p)
	}
	return out
}

func pathsOf(ms []abi.Path) ([]model.Path, error) {
	out := make([]model.Path, len(ms))
	for i := range ms {
		p, err := pathOf(&ms[i])
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

func valueMsg(v model.Value) *abi.Value {
	m := &abi.Value{Type: abi.ValueType(v.Type())}
	switch v.Type() {
	case model.TypeString, model.TypeOpaque, model.TypeCorelnk:
		m.Bytes = v.Bytes()
	case model.TypeInteger, model.TypeTime:
		m.Integer = v.Int()
	case model.TypeUnsigned:
		m.Unsigned = v.Uint()
	case model.TypeFloat:
		m.Float = v.Float()
	case model.TypeBoolean:
		m.Boolean = v.Bool()
	case model.TypeObjlnk:
		l := v.Objlnk()
		m.ObjlnkObject, m.ObjlnkInstance = uint32(l.Object), uint32(l.Instance)
	}
	return m
}

func valueOf(m *abi.Value) (model.Value, error) {
	if m == nil {
		return model.Value{}, nil
	}
	switch model.Type(m.Type) {
	case model.TypeNone:
		return model.Value{}, nil
	case model.TypeString:
		return model.String(string(m.Bytes)), nil
	case model.TypeOpaque:
		return model.Opaque(m.Bytes), nil
	case model.TypeCorelnk:
		return model.Corelnk(string(m.Bytes)), nil
	case model.TypeInteger:
		return model.Int(m.Integer), nil
	case model.TypeTime:
		return model.UnixTime(m.Integer), nil
	case model.TypeUnsigned:
		return model.Uint(m.Unsigned), nil
	case model.TypeFloat:
		return model.Float(m.Float), nil
	case model.TypeBoolean:
		return model.Bool(m.Boolean), nil
	case model.TypeObjlnk:
		if m.ObjlnkObject > math.MaxUint16 || m.ObjlnkInstance > math.MaxUint16 {
			return model.Value{}, model.Errorf(model.BadRequest, "objlnk %d:%d out of range", m.ObjlnkObject, m.ObjlnkInstance)
		}
		return model.Objlnk(uint16(m.ObjlnkObject), uint16(m.ObjlnkInstance)), nil
	}
	return model.Value{}, model.Errorf(model.BadRequest, "unknown value type %d", m.Type)
}

func nodeMsg(n *model.Node) *abi.Node {
	m := new(abi.Node)
	fillNodeMsg(m, n)
	return m
}

func fillNodeMsg(m *abi.Node, n *model.Node) {
	m.Kind = abi.NodeKind(n.Kind)
	m.ID = uint32(n.ID)
	if n.HasValue() && !n.Value.IsNone() {
		m.Value = valueMsg(n.Value)
	}
	if len(n.Children) > 0 {
		m.Children = make([]abi.Node, len(n.Children))
		for i := range n.Children {
			fillNodeMsg(&m.Children[i], &n.Children[i])
		}
	}
}

// nodeOf converts m and checks the tree (model.Node.Validate).
func nodeOf(m *abi.Node) (model.Node, error) {
	if m == nil {
		return model.Node{}, model.Errorf(model.BadRequest, "no node")
	}
	n, err := nodeOf1(m, 0)
	if err != nil {
		return model.Node{}, err
	}
	if err := n.Validate(); err != nil {
		return model.Node{}, err
	}
	return n, nil
}

func nodeOf1(m *abi.Node, depth int) (model.Node, error) {
	if depth > 4 {
		return model.Node{}, model.Errorf(model.BadRequest, "node nested too deep")
	}
	if m.ID > model.MaxID {
		return model.Node{}, model.Errorf(model.BadRequest, "node id %d above 65534", m.ID)
	}
	n := model.Node{Kind: model.Kind(m.Kind), ID: uint16(m.ID)}
	v, err := valueOf(m.Value)
	if err != nil {
		return model.Node{}, err
	}
	n.Value = v
	if len(m.Children) > 0 {
		n.Children = make([]model.Node, len(m.Children))
		for i := range m.Children {
			if n.Children[i], err = nodeOf1(&m.Children[i], depth+1); err != nil {
				return model.Node{}, err
			}
		}
	}
	return n, nil
}

func entriesMsg(es []model.Entry) []abi.Entry {
	out := make([]abi.Entry, len(es))
	for i := range es {
		out[i] = abi.Entry{Path: pathMsg(es[i].Path), Node: nodeMsg(&es[i].Node)}
	}
	return out
}

func entriesOf(ms []abi.Entry) ([]model.Entry, error) {
	out := make([]model.Entry, len(ms))
	for i := range ms {
		p, err := pathOf(ms[i].Path)
		if err != nil {
			return nil, err
		}
		n, err := nodeOf(ms[i].Node)
		if err != nil {
			return nil, err
		}
		out[i] = model.Entry{Path: p, Node: n}
	}
	return out, nil
}

func objectDefMsg(d *model.ObjectDef) abi.ObjectDef {
	m := abi.ObjectDef{
		ID: uint32(d.ID), Name: d.Name, Description: d.Description, URN: d.URN,
		Version: d.Version.String(), Multiple: d.Multiple, Mandatory: d.Mandatory,
		Resources: make([]abi.ResourceDef, len(d.Resources)),
	}
	if m.Version == "0.0" {
		m.Version = "1.0"
	}
	if !d.LWM2MVersion.IsZero() {
		m.LWM2MVersion = d.LWM2MVersion.String()
	}
	for i := range d.Resources {
		r := &d.Resources[i]
		m.Resources[i] = abi.ResourceDef{
			ID: uint32(r.ID), Name: r.Name, Operations: uint32(r.Operations), Multiple: r.Multiple,
			Mandatory: r.Mandatory, Type: abi.ValueType(r.Type), RangeText: r.RangeText,
			HasRange: r.HasRange, RangeMin: r.Range.Min, RangeMax: r.Range.Max,
			Units: r.Units, Description: r.Description,
		}
	}
	return m
}

// ObjectDefOf converts an object definition received over the ABI and
// validates it.
func objectDefOf(m *abi.ObjectDef) (*model.ObjectDef, error) {
	if m.ID > model.MaxID {
		return nil, model.Errorf(model.BadRequest, "object id %d above 65534", m.ID)
	}
	d := &model.ObjectDef{
		ID: uint16(m.ID), Name: m.Name, Description: m.Description, URN: m.URN,
		Multiple: m.Multiple, Mandatory: m.Mandatory,
		Resources: make([]model.ResourceDef, len(m.Resources)),
	}
	var err error
	if d.Version, err = model.ParseVersion(m.Version); err != nil {
		return nil, model.Errorf(model.BadRequest, "object %d: %v", m.ID, err)
	}
	if m.LWM2MVersion != "" {
		if d.LWM2MVersion, err = model.ParseVersion(m.LWM2MVersion); err != nil {
			return nil, model.Errorf(model.BadRequest, "object %d: lwm2m %v", m.ID, err)
		}
	}
	for i := range m.Resources {
		r := &m.Resources[i]
		if r.ID > model.MaxID || r.Operations > 7 || r.Type > abi.ValueType(model.TypeCorelnk) || r.Type < 0 {
			return nil, model.Errorf(model.BadRequest, "object %d resource %d: id, operations or type out of range", m.ID, r.ID)
		}
		d.Resources[i] = model.ResourceDef{
			ID: uint16(r.ID), Name: r.Name, Operations: model.Operations(r.Operations), Multiple: r.Multiple,
			Mandatory: r.Mandatory, Type: model.Type(r.Type), RangeText: r.RangeText,
			Range: model.Range{Min: r.RangeMin, Max: r.RangeMax}, HasRange: r.HasRange,
			Units: r.Units, Description: r.Description,
		}
	}
	if err := d.Validate(); err != nil {
		return nil, model.Errorf(model.BadRequest, "%v", err)
	}
	return d, nil
}
