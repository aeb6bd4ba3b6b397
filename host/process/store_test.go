package process_test

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

var testManifest = &abi.Manifest{ID: "storage.memory"}

// inProcess returns the memory store behind the whole storage contract of
// the ABI, without a process: StorageOf, StorageHandler and Store.
func inProcess() *process.Store {
	return process.NewStore(procplugin.StorageHandler(testManifest, process.StorageOf(store.NewMemory())))
}

func TestStoreConformanceInProcess(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return inProcess() })
	storetest.RunKV(t, func(t *testing.T) storetest.KVStore { return inProcess() })
}

// TestStoreConformanceProcess runs core/store's conformance suite against
// the memory store served by a plugin process, one process per subtest.
func TestStoreConformanceProcess(t *testing.T) {
	open := func(t *testing.T) *process.Store {
		p, _ := start(t, process.Config{})
		s := process.NewStore(p)
		s.Page = 7 // several pages in RegistrationsVisitsEvery
		return s
	}
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
	storetest.RunKV(t, func(t *testing.T) storetest.KVStore { return open(t) })
}
