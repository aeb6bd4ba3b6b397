package main

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEmbedServer runs the example against a device: it must read the
// manufacturer, observe the temperature and print each new value.
func TestEmbedServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", out, ready) }()
	addr := netip.MustParseAddrPort(<-ready)

	d, err := servertest.New(servertest.Config{Endpoint: "thermo-1", Server: addr, Lifetime: 60, Objects: []model.Node{
		model.NewObject(3, model.NewInstance(0, model.NewResource(0, model.String("Acme Sensors")))),
		model.NewObject(3303, model.NewInstance(0, model.NewResource(5700, model.Float(19.5)))),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	if err := d.Register(rctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "thermo-1 manufacturer: Acme Sensors")
	deadline := time.Now().Add(10 * time.Second)
	for d.Observations() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the example did not observe the temperature")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := d.Set(rctx, model.MustPath("/3303/0/5700"), model.Float(23.25)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "thermo-1 /3303/0/5700 = 23.25")
	if err := d.Deregister(rctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "thermo-1 deregistered")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
