//go:build linux

package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const leanAvailable = true

// leanDevice is a simulated device of the lean generator: a non-blocking
// UDP socket of its own, connected to the target, and the state of the one
// request it has in flight.
type leanDevice struct {
	fd  int32
	idx int32 // in leanLoop.devs
	mid uint16
	tok uint64

	busy    bool
	acked   bool // an empty ACK came: waiting for the separate response
	tries   int  // transmissions so far, less one
	slot    int  // index in leanLoop.active while busy
	req     int  // index of the request in flight
	sent    time.Duration
	due     time.Duration // when the next retransmission (or the give-up) is due
	timeout time.Duration // the current retransmission timeout
	out     []byte        // the request in flight, kept for retransmission
	waiting []int         // requests for this device queued behind the one in flight
	loc     []byte        // Update scenario: the wire form of its Update (MID and token zero)
}

// leanLoop runs requests over a set of leanDevices from one goroutine
// locked to its OS thread: epoll tells which sockets have a datagram, a
// scan of the requests in flight (at most InFlight) finds retransmissions
// when the earliest is due. Nothing blocks but epoll_wait.
type leanLoop struct {
	devs    []leanDevice
	epfd    int
	wake    [2]int // a pipe whose read end wakes epoll_wait on cancellation
	t       timing
	base    time.Time // the clock's zero: times are durations since base
	in      []byte
	ack     []byte
	active  []int // devices with a request in flight
	pending int   // requests queued behind a busy device
	stop    atomic.Bool
	wakeMu  sync.Mutex // interrupt against close: no write to a closed pipe
}

// openLean opens n device sockets bound to bind and connected to target,
// each in the epoll set with its index as the event's data.
func openLean(n int, bind netip.Addr, target netip.AddrPort, t timing) (*leanLoop, error) {
	l := &leanLoop{epfd: -1, wake: [2]int{-1, -1}, t: t, in: make([]byte, 2048), base: time.Now()}
	fail := func(err error) (*leanLoop, error) {
		l.close()
		return nil, err
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fail(fmt.Errorf("loadgen: epoll: %w", err))
	}
	l.epfd = epfd
	if err := syscall.Pipe2(l.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		return fail(fmt.Errorf("loadgen: pipe: %w", err))
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: -1}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wake[0], &ev); err != nil {
		return fail(fmt.Errorf("loadgen: epoll_ctl: %w", err))
	}
	target = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
	to, family := sockaddr(target)
	var from syscall.Sockaddr
	if bind.IsValid() {
		from, _ = sockaddr(netip.AddrPortFrom(bind.Unmap(), 0))
		if target.Addr().Is4() != bind.Unmap().Is4() {
			return fail(fmt.Errorf("loadgen: bind address %s and target %s are of different families", bind, target))
		}
	}
	l.devs = make([]leanDevice, n)
	for i := range l.devs {
		l.devs[i].fd = -1
	}
	for i := range l.devs {
		fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("loadgen: open device socket %d of %d: %w", i+1, n, err))
		}
		d := &l.devs[i]
		d.fd, d.idx = int32(fd), int32(i)
		if from != nil {
			if err := syscall.Bind(fd, from); err != nil {
				return fail(fmt.Errorf("loadgen: bind device socket %d to %s: %w", i+1, bind, err))
			}
		}
		if err := syscall.Connect(fd, to); err != nil {
			return fail(fmt.Errorf("loadgen: connect device socket %d to %s: %w", i+1, target, err))
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fail(fmt.Errorf("loadgen: epoll_ctl: %w", err))
		}
		d.mid, d.tok = uint16(rand.Uint32()), rand.Uint64()
	}
	return l, nil
}

func sockaddr(ap netip.AddrPort) (syscall.Sockaddr, int) {
	if ap.Addr().Is4() {
		return &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, syscall.AF_INET
	}
	return &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}, syscall.AF_INET6
}

