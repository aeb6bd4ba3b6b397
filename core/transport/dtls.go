package transport

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/logging"
)

// PeerIdentity is who a DTLS peer proved to be in its handshake.
type PeerIdentity struct {
	// PSKIdentity is the identity the peer's key belongs to (RFC 4279
	// section 2), empty for a certificate handshake. On the client role
	// it is the server's identity hint, usually empty.
	PSKIdentity string

	// Certificate is the peer's leaf certificate, nil for PSK.
	Certificate *x509.Certificate

	// Verified is true when Certificate was checked: chained to the trust
	// store (DTLSConfig.ClientCAs, DTLSClientConfig.RootCAs) or equal to
	// the pinned DTLSClientConfig.ServerCertificate. A server with
	// Certificates and no ClientCAs accepts any device certificate with a
	// valid signature over the handshake, leaving Verified false: the
	// caller compares Certificate with what it stored for the device.
	Verified bool

	// CipherSuite is the negotiated suite, as IANA names it.
	CipherSuite string

	// ConnectionID is the connection ID the peer puts in its records (RFC
	// 9146), nil when none was negotiated.
	ConnectionID []byte
}

// DTLSStats are counters and gauges of a DTLS endpoint's sessions.
type DTLSStats struct {
	Sessions   int // established sessions now
	Handshakes int // handshakes in progress now

	HandshakesDone    uint64 // handshakes completed
	HandshakeFailures uint64 // handshakes that failed or timed out (an unknown PSK identity, a bad certificate, a half-open flood)
	HandshakesRefused uint64 // ClientHellos dropped without state beyond MaxHandshakes, MaxHandshakesPerIP or MaxSessions
	Replaced          uint64 // sessions replaced by a new handshake from their address (RFC 6347 section 4.2.8) or key
	Expired           uint64 // sessions closed after SessionIdleTimeout
	Moved             uint64 // address changes of sessions with a connection ID (RFC 9146 section 6)
	Unroutable        uint64 // datagrams from no session that could not start one, dropped without state
	QueueDrops        uint64 // datagrams dropped because a session's queue was full
	NoSession         uint64 // datagrams written to a peer without a session (ErrNoSession)

	Resumable int    // sessions remembered for resumption now
	Resumed   uint64 // handshakes that found their session to resume (RFC 5246 section 7.3)
}

type dtlsCounters struct {
	done, failures, refused, replaced, expired, moved, unroutable, queueDrops, noSession atomic.Uint64
}

func (c *dtlsCounters) fill(s *DTLSStats) {
	s.HandshakesDone = c.done.Load()
	s.HandshakeFailures = c.failures.Load()
	s.HandshakesRefused = c.refused.Load()
	s.Replaced = c.replaced.Load()
	s.Expired = c.expired.Load()
	s.Moved = c.moved.Load()
	s.Unroutable = c.unroutable.Load()
	s.QueueDrops = c.queueDrops.Load()
	s.NoSession = c.noSession.Load()
}

// secureConn is what a DTLS packetConn offers the Endpoint beyond
// datagrams.
type secureConn interface {
	identity(peer netip.AddrPort) (*PeerIdentity, bool)
	resetSession(peer netip.AddrPort) bool
	dtlsStats() DTLSStats
	// peerTimedOut learns that a request or CON to peer got no answer.
	peerTimedOut(peer netip.AddrPort)
	// canSend reports whether a datagram to peer can go out (a server
	// needs a session; a client starts one).
	canSend(peer netip.AddrPort) bool
}

// PeerIdentity returns the DTLS identity of the peer with the given key,
// false when the endpoint is plain UDP or has no session with it.
func (e *Endpoint) PeerIdentity(peer netip.AddrPort) (*PeerIdentity, bool) {
	if e.sec == nil {
		return nil, false
	}
	return e.sec.identity(normalize(peer))
}

// ResetSession ends the DTLS session with peer, if there is one, and
// reports whether there was. On the client role (ListenSecure) the next
// datagram written to peer starts a new handshake; on the server role the
// device has to handshake again. It does nothing on plain UDP.
func (e *Endpoint) ResetSession(peer netip.AddrPort) bool {
	if e.sec == nil {
		return false
	}
	return e.sec.resetSession(normalize(peer))
}

// peerIdentity is the identity a Request carries, nil over plain UDP.
func (e *Endpoint) peerIdentity(peer netip.AddrPort) *PeerIdentity {
	if e.sec == nil {
		return nil
	}
	id, _ := e.sec.identity(peer)
	return id
}

// identityOf builds a PeerIdentity from an established connection.
func identityOf(c *dtls.Conn, verified bool, cid []byte) *PeerIdentity {
	st, ok := c.ConnectionState()
	if !ok {
		return &PeerIdentity{}
	}
	id := &PeerIdentity{
		PSKIdentity:  string(st.IdentityHint),
		CipherSuite:  st.CipherSuiteID.String(),
		ConnectionID: cid,
	}
	if len(st.PeerCertificates) > 0 {
		if cert, err := x509.ParseCertificate(st.PeerCertificates[0]); err == nil {
			id.Certificate = cert
			id.Verified = verified
		}
	}
	return id
}

// Cipher suites: the ones LwM2M 1.1 mandates (Transport section 5.2.2:
// TLS_PSK_WITH_AES_128_CCM_8, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8) first,
// then the CCM, GCM and CBC suites pion implements that peers such as
// libcoap over OpenSSL or GnuTLS offer.
var (
	pskSuites = []dtls.CipherSuiteID{
		dtls.TLS_PSK_WITH_AES_128_CCM_8,
		dtls.TLS_PSK_WITH_AES_128_CCM,
		dtls.TLS_PSK_WITH_AES_128_GCM_SHA256,
		dtls.TLS_PSK_WITH_AES_128_CBC_SHA256,
	}
	certSuites = []dtls.CipherSuiteID{
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		dtls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	}
)

