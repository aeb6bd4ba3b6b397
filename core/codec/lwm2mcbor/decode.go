package lwm2mcbor

import (
	"math"
	"slices"

	"github.com/wasm2m/wasm2m/core/internal/cbor"
	"github.com/wasm2m/wasm2m/core/model"
)

// Decode decodes an LwM2M CBOR payload into the node at path p (an
// object, object instance, resource or resource instance), as a Read
// response or a Write request to p carries it. Every value in the payload
// must lie at or below p. With defs each value is converted to its
// resource's type (a text string to Objlnk, an integer to Unsigned
// Integer or Time...) by model.Build; defs may be nil. An empty map at or
// below p becomes a node without children (an empty multiple resource
// needs no definition, but a resource defined as single cannot be one).
// A null value is refused: it means removal, which only a Write-Composite
// carries (see ParseRecords). Errors are 4.00 Bad Request.
func Decode(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	if p.IsRoot() {
		return model.Node{}, errorf("cannot decode a node at the root path; use ParseRecords")
	}
	d, err := parse(data)
	if err != nil {
		return model.Node{}, err
	}
	// Empty maps at or below p; an empty map above p says p is absent.
	for i := range d.recs {
		if !d.recs[i].Path.HasPrefix(p) {
			return model.Node{}, errorf("the payload has %s, outside %s", d.recs[i].Path, p)
		}
	}
	hasRecord := len(d.recs) > 0
	var empties []model.Path
	for _, c := range d.emptyContainers() {
		switch {
		case c.HasPrefix(p):
			empties = append(empties, c)
		case p.HasPrefix(c):
			return model.Node{}, errorf("the payload has %s empty, so nothing at %s", c, p)
		default:
			return model.Node{}, errorf("the payload has %s, outside %s", c, p)
		}
	}
	if !hasRecord && len(empties) > 0 && p.Level() == model.LevelResource {
		// {[o, i, r]: {}}: a multiple resource with no instance.
		if def := model.ResourceDefAt(defs, p); def != nil && !def.Multiple {
			return model.Node{}, errorf("%s is empty, but resource %d is single", p, def.ID)
		}
		return model.NewMultipleResource(p.Last()), nil
	}
	n, err := model.Build(p, d.recs, defs)
	if err != nil {
		return model.Node{}, wrap(err)
	}
	for _, c := range empties {
		if err := insertEmpty(&n, p, c, defs); err != nil {
			return model.Node{}, err
		}
	}
	return n, nil
}

// insertEmpty adds to n, the node at p, the empty container at c (p or
// below), creating the nodes between them.
func insertEmpty(n *model.Node, p, c model.Path, defs model.Definitions) error {
	cur := n
	for l := p.Len(); l < c.Len(); l++ {
		id := c.ID(l)
		i, found := slices.BinarySearchFunc(cur.Children, id, func(x model.Node, id uint16) int { return int(x.ID) - int(id) })
		if !found {
			child := model.Node{ID: id}
			switch l + 1 {
			case 1:
				child.Kind = model.KindObject
			case 2:
				child.Kind = model.KindInstance
			default:
				sub := c.Truncate(l + 1)
				if def := model.ResourceDefAt(defs, sub); def != nil && !def.Multiple {
					return errorf("%s is empty, but resource %d is single", sub, def.ID)
				}
				child.Kind = model.KindMultipleResource
			}
			cur.Children = slices.Insert(cur.Children, i, child)
		}
		cur = &cur.Children[i]
	}
	return nil
}

// ParseRecords decodes an LwM2M CBOR payload into one record per value,
// in path order (model.Path.Compare), each with its full path (the
// payload always starts at the object level). Values keep the type their CBOR form gives: an
// unsigned integer is an Integer when it fits an int64 and an Unsigned
// Integer otherwise, a negative integer an Integer, a float a Float (any
// NaN as math.NaN()), a text string a String, a byte string Opaque, tag 1
// Time; model.Build and model.Group convert them with definitions. A null
// gives a record without a value (model.Value.IsNone), as a
// Write-Composite removes a resource instance with it. Empty maps give no
// record. Records have no time. Errors are 4.00 Bad Request. ParseRecords
// never panics and allocates at most a small multiple of len(data).
func ParseRecords(data []byte) ([]model.Record, error) {
	d, err := parse(data)
	if err != nil {
		return nil, err
	}
	return d.recs, nil
}

