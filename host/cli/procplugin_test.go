package cli

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// TestClientCommandProcessPlugin runs `wasm2m client -plugin testhost`
// with host/process/internal/testhost, an object plugin run as a process:
// its 3303 registers, a Write and a Read answer through the process and
// its kv host call, and the process stops with the command.
func TestClientCommandProcessPlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "testhost")
	if out, err := exec.Command("go", "build", "-o", bin, "../process/internal/testhost").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv, logs, stop := startClientCommand(t, "-endpoint", "proc",
		"-plugin", bin, "-grant", "objects.testhost=kv,changed")
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	reg, err := srv.Registration(rctx, "proc")
	if err != nil {
		t.Fatal(err)
	}
	if !hasObject(reg, 3303) {
		t.Fatalf("the plugin's object is not registered: %+v", reg.Objects)
	}
	path := model.MustPath("/3303/0/5700")
	if n, err := srv.Read(rctx, "proc", path); err != nil || n.Value != model.Float(0) {
		t.Fatalf("first read: %v %v; want 0 (nothing in kv)", n, err)
	}
	if err := srv.Write(rctx, "proc", path, model.Node{Kind: model.KindResource, ID: 5700, Value: model.Float(22.5)}, true); err != nil {
		t.Fatalf("write: %v\n%s", err, logs.String())
	}
	if n, err := srv.Read(rctx, "proc", path); err != nil || n.Value != model.Float(22.5) {
		t.Fatalf("read after write: %v %v; want 22.5 (from kv)", n, err)
	}
	m := regexp.MustCompile(`process plugin started.*pid=(\d+)`).FindAllStringSubmatch(logs.String(), -1)
	if len(m) == 0 {
		t.Fatalf("no process start in the log:\n%s", logs.String())
	}
	pid, _ := strconv.Atoi(m[len(m)-1][1])
	if code := stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin process %d outlived the command", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
