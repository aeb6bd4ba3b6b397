//go:build linux && (amd64 || arm64)

package transport

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// maxBatch is the most datagrams one sendmmsg carries.
const maxBatch = 64

// mmsgWriter sends datagrams with sendmmsg(2): one system call for up to
// maxBatch datagrams, where WriteToUDPAddrPort makes one per datagram. Its
// buffers are reused, so one goroutine at a time may call it (the
// endpoint's sender guarantees that).
type mmsgWriter struct {
	one   func(b []byte, peer netip.AddrPort) error // sends a datagram sendmmsg cannot address
	raw   syscall.RawConn
	inet6 bool // the socket is AF_INET6: IPv4 peers as ::ffff:a.b.c.d
	hs    [maxBatch]mmsghdr
	iov   [maxBatch]syscall.Iovec
	sa4   [maxBatch]syscall.RawSockaddrInet4
	sa6   [maxBatch]syscall.RawSockaddrInet6
}

// newBatchWriter returns a sendmmsg writer for c, or nil if c's socket
// cannot be inspected.
func newBatchWriter(c *net.UDPConn) batchWriter {
	raw, inet6, ok := inspectSocket(c)
	if !ok {
		return nil
	}
	return &mmsgWriter{one: udpConn{c}.WriteTo, raw: raw, inet6: inet6}
}

// inspectSocket returns c's raw connection and whether its socket is an
// IPv6 one; ok is false if it cannot be inspected or is neither IPv4 nor
// IPv6.
func inspectSocket(c *net.UDPConn) (raw syscall.RawConn, inet6, ok bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, false, false
	}
	var sa syscall.Sockaddr
	var serr error
	if err := raw.Control(func(fd uintptr) { sa, serr = syscall.Getsockname(int(fd)) }); err != nil || serr != nil {
		return nil, false, false
	}
	switch sa.(type) {
	case *syscall.SockaddrInet4:
		return raw, false, true
	case *syscall.SockaddrInet6:
		return raw, true, true
	}
	return nil, false, false
}

func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

// writeBatch implements batchWriter.
func (w *mmsgWriter) writeBatch(ds []datagram) (int, error) {
	n := min(len(ds), maxBatch)
	for i := range n {
		d := &ds[i]
		a := d.peer.Addr()
		if a.Zone() != "" || len(d.b) == 0 || (!w.inet6 && !a.Is4()) {
			// A zoned IPv6 peer (its scope by interface name), or one
			// this socket cannot reach: the net package's own path,
			// which also gives the error.
			if i > 0 {
				n = i
				break
			}
			if err := w.one(d.b, d.peer); err != nil {
				return 0, err
			}
			return 1, nil
		}
		h := &w.hs[i]
		*h = mmsghdr{}
		if w.inet6 {
			sa := &w.sa6[i]
			*sa = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: a.As16()}
			putPort(&sa.Port, d.peer.Port())
			h.hdr.Name = (*byte)(unsafe.Pointer(sa))
			h.hdr.Namelen = syscall.SizeofSockaddrInet6
		} else {
			sa := &w.sa4[i]
			*sa = syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: a.As4()}
			putPort(&sa.Port, d.peer.Port())
			h.hdr.Name = (*byte)(unsafe.Pointer(sa))
			h.hdr.Namelen = syscall.SizeofSockaddrInet4
		}
		w.iov[i] = syscall.Iovec{Base: &d.b[0]}
		w.iov[i].SetLen(len(d.b))
		h.hdr.Iov = &w.iov[i]
		h.hdr.Iovlen = 1
	}
	var sent int
	var errno syscall.Errno
	err := w.raw.Write(func(fd uintptr) bool {
		for {
			// MSG_DONTWAIT: on a socket taken out of the netpoller
			// (ownedSocket), which is in blocking mode for its reader,
			// a full send buffer must not block the sender either.
			r, _, e := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&w.hs[0])), uintptr(n), syscall.MSG_DONTWAIT, 0, 0)
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait until the socket is writable
			}
			sent, errno = int(r), e
			return true
		}
	})
	for i := range n {
		w.iov[i].Base = nil // let the datagrams go
	}
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return sent, nil
}
