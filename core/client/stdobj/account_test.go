package stdobj

import (
	"reflect"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

var securityAccounts = []SecurityAccount{
	{InstanceID: 0, ServerURI: "coaps://bs.example:5684", Bootstrap: true, Mode: SecurityPSK,
		PublicKeyOrIdentity: []byte("dev1"), ServerPublicKey: []byte{}, SecretKey: []byte{1, 2, 3},
		ClientHoldOffTime: 10 * time.Second, BootstrapAccountTimeout: time.Hour},
	{InstanceID: 1, ServerURI: "coap://dm.example:5683", Mode: SecurityNoSec, SSID: 101,
		PublicKeyOrIdentity: []byte{}, ServerPublicKey: []byte{}, SecretKey: []byte{}},
}

func TestSecurity(t *testing.T) {
	t.Run("accounts round trip", func(t *testing.T) {
		got := NewSecurity(securityAccounts...).Accounts()
		if !reflect.DeepEqual(got, securityAccounts) {
			t.Fatalf("accounts\n got %+v\nwant %+v", got, securityAccounts)
		}
	})
	tests := []struct {
		name string
		do   func(s *Security) error
		code model.Code
	}{
		{"server reads nothing", func(s *Security) error { _, err := s.Read(ctx, p("/0/1/0")); return err }, model.MethodNotAllowed},
		{"server instance read is empty", func(s *Security) error {
			n, err := s.Read(ctx, p("/0/1"))
			if err == nil && len(n.Children) != 0 {
				t.Fatalf("read %v", n)
			}
			return err
		}, 0},
		{"server writes nothing", func(s *Security) error {
			return s.Write(ctx, p("/0/1/0"), model.NewResource(0, model.String("coap://x")), true)
		}, model.MethodNotAllowed},
		{"bootstrap reads", func(s *Security) error { _, err := s.Read(boot, p("/0/1/0")); return err }, 0},
		{"bootstrap writes a resource", func(s *Security) error {
			if err := s.Write(boot, p("/0/1/0"), model.NewResource(0, model.String("coap://new")), true); err != nil {
				return err
			}
			if got := s.Accounts()[1].ServerURI; got != "coap://new" {
				t.Fatalf("uri %q", got)
			}
			return nil
		}, 0},
		{"bootstrap writes a new instance", func(s *Security) error {
			a := SecurityAccount{InstanceID: 5, ServerURI: "coap://b", Mode: SecurityNoSec, SSID: 102,
				PublicKeyOrIdentity: []byte{}, ServerPublicKey: []byte{}, SecretKey: []byte{}}
			if err := s.Write(boot, p("/0/5"), a.node(s.def), true); err != nil {
				return err
			}
			if got := s.Accounts(); len(got) != 3 || !reflect.DeepEqual(got[2], a) {
				t.Fatalf("accounts %+v", got)
			}
			return nil
		}, 0},
		{"bootstrap writes a bad mode", func(s *Security) error {
			return s.Write(boot, p("/0/1/2"), model.NewResource(2, model.Int(9)), true)
		}, model.BadRequest},
		{"bootstrap deletes", func(s *Security) error {
			if err := s.Delete(boot, 1); err != nil {
				return err
			}
			if got := s.Accounts(); len(got) != 1 {
				t.Fatalf("accounts %+v", got)
			}
			return nil
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.do(NewSecurity(securityAccounts...)), tc.code)
		})
	}
}

