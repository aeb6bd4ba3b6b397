package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// Request is an incoming request as a Handler sees it.
type Request struct {
	Peer netip.AddrPort // the peer's address; IPv4 peers in their 4-byte form; over DTLS the session's peer key
	Msg  *Message       // the whole request: Payload is the whole body, Block1 already reassembled

	// Identity is who the peer proved to be in its DTLS handshake; nil
	// over plain UDP.
	Identity *PeerIdentity

	in       *incoming // nil for a Request not made by an endpoint
	deferred bool
}

// Defer tells the endpoint that the handler answers req later, with the
// function Defer returns, from any goroutine: what ServeCoAP returns is
// then ignored. Until it is answered the request counts toward
// Config.MaxInFlightHandlers, and a CON request still gets its empty ACK
// after Config.SeparateResponseAfter and then its response as a separate
// CON. The first answer is sent; later calls do nothing. Defer is called
// by the handler, during ServeCoAP; it returns nil for a Request that no
// endpoint made (a handler called directly, in a test), which must then be
// answered by ServeCoAP's result.
func (req *Request) Defer() func(*Message) {
	r := req.in
	if r == nil {
		return nil
	}
	req.deferred = true
	return func(m *Message) {
		if r.done.Swap(true) {
			return
		}
		r.e.respond(r, m)
		r.e.inflight.Add(-1)
	}
}

// Handler serves incoming requests. ServeCoAP returns the response's Code,
// Options and Payload; the endpoint sets Type, MID and Token (the
// request's token is echoed). A payload larger than the block size is
// served block-wise with Block2 (RFC 7959 section 2.2) without the
// handler's help, and so is Block1: the request's Payload is the whole
// body. Returning nil answers a CON request with an empty ACK and a NON
// request with nothing; a message with Code 0 counts as nil. A handler
// slower than Config.SeparateResponseAfter has its CON request
// acknowledged for it, and its response goes as a separate CON (RFC 7252
// section 5.2.2); returning nil then sends nothing more.
//
// ServeCoAP is called on a handler goroutine, concurrently with other calls,
// at most Config.MaxInFlightHandlers at a time (the requests Config.Inline
// picks, on the goroutine that reads the socket). ctx is cancelled when the
// endpoint closes, and Close waits for every call to return, not for the
// answers of deferred requests (Request.Defer): an answer given after
// Close is dropped. The handler may keep req; the endpoint does not reuse
// it.
type Handler interface {
	ServeCoAP(ctx context.Context, req *Request) *Message
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *Request) *Message

// ServeCoAP calls f.
func (f HandlerFunc) ServeCoAP(ctx context.Context, req *Request) *Message { return f(ctx, req) }

