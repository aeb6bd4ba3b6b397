package adapter

import (
	"context"
	"fmt"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Caller is a plugin reached through ABI v1: Call sends method m with the
// encoded request message and returns the encoded response message, or an
// error that carries the call's status as a CoAP code (*model.Error).
// *wasm.Plugin is one. Call must be safe for concurrent use; the response
// must stay valid until the next Call from the same goroutine.
type Caller interface {
	Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error)
}

type message interface {
	Size() int
	MarshalAppend(b []byte) []byte
}

type decodable interface {
	Unmarshal(b []byte) error
}

// call sends req as method m and decodes the response into resp (nil: the
// response is ignored). A response that does not decode is a 5.00: the
// plugin broke the contract.
func call(ctx context.Context, c Caller, m abi.Method, req message, resp decodable) error {
	var b []byte
	if req != nil {
		b = req.MarshalAppend(make([]byte, 0, req.Size()))
	}
	out, err := c.Call(ctx, m, b)
	if err != nil {
		return err
	}
	if resp != nil {
		if err := resp.Unmarshal(out); err != nil {
			return model.Errorf(model.InternalServerError, "plugin response to method %d: %v", m, err)
		}
	}
	return nil
}

// ReadManifest asks the plugin what it is (abi.MethodManifest). It checks
// what the host relies on: an id of the ABI's form (abi.CheckID, which
// keeps a plugin out of the host's own key-value namespaces, where the
// DTLS credentials live) and a kind.
func ReadManifest(ctx context.Context, c Caller) (*abi.Manifest, error) {
	var m abi.Manifest
	if err := call(ctx, c, abi.MethodManifest, &abi.ManifestRequest{}, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := abi.CheckID(m.ID); err != nil {
		return nil, model.Errorf(model.InternalServerError, "%v", err)
	}
	switch abi.Kind(m.Kind) {
	case abi.KindObject, abi.KindLogic, abi.KindStorage:
	default:
		return nil, model.Errorf(model.InternalServerError, "manifest of %s: unknown kind %q", m.ID, m.Kind)
	}
	return &m, nil
}

// Definitions returns the definitions of the objects an object plugin
// implements (abi.MethodObjectList), each validated: on a server, they join
// the registry the server decodes with (model.Registry.Add).
func Definitions(ctx context.Context, c Caller) ([]*model.ObjectDef, error) {
	var resp abi.ObjectListResponse
	if err := call(ctx, c, abi.MethodObjectList, &abi.ObjectListRequest{}, &resp); err != nil {
		return nil, fmt.Errorf("object list: %w", err)
	}
	defs := make([]*model.ObjectDef, 0, len(resp.Objects))
	seen := map[uint16]bool{}
	for i := range resp.Objects {
		d, err := resp.Objects[i].Model()
		if err != nil {
			return nil, model.Errorf(model.InternalServerError, "object list: object %d: %v", resp.Objects[i].ID, err)
		}
		if seen[d.ID] {
			return nil, model.Errorf(model.InternalServerError, "object list: object %d listed twice", d.ID)
		}
		seen[d.ID] = true
		defs = append(defs, d)
	}
	return defs, nil
}
