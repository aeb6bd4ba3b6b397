package bootstrap

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/store"
)

// TestMakePlan checks the instance ids a plan writes: the bootstrap
// account is never written over, an existing account with the same short
// server id is replaced, explicit ids win, and deletes free ids.
func TestMakePlan(t *testing.T) {
	srv := func(ssid, sec, s uint16) store.ServerAccount {
		return store.ServerAccount{ShortID: ssid, SecurityInstance: sec, ServerInstance: s, URI: "coap://x", Mode: store.ModeNoSec}
	}
	cases := []struct {
		name     string
		discover string // a Bootstrap-Discover answer; "" for an undiscovered device
		cfg      store.BootstrapConfig
		want     string // the plan's deletes and writes
		err      error
	}{
		{
			name: "undiscovered: bootstrap account assumed in /0/0",
			cfg:  store.BootstrapConfig{Servers: []store.ServerAccount{srv(1, 0, 0), srv(2, 0, 0)}},
			want: "delete / write /0/1 /1/0 /0/2 /1/1",
		},
		{
			name:     "bootstrap account in /0/3",
			discover: `</>;lwm2m=1.1,</0/3>;uri="coap://bs",</1>,</3/0>`,
			cfg:      store.BootstrapConfig{Servers: []store.ServerAccount{srv(1, 0, 0)}},
			want:     "delete / write /0/0 /1/0",
		},
		{
			name:     "no delete: the account of the same ssid is replaced, others kept",
			discover: `</>;lwm2m=1.1,</0/0>;uri="coap://bs",</0/1>;ssid=5;uri="coap://a",</0/2>;ssid=7;uri="coap://b",</1/0>;ssid=7,</1/1>;ssid=5,</3/0>`,
			cfg:      store.BootstrapConfig{Delete: []string{}, Servers: []store.ServerAccount{srv(7, 0, 0), srv(8, 0, 0)}, ACLs: []store.ACL{{ObjectID: 3}}},
			want:     "write /0/2 /1/0 /0/3 /1/2 /2/0",
		},
		{
			name:     "delete /1 only",
			discover: `</>;lwm2m=1.1,</0/0>;uri="coap://bs",</0/1>;ssid=5;uri="coap://a",</1/0>;ssid=5,</3/0>`,
			cfg:      store.BootstrapConfig{Delete: []string{"/1"}, Servers: []store.ServerAccount{srv(6, 0, 0)}},
			want:     "delete /1 write /0/2 /1/0",
		},
		{
			name: "explicit ids win over picks",
			cfg:  store.BootstrapConfig{Servers: []store.ServerAccount{srv(1, 0, 0), srv(2, 1, 0)}},
			want: "delete / write /0/2 /1/0 /0/1 /1/1",
		},
		{
			name:     "explicit id on the bootstrap account",
			discover: `</0/4>;uri="coap://bs"`,
			cfg:      store.BootstrapConfig{Servers: []store.ServerAccount{srv(1, 4, 0)}},
			err:      ErrCollision,
		},
		{
			name: "explicit id twice",
			cfg:  store.BootstrapConfig{Servers: []store.ServerAccount{srv(1, 2, 0), srv(2, 2, 0)}},
			err:  errors.New("given twice"),
		},
		{
			name: "short server id 0",
			cfg:  store.BootstrapConfig{Servers: []store.ServerAccount{srv(0, 0, 0)}},
			err:  errors.New("short server id"),
		},
		{
			name: "bad delete path",
			cfg:  store.BootstrapConfig{Delete: []string{"/1/0/1"}},
			err:  errors.New("bootstrap-delete takes"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := unknownDevice()
			if tc.discover != "" {
				entries, err := link.ParseDiscover([]byte(tc.discover))
				if err != nil {
					t.Fatal(err)
				}
				d = discovered(entries)
			}
			pl, err := makePlan(&tc.cfg, d)
			if tc.err != nil {
				if err == nil || !(errors.Is(err, tc.err) || strings.Contains(err.Error(), tc.err.Error())) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(pl); got != tc.want {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
		})
	}
}

func describe(pl *plan) string {
	var parts []string
	if len(pl.deletes) > 0 {
		parts = append(parts, "delete")
		for _, p := range pl.deletes {
			parts = append(parts, p.String())
		}
	}
	if len(pl.writes) > 0 {
		parts = append(parts, "write")
		for _, w := range pl.writes {
			parts = append(parts, w.path.String())
		}
	}
	return strings.Join(parts, " ")
}

// TestParseQuery checks the parameters of Bootstrap-Request.
func TestParseQuery(t *testing.T) {
	cases := []struct {
		q    []string
		want string // "ep pct" or the error code
	}{
		{[]string{"ep=a"}, "a -"},
		{[]string{"ep=a", "pct=112"}, "a 112"},
		{[]string{"pct=11542", "ep=a", "x=y"}, "a 11542"},
		{[]string{"ep=a=b"}, "a=b -"},
		{nil, "4.00"},
		{[]string{"ep"}, "4.00"},
		{[]string{"ep=a", "pct=40"}, "4.15"},
		{[]string{"ep=a", "pct=60"}, "4.15"},
		{[]string{"ep=a", "pct=-1"}, "4.00"},
		{[]string{"ep=a", "pct=70000"}, "4.00"},
		{[]string{"ep=a", "pct=112", "pct=112"}, "4.00"},
		{[]string{"ep=a", "lwm2m=1.1"}, "a - 1.1"},
		{[]string{"ep=a", "lwm2m=1.0", "pct=11542"}, "a 11542 1.0"},
		{[]string{"ep=a", "lwm2m=x"}, "4.00"},
		{[]string{"ep=a", "lwm2m=1.1", "lwm2m=1.1"}, "4.00"},
	}
	for _, tc := range cases {
		r, err := parseQuery(tc.q)
		got := ""
		switch {
		case err != nil:
			got = codeOf(err)
		case r.hasPCT:
			got = fmt.Sprintf("%s %d", r.ep, uint16(r.pct))
		default:
			got = r.ep + " -"
		}
		if err == nil && !r.version.IsZero() {
			got += " " + r.version.String()
		}
		if got != tc.want {
			t.Errorf("%q: got %s (%v), want %s", tc.q, got, err, tc.want)
		}
	}
}
