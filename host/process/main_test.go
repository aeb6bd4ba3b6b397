package process_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/host/process"
)

// testPlugin is the path of internal/testplugin, built by TestMain.
var testPlugin string

func TestMain(m *testing.M) {
	if path := os.Getenv("WASM2M_PROCESS_TEST_HOST"); path != "" {
		runHost(path) // never returns
	}
	if args := os.Getenv("WASM2M_PROCESS_TEST_SERVER"); args != "" {
		runServer(args) // never returns
	}
	dir, err := os.MkdirTemp("", "wasm2m-process-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "testplugin")
	out, err := exec.Command("go", "build", "-o", testPlugin, "./internal/testplugin").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build the test plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runHost is the host process of TestOrphanExits: it starts the plugin at
// path, prints its pid and waits to be killed.
func runHost(path string) {
	p, err := process.Start(context.Background(), process.Config{Path: path})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("pid %d\n", p.PID())
	select {}
}

// logBuffer is a slog handler's output that tests can read while the
// plugin writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t testing.TB, cfg process.Config) (*process.Plugin, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if cfg.Path == "" {
		cfg.Path = testPlugin
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 100 * time.Millisecond
	}
	if cfg.HealthTimeout == 0 {
		cfg.HealthTimeout = 500 * time.Millisecond
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 20 * time.Millisecond
	}
	p, err := process.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, logs
}

var slogDiscard = slog.New(slog.DiscardHandler)
