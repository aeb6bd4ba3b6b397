package transport

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
)

// DTLSConfig configures the server role of DTLS (ListenDTLS). The zero
// value of every bound selects its default; PSK or Certificates must be
// set.
type DTLSConfig struct {
	// PSK returns the key of a client's PSK identity (RFC 4279). An error
	// refuses the handshake: an unknown identity never completes one. nil
	// offers no PSK cipher suite. It is called on a handshake goroutine,
	// concurrently, and again when a session is resumed (so that a
	// revoked key cannot be resumed).
	PSK func(identity string) ([]byte, error)

	// Certificates are the server's certificate chains, offered with the
	// ECDHE cipher suites.
	Certificates []tls.Certificate

	// ClientCAs is the trust store for device certificates: when set, a
	// certificate handshake requires a device certificate that chains to
	// it. With Certificates and without ClientCAs, a device certificate
	// is required but not chain-verified: PeerIdentity.Verified is false
	// and the caller compares the certificate with the one it stored.
	ClientCAs *x509.CertPool

	// ConnectionID gives each session a random 8-byte connection ID (RFC
	// 9146) when the client supports the extension, so that a device
	// whose address changes keeps its session.
	ConnectionID bool

	// HandshakeTimeout bounds a handshake from the first ClientHello: 5 s
	// by default.
	HandshakeTimeout time.Duration

	// MaxHandshakes bounds the handshakes in progress (half-open state,
	// about 30 KB and 4 goroutines each in pion) and MaxHandshakesPerIP
	// those from one source IP address: 512 and 8 by default. A
	// ClientHello beyond either is dropped without state and counted; the
	// client retransmits it.
	MaxHandshakes      int
	MaxHandshakesPerIP int

	// MaxSessions bounds established sessions plus handshakes: 100000 by
	// default. Beyond it a ClientHello is dropped and counted.
	MaxSessions int

	// SessionIdleTimeout closes a session that received nothing for that
	// long (give or take an eighth): 30 minutes by default. The device
	// handshakes again.
	SessionIdleTimeout time.Duration

	// ResumptionEntries, when positive, lets devices resume sessions
	// with an abbreviated handshake (RFC 5246 section 7.3), remembering
	// at most that many, the oldest forgotten first (each entry costs
	// a few hundred bytes). pion resumes PSK sessions and certificate
	// sessions without client authentication only, and for PSK a resumed
	// handshake costs as much as a full one (RATIONALE.md, "DTLS
	// sessions"): 0, the default, disables it.
	ResumptionEntries int

	// ResumptionLifetime is how long a session can be resumed after its
	// handshake: 24 hours by default.
	ResumptionLifetime time.Duration
}

func (d DTLSConfig) withDefaults() (DTLSConfig, error) {
	if d.HandshakeTimeout == 0 {
		d.HandshakeTimeout = 5 * time.Second
	}
	if d.MaxHandshakes == 0 {
		d.MaxHandshakes = 512
	}
	if d.MaxHandshakesPerIP == 0 {
		d.MaxHandshakesPerIP = 8
	}
	if d.MaxSessions == 0 {
		d.MaxSessions = 100000
	}
	if d.SessionIdleTimeout == 0 {
		d.SessionIdleTimeout = 30 * time.Minute
	}
	if d.ResumptionLifetime == 0 {
		d.ResumptionLifetime = 24 * time.Hour
	}
	switch {
	case d.PSK == nil && len(d.Certificates) == 0:
		return d, errors.New("transport: dtls config: neither PSK nor Certificates")
	case d.ClientCAs != nil && len(d.Certificates) == 0:
		return d, errors.New("transport: dtls config: ClientCAs without Certificates")
	case d.HandshakeTimeout < 0, d.SessionIdleTimeout < 0, d.ResumptionLifetime < 0:
		return d, errors.New("transport: dtls config: negative duration")
	case d.MaxHandshakes < 0, d.MaxHandshakesPerIP < 0, d.MaxSessions < 0:
		return d, errors.New("transport: dtls config: negative bound")
	}
	return d, nil
}

const (
	cidLen       = 8  // the connection IDs a server issues
	sessionQueue = 32 // datagrams queued for one session
)

// ListenDTLS opens a UDP socket on addr ("127.0.0.1:0", ":5684") and
// starts an Endpoint that speaks CoAP over DTLS 1.2 (RFC 7252 section 9)
// on it, in the server role.
func ListenDTLS(addr string, cfg Config, dc DTLSConfig) (*Endpoint, error) {
	return listenUDP(addr, func(c *net.UDPConn) (*Endpoint, error) { return NewDTLSEndpoint(c, cfg, dc) })
}

