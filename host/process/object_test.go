package process_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// TestObjectPluginProcess runs an object plugin written with sdk/guest
// (internal/testobject) as a process: the host's adapters read its
// manifest and definitions through the process as through Wasm, and
// concurrent reads each get their own answer (sdk/guest's Dispatcher
// reuses its response buffer).
func TestObjectPluginProcess(t *testing.T) {
	path := filepath.Join(filepath.Dir(testPlugin), "testobject")
	if out, err := exec.Command("go", "build", "-o", path, "./internal/testobject").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	p, _ := start(t, process.Config{Path: path})
	ctx := context.Background()
	m, err := adapter.ReadManifest(ctx, p)
	if err != nil || m.ID != "objects.testprocess" || abi.Kind(m.Kind) != abi.KindObject {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	defs, err := adapter.Definitions(ctx, p)
	if err != nil || len(defs) != 1 || defs[0].ID != 3303 {
		t.Fatalf("definitions %v, %v", defs, err)
	}
	read := func(path string) (*abi.ObjectReadResponse, error) {
		req := abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath(path))}
		out, err := p.Call(ctx, abi.MethodObjectRead, req.MarshalAppend(nil))
		if err != nil {
			return nil, err
		}
		var resp abi.ObjectReadResponse
		return &resp, resp.Unmarshal(out)
	}
	if _, err := read("/3303/7"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("read of a missing instance: %v, want 4.04", err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				path, kind := "/3303/0/5700", abi.NodeKindResource
				if (g+i)%2 == 0 {
					path, kind = "/3303/0", abi.NodeKindInstance
				}
				resp, err := read(path)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.Node == nil || resp.Node.Kind != kind {
					t.Errorf("read %s: node %+v", path, resp.Node)
					return
				}
			}
		}()
	}
	wg.Wait()
}
