package senml

import (
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// Field bits: one per SenML label this package reads (RFC 8428 section
// 4.3, Table 6 for the CBOR labels; "vlo" from Core 1.1 section 7.4.4).
const (
	fBaseName    uint32 = 1 << iota // bn, CBOR -2
	fBaseTime                       // bt, -3
	fBaseUnit                       // bu, -4
	fBaseValue                      // bv, -5
	fBaseSum                        // bs, -6
	fBaseVersion                    // bver, -1
	fName                           // n, 0
	fUnit                           // u, 1
	fValue                          // v, 2
	fString                         // vs, 3
	fBool                           // vb, 4
	fSum                            // s, 5
	fTime                           // t, 6
	fUpdateTime                     // ut, 7
	fData                           // vd, 8
	fObjlnk                         // vlo, "vlo"
)

// valueFields are the fields that carry a record's value.
const valueFields = fValue | fString | fBool | fData | fObjlnk

// maxVersion is the highest SenML version this package reads (RFC 8428
// section 4.4: 10 is the version it defines).
const maxVersion = 10

// labelNames spells each field bit as SenML JSON does, for messages.
var labelNames = map[uint32]string{
	fBaseName: "bn", fBaseTime: "bt", fBaseUnit: "bu", fBaseValue: "bv", fBaseSum: "bs",
	fBaseVersion: "bver", fName: "n", fUnit: "u", fValue: "v", fString: "vs", fBool: "vb",
	fSum: "s", fTime: "t", fUpdateTime: "ut", fData: "vd", fObjlnk: "vlo",
}

// fields is one SenML record as read off the wire, before base values
// apply. Byte slices may alias the input.
type fields struct {
	set     uint32 // field bits present
	bn, n   []byte
	bt, t   seconds
	bv      model.Value // numeric
	v       model.Value // the value of the one value field present
	version uint64
}

// mark records that field bit is present, reporting false when it
// already was.
func (f *fields) mark(bit uint32) bool {
	if f.set&bit != 0 {
		return false
	}
	f.set |= bit
	return true
}

// resolver applies base values to records in order (RFC 8428 section
// 4.6): each base field holds from the record that sets it until a later
// record replaces it.
type resolver struct {
	i     int    // index of the record being resolved
	bn    []byte // current base name
	bt    seconds
	hasBT bool
	bv    model.Value
	hasBV bool
	name  []byte // scratch for bn + n
	now   time.Time
}

// clock returns the time that relative SenML times count from, fixed at
// its first use so that the records of one pack share it.
func (r *resolver) clock() time.Time {
	if r.now.IsZero() {
		r.now = time.Now()
	}
	return r.now
}

// base takes the base fields of f and checks its version, returning the
// resolved name of the record.
func (r *resolver) base(f *fields) ([]byte, error) {
	if f.set&fBaseVersion != 0 && f.version > maxVersion {
		return nil, errorf("record %d: SenML version %d is above %d", r.i, f.version, maxVersion)
	}
	if f.set&fBaseName != 0 {
		r.bn = append(r.bn[:0], f.bn...)
	}
	if f.set&fBaseTime != 0 {
		r.bt, r.hasBT = f.bt, true
	}
	if f.set&fBaseValue != 0 {
		r.bv, r.hasBV = f.bv, true
	}
	r.name = append(append(r.name[:0], r.bn...), f.n...)
	if len(r.name) == 0 {
		return nil, errorf("record %d has no name", r.i)
	}
	return r.name, nil
}

// record resolves a value record: its path (a resource or resource
// instance), its value (with the base value added to "v") and its time.
func (r *resolver) record(f *fields) (model.Record, error) {
	defer func() { r.i++ }()
	name, err := r.base(f)
	if err != nil {
		return model.Record{}, err
	}
	p, err := parsePath(name)
	if err != nil {
		return model.Record{}, wrapf(err, "record %d", r.i)
	}
	if p.Len() < 3 {
		return model.Record{}, errorf("record %d: %s is not a resource or resource instance path", r.i, p)
	}
	vals := f.set & valueFields
	switch {
	case vals == 0:
		return model.Record{}, errorf("record %d (%s) has no value", r.i, p)
	case vals&(vals-1) != 0:
		return model.Record{}, errorf("record %d (%s) has more than one value", r.i, p)
	}
	rec := model.Record{Path: p, Value: f.v}
	if vals == fValue && r.hasBV {
		var ok bool
		if rec.Value, ok = addBase(r.bv, f.v); !ok {
			return model.Record{}, errorf("record %d (%s): base value plus value is out of range", r.i, p)
		}
	}
	if r.hasBT || f.set&fTime != 0 {
		var t seconds
		if r.hasBT {
			t = r.bt
		}
		if f.set&fTime != 0 {
			t = t.add(f.t)
		}
		if !t.inRange() {
			return model.Record{}, errorf("record %d (%s): time is out of range", r.i, p)
		}
		rec.Time = t.resolve(r.clock)
	}
	return rec, nil
}

// path resolves a path-list record: a name of any level and no value.
func (r *resolver) path(f *fields) (model.Path, error) {
	defer func() { r.i++ }()
	name, err := r.base(f)
	if err != nil {
		return model.Path{}, err
	}
	p, err := parsePath(name)
	if err != nil {
		return model.Path{}, wrapf(err, "record %d", r.i)
	}
	if f.set&valueFields != 0 {
		return model.Path{}, errorf("record %d (%s): a path list record has no value", r.i, p)
	}
	return p, nil
}

// parsePath is model.ParsePath for a name in bytes, without allocating
// when the name is a valid path.
func parsePath(name []byte) (model.Path, error) {
	var ids [4]uint16
	n := 0
	ok := len(name) > 0 && name[0] == '/'
	rest := name
	if ok {
		rest = name[1:]
		if len(rest) > 0 && rest[len(rest)-1] == '/' {
			rest = rest[:len(rest)-1]
			ok = len(rest) > 0
		}
	}
	for ok && len(rest) > 0 {
		j, v := 0, 0
		for ; j < len(rest) && rest[j] != '/'; j++ {
			if !isDigit(rest[j]) || j == 5 {
				ok = false
				break
			}
			v = v*10 + int(rest[j]-'0')
		}
		if !ok || j == 0 || j > 1 && rest[0] == '0' || v > model.MaxID || n == 4 {
			ok = false
			break
		}
		ids[n] = uint16(v)
		n++
		if j == len(rest) {
			break
		}
		rest = rest[j+1:]
		ok = len(rest) > 0
	}
	if ok {
		return model.NewPath(ids[:n]...)
	}
	return model.ParsePath(string(name))
}

// packReader reads the records of a pack one at a time.
type packReader interface {
	// next reads the next record into f, reporting false at the end of
	// the pack (after checking that nothing follows it).
	next(f *fields) (bool, error)
}

// readRecords reads every value record of a pack. hint is the initial
// capacity, which callers keep to a small fraction of the input size.
func readRecords(pr packReader, hint int) ([]model.Record, error) {
	var (
		recs []model.Record
		f    fields
		r    resolver
	)
	if hint > 0 {
		recs = make([]model.Record, 0, hint)
	}
	for {
		ok, err := pr.next(&f)
		if err != nil {
			return nil, err
		}
		if !ok {
			return recs, nil
		}
		rec, err := r.record(&f)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
}

// readPaths reads every record of a path list.
func readPaths(pr packReader, hint int) ([]model.Path, error) {
	var (
		paths []model.Path
		f     fields
		r     resolver
	)
	if hint > 0 {
		paths = make([]model.Path, 0, hint)
	}
	for {
		ok, err := pr.next(&f)
		if err != nil {
			return nil, err
		}
		if !ok {
			return paths, nil
		}
		p, err := r.path(&f)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
}

// decodeNode builds the node at p from the records of a pack, ignoring
// their times.
func decodeNode(recs []model.Record, err error, p model.Path, defs model.Definitions) (model.Node, error) {
	if err != nil {
		return model.Node{}, err
	}
	n, err := model.Build(p, recs, defs)
	if err != nil {
		return model.Node{}, wrap(err)
	}
	return n, nil
}