// Config configures an Endpoint. The zero value of every field selects its
// default.
type Config struct {
	// Handler serves incoming requests; nil answers every request 4.04.
	Handler Handler

	// Inline picks the requests whose Handler call runs on the goroutine
	// that reads the socket instead of a handler goroutine of its own: a
	// handler that defers its answer (Request.Defer) and returns at once,
	// having neither blocked nor waited on anything that may, saves the
	// handoff (waking a goroutine, and often an idle thread to run it).
	// Whatever an inline call waits for, every datagram of the endpoint
	// waits for too. nil serves every request on a handler goroutine.
	Inline func(*Message) bool

	// BlockingReads takes an Endpoint's UDP socket out of Go's network
	// poller (NewEndpoint and Listen on Linux; elsewhere, and for DTLS,
	// it is ignored). The reading goroutine then waits in a blocking
	// recvmmsg(2) on an OS thread of its own, and sends never block.
	// It saves the poller's work around every burst of datagrams: a
	// read that finds the queue empty, the park and the wake-up, and
	// the spurious wake-up of a polling thread that each datagram sent
	// causes. Measured on a busy server: 11-12% less CPU per Register
	// and 11-16% more Registers a second (BENCHMARKS.md, "Out of the
	// netpoller"). It costs an OS thread per endpoint: the choice for
	// a server's one busy socket, not for many quiet ones.
	BlockingReads bool

	// Notify receives response-class messages (2.xx to 5.xx, CON or NON)
	// that match no request in flight: observe notifications (RFC 7641
	// section 3.2). Returning false rejects the message with a Reset,
	// which cancels the observation (RFC 7641 section 3.6); returning true
	// for a CON acknowledges it. Notify runs on the goroutines handlers
	// use, counted against MaxInFlightHandlers; a duplicate is never
	// delivered twice. nil rejects every such message.
	Notify func(peer netip.AddrPort, msg *Message) bool

	// OnReset learns of a Reset that answers a non-confirmable
	// notification sent with Endpoint.Notify: the observer rejected it and
	// so cancelled the observation with that token (RFC 7641 section 3.6),
	// which for a NON notification is the only way a server's passive
	// cancel reaches the notifier. The endpoint remembers each NON
	// notification's peer, message ID and token for EXCHANGE_LIFETIME,
	// MaxNotifyEntries at most, and calls OnReset at most once for each;
	// a Reset that matches nothing remembered is ignored. A Reset of a
	// CON notification is not reported here: Notify returns ErrReset.
	// OnReset runs on the endpoint's reading goroutine and must return
	// quickly; token is its own copy. nil remembers nothing.
	OnReset func(peer netip.AddrPort, token []byte)

	// MaxNotifyEntries bounds the NON notifications remembered for
	// OnReset: 1<<16 by default. The oldest is forgotten first.
	MaxNotifyEntries int

	// Logger receives the endpoint's diagnostics at debug level (malformed
	// datagrams, dropped messages) and its warnings; nil discards them.
	Logger *slog.Logger

	// ACKTimeout, ACKRandomFactor and MaxRetransmit are the transmission
	// parameters of RFC 7252 section 4.8: 2 s, 1.5 and 4 by default.
	ACKTimeout      time.Duration
	ACKRandomFactor float64
	MaxRetransmit   int

	// ExchangeLifetime is how long an incoming CON is remembered for
	// deduplication (RFC 7252 section 4.8.2): 247 s by default. A NON is
	// remembered for NON_LIFETIME, 145/247 of it (145 s by default).
	ExchangeLifetime time.Duration

	// MaxDedupEntries bounds the deduplication cache: 1<<18 by default.
	// The oldest entry is evicted first.
	MaxDedupEntries int

	// SeparateResponseAfter is how long the handler of a CON request may
	// take before the endpoint sends an empty ACK and later the response
	// as a separate CON (RFC 7252 section 5.2.2): 1 s by default.
	SeparateResponseAfter time.Duration

	// PeerRate and PeerBurst are each peer's token bucket for incoming
	// messages other than ACK and Reset: 200 per second with a burst of
	// 400 by default. A message beyond it is dropped; a CON will be
	// retransmitted. A negative PeerRate disables the limit.
	PeerRate  float64
	PeerBurst int

	// PeerIdleTimeout is how long a peer's state (message ID counter,
	// token bucket, block-wise transfers in progress) outlives its last
	// message: 60 s by default.
	PeerIdleTimeout time.Duration

	// MaxInFlightHandlers bounds concurrent Handler and Notify calls:
	// 4096 by default. Beyond it a request gets 5.03 Service Unavailable
	// with Max-Age 1 and a notification is dropped.
	MaxInFlightHandlers int

	// ReadBuffer is the socket receive buffer to ask for: 4 MiB by
	// default. The kernel may grant less (net.core.rmem_max on Linux);
	// Stats reports what it granted.
	ReadBuffer int

	// BlockSize is the block size the endpoint uses for Block1 and Block2
	// transfers, a power of two from 16 to 1024: 1024 by default, which
	// LwM2M recommends for UDP.
	BlockSize uint16

	// MaxBodySize is the largest body the endpoint reassembles from
	// Block1 requests (beyond: 4.13 Request Entity Too Large, RFC 7959
	// section 2.9.3) or from Block2 responses in Do (beyond: an error
	// carrying 4.13): 8 MiB by default.
	MaxBodySize int
}