// close closes every socket. The loop must not be running.
func (l *leanLoop) close() {
	for i := range l.devs {
		if fd := l.devs[i].fd; fd >= 0 {
			syscall.Close(int(fd))
			l.devs[i].fd = -1
		}
	}
	l.wakeMu.Lock()
	defer l.wakeMu.Unlock()
	for _, fd := range []int{l.epfd, l.wake[0], l.wake[1]} {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
	l.epfd, l.wake = -1, [2]int{-1, -1}
}

// interrupt makes a running loop return soon, with the requests in flight
// uncounted. It is safe to call from any goroutine, more than once.
func (l *leanLoop) interrupt() {
	if l.stop.Swap(true) {
		return
	}
	l.wakeMu.Lock()
	defer l.wakeMu.Unlock()
	if l.wake[1] >= 0 {
		b := [1]byte{1}
		_, _ = syscall.Write(l.wake[1], b[:])
	}
}

func (l *leanLoop) now() time.Duration { return time.Since(l.base) }

// leanJob is what a loop runs: how a request is built, and what happens
// with each result.
type leanJob struct {
	n        int           // requests in all; 0 for no limit
	inflight int           // requests in flight at most
	rate     float64       // requests issued per second at most; 0 for no limit
	duration time.Duration // no request is issued after it, and those in flight then are cut off
	// build returns request i for device d, built in d.out[:0] (d's
	// message ID and token are already stepped).
	build func(d *leanDevice, i int) []byte
	// done receives every result but the cut-off ones, with the
	// response (nil for a failure), which is valid only during the call.
	done func(d *leanDevice, res Result, resp []byte)
}

// run runs job until it is done, cut off by its duration, or interrupted.
// It locks its goroutine to an OS thread for the run.
func (l *leanLoop) run(job leanJob) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	events := make([]syscall.EpollEvent, 256)
	start := l.now()
	var endAt time.Duration
	if job.duration > 0 {
		endAt = start + job.duration
	}
	next := 0                           // the next request to issue
	nextDue := time.Duration(1<<63 - 1) // no earlier retransmission than this
	l.active = l.active[:0]
	l.pending = 0
	// issue starts request i on its device, or queues it behind the
	// request the device has in flight.
	issue := func(i int) {
		d := &l.devs[i%len(l.devs)]
		if d.busy {
			d.waiting = append(d.waiting, i)
			l.pending++
			return
		}
		l.start(d, i, &job)
		if d.due < nextDue {
			nextDue = d.due
		}
	}
	for !l.stop.Load() {
		now := l.now()
		if endAt > 0 && now >= endAt {
			break // the rest in flight is cut off, uncounted
		}
		// Fill the free slots with the requests that are due.
		var issueAt time.Duration = -1
		for len(l.active)+l.pending < job.inflight && (job.n == 0 || next < job.n) {
			if job.rate > 0 {
				at := start + time.Duration(float64(next)/job.rate*1e9)
				if at > now {
					issueAt = at
					break
				}
			}
			issue(next)
			next++
		}
		if len(l.active)+l.pending == 0 && job.n > 0 && next >= job.n {
			break
		}
		// Wait for datagrams, for the earliest retransmission, for the
		// next paced request, for the end of the run.
		wake := nextDue
		if issueAt >= 0 && issueAt < wake {
			wake = issueAt
		}
		if endAt > 0 && endAt < wake {
			wake = endAt
		}
		msec := -1
		if wake < 1<<62 {
			msec = max(int((wake-l.now()+time.Millisecond-1)/time.Millisecond), 0)
		}
		n, err := syscall.EpollWait(l.epfd, events, msec)
		if err != nil && err != syscall.EINTR {
			panic("loadgen: epoll_wait: " + err.Error()) // only for a bad epfd or events buffer
		}
		for _, ev := range events[:max(n, 0)] {
			if ev.Fd < 0 {
				continue // the wake pipe: stop is set
			}
			l.receive(&l.devs[ev.Fd], &job, &nextDue)
		}
		if now := l.now(); now >= nextDue {
			nextDue = l.retransmit(now, &job)
		}
	}
}

// start sends request i from the idle device d.
func (l *leanLoop) start(d *leanDevice, i int, job *leanJob) {
	d.mid++
	d.tok++
	d.out = job.build(d, i)
	d.busy, d.acked, d.tries, d.req = true, false, 0, i
	d.slot = len(l.active)
	l.active = append(l.active, int(d.idx))
	d.timeout = time.Duration(float64(l.t.ackTimeout) * (1 + rand.Float64()*0.5))
	d.sent = l.now()
	d.due = d.sent + d.timeout
	l.send(d)
}

// send writes d's request. A datagram the kernel refuses to take (a
// full send buffer, an ICMP error pending from an earlier datagram) counts
// as lost: the retransmission schedule covers it, as it would a drop on
// the way.
func (l *leanLoop) send(d *leanDevice) {
	b := d.out
	_, _, _ = syscall.RawSyscall(syscall.SYS_WRITE, uintptr(d.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
}

// receive reads one datagram from d's socket (epoll is level-triggered: a
// second one wakes it again) and ends d's request if it is the answer.
func (l *leanLoop) receive(d *leanDevice, job *leanJob, nextDue *time.Duration) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(d.fd), uintptr(unsafe.Pointer(&l.in[0])), uintptr(len(l.in)))
	if errno != 0 || !d.busy {
		// EAGAIN, or ECONNREFUSED from an ICMP port unreachable (the
		// target is not there yet: like a lost datagram), or a late
		// answer to a request already done.
		return
	}
	b := l.in[:n]
	kind, code, ackMID, ack := matchReply(b, d.mid, d.tok)
	switch kind {
	case replyOther:
		return
	case replyEmptyACK:
		if !d.acked {
			// A separate response may take up to EXCHANGE_LIFETIME;
			// wait a few ACK timeouts past the last retransmission.
			d.acked = true
			d.due = l.now() + l.t.ackTimeout*time.Duration(1<<l.t.maxRetransmit)
			if d.due < *nextDue {
				*nextDue = d.due
			}
		}
		return
	case replyReset:
		l.finish(d, Result{Latency: l.now() - d.sent, Err: ErrKindReset, Retries: d.tries}, nil, job, nextDue)
		return
	}
	if ack {
		l.ack = appendEmptyACK(l.ack[:0], ackMID)
		_, _, _ = syscall.RawSyscall(syscall.SYS_WRITE, uintptr(d.fd), uintptr(unsafe.Pointer(&l.ack[0])), uintptr(len(l.ack)))
	}
	res := result(code)
	res.Latency, res.Retries = l.now()-d.sent, d.tries
	l.finish(d, res, b, job, nextDue)
}