// NewDTLSEndpoint starts a DTLS server Endpoint on conn, which it owns from
// then on. Every datagram on conn is DTLS: plain CoAP is not served.
//
// Each session is a pion server connection over a queue the endpoint's
// own demultiplexer fills, so that the endpoint decides what may create
// state (see the package comment). Request.Peer is the session's peer
// key: the device's address when it handshook, which stays the key when
// a connection ID lets the device move.
func NewDTLSEndpoint(conn *net.UDPConn, cfg Config, dc DTLSConfig) (*Endpoint, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dc, err = dc.withDefaults()
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
	s := newDTLSServer(conn, dc, log)
	e := newEndpoint(s, cfg)
	e.sec = s
	e.readBuffer = readBufferSize(conn)
	e.readBufferLimit = readBufferLimit()
	s.start()
	e.start()
	return e, nil
}

// dtlsServer is the server role's packetConn: it owns the socket, routes
// each datagram to a session (by connection ID, else by source address),
// starts sessions for ClientHellos within its bounds, and hands the
// sessions' decrypted datagrams to the Endpoint with the session's key.
type dtlsServer struct {
	udp   *net.UDPConn
	cfg   DTLSConfig
	base  dtls.Config // copied per session
	log   *slog.Logger
	local netip.AddrPort
	epoch time.Time

	rx   chan datagram // decrypted datagrams for the Endpoint
	done chan struct{}
	wg   sync.WaitGroup

	mu       sync.RWMutex
	closed   bool
	byAddr   map[netip.AddrPort]*session // established, by current address
	byKey    map[netip.AddrPort]*session // established, by peer key
	pending  map[netip.AddrPort]*session // handshaking, by source address
	byCID    map[string]*session         // both, by the CID they receive
	perIP    map[netip.Addr]int          // handshakes by source IP
	closeErr error

	stats  dtlsCounters
	resume *resumptionStore // nil without resumption
}

// session is one DTLS association.
type session struct {
	conn *dtls.Conn
	vc   *vconn
	key  netip.AddrPort // the peer key the Endpoint sees

	addr        netip.AddrPort // current address; guarded by the owner's mu
	cid         string         // the CID this side issued, "" without
	established bool           // guarded by the owner's mu
	cidUsed     atomic.Bool    // the CID went into the ServerHello
	verified    bool           // certificates were chain-verified
	id          atomic.Pointer[PeerIdentity]
	last        atomic.Int64 // last datagram in, on the owner's clock

	// client role only, guarded by the owner's mu
	queue [][]byte
}

func newDTLSServer(udp *net.UDPConn, dc DTLSConfig, log *slog.Logger) *dtlsServer {
	s := &dtlsServer{
		udp:     udp,
		cfg:     dc,
		log:     log,
		epoch:   time.Now(),
		rx:      make(chan datagram, 1024),
		done:    make(chan struct{}),
		byAddr:  make(map[netip.AddrPort]*session),
		byKey:   make(map[netip.AddrPort]*session),
		pending: make(map[netip.AddrPort]*session),
		byCID:   make(map[string]*session),
		perIP:   make(map[netip.Addr]int),
	}
	if a, ok := udp.LocalAddr().(*net.UDPAddr); ok {
		s.local = a.AddrPort()
	}
	s.base = pionServerConfig(dc, log)
	if dc.ResumptionEntries > 0 {
		s.resume = newResumptionStore(dc.ResumptionEntries, dc.ResumptionLifetime)
		s.base.SessionStore = s.resume
	}
	return s
}

// pionServerConfig is the pion configuration every session's is copied
// from.
func pionServerConfig(dc DTLSConfig, log *slog.Logger) dtls.Config {
	c := dtls.Config{
		CipherSuites:         cipherSuites(dc.PSK != nil, len(dc.Certificates) > 0),
		Certificates:         dc.Certificates,
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        pionLogger{log},
		FlightInterval:       time.Second,
	}
	if dc.PSK != nil {
		psk := dc.PSK
		c.PSK = func(identity []byte) ([]byte, error) { return psk(string(identity)) }
	}
	switch {
	case dc.ClientCAs != nil:
		c.ClientCAs = dc.ClientCAs
		c.ClientAuth = dtls.RequireAndVerifyClientCert
	case len(dc.Certificates) > 0:
		c.ClientAuth = dtls.RequireAnyClientCert
	}
	return c
}

func (s *dtlsServer) now() int64 { return int64(time.Since(s.epoch)) }

