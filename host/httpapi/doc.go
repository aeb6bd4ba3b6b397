// Package httpapi is the HTTP API of wasm2m server for applications: the
// paths and JSON shapes of the Eclipse Leshan demo server's API (clients,
// device management requests, the Server-Sent Events stream, object
// specifications), documented by an OpenAPI 3 document served at
// /api/openapi.json, behind bearer-token authentication, with /healthz
// and Prometheus metrics at /metrics.
//
// A request to a queue-mode device that sleeps is not held open: it is
// answered at once with `delayed: true` and a request id, and its answer
// comes later as a REQUEST_RESPONSE event on the event stream. Such
// requests run one after another per device, in the order they came, and
// at most Config.MaxDelayed of them wait for one device.
//
// The event stream never slows the CoAP path: the API takes the server's
// events through a subscription that drops rather than waits, and each
// stream subscriber has a bounded buffer of its own; what is dropped is
// counted, per subscriber and in the metrics.
//
// httpapi imports core, the standard library and the Prometheus client; it
// never imports the plugin loaders.
package httpapi