// withDefaults returns c with defaults filled in, or an error for values
// that make no sense.
func (c Config) withDefaults() (Config, error) {
	set := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	set(&c.ACKTimeout, 2*time.Second)
	set(&c.ExchangeLifetime, 247*time.Second)
	set(&c.SeparateResponseAfter, time.Second)
	set(&c.PeerIdleTimeout, 60*time.Second)
	if c.ACKRandomFactor == 0 {
		c.ACKRandomFactor = 1.5
	}
	if c.MaxRetransmit == 0 {
		c.MaxRetransmit = 4
	}
	if c.MaxDedupEntries == 0 {
		c.MaxDedupEntries = 1 << 18
	}
	if c.MaxNotifyEntries == 0 {
		c.MaxNotifyEntries = 1 << 16
	}
	if c.PeerRate == 0 {
		c.PeerRate = 200
	}
	if c.PeerBurst == 0 {
		c.PeerBurst = 400
	}
	if c.MaxInFlightHandlers == 0 {
		c.MaxInFlightHandlers = 4096
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = 4 << 20
	}
	if c.BlockSize == 0 {
		c.BlockSize = 1024
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = 8 << 20
	}
	switch {
	case c.ACKTimeout < 0, c.ExchangeLifetime < 0, c.SeparateResponseAfter < 0, c.PeerIdleTimeout < 0:
		return c, errors.New("transport: config: negative duration")
	case c.ACKRandomFactor < 1 || math.IsNaN(c.ACKRandomFactor) || math.IsInf(c.ACKRandomFactor, 0):
		return c, fmt.Errorf("transport: config: ACKRandomFactor %v below 1", c.ACKRandomFactor)
	case c.MaxRetransmit < 0 || c.MaxRetransmit > 20:
		return c, fmt.Errorf("transport: config: MaxRetransmit %d out of 0..20", c.MaxRetransmit)
	case c.MaxDedupEntries < 0, c.MaxNotifyEntries < 0, c.MaxInFlightHandlers < 0, c.ReadBuffer < 0, c.MaxBodySize < 0:
		return c, errors.New("transport: config: negative bound")
	case c.PeerRate > 0 && c.PeerBurst < 1:
		return c, errors.New("transport: config: PeerBurst below 1")
	case c.BlockSize < 16 || c.BlockSize > 1024 || c.BlockSize&(c.BlockSize-1) != 0:
		return c, fmt.Errorf("transport: config: BlockSize %d is not a power of two from 16 to 1024", c.BlockSize)
	case c.MaxBodySize < int(c.BlockSize):
		return c, fmt.Errorf("transport: config: MaxBodySize %d below BlockSize", c.MaxBodySize)
	}
	return c, nil
}

// maxTransmitSpan is MAX_TRANSMIT_SPAN and maxTransmitWait
// MAX_TRANSMIT_WAIT of RFC 7252 section 4.8.2.
func (c *Config) maxTransmitSpan() time.Duration {
	return time.Duration(float64(c.ACKTimeout) * float64(int(1)<<c.MaxRetransmit-1) * c.ACKRandomFactor)
}

func (c *Config) maxTransmitWait() time.Duration {
	return time.Duration(float64(c.ACKTimeout) * float64(int(1)<<(c.MaxRetransmit+1)-1) * c.ACKRandomFactor)
}

// nonLifetime is NON_LIFETIME: 145 s against the default 247 s of
// EXCHANGE_LIFETIME, scaled with it.
func (c *Config) nonLifetime() time.Duration {
	return c.ExchangeLifetime * 145 / 247
}

// Stats are counters of an Endpoint since it started, and gauges of its
// tables now.
type Stats struct {
	Received        uint64 // datagrams read
	Sent            uint64 // datagrams written, retransmissions included
	Duplicates      uint64 // incoming CON or NON already seen (RFC 7252 section 4.5)
	Dropped         uint64 // dropped by the per-peer rate limit, or a notification beyond MaxInFlightHandlers
	Malformed       uint64 // datagrams that are not CoAP, or violate RFC 7252 section 3 or 4
	Retransmissions uint64 // CON retransmissions sent
	Timeouts        uint64 // outgoing CON or requests that got no answer
	Rejected        uint64 // requests answered 5.03 beyond MaxInFlightHandlers
	WriteErrors     uint64 // datagrams the socket refused

	Peers           int // peers with state now
	DedupEntries    int // entries in the deduplication cache now
	Exchanges       int // outgoing exchanges in flight now
	InFlight        int // handler and Notify calls running now
	BlockTransfers  int // Block1 assemblies and Block2 bodies held now
	ReadBuffer      int // socket receive buffer the kernel granted (SO_RCVBUF; Linux reports twice the usable size), 0 if unknown
	ReadBufferLimit int // net.core.rmem_max where readable, else 0

	DTLS DTLSStats // sessions and handshakes; zero over plain UDP
}

