package bootstrap_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// TestBootstrapProvisionsDevice bootstraps a real device engine that has
// only a bootstrap account (Core 1.1 section 6.1.4), in each content
// format it may ask for with pct=, and checks that it then registers with
// the LwM2M server the configuration names; that Bootstrap-Delete of /
// left only the bootstrap account and the Device instance of what the
// device had; and that the outcome is Succeeded.
func TestBootstrapProvisionsDevice(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		name    string
		version model.Version
		format  codec.Format
	}{
		{"1.1 SenML CBOR", model.V1_1, codec.SenMLCBOR},
		{"1.1 SenML JSON", model.V1_1, codec.SenMLJSON},
		{"1.1 TLV", model.V1_1, codec.TLV},
		{"1.1 OMA JSON", model.V1_1, codec.JSON},
		{"1.2 LwM2M CBOR", model.V1_2, codec.LwM2MCBOR},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			cfg := dmConfig("dev-1", s.Addr(), 7)
			cfg.ACLs = []store.ACL{{ObjectID: 3, ObjectInstance: 0, Rights: map[uint16]uint16{7: 1 | 2 | 4}, Owner: 7}}
			bs := startBootstrap(t, newConfigs(cfg), nil)
			sub := bs.Subscribe(16)
			defer sub.Close()
			ssub := s.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
			defer ssub.Close()

			d := newDevice(bs.Addr())
			e, ev := startClient(t, "dev-1", d, func(c *client.Config) {
				c.Version = tc.version
				c.Formats = []codec.Format{tc.format}
			})

			started := nextEvent(t, sub, 10*time.Second, bootstrap.EventStarted)
			if started.Result.Format != tc.format || started.Result.State != bootstrap.StateRunning {
				t.Errorf("started %+v", started.Result)
			}
			done := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
			if done.Type != bootstrap.EventSucceeded || done.Result.Err != nil || !done.Result.Discovered {
				t.Fatalf("bootstrap ended %v: %+v", done.Type, done.Result)
			}
			r := nextServerEvent(t, ssub, server.EventRegistered, 10*time.Second).Registration
			if r.Endpoint != "dev-1" || r.Lifetime != 300 {
				t.Errorf("registered %+v", r)
			}
			if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got, ok := bs.Result("dev-1"); !ok || got.State != bootstrap.StateSucceeded || got.Step != "bootstrap-finish" {
				t.Errorf("Result = %+v %v", got, ok)
			}

			// Bootstrap-Delete of /: the test object's instances are gone,
			// the bootstrap account and the Device instance stayed (and the
			// temperature sensors, which the device does not let anyone
			// delete).
			ctx := ctxT(t, 5*time.Second)
			if ids, _ := d.test.Instances(ctx); len(ids) != 0 {
				t.Errorf("test object instances left: %v", ids)
			}
			if ids, _ := d.device.Instances(ctx); !slices.Equal(ids, []uint16{0}) {
				t.Errorf("device instances %v", ids)
			}
			acc := d.security.Accounts()
			if len(acc) != 2 || !acc[0].Bootstrap || acc[0].InstanceID != 0 || acc[1].SSID != 7 || acc[1].InstanceID != 1 || acc[1].ServerURI != uriOf(s.Addr()) {
				t.Errorf("security accounts %+v", acc)
			}
			if ids, _ := d.acl.Instances(ctx); len(ids) != 1 {
				t.Errorf("access control instances %v", ids)
			}
			ops := ev.ops()
			want := []client.Op{client.OpBootstrapDiscover, client.OpBootstrapDelete, client.OpBootstrapWrite, client.OpBootstrapWrite, client.OpBootstrapWrite, client.OpBootstrapFinish}
			if i := slices.Index(ops, client.OpBootstrapDiscover); i < 0 || !slices.Equal(ops[i:i+len(want)], want) {
				t.Errorf("operations served %v, want %v", ops, want)
			}
		})
	}
}

