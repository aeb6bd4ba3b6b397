package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/wasm2m/wasm2m/core/model"
)

// pskTable is a server's PSK lookup over a fixed table.
func pskTable(keys map[string]string) func(string) ([]byte, error) {
	return func(id string) ([]byte, error) {
		k, ok := keys[id]
		if !ok {
			return nil, errors.New("unknown identity")
		}
		return []byte(k), nil
	}
}

// seen records the peers and identities a handler saw.
type seen struct {
	mu    sync.Mutex
	peers []netip.AddrPort
	ids   []*PeerIdentity
}

func (s *seen) handler(name string) Handler {
	return HandlerFunc(func(_ context.Context, r *Request) *Message {
		s.mu.Lock()
		s.peers = append(s.peers, r.Peer)
		s.ids = append(s.ids, r.Identity)
		s.mu.Unlock()
		return &Message{Code: model.Content, Payload: []byte(name + " " + r.Msg.Path())}
	})
}

func (s *seen) last() (netip.AddrPort, *PeerIdentity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.peers) == 0 {
		return netip.AddrPort{}, nil
	}
	return s.peers[len(s.peers)-1], s.ids[len(s.ids)-1]
}

// dtlsServerT starts a DTLS server endpoint on loopback.
func dtlsServerT(t testing.TB, h Handler, dc DTLSConfig) *Endpoint {
	t.Helper()
	e, err := ListenDTLS("127.0.0.1:0", fast(h), dc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// dtlsClientT starts a client-role endpoint on addr that speaks DTLS with
// dc to every peer.
func dtlsClientT(t testing.TB, addr string, h Handler, dc *DTLSClientConfig) *Endpoint {
	t.Helper()
	e, err := ListenSecure(addr, fast(h), func(netip.AddrPort) *DTLSClientConfig { return dc })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func mustGet(t testing.TB, e *Endpoint, peer netip.AddrPort, path string, want string) {
	t.Helper()
	resp, err := e.Do(ctxT(t, 10*time.Second), peer, get(path))
	if err != nil {
		t.Fatalf("GET %s from %s: %v", path, peer, err)
	}
	if string(resp.Payload) != want {
		t.Fatalf("GET %s: %q, want %q", path, resp.Payload, want)
	}
}

// getOrRefused sends a GET to a DTLS server and returns nil if it was
// answered, or the error: one wrapping ErrHandshake as soon as the
// client's handshake failed.
func getOrRefused(cli *Endpoint, to netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := cli.Do(ctx, to, get("/hello"))
	if err != nil && !errors.Is(err, ErrHandshake) {
		return fmt.Errorf("not a handshake error: %w", err)
	}
	return err
}

var testPSK = map[string]string{"dev-1": "secret-1", "dev-2": "secret-2"}

func TestDTLSPSKBothWays(t *testing.T) {
	checkLeaks(t)
	var ss, cs seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK)})
	cli := dtlsClientT(t, "127.0.0.1:0", cs.handler("device"), &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")})

	mustGet(t, cli, srv.LocalAddr(), "/hello", "server /hello")
	peer, id := ss.last()
	if peer != cli.LocalAddr() {
		t.Errorf("server saw peer %v, want %v", peer, cli.LocalAddr())
	}
	if id == nil || id.PSKIdentity != "dev-1" || id.Certificate != nil {
		t.Fatalf("identity %+v, want PSK dev-1", id)
	}
	if id.CipherSuite != "TLS_PSK_WITH_AES_128_CCM_8" {
		t.Errorf("cipher suite %s, want TLS_PSK_WITH_AES_128_CCM_8", id.CipherSuite)
	}
	if got, ok := srv.PeerIdentity(peer); !ok || got != id {
		t.Errorf("PeerIdentity(%v) = %+v, %v", peer, got, ok)
	}
	// The server's request goes over the same session.
	mustGet(t, srv, peer, "/3/0", "device /3/0")
	if _, id := cs.last(); id == nil {
		t.Error("device's request carries no identity")
	}
	st := srv.Stats().DTLS
	if st.Sessions != 1 || st.HandshakesDone != 1 || st.Handshakes != 0 {
		t.Errorf("server stats %+v", st)
	}
	if _, ok := srv.PeerIdentity(netip.MustParseAddrPort("127.0.0.1:9")); ok {
		t.Error("identity of an unknown peer")
	}
	// A request or notification to a peer without a session fails at
	// once, and is counted.
	nobody := netip.MustParseAddrPort("127.0.0.1:9")
	if _, err := srv.Do(ctxT(t, 5*time.Second), nobody, get("/x")); !errors.Is(err, ErrNoSession) || !errors.Is(err, model.ErrServiceUnavailable) {
		t.Errorf("Do to a peer without a session: %v", err)
	}
	for _, typ := range []Type{Confirmable, NonConfirmable} {
		if err := srv.Notify(ctxT(t, 5*time.Second), nobody, &Message{Type: typ, Code: model.Content, Token: []byte{1}}); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s notification to a peer without a session: %v", typ, err)
		}
	}
	if n := srv.Stats().DTLS.NoSession; n != 3 {
		t.Errorf("NoSession %d, want 3", n)
	}
}

