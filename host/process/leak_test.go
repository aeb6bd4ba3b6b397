package process_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/host/process"
)

// TestNoGoroutineLeft starts and closes plugins, one crashing on the way:
// once closed, every goroutine the host started for them has ended.
func TestNoGoroutineLeft(t *testing.T) {
	// A first start warms up what stays for the life of the program (gRPC's
	// and go-plugin's package-level goroutines).
	warm, _ := start(t, process.Config{Logger: slogDiscard})
	warm.Close()
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for i := range 3 {
		p, err := process.Start(bg, process.Config{Path: testPlugin, Logger: slogDiscard, HealthInterval: 50 * time.Millisecond, MinBackoff: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			p.Call(bg, methodExit, nil)
			pidOf(t, p) // restarted
		}
		p.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after closing, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