type counters struct {
	received, sent, duplicates, dropped, malformed, retransmissions, timeouts, rejected, writeErrors atomic.Uint64
}

// Endpoint is a CoAP endpoint (RFC 7252) over UDP (Listen) or DTLS
// (ListenDTLS, ListenSecure): it serves requests through Config.Handler,
// delivers notifications to Config.Notify, and sends requests (Do) and
// notifications (Notify). All methods are safe for concurrent use. Close
// stops it.
type Endpoint struct {
	cfg   Config
	conn  packetConn
	sec   secureConn // conn's sessions, nil over plain UDP
	log   *slog.Logger
	epoch time.Time
	local netip.AddrPort

	ctx    context.Context // handlers' context, cancelled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	mu        sync.Mutex // guards closed and the exchange tables
	closed    bool
	byMID     map[midKey]*exchange
	byToken   map[tokenKey]*exchange
	closeOnce sync.Once
	closeErr  error

	peers    *peerTable
	dedup    *dedup
	notes    *notifyTable // NON notifications a Reset may answer, for OnReset
	blocks   *blockState
	slow     *separateWatch // CON requests being served, for the separate ACK
	inflight atomic.Int64
	handoff  chan *incoming // to a handler goroutine waiting for work; nil retires it

	// idleHandlers counts the handler goroutines waiting for work, and
	// idleLow the fewest that waited at once since retireHandlers last ran.
	idleHandlers, idleLow atomic.Int32

	stats counters
	out   sender
	in    batchReader // nil: one ReadFrom per datagram

	readBuffer, readBufferLimit int
}

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// Listen opens a UDP socket on addr ("127.0.0.1:0", ":5683") and starts an
// Endpoint on it.
func Listen(addr string, cfg Config) (*Endpoint, error) {
	return listenUDP(addr, func(c *net.UDPConn) (*Endpoint, error) { return NewEndpoint(c, cfg) })
}

// listenUDP opens a UDP socket on addr and starts an Endpoint on it with
// start, which owns the socket once it succeeds; Listen, ListenDTLS and
// ListenSecure differ only in start.
func listenUDP(addr string, start func(*net.UDPConn) (*Endpoint, error)) (*Endpoint, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", addr, err)
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", addr, err)
	}
	e, err := start(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return e, nil
}

// NewEndpoint starts an Endpoint on conn, which it owns from then on:
// Close closes it. It asks for a socket receive buffer of cfg.ReadBuffer
// and logs a warning if the kernel grants less.
func NewEndpoint(conn *net.UDPConn, cfg Config) (*Endpoint, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := conn.SetReadBuffer(cfg.ReadBuffer); err != nil {
		return nil, fmt.Errorf("transport: set read buffer: %w", err)
	}
	readBuffer := readBufferSize(conn)
	var e *Endpoint
	if cfg.BlockingReads {
		pc, in, out, err := ownUDP(conn)
		switch {
		case err == nil:
			e = newEndpoint(pc, cfg)
			e.in, e.out.w = in, out
		case !errors.Is(err, errNotOwnable):
			return nil, err
		}
	}
	if e == nil {
		e = newEndpoint(udpConn{conn}, cfg)
		e.out.w = newBatchWriter(conn)
		e.in = newBatchReader(conn)
	}
	e.readBuffer = readBuffer
	e.readBufferLimit = readBufferLimit()
	// Linux reports twice what it accepted (socket(7)).
	if e.readBuffer > 0 && e.readBuffer < cfg.ReadBuffer {
		e.log.Warn("socket receive buffer smaller than asked; raise net.core.rmem_max",
			"asked", cfg.ReadBuffer, "granted", e.readBuffer, "rmem_max", e.readBufferLimit)
	}
	e.start()
	return e, nil
}

