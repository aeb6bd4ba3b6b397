package cli

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// useTestBinary makes the load command start its children as this test
// binary running Main (see TestMain).
func useTestBinary(t *testing.T) {
	t.Helper()
	old := selfCommand
	selfCommand = func(args ...string) (*exec.Cmd, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WASM2M_CLI_CHILD=1", "WASM2M_CLI_ARGS="+strings.Join(args, " "))
		return cmd, nil
	}
	t.Cleanup(func() { selfCommand = old })
}

func TestLoadCompare(t *testing.T) {
	useTestBinary(t)
	code, out, errs := run(t, "load", "-compare", "-devices", "300", "-q")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, want := range []string{
		"register on wasm2m (file store)", "register on go-coap baseline", "register on stateless baseline",
		"300 done, 300 ok", "vs go-coap", "vs stateless", "CPU µs/req", "gen µs/req",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The table's last three lines: one per target, none with errors.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines[len(lines)-3:] {
		if f := strings.Fields(l); len(f) < 9 {
			t.Errorf("table line %q is short", l)
		}
	}
}

func TestLoadScenarios(t *testing.T) {
	useTestBinary(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-compare", "-scenario", "noisy", "-devices", "50", "-registrations", "200", "-rate", "400", "-noise-rate", "200"}, []string{"1: quiet", "1: noisy peer 200/s (update)"}},
		{[]string{"-scenario", "read", "-devices", "10", "-registrations", "300"}, []string{"read 1 devices", "read 10 devices", "reads/s"}},
		{[]string{"-scenario", "memory", "-counts", "50,100", "-devices", "50", "-idle", "100ms"}, []string{"bytes/registration", "memory  100", "file    100"}},
		{[]string{"-compare", "-scenario", "update", "-devices", "50", "-registrations", "100"}, []string{"update on wasm2m", "100 done, 100 ok"}},
		{[]string{"-compare", "-scenario", "register", "-generator", "netpoll", "-server-gc-percent", "400", "-devices", "50", "-registrations", "100"}, []string{"register on wasm2m", "register on go-coap", "100 done, 100 ok"}},
	} {
		t.Run(tc.args[1]+tc.args[2], func(t *testing.T) {
			code, out, errs := run(t, append([]string{"load", "-q"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestLoadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"load", "-scenario", "nope"},
		{"load", "-devices", "0"},
		{"load", "-addr", "nope", "-devices", "1"},
		{"load", "-serve-baseline", "nope"},
		{"load", "-scenario", "memory", "-counts", "x"},
		{"load", "-generator", "nope"},
	} {
		if code, _, errs := run(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
}
