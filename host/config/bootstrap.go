package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Bootstrap configures `wasm2m bootstrap`, the LwM2M bootstrap server
// (core/bootstrap): where it listens and the configuration it gives each
// device, by endpoint name:
//
//	"bootstrap": {"addr": ":5783", "configs": [
//	  {"endpoint": "dev-1", "servers": [{"uri": "coaps://dm.example:5684",
//	    "short_server_id": 1, "mode": "psk", "psk_identity": "dev-1",
//	    "psk_key": "000102030405060708090a0b0c0d0e0f", "lifetime": "5m"}]}]}
//
// The configurations are put into the store when the command starts
// (replacing what it holds for the same endpoints); those of other
// endpoints, added through the HTTP API, stay.
type Bootstrap struct {
	// Addr is the UDP address of the bootstrap server; "" means the
	// default (":5783"); -addr wins.
	Addr string `json:"addr,omitempty"`
	// Configs are the per-endpoint configurations.
	Configs []BootstrapEndpoint `json:"configs,omitempty"`
}

// BootstrapEndpoint is what the bootstrap server writes to one device
// (core/store.BootstrapConfig).
type BootstrapEndpoint struct {
	// Endpoint is the endpoint client name of the Bootstrap-Request.
	Endpoint string `json:"endpoint"`
	// Delete are the paths of Bootstrap-Delete sent first: absent means
	// ["/"] (every instance but the bootstrap account and the Device
	// object's), [] deletes nothing.
	Delete []string `json:"delete,omitempty"`
	// Servers are the LwM2M server accounts to write, in the shape of the
	// client section's accounts (uri, short_server_id, mode, psk_identity,
	// psk_key in hex, certificate, key and server_certificate PEM or DER
	// files relative to the configuration file, lifetime, binding); none
	// may be a bootstrap account.
	Servers []Account `json:"servers"`
	// ACLs are Access Control instances to write.
	ACLs []BootstrapACL `json:"acls,omitempty"`
}

// BootstrapACL is one Access Control instance (/2/x, Core 1.1 Appendix
// E.3).
type BootstrapACL struct {
	ObjectID       uint16 `json:"object_id"`
	ObjectInstance uint16 `json:"object_instance"`
	// Rights maps a short server id ("0" for the default) to its access
	// bits: 1 read, 2 write, 4 execute, 8 delete, 16 create.
	Rights map[string]uint16 `json:"rights,omitempty"`
	// Owner is the short server id of the instance's owner.
	Owner uint16 `json:"owner"`
}

// RightsBySSID returns a's rights keyed by short server id.
func (a *BootstrapACL) RightsBySSID() (map[uint16]uint16, error) {
	out := make(map[uint16]uint16, len(a.Rights))
	for k, v := range a.Rights {
		n, err := strconv.ParseUint(k, 10, 16)
		if err != nil || n > 65534 {
			return nil, fmt.Errorf("rights: key %q is not a short server id (0 to 65534)", k)
		}
		if v > 31 {
			return nil, fmt.Errorf("rights of %s: %d is more than the five access bits (31)", k, v)
		}
		out[uint16(n)] = v
	}
	return out, nil
}

func (b *Bootstrap) validate() error {
	seen := map[string]bool{}
	for i := range b.Configs {
		e := &b.Configs[i]
		where := fmt.Sprintf("bootstrap: configs[%d]", i)
		if strings.TrimSpace(e.Endpoint) == "" {
			return fmt.Errorf("%w: %s: no endpoint", ErrInvalid, where)
		}
		if seen[e.Endpoint] {
			return fmt.Errorf("%w: %s: endpoint %q given twice", ErrInvalid, where, e.Endpoint)
		}
		seen[e.Endpoint] = true
		where += " (" + e.Endpoint + ")"
		for _, p := range e.Delete {
			if !strings.HasPrefix(p, "/") || strings.Count(p, "/") > 2 {
				return fmt.Errorf("%w: %s: delete %q: want /, /object or /object/instance", ErrInvalid, where, p)
			}
		}
		ssids := map[uint16]bool{}
		for j := range e.Servers {
			a := &e.Servers[j]
			if err := a.checkServer(); err != nil {
				return fmt.Errorf("%w: %s: servers[%d]: %v", ErrInvalid, where, j, err)
			}
			if ssids[a.ShortServerID] {
				return fmt.Errorf("%w: %s: servers[%d]: short_server_id %d given twice", ErrInvalid, where, j, a.ShortServerID)
			}
			ssids[a.ShortServerID] = true
		}
		for j := range e.ACLs {
			if _, err := e.ACLs[j].RightsBySSID(); err != nil {
				return fmt.Errorf("%w: %s: acls[%d]: %v", ErrInvalid, where, j, err)
			}
		}
	}
	return nil
}

// checkServer checks a device management account that a bootstrap
// server writes.
func (a *Account) checkServer() error {
	if a.Bootstrap {
		return fmt.Errorf("a bootstrap server writes no bootstrap account")
	}
	if err := a.check(); err != nil {
		return err
	}
	if a.ShortServerID < 1 || a.ShortServerID > 65534 {
		return fmt.Errorf("short_server_id must be 1 to 65534")
	}
	return nil
}

func (b *Bootstrap) resolve(dir string) {
	for i := range b.Configs {
		c := Client{Accounts: b.Configs[i].Servers}
		c.resolve(dir)
	}
}