// finish ends d's request with res and starts the next one queued for d.
func (l *leanLoop) finish(d *leanDevice, res Result, resp []byte, job *leanJob, nextDue *time.Duration) {
	d.busy = false
	last := l.active[len(l.active)-1]
	l.active[d.slot] = last
	l.devs[last].slot = d.slot
	l.active = l.active[:len(l.active)-1]
	job.done(d, res, resp)
	if len(d.waiting) > 0 && !l.stop.Load() {
		i := d.waiting[0]
		d.waiting = d.waiting[1:]
		l.pending--
		l.start(d, i, job)
		if d.due < *nextDue {
			*nextDue = d.due
		}
	}
}

// retransmit resends every request whose timeout passed, fails those out
// of retransmissions, and returns the earliest time due after that.
func (l *leanLoop) retransmit(now time.Duration, job *leanJob) time.Duration {
	next := time.Duration(1<<63 - 1)
	for k := 0; k < len(l.active); {
		d := &l.devs[l.active[k]]
		if d.due > now {
			next = min(next, d.due)
			k++
			continue
		}
		if d.acked || d.tries >= l.t.maxRetransmit {
			// finish moves another request into slot k.
			l.finish(d, Result{Latency: now - d.sent, Err: ErrKindTimeout, Retries: d.tries}, nil, job, &next)
			continue
		}
		d.tries++
		d.timeout *= 2
		d.due = now + d.timeout
		l.send(d)
		next = min(next, d.due)
		k++
	}
	return next
}

// runLean is Run on the lean generator.
// begin starts the measured part and end ends it, before the sockets
// are closed.
func runLean(ctx context.Context, cfg *Config, rec *recorder, begin func() error, end func()) error {
	t := timing{ackTimeout: cfg.ACKTimeout, maxRetransmit: cfg.MaxRetransmit}
	l, err := openLean(cfg.Devices, cfg.Bind, cfg.Target, t)
	if err != nil {
		return err
	}
	defer l.close()
	defer context.AfterFunc(ctx, l.interrupt)()

	if cfg.Scenario == Update {
		// Register every device first, outside the measurement, and keep
		// the wire form of its Update.
		tmpl := newRegisterTemplate(cfg)
		registered, errs := 0, map[string]int{}
		l.run(leanJob{
			n: len(l.devs), inflight: cfg.InFlight,
			build: func(d *leanDevice, i int) []byte { return tmpl.append(d.out[:0], d.mid, d.tok, i) },
			done: func(d *leanDevice, res Result, resp []byte) {
				if res.Err != "" {
					errs[res.Err]++
					return
				}
				loc, ok := locationOf(resp)
				if ok {
					d.loc, ok = appendUpdate(nil, loc)
				}
				if !ok {
					errs["no location"]++
					return
				}
				registered++
			},
		})
		if err := ctx.Err(); err != nil {
			return err
		}
		if registered != len(l.devs) {
			pre := &Summary{Errors: errs}
			return fmt.Errorf("loadgen: %d of %d devices registered before the updates (errors: %s)", registered, len(l.devs), pre.ErrorString())
		}
	}

	job := leanJob{n: cfg.Requests, inflight: cfg.InFlight, rate: cfg.Rate, duration: cfg.Duration}
	if cfg.Scenario == Update {
		job.build = func(d *leanDevice, i int) []byte {
			b := append(d.out[:0], d.loc...)
			putMIDToken(b, d.mid, d.tok)
			return b
		}
	} else {
		tmpl := newRegisterTemplate(cfg)
		job.build = func(d *leanDevice, i int) []byte { return tmpl.append(d.out[:0], d.mid, d.tok, i) }
	}
	job.done = func(d *leanDevice, res Result, resp []byte) { rec.add(res) }
	if err := begin(); err != nil {
		return err
	}
	l.run(job)
	end()
	return nil
}
