// Package bootstrap is the LwM2M Bootstrap-Server role (Core 1.1 and 1.2
// section 6.1; Transport 1.1 section 6.1): it answers Bootstrap-Request
// (POST /bs?ep=..[&pct=..]) and then provisions the device from the
// configuration kept for its endpoint name in a store.Bootstraps:
// Bootstrap-Discover and Bootstrap-Read to learn what the device holds
// (1.1 and later), Bootstrap-Delete of the configured paths,
// Bootstrap-Write of each Security (/0), Server (/1) and Access Control
// (/2) instance, and Bootstrap-Finish. It also answers the 1.2
// Bootstrap-Pack-Request (GET /bspack?ep=..) with the whole configuration
// in one SenML pack.
//
// Each sequence ends Succeeded (only when the device accepted
// Bootstrap-Finish with 2.04) or Failed, with the step and the device's
// answer; the last outcome of every endpoint is kept (Server.Result) and
// every change is published to subscribers (Server.Subscribe). A failed
// sequence is retried from the start when the device sends
// Bootstrap-Request again.
//
// Like core/server, it is a library: it starts no goroutine it does not
// stop in Close and logs nothing unless given a *slog.Logger. DTLS is
// plugged in through Config.SecureAddr and ListenSecure (a second
// endpoint that speaks coaps, transport.ListenDTLS) or Config.Listen, and
// Config.Authorize (whether the peer's DTLS identity may bootstrap an
// endpoint name, core/security.Authorize).
//
// bootstrap imports the standard library and core packages only (model,
// codec, link, objects, store, transport); never host, plugins or sdk.
package bootstrap
