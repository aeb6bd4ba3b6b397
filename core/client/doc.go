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
// client imports the standard library and core packages only, never
// core/client/stdobj (which implements objects against this package).
package client
