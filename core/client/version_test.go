package client_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/transport"
)

// TestVersions checks what the enabler version decides: what the client
// registers with, which formats it speaks and which operations it serves.
func TestVersions(t *testing.T) {
	checkLeaks(t)
	N := codec.None
	cases := []struct {
		version model.Version
		formats []uint16
		refused []struct {
			msg  *transport.Message
			want model.Code
		}
	}{
		{model.V1_0, []uint16{11542, 11543, 0, 42}, []struct {
			msg  *transport.Message
			want model.Code
		}{
			{req(transport.FETCH, "/", nil, codec.SenMLJSON, N, []byte(`[{"n":"/3/0/0"}]`)), model.MethodNotAllowed},
			{req(transport.IPATCH, "/", nil, codec.SenMLJSON, N, []byte(`[{"n":"/33001/0/1","v":1}]`)), model.MethodNotAllowed},
			{req(transport.GET, "/3/0", nil, N, codec.SenMLCBOR, nil), model.NotAcceptable},
			{req(transport.PUT, "/33001/0/1", nil, codec.CBOR, N, []byte{1}), model.UnsupportedContentFormat},
			{req(transport.PUT, "/33001/0/1", []string{"epmin=1"}, N, N, nil), model.BadRequest},
		}},
		{model.V1_1, []uint16{112, 110, 11542, 11543, 60, 0, 42}, []struct {
			msg  *transport.Message
			want model.Code
		}{
			{req(transport.GET, "/3/0", nil, N, codec.LwM2MCBOR, nil), model.NotAcceptable},
			{req(transport.FETCH, "/", nil, codec.SenMLJSON, codec.LwM2MCBOR, []byte(`[{"n":"/3/0/0"}]`)), model.NotAcceptable},
			{req(transport.PUT, "/33001/0/1", []string{"con=1"}, N, N, nil), model.BadRequest},
		}},
		{model.V1_2, []uint16{112, 11544, 110, 11542, 11543, 60, 0, 42}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.version.String(), func(t *testing.T) {
			s := startServer(t, nil)
			sub := s.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
			defer sub.Close()
			d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
			e := registered(t, s, "dev-v", d, func(c *client.Config) { c.Version = tc.version })
			r := next(t, sub, server.EventRegistered, 5*time.Second).Registration
			if r.Version != tc.version || !slices.Equal(r.ContentFormats, tc.formats) {
				t.Errorf("registered lwm2m=%s ct=%v, want %s %v", r.Version, r.ContentFormats, tc.version, tc.formats)
			}
			for _, o := range r.Objects {
				if tc.version == model.V1_0 && !o.Version.IsZero() {
					t.Errorf("a 1.0 client gave object %d a version", o.ID)
				}
			}
			for _, x := range tc.refused {
				x.msg.MID, x.msg.Token = 1, []byte{1}
				if resp := e.Serve(context.Background(), s.Addr(), x.msg); resp.Code != x.want {
					t.Errorf("%v: got %v (%s), want %v", x.msg, resp.Code, resp.Payload, x.want)
				}
			}
			// Every format of the version reads an instance or a resource.
			n, err := s.Read(ctxT(t, 5*time.Second), "dev-v", mustPath("/3/0"))
			if err != nil || n.Child(0) == nil {
				t.Errorf("read: %v %v", n, err)
			}
		})
	}
	t.Run("format newer than the version", func(t *testing.T) {
		d := newDevice(account{ssid: 1, uri: "coap://127.0.0.1:5683"})
		_, err := client.New(client.Config{Endpoint: "x", Objects: d.objects(), Version: model.V1_1, Formats: []codec.Format{codec.LwM2MCBOR}})
		if err == nil {
			t.Error("a 1.1 client accepted LwM2M CBOR")
		}
	})
}

// TestConfig checks what New and Start refuse.
func TestConfig(t *testing.T) {
	checkLeaks(t)
	d := newDevice(account{ssid: 1, uri: "coap://127.0.0.1:5683"})
	cases := []struct {
		name string
		cfg  client.Config
	}{
		{"no endpoint", client.Config{Objects: d.objects()}},
		{"no security object", client.Config{Endpoint: "x", Objects: []client.Object{d.server, d.device}}},
		{"no device object", client.Config{Endpoint: "x", Objects: []client.Object{d.security, d.server}}},
		{"object twice", client.Config{Endpoint: "x", Objects: append(d.objects(), d.device)}},
		{"version 2.0", client.Config{Endpoint: "x", Objects: d.objects(), Version: model.Version{Major: 2}}},
		{"link format as data", client.Config{Endpoint: "x", Objects: d.objects(), Formats: []codec.Format{codec.LinkFormat}}},
		{"nil object", client.Config{Endpoint: "x", Objects: append(d.objects(), nil)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := client.New(tc.cfg); err == nil {
				t.Error("accepted")
			}
		})
	}
	for _, uri := range []string{"coaps://127.0.0.1:5684", "http://127.0.0.1", "coap://", "coap://127.0.0.1:0"} {
		t.Run("start with "+uri, func(t *testing.T) {
			d := newDevice(account{ssid: 1, uri: uri})
			e, err := client.New(client.Config{Endpoint: "x", Objects: d.objects(), Addr: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if err := e.Start(context.Background()); err == nil {
				t.Errorf("started with the only account at %s: %s", uri, statusString(e.Status()))
			}
		})
	}
}
