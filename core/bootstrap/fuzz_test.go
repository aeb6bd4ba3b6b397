package bootstrap

import (
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

func codeOf(err error) string { return model.CodeOf(err).String() }

// FuzzParseQuery feeds Bootstrap-Request queries (the Uri-Query options,
// one per line) from the network: parseQuery never panics, and what it
// accepts has an endpoint and a pct that carries instances.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"ep=dev", "ep=dev\npct=112", "pct=11542\nep=a", "ep=", "ep=a\nep=b", "pct=0\nep=a", "ep=a\npct=99999999999", "ep=a\nlwm2m=1.1", "lwm2m=1.0\nep=b\npct=11542"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseQuery(strings.Split(s, "\n"))
		if err != nil {
			if c := model.CodeOf(err); c != model.BadRequest && c != model.UnsupportedContentFormat {
				t.Fatalf("error code %v: %v", c, err)
			}
			return
		}
		if r.ep == "" || (r.hasPCT && !treeFormat(r.pct)) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// FuzzDiscoverPlan feeds a device's Bootstrap-Discover answer, untrusted,
// to the planner: whatever the device reports, the plan never writes the
// bootstrap account's Security instance and never writes one instance
// twice.
func FuzzDiscoverPlan(f *testing.F) {
	for _, s := range []string{
		`</>;lwm2m=1.1,</0/0>;uri="coap://bs",</0/1>;ssid=5;uri="coap://a",</1/0>;ssid=5,</3/0>`,
		`</0/3>;uri="coap://bs",</1>,</3/0>`,
		`</0/0>;ssid=1,</0/1>;ssid=2`,
		`</>;lwm2m=1.0`,
		`</0/65534>,</1/65534>;ssid=65534`,
		``,
	} {
		f.Add([]byte(s), uint16(5), uint16(0), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, ssid, secID uint16, keep bool) {
		entries, err := link.ParseDiscover(b)
		if err != nil {
			return
		}
		d := discovered(entries)
		bs := d.bsSec
		c := &store.BootstrapConfig{
			Servers: []store.ServerAccount{{ShortID: ssid, SecurityInstance: secID, URI: "coap://x"}, {ShortID: 65534, URI: "coap://y"}},
			ACLs:    []store.ACL{{ObjectID: 3}},
		}
		if keep {
			c.Delete = []string{}
		}
		pl, err := makePlan(c, d)
		if err != nil {
			return
		}
		seen := map[model.Path]bool{}
		for _, w := range pl.writes {
			if seen[w.path] {
				t.Fatalf("%s written twice", w.path)
			}
			seen[w.path] = true
			if w.path.ObjectID() == objSecurity && bs >= 0 && int(w.path.InstanceID()) == bs {
				t.Fatalf("the bootstrap account /0/%d is written", bs)
			}
			if err := w.node.Validate(); err != nil {
				t.Fatalf("%s: %v", w.path, err)
			}
		}
	})
}
