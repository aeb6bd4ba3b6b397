//go:build linux && (amd64 || arm64)

package transport

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// ownedSocket is a UDP socket taken out of Go's network poller
// (Config.BlockingReads). The endpoint's reading goroutine waits in a
// blocking recvmmsg(2), on the OS thread it then keeps, and is woken by
// the kernel itself when a datagram arrives; sends are non-blocking and
// wait in poll(2) only when the send buffer is full.
//
// Why: in the netpoller a socket is registered edge-triggered for both
// reading and writing, so every datagram sent frees send-buffer space and
// wakes a thread parked in epoll_wait for nothing, and every burst read
// ends in a recvmmsg that finds the queue empty, a park and an epoll
// wake-up. Measured on a busy server (BENCHMARKS.md, "Out of the
// netpoller"): 11-12% less CPU per Register, 11-16% more Registers a
// second.
//
// ownedSocket implements syscall.RawConn, so that the recvmmsg and
// sendmmsg code is the same on both kinds of socket, and packetConn.
type ownedSocket struct {
	fd    int
	inet6 bool
	local netip.AddrPort
	// mu is held shared by every system call on fd and exclusively by
	// Close to close it, so that no call ever reaches a descriptor number
	// the process has since reused.
	mu     sync.RWMutex
	closed atomic.Bool
}

// ownedRecvTimeout bounds each blocking read, so that the reader sees
// Close even if shutdown(2) failed to wake it. Close does wake it on
// Linux; a test lengthens this to show that.
var ownedRecvTimeout = time.Second

// ownUDP takes c's socket out of the netpoller: it duplicates the
// descriptor, closes c (which removes c's from the poller's epoll set),
// and puts the socket in blocking mode with a receive timeout. c must not
// be used afterwards. It returns the socket, a recvmmsg reader and a
// sendmmsg writer over it.
func ownUDP(c *net.UDPConn) (packetConn, batchReader, batchWriter, error) {
	raw, inet6, ok := inspectSocket(c)
	if !ok {
		return nil, nil, nil, errNotOwnable
	}
	local := udpConn{c}.LocalAddr()
	fd, derr := -1, error(nil)
	if err := raw.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("transport: take the socket out of the poller: %w", err)
	}
	if derr != nil {
		return nil, nil, nil, fmt.Errorf("transport: take the socket out of the poller: dup: %w", derr)
	}
	c.Close()
	tv := syscall.NsecToTimeval(int64(ownedRecvTimeout))
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, nil, nil, fmt.Errorf("transport: blocking mode: %w", err)
	}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, nil, nil, fmt.Errorf("transport: receive timeout: %w", err)
	}
	s := &ownedSocket{fd: fd, inet6: inet6, local: local}
	const msgWaitForOne = 0x10000 // MSG_WAITFORONE, which package syscall leaves out
	in := newMmsgReaderOn(s, readBatchSize, maxDatagram, msgWaitForOne)
	out := &mmsgWriter{one: s.WriteTo, raw: s, inet6: inet6}
	return s, in, out, nil
}

// Control implements syscall.RawConn.
func (s *ownedSocket) Control(f func(fd uintptr)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return net.ErrClosed
	}
	f(uintptr(s.fd))
	return nil
}

// Read implements syscall.RawConn: f is called, blocking in the kernel,
// until it reports done; false means the receive timeout passed with
// nothing to read. A read that Close's shutdown woke returns empty
// "datagrams", which are not passed on.
func (s *ownedSocket) Read(f func(fd uintptr) bool) error {
	return s.retry(f, nil, true)
}

// Write implements syscall.RawConn: f is called until it reports done;
// false means the send buffer is full, and Write waits until it has room.
func (s *ownedSocket) Write(f func(fd uintptr) bool) error {
	return s.retry(f, s.waitWritable, false)
}