func cipherSuites(psk, certs bool) []dtls.CipherSuiteID {
	var s []dtls.CipherSuiteID
	if psk {
		s = append(s, pskSuites...)
	}
	if certs {
		s = append(s, certSuites...)
	}
	return s
}

// pionLogger hands pion's warnings and errors to the endpoint's logger at
// debug level (a peer's broken handshake is not the operator's warning)
// and drops the rest.
type pionLogger struct{ log *slog.Logger }

func (l pionLogger) NewLogger(scope string) logging.LeveledLogger { return l }
func (pionLogger) Trace(string)                                   {}
func (pionLogger) Tracef(string, ...any)                          {}
func (pionLogger) Debug(string)                                   {}
func (pionLogger) Debugf(string, ...any)                          {}
func (pionLogger) Info(string)                                    {}
func (pionLogger) Infof(string, ...any)                           {}
func (l pionLogger) Warn(msg string)                              { l.log.Debug("dtls: " + msg) }
func (l pionLogger) Warnf(f string, a ...any)                     { l.log.Debug("dtls: " + fmt.Sprintf(f, a...)) }
func (l pionLogger) Error(msg string)                             { l.log.Debug("dtls: " + msg) }
func (l pionLogger) Errorf(f string, a ...any)                    { l.log.Debug("dtls: " + fmt.Sprintf(f, a...)) }

// inPacket is one datagram the demultiplexer hands a session.
type inPacket struct {
	b    []byte
	from netip.AddrPort
}

// vconn is the net.PacketConn one pion connection runs over: datagrams
// come in through a bounded queue the demultiplexer fills, and go out
// straight to the shared socket at the address pion names (the session's
// current one: pion moves it on an authenticated CID record, RFC 9146
// section 6). Close closes the queue, never the socket.
type vconn struct {
	udp   *net.UDPConn
	in    chan inPacket
	close chan struct{}
	once  sync.Once

	mu   sync.Mutex
	rdl  time.Time     // read deadline
	wake chan struct{} // closed when rdl changes

	// The last address ReadFrom returned, reused while it stays the same
	// (pion compares addresses as interface values).
	lastAP netip.AddrPort
	lastUA *net.UDPAddr
}

func newVconn(udp *net.UDPConn, queue int) *vconn {
	return &vconn{udp: udp, in: make(chan inPacket, queue), close: make(chan struct{}), wake: make(chan struct{})}
}

// push queues a datagram without blocking; false when the queue is full.
func (v *vconn) push(b []byte, from netip.AddrPort) bool {
	select {
	case v.in <- inPacket{b, from}:
		return true
	default:
		return false
	}
}

func (v *vconn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		v.mu.Lock()
		dl, wake := v.rdl, v.wake
		v.mu.Unlock()
		var expire <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, nil, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			expire = t.C
		}
		select {
		case pk := <-v.in:
			n := copy(p, pk.b)
			if pk.from != v.lastAP || v.lastUA == nil {
				v.lastAP, v.lastUA = pk.from, net.UDPAddrFromAddrPort(pk.from)
			}
			return n, v.lastUA, nil
		case <-v.close:
			return 0, nil, net.ErrClosed
		case <-wake:
		case <-expire:
			return 0, nil, os.ErrDeadlineExceeded
		}
	}
}

func (v *vconn) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-v.close:
		return 0, net.ErrClosed
	default:
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("transport: dtls: write to %v: not a UDP address", addr)
	}
	return v.udp.WriteToUDPAddrPort(p, normalize(ua.AddrPort()))
}

func (v *vconn) Close() error {
	v.once.Do(func() { close(v.close) })
	return nil
}

func (v *vconn) LocalAddr() net.Addr { return v.udp.LocalAddr() }

func (v *vconn) SetDeadline(t time.Time) error { return v.SetReadDeadline(t) }

func (v *vconn) SetReadDeadline(t time.Time) error {
	v.mu.Lock()
	v.rdl = t
	close(v.wake)
	v.wake = make(chan struct{})
	v.mu.Unlock()
	return nil
}

func (v *vconn) SetWriteDeadline(time.Time) error { return nil }

// runHandshake runs a connection's handshake within d.
func runHandshake(c *dtls.Conn, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.HandshakeContext(ctx)
}

// sessionReadBuffer is what a session reads decrypted datagrams into:
// pion reads records into 8 KiB (its inboundBufferSize), so no datagram
// it hands over is larger.
const sessionReadBuffer = 8192

// X509KeyPairDER builds a certificate for DTLSConfig.Certificates or
// DTLSClientConfig.Certificates from DER bytes as the LwM2M Security
// object holds them (resource 3, the certificate; resource 5, the private
// key in PKCS #8, SEC 1 or PKCS #1 form). The key must match the
// certificate.
func X509KeyPairDER(certDER, keyDER []byte) (tls.Certificate, error) {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("transport: certificate: %w", err)
	}
	var key crypto.Signer
	if k, err := x509.ParsePKCS8PrivateKey(keyDER); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return tls.Certificate{}, fmt.Errorf("transport: private key: %T cannot sign", k)
		}
		key = s
	} else if k, err := x509.ParseECPrivateKey(keyDER); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS1PrivateKey(keyDER); err == nil {
		key = k
	} else {
		return tls.Certificate{}, errors.New("transport: private key: neither PKCS #8, SEC 1 nor PKCS #1")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return tls.Certificate{}, errors.New("transport: private key does not match the certificate")
	}
	return tls.Certificate{Certificate: [][]byte{bytes.Clone(certDER)}, PrivateKey: key, Leaf: cert}, nil
}