// newEndpoint builds an Endpoint over any packetConn; cfg must have its
// defaults. The caller calls start.
func newEndpoint(pc packetConn, cfg Config) *Endpoint {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	idle := int64(cfg.PeerIdleTimeout)
	e := &Endpoint{
		cfg:     cfg,
		conn:    pc,
		log:     log,
		epoch:   time.Now(),
		local:   pc.LocalAddr(),
		done:    make(chan struct{}),
		byMID:   make(map[midKey]*exchange),
		byToken: make(map[tokenKey]*exchange),
		peers:   newPeerTable(idle, cfg.PeerRate, cfg.PeerBurst),
		dedup:   newDedup(int64(cfg.ExchangeLifetime), int64(cfg.nonLifetime()), cfg.MaxDedupEntries),
		notes:   newNotifyTable(int64(cfg.ExchangeLifetime), cfg.MaxNotifyEntries),
		blocks:  newBlockState(idle, cfg.MaxBodySize),
		slow:    newSeparateWatch(cfg.SeparateResponseAfter),
		handoff: make(chan *incoming),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

func (e *Endpoint) start() {
	e.wg.Add(3)
	go e.readLoop()
	go e.janitor()
	go e.separateLoop()
}

// LocalAddr returns the address the endpoint's socket is bound to.
func (e *Endpoint) LocalAddr() netip.AddrPort { return e.local }

// now is the time on the endpoint's monotonic clock, in nanoseconds.
func (e *Endpoint) now() int64 { return int64(time.Since(e.epoch)) }

// Close stops the endpoint: it closes the socket, fails every pending Do
// and Notify with ErrClosed, cancels the context of running handlers, and
// waits for every goroutine it started, handlers included, to return.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		var pending []*exchange
		for _, ex := range e.byMID {
			ex.finished = true
			pending = append(pending, ex)
		}
		clear(e.byMID)
		clear(e.byToken)
		e.mu.Unlock()
		for _, ex := range pending {
			ex.timer.Stop()
			ex.finish(result{err: ErrClosed})
		}
		close(e.done)
		e.cancel()
		e.closeErr = e.conn.Close()
		e.wg.Wait()
	})
	return e.closeErr
}

// enter registers a goroutine the endpoint did not start itself (a timer
// callback) with the wait group, unless the endpoint is closed. A true
// result must be paired with e.wg.Done().
func (e *Endpoint) enter() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	return true
}

// Stats returns the endpoint's counters and the sizes of its tables.
func (e *Endpoint) Stats() Stats {
	s := Stats{
		Received:        e.stats.received.Load(),
		Sent:            e.stats.sent.Load(),
		Duplicates:      e.stats.duplicates.Load(),
		Dropped:         e.stats.dropped.Load(),
		Malformed:       e.stats.malformed.Load(),
		Retransmissions: e.stats.retransmissions.Load(),
		Timeouts:        e.stats.timeouts.Load(),
		Rejected:        e.stats.rejected.Load(),
		WriteErrors:     e.stats.writeErrors.Load(),
		Peers:           e.peers.len(),
		DedupEntries:    e.dedup.len(),
		InFlight:        int(e.inflight.Load()),
		BlockTransfers:  e.blocks.len(),
		ReadBuffer:      e.readBuffer,
		ReadBufferLimit: e.readBufferLimit,
	}
	e.mu.Lock()
	s.Exchanges = len(e.byMID)
	e.mu.Unlock()
	if e.sec != nil {
		s.DTLS = e.sec.dtlsStats()
	}
	return s
}

// sender combines the datagrams that goroutines write at the same moment
// into batches for a batchWriter: a writer that finds no send in progress
// sends its datagram and whatever others queued meanwhile, until the queue
// is empty; a writer that finds one in progress queues its datagram and
// returns. Replies of a group commit, which wake together, go out in a
// few sendmmsg calls instead of one sendto each, and no writer waits for
// another to be done. Datagrams of one goroutine keep their order.
type sender struct {
	w        batchWriter // nil: one WriteTo per datagram
	mu       sync.Mutex
	q, spare []datagram
	busy     bool // a writer is sending the queue
	hold     int  // Batch calls in progress: writes only queue
}

