// Package transport is wasm2m's CoAP-over-UDP endpoint: the message layer
// of RFC 7252 (confirmable messages with retransmission, deduplication,
// piggybacked and separate responses, Reset), observe notifications as RFC
// 7641 needs them of a transport, and block-wise transfers of RFC 7959
// (Block1 and Block2 in both directions).
//
// One Endpoint serves incoming requests through a Handler and sends
// requests with Do and notifications with Notify, over one socket. It
// keeps no session and no goroutine per peer: per-peer state is a message
// ID counter and a token bucket (about 160 bytes with its share of the
// table), allocated on the first datagram and dropped when the peer is
// idle. The deduplication cache is a bounded map with FIFO expiry, O(1)
// per message. The endpoint routes responses by token only: the LwM2M
// server keeps registrations and observations in its own tables and
// receives notifications that match no request in flight through
// Config.Notify, so they still arrive after a peer's state was dropped.
//
// Goroutines: one reader per socket, one janitor, and handler goroutines,
// at most Config.MaxInFlightHandlers, each reused for the next request
// until it has waited a second for one (so that a handler's stack, once
// grown, is not grown again on every request); retransmission and
// the separate-response deadline use runtime timers (time.AfterFunc),
// whose callbacks are short and counted like the rest. Close stops and
// waits for all of them.
//
// Package transport is the only wasm2m package that imports go-coap, and
// it uses only go-coap's message codec (package message and the UDP
// coder), never its client or server. Every type it exposes is its own.
// It imports the standard library, go-coap and core/model only; it must
// never import another wasm2m package above core/model, nor host, plugins
// or sdk.
package transport
