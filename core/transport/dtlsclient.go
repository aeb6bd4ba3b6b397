package transport

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
)

// DTLSClientConfig configures DTLS with one server in the client role
// (ListenSecure). Either PSK (with PSKIdentity) or Certificates is set.
type DTLSClientConfig struct {
	// PSKIdentity and PSK are the device's pre-shared key and its
	// identity (LwM2M Security object resources 3 and 5).
	PSKIdentity string
	PSK         []byte

	// Certificates is the device's certificate chain and key, offered
	// when the server asks for one.
	Certificates []tls.Certificate

	// ServerCertificate, when set, is the DER of the one server
	// certificate to accept (LwM2M Security object resource 4, "Server
	// Public Key"): the server's leaf must equal it byte for byte, and
	// RootCAs and ServerName are not used.
	ServerCertificate []byte

	// RootCAs verifies the server's certificate chain when
	// ServerCertificate is not set (nil: the system's roots), and
	// ServerName, if set, must be one of its names.
	RootCAs    *x509.CertPool
	ServerName string

	// ConnectionID asks the server for a connection ID (RFC 9146), so
	// that the session outlives a change of the device's address (a NAT
	// rebinding): the device sends the server's CID, and asks for none
	// itself.
	ConnectionID bool

	// HandshakeTimeout bounds a handshake: 10 s by default.
	HandshakeTimeout time.Duration

	// SessionIdleTimeout ends a session that received nothing for that
	// long, so that the next datagram handshakes again; 0 keeps it.
	SessionIdleTimeout time.Duration
}

// pendingLimit bounds the datagrams queued for a peer while its handshake
// runs; CoAP retransmission covers what is dropped.
const pendingLimit = 8

func (c *DTLSClientConfig) pion(log *slog.Logger) (*dtls.Config, error) {
	psk := len(c.PSK) > 0
	if !psk && len(c.Certificates) == 0 && c.ServerCertificate == nil && c.RootCAs == nil {
		return nil, errors.New("transport: dtls client config: no credentials")
	}
	pc := &dtls.Config{
		CipherSuites:         cipherSuites(psk, !psk || len(c.Certificates) > 0),
		Certificates:         c.Certificates,
		RootCAs:              c.RootCAs,
		ServerName:           c.ServerName,
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        pionLogger{log},
		FlightInterval:       time.Second,
	}
	if psk {
		key := bytes.Clone(c.PSK)
		pc.PSK = func([]byte) ([]byte, error) { return key, nil }
		pc.PSKIdentityHint = []byte(c.PSKIdentity)
	}
	if pin := c.ServerCertificate; pin != nil {
		pin = bytes.Clone(pin)
		pc.InsecureSkipVerify = true // replaced by the comparison below
		pc.RootCAs, pc.ServerName = nil, ""
		pc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], pin) {
				return errors.New("transport: dtls: server certificate is not the pinned one")
			}
			return nil
		}
	}
	if c.ConnectionID {
		pc.ConnectionIDGenerator = dtls.OnlySendCIDGenerator()
	}
	return pc, nil
}

// ListenSecure opens a UDP socket on addr and starts an Endpoint in the
// client role that talks to each peer either plainly or over DTLS: secure
// returns the DTLS configuration for a peer, or nil for plain CoAP. It is
// called when a datagram is written to a peer without a session and when
// one arrives from such a peer, on the endpoint's goroutines, and must be
// quick and must not call the endpoint. A session keeps the configuration
// it started with; ResetSession makes a changed one apply.
//
// A DTLS session starts with the first datagram written to its peer (up
// to 8 datagrams wait for the handshake; more are dropped, and CoAP
// retransmits them) and is started again the same way after it ended: a
// fatal alert or close_notify from the server, SessionIdleTimeout,
// ResetSession, or a CON to the peer that got no answer at all (a server
// that restarted has forgotten the session and drops its records). When
// a handshake fails, every Do and Notify waiting on that peer fails at
// once with an error wrapping ErrHandshake.
func ListenSecure(addr string, cfg Config, secure func(peer netip.AddrPort) *DTLSClientConfig) (*Endpoint, error) {
	return listenUDP(addr, func(c *net.UDPConn) (*Endpoint, error) { return NewSecureEndpoint(c, cfg, secure) })
}

