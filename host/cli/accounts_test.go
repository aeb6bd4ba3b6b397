package cli

import (
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/host/config"
)

// An account's registration parameters reach both the device's own Server
// instance (wasm2m client) and what wasm2m bootstrap writes: lifetime,
// default pmin and pmax, notification storing, binding, and its PSK.
func TestAccountParameters(t *testing.T) {
	a := config.Account{URI: "coaps://127.0.0.1:5684", ShortServerID: 7, Mode: config.ModePSK, PSKIdentity: "id-7", PSKKey: "0a0b0c",
		Lifetime: config.Duration(5 * time.Minute), DefaultPmin: config.Duration(10 * time.Second), DefaultPmax: config.Duration(time.Minute),
		NotificationStoring: true, Binding: "UQ"}
	sec, srv, err := deviceAccounts([]config.Account{a}, "dev-7", clientFlags{lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := srv[0]
	if s.SSID != 7 || s.Lifetime != 5*time.Minute || s.DefaultMinPeriod != 10*time.Second || s.DefaultMaxPeriod != time.Minute || !s.NotificationStoring || s.Binding != "UQ" {
		t.Errorf("server account %+v", s)
	}
	if string(sec[0].PublicKeyOrIdentity) != "id-7" || string(sec[0].SecretKey) != "\x0a\x0b\x0c" || sec[0].SSID != 7 {
		t.Errorf("security account %+v", sec[0])
	}
	c, err := bootstrapConfig(config.BootstrapEndpoint{Endpoint: "dev-7", Servers: []config.Account{a}})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Servers[0]
	if b.ShortID != 7 || b.Lifetime != 300 || b.DefaultPmin != 10 || b.DefaultPmax != 60 || !b.NotificationStoring || b.Binding != "UQ" ||
		b.PSKIdentity != "id-7" || string(b.PSK) != "\x0a\x0b\x0c" {
		t.Errorf("bootstrap account %+v", b)
	}
}