func (s *dtlsServer) start() {
	s.wg.Add(2)
	go s.demux()
	go s.janitor()
}

func (s *dtlsServer) LocalAddr() netip.AddrPort { return s.local }

// ReadFrom returns the next decrypted datagram and its session's key.
func (s *dtlsServer) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-s.rx:
		return copy(b, d.b), d.peer, nil
	case <-s.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// WriteTo encrypts b for the session with key peer and sends it to the
// session's current address.
func (s *dtlsServer) WriteTo(b []byte, peer netip.AddrPort) error {
	s.mu.RLock()
	sess := s.byKey[peer]
	s.mu.RUnlock()
	if sess == nil {
		s.stats.noSession.Add(1)
		return ErrNoSession
	}
	_, err := sess.conn.Write(b)
	return err
}

// Close closes every session (each sends close_notify, so that devices
// handshake again at once), then the socket, and waits for the
// goroutines.
func (s *dtlsServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.closeErr
	}
	s.closed = true
	var all []*session
	for _, x := range s.byKey {
		all = append(all, x)
	}
	for _, x := range s.pending {
		all = append(all, x)
	}
	s.mu.Unlock()
	close(s.done)
	for _, x := range all {
		x.conn.Close()
	}
	err := s.udp.Close()
	s.wg.Wait()
	s.mu.Lock()
	s.closeErr = err
	s.mu.Unlock()
	return err
}

func (s *dtlsServer) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// demux reads the socket and routes every datagram.
func (s *dtlsServer) demux() {
	defer s.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("dtls read failed", "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		s.route(buf[:n], normalize(from))
	}
}

// route hands one datagram to the sessions it may belong to, or starts a
// handshake for a ClientHello, or drops it. b is the reader's buffer.
//
// A tls12_cid record goes to the session that issued its CID, wherever it
// comes from. Otherwise the source address decides: epoch 0 records go to
// the handshake in progress from that address, if any, else to its
// established session; records of a later epoch go to both, because
// during a new handshake beside an old session (RFC 6347 section 4.2.8)
// either may own them, and the one that cannot decrypt a record drops it
// (section 4.1.2.7). A ClientHello from an address without a handshake in
// progress starts one, within the bounds, even when the address has an
// established session: a rebooted device must be able to come back.
func (s *dtlsServer) route(b []byte, from netip.AddrPort) {
	cl := 0
	if s.cfg.ConnectionID {
		cl = cidLen
	}
	r, ok := parseRecord(b, cl)
	if !ok {
		s.stats.unroutable.Add(1)
		return
	}
	if r.contentType == contentCID {
		s.mu.RLock()
		sess := s.byCID[string(r.cid)]
		s.mu.RUnlock()
		if sess == nil {
			s.stats.unroutable.Add(1)
			return
		}
		s.deliver(sess, b, from)
		return
	}
	s.mu.RLock()
	old, hs := s.byAddr[from], s.pending[from]
	s.mu.RUnlock()
	if r.epoch == 0 && hs == nil && isClientHello(b) {
		var why string
		started := false
		s.mu.Lock()
		if hs = s.pending[from]; hs == nil {
			hs, why = s.startLocked(from)
			started = hs != nil
		}
		s.mu.Unlock()
		if hs == nil {
			s.stats.refused.Add(1)
			s.log.Debug("dtls handshake refused", "peer", from, "reason", why)
			return
		}
		s.deliver(hs, b, from)
		if started {
			s.wg.Add(1)
			go s.serve(hs)
		}
		return
	}
	switch {
	case r.epoch == 0 && hs != nil:
		s.deliver(hs, b, from)
	case r.epoch == 0 && old != nil:
		s.deliver(old, b, from)
	case hs != nil || old != nil:
		if hs != nil {
			s.deliver(hs, b, from)
		}
		if old != nil {
			s.deliver(old, b, from)
		}
	default:
		s.stats.unroutable.Add(1)
	}
}

// deliver queues a copy of b for sess.
func (s *dtlsServer) deliver(sess *session, b []byte, from netip.AddrPort) {
	if !sess.vc.push(append([]byte(nil), b...), from) {
		s.stats.queueDrops.Add(1)
	}
}

