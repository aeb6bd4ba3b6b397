package transport

import (
	"errors"
	"net"
	"net/netip"
)

// packetConn is the socket an Endpoint reads and writes datagrams through.
// The UDP socket implements it, and so do the DTLS roles (dtlsServer,
// dtlsClient), which demultiplex their sessions into one stream of
// (datagram, peer) pairs, so that the message layer above is the same for
// both.
//
// ReadFrom is called from one goroutine at a time; WriteTo from many at
// once. ReadFrom returns an error wrapping net.ErrClosed once Close was
// called.
type packetConn interface {
	ReadFrom(b []byte) (n int, peer netip.AddrPort, err error)
	WriteTo(b []byte, peer netip.AddrPort) error
	LocalAddr() netip.AddrPort
	Close() error
}

// datagram is one datagram to send.
type datagram struct {
	b    []byte
	peer netip.AddrPort
}

// batchWriter sends several datagrams with one system call. writeBatch
// sends a prefix of ds, in order, and returns its length; with an error,
// ds[n] could not be sent. It returns n > 0 or an error. One goroutine at a
// time calls it.
type batchWriter interface {
	writeBatch(ds []datagram) (n int, err error)
}

// batchReader reads several datagrams with one system call. readBatch
// waits until at least one datagram is queued and reads up to its
// capacity, returning how many; datagram(i) then returns the i-th, its
// sender, and whether it was longer than its buffer (and so truncated).
// What datagram returns is valid until the next readBatch. readBatch
// returns an error wrapping net.ErrClosed once the socket is closed. One
// goroutine at a time calls it.
type batchReader interface {
	readBatch() (n int, err error)
	datagram(i int) (b []byte, peer netip.AddrPort, truncated bool)
}

// udpConn is a packetConn over a *net.UDPConn. Both calls are
// allocation-free.
type udpConn struct{ c *net.UDPConn }

func (u udpConn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	n, ap, err := u.c.ReadFromUDPAddrPort(b)
	return n, ap, err
}

func (u udpConn) WriteTo(b []byte, peer netip.AddrPort) error {
	_, err := u.c.WriteToUDPAddrPort(b, peer)
	return err
}

func (u udpConn) LocalAddr() netip.AddrPort {
	if a, ok := u.c.LocalAddr().(*net.UDPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

func (u udpConn) Close() error { return u.c.Close() }

// normalize makes one key of the two spellings of an IPv4 peer on a
// dual-stack socket (::ffff:192.0.2.1 and 192.0.2.1).
func normalize(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}

// errNotOwnable is ownUDP's answer where a socket cannot be taken out of
// the netpoller (another system, or a socket it cannot inspect): the
// endpoint then keeps it in the poller.
var errNotOwnable = errors.New("transport: the socket cannot be read outside the network poller here")
