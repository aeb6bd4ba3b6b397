package senml

import (
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
)

// flatten checks that n is a well-formed node at p and returns its
// records (appended to dst) and whether they are the single record of a
// resource or resource instance at p itself, which SenML names with "bn"
// alone.
func flatten(dst []model.Record, p model.Path, n *model.Node) ([]model.Record, bool, error) {
	if err := n.CheckAt(p); err != nil {
		return nil, false, wrap(err)
	}
	if err := n.Validate(); err != nil {
		return nil, false, wrap(err)
	}
	if n.HasValue() && n.Value.IsNone() {
		return nil, false, unacceptable("%s %s has no value to encode", n.Kind, p)
	}
	recs, err := model.Flatten(dst, p, n)
	if err != nil {
		return nil, false, wrap(err)
	}
	return recs, len(recs) == 1 && recs[0].Path == p, nil
}

// checkRecord checks that a record to encode is at resource or resource
// instance level.
func checkRecord(r *model.Record) error {
	if r.Path.Len() < 3 {
		return errorf("record %s is not at a resource or resource instance path", r.Path)
	}
	return nil
}

// appendPath appends the text of p ("/3/0/1").
func appendPath(b []byte, p model.Path) []byte {
	b, _ = p.AppendText(b)
	return b
}

// appendRelative appends the ids of q below its ancestor p: "6/0" for
// /3/0/6/0 below /3/0.
func appendRelative(b []byte, q, p model.Path) []byte {
	for i := p.Len(); i < q.Len(); i++ {
		if i > p.Len() {
			b = append(b, '/')
		}
		b = strconv.AppendUint(b, uint64(q.ID(i)), 10)
	}
	return b
}
