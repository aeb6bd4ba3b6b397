package cli

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/host/config"
)

// clientAccounts returns the server accounts a `wasm2m client` device
// starts with: the config file's client section when it has accounts
// (factory bootstrap), else one account per -server (Short Server IDs 101,
// 102, ...) or the -bootstrap account alone. A coaps:// server of the flags
// takes its credentials from -psk-key (with -psk-identity, by default the
// device's endpoint name) or -cert and -key.
func clientAccounts(file []config.Account, f clientFlags) ([]config.Account, error) {
	var accts []config.Account
	if len(file) > 0 {
		accts = append(accts, file...)
	} else {
		add := func(a config.Account) error {
			if strings.HasPrefix(a.URI, "coaps:") {
				switch {
				case f.pskKey != "":
					a.Mode, a.PSKIdentity, a.PSKKey = config.ModePSK, f.pskIdentity, f.pskKey
					if a.PSKIdentity == "" {
						a.PSKIdentity = identityFromEndpoint
					}
				case f.cert != "":
					a.Mode, a.Certificate, a.Key, a.ServerCertificate = config.ModeCertificate, f.cert, f.key, f.serverCert
				default:
					return fmt.Errorf("server %s: coaps needs -psk-key or -cert and -key", a.URI)
				}
			}
			accts = append(accts, a)
			return nil
		}
		if f.bootstrap != "" {
			if err := add(config.Account{URI: f.bootstrap, Bootstrap: true}); err != nil {
				return nil, err
			}
		} else {
			for i, s := range strings.Split(f.servers, ",") {
				if s = strings.TrimSpace(s); s == "" {
					continue
				}
				if err := add(config.Account{URI: s, ShortServerID: uint16(101 + i)}); err != nil {
					return nil, err
				}
			}
			if len(accts) == 0 {
				return nil, errors.New("no -server and no -bootstrap")
			}
		}
	}
	// The same checks as the config file's.
	c := config.Config{Client: config.Client{Accounts: accts}}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c.Client.Accounts, nil
}

// identityFromEndpoint stands for the device's endpoint name as its PSK
// identity (-psk-key without -psk-identity, for -devices N).
const identityFromEndpoint = "\x00endpoint"

// deviceAccounts turns accounts into the Security and Server instances of
// device ep.
func deviceAccounts(accts []config.Account, ep string, f clientFlags) ([]stdobj.SecurityAccount, []stdobj.ServerAccount, error) {
	var sec []stdobj.SecurityAccount
	var srv []stdobj.ServerAccount
	for _, a := range accts {
		s := stdobj.SecurityAccount{ServerURI: a.URI, Bootstrap: a.Bootstrap, Mode: stdobj.SecurityNoSec}
		id, secret, serverCert, err := accountKeys(a)
		if err != nil {
			return nil, nil, err
		}
		switch a.Mode {
		case config.ModePSK:
			if a.PSKIdentity == identityFromEndpoint {
				id = []byte(ep)
			}
			s.Mode = stdobj.SecurityPSK
		case config.ModeCertificate:
			s.Mode = stdobj.SecurityCertificate
		}
		s.PublicKeyOrIdentity, s.SecretKey, s.ServerPublicKey = id, secret, serverCert
		if !a.Bootstrap {
			s.SSID = a.ShortServerID
			lifetime := time.Duration(a.Lifetime)
			if lifetime == 0 {
				lifetime = f.lifetime
			}
			binding := a.Binding
			if binding == "" {
				// Queue mode is the Q of the Server object's binding;
				// the engine sends it as b=UQ to a 1.0 server and as
				// the Q parameter to later ones.
				binding = "U"
				if f.queue {
					binding = "UQ"
				}
			}
			srv = append(srv, stdobj.ServerAccount{SSID: a.ShortServerID, Lifetime: lifetime, Binding: binding,
				DefaultMinPeriod: time.Duration(a.DefaultPmin), DefaultMaxPeriod: time.Duration(a.DefaultPmax), NotificationStoring: a.NotificationStoring,
				CommunicationRetryCount: 5, CommunicationRetryTimer: 5 * time.Second, SequenceDelayTimer: time.Minute, SequenceRetryCount: 1000})
		}
		sec = append(sec, s)
	}
	return sec, srv, nil
}

// accountKeys reads an account's keys as a Security instance holds them:
// for mode psk the identity and the key (/0/x/3, /0/x/5), for mode
// certificate the device's certificate (DER), its private key (PKCS #8
// DER) and the server's certificate (DER, nil when none is given); nothing
// for nosec.
func accountKeys(a config.Account) (identity, secret, serverCert []byte, err error) {
	switch a.Mode {
	case config.ModePSK:
		key, err := hex.DecodeString(a.PSKKey)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("server %s: psk key: %v", a.URI, err)
		}
		return []byte(a.PSKIdentity), key, nil, nil
	case config.ModeCertificate:
		cert, err := readPEMBlock(a.Certificate, "CERTIFICATE")
		if err != nil {
			return nil, nil, nil, err
		}
		key, err := readPrivateKey(a.Key)
		if err != nil {
			return nil, nil, nil, err
		}
		if a.ServerCertificate != "" {
			if serverCert, err = readPEMBlock(a.ServerCertificate, "CERTIFICATE"); err != nil {
				return nil, nil, nil, err
			}
		}
		return cert, key, serverCert, nil
	}
	return nil, nil, nil, nil
}

// readPEMBlock returns the DER bytes of the first PEM block of type typ in
// file path (a DER file is taken as it is).
func readPEMBlock(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == typ || (typ == "PRIVATE KEY" && strings.HasSuffix(blk.Type, "PRIVATE KEY")) {
			return blk.Bytes, nil
		}
	}
	if _, err := x509.ParseCertificate(b); err == nil && typ == "CERTIFICATE" {
		return b, nil
	}
	return nil, fmt.Errorf("%s: no PEM %s block", path, typ)
}

// readPrivateKey reads a PEM (or DER) private key, PKCS #8, SEC 1 or
// PKCS #1, and returns it as PKCS #8 DER, the form /0/x/5 holds.
func readPrivateKey(path string) ([]byte, error) {
	der, err := readPEMBlock(path, "PRIVATE KEY")
	if err != nil {
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, rerr
		}
		der = b
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		if key, err = x509.ParseECPrivateKey(der); err != nil {
			if key, err = x509.ParsePKCS1PrivateKey(der); err != nil {
				return nil, fmt.Errorf("%s: not a PKCS #8, SEC 1 or PKCS #1 private key", path)
			}
		}
	}
	return x509.MarshalPKCS8PrivateKey(key)
}
