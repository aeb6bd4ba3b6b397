package stdobj

import (
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// SecurityMode is the Security Mode resource (0/x/2): how the client
// secures its connection to a server.
type SecurityMode int64

// The security modes of Core 1.1 Appendix E.1.
const (
	SecurityPSK            SecurityMode = 0 // pre-shared key
	SecurityRPK            SecurityMode = 1 // raw public key
	SecurityCertificate    SecurityMode = 2 // X.509 certificate
	SecurityNoSec          SecurityMode = 3 // no security
	SecurityCertificateEST SecurityMode = 4 // certificate with EST
)

func (m SecurityMode) String() string {
	switch m {
	case SecurityPSK:
		return "PSK"
	case SecurityRPK:
		return "RPK"
	case SecurityCertificate:
		return "Certificate"
	case SecurityNoSec:
		return "NoSec"
	case SecurityCertificateEST:
		return "Certificate with EST"
	}
	return "mode(" + itoa(int64(m)) + ")"
}

// SecurityAccount is one instance of the Security object: how to reach
// and authenticate one LwM2M server or the bootstrap server.
type SecurityAccount struct {
	// InstanceID is the Security instance the account lives in. The
	// constructor puts account i in instance i; Accounts fills it in.
	InstanceID uint16

	ServerURI string       // 0: coap://host:port, coaps://...
	Bootstrap bool         // 1: the bootstrap server's account
	Mode      SecurityMode // 2

	// Keys, as the Security Mode wants them: for PSK the identity and
	// the key, for RPK and certificates the client's public key or
	// certificate, the server's, and the client's private key (3, 4, 5).
	PublicKeyOrIdentity []byte
	ServerPublicKey     []byte
	SecretKey           []byte

	// SSID is the Short Server ID that links the account to its Server
	// object instance (10); 0 for none (a bootstrap account has none).
	SSID uint16
	// ClientHoldOffTime is how long the client waits before it asks for
	// bootstrap (11); BootstrapAccountTimeout is how long a bootstrap
	// account lives (12, 0: for ever). Whole seconds; 0 is not written.
	ClientHoldOffTime       time.Duration
	BootstrapAccountTimeout time.Duration
}

// Security is the Security object (0), version 1.1. None of its resources
// has an operation a device management server may use: only the
// bootstrap server (a client.WithBootstrap context) reads and writes it,
// and the client reads it back with Accounts.
type Security struct {
	*Object
}

// NewSecurity returns the Security object holding accounts, account i in
// instance i.
func NewSecurity(accounts ...SecurityAccount) *Security {
	s := &Security{Object: New(coreDef(SecurityID, model.V1_1))}
	for i, a := range accounts {
		a.InstanceID = uint16(i)
		if err := s.AddInstance(a.node(s.def)); err != nil {
			panic("stdobj: new security: " + err.Error())
		}
	}
	return s
}

func (a SecurityAccount) node(def *model.ObjectDef) model.Node {
	rs := []model.Node{
		model.NewResource(0, model.String(a.ServerURI)),
		model.NewResource(1, model.Bool(a.Bootstrap)),
		model.NewResource(2, model.Int(int64(a.Mode))),
		model.NewResource(3, model.Opaque(a.PublicKeyOrIdentity)),
		model.NewResource(4, model.Opaque(a.ServerPublicKey)),
		model.NewResource(5, model.Opaque(a.SecretKey)),
	}
	if a.SSID != 0 {
		rs = append(rs, model.NewResource(10, model.Int(int64(a.SSID))))
	}
	if a.ClientHoldOffTime != 0 {
		rs = append(rs, model.NewResource(11, model.Int(seconds(a.ClientHoldOffTime))))
	}
	if a.BootstrapAccountTimeout != 0 {
		rs = append(rs, model.NewResource(12, model.Int(seconds(a.BootstrapAccountTimeout))))
	}
	return model.NewInstance(a.InstanceID, keep(def, rs...)...)
}

// Accounts returns the accounts held, by instance id, as the bootstrap
// server left them. Resources an instance lacks read as zero values.
func (s *Security) Accounts() []SecurityAccount {
	insts := s.snapshot()
	out := make([]SecurityAccount, len(insts))
	for i, n := range insts {
		v := values(n)
		out[i] = SecurityAccount{
			InstanceID:              n.ID,
			ServerURI:               v(0).Str(),
			Bootstrap:               v(1).Bool(),
			Mode:                    SecurityMode(v(2).Int()),
			PublicKeyOrIdentity:     v(3).Bytes(),
			ServerPublicKey:         v(4).Bytes(),
			SecretKey:               v(5).Bytes(),
			SSID:                    ssidOf(v(10)),
			ClientHoldOffTime:       time.Duration(v(11).Int()) * time.Second,
			BootstrapAccountTimeout: time.Duration(v(12).Int()) * time.Second,
		}
	}
	return out
}

// values returns a function giving the value of single resource id of
// instance n (the zero Value when absent).
func values(n model.Node) func(id uint16) model.Value {
	return func(id uint16) model.Value {
		if c := n.Child(id); c != nil {
			return c.Value
		}
		return model.Value{}
	}
}

// ssidOf reads a Short Server ID, 0 when it is not one (1..65534).
func ssidOf(v model.Value) uint16 {
	if n := v.Int(); n >= 1 && n <= model.MaxID {
		return uint16(n)
	}
	return 0
}

// seconds returns d in whole seconds, rounded up so that a positive
// duration never becomes 0.
func seconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d > 0 && d%time.Second != 0 {
		s++
	}
	return s
}

func itoa(n int64) string {
	return model.FormatText(model.Int(n))
}