func TestDTLSPSKRefused(t *testing.T) {
	checkLeaks(t)
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), HandshakeTimeout: time.Second})
	for _, tc := range []struct {
		name, id, key string
	}{
		{"wrong key", "dev-1", "secret-2"},
		{"unknown identity", "intruder", "secret-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := dtlsClientT(t, "127.0.0.1:0", nil, &DTLSClientConfig{PSKIdentity: tc.id, PSK: []byte(tc.key), HandshakeTimeout: time.Second})
			err := getOrRefused(cli, srv.LocalAddr())
			if !errors.Is(err, ErrHandshake) {
				t.Fatalf("want a handshake error, got %v", err)
			}
			if _, ok := srv.PeerIdentity(cli.LocalAddr()); ok {
				t.Error("server holds a session")
			}
		})
	}
	if len(ss.peers) != 0 {
		t.Errorf("handler called for %v", ss.peers)
	}
	waitFor(t, 3*time.Second, "failures counted", func() bool { return srv.Stats().DTLS.HandshakeFailures >= 2 })
}

// testPKI is a CA with server and device certificates.
type testPKI struct {
	pool   *x509.CertPool
	ca     []byte // DER
	server tls.Certificate
	device tls.Certificate
}

func newTestPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) tls.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			DNSNames:     []string{cn},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	p := &testPKI{pool: x509.NewCertPool(), ca: caDER}
	p.pool.AddCert(caCert)
	p.server = leaf(2, "lwm2m.test", x509.ExtKeyUsageServerAuth)
	p.device = leaf(3, "urn:dev:"+name, x509.ExtKeyUsageClientAuth)
	return p
}