func TestSecurityModeString(t *testing.T) {
	for m, want := range map[SecurityMode]string{SecurityPSK: "PSK", SecurityRPK: "RPK", SecurityCertificate: "Certificate",
		SecurityNoSec: "NoSec", SecurityCertificateEST: "Certificate with EST", 9: "mode(9)"} {
		t.Run(want, func(t *testing.T) {
			if got := m.String(); got != want {
				t.Fatalf("%d = %q", m, got)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int64
	}{
		{0, 0}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {time.Nanosecond, 1}, {-time.Second, -1}, {time.Hour, 3600},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := seconds(tc.d); got != tc.want {
				t.Fatalf("seconds(%v) = %d", tc.d, got)
			}
		})
	}
}

var serverAccounts = []ServerAccount{
	{InstanceID: 0, SSID: 101, Lifetime: 300 * time.Second, NotificationStoring: true, Binding: "UQ", MuteSend: false},
	{InstanceID: 1, SSID: 102, Lifetime: time.Hour, DefaultMinPeriod: time.Second, DefaultMaxPeriod: time.Minute,
		DisableTimeout: time.Minute, Binding: "T", BootstrapOnRegistrationFailure: new(false),
		CommunicationRetryCount: 3, CommunicationRetryTimer: 30 * time.Second, SequenceDelayTimer: time.Hour,
		SequenceRetryCount: 2, MuteSend: true},
}

func TestServer(t *testing.T) {
	t.Run("accounts round trip", func(t *testing.T) {
		got := NewServer(serverAccounts...).Accounts()
		if !reflect.DeepEqual(got, serverAccounts) {
			t.Fatalf("accounts\n got %+v\nwant %+v", got, serverAccounts)
		}
	})
	t.Run("empty binding is U", func(t *testing.T) {
		if got := NewServer(ServerAccount{SSID: 1, Lifetime: time.Minute}).Accounts()[0].Binding; got != "U" {
			t.Fatalf("binding %q", got)
		}
	})
	t.Run("server read leaves out the bootstrap-only resources", func(t *testing.T) {
		s := NewServer(serverAccounts...)
		n, err := s.Read(ctx, p("/1/1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range n.Children {
			if c.ID >= 13 && c.ID <= 20 {
				t.Fatalf("read has resource %d: %v", c.ID, n)
			}
		}
		b, err := s.Read(boot, p("/1/1/17"))
		if err != nil || b.Value != model.Uint(3) {
			t.Fatalf("bootstrap read = %v, %v", b, err)
		}
	})

	var called []string
	s := NewServer(serverAccounts...)
	s.OnDisable(func(ssid uint16) { called = append(called, "disable "+itoa(int64(ssid))) })
	s.OnUpdateTrigger(func(ssid uint16) { called = append(called, "update "+itoa(int64(ssid))) })
	s.OnBootstrapTrigger(func(ssid uint16) { called = append(called, "bootstrap "+itoa(int64(ssid))) })
	executes := []struct {
		path, want string
		code       model.Code
	}{
		{"/1/0/4", "disable 101", 0},
		{"/1/1/8", "update 102", 0},
		{"/1/1/9", "bootstrap 102", 0},
		{"/1/0/1", "", model.MethodNotAllowed},
		{"/1/3/8", "", model.NotFound},
	}
	for _, tc := range executes {
		t.Run("execute "+tc.path, func(t *testing.T) {
			called = nil
			wantCode(t, s.Execute(ctx, p(tc.path), nil), tc.code)
			if tc.want == "" && len(called) != 0 || tc.want != "" && (len(called) != 1 || called[0] != tc.want) {
				t.Fatalf("called %v, want %q", called, tc.want)
			}
		})
	}
	t.Run("execute without a function", func(t *testing.T) {
		if err := NewServer(serverAccounts...).Execute(ctx, p("/1/0/8"), nil); err != nil {
			t.Fatal(err)
		}
	})

	writes := []struct {
		name string
		ctx  bool // bootstrap
		path string
		node model.Node
		code model.Code
	}{
		{"lifetime", false, "/1/0/1", model.NewResource(1, model.Int(60)), 0},
		{"negative lifetime", false, "/1/0/1", model.NewResource(1, model.Int(-1)), model.BadRequest},
		{"negative pmin", false, "/1/0/2", model.NewResource(2, model.Int(-1)), model.BadRequest},
		{"binding", false, "/1/0/7", model.NewResource(7, model.String("UQ")), 0},
		{"bad binding", false, "/1/0/7", model.NewResource(7, model.String("X")), model.BadRequest},
		{"ssid by a server", false, "/1/0/0", model.NewResource(0, model.Int(5)), model.MethodNotAllowed},
		{"ssid by the bootstrap server", true, "/1/0/0", model.NewResource(0, model.Int(5)), 0},
		{"ssid out of range", true, "/1/0/0", model.NewResource(0, model.Int(0)), model.BadRequest},
		{"retry count by a server", false, "/1/0/17", model.NewResource(17, model.Uint(1)), model.MethodNotAllowed},
		{"retry count by the bootstrap server", true, "/1/0/17", model.NewResource(17, model.Uint(1)), 0},
		{"mute send", false, "/1/0/23", model.NewResource(23, model.Bool(true)), 0},
	}
	for _, tc := range writes {
		t.Run("write "+tc.name, func(t *testing.T) {
			c := ctx
			if tc.ctx {
				c = boot
			}
			wantCode(t, NewServer(serverAccounts...).Write(c, p(tc.path), tc.node, true), tc.code)
		})
	}
}

func TestCheckBinding(t *testing.T) {
	tests := []struct {
		b  string
		ok bool
	}{
		{"U", true}, {"UQ", true}, {"UQS", true}, {"T", true}, {"N", true}, {"UTSNQ", true},
		{"", false}, {"X", false}, {"UU", false}, {"u", false}, {"U Q", false},
	}
	for _, tc := range tests {
		t.Run(tc.b, func(t *testing.T) {
			if err := CheckBinding(tc.b); (err == nil) != tc.ok {
				t.Fatalf("CheckBinding(%q) = %v", tc.b, err)
			}
		})
	}
}
