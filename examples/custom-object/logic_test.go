package customobject

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestServerLogicOpensValve adds a server-side logic plugin to the
// walk-through: `wasm2m server -plugin autoobserve.wasm` (the first-party
// logic.autoobserve, configured with -plugin-config) observes the device's
// temperature sensor when it registers and, since the simulated sensor of
// `wasm2m client` starts at 20 and rises for minutes, above the rule's 19,
// writes Open = true to the valve plugin on the device. Everything runs as processes over UDP and
// HTTP on 127.0.0.1.
func TestServerLogicOpensValve(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm2m and two plugins, and runs them (-short)")
	}
	dir := t.TempDir()
	wasm2m := buildWasm2m(t)
	valve := filepath.Join(dir, "valve.wasm")
	buildPlugin(t, wasm2m, "./valve", valve)
	logic := filepath.Join(dir, "autoobserve.wasm")
	buildPlugin(t, wasm2m, "../../plugins/logic/autoobserve", logic)

	const token = "e2e-secret"
	config := `logic.autoobserve={"observe": ["/3303/0/5700"], "attributes": "pmin=1",
	  "rules": [{"path": "/3303/0/5700", "above": 19, "write": {"path": "/26241/0/0", "value": true}}]}`
	srv := start(t, wasm2m, "server", "-addr", "127.0.0.1:0", "-secure-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-http-token", token,
		"-data", filepath.Join(dir, "data"), "-ddf", "26241.xml", "-plugin-cache", filepath.Join(dir, "compiled"),
		"-plugin", logic, "-grant", "logic.autoobserve=lwm2m.request,kv", "-plugin-config", config)
	m := srv.waitLine(t, regexp.MustCompile(`LwM2M on udp ([0-9.:]+)[ ,].*HTTP API on (http://[0-9.:]+)`))
	dev := start(t, wasm2m, "client", "-server", "coap://"+m[1], "-endpoint", "valve-2",
		"-plugin", valve, "-grant", "objects.valve=kv,changed", "-plugin-cache", filepath.Join(dir, "compiled"))

	c := &apiClient{base: m[2], token: token}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if c.status(t, "GET", "/api/clients/valve-2", "") == http.StatusOK {
			var open struct{ Content struct{ Value any } }
			c.do(t, "GET", "/api/clients/valve-2/26241/0/0", "", &open)
			if fmt.Sprint(open.Content.Value) == "true" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the logic plugin did not open the valve\nserver:\n%s\nclient:\n%s", srv.out(), dev.out())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var cycles struct{ Content struct{ Value any } }
	c.do(t, "GET", "/api/clients/valve-2/26241/0/3", "", &cycles)
	if fmt.Sprint(cycles.Content.Value) != "1" {
		t.Errorf("cycle count %v after the logic plugin opened the valve, want 1", cycles.Content.Value)
	}
	for _, want := range []string{"observing endpoint=valve-2 path=/3303/0/5700", "rule tripped endpoint=valve-2"} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(srv.out()) {
			t.Errorf("server log lacks %q:\n%s", want, srv.out())
		}
	}
	dev.stop(t)
	srv.stop(t)
}