func TestDTLSCertificates(t *testing.T) {
	checkLeaks(t)
	pki, other := newTestPKI(t, "ours"), newTestPKI(t, "other")
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{
		Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool, HandshakeTimeout: 2 * time.Second,
	})
	try := func(t *testing.T, dc *DTLSClientConfig) error {
		dc.HandshakeTimeout = 2 * time.Second
		return getOrRefused(dtlsClientT(t, "127.0.0.1:0", nil, dc), srv.LocalAddr())
	}
	t.Run("mutual", func(t *testing.T) {
		if err := try(t, &DTLSClientConfig{Certificates: []tls.Certificate{pki.device}, RootCAs: pki.pool, ServerName: "lwm2m.test"}); err != nil {
			t.Fatal(err)
		}
		_, id := ss.last()
		if id == nil || id.Certificate == nil || id.Certificate.Subject.CommonName != "urn:dev:ours" || !id.Verified {
			t.Fatalf("identity %+v", id)
		}
	})
	t.Run("pinned server certificate", func(t *testing.T) {
		if err := try(t, &DTLSClientConfig{Certificates: []tls.Certificate{pki.device}, ServerCertificate: pki.server.Certificate[0]}); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name string
		dc   *DTLSClientConfig
	}{
		{"device not in trust store", &DTLSClientConfig{Certificates: []tls.Certificate{other.device}, RootCAs: pki.pool, ServerName: "lwm2m.test"}},
		{"untrusted server", &DTLSClientConfig{Certificates: []tls.Certificate{pki.device}, RootCAs: other.pool, ServerName: "lwm2m.test"}},
		{"wrong server name", &DTLSClientConfig{Certificates: []tls.Certificate{pki.device}, RootCAs: pki.pool, ServerName: "elsewhere.test"}},
		{"wrong pin", &DTLSClientConfig{Certificates: []tls.Certificate{pki.device}, ServerCertificate: other.server.Certificate[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := try(t, tc.dc); !errors.Is(err, ErrHandshake) {
				t.Fatalf("want a handshake error, got %v", err)
			}
		})
	}
	if n := srv.Stats().DTLS.HandshakesDone; n != 2 {
		t.Errorf("%d handshakes done, want 2", n)
	}
}

// relay forwards datagrams between a client and a server, and can change
// the source port it uses towards the server, as a NAT that rebinds.
type relay struct {
	t      testing.TB
	in     *net.UDPConn // the client talks to this
	server netip.AddrPort
	mu     sync.Mutex
	out    *net.UDPConn
	client netip.AddrPort
	wg     sync.WaitGroup
}

func newRelay(t testing.TB, server netip.AddrPort) *relay {
	in, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{t: t, in: in, server: server}
	r.rebind()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := in.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.client = from
			out := r.out
			r.mu.Unlock()
			out.WriteToUDPAddrPort(buf[:n], server)
		}
	}()
	t.Cleanup(func() {
		in.Close()
		r.mu.Lock()
		r.out.Close()
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *relay) addr() netip.AddrPort { return r.in.LocalAddr().(*net.UDPAddr).AddrPort() }

// rebind moves the relay to a new source port towards the server; the
// old one is closed, as a NAT mapping that expired.
func (r *relay) rebind() netip.AddrPort {
	out, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	old := r.out
	r.out = out
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, maxDatagram)
		for {
			n, _, err := out.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			c := r.client
			r.mu.Unlock()
			r.in.WriteToUDPAddrPort(buf[:n], c)
		}
	}()
	return out.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestDTLSConnectionIDRebinding(t *testing.T) {
	checkLeaks(t)
	var ss, cs seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), ConnectionID: true})
	r := newRelay(t, srv.LocalAddr())
	cli := dtlsClientT(t, "127.0.0.1:0", cs.handler("device"), &DTLSClientConfig{PSKIdentity: "dev-2", PSK: []byte("secret-2"), ConnectionID: true})

	mustGet(t, cli, r.addr(), "/a", "server /a")
	key, id := ss.last()
	if id == nil || len(id.ConnectionID) != cidLen {
		t.Fatalf("identity %+v: no connection ID", id)
	}
	mustGet(t, srv, key, "/3/0/0", "device /3/0/0")
	for i := range 2 {
		moved := r.rebind()
		if moved == key {
			t.Fatal("relay kept its port")
		}
		mustGet(t, cli, r.addr(), "/b", "server /b")
		if p, _ := ss.last(); p != key {
			t.Fatalf("rebinding %d: server saw peer %v, want the session's key %v", i, p, key)
		}
		// The server's request, sent to the key, reaches the device at
		// its new address.
		mustGet(t, srv, key, "/3/0/1", "device /3/0/1")
	}
	st := srv.Stats().DTLS
	if st.Moved != 2 || st.Sessions != 1 || st.HandshakesDone != 1 {
		t.Errorf("stats %+v: want 2 moves of one session", st)
	}
}

// crash closes a client endpoint's socket before the endpoint, so that it
// cannot say close_notify: the server keeps the session, as it does for a
// device that lost power.
func crash(e *Endpoint) {
	e.conn.(*dtlsClient).udp.Close()
	e.Close()
}

