// Package stdobj holds the client's built-in LwM2M objects, written in Go
// behind the client.Object contract: a generic in-memory object (New) that
// enforces an object definition and that product code and examples use for
// their own objects, and on top of it Security (0), Server (1), Access
// Control (2), Device (3), Connectivity Monitoring (4), Firmware Update (5),
// Location (6) and the IPSO Temperature sensor (3303). The Access Control
// object holds client.ACL entries; the rules over them (Core 1.1 section
// 7.3) are client.Allowed, which the engine applies.
//
// An object here only keeps and checks its own state. The engine in
// core/client decides who may do what: that the Security object is the
// bootstrap server's alone, which server a request comes from, whether
// the access control rules let it through. A call made with a context from
// client.WithBootstrap is a bootstrap server's: it may read and write
// resources a device management server may not.
//
// Every object is safe for concurrent use. Objects that run goroutines
// (Firmware's download and update, Temperature's simulation) own them and
// stop them in Close.
//
// Package stdobj imports the standard library, core/model, core/objects
// and core/client (the contract it implements) only. It must never import
// a transport, codec, server, store, host or plugin package, and
// core/client must never import it.
package stdobj