type decoded struct {
	recs       []model.Record // sorted by path
	containers []model.Path   // every map but the outermost, sorted
}

// parser reads a payload twice: a first pass that only counts values and
// maps (and finds every syntax error), so that the second, which keeps
// them, allocates exactly what it needs.
type parser struct {
	r          *cbor.Reader
	counting   bool
	nRecs      int
	nMaps      int
	recs       []model.Record
	containers []model.Path
}

func (ps *parser) errorf(format string, args ...any) error {
	return errorf("offset %d: "+format, append([]any{ps.r.Offset()}, args...)...)
}

func (ps *parser) malformed(err error) error {
	return errorf("offset %d: %w", ps.r.Offset(), err)
}

// parse reads a whole payload and checks that no value's path is given
// twice or has anything below it. The same map may be reached through
// several keys ({[3, 0]: {1: 1}, [3, 0, 2]: 2}); its contents merge.
func parse(data []byte) (decoded, error) {
	ps := parser{r: cbor.NewReader(data), counting: true}
	if err := ps.payload(); err != nil {
		return decoded{}, err
	}
	ps = parser{r: cbor.NewReader(data), recs: make([]model.Record, 0, ps.nRecs), containers: make([]model.Path, 0, ps.nMaps)}
	if err := ps.payload(); err != nil {
		return decoded{}, err
	}
	recs, cs := ps.recs, ps.containers
	if !slices.IsSortedFunc(recs, cmpRecord) {
		slices.SortFunc(recs, cmpRecord)
	}
	for i := 1; i < len(recs); i++ {
		if a, b := recs[i-1].Path, recs[i].Path; b.HasPrefix(a) {
			if a == b {
				return decoded{}, errorf("%s given twice", b)
			}
			return decoded{}, errorf("%s holds a value and also %s below it", a, b)
		}
	}
	if !slices.IsSortedFunc(cs, model.Path.Compare) {
		slices.SortFunc(cs, model.Path.Compare)
	}
	// A value sits at resource level or below, a map at resource level or
	// above: they clash only when both are at the same resource path.
	for _, c := range cs {
		if c.Level() != model.LevelResource {
			continue
		}
		if _, found := slices.BinarySearchFunc(recs, c, func(r model.Record, c model.Path) int { return r.Path.Compare(c) }); found {
			return decoded{}, errorf("%s holds a value and also a map", c)
		}
	}
	return decoded{recs: recs, containers: cs}, nil
}

// payload reads the outermost map and checks nothing follows it.
func (ps *parser) payload() error {
	it, err := ps.r.Next()
	if err != nil {
		return ps.malformed(err)
	}
	if it.Type != cbor.Map {
		return ps.errorf("the payload is a %s, not a map", it.Type)
	}
	if err := ps.mapBody(it, model.RootPath()); err != nil {
		return err
	}
	if !ps.r.Done() {
		return ps.errorf("data after the map")
	}
	return nil
}