// TestDTLSRehandshakeSameAddress is RFC 6347 section 4.2.8: a device that
// restarts on the same address and port while the server still holds its
// session handshakes again and is served; its new session replaces the old.
func TestDTLSRehandshakeSameAddress(t *testing.T) {
	checkLeaks(t)
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), ConnectionID: true})
	var cs seen
	dc := &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")}
	first := dtlsClientT(t, "127.0.0.1:0", cs.handler("first"), dc)
	addr := first.LocalAddr()
	mustGet(t, first, srv.LocalAddr(), "/a", "server /a")
	crash(first)

	dc2 := &DTLSClientConfig{PSKIdentity: "dev-2", PSK: []byte("secret-2"), ConnectionID: true}
	second := dtlsClientT(t, addr.String(), cs.handler("second"), dc2)
	mustGet(t, second, srv.LocalAddr(), "/b", "server /b")
	peer, id := ss.last()
	if peer != addr || id.PSKIdentity != "dev-2" {
		t.Fatalf("server saw %v as %+v, want %v as dev-2", peer, id, addr)
	}
	mustGet(t, srv, addr, "/3/0", "second /3/0")
	st := srv.Stats().DTLS
	if st.Replaced != 1 || st.Sessions != 1 || st.HandshakesDone != 2 {
		t.Errorf("stats %+v: want the first session replaced", st)
	}
}

// TestDTLSRehandshakeFailsKeepsSession: a ClientHello from the address of
// an established session that never completes (a spoofed one, say) leaves
// the session working, during the handshake and after it timed out.
func TestDTLSRehandshakeFailsKeepsSession(t *testing.T) {
	checkLeaks(t)
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), HandshakeTimeout: 300 * time.Millisecond})
	cli := dtlsClientT(t, "127.0.0.1:0", nil, &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")})
	mustGet(t, cli, srv.LocalAddr(), "/a", "server /a")
	// Inject a ClientHello from the device's own socket.
	cli.conn.(*dtlsClient).udp.WriteToUDPAddrPort(clientHello(t), srv.LocalAddr())
	waitFor(t, time.Second, "a second handshake", func() bool { return srv.Stats().DTLS.Handshakes == 1 })
	mustGet(t, cli, srv.LocalAddr(), "/b", "server /b")
	waitFor(t, 2*time.Second, "the handshake to time out", func() bool { return srv.Stats().DTLS.Handshakes == 0 })
	mustGet(t, cli, srv.LocalAddr(), "/c", "server /c")
	if st := srv.Stats().DTLS; st.Sessions != 1 || st.Replaced != 0 || st.HandshakeFailures != 1 {
		t.Errorf("stats %+v", st)
	}
}

// captureConn is a net.PacketConn that records what is written to it and
// never delivers anything.
type captureConn struct {
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func (c *captureConn) ReadFrom([]byte) (int, net.Addr, error) {
	<-c.closed
	return 0, nil, net.ErrClosed
}

func (c *captureConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case c.out <- append([]byte(nil), b...):
	default:
	}
	return len(b), nil
}
func (c *captureConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *captureConn) LocalAddr() net.Addr              { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }

// clientHello returns the first datagram of a PSK client's handshake.
func clientHello(t testing.TB) []byte {
	t.Helper()
	cc := &captureConn{out: make(chan []byte, 4), closed: make(chan struct{})}
	dc := &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1"), ConnectionID: true}
	pc, err := dc.pion(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dtls.Client(cc, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5684}, pc)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); c.Handshake() }()
	b := <-cc.out
	c.Close()
	<-done
	if !isClientHello(b) {
		t.Fatalf("captured %x is not a ClientHello", b)
	}
	return b
}

