package client

import (
	"context"
	"net/netip"

	"github.com/wasm2m/wasm2m/core/transport"
)

// Serve runs the engine's request handling on msg as if it came from
// peer, for the fuzz test and the malformed-request tests.
func (e *Engine) Serve(ctx context.Context, peer netip.AddrPort, msg *transport.Message) *transport.Message {
	return e.serveCoAP(ctx, &transport.Request{Peer: peer, Msg: msg})
}

// ImpliedServerACLs is impliedServerACLs, for the access control table
// test.
var ImpliedServerACLs = impliedServerACLs

// ResetObservation is the engine's transport.Config.OnReset.
func (e *Engine) ResetObservation(peer netip.AddrPort, tok []byte) { e.resetObservation(peer, tok) }
