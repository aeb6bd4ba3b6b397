// Package httpapi is the HTTP API of wasm2m server for applications: the
// paths and JSON shapes of the Eclipse Leshan demo server's API (clients,
// device management requests, the Server-Sent Events stream, object
// specifications, DTLS credentials), documented by an OpenAPI 3 document served at
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
// # Credentials
//
// /api/security/clients manages the devices' DTLS credentials in
// Config.Security (a 404 JSON error when the server keeps none), in the
// JSON shape of Leshan 2's demo servers: {"endpoint": ..., "tls": {"mode":
// "psk", "details": {"identity": ..., "key": <hex>}}} or {"endpoint":
// ..., "tls": {"mode": "x509"}}; a credential that allows both is mode
// "psk" with "x509": true beside "details". PUT also takes Leshan 1's
// {"endpoint", "psk": {"identity", "key"}} and {"endpoint", "x509": true};
// it refuses "rpk" and "oscore" (not supported) and unknown fields with a
// 400, and a PSK identity that another endpoint holds with a 409 that
// changes nothing. Keys are returned, in the listing as in GET of one
// endpoint, as Leshan does: every route here needs a bearer token, and a
// token can write credentials anyway. PUT answers 200 with the credential
// as stored, DELETE 200 with no body (404 when there is none), as Leshan.
//
// # Bootstrap configurations
//
// BootstrapAPI (NewBootstrap) is the API of `wasm2m bootstrap`, mounted on
// its own: /api/bootstrap[/{endpoint}] with /healthz and its own OpenAPI
// document (openapi_bootstrap.json) at /api/openapi.json, behind the same
// bearer tokens. Its JSON is Leshan's bootstrap demo BootstrapConfig, and
// maps onto store.BootstrapConfig so:
//
//   - toDelete is Delete; absent or null is nil (the store's default,
//     ["/"]), and nil is shown as ["/"]; [] deletes nothing.
//   - each "security" entry (key: its Security instance id) with the
//     "servers" entry (key: its Server instance id) whose shortId is its
//     serverId is one ServerAccount; an entry without its pair is a 400, as
//     is "bootstrapServer": true (the device keeps its own bootstrap
//     account). securityMode PSK, RPK, X509, NO_SEC is Mode; for PSK
//     publicKeyOrId is the identity (UTF-8) and secretKey the key; for
//     X509 and RPK publicKeyOrId, secretKey and serverPublicKey are the
//     certificate, private key and server certificate. lifetime,
//     defaultMinPeriod and defaultMaxPeriod are left out when absent (0),
//     notifIfDisabled is NotificationStoring, binding is Binding.
//   - each "acls" entry (key: its instance id) is an ACL: objectId,
//     objectInstanceId, acls (short server id → access bits) and
//     AccessControlOwner.
//   - instance id 0 is the store's "let the bootstrap server pick": shown
//     as key "0" (further such instances, made through the Go API, at the
//     lowest ids free).
//   - byte strings are arrays of numbers 0 to 255, as Leshan writes them;
//     a base64 string (what Jackson reads into a byte[]) and signed bytes
//     are read too.
//   - Leshan's fields that wasm2m does not write to a device (SMS,
//     OSCORE, registration sequencing, autoIdForSecurityObject, ...) are
//     accepted only empty or null; any other field is a 400.
//
// GET /api/bootstrap is an object keyed by endpoint, as Leshan's; GET
// /api/bootstrap/{endpoint} (wasm2m's addition) one configuration; POST
// answers 200 with the configuration as stored, DELETE 204, as Leshan.
//
// httpapi imports core, the standard library and the Prometheus client; it
// never imports the plugin loaders.
package httpapi