// retry calls f on the descriptor, under the shared lock, until f
// reports done, and wait (if not nil) after each call that did not.
// Once closed, it returns net.ErrClosed, also for a call done after
// Close began if closedAfter.
func (s *ownedSocket) retry(f func(fd uintptr) bool, wait func(), closedAfter bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for {
		if s.closed.Load() {
			return net.ErrClosed
		}
		if f(uintptr(s.fd)) {
			if closedAfter && s.closed.Load() {
				return net.ErrClosed
			}
			return nil
		}
		if wait != nil {
			wait()
		}
	}
}

// pollFd is struct pollfd of poll(2).
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const pollOut = 0x4 // POLLOUT

// waitWritable waits up to 100 ms for the socket to have room to send.
// Close's shutdown ends the wait at once (POLLHUP).
func (s *ownedSocket) waitWritable() {
	p := pollFd{fd: int32(s.fd), events: pollOut}
	ts := syscall.NsecToTimespec(int64(100 * time.Millisecond))
	_, _, _ = syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
}

// ReadFrom implements packetConn, one datagram at a time: an endpoint
// reads an ownedSocket through its mmsgReader, so this is for
// completeness.
func (s *ownedSocket) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	var (
		n    int
		from syscall.Sockaddr
		rerr error
	)
	err := s.Read(func(fd uintptr) bool {
		return settled(func() error {
			n, from, rerr = syscall.Recvfrom(int(fd), b, 0)
			return rerr
		})
	})
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if rerr != nil {
		return 0, netip.AddrPort{}, fmt.Errorf("transport: recvfrom: %w", rerr)
	}
	return n, addrPortOf(from), nil
}

// settled makes a system call, again while a signal interrupts it
// (EINTR), and reports whether it settled: false if it would have
// blocked (EAGAIN), true for success or any other error.
func settled(call func() error) bool {
	for {
		switch call() {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		return true
	}
}

// addrPortOf converts a sender's address.
func addrPortOf(sa syscall.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr)
		if a.ZoneId != 0 {
			ip = ip.WithZone(zoneName(a.ZoneId))
		}
		return netip.AddrPortFrom(ip, uint16(a.Port))
	}
	return netip.AddrPort{}
}

// WriteTo implements packetConn: one sendto(2), non-blocking.
func (s *ownedSocket) WriteTo(b []byte, peer netip.AddrPort) error {
	sa, err := s.sockaddr(peer)
	if err != nil {
		return err
	}
	var werr error
	err = s.Write(func(fd uintptr) bool {
		return settled(func() error {
			werr = syscall.Sendto(int(fd), b, syscall.MSG_DONTWAIT, sa)
			return werr
		})
	})
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("transport: sendto %s: %w", peer, werr)
	}
	return nil
}

// sockaddr is peer as this socket's family spells it: an IPv4 peer of an
// IPv6 socket as ::ffff:a.b.c.d, an IPv6 zone as its interface index.
func (s *ownedSocket) sockaddr(peer netip.AddrPort) (syscall.Sockaddr, error) {
	a := peer.Addr()
	if !s.inet6 {
		if !a.Unmap().Is4() {
			return nil, fmt.Errorf("transport: send to %s: an IPv6 address on an IPv4 socket", peer)
		}
		return &syscall.SockaddrInet4{Port: int(peer.Port()), Addr: a.Unmap().As4()}, nil
	}
	sa := &syscall.SockaddrInet6{Port: int(peer.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if n, err := strconv.ParseUint(z, 10, 32); err == nil {
			sa.ZoneId = uint32(n)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else {
			return nil, fmt.Errorf("transport: send to %s: zone %q: %w", peer, z, err)
		}
	}
	return sa, nil
}

// LocalAddr implements packetConn.
func (s *ownedSocket) LocalAddr() netip.AddrPort { return s.local }

// Close implements packetConn. It shuts the socket down, which wakes a
// reader blocked in recvmmsg and a sender waiting for room, waits for
// every call in progress, and closes the descriptor.
func (s *ownedSocket) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	// On an unconnected UDP socket shutdown reports ENOTCONN, but still
	// marks the socket shut and wakes whoever waits on it.
	_ = syscall.Shutdown(s.fd, syscall.SHUT_RDWR)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := syscall.Close(s.fd)
	s.fd = -1
	return err
}