// write sends one datagram, now or as part of a batch that another
// goroutine is sending.
func (e *Endpoint) write(b []byte, peer netip.AddrPort) {
	s := &e.out
	if s.w == nil {
		e.writeOne(b, peer)
		return
	}
	s.mu.Lock()
	s.q = append(s.q, datagram{b, peer})
	if s.busy || s.hold > 0 {
		s.mu.Unlock()
		return
	}
	s.busy = true
	// Let the goroutines that became runnable with this one (the callers
	// of one group commit, say) queue their datagrams first, so that they
	// go out in one batch rather than each in its own system call while
	// this one sends.
	s.mu.Unlock()
	runtime.Gosched()
	s.mu.Lock()
	e.sendQueued()
}

// Batch runs fn and holds back the datagrams written meanwhile, by fn or
// by other goroutines, until it returns; then they go out together, in
// as few sendmmsg calls as the socket allows. For a goroutine that answers
// many requests in a row (the completions of a group commit), whose
// writes would otherwise each go out on their own.
func (e *Endpoint) Batch(fn func()) {
	s := &e.out
	if s.w == nil {
		fn()
		return
	}
	s.mu.Lock()
	s.hold++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.hold--
		if s.hold > 0 || s.busy || len(s.q) == 0 {
			s.mu.Unlock()
			return
		}
		s.busy = true
		e.sendQueued()
	}()
	fn()
}

// sendQueued sends the queue until it is empty, then clears busy and
// unlocks s.mu, which the caller holds, having set busy.
func (e *Endpoint) sendQueued() {
	s := &e.out
	for len(s.q) > 0 {
		ds := s.q
		s.q = s.spare[:0]
		s.mu.Unlock()
		e.writeBatch(ds)
		clear(ds)
		s.mu.Lock()
		s.spare = ds[:0]
	}
	s.busy = false
	s.mu.Unlock()
}

func (e *Endpoint) writeBatch(ds []datagram) {
	for len(ds) > 0 {
		n, err := e.out.w.writeBatch(ds)
		e.stats.sent.Add(uint64(n))
		ds = ds[n:]
		if err != nil {
			e.stats.writeErrors.Add(1)
			e.log.Debug("coap write failed", "peer", ds[0].peer, "err", err)
			ds = ds[1:]
		}
	}
}

func (e *Endpoint) writeOne(b []byte, peer netip.AddrPort) {
	if err := e.conn.WriteTo(b, peer); err != nil {
		e.stats.writeErrors.Add(1)
		e.log.Debug("coap write failed", "peer", peer, "err", err)
		return
	}
	e.stats.sent.Add(1)
}

// emptyMessage returns the four bytes of an Empty message (RFC 7252
// section 4.1): an ACK or a RST for mid.
func emptyMessage(t Type, mid uint16) []byte {
	return []byte{1<<6 | byte(t)<<4, 0, byte(mid >> 8), byte(mid)}
}

// readLoop reads datagrams until the socket closes: in batches where
// the socket allows (e.in), else one at a time.
func (e *Endpoint) readLoop() {
	defer e.wg.Done()
	if e.in != nil {
		e.readBatches()
		return
	}
	buf := make([]byte, maxDatagram)
	for {
		n, peer, err := e.conn.ReadFrom(buf)
		if err != nil {
			if e.readFailed(err) {
				return
			}
			continue
		}
		e.stats.received.Add(1)
		e.receive(normalize(peer), buf[:n])
	}
}

// readBatches is readLoop over e.in: each datagram of a batch is
// received in turn, in the order the socket queued them.
func (e *Endpoint) readBatches() {
	for {
		n, err := e.in.readBatch()
		if err != nil {
			if e.readFailed(err) {
				return
			}
			continue
		}
		for i := range n {
			b, peer, truncated := e.in.datagram(i)
			peer = normalize(peer)
			e.stats.received.Add(1)
			if truncated {
				// Longer than the largest UDP payload: cannot happen
				// but with IPv6 jumbograms, and is never served cut.
				e.malformed(peer, "datagram truncated", nil)
				continue
			}
			e.receive(peer, b)
		}
	}
}

// readFailed handles a read error: it reports whether the loop is to
// stop (the endpoint or its socket closed); otherwise, a transient error
// (an ICMP error reported on the socket, say), it logs it and waits 5 ms
// so as to go on reading without spinning.
func (e *Endpoint) readFailed(err error) bool {
	select {
	case <-e.done:
		return true
	default:
	}
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	e.log.Debug("coap read failed", "err", err)
	select {
	case <-e.done:
		return true
	case <-time.After(5 * time.Millisecond):
	}
	return false
}

