package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
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

// TestEmbedDevice runs the example against a server: it registers, and
// the server reads, writes, executes and observes the valve.
func TestEmbedDevice(t *testing.T) {
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, "coap://"+srv.Addr().String(), "valve-7", out) }()
	waitFor(t, out, "valve-7 registered")

	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	r, err := srv.Registration(rctx, "valve-7")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range r.Objects {
		found = found || o.ID == ValveID
	}
	if !found {
		t.Fatalf("the valve is not in the registration: %+v", r.Objects)
	}
	srv.Definitions().Add(valveDef) // the server learns the private object
	n, err := srv.Read(rctx, "valve-7", model.MustPath("/42769/0"))
	if err != nil || n.Child(0).Value != model.Bool(false) || n.Child(1).Value != model.Float(0) {
		t.Fatalf("read the valve: %v %v", n, err)
	}
	o, err := srv.Observe(rctx, "valve-7", model.MustPath("/42769/0/0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Write(rctx, "valve-7", model.MustPath("/42769/0/0"), model.NewResource(0, model.Bool(true)), true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "valve 0: open=true")
	select {
	case nt := <-o.C:
		if nt.Err != nil || nt.Entries[0].Node.Value != model.Bool(true) {
			t.Errorf("notification after the write: %+v", nt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after the write")
	}
	if n, err := srv.Read(rctx, "valve-7", model.MustPath("/42769/0/1")); err != nil || n.Value != model.Float(12.5) {
		t.Errorf("flow after opening: %v %v", n, err)
	}
	if err := srv.Execute(rctx, "valve-7", model.MustPath("/42769/0/2"), "0='fast'"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "valve 0: flush 0='fast'")
	if err := srv.Write(rctx, "valve-7", model.MustPath("/42769/0/1"), model.NewResource(1, model.Float(3)), true); model.CodeOf(err) != model.MethodNotAllowed {
		t.Errorf("write of the read-only flow: %v, want 4.05", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Registration(context.Background(), "valve-7"); err == nil {
		t.Error("the device did not de-register")
	}
}