// NewSecureEndpoint is ListenSecure over conn, which it owns from then on.
func NewSecureEndpoint(conn *net.UDPConn, cfg Config, secure func(peer netip.AddrPort) *DTLSClientConfig) (*Endpoint, error) {
	if secure == nil {
		return nil, errors.New("transport: listen secure: nil secure")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := conn.SetReadBuffer(cfg.ReadBuffer); err != nil {
		return nil, fmt.Errorf("transport: set read buffer: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &dtlsClient{
		udp:      conn,
		secure:   secure,
		log:      log,
		epoch:    time.Now(),
		rx:       make(chan datagram, 256),
		done:     make(chan struct{}),
		sessions: make(map[netip.AddrPort]*session),
		resume:   newResumptionStore(64, 24*time.Hour),
	}
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		c.local = a.AddrPort()
	}
	e := newEndpoint(c, cfg)
	e.sec = c
	c.failed = e.failPeer
	e.readBuffer = readBufferSize(conn)
	e.readBufferLimit = readBufferLimit()
	c.wg.Add(2)
	go c.demux()
	go c.janitor()
	e.start()
	return e, nil
}

// dtlsClient is the client role's packetConn: plain datagrams pass
// through, DTLS peers get a session each, keyed by the server's address.
type dtlsClient struct {
	udp    *net.UDPConn
	secure func(netip.AddrPort) *DTLSClientConfig
	log    *slog.Logger
	local  netip.AddrPort
	epoch  time.Time

	rx   chan datagram
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	sessions map[netip.AddrPort]*session // handshaking or established
	idle     map[*session]time.Duration  // sessions with a SessionIdleTimeout

	stats  dtlsCounters
	resume *resumptionStore // pion keys it by server address and name

	// failed learns of a failed handshake (the Endpoint fails what waits
	// on the peer); set before the first write.
	failed func(peer netip.AddrPort, err error)
}

func (c *dtlsClient) now() int64 { return int64(time.Since(c.epoch)) }

func (c *dtlsClient) LocalAddr() netip.AddrPort { return c.local }

func (c *dtlsClient) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.rx:
		return copy(b, d.b), d.peer, nil
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *dtlsClient) WriteTo(b []byte, peer netip.AddrPort) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	sess := c.sessions[peer]
	if sess == nil {
		dc := c.secure(peer)
		if dc == nil {
			c.mu.Unlock()
			_, err := c.udp.WriteToUDPAddrPort(b, peer)
			return err
		}
		var err error
		sess, err = c.startLocked(peer, dc)
		if err != nil {
			c.mu.Unlock()
			return err
		}
	}
	if !sess.established {
		if len(sess.queue) >= pendingLimit {
			c.mu.Unlock()
			c.stats.queueDrops.Add(1)
			return nil
		}
		sess.queue = append(sess.queue, bytes.Clone(b))
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	_, err := sess.conn.Write(b)
	return err
}

// startLocked creates a session with peer and starts its goroutine. c.mu
// is held.
func (c *dtlsClient) startLocked(peer netip.AddrPort, dc *DTLSClientConfig) (*session, error) {
	pc, err := dc.pion(c.log)
	if err != nil {
		return nil, err
	}
	pc.SessionStore = c.resume
	sess := &session{key: peer, addr: peer, vc: newVconn(c.udp, sessionQueue)}
	sess.verified = true // by RootCAs or the pin
	conn, err := dtls.Client(sess.vc, net.UDPAddrFromAddrPort(peer), pc)
	if err != nil {
		return nil, fmt.Errorf("transport: dtls client %s: %w", peer, err)
	}
	sess.conn = conn
	sess.last.Store(c.now())
	c.sessions[peer] = sess
	if dc.SessionIdleTimeout > 0 {
		if c.idle == nil {
			c.idle = make(map[*session]time.Duration)
		}
		c.idle[sess] = dc.SessionIdleTimeout
	}
	timeout := dc.HandshakeTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c.wg.Add(1)
	go c.serve(sess, timeout)
	return sess, nil
}