// TestDTLSHandshakeFlood: a few hundred sockets on 24 source addresses
// send ClientHellos and never go on, while an established session keeps
// being served; the half-open state stays within MaxHandshakes and
// MaxHandshakesPerIP, and goes away after HandshakeTimeout.
func TestDTLSHandshakeFlood(t *testing.T) {
	checkLeaks(t)
	var ss seen
	const maxHS, perIP, ips, perAddr = 48, 4, 24, 10
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{
		PSK: pskTable(testPSK), MaxHandshakes: maxHS, MaxHandshakesPerIP: perIP, HandshakeTimeout: time.Second,
	})
	cli := dtlsClientT(t, "127.0.0.1:0", nil, &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")})
	mustGet(t, cli, srv.LocalAddr(), "/before", "server /before")
	hello := clientHello(t)
	base := runtime.NumGoroutine()

	var socks []*net.UDPConn
	for i := range ips {
		for range perAddr {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 2, byte(1+i))})
			if err != nil {
				t.Skipf("cannot bind 127.0.2.%d: %v", 1+i, err)
			}
			defer c.Close()
			socks = append(socks, c)
		}
	}
	maxSeen, maxG := 0, 0
	sample := func() {
		st := srv.Stats().DTLS
		maxSeen = max(maxSeen, st.Handshakes)
		maxG = max(maxG, runtime.NumGoroutine()-base)
	}
	for round := range 2 {
		for _, c := range socks {
			c.WriteToUDPAddrPort(hello, srv.LocalAddr())
		}
		for i := range 5 {
			sample()
			mustGet(t, cli, srv.LocalAddr(), fmt.Sprintf("/during/%d/%d", round, i), fmt.Sprintf("server /during/%d/%d", round, i))
		}
	}
	sample()
	st := srv.Stats().DTLS
	t.Logf("%d ClientHellos from %d sockets: at most %d handshakes and %d extra goroutines at once; stats %+v",
		2*len(socks), len(socks), maxSeen, maxG, st)
	if maxSeen > maxHS {
		t.Errorf("%d handshakes at once, beyond MaxHandshakes %d", maxSeen, maxHS)
	}
	// Per handshake: ours, and pion's handshake loop, reader and the
	// helper of the read in progress.
	if maxG > maxHS*6 {
		t.Errorf("%d extra goroutines for at most %d handshakes", maxG, maxHS)
	}
	if st.HandshakesRefused == 0 {
		t.Error("nothing refused")
	}
	waitFor(t, 5*time.Second, "the half-open handshakes to time out", func() bool { return srv.Stats().DTLS.Handshakes == 0 })
	mustGet(t, cli, srv.LocalAddr(), "/after", "server /after")
	if st := srv.Stats().DTLS; st.Sessions != 1 {
		t.Errorf("stats after %+v", st)
	}
}

// TestDTLSClientSurvivesServerRestart: the client role handshakes again
// with a server that restarted, whether the server said close_notify or
// vanished without a word (its records are then dropped by the new
// server, the CON times out, and the session is reset).
func TestDTLSClientSurvivesServerRestart(t *testing.T) {
	checkLeaks(t)
	for _, tc := range []struct {
		name     string
		graceful bool
	}{{"close_notify", true}, {"crash", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var ss seen
			dc := DTLSConfig{PSK: pskTable(testPSK)}
			srv := dtlsServerT(t, ss.handler("one"), dc)
			addr := srv.LocalAddr()
			cfg := fast(nil)
			cfg.MaxRetransmit = 1
			cli, err := ListenSecure("127.0.0.1:0", cfg, func(netip.AddrPort) *DTLSClientConfig {
				return &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			mustGet(t, cli, addr, "/a", "one /a")
			if !tc.graceful {
				srv.conn.(*dtlsServer).udp.Close()
			}
			srv.Close()
			srv2, err := ListenDTLS(addr.String(), fast(ss.handler("two")), dc)
			if err != nil {
				t.Fatal(err)
			}
			defer srv2.Close()
			var resp *Message
			for i := 0; i < 3 && resp == nil; i++ {
				resp, _ = cli.Do(ctxT(t, 5*time.Second), addr, get("/b"))
			}
			if resp == nil || string(resp.Payload) != "two /b" {
				t.Fatalf("after the restart: %v", resp)
			}
		})
	}
}

// TestDTLSResumption: a device whose session ended (here ResetSession on
// the client role, which says close_notify) comes back with an
// abbreviated handshake (RFC 5246 section 7.3) and keeps its identity.
func TestDTLSResumption(t *testing.T) {
	checkLeaks(t)
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), ResumptionEntries: 64})
	cli := dtlsClientT(t, "127.0.0.1:0", nil, &DTLSClientConfig{PSKIdentity: "dev-2", PSK: []byte("secret-2")})
	mustGet(t, cli, srv.LocalAddr(), "/a", "server /a")
	if !cli.ResetSession(srv.LocalAddr()) {
		t.Fatal("no session to reset")
	}
	waitFor(t, 2*time.Second, "the server to drop the session", func() bool { return srv.Stats().DTLS.Sessions == 0 })
	mustGet(t, cli, srv.LocalAddr(), "/b", "server /b")
	if _, id := ss.last(); id == nil || id.PSKIdentity != "dev-2" {
		t.Fatalf("identity after resumption %+v", id)
	}
	if st := srv.Stats().DTLS; st.Resumed != 1 || st.HandshakesDone != 2 || st.Resumable != 1 {
		t.Errorf("stats %+v: want one resumption", st)
	}
}