// startLocked creates the state of a handshake from addr, or returns why
// not. s.mu is held.
func (s *dtlsServer) startLocked(from netip.AddrPort) (*session, string) {
	switch {
	case s.closed:
		return nil, "closed"
	case len(s.pending) >= s.cfg.MaxHandshakes:
		return nil, "MaxHandshakes"
	case s.perIP[from.Addr()] >= s.cfg.MaxHandshakesPerIP:
		return nil, "MaxHandshakesPerIP"
	case len(s.pending)+len(s.byKey) >= s.cfg.MaxSessions:
		return nil, "MaxSessions"
	}
	sess := &session{key: from, addr: from, vc: newVconn(s.udp, sessionQueue)}
	cfg := s.base
	if s.cfg.ConnectionID {
		var cid []byte
		for {
			cid = make([]byte, cidLen)
			rand.Read(cid)
			if s.byCID[string(cid)] == nil {
				break
			}
		}
		sess.cid = string(cid)
		s.byCID[sess.cid] = sess
		cfg.ConnectionIDGenerator = func() []byte { return cid }
		cfg.ServerHelloMessageHook = func(m handshake.MessageServerHello) handshake.Message {
			for _, x := range m.Extensions {
				if _, ok := x.(*extension.ConnectionID); ok {
					sess.cidUsed.Store(true)
				}
			}
			return &m
		}
	}
	sess.verified = cfg.ClientAuth == dtls.RequireAndVerifyClientCert
	c, err := dtls.Server(sess.vc, net.UDPAddrFromAddrPort(from), &cfg)
	if err != nil {
		// Only a broken configuration gets here, and NewDTLSEndpoint
		// checked it.
		if sess.cid != "" {
			delete(s.byCID, sess.cid)
		}
		return nil, err.Error()
	}
	sess.conn = c
	sess.last.Store(s.now())
	s.pending[from] = sess
	s.perIP[from.Addr()]++
	return sess, ""
}

// serve runs one session: its handshake, then its reader, until it ends.
func (s *dtlsServer) serve(sess *session) {
	defer s.wg.Done()
	defer sess.conn.Close()
	err := runHandshake(sess.conn, s.cfg.HandshakeTimeout)
	var replaced []*session
	s.mu.Lock()
	if s.pending[sess.key] == sess {
		delete(s.pending, sess.key)
	}
	if s.perIP[sess.key.Addr()]--; s.perIP[sess.key.Addr()] <= 0 {
		delete(s.perIP, sess.key.Addr())
	}
	if err != nil || s.closed {
		if sess.cid != "" && s.byCID[sess.cid] == sess {
			delete(s.byCID, sess.cid)
		}
		s.mu.Unlock()
		if err != nil {
			s.stats.failures.Add(1)
			s.log.Debug("dtls handshake failed", "peer", sess.key, "err", err)
		}
		return
	}
	// The new session takes its address and its key from whatever held
	// them: the old session of a rebooted device (RFC 6347 section
	// 4.2.8), or an older session that moved away from this address
	// with its connection ID and still has it as its key.
	for _, old := range []*session{s.byAddr[sess.key], s.byKey[sess.key]} {
		if old != nil && !containsSession(replaced, old) {
			s.removeLocked(old)
			replaced = append(replaced, old)
		}
	}
	var cid []byte
	if sess.cidUsed.Load() {
		cid = []byte(sess.cid)
	} else if sess.cid != "" {
		delete(s.byCID, sess.cid)
		sess.cid = ""
	}
	sess.id.Store(identityOf(sess.conn, sess.verified, cid))
	sess.established = true
	s.byAddr[sess.addr] = sess
	s.byKey[sess.key] = sess
	s.mu.Unlock()
	s.stats.done.Add(1)
	for _, old := range replaced {
		s.stats.replaced.Add(1)
		s.log.Debug("dtls session replaced", "peer", sess.key)
		old.conn.Close()
	}

	buf := make([]byte, sessionReadBuffer)
	for {
		n, err := sess.conn.Read(buf)
		if err != nil {
			break
		}
		sess.last.Store(s.now())
		if ra, ok := sess.conn.RemoteAddr().(*net.UDPAddr); ok {
			if ap := normalize(ra.AddrPort()); ap != sess.addr {
				s.move(sess, ap)
			}
		}
		select {
		case s.rx <- datagram{append([]byte(nil), buf[:n]...), sess.key}:
		case <-s.done:
			return
		}
	}
	s.mu.Lock()
	s.removeLocked(sess)
	s.mu.Unlock()
}

func containsSession(l []*session, x *session) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

// move records that pion moved sess to addr after an authenticated CID
// record from there (RFC 9146 section 6): non-CID records from addr now
// route to it. Its key stays.
func (s *dtlsServer) move(sess *session, addr netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sess.established || s.byKey[sess.key] != sess {
		return
	}
	if s.byAddr[sess.addr] == sess {
		delete(s.byAddr, sess.addr)
	}
	sess.addr = addr
	s.byAddr[addr] = sess
	s.stats.moved.Add(1)
}