func (c *dtlsClient) serve(sess *session, timeout time.Duration) {
	defer c.wg.Done()
	defer sess.conn.Close()
	defer c.remove(sess)
	if err := runHandshake(sess.conn, timeout); err != nil {
		c.stats.failures.Add(1)
		c.log.Debug("dtls handshake failed", "peer", sess.key, "err", err)
		c.remove(sess)
		c.failed(sess.key, err)
		return
	}
	c.mu.Lock()
	if c.closed || c.sessions[sess.key] != sess {
		c.mu.Unlock()
		return
	}
	sess.id.Store(identityOf(sess.conn, sess.verified, nil))
	sess.established = true
	q := sess.queue
	sess.queue = nil
	c.mu.Unlock()
	c.stats.done.Add(1)
	for _, b := range q {
		if _, err := sess.conn.Write(b); err != nil {
			return
		}
	}
	buf := make([]byte, sessionReadBuffer)
	for {
		n, err := sess.conn.Read(buf)
		if err != nil {
			c.log.Debug("dtls session ended", "peer", sess.key, "err", err)
			return
		}
		sess.last.Store(c.now())
		select {
		case c.rx <- datagram{append([]byte(nil), buf[:n]...), sess.key}:
		case <-c.done:
			return
		}
	}
}

// remove drops sess from the table if it is still there.
func (c *dtlsClient) remove(sess *session) {
	c.mu.Lock()
	if c.sessions[sess.key] == sess {
		delete(c.sessions, sess.key)
	}
	delete(c.idle, sess)
	dropped := len(sess.queue)
	sess.queue = nil
	sess.established = false
	c.mu.Unlock()
	c.stats.queueDrops.Add(uint64(dropped))
}

func (c *dtlsClient) demux() {
	defer c.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := c.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-c.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-c.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		from = normalize(from)
		c.mu.Lock()
		sess := c.sessions[from]
		c.mu.Unlock()
		if sess != nil {
			if !sess.vc.push(append([]byte(nil), buf[:n]...), from) {
				c.stats.queueDrops.Add(1)
			}
			continue
		}
		if c.secure(from) != nil {
			// A DTLS peer we have no session with: a record of a session
			// that ended. Nothing to do with it.
			c.stats.unroutable.Add(1)
			continue
		}
		select {
		case c.rx <- datagram{append([]byte(nil), buf[:n]...), from}:
		case <-c.done:
			return
		}
	}
}

// janitor ends sessions idle beyond their SessionIdleTimeout.
func (c *dtlsClient) janitor() {
	defer c.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		now := c.now()
		var idle []*session
		c.mu.Lock()
		for sess, d := range c.idle {
			if sess.established && now-sess.last.Load() > int64(d) {
				idle = append(idle, sess)
			}
		}
		c.mu.Unlock()
		for _, sess := range idle {
			c.stats.expired.Add(1)
			sess.conn.Close()
		}
	}
}

func (c *dtlsClient) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var all []*session
	for _, s := range c.sessions {
		all = append(all, s)
	}
	c.mu.Unlock()
	close(c.done)
	for _, s := range all {
		s.conn.Close()
	}
	err := c.udp.Close()
	c.wg.Wait()
	return err
}

func (c *dtlsClient) identity(peer netip.AddrPort) (*PeerIdentity, bool) {
	c.mu.Lock()
	sess := c.sessions[peer]
	c.mu.Unlock()
	if sess == nil {
		return nil, false
	}
	id := sess.id.Load()
	return id, id != nil
}

func (c *dtlsClient) resetSession(peer netip.AddrPort) bool {
	c.mu.Lock()
	sess := c.sessions[peer]
	if sess != nil {
		delete(c.sessions, peer)
	}
	c.mu.Unlock()
	if sess == nil {
		return false
	}
	sess.conn.Close()
	return true
}

// peerTimedOut ends the session with a server that answered nothing: if
// the server restarted, it dropped our records without a word, and only a
// new handshake gets through.
func (c *dtlsClient) peerTimedOut(peer netip.AddrPort) {
	c.mu.Lock()
	sess := c.sessions[peer]
	ok := sess != nil && sess.established
	c.mu.Unlock()
	if ok {
		c.log.Debug("dtls session reset after a timeout", "peer", peer)
		c.resetSession(peer)
	}
}

func (c *dtlsClient) canSend(netip.AddrPort) bool { return true }

func (c *dtlsClient) dtlsStats() DTLSStats {
	var st DTLSStats
	c.mu.Lock()
	for _, s := range c.sessions {
		if s.established {
			st.Sessions++
		} else {
			st.Handshakes++
		}
	}
	c.mu.Unlock()
	c.stats.fill(&st)
	st.Resumable, st.Resumed = c.resume.len(), c.resume.hits.Load()
	return st
}
