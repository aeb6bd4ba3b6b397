package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
)

func TestRegisterAndDeregister(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	sub := s.Subscribe(server.SubscribeOptions{})
	defer sub.Close()
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
	e := registered(t, s, "dev-reg", d, nil)
	ev := next(t, sub, server.EventRegistered, 5*time.Second)
	r := ev.Registration
	if r.Endpoint != "dev-reg" || r.Lifetime != 300 || r.Version != model.V1_1 || r.Binding != "U" || r.Queue {
		t.Errorf("registration %+v", r)
	}
	if _, ok := r.Objects[0], true; !ok {
		t.Fatal("no objects")
	}
	for _, o := range r.Objects {
		if o.ID == 0 {
			t.Errorf("the Security object was registered: %+v", r.Objects)
		}
	}
	if len(r.ContentFormats) == 0 {
		t.Errorf("no ct: %+v", r)
	}
	st := e.Status()
	if len(st) != 1 || st[0].State != client.StateRegistered || st[0].Location == "" {
		t.Errorf("status %s", statusString(st))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	next(t, sub, server.EventDeregistered, 5*time.Second)
	if _, err := s.Registration(context.Background(), "dev-reg"); err == nil {
		t.Error("still registered after Close")
	}
}