// removeLocked drops an established session from the tables. s.mu is
// held.
func (s *dtlsServer) removeLocked(sess *session) {
	if !sess.established {
		return
	}
	sess.established = false
	if s.byAddr[sess.addr] == sess {
		delete(s.byAddr, sess.addr)
	}
	if s.byKey[sess.key] == sess {
		delete(s.byKey, sess.key)
	}
	if sess.cid != "" && s.byCID[sess.cid] == sess {
		delete(s.byCID, sess.cid)
	}
}

// janitor closes idle sessions.
func (s *dtlsServer) janitor() {
	defer s.wg.Done()
	// A session lives up to an eighth longer than its idle timeout; a
	// sweep walks every session, so it is not run more than needed.
	every := max(10*time.Millisecond, min(s.cfg.SessionIdleTimeout/8, 30*time.Second))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		limit := s.now() - int64(s.cfg.SessionIdleTimeout)
		var idle []*session
		s.mu.Lock()
		for _, sess := range s.byKey {
			if sess.last.Load() < limit {
				s.removeLocked(sess)
				idle = append(idle, sess)
			}
		}
		s.mu.Unlock()
		for _, sess := range idle {
			s.stats.expired.Add(1)
			sess.conn.Close()
		}
	}
}

func (s *dtlsServer) identity(peer netip.AddrPort) (*PeerIdentity, bool) {
	s.mu.RLock()
	sess := s.byKey[peer]
	s.mu.RUnlock()
	if sess == nil {
		return nil, false
	}
	return sess.id.Load(), true
}

func (s *dtlsServer) resetSession(peer netip.AddrPort) bool {
	s.mu.Lock()
	sess := s.byKey[peer]
	if sess != nil {
		s.removeLocked(sess)
	}
	s.mu.Unlock()
	if sess == nil {
		return false
	}
	sess.conn.Close()
	return true
}

// peerTimedOut does nothing on the server: a device that does not answer
// may be asleep (LwM2M queue mode), and its session stays until it is
// idle.
func (s *dtlsServer) peerTimedOut(netip.AddrPort) {}

func (s *dtlsServer) canSend(peer netip.AddrPort) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.byKey[peer] == nil {
		s.stats.noSession.Add(1)
		return false
	}
	return true
}

func (s *dtlsServer) dtlsStats() DTLSStats {
	var st DTLSStats
	s.mu.Lock()
	st.Sessions, st.Handshakes = len(s.byKey), len(s.pending)
	s.mu.Unlock()
	s.stats.fill(&st)
	if s.resume != nil {
		st.Resumable, st.Resumed = s.resume.len(), s.resume.hits.Load()
	}
	return st
}

// resumptionStore is a bounded pion SessionStore: at most max entries,
// each for lifetime, the oldest forgotten first.
type resumptionStore struct {
	hits     atomic.Uint64 // Gets that found a live entry
	mu       sync.Mutex
	max      int
	lifetime time.Duration
	m        map[string]resumptionEntry
	order    []string // insertion order; may hold keys already deleted
}

type resumptionEntry struct {
	s       dtls.Session
	expires time.Time
}

func newResumptionStore(max int, lifetime time.Duration) *resumptionStore {
	return &resumptionStore{max: max, lifetime: lifetime, m: make(map[string]resumptionEntry)}
}

func (r *resumptionStore) Set(key []byte, s dtls.Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := string(key)
	if _, ok := r.m[k]; !ok {
		r.order = append(r.order, k)
	}
	r.m[k] = resumptionEntry{s, time.Now().Add(r.lifetime)}
	for len(r.m) > r.max {
		delete(r.m, r.order[0])
		r.order = r.order[1:]
	}
	if len(r.order) > 2*r.max+16 { // keys deleted by Del linger: compact
		live := make([]string, 0, len(r.m))
		for _, k := range r.order {
			if _, ok := r.m[k]; ok {
				live = append(live, k)
			}
		}
		r.order = live
	}
	return nil
}

func (r *resumptionStore) Get(key []byte) (dtls.Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[string(key)]
	if !ok || time.Now().After(e.expires) {
		if ok {
			delete(r.m, string(key))
		}
		return dtls.Session{}, nil
	}
	r.hits.Add(1)
	return e.s, nil
}

func (r *resumptionStore) Del(key []byte) error {
	r.mu.Lock()
	delete(r.m, string(key))
	r.mu.Unlock()
	return nil
}

func (r *resumptionStore) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
