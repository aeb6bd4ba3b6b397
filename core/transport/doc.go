// Package transport is wasm2m's CoAP endpoint over UDP and DTLS: the
// message layer of RFC 7252 (confirmable messages with retransmission,
// deduplication, piggybacked and separate responses, Reset), observe
// notifications as RFC 7641 needs them of a transport, and block-wise
// transfers of RFC 7959 (Block1 and Block2 in both directions).
//
// One Endpoint serves incoming requests through a Handler and sends
// requests with Do and notifications with Notify, over one socket. Over
// plain UDP it keeps no session and no goroutine per peer: per-peer state is a message
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
// whose callbacks are short and counted like the rest. Over DTLS add a
// demultiplexer reading the socket, a janitor, and four goroutines per
// session or handshake in progress (its reader and three of pion's).
// Close stops and waits for all of them.
//
// DTLS. ListenDTLS starts an Endpoint that speaks CoAP over DTLS 1.2 (RFC
// 7252 section 9, coaps://) in the server role; ListenSecure one in the
// client role that talks plain CoAP to some peers and DTLS to others, one
// session per peer, started by the first datagram written to it. Both put
// pion/dtls (one connection per session) behind a demultiplexer of their
// own that owns the socket and implements packetConn, so the message
// layer above is the same as over UDP. Handlers see Request.Peer as the
// session's peer key, its address at handshake time, which stays the key
// when the device moves with a connection ID (RFC 9146: the demultiplexer
// routes tls12_cid records by CID, pion moves the session's address on
// an authenticated record, and datagrams written to the key go there),
// and Request.Identity as the PSK identity or certificate the handshake
// proved. The server role bounds half-open state: only a record that
// looks like a ClientHello (epoch 0, handshake type 1, sane lengths) from
// a source without a handshake in progress may create state, within
// DTLSConfig.MaxHandshakes overall and MaxHandshakesPerIP per source
// address, for HandshakeTimeout; pion's HelloVerifyRequest cookies stay
// on (RATIONALE.md, "DTLS sessions", says why they cannot come first). A
// ClientHello from the address of an established session starts a new
// handshake beside it (RFC 6347 section 4.2.8) that replaces it once
// complete. Sessions idle beyond SessionIdleTimeout are closed; PSK
// sessions can be resumed from a bounded store (off by default).
//
// Package transport encodes and decodes CoAP messages itself; it imports
// go-coap only in its tests, which check its codec against go-coap's byte
// for byte, and its baseline subpackage (a bare go-coap server for the
// benchmarks) is the only other wasm2m package that does. Every type it
// exposes is its own. It imports the standard library, pion/dtls (and
// pion's logging interface) and core/model only; it must never import
// another wasm2m package above core/model, nor host, plugins or sdk.
package transport