// emptyContainers returns the paths of maps with nothing below them, each
// once.
func (d *decoded) emptyContainers() []model.Path {
	var out []model.Path
	for i, c := range d.containers {
		if i+1 < len(d.containers) && d.containers[i+1].HasPrefix(c) {
			continue // a copy of c or a map below it follows
		}
		j, _ := slices.BinarySearchFunc(d.recs, c, func(r model.Record, c model.Path) int { return r.Path.Compare(c) })
		if j < len(d.recs) && d.recs[j].Path.HasPrefix(c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// mapBody reads the entries of the map whose head is it, which lives at
// path at.
func (ps *parser) mapBody(it cbor.Item, at model.Path) error {
	if it.Indefinite {
		for !ps.r.PeekBreak() {
			if err := ps.entry(at); err != nil {
				return err
			}
		}
		return nil
	}
	for k := uint64(0); k < it.Uint; k++ {
		if err := ps.entry(at); err != nil {
			return err
		}
	}
	return nil
}

// entry reads one key and its value in the map at path at.
func (ps *parser) entry(at model.Path) error {
	p, err := ps.key(at)
	if err != nil {
		return err
	}
	it, err := ps.r.Next()
	if err != nil {
		return ps.malformed(err)
	}
	if it.Type == cbor.Map {
		if p.Len() == 4 {
			return ps.errorf("%s is a resource instance and cannot hold a map", p)
		}
		if ps.counting {
			ps.nMaps++
		} else {
			ps.containers = append(ps.containers, p)
		}
		return ps.mapBody(it, p)
	}
	if p.Len() < 3 {
		return ps.errorf("%s: a value needs a resource or resource instance path", p)
	}
	v, err := ps.value(it)
	if err != nil {
		return err
	}
	if ps.counting {
		ps.nRecs++
	} else {
		ps.recs = append(ps.recs, model.Record{Path: p, Value: v})
	}
	return nil
}

// key reads a map key, a single id or a non-empty array of ids, and
// returns at extended with them.
func (ps *parser) key(at model.Path) (model.Path, error) {
	it, err := ps.r.Next()
	if err != nil {
		return at, ps.malformed(err)
	}
	switch it.Type {
	case cbor.Uint:
		return ps.child(at, it)
	case cbor.Array:
		p := at
		n := 0
		for {
			if it.Indefinite {
				if ps.r.PeekBreak() {
					break
				}
			} else if uint64(n) == it.Uint {
				break
			}
			id, err := ps.r.Next()
			if err != nil {
				return at, ps.malformed(err)
			}
			if id.Type != cbor.Uint {
				return at, ps.errorf("a key array holds a %s, not an id", id.Type)
			}
			if p, err = ps.child(p, id); err != nil {
				return at, err
			}
			n++
		}
		if n == 0 {
			return at, ps.errorf("empty key array")
		}
		return p, nil
	case cbor.Break:
		return at, ps.errorf("unexpected break")
	}
	return at, ps.errorf("a key is a %s, not an id or an array of ids", it.Type)
}

// child returns at extended with the id in it.
func (ps *parser) child(at model.Path, it cbor.Item) (model.Path, error) {
	if it.Uint > model.MaxID {
		return at, ps.errorf("id %d is above 65534", it.Uint)
	}
	if at.Len() == 4 {
		return at, ps.errorf("path below %s is deeper than a resource instance", at)
	}
	return at.MustChild(uint16(it.Uint)), nil
}

// value converts a data item to a value (none for null).
func (ps *parser) value(it cbor.Item) (model.Value, error) {
	switch it.Type {
	case cbor.Uint:
		if it.Uint <= math.MaxInt64 {
			return model.Int(int64(it.Uint)), nil
		}
		return model.Uint(it.Uint), nil
	case cbor.Negint:
		n, ok := it.Int()
		if !ok {
			return model.Value{}, ps.errorf("integer -1-%d is below -2^63", it.Uint)
		}
		return model.Int(n), nil
	case cbor.Float:
		if math.IsNaN(it.Float) {
			return model.Float(math.NaN()), nil
		}
		return model.Float(it.Float), nil
	case cbor.Bool:
		return model.Bool(it.Bool), nil
	case cbor.Text:
		if ps.counting {
			return model.Value{}, nil
		}
		return model.String(string(it.Str)), nil
	case cbor.Bytes:
		if ps.counting {
			return model.Value{}, nil
		}
		return model.Opaque(it.Str), nil
	case cbor.Null:
		return model.Value{}, nil
	case cbor.Tag:
		if it.Uint != cbor.TagEpochTime {
			return model.Value{}, ps.errorf("unsupported tag %d", it.Uint)
		}
		t, err := ps.r.Next()
		if err != nil {
			return model.Value{}, ps.malformed(err)
		}
		switch t.Type {
		case cbor.Uint, cbor.Negint:
			n, ok := t.Int()
			if !ok {
				return model.Value{}, ps.errorf("time is out of range")
			}
			return model.UnixTime(n), nil
		case cbor.Float:
			if t.Float != math.Trunc(t.Float) || t.Float < -(1<<63) || t.Float >= 1<<63 {
				return model.Value{}, ps.errorf("time %v is not a whole number of seconds", t.Float)
			}
			return model.UnixTime(int64(t.Float)), nil
		}
		return model.Value{}, ps.errorf("tag 1 holds a %s, not a number", t.Type)
	}
	return model.Value{}, ps.errorf("a value is a %s", it.Type)
}
