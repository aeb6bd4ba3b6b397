package client_test

import (
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
)

// TestTwoServers registers one client with two servers at once, each
// with its own registration, and checks the access control of Core 1.1
// section 7.3 between them: server A (ssid 1) may read the Device object
// but not write it, server B (ssid 2) may write it; 4.01 for what is
// denied.
func TestTwoServers(t *testing.T) {
	checkLeaks(t)
	a := startServer(t, nil)
	b := startServer(t, nil)
	d := newDevice(account{ssid: 1, uri: uriOf(a.Addr())}, account{ssid: 2, uri: uriOf(b.Addr())})
	d.acl = stdobj.NewAccessControl(
		client.ACL{ObjectID: 3, ObjectInstanceID: 0, Rights: map[uint16]client.Right{1: client.RightRead, 2: client.RightRead | client.RightWrite}, Owner: model.NoID},
		client.ACL{ObjectID: testObjectID, ObjectInstanceID: 0, Rights: map[uint16]client.Right{1: client.RightRead, 2: client.RightAll}, Owner: model.NoID},
		client.ACL{ObjectID: testObjectID, ObjectInstanceID: model.NoID, Rights: map[uint16]client.Right{2: client.RightCreate}, Owner: model.NoID},
		client.ACL{ObjectID: 3303, ObjectInstanceID: 0, Rights: map[uint16]client.Right{0: client.RightRead}, Owner: 2},
	)
	subA := a.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered, server.EventUpdated}})
	defer subA.Close()
	subB := b.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered, server.EventUpdated}})
	defer subB.Close()
	e := startClient(t, clientConfig("dev-two", d, nil))
	if err := e.WaitRegistered(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("%v: %s", err, statusString(e.Status()))
	}
	ra := next(t, subA, server.EventRegistered, 5*time.Second).Registration
	rb := next(t, subB, server.EventRegistered, 5*time.Second).Registration
	if ra.ID == rb.ID && ra.Address != rb.Address {
		t.Errorf("registrations %+v and %+v", ra, rb)
	}
	if st := e.Status(); len(st) != 2 || st[0].Location == "" || st[1].Location == "" {
		t.Fatalf("status %s", statusString(st))
	}
	ctx := ctxT(t, 30*time.Second)
	ep := "dev-two"
	code := func(err error) model.Code { return model.CodeOf(err) }
	write := func(s *server.Server, p string, n model.Node) error {
		return s.Write(ctx, ep, mustPath(p), n, true)
	}
	cases := []struct {
		name string
		do   func() error
		want model.Code
	}{
		{"A reads /3/0", func() error { _, err := a.Read(ctx, ep, mustPath("/3/0")); return err }, 0},
		{"B reads /3/0/0", func() error { _, err := b.Read(ctx, ep, mustPath("/3/0/0")); return err }, 0},
		{"A writes /3/0/14", func() error { return write(a, "/3/0/14", model.NewResource(14, model.String("+01:00"))) }, model.Unauthorized},
		{"B writes /3/0/14", func() error { return write(b, "/3/0/14", model.NewResource(14, model.String("+01:00"))) }, 0},
		{"A writes /33001/0/1", func() error { return write(a, "/33001/0/1", model.NewResource(1, model.Int(1))) }, model.Unauthorized},
		{"B writes /33001/0/1", func() error { return write(b, "/33001/0/1", model.NewResource(1, model.Int(1))) }, 0},
		{"A executes /3/0/4", func() error { return a.Execute(ctx, ep, mustPath("/3/0/4"), "") }, model.Unauthorized},
		{"A creates /33001/5", func() error {
			_, err := a.Create(ctx, ep, testObjectID, testInstance(5))
			return err
		}, model.Unauthorized},
		{"B creates /33001/5", func() error {
			_, err := b.Create(ctx, ep, testObjectID, testInstance(5))
			return err
		}, 0},
		{"B, the creator and owner, reads /33001/5", func() error {
			if en, ok := d.acl.Entry(testObjectID, 5); !ok || en.Owner != 2 {
				t.Errorf("access control entry of the new instance: %+v %v", en, ok)
			}
			_, err := b.Read(ctx, ep, mustPath("/33001/5"))
			return err
		}, 0},
		{"A reads /33001/5", func() error { _, err := a.Read(ctx, ep, mustPath("/33001/5")); return err }, model.Unauthorized},
		{"A reads /33001 and sees instance 0 only", func() error {
			n, err := a.Read(ctx, ep, mustPath("/33001"))
			if err == nil && (len(n.Children) != 1 || n.Children[0].ID != 0) {
				t.Errorf("A read %v", n)
			}
			return err
		}, 0},
		{"A deletes /33001/5", func() error { return a.Delete(ctx, ep, mustPath("/33001/5")) }, model.Unauthorized},
		{"B deletes /33001/5", func() error { return b.Delete(ctx, ep, mustPath("/33001/5")) }, 0},
		{"A reads /3303/0 by the default ACL", func() error { _, err := a.Read(ctx, ep, mustPath("/3303/0")); return err }, 0},
		{"A reads /3303/1 without an ACL", func() error { _, err := a.Read(ctx, ep, mustPath("/3303/1")); return err }, model.Unauthorized},
		{"A observes /3/0/0", func() error {
			o, err := a.Observe(ctx, ep, mustPath("/3/0/0"))
			if err == nil {
				o.Cancel(ctx, true)
			}
			return err
		}, 0},
		{"A observes /33001/5", func() error { _, err := a.Observe(ctx, ep, mustPath("/33001/5")); return err }, model.NotFound},
		{"A reads its own server instance", func() error { _, err := a.Read(ctx, ep, mustPath("/1/0")); return err }, 0},
		{"A reads B's server instance", func() error { _, err := a.Read(ctx, ep, mustPath("/1/1")); return err }, model.Unauthorized},
		{"A triggers its own update", func() error { return a.Execute(ctx, ep, mustPath("/1/0/8"), "") }, 0},
		{"A triggers B's update", func() error { return a.Execute(ctx, ep, mustPath("/1/1/8"), "") }, model.Unauthorized},
		{"A reads the access control object", func() error { _, err := a.Read(ctx, ep, mustPath("/2")); return err }, 0},
		{"A writes the ACL of /3303/0, owned by B", func() error {
			return write(a, "/2/3/2", model.NewMultipleResource(2, model.NewResourceInstance(1, model.Int(31))))
		}, model.Unauthorized},
		{"B writes the ACL of /3303/0, its own", func() error {
			return write(b, "/2/3/2", model.NewMultipleResource(2, model.NewResourceInstance(1, model.Int(1))))
		}, 0},
		{"B deletes the ACL of /3303/0, its own", func() error { return b.Delete(ctx, ep, mustPath("/2/3")) }, model.Unauthorized},
		{"A creates an ACL", func() error {
			_, err := a.Create(ctx, ep, 2, model.NewInstance(9, model.NewResource(0, model.Int(3)), model.NewResource(1, model.Int(0)), model.NewResource(3, model.Int(1))))
			return err
		}, model.Unauthorized},
		{"A reads the security object", func() error { _, err := a.Read(ctx, ep, mustPath("/0/0")); return err }, model.NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := code(tc.do()); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if v, _ := d.device.Get(mustPath("/3/0/14")); v != model.String("+01:00") {
		t.Errorf("/3/0/14 = %v", v)
	}
	// B's create left an access control entry owned by B, and B's
	// delete removed it.
	for _, en := range d.acl.Entries() {
		if en.ObjectID == testObjectID && en.ObjectInstanceID == 5 {
			t.Errorf("access control entry of a deleted instance: %+v", en)
		}
	}
	// A got the Update its trigger asked for (and those of the create
	// and the delete).
	next(t, subA, server.EventUpdated, 5*time.Second)
	if e.Status()[1].State != client.StateRegistered {
		t.Errorf("status %s", statusString(e.Status()))
	}
}
