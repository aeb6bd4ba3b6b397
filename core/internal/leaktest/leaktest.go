// Package leaktest checks, for core's tests, that a test leaves no
// goroutine behind.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// Check fails t if goroutines started during it are still running 5 s
// after it ended, and prints every goroutine's stack. Call it first in a
// test, so that its cleanup runs after every Close the test registered.
func Check(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