// TestBootstrap10Device bootstraps a 1.0 device: its Bootstrap-Request
// has no pct=, so the server sends no Bootstrap-Discover or -Read (which
// 1.0 lacks) and writes in TLV.
func TestBootstrap10Device(t *testing.T) {
	checkLeaks(t)
	s := startServer(t)
	bs := startBootstrap(t, newConfigs(dmConfig("dev-10", s.Addr(), 3)), nil)
	sub := bs.Subscribe(16)
	defer sub.Close()
	d := newDevice(bs.Addr())
	e, ev := startClient(t, "dev-10", d, func(c *client.Config) { c.Version = model.V1_0 })
	done := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	if done.Type != bootstrap.EventSucceeded || done.Result.Format != codec.TLV || done.Result.Discovered {
		t.Fatalf("bootstrap ended %v: %+v", done.Type, done.Result)
	}
	if err := e.WaitRegistered(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, op := range ev.ops() {
		if op == client.OpBootstrapDiscover || op == client.OpBootstrapRead {
			t.Errorf("a 1.0 device was sent %s", op)
		}
	}
	if acc := d.security.Accounts(); len(acc) != 2 || acc[1].InstanceID != 1 || acc[1].SSID != 3 {
		t.Errorf("security accounts %+v", acc)
	}
}

// TestBootstrapRefusedWrite: a configuration the device refuses (a
// binding it does not know) fails the sequence at that write, with the
// device's code, and is never reported as a success; the device asks
// again, and once the configuration is fixed the retry succeeds.
func TestBootstrapRefusedWrite(t *testing.T) {
	checkLeaks(t)
	s := startServer(t)
	bad := dmConfig("dev-bad", s.Addr(), 5)
	bad.Servers[0].Binding = "X"
	cs := newConfigs(bad)
	bs := startBootstrap(t, cs, nil)
	sub := bs.Subscribe(64)
	defer sub.Close()
	d := newDevice(bs.Addr())
	e, _ := startClient(t, "dev-bad", d, nil)

	failed := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	if failed.Type != bootstrap.EventFailed {
		t.Fatalf("a refused write ended %v: %+v", failed.Type, failed.Result)
	}
	r := failed.Result
	if r.State != bootstrap.StateFailed || r.Step != "bootstrap-write /1/0" || r.Code != model.BadRequest || !errors.Is(r.Err, bootstrap.ErrRefused) {
		t.Errorf("failed result %+v", r)
	}
	if got, _ := bs.Result("dev-bad"); got.State != bootstrap.StateFailed {
		t.Errorf("Result state %v", got.State)
	}
	// The device retries while the configuration is still bad: failed
	// again, never succeeded.
	again := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	if again.Type != bootstrap.EventFailed {
		t.Fatalf("retry of a bad configuration ended %v", again.Type)
	}

	good := dmConfig("dev-bad", s.Addr(), 5)
	if err := cs.PutBootstrapConfig(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	for {
		ev := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
		if ev.Type == bootstrap.EventSucceeded {
			break
		}
	}
	if err := e.WaitRegistered(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// TestBootstrapDeviceUnreachable: a device that asks and then goes away
// fails the sequence with a clear error at its first step.
func TestBootstrapDeviceUnreachable(t *testing.T) {
	checkLeaks(t)
	bs := startBootstrap(t, newConfigs(dmConfig("dev-gone", netipLoopback(9), 1)), nil)
	sub := bs.Subscribe(16)
	defer sub.Close()
	// The device is a bare socket: it sends Bootstrap-Request, reads the
	// answer and closes, so nothing answers the sequence's requests.
	dev, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	m := &transport.Message{Type: transport.Confirmable, Code: transport.POST, MID: 7, Token: []byte{1, 2}}
	m.SetPath("/bs")
	m.SetQueries([]string{"ep=dev-gone", "pct=" + itoa(int(codec.SenMLCBOR))})
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.WriteToUDPAddrPort(b, bs.Addr()); err != nil {
		t.Fatal(err)
	}
	dev.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := dev.ReadFromUDPAddrPort(buf)
	dev.Close()
	var resp transport.Message
	if err != nil || resp.UnmarshalBinary(buf[:n]) != nil || resp.Code != model.Changed {
		t.Fatalf("bootstrap-request: %v %v", resp.Code, err)
	}
	done := nextEvent(t, sub, 15*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	r := done.Result
	if done.Type != bootstrap.EventFailed || r.Step != "bootstrap-discover /" || r.Code != 0 || !errors.Is(r.Err, transport.ErrTimeout) || !strings.Contains(r.Err.Error(), "unreachable") {
		t.Fatalf("ended %v: %+v", done.Type, r)
	}
}

// TestServerInitiatedBootstrap: a DM server executes the Bootstrap-Request
// Trigger (/1/x/9) of a registered device (Core 1.1 section 6.1.3 and
// E.2); the device bootstraps with the bootstrap server again and
// registers with the server of its new configuration.
func TestServerInitiatedBootstrap(t *testing.T) {
	checkLeaks(t)
	old := startServer(t)
	next := startServer(t)
	bs := startBootstrap(t, newConfigs(dmConfig("dev-si", next.Addr(), 9)), nil)
	sub := bs.Subscribe(16)
	defer sub.Close()
	oldSub := old.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered, server.EventDeregistered}})
	defer oldSub.Close()
	nextSub := next.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
	defer nextSub.Close()

	d := newDevice(bs.Addr(), dmAccount{ssid: 4, uri: uriOf(old.Addr())})
	e, _ := startClient(t, "dev-si", d, nil)
	nextServerEvent(t, oldSub, server.EventRegistered, 10*time.Second)
	// The device must know it is registered before the trigger: an
	// Execute that overtakes the answer to its Register leaves it
	// without a registration to end (no De-register).
	if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := old.Execute(ctxT(t, 5*time.Second), "dev-si", model.MustPath("/1/0/9"), ""); err != nil {
		t.Fatal(err)
	}
	nextServerEvent(t, oldSub, server.EventDeregistered, 10*time.Second)
	done := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	if done.Type != bootstrap.EventSucceeded {
		t.Fatalf("bootstrap ended %v: %+v", done.Type, done.Result)
	}
	r := nextServerEvent(t, nextSub, server.EventRegistered, 10*time.Second).Registration
	if r.Endpoint != "dev-si" {
		t.Errorf("registered %+v", r)
	}
	acc := d.security.Accounts()
	if len(acc) != 2 || !acc[0].Bootstrap || acc[1].SSID != 9 || acc[1].ServerURI != uriOf(next.Addr()) {
		t.Errorf("security accounts %+v", acc)
	}
}

// TestBootstrapFinishRefused: a configuration that leaves the device no
// usable server account is refused at Bootstrap-Finish (4.06 Not
// Acceptable, Core 1.1 section 6.1.7.6), and the sequence fails there
// with the device's code.
func TestBootstrapFinishRefused(t *testing.T) {
	checkLeaks(t)
	bs := startBootstrap(t, newConfigs(&store.BootstrapConfig{Endpoint: "dev-empty"}), nil)
	sub := bs.Subscribe(16)
	defer sub.Close()
	startClient(t, "dev-empty", newDevice(bs.Addr()), nil)
	done := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	r := done.Result
	if done.Type != bootstrap.EventFailed || r.Step != "bootstrap-finish" || r.Code != model.NotAcceptable || !errors.Is(r.Err, bootstrap.ErrRefused) {
		t.Fatalf("ended %v: %+v", done.Type, r)
	}
}

// TestBootstrapReplacesAccount: a configuration that deletes nothing
// (Delete: []) and gives a short server id the device already has
// rewrites that account's instances in place, found by
// Bootstrap-Discover and Bootstrap-Read, rather than adding a second
// account with the same id; the device then registers with the new URI.
func TestBootstrapReplacesAccount(t *testing.T) {
	checkLeaks(t)
	old := startServer(t)
	next := startServer(t)
	cfg := dmConfig("dev-move", next.Addr(), 4)
	cfg.Delete = []string{}
	bs := startBootstrap(t, newConfigs(cfg), nil)
	sub := bs.Subscribe(16)
	defer sub.Close()
	oldSub := old.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
	defer oldSub.Close()
	nextSub := next.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
	defer nextSub.Close()

	d := newDevice(bs.Addr(), dmAccount{ssid: 4, uri: uriOf(old.Addr())})
	e, ev := startClient(t, "dev-move", d, nil)
	nextServerEvent(t, oldSub, server.EventRegistered, 10*time.Second)
	if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := old.Execute(ctxT(t, 5*time.Second), "dev-move", model.MustPath("/1/0/9"), ""); err != nil {
		t.Fatal(err)
	}
	done := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	if done.Type != bootstrap.EventSucceeded {
		t.Fatalf("bootstrap ended %v: %+v", done.Type, done.Result)
	}
	nextServerEvent(t, nextSub, server.EventRegistered, 10*time.Second)
	acc := d.security.Accounts()
	if len(acc) != 2 || acc[1].InstanceID != 1 || acc[1].SSID != 4 || acc[1].ServerURI != uriOf(next.Addr()) {
		t.Errorf("security accounts %+v", acc)
	}
	if ids, _ := d.server.Instances(ctxT(t, time.Second)); len(ids) != 1 || ids[0] != 0 {
		t.Errorf("server instances %v", ids)
	}
	ops := ev.ops()
	if !slices.Contains(ops, client.OpBootstrapRead) || slices.Contains(ops, client.OpBootstrapDelete) {
		t.Errorf("operations served %v: want a bootstrap-read and no bootstrap-delete", ops)
	}
}
