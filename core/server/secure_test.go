package server

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// A device that has credentials must use them: its Register without DTLS
// is refused with 4.03 and leaves nothing behind, while a device without
// credentials registers over plain CoAP as before.
func TestNoSecRegisterOfEndpointWithCredentials(t *testing.T) {
	sec := store.NewSecurity(store.NewMemory())
	if err := sec.PutCredential(ctxT(t), &store.Credential{Endpoint: "secure-dev", PSKIdentity: "id-1", PSK: []byte("0123456789abcdef")}); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{Security: sec})
	d := newDevice(t, s, "secure-dev", nil)
	if err := d.Register(ctxT(t)); model.CodeOf(err) != model.Forbidden {
		t.Fatalf("NoSec register of an endpoint with credentials: %v, want 4.03", err)
	}
	if n, _ := s.Store().CountRegistrations(ctxT(t)); n != 0 {
		t.Fatalf("%d registrations after a refused register", n)
	}
	p := register(t, s, "plain-dev", nil)
	r, err := s.Registration(ctxT(t), "plain-dev")
	if err != nil || r.Secure || r.Identity != "" || r.Address != p.Addr() {
		t.Fatalf("plain registration %+v, %v", r, err)
	}
	// The plain device keeps its registration through Update and Send.
	if err := p.Update(ctxT(t), false, "lt=600"); err != nil {
		t.Fatal(err)
	}
	if err := p.Deregister(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}