// janitor expires idle peers, deduplication entries, remembered
// notifications and block-wise state.
func (e *Endpoint) janitor() {
	defer e.wg.Done()
	every := min(e.cfg.PeerIdleTimeout, e.cfg.nonLifetime()) / 4
	every = max(10*time.Millisecond, min(every, time.Second))
	t := time.NewTicker(every)
	defer t.Stop()
	retired := time.Now()
	for {
		select {
		case <-e.done:
			return
		case tick := <-t.C:
			now := e.now()
			e.peers.sweep(now)
			e.dedup.sweep(now)
			e.notes.sweep(now)
			e.blocks.sweep(now)
			if tick.Sub(retired) >= handlerIdle {
				e.retireHandlers()
				retired = tick
			}
		}
	}
}

// receive handles one datagram from peer. b is the reader's buffer: what
// outlives this call is copied.
func (e *Endpoint) receive(peer netip.AddrPort, b []byte) {
	// RFC 7252 section 3: a datagram shorter than the header or of
	// another version is silently ignored.
	if len(b) < 4 || b[0]>>6 != 1 {
		e.malformed(peer, "not a coap v1 message", nil)
		return
	}
	typ := Type(b[0] >> 4 & 3)
	mid := uint16(b[2])<<8 | uint16(b[3])
	now := e.now()
	// ACK and RST answer what we sent; everything else is charged to the
	// peer's bucket before any more work is done.
	if typ == Acknowledgement || typ == Reset {
		e.peers.touch(peer, now)
	} else if !e.peers.allow(peer, now) {
		e.stats.dropped.Add(1)
		return
	}
	if b[1] == 0 && len(b) == 4 {
		switch typ {
		case Confirmable: // a ping: RFC 7252 section 4.3
			e.write(emptyMessage(Reset, mid), peer)
		case NonConfirmable: // RFC 7252 section 4.3: a NON is never Empty
			e.malformed(peer, "empty NON", nil)
		case Acknowledgement:
			e.onACK(peer, mid, nil)
		case Reset:
			e.onReset(peer, mid)
		}
		return
	}
	var m *Message
	var in *incoming
	if c := b[1]; c > 0 && c < 32 {
		// A request (class 0, not Empty): the message, its options
		// and what serving it needs, in one allocation.
		rc := new(received)
		in, m = &rc.in, &rc.msg
		m.Options = rc.opts[:0]
	} else {
		m = new(Message)
	}
	if err := m.UnmarshalBinary(append([]byte(nil), b...)); err != nil {
		// RFC 7252 section 4.2: a CON with a format error is rejected
		// with a RST when its MID can be read; anything else is ignored
		// (section 4.3).
		if typ == Confirmable {
			e.write(emptyMessage(Reset, mid), peer)
		}
		e.malformed(peer, "format error", err)
		return
	}
	switch {
	case typ == Acknowledgement && m.IsResponse():
		e.onACK(peer, mid, m)
	case typ == Acknowledgement || typ == Reset:
		// RFC 7252 section 4.2 and 4.3: an ACK carries a response or
		// nothing; a RST is always Empty.
		e.malformed(peer, "request in ACK or non-empty RST", nil)
	case m.IsRequest():
		e.onRequest(peer, m, in, now)
	default:
		e.onResponse(peer, m, now)
	}
}

func (e *Endpoint) malformed(peer netip.AddrPort, what string, err error) {
	e.stats.malformed.Add(1)
	e.log.Debug("coap message dropped", "peer", peer, "reason", what, "err", err)
}

// callHandler runs h and turns a panic into 5.00, so that a broken
// handler fails its request and not the endpoint.
func (e *Endpoint) callHandler(req *Request) (resp *Message, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("coap handler panicked", "peer", req.Peer, "path", req.Msg.Path(), "panic", r)
			resp, panicked = &Message{Code: model.InternalServerError}, true
		}
	}()
	if e.cfg.Handler == nil {
		return &Message{Code: model.NotFound}, false
	}
	return e.cfg.Handler.ServeCoAP(e.ctx, req), false
}
