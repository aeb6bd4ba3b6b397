//go:build linux && (amd64 || arm64)

package transport

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// readBatchSize is the most datagrams one recvmmsg(2) returns. A busy
// server's requests arrive in bursts (20 to 40 when the replies of one
// group commit set the devices' next requests off together), and each
// call saves the per-datagram system call and netpoller cost (about
// 1.4 us) of all but one datagram. With 8, `wasm2m load` (100,000
// registrations, 64 in flight) made 19,300 calls that read something,
// 5.2 datagrams each, half of them full; with 16, 14,500 calls: about
// 0.06 us less per request of some 35, for twice the memory.
//
// Memory: each slot holds the largest UDP payload (maxDatagram, 64 KiB),
// as the one-at-a-time buffer did, so a batch costs readBatchSize x
// maxDatagram = 512 KiB per plain-UDP endpoint, allocated once when it
// starts, where reading one at a time took 64 KiB. A server has one or two
// such endpoints (CoAP, and a bootstrap server's), next to socket receive
// buffers of 4 MiB each; a core/client engine reads through ListenSecure's
// demultiplexer one datagram at a time and has no batch; what remains is
// servertest's simulated devices, an endpoint each, a handful per test.
const readBatchSize = 8

// mmsgReader reads datagrams with recvmmsg(2): one system call for up to
// readBatchSize datagrams where ReadFromUDPAddrPort makes one per datagram.
// Its buffers are reused, so one goroutine at a time may call it (the
// endpoint's read loop).
type mmsgReader struct {
	raw   syscall.RawConn
	hs    []mmsghdr
	iov   []syscall.Iovec
	sa    []syscall.RawSockaddrInet6 // room for a sockaddr_in or a sockaddr_in6
	bufs  [][]byte
	n     int // datagrams read by the last readBatch
	errno syscall.Errno
	zones map[uint32]string // IPv6 scope IDs as zone names, as package net spells them
	read  func(fd uintptr) bool
	flags uintptr // of recvmmsg: MSG_WAITFORONE on a blocking socket
}

// newBatchReader returns a recvmmsg reader for c, or nil if c's socket
// cannot be inspected or is not an IPv4 or IPv6 one.
func newBatchReader(c *net.UDPConn) batchReader {
	if r := newMmsgReader(c, readBatchSize, maxDatagram); r != nil {
		return r
	}
	return nil
}

// newMmsgReader returns a reader of batches of up to n datagrams of up to
// size bytes each; a longer one is reported truncated.
func newMmsgReader(c *net.UDPConn, n, size int) *mmsgReader {
	raw, _, ok := inspectSocket(c)
	if !ok {
		return nil
	}
	return newMmsgReaderOn(raw, n, size, 0)
}

// newMmsgReaderOn is newMmsgReader on a raw connection, whose recvmmsg
// calls pass flags.
func newMmsgReaderOn(raw syscall.RawConn, n, size int, flags uintptr) *mmsgReader {
	r := &mmsgReader{
		raw:   raw,
		flags: flags,
		hs:    make([]mmsghdr, n),
		iov:   make([]syscall.Iovec, n),
		sa:    make([]syscall.RawSockaddrInet6, n),
		bufs:  make([][]byte, n),
	}
	mem := make([]byte, n*size)
	for i := range n {
		r.bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
		r.iov[i] = syscall.Iovec{Base: &r.bufs[i][0]}
		r.iov[i].SetLen(size)
		h := &r.hs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.sa[i]))
		h.Iov = &r.iov[i]
		h.Iovlen = 1
	}
	r.read = r.recvmmsg
	return r
}

// recvmmsg is the function given to RawConn.Read: false asks the netpoller
// to park the goroutine until the socket is readable.
func (r *mmsgReader) recvmmsg(fd uintptr) bool {
	for i := range r.hs {
		h := &r.hs[i]
		h.hdr.Namelen = syscall.SizeofSockaddrInet6
		h.hdr.Flags = 0
		h.n = 0
	}
	for {
		// On a non-blocking socket recvmmsg returns what is queued, at
		// least one datagram, or EAGAIN. On a blocking one (ownedSocket)
		// it waits for the first datagram, and MSG_WAITFORONE makes it
		// take only what is queued after that; EAGAIN is then its
		// receive timeout.
		n, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hs[0])), uintptr(len(r.hs)), r.flags, 0, 0)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), e
		return true
	}
}

// readBatch implements batchReader.
func (r *mmsgReader) readBatch() (int, error) {
	r.n, r.errno = 0, 0
	if err := r.raw.Read(r.read); err != nil {
		return 0, err // net.ErrClosed once the socket is closed
	}
	if r.errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", r.errno)
	}
	return r.n, nil
}

// datagram implements batchReader.
func (r *mmsgReader) datagram(i int) ([]byte, netip.AddrPort, bool) {
	h := &r.hs[i]
	b := r.bufs[i][:min(int(h.n), len(r.bufs[i]))]
	return b, r.peer(&r.sa[i]), h.hdr.Flags&syscall.MSG_TRUNC != 0
}

// peer decodes the sockaddr the kernel wrote, IPv4 or IPv6, without
// allocating (but for the first datagram from each IPv6 scope).
func (r *mmsgReader) peer(sa *syscall.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case syscall.AF_INET:
		sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case syscall.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(r.zone(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// zone names an IPv6 scope ID by its interface, as ReadFromUDPAddrPort
// does, or by its number if there is no such interface.
func (r *mmsgReader) zone(id uint32) string {
	if z, ok := r.zones[id]; ok {
		return z
	}
	z := zoneName(id)
	if r.zones == nil {
		r.zones = make(map[uint32]string)
	}
	r.zones[id] = z
	return z
}

// getPort reads a port in network byte order.
func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// zoneName spells an IPv6 scope ID as package net does: the interface's
// name, or the number if there is no such interface.
func zoneName(id uint32) string {
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(id), 10)
}
