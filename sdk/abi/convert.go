package abi

import (
	"math"
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
)

// Conversions between core/model and the messages. Each XOf builds a
// message from a model value; each Model method goes back and checks what
// a peer could have got wrong, with a 4.00 *model.Error. A model value that
// is valid survives the round trip unchanged.

// PathOf returns p as a message.
func PathOf(p model.Path) *Path {
	ids := make([]uint32, p.Len())
	for i := range ids {
		ids[i] = uint32(p.ID(i))
	}
	return &Path{IDs: ids}
}

// Model returns the path. A nil or empty Path is the root path. It fails
// for more than four ids or an id above 65534.
func (p *Path) Model() (model.Path, error) {
	if p == nil {
		return model.RootPath(), nil
	}
	if len(p.IDs) > 4 {
		return model.Path{}, model.Errorf(model.BadRequest, "path: %d ids, at most 4", len(p.IDs))
	}
	var ids [4]uint16
	for i, id := range p.IDs {
		if id > model.MaxID {
			return model.Path{}, model.Errorf(model.BadRequest, "path: id %d is above 65534", id)
		}
		ids[i] = uint16(id)
	}
	return model.NewPath(ids[:len(p.IDs)]...)
}

// PathsOf returns ps as messages.
func PathsOf(ps []model.Path) []Path {
	out := make([]Path, len(ps))
	for i, p := range ps {
		out[i] = *PathOf(p)
	}
	return out
}

