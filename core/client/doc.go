// Package client is the LwM2M client role (Core 1.1 sections 6.1 to 6.5):
// the engine that runs on a device or a gateway. It registers with every
// LwM2M server it holds an account for (Security and Server object
// instances), keeps each registration alive, bootstraps when it must,
// serves the servers' device management operations on its objects in
// every content format it supports, runs observations with their
// notification attributes, and sends data with the Send operation.
//
// Objects are behind the Object interface: Go code (core/client/stdobj
// has the built-in ones), Wasm plugins or process plugins, which the
// engine cannot tell apart.
//
// # The engine
//
// New checks a Config, Start opens one UDP socket (one transport.Endpoint
// for every server) and starts one registration goroutine per device
// management account, or a client-initiated bootstrap when the client has
// only a bootstrap account; Close de-registers from every server (bounded
// by Config.CloseTimeout), stops every goroutine the engine started and
// waits for them. The goroutines are: one registration loop per server
// account, one per observation, one bootstrap loop while bootstrapping,
// and a short-lived one that re-reads the accounts after a server changed
// the Security or Server object.
//
// Decisions where the specification leaves room, each with its section:
//
//   - Servers are told apart by address: a request from an address that
//     is no server account's gets 4.03 Forbidden (coap:// gives a peer no
//     other identity, and retrying will not help it, RFC 7252 section
//     5.9.2.4). 4.01 Unauthorized is what a server of the client gets for
//     an operation its access rights do not allow (Core 1.1 section 7.3).
//   - The Security (0) and OSCORE (21) objects do not exist for a device
//     management server (4.04): only the bootstrap server reaches them.
//   - Disable (/1/x/4), Registration Update Trigger (/1/x/8) and
//     Bootstrap-Request Trigger (/1/x/9) are handled by the engine, so
//     that they work with any implementation of object 1: the object's
//     Execute is called first (an error other than 4.04 or 4.05 refuses
//     the operation), then the engine acts on the account of that Server
//     instance.
//   - Queue mode (Core 1.1 section 6.5): after each message it sends the
//     client listens for Config.AwakeTime, then sleeps. The transport
//     answers every request, so a request reaching a sleeping client gets
//     5.03 Service Unavailable with Max-Age until the next Update rather
//     than silence; a server that follows queue mode holds its requests
//     until the client talks again (an Update, a notification, a Send).
//   - Registration retries follow Core 1.1 section 6.2.1.1 with the Server
//     object's resources 17 to 20 (defaults 5 attempts, 60 s doubling,
//     24 h between sequences, one sequence); a rejected registration or a
//     failed sequence bootstraps when /1/x/16 allows it and a bootstrap
//     account exists, and otherwise the client keeps trying. Servers with
//     a Registration Priority Order (/1/x/13) register one after the
//     other, each after its Initial Registration Delay Timer (/1/x/14);
//     one whose sequence failed with Registration Failure Block (/1/x/15)
//     holds back those after it.
//   - Access control (Core 1.1 section 7.3) applies with more than one
//     device management account and an Access Control object; Allowed
//     states the rules. Every server may read the Access Control object,
//     only an instance's owner writes it, and no server creates or deletes
//     one, its owner included: the client keeps one per object instance.
//     A server has rights on its own Server instance through an ACL like
//     any other instance; only when no ACL governs that instance does the
//     engine imply one letting the server read, write and execute it.
//   - Notifications are non-confirmable unless Config says otherwise or
//     the 1.2 con attribute asks; one in 24 hours is confirmable (RFC 7641
//     section 4.5). A reset of any notification ends the observation (RFC
//     7641 section 3.6; for a non-confirmable one the transport reports
//     the reset through transport.Config.OnReset, the only way a server's
//     passive cancel reaches the client), and so does an unacknowledged
//     confirmable one. When to notify is decided by
//     core/client/internal/notify.
//
// client imports the standard library and core packages only, never
// core/client/stdobj (which implements objects against this package).
package client