// TestDTLSIdleExpiry: the server closes a session idle beyond
// SessionIdleTimeout (saying close_notify), and the device's next request
// handshakes again.
func TestDTLSIdleExpiry(t *testing.T) {
	checkLeaks(t)
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), SessionIdleTimeout: 200 * time.Millisecond})
	cli := dtlsClientT(t, "127.0.0.1:0", nil, &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")})
	mustGet(t, cli, srv.LocalAddr(), "/a", "server /a")
	waitFor(t, 2*time.Second, "the session to expire", func() bool { return srv.Stats().DTLS.Sessions == 0 })
	waitFor(t, 2*time.Second, "the device to learn it", func() bool { return cli.Stats().DTLS.Sessions == 0 })
	mustGet(t, cli, srv.LocalAddr(), "/b", "server /b")
	if st := srv.Stats().DTLS; st.Expired != 1 || st.HandshakesDone != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestDTLSConnectionIDKeyCollision is the collision rule: a device moved
// away from address A with its connection ID, keeping A as its key; a new
// device handshakes from A and takes the key; the moved device's session
// is closed (close_notify to where it is now), and it handshakes again
// under a key of its own.
func TestDTLSConnectionIDKeyCollision(t *testing.T) {
	checkLeaks(t)
	var ss, cs1, cs2 seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), ConnectionID: true})
	r := newRelay(t, srv.LocalAddr())
	cli1 := dtlsClientT(t, "127.0.0.1:0", cs1.handler("first"), &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1"), ConnectionID: true})
	mustGet(t, cli1, r.addr(), "/a", "server /a")
	keyA, _ := ss.last()
	moved := r.rebind() // frees A
	mustGet(t, cli1, r.addr(), "/b", "server /b")
	if p, _ := ss.last(); p != keyA {
		t.Fatalf("moved session seen as %v, want its key %v", p, keyA)
	}

	cli2 := dtlsClientT(t, keyA.String(), cs2.handler("second"), &DTLSClientConfig{PSKIdentity: "dev-2", PSK: []byte("secret-2")})
	mustGet(t, cli2, srv.LocalAddr(), "/c", "server /c")
	if p, id := ss.last(); p != keyA || id.PSKIdentity != "dev-2" {
		t.Fatalf("new device seen as %v %+v", p, id)
	}
	if st := srv.Stats().DTLS; st.Replaced != 1 || st.Sessions != 1 {
		t.Fatalf("stats %+v: want the moved session replaced", st)
	}
	mustGet(t, srv, keyA, "/3/0", "second /3/0")

	// The first device learnt its session ended and comes back under the
	// key of where it is now.
	waitFor(t, 2*time.Second, "the first device's session to end", func() bool { return cli1.Stats().DTLS.Sessions == 0 })
	mustGet(t, cli1, r.addr(), "/d", "server /d")
	if p, id := ss.last(); p != moved || id.PSKIdentity != "dev-1" {
		t.Fatalf("first device back as %v %+v, want %v", p, id, moved)
	}
	mustGet(t, srv, moved, "/3/0", "first /3/0")
	mustGet(t, srv, keyA, "/3/0", "second /3/0")
}

// TestDTLSDualStack: a server on the wildcard address of a dual-stack
// socket (":5684" is one) serves IPv4 devices, whose peer keys are in the
// 4-byte form, and IPv6 ones.
func TestDTLSDualStack(t *testing.T) {
	checkLeaks(t)
	var ss seen
	srv, err := ListenDTLS("[::]:0", fast(ss.handler("server")), DTLSConfig{PSK: pskTable(testPSK), ConnectionID: true})
	if err != nil {
		t.Skipf("no IPv6: %v", err)
	}
	defer srv.Close()
	port := srv.LocalAddr().Port()
	for _, tc := range []struct{ local, server string }{
		{"127.0.0.1:0", "127.0.0.1"},
		{"[::1]:0", "::1"},
	} {
		t.Run(tc.server, func(t *testing.T) {
			cli, err := ListenSecure(tc.local, fast(nil), func(netip.AddrPort) *DTLSClientConfig {
				return &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1"), ConnectionID: true}
			})
			if err != nil {
				t.Skipf("cannot listen on %s: %v", tc.local, err)
			}
			defer cli.Close()
			to := netip.AddrPortFrom(netip.MustParseAddr(tc.server), port)
			mustGet(t, cli, to, "/a", "server /a")
			peer, _ := ss.last()
			if peer != cli.LocalAddr() {
				t.Fatalf("server saw %v, want %v", peer, cli.LocalAddr())
			}
			if _, err := srv.Do(ctxT(t, 5*time.Second), peer, get("/3/0")); err != nil {
				t.Fatalf("server to device: %v", err)
			}
		})
	}
}