// PathsModel returns the paths of ps.
func PathsModel(ps []Path) ([]model.Path, error) {
	out := make([]model.Path, len(ps))
	for i := range ps {
		p, err := ps[i].Model()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// ValueOf returns v as a message.
func ValueOf(v model.Value) *Value {
	m := &Value{Type: ValueType(v.Type())}
	switch v.Type() {
	case model.TypeInteger, model.TypeTime:
		m.Integer = v.Int()
	case model.TypeUnsigned:
		m.Unsigned = v.Uint()
	case model.TypeFloat:
		m.Float = v.Float()
	case model.TypeBoolean:
		m.Boolean = v.Bool()
	case model.TypeString, model.TypeOpaque, model.TypeCorelnk:
		m.Bytes = v.Bytes()
	case model.TypeObjlnk:
		l := v.Objlnk()
		m.ObjlnkObject, m.ObjlnkInstance = uint32(l.Object), uint32(l.Instance)
	}
	return m
}

// Model returns the value; a nil Value is none. It reads the field that
// Type names and ignores the others. It fails for an unknown type or an
// object link id above 65535.
func (v *Value) Model() (model.Value, error) {
	if v == nil {
		return model.Value{}, nil
	}
	switch model.Type(v.Type) {
	case model.TypeNone:
		return model.Value{}, nil
	case model.TypeString:
		return model.String(string(v.Bytes)), nil
	case model.TypeInteger:
		return model.Int(v.Integer), nil
	case model.TypeUnsigned:
		return model.Uint(v.Unsigned), nil
	case model.TypeFloat:
		return model.Float(v.Float), nil
	case model.TypeBoolean:
		return model.Bool(v.Boolean), nil
	case model.TypeOpaque:
		return model.Opaque(v.Bytes), nil
	case model.TypeTime:
		return model.UnixTime(v.Integer), nil
	case model.TypeObjlnk:
		if v.ObjlnkObject > math.MaxUint16 || v.ObjlnkInstance > math.MaxUint16 {
			return model.Value{}, model.Errorf(model.BadRequest, "objlnk %d:%d: id above 65535", v.ObjlnkObject, v.ObjlnkInstance)
		}
		return model.Objlnk(uint16(v.ObjlnkObject), uint16(v.ObjlnkInstance)), nil
	case model.TypeCorelnk:
		return model.Corelnk(string(v.Bytes)), nil
	}
	return model.Value{}, model.Errorf(model.BadRequest, "value: unknown type %d", v.Type)
}

// NodeOf returns n and its descendants as a message. A value is set only
// on the kinds that hold one.
func NodeOf(n *model.Node) *Node {
	m := &Node{Kind: NodeKind(n.Kind), ID: uint32(n.ID)}
	if n.HasValue() {
		if !n.Value.IsNone() {
			m.Value = ValueOf(n.Value)
		}
		return m
	}
	if len(n.Children) > 0 {
		m.Children = make([]Node, len(n.Children))
		for i := range n.Children {
			m.Children[i] = *NodeOf(&n.Children[i])
		}
	}
	return m
}

// Model returns the node tree. Children out of id order are sorted; the
// tree must then pass model.Node.Validate (kinds nested as the model
// nests them, ids up to 65534, no duplicate, values only on resources and
// resource instances).
func (n *Node) Model() (model.Node, error) {
	if n == nil {
		return model.Node{}, model.Errorf(model.BadRequest, "node: missing")
	}
	out, err := n.model(0)
	if err != nil {
		return model.Node{}, err
	}
	out.Sort()
	if err := out.Validate(); err != nil {
		return model.Node{}, err
	}
	return out, nil
}

func (n *Node) model(depth int) (model.Node, error) {
	if depth >= 4 {
		return model.Node{}, model.Errorf(model.BadRequest, "node: nested too deep")
	}
	if n.ID > model.MaxID {
		return model.Node{}, model.Errorf(model.BadRequest, "node: id %d is above 65534", n.ID)
	}
	if n.Kind < NodeKindObject || n.Kind > NodeKindResourceInstance {
		return model.Node{}, model.Errorf(model.BadRequest, "node %d: unknown kind %d", n.ID, n.Kind)
	}
	out := model.Node{Kind: model.Kind(n.Kind), ID: uint16(n.ID)}
	v, err := n.Value.Model()
	if err != nil {
		return model.Node{}, err
	}
	out.Value = v
	if len(n.Children) > 0 {
		out.Children = make([]model.Node, len(n.Children))
		for i := range n.Children {
			if out.Children[i], err = n.Children[i].model(depth + 1); err != nil {
				return model.Node{}, err
			}
		}
	}
	return out, nil
}

// EntryOf returns e as a message.
func EntryOf(e *model.Entry) *Entry {
	return &Entry{Path: PathOf(e.Path), Node: NodeOf(&e.Node)}
}

// Model returns the entry; its node must fit at its path.
func (e *Entry) Model() (model.Entry, error) {
	p, err := e.Path.Model()
	if err != nil {
		return model.Entry{}, err
	}
	n, err := e.Node.Model()
	if err != nil {
		return model.Entry{}, err
	}
	if err := n.CheckAt(p); err != nil {
		return model.Entry{}, err
	}
	return model.Entry{Path: p, Node: n}, nil
}

// EntriesOf returns es as messages.
func EntriesOf(es []model.Entry) []Entry {
	out := make([]Entry, len(es))
	for i := range es {
		out[i] = *EntryOf(&es[i])
	}
	return out
}

// EntriesModel returns the entries of es.
func EntriesModel(es []Entry) ([]model.Entry, error) {
	out := make([]model.Entry, len(es))
	for i := range es {
		e, err := es[i].Model()
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// versionText formats v as "major.minor", "" for the zero Version.
func versionText(v model.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

func parseVersion(s string) (model.Version, error) {
	if s == "" {
		return model.Version{}, nil
	}
	v, err := model.ParseVersion(s)
	if err != nil {
		return v, model.Errorf(model.BadRequest, "%w", err)
	}
	return v, nil
}

// ResourceDefOf returns r as a message.
func ResourceDefOf(r *model.ResourceDef) *ResourceDef {
	return &ResourceDef{
		ID:          uint32(r.ID),
		Name:        r.Name,
		Operations:  uint32(r.Operations),
		Multiple:    r.Multiple,
		Mandatory:   r.Mandatory,
		Type:        ValueType(r.Type),
		RangeText:   r.RangeText,
		HasRange:    r.HasRange,
		RangeMin:    r.Range.Min,
		RangeMax:    r.Range.Max,
		Units:       r.Units,
		Description: r.Description,
	}
}

// Model returns the resource definition. It fails for an id above 65534,
// unknown operation bits or an unknown type.
func (r *ResourceDef) Model() (model.ResourceDef, error) {
	if r.ID > model.MaxID {
		return model.ResourceDef{}, model.Errorf(model.BadRequest, "resource %d: id above 65534", r.ID)
	}
	if r.Operations&^uint32(model.OpRead|model.OpWrite|model.OpExecute) != 0 {
		return model.ResourceDef{}, model.Errorf(model.BadRequest, "resource %d: unknown operations %#x", r.ID, r.Operations)
	}
	if r.Type < ValueTypeNone || r.Type > ValueTypeCorelnk {
		return model.ResourceDef{}, model.Errorf(model.BadRequest, "resource %d: unknown type %d", r.ID, r.Type)
	}
	return model.ResourceDef{
		ID:          uint16(r.ID),
		Name:        r.Name,
		Operations:  model.Operations(r.Operations),
		Multiple:    r.Multiple,
		Mandatory:   r.Mandatory,
		Type:        model.Type(r.Type),
		RangeText:   r.RangeText,
		Range:       model.Range{Min: r.RangeMin, Max: r.RangeMax},
		HasRange:    r.HasRange,
		Units:       r.Units,
		Description: r.Description,
	}, nil
}

// ObjectDefOf returns d as a message.
func ObjectDefOf(d *model.ObjectDef) *ObjectDef {
	m := &ObjectDef{
		ID:           uint32(d.ID),
		Name:         d.Name,
		Description:  d.Description,
		URN:          d.URN,
		Version:      versionText(d.Version),
		LWM2MVersion: versionText(d.LWM2MVersion),
		Multiple:     d.Multiple,
		Mandatory:    d.Mandatory,
	}
	if len(d.Resources) > 0 {
		m.Resources = make([]ResourceDef, len(d.Resources))
		for i := range d.Resources {
			m.Resources[i] = *ResourceDefOf(&d.Resources[i])
		}
	}
	return m
}

// Model returns a new object definition, which must pass
// model.ObjectDef.Validate.
func (d *ObjectDef) Model() (*model.ObjectDef, error) {
	if d.ID > model.MaxID {
		return nil, model.Errorf(model.BadRequest, "object %d: id above 65534", d.ID)
	}
	out := &model.ObjectDef{
		ID:          uint16(d.ID),
		Name:        d.Name,
		Description: d.Description,
		URN:         d.URN,
		Multiple:    d.Multiple,
		Mandatory:   d.Mandatory,
	}
	var err error
	if out.Version, err = parseVersion(d.Version); err != nil {
		return nil, err
	}
	if out.LWM2MVersion, err = parseVersion(d.LWM2MVersion); err != nil {
		return nil, err
	}
	if len(d.Resources) > 0 {
		out.Resources = make([]model.ResourceDef, len(d.Resources))
		for i := range d.Resources {
			if out.Resources[i], err = d.Resources[i].Model(); err != nil {
				return nil, err
			}
		}
	}
	if err := out.Validate(); err != nil {
		return nil, model.Errorf(model.BadRequest, "%w", err)
	}
	return out, nil
}

// StatusText formats a status as a CoAP code, "4.04", or "0" for success.
func StatusText(status int32) string {
	if status == 0 {
		return "0"
	}
	if status < 0 || status > 255 {
		return "status(" + strconv.Itoa(int(status)) + ")"
	}
	return model.Code(status).String()
}
