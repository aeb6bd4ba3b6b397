package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/security"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
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

// pskKey is the pre-shared key of the DTLS tests.
var pskKey = []byte("0123456789abcdef")

// startSecureServer starts a server with plain CoAP and DTLS on loopback
// and the given credentials.
func startSecureServer(t *testing.T, cfg Config, creds ...*store.Credential) *Server {
	t.Helper()
	sec := store.NewSecurity(store.NewMemory())
	for _, c := range creds {
		if err := sec.PutCredential(ctxT(t), c); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Security = sec
	cfg.SecureAddr = "127.0.0.1:0"
	return startServer(t, cfg)
}

// secureSocket opens a client-role endpoint that talks DTLS with dc to
// every peer.
func secureSocket(t *testing.T, dc *transport.DTLSClientConfig) *transport.Endpoint {
	t.Helper()
	ep, err := transport.ListenSecure("127.0.0.1:0", transport.Config{ACKTimeout: 500 * time.Millisecond, MaxRetransmit: 2, PeerRate: -1},
		func(netip.AddrPort) *transport.DTLSClientConfig { return dc })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func plainSocket(t *testing.T) *transport.Endpoint {
	t.Helper()
	ep, err := transport.Listen("127.0.0.1:0", fastTransport)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func dtlsRegisterMsg(ep string) *transport.Message {
	m := &transport.Message{Type: transport.Confirmable, Code: transport.POST, Payload: []byte("</1/0>,</3/0>")}
	m.SetPath("/rd")
	m.SetQueries([]string{"ep=" + ep, "lt=300", "lwm2m=1.1"})
	m.SetContentFormat(40)
	return m
}

func do(t *testing.T, ep *transport.Endpoint, to netip.AddrPort, m *transport.Message, d time.Duration) (*transport.Message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return ep.Do(ctx, to, m)
}

// A device registers over DTLS with the PSK of its endpoint: the
// registration records the identity; Update and De-register from the same
// session are accepted, from a plain socket refused.
func TestDTLSRegisterPSK(t *testing.T) {
	s := startSecureServer(t, Config{}, &store.Credential{Endpoint: "dtls-1", PSKIdentity: "dtls-1-id", PSK: pskKey})
	sub := s.Subscribe(SubscribeOptions{})
	dev := secureSocket(t, &transport.DTLSClientConfig{PSKIdentity: "dtls-1-id", PSK: pskKey})
	resp, err := do(t, dev, s.SecureAddr(), dtlsRegisterMsg("dtls-1"), 10*time.Second)
	if err != nil || resp.Code != model.Created {
		t.Fatalf("register over DTLS: %v %v", resp, err)
	}
	r := next(t, sub, EventRegistered).Registration
	if !r.Secure || r.Identity != "dtls-1-id" || r.Address != dev.LocalAddr() {
		t.Fatalf("registration %+v", r)
	}
	loc := "/rd/" + r.ID

	// An Update from a plain socket that knows the location: 4.03.
	up := &transport.Message{Type: transport.Confirmable, Code: transport.POST}
	up.SetPath(loc)
	resp, err = do(t, plainSocket(t), s.Addr(), up, 5*time.Second)
	if err != nil || resp.Code != model.Forbidden {
		t.Fatalf("plain update of a DTLS registration: %v %v", resp, err)
	}
	up = &transport.Message{Type: transport.Confirmable, Code: transport.POST}
	up.SetPath(loc)
	if resp, err = do(t, dev, s.SecureAddr(), up, 5*time.Second); err != nil || resp.Code != model.Changed {
		t.Fatalf("update over the session: %v %v", resp, err)
	}
	del := &transport.Message{Type: transport.Confirmable, Code: transport.DELETE}
	del.SetPath(loc)
	if resp, err = do(t, plainSocket(t), s.Addr(), del, 5*time.Second); err != nil || resp.Code != model.Forbidden {
		t.Fatalf("plain de-register of a DTLS registration: %v %v", resp, err)
	}
	del = &transport.Message{Type: transport.Confirmable, Code: transport.DELETE}
	del.SetPath(loc)
	if resp, err = do(t, dev, s.SecureAddr(), del, 5*time.Second); err != nil || resp.Code != model.Deleted {
		t.Fatalf("de-register over the session: %v %v", resp, err)
	}
}

// A PSK identity registers only as its own endpoint; an unknown identity
// or a wrong key never completes a handshake; plain CoAP to the DTLS port
// gets nothing.
func TestDTLSRefused(t *testing.T) {
	s := startSecureServer(t, Config{},
		&store.Credential{Endpoint: "dev-a", PSKIdentity: "id-a", PSK: pskKey},
		&store.Credential{Endpoint: "dev-b", PSKIdentity: "id-b", PSK: []byte("another key 1234")})
	a := secureSocket(t, &transport.DTLSClientConfig{PSKIdentity: "id-a", PSK: pskKey})
	resp, err := do(t, a, s.SecureAddr(), dtlsRegisterMsg("dev-b"), 10*time.Second)
	if err != nil || resp.Code != model.Forbidden {
		t.Fatalf("register as another endpoint: %v %v", resp, err)
	}
	resp, err = do(t, a, s.SecureAddr(), dtlsRegisterMsg("no-credentials"), 10*time.Second)
	if err != nil || resp.Code != model.Forbidden {
		t.Fatalf("register as an endpoint without credentials: %v %v", resp, err)
	}
	for name, dc := range map[string]*transport.DTLSClientConfig{
		"wrong key":        {PSKIdentity: "id-a", PSK: []byte("not the right key")},
		"unknown identity": {PSKIdentity: "id-x", PSK: pskKey},
	} {
		if resp, err := do(t, secureSocket(t, dc), s.SecureAddr(), dtlsRegisterMsg("dev-a"), 3*time.Second); err == nil {
			t.Errorf("%s: answered %v", name, resp)
		}
	}
	if resp, err := do(t, plainSocket(t), s.SecureAddr(), dtlsRegisterMsg("dev-a"), 2*time.Second); err == nil {
		t.Errorf("plain CoAP on the DTLS port: answered %v", resp)
	}
	if n, _ := s.Store().CountRegistrations(ctxT(t)); n != 0 {
		t.Fatalf("%d registrations", n)
	}
}

// With NoSecOff the server has no plain endpoint at all.
func TestNoSecOff(t *testing.T) {
	s := startSecureServer(t, Config{NoSecOff: true}, &store.Credential{Endpoint: "d", PSKIdentity: "d", PSK: pskKey})
	if s.Addr().IsValid() || !s.SecureAddr().IsValid() {
		t.Fatalf("plain %v, DTLS %v", s.Addr(), s.SecureAddr())
	}
	if _, err := New(Config{NoSecOff: true}); err == nil {
		t.Error("NoSecOff without DTLS accepted")
	}
	if _, err := New(Config{SecureAddr: ":0"}); err == nil {
		t.Error("DTLS without a security store accepted")
	}
}

// startEngine starts a core/client device with one account: a device
// management account (Short Server ID 1, with its Server instance) when
// dm, else acct as it is (a bootstrap account).
func startEngine(t *testing.T, ep string, acct stdobj.SecurityAccount, dm bool) *client.Engine {
	t.Helper()
	srv := stdobj.NewServer()
	if dm {
		acct.SSID = 1
		srv = stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 300 * time.Second, Binding: "U"})
	}
	e, err := client.New(client.Config{
		Endpoint: ep,
		Addr:     "127.0.0.1:0",
		Objects: []client.Object{
			stdobj.NewSecurity(acct),
			srv,
			stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m test", ModelNumber: "dtls"}),
		},
		Transport: transport.Config{ACKTimeout: 500 * time.Millisecond, PeerRate: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// The client engine registers over DTLS with PSK; the server reads and
// observes it over the same session.
func TestDTLSClientEngine(t *testing.T) {
	s := startSecureServer(t, Config{}, &store.Credential{Endpoint: "engine-1", PSKIdentity: "engine-1", PSK: pskKey})
	sub := s.Subscribe(SubscribeOptions{})
	startEngine(t, "engine-1", stdobj.SecurityAccount{ServerURI: "coaps://" + s.SecureAddr().String(), Mode: stdobj.SecurityPSK,
		PublicKeyOrIdentity: []byte("engine-1"), SecretKey: pskKey}, true)
	r := next(t, sub, EventRegistered).Registration
	if !r.Secure || r.Identity != "engine-1" {
		t.Fatalf("registration %+v", r)
	}
	n, err := s.Read(ctxT(t), "engine-1", mustPath("/3/0/0"))
	if err != nil || n.Value.Str() != "wasm2m test" {
		t.Fatalf("read over DTLS: %v %v", n, err)
	}
	obs, err := s.Observe(ctxT(t), "engine-1", mustPath("/3/0"))
	if err != nil {
		t.Fatalf("observe over DTLS: %v", err)
	}
	if len(obs.First) == 0 {
		t.Errorf("first value %v", obs.First)
	}
}

// X.509: a device certificate that chains to the trust store and names
// the endpoint registers; one naming another endpoint gets 4.03; one from
// outside the trust store never completes a handshake.
func TestDTLSCertificates(t *testing.T) {
	ca := newCA(t, "wasm2m test CA")
	srvCert := ca.issue(t, "localhost", true)
	s := startSecureServer(t, Config{DTLS: transport.DTLSConfig{Certificates: []tls.Certificate{srvCert}, ClientCAs: ca.pool()}},
		&store.Credential{Endpoint: "cert-dev", X509: true}, &store.Credential{Endpoint: "other-dev", X509: true})
	sub := s.Subscribe(SubscribeOptions{})
	devCert := ca.issue(t, "cert-dev", false)
	dc := &transport.DTLSClientConfig{Certificates: []tls.Certificate{devCert}, ServerCertificate: srvCert.Certificate[0]}
	dev := secureSocket(t, dc)
	resp, err := do(t, dev, s.SecureAddr(), dtlsRegisterMsg("cert-dev"), 10*time.Second)
	if err != nil || resp.Code != model.Created {
		t.Fatalf("register with a certificate: %v %v", resp, err)
	}
	if r := next(t, sub, EventRegistered).Registration; !r.Secure || r.Identity != "x509:cert-dev" {
		t.Fatalf("registration %+v", r)
	}
	resp, err = do(t, dev, s.SecureAddr(), dtlsRegisterMsg("other-dev"), 10*time.Second)
	if err != nil || resp.Code != model.Forbidden {
		t.Fatalf("register as another endpoint: %v %v", resp, err)
	}
	stranger := newCA(t, "another CA").issue(t, "cert-dev", false)
	out := secureSocket(t, &transport.DTLSClientConfig{Certificates: []tls.Certificate{stranger}, ServerCertificate: srvCert.Certificate[0]})
	if resp, err := do(t, out, s.SecureAddr(), dtlsRegisterMsg("cert-dev"), 3*time.Second); err == nil {
		t.Fatalf("a certificate from outside the trust store: answered %v", resp)
	}
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{c, k}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func (ca *testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// natRelay forwards datagrams between a device and a server the way a NAT
// does: the server sees the relay's outside socket as the device's
// address, and rebind moves the mapping to a new outside port.
type natRelay struct {
	inside  *net.UDPConn // the device talks to this
	server  *net.UDPAddr
	mu      sync.Mutex
	outside *net.UDPConn
	device  *net.UDPAddr
	wg      sync.WaitGroup
	mute    atomic.Bool // drop what the server sends
}

func newNATRelay(t *testing.T, server netip.AddrPort) *natRelay {
	t.Helper()
	in, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &natRelay{inside: in, server: net.UDPAddrFromAddrPort(server)}
	r.rebind(t)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := in.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.device = from
			out := r.outside
			r.mu.Unlock()
			out.WriteToUDP(buf[:n], r.server)
		}
	}()
	t.Cleanup(func() {
		in.Close()
		r.mu.Lock()
		r.outside.Close()
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

// rebind gives the mapping a new outside port; the old one is closed, as
// a NAT forgets an expired mapping.
func (r *natRelay) rebind(t *testing.T) netip.AddrPort {
	t.Helper()
	out, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	old := r.outside
	r.outside = out
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65535)
		for {
			n, _, err := out.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			dev := r.device
			r.mu.Unlock()
			if dev != nil && !r.mute.Load() {
				r.inside.WriteToUDP(buf[:n], dev)
			}
		}
	}()
	return out.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (r *natRelay) addr() netip.AddrPort { return r.inside.LocalAddr().(*net.UDPAddr).AddrPort() }

// A device behind a NAT whose mapping changes mid-session keeps its DTLS
// session (Connection ID, RFC 9146), its registration and its observation:
// after the rebinding, its notifications still reach the observation and
// the server still reaches the device, without a new handshake or Update.
func TestDTLSConnectionIDKeepsRegistrationAcrossNATRebinding(t *testing.T) {
	s := startSecureServer(t, Config{DTLS: transport.DTLSConfig{ConnectionID: true}}, &store.Credential{Endpoint: "nat-dev", PSKIdentity: "nat-dev", PSK: pskKey})
	sub := s.Subscribe(SubscribeOptions{})
	relay := newNATRelay(t, s.SecureAddr())
	temp := stdobj.NewTemperature(stdobj.TemperatureSensor{Value: 20, Units: "Cel"})
	t.Cleanup(func() { temp.Close() })
	e, err := client.New(client.Config{
		Endpoint: "nat-dev",
		Addr:     "127.0.0.1:0",
		Objects: []client.Object{
			stdobj.NewSecurity(stdobj.SecurityAccount{SSID: 1, ServerURI: "coaps://" + relay.addr().String(), Mode: stdobj.SecurityPSK,
				PublicKeyOrIdentity: []byte("nat-dev"), SecretKey: pskKey}),
			stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 300 * time.Second, Binding: "U"}),
			stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m test"}),
			temp,
		},
		Transport: transport.Config{ACKTimeout: 500 * time.Millisecond, PeerRate: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	reg := next(t, sub, EventRegistered).Registration
	obs, err := s.Observe(ctxT(t), "nat-dev", mustPath("/3303/0/5700"))
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Cancel(ctxT(t), false)
	value := func(want float64) {
		t.Helper()
		if err := temp.SetValue(0, want); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(10 * time.Second)
		for {
			select {
			case n, ok := <-obs.C:
				if !ok {
					t.Fatal("observation ended")
				}
				if len(n.Entries) == 1 && n.Entries[0].Node.Value.Float() == want {
					return
				}
			case <-deadline:
				t.Fatalf("no notification of %v", want)
			}
		}
	}
	value(21.5)
	handshakes := s.sep.Stats().DTLS.HandshakesDone

	relay.rebind(t)
	value(22.5) // the device's notification goes out from the new port
	n, err := s.Read(ctxT(t), "nat-dev", mustPath("/3303/0/5700"))
	if err != nil || n.Value.Float() != 22.5 {
		t.Fatalf("read after the rebinding: %v %v", n, err)
	}
	st := s.sep.Stats().DTLS
	if st.HandshakesDone != handshakes || st.Moved == 0 {
		t.Errorf("after the rebinding: %d handshakes (was %d), %d moves", st.HandshakesDone, handshakes, st.Moved)
	}
	r, err := s.Registration(ctxT(t), "nat-dev")
	if err != nil || r.ID != reg.ID {
		t.Fatalf("registration after the rebinding: %+v %v", r, err)
	}
}

// The certificate path end to end: a device whose only account is a
// bootstrap account in certificate mode (its certificate and key, the
// bootstrap server's certificate pinned) is given, over DTLS, a device
// management account in certificate mode by the bootstrap server, then
// registers with the server over DTLS with that certificate, which chains
// to the server's trust store and names the endpoint, and is read.
func TestBootstrapAndRegisterWithCertificates(t *testing.T) {
	ca := newCA(t, "wasm2m devices CA")
	bsCert, dmCert := ca.issue(t, "localhost", true), ca.issue(t, "localhost", true)
	devCert := ca.issue(t, "cert-full", false)
	devKey, err := x509.MarshalPKCS8PrivateKey(devCert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	s := startSecureServer(t, Config{DTLS: transport.DTLSConfig{Certificates: []tls.Certificate{dmCert}, ClientCAs: ca.pool()}},
		&store.Credential{Endpoint: "cert-full", X509: true})
	sub := s.Subscribe(SubscribeOptions{})

	bsSec := store.NewSecurity(store.NewMemory())
	if err := bsSec.PutCredential(ctxT(t), &store.Credential{Endpoint: "cert-full", X509: true}); err != nil {
		t.Fatal(err)
	}
	configs := store.NewBootstraps(store.NewMemory())
	if err := configs.PutBootstrapConfig(ctxT(t), &store.BootstrapConfig{Endpoint: "cert-full", Servers: []store.ServerAccount{{
		ShortID: 1, URI: "coaps://" + s.SecureAddr().String(), Mode: store.ModeCertificate, Lifetime: 60,
		Certificate: devCert.Certificate[0], PrivateKey: devKey, ServerCertificate: dmCert.Certificate[0]}}}); err != nil {
		t.Fatal(err)
	}
	bs, err := bootstrap.New(bootstrap.Config{Addr: "off", SecureAddr: "127.0.0.1:0", Configs: configs, Transport: fastTransport,
		ListenSecure: func(addr string, tc transport.Config) (*transport.Endpoint, error) {
			return transport.ListenDTLS(addr, tc, transport.DTLSConfig{Certificates: []tls.Certificate{bsCert}, ClientCAs: ca.pool()})
		},
		Authorize: func(ctx context.Context, req *transport.Request, ep string) error {
			return security.Authorize(ctx, bsSec, security.Of(req.Identity), ep)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	if err := bs.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	startEngine(t, "cert-full", stdobj.SecurityAccount{ServerURI: "coaps://" + bs.SecureAddr().String(), Bootstrap: true, Mode: stdobj.SecurityCertificate,
		PublicKeyOrIdentity: devCert.Certificate[0], SecretKey: devKey, ServerPublicKey: bsCert.Certificate[0]}, false)
	r := next(t, sub, EventRegistered).Registration
	if !r.Secure || r.Identity != "x509:cert-full" || r.Lifetime != 60 {
		t.Fatalf("registration %+v", r)
	}
	if res, ok := bs.Result("cert-full"); !ok || !res.Secure {
		t.Errorf("bootstrap result %+v", res)
	}
	if n, err := s.Read(ctxT(t), "cert-full", mustPath("/3/0/0")); err != nil || n.Value.Str() != "wasm2m test" {
		t.Fatalf("read over DTLS: %v %v", n, err)
	}
}

// A server forgets an idle DTLS session and drops the records of a session
// it forgot. Its close_notify may be lost (here a relay drops it; a server
// that crashed sends none), and the device would then learn of it only
// when its next request timed out. A device that was silent longer than
// its DTLSIdleTimeout starts its next message with a new handshake, and is
// heard at once.
func TestDTLSDeviceAfterServerForgotSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		idle time.Duration
		ok   bool
	}{
		{"client idle timeout below the server's", 300 * time.Millisecond, true},
		{"client keeps its session", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSecureServer(t, Config{DTLS: transport.DTLSConfig{SessionIdleTimeout: 600 * time.Millisecond}},
				&store.Credential{Endpoint: "idle-dev", PSKIdentity: "idle-dev", PSK: pskKey})
			sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventRegistered, EventSend}})
			relay := newNATRelay(t, s.SecureAddr())
			e, err := client.New(client.Config{
				Endpoint: "idle-dev",
				Addr:     "127.0.0.1:0",
				Objects: []client.Object{
					stdobj.NewSecurity(stdobj.SecurityAccount{SSID: 1, ServerURI: "coaps://" + relay.addr().String(), Mode: stdobj.SecurityPSK,
						PublicKeyOrIdentity: []byte("idle-dev"), SecretKey: pskKey}),
					stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 300 * time.Second, Binding: "U"}),
					stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m test"}),
				},
				Transport:       transport.Config{ACKTimeout: time.Second, MaxRetransmit: 1, PeerRate: -1},
				DTLSIdleTimeout: tc.idle,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Start(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			next(t, sub, EventRegistered)
			if err := e.WaitRegistered(ctxT(t)); err != nil { // the 2.01 is through
				t.Fatal(err)
			}
			relay.mute.Store(true)              // the close_notify is lost
			time.Sleep(1500 * time.Millisecond) // the server forgets the session
			relay.mute.Store(false)
			if n := s.sep.Stats().DTLS.Expired; n == 0 {
				t.Fatal("the server kept the idle session")
			}
			// Within the first transmission and its retransmission (3 s).
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			defer cancel()
			err = e.Send(ctx, 1, mustPath("/3/0/0"))
			if tc.ok && err != nil {
				t.Fatalf("send after the server forgot the session: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("a device that kept its forgotten session was heard at once: the test shows nothing")
			}
		})
	}
}