func TestX509KeyPairDER(t *testing.T) {
	pki, other := newTestPKI(t, "ours"), newTestPKI(t, "other")
	key := pki.device.PrivateKey.(*ecdsa.PrivateKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	sec1, _ := x509.MarshalECPrivateKey(key)
	for _, kb := range [][]byte{pkcs8, sec1} {
		c, err := X509KeyPairDER(pki.device.Certificate[0], kb)
		if err != nil {
			t.Fatal(err)
		}
		if c.Leaf.Subject.CommonName != "urn:dev:ours" {
			t.Errorf("leaf %v", c.Leaf.Subject)
		}
	}
	if _, err := X509KeyPairDER(other.device.Certificate[0], pkcs8); err == nil {
		t.Error("a key of another certificate accepted")
	}
	if _, err := X509KeyPairDER(pki.device.Certificate[0], []byte("junk")); err == nil {
		t.Error("junk accepted as a key")
	}
}

// TestDTLSClientMixed: one client socket talks plain CoAP to one server
// and DTLS to another, both ways.
func TestDTLSClientMixed(t *testing.T) {
	checkLeaks(t)
	var ps, ds, cs seen
	plain := listen(t, fast(ps.handler("plain")))
	secure := dtlsServerT(t, ds.handler("secure"), DTLSConfig{PSK: pskTable(testPSK)})
	cli, err := ListenSecure("127.0.0.1:0", fast(cs.handler("device")), func(peer netip.AddrPort) *DTLSClientConfig {
		if peer == secure.LocalAddr() {
			return &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	mustGet(t, cli, plain.LocalAddr(), "/p", "plain /p")
	mustGet(t, cli, secure.LocalAddr(), "/s", "secure /s")
	mustGet(t, plain, cli.LocalAddr(), "/3/0", "device /3/0")
	if _, id := cs.last(); id != nil {
		t.Errorf("a plain request carries identity %+v", id)
	}
	mustGet(t, secure, cli.LocalAddr(), "/3/0", "device /3/0")
	if _, id := cs.last(); id == nil {
		t.Error("a DTLS request carries no identity")
	}
	if _, ok := cli.PeerIdentity(plain.LocalAddr()); ok {
		t.Error("identity for the plain server")
	}
	if st := cli.Stats().DTLS; st.Sessions != 1 {
		t.Errorf("client stats %+v", st)
	}
}

// TestDTLSClientQueue: datagrams written while the handshake runs wait
// for it, 8 at most; the rest are dropped and counted.
func TestDTLSClientQueue(t *testing.T) {
	checkLeaks(t)
	hole, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	cli := dtlsClientT(t, "127.0.0.1:0", nil, &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1"), HandshakeTimeout: 300 * time.Millisecond})
	to := hole.LocalAddr().(*net.UDPAddr).AddrPort()
	for i := range 20 {
		if err := cli.conn.WriteTo([]byte{0x50, 0x01, 0, byte(i)}, to); err != nil {
			t.Fatal(err)
		}
	}
	if st := cli.Stats().DTLS; st.Handshakes != 1 || st.QueueDrops != 20-pendingLimit {
		t.Fatalf("stats %+v: want one handshake and %d drops", st, 20-pendingLimit)
	}
	waitFor(t, 2*time.Second, "the handshake to fail", func() bool { return cli.Stats().DTLS.HandshakeFailures == 1 })
	if st := cli.Stats().DTLS; st.Handshakes != 0 || st.QueueDrops != 20 {
		t.Errorf("stats %+v: want the queue dropped with the handshake", st)
	}
}
