package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/transport"
)

// TestClientCommand runs `wasm2m client -devices 3` against an in-process
// server: the devices register, answer reads, notify their temperature,
// and de-register when the command stops.
func TestClientCommand(t *testing.T) {
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sub := srv.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered, server.EventDeregistered}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"client", "-server", "coap://" + srv.Addr().String(), "-endpoint", "sim", "-devices", "3",
			"-lifetime", "60s", "-temperature-interval", "100ms"}, out, logs)
	}()
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(seen) < 3 {
		select {
		case e := <-sub.C:
			seen[e.Registration.Endpoint] = true
		case <-timeout:
			t.Fatalf("registered: %v; logs:\n%s", seen, logs.String())
		}
	}
	for _, ep := range []string{"sim-1", "sim-2", "sim-3"} {
		if !seen[ep] {
			t.Errorf("%s did not register (saw %v)", ep, seen)
		}
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	n, err := srv.Read(rctx, "sim-2", model.MustPath("/3/0/0"))
	if err != nil || n.Value.Str() != "wasm2m" {
		t.Fatalf("read manufacturer: %v %v", n, err)
	}
	o, err := srv.Observe(rctx, "sim-1", model.MustPath("/3303/0/5700"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case nt := <-o.C:
		if nt.Err != nil || len(nt.Entries) != 1 || nt.Entries[0].Node.Value.Type() != model.TypeFloat {
			t.Errorf("temperature notification: %+v", nt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no temperature notification")
	}
	if !strings.Contains(logs.String(), "served") || !strings.Contains(logs.String(), "path=/3/0/0") {
		t.Errorf("the read is not logged:\n%s", logs.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; logs:\n%s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("client command did not stop")
	}
	// It de-registered every device on the way out.
	gone := 0
	for gone < 3 {
		select {
		case e := <-sub.C:
			if e.Type == server.EventDeregistered {
				gone++
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 3 de-registered", gone)
		}
	}
}

func TestClientCommandFlags(t *testing.T) {
	for _, args := range [][]string{
		{"client", "-server", "coaps://127.0.0.1:5684"},
		{"client", "-server", "http://x"},
		{"client", "-lwm2m", "one"},
		{"client", "-devices", "0"},
		{"client", "-server", ""},
	} {
		if code, _, errs := run(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
}

// TestCoAPDownload fetches a firmware package larger than one block from a
// CoAP server, as the Firmware Update object's pull does.
func TestCoAPDownload(t *testing.T) {
	pkg := make([]byte, 50000)
	for i := range pkg {
		pkg[i] = byte(i * 31)
	}
	ep, err := transport.Listen("127.0.0.1:0", transport.Config{Handler: transport.HandlerFunc(func(ctx context.Context, req *transport.Request) *transport.Message {
		if req.Msg.Path() != "/fw/v2.bin" {
			return &transport.Message{Code: model.NotFound}
		}
		return &transport.Message{Code: model.Content, Payload: pkg}
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := coapDownload(ctx, "coap://"+ep.LocalAddr().String()+"/fw/v2.bin")
	if err != nil || string(got) != string(pkg) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	if _, err := coapDownload(ctx, "coap://"+ep.LocalAddr().String()+"/nothing"); err == nil || !strings.Contains(err.Error(), "4.04") {
		t.Errorf("missing package: %v", err)
	}
	if _, err := coapDownload(ctx, "http://example.com/fw"); err == nil {
		t.Error("http URI accepted")
	}
}

// TestClientFirmwarePull: a server writes a Package URI to a device run by
// `wasm2m client`; the device downloads the package over CoAP, reaches
// Downloaded, and installs it on Update (Core 1.1 Appendix E.6).
func TestClientFirmwarePull(t *testing.T) {
	pkg := make([]byte, 8000)
	files, err := transport.Listen("127.0.0.1:0", transport.Config{Handler: transport.HandlerFunc(func(ctx context.Context, req *transport.Request) *transport.Message {
		return &transport.Message{Code: model.Content, Payload: pkg}
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sub := srv.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"client", "-server", "coap://" + srv.Addr().String(), "-endpoint", "fw-dev"}, io.Discard, logs)
	}()
	select {
	case <-sub.C:
	case <-time.After(10 * time.Second):
		t.Fatalf("no registration; logs:\n%s", logs.String())
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	uri := "coap://" + files.LocalAddr().String() + "/fw.bin"
	if err := srv.Write(rctx, "fw-dev", model.MustPath("/5/0/1"), model.NewResource(1, model.String(uri)), true); err != nil {
		t.Fatal(err)
	}
	waitValue := func(p string, want model.Value) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			n, err := srv.Read(rctx, "fw-dev", model.MustPath(p))
			if err == nil && n.Value == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %v (%v), want %v; logs:\n%s", p, n.Value, err, want, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitValue("/5/0/3", model.Int(2)) // Downloaded
	if err := srv.Execute(rctx, "fw-dev", model.MustPath("/5/0/2"), ""); err != nil {
		t.Fatal(err)
	}
	waitValue("/5/0/5", model.Int(1)) // Update Result: success
	if !strings.Contains(logs.String(), "firmware update applied") || !strings.Contains(logs.String(), "bytes=8000") {
		t.Errorf("the update is not logged:\n%s", logs.String())
	}
	cancel()
	<-done
}

// TestClientFactoryConfig starts `wasm2m client` from a config file whose
// client section pre-provisions the device's accounts (factory bootstrap):
// it registers with the server of that section, with its lifetime and
// endpoint name, and -server is not used.
func TestClientFactoryConfig(t *testing.T) {
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sub := srv.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
	path := filepath.Join(t.TempDir(), "device.json")
	doc := `{"client": {"endpoint": "factory-dev", "accounts": [{"uri": "coap://` + srv.Addr().String() + `", "short_server_id": 7, "lifetime": "120s"}]}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"client", "-config", path, "-server", "coap://127.0.0.1:9"}, io.Discard, logs)
	}()
	select {
	case e := <-sub.C:
		if e.Registration.Endpoint != "factory-dev" || e.Registration.Lifetime != 120 {
			t.Errorf("registration %+v", e.Registration)
		}
	case code := <-done:
		t.Fatalf("client exited %d:\n%s", code, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("no registration:\n%s", logs.String())
	}
	cancel()
	<-done
}
