package config

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Client is the factory configuration of `wasm2m client`: the server
// accounts a device starts with (its Security and Server instances, Core
// 1.1 section 6.1.2, "Factory Bootstrap"). With accounts here, the -server
// and -bootstrap flags are not used.
type Client struct {
	// Endpoint is the endpoint client name; -endpoint wins when given.
	Endpoint string `json:"endpoint,omitempty"`
	// Accounts are the server accounts, in order: Security instance i
	// holds account i.
	Accounts []Account `json:"accounts,omitempty"`
}

// Account is one server account of a device.
type Account struct {
	// URI is the server: coap://host:port or coaps://host:port.
	URI string `json:"uri"`
	// Bootstrap makes it the bootstrap server's account.
	Bootstrap bool `json:"bootstrap,omitempty"`
	// ShortServerID links the Security and Server instances (/0/x/10,
	// /1/x/0); a device management account needs one (1 to 65534).
	ShortServerID uint16 `json:"short_server_id,omitempty"`
	// Mode is the security mode: "nosec" (the default for coap://),
	// "psk" or "certificate".
	Mode string `json:"mode,omitempty"`
	// PSKIdentity and PSKKey (hex) are the pre-shared key of mode psk.
	PSKIdentity string `json:"psk_identity,omitempty"`
	PSKKey      string `json:"psk_key,omitempty"`
	// Certificate and Key are PEM files of the device's certificate and
	// private key, ServerCertificate the server's certificate the device
	// expects (mode certificate); relative to the configuration file.
	Certificate       string `json:"certificate,omitempty"`
	Key               string `json:"key,omitempty"`
	ServerCertificate string `json:"server_certificate,omitempty"`
	// Lifetime and Binding are the registration's (Server /1/x/1, /1/x/7).
	Lifetime Duration `json:"lifetime,omitempty"`
	Binding  string   `json:"binding,omitempty"`
	// DefaultPmin and DefaultPmax are the notification periods of
	// observations that set none (/1/x/2, /1/x/3), whole seconds;
	// NotificationStoring is /1/x/6.
	DefaultPmin         Duration `json:"default_pmin,omitempty"`
	DefaultPmax         Duration `json:"default_pmax,omitempty"`
	NotificationStoring bool     `json:"notification_storing,omitempty"`
}

// The security modes of Account.Mode.
const (
	ModeNoSec       = "nosec"
	ModePSK         = "psk"
	ModeCertificate = "certificate"
)

func (c *Client) validate() error {
	ssids := map[uint16]bool{}
	bootstrap := false
	for i := range c.Accounts {
		a := &c.Accounts[i]
		where := fmt.Sprintf("client: accounts[%d]", i)
		if err := a.check(); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalid, where, err)
		}
		if a.Bootstrap {
			if bootstrap {
				return fmt.Errorf("%w: %s: a second bootstrap account", ErrInvalid, where)
			}
			bootstrap = true
			continue
		}
		if a.ShortServerID < 1 || a.ShortServerID > 65534 {
			return fmt.Errorf("%w: %s: short_server_id must be 1 to 65534", ErrInvalid, where)
		}
		if ssids[a.ShortServerID] {
			return fmt.Errorf("%w: %s: short_server_id %d given twice", ErrInvalid, where, a.ShortServerID)
		}
		ssids[a.ShortServerID] = true
	}
	return nil
}

// check checks what every account needs, in the client section and in a
// bootstrap configuration: a coap:// or coaps:// URI, a security mode its
// scheme allows with that mode's keys (mode "" becomes nosec), and sane
// registration parameters.
func (a *Account) check() error {
	u, err := url.Parse(a.URI)
	if err != nil || (u.Scheme != "coap" && u.Scheme != "coaps") || u.Host == "" {
		return fmt.Errorf("uri %q is not coap://host:port or coaps://host:port", a.URI)
	}
	if a.Mode == "" {
		a.Mode = ModeNoSec
	}
	switch a.Mode {
	case ModeNoSec:
		if u.Scheme == "coaps" {
			return fmt.Errorf("a coaps:// account needs mode psk or certificate")
		}
	case ModePSK:
		if a.PSKIdentity == "" || a.PSKKey == "" {
			return fmt.Errorf("mode psk needs psk_identity and psk_key")
		}
		if _, err := hex.DecodeString(a.PSKKey); err != nil {
			return fmt.Errorf("psk_key is not hex: %v", err)
		}
	case ModeCertificate:
		if a.Certificate == "" || a.Key == "" {
			return fmt.Errorf("mode certificate needs certificate and key")
		}
	default:
		return fmt.Errorf("unknown mode %q (nosec, psk, certificate)", a.Mode)
	}
	if a.Mode != ModeNoSec && u.Scheme != "coaps" {
		return fmt.Errorf("mode %s needs a coaps:// uri", a.Mode)
	}
	if a.Lifetime < 0 || strings.TrimSpace(a.Binding) != a.Binding {
		return fmt.Errorf("bad lifetime or binding")
	}
	if a.DefaultPmin < 0 || a.DefaultPmax < 0 || (a.DefaultPmax > 0 && a.DefaultPmax < a.DefaultPmin) {
		return fmt.Errorf("default_pmin and default_pmax must not be negative, nor pmax below pmin")
	}
	return nil
}

func (c *Client) resolve(dir string) {
	for i := range c.Accounts {
		a := &c.Accounts[i]
		for _, p := range []*string{&a.Certificate, &a.Key, &a.ServerCertificate} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
	}
}
