package core

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/wasm2m/wasm2m"

// pkg is what the import rules need of `go list -json`.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// rule says whether pkg may import imp (a direct import). It returns a
// reason when the edge is forbidden.
func rule(p pkg, imp string) string {
	from := strings.TrimPrefix(p.ImportPath, module+"/")
	own := strings.HasPrefix(imp, module+"/") || imp == module
	to := strings.TrimPrefix(imp, module+"/")
	top := func(s string) string { t, _, _ := strings.Cut(s, "/"); return t }
	std := !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
	third := !own && !std

	if own && (top(to) == "cmd" || top(to) == "examples") && top(from) != top(to) {
		return "nothing imports cmd/ or examples/"
	}
	if strings.HasPrefix(imp, "github.com/plgd-dev/go-coap") && from != "core/transport" && !strings.HasPrefix(from, "core/transport/") {
		return "only core/transport imports go-coap"
	}
	switch top(from) {
	case "core":
		if from == "core/model" && !std {
			return "core/model imports the standard library only (it builds for wasip1 guests)"
		}
		if own && top(to) != "core" {
			return "core imports only core (never host, plugins, sdk)"
		}
		if third && !strings.HasPrefix(imp, "github.com/plgd-dev/go-coap/") && !strings.HasPrefix(imp, "github.com/pion/") {
			return "core imports only the standard library, go-coap and pion/dtls"
		}
	case "host":
		if own && top(to) != "core" && top(to) != "host" && top(to) != "sdk" {
			return "host imports core, sdk and host only"
		}
	case "sdk":
		if own && top(to) != "sdk" && to != "core/model" {
			return "sdk imports sdk and core/model only"
		}
	case "plugins":
		if own && top(to) == "host" {
			return "plugins never import host"
		}
		if own && top(to) == "plugins" && pluginDir(from) != pluginDir(to) {
			return "plugins never import each other"
		}
	}
	return ""
}

// pluginDir returns the plugin a plugins/ path belongs to: plugins/kind/name.
func pluginDir(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, "/")
}

// guestForbidden are modules a Wasm guest package must never pull in,
// even indirectly.
var guestForbidden = []string{"github.com/tetratelabs/wazero", "google.golang.org/grpc", "github.com/hashicorp/go-plugin"}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps=false", "-json", module+"/...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	var names []string
	for _, p := range pkgs {
		names = append(names, p.ImportPath)
		for _, imp := range p.Imports {
			if why := rule(p, imp); why != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
			}
		}
		if strings.Contains(p.ImportPath, "/sdk/guest") || p.ImportPath == module+"/core/model" {
			for _, d := range p.Deps {
				for _, f := range guestForbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%s depends on %s: Wasm guest code must not pull in %s", p.ImportPath, d, f)
					}
				}
			}
		}
	}
	// The walk must have seen the packages it guards, or it proves nothing.
	for _, must := range []string{module + "/core/model", module + "/core/codec", module + "/cmd/wasm2m"} {
		if !slices.Contains(names, must) {
			t.Errorf("go list did not report %s; saw %v", must, names)
		}
	}
}

func TestModelDependsOnStandardLibraryOnly(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", module+"/core/model")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, std, _ := strings.Cut(line, " ")
		if std != "true" && path != module+"/core/model" {
			t.Errorf("core/model depends on %s", path)
		}
	}
}

// TestRuleCatchesForbiddenEdges checks the checker: each of these edges
// must be refused, each of the allowed ones accepted.
func TestRuleCatchesForbiddenEdges(t *testing.T) {
	m := func(s string) string { return module + "/" + s }
	forbidden := [][2]string{
		{"core/codec", m("host/wasm")},
		{"core/server", m("plugins/storage/redis")},
		{"core/client", m("sdk/abi")},
		{"core/server", "github.com/tetratelabs/wazero"},
		{"core/server", "github.com/hashicorp/go-plugin"},
		{"core/model", "github.com/plgd-dev/go-coap/v3/message"},
		{"core/model", m("core/link")},
		{"core/server", "github.com/plgd-dev/go-coap/v3/udp"},
		{"plugins/objects/temperature", m("host/wasm")},
		{"plugins/objects/temperature", m("plugins/logic/autoobserve")},
		{"sdk/guest", m("core/codec")},
		{"host/wasm", m("plugins/objects/temperature")},
		{"host/cli", m("cmd/wasm2m")},
		{"core/codec", "github.com/fxamacker/cbor/v2"},
	}
	for _, e := range forbidden {
		if rule(pkg{ImportPath: m(e[0])}, e[1]) == "" {
			t.Errorf("%s -> %s allowed", e[0], e[1])
		}
	}
	allowed := [][2]string{
		{"core/codec", m("core/model")},
		{"core/codec", "encoding/json"},
		{"core/transport", "github.com/plgd-dev/go-coap/v3/udp"},
		{"core/transport", "github.com/pion/dtls/v3"},
		{"host/wasm", "github.com/tetratelabs/wazero"},
		{"host/wasm", m("sdk/abi")},
		{"plugins/objects/temperature", m("sdk/guest")},
		{"plugins/objects/temperature", m("plugins/objects/temperature/internal/x")},
		{"sdk/guest", m("core/model")},
		{"cmd/wasm2m", m("host/cli")},
	}
	for _, e := range allowed {
		if why := rule(pkg{ImportPath: m(e[0])}, e[1]); why != "" {
			t.Errorf("%s -> %s refused: %s", e[0], e[1], why)
		}
	}
}
