package loadgen

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Error kinds of a Result, the keys of Summary.Errors. A response with an
// error code counts under its code ("4.00", "5.03").
const (
	ErrKindTimeout = "timeout" // no answer after the last retransmission
	ErrKindReset   = "reset"   // the peer answered RST
	ErrKindIO      = "io"      // the socket failed
	ErrKindCancel  = "cancelled"
)

// Result is the outcome of one request.
type Result struct {
	Latency time.Duration // from the first transmission to the response
	Code    model.Code    // the response code; 0 when there was none
	Err     string        // "" on success, else an error kind or the code
	Retries int           // retransmissions it took
}

// timing is the retransmission schedule of a simulated device (RFC 7252
// section 4.2, with the load generator's own parameters).
type timing struct {
	ackTimeout    time.Duration
	maxRetransmit int
}

// device is one simulated device: its own connected UDP socket, its
// message ID and token counters, and its registration's location. A device
// runs one request at a time (mu); devices run concurrently.
type device struct {
	mu   sync.Mutex
	conn *net.UDPConn
	addr netip.AddrPort // local address
	mid  uint16
	tok  uint64
	loc  string // "/rd/<id>" after a Register
	out  []byte
	in   []byte
	resp transport.Message
}

// dial opens a device socket bound to local (port 0: the kernel picks)
// and connected to target, so that the kernel drops datagrams from anyone
// else and reads need no address.
func dial(local netip.Addr, target netip.AddrPort) (*device, error) {
	var la *net.UDPAddr
	if local.IsValid() {
		la = net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0))
	}
	c, err := net.DialUDP("udp", la, net.UDPAddrFromAddrPort(target))
	if err != nil {
		return nil, err
	}
	d := &device{
		conn: c,
		addr: c.LocalAddr().(*net.UDPAddr).AddrPort(),
		mid:  uint16(rand.Uint32()),
		tok:  rand.Uint64(),
		out:  make([]byte, 0, 512),
		in:   make([]byte, 1500),
	}
	return d, nil
}

func (d *device) close() error { return d.conn.Close() }

// listen clears the read deadline that do leaves behind, so that a
// goroutine can read d's socket from then on until it is closed.
func (d *device) listen() error { return d.conn.SetReadDeadline(time.Time{}) }

// do sends msg as a CON request, retransmitting it on the schedule t, and
// waits for its response: piggybacked in the ACK, or separate after an
// empty ACK (RFC 7252 section 5.2). It sets msg's MID and token. The
// response is d.resp, valid until the next call.
func (d *device) do(msg *transport.Message, t timing, deadline time.Time) Result {
	d.mid++
	d.tok++
	var tok [8]byte
	for i := range tok {
		tok[i] = byte(d.tok >> (8 * i))
	}
	msg.Type, msg.MID, msg.Token = transport.Confirmable, d.mid, tok[:]
	b, err := msg.AppendBinary(d.out[:0])
	if err != nil {
		return Result{Err: ErrKindIO}
	}
	d.out = b[:0]
	start := time.Now()
	timeout := time.Duration(float64(t.ackTimeout) * (1 + rand.Float64()*0.5))
	acked := false
	for try := 0; ; try++ {
		if !acked {
			if _, err := d.conn.Write(b); err != nil {
				return Result{Latency: time.Since(start), Err: ioKind(err), Retries: try}
			}
		}
		wait := time.Now().Add(timeout)
		if acked {
			// A separate response may take up to EXCHANGE_LIFETIME;
			// the load generator waits a few ACK timeouts past the
			// last retransmission.
			wait = time.Now().Add(t.ackTimeout * time.Duration(1<<t.maxRetransmit))
		}
		if !deadline.IsZero() && deadline.Before(wait) {
			wait = deadline
		}
		res, done := d.await(msg, wait, &acked)
		if done {
			res.Latency, res.Retries = time.Since(start), try
			return res
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return Result{Latency: time.Since(start), Err: ErrKindCancel, Retries: try}
		}
		if acked || try >= t.maxRetransmit {
			return Result{Latency: time.Since(start), Err: ErrKindTimeout, Retries: try}
		}
		timeout *= 2
	}
}

// await reads until the response to msg arrives or until wait. A message
// that does not belong to this exchange (a late answer to an earlier
// retransmission, say) is skipped.
func (d *device) await(msg *transport.Message, wait time.Time, acked *bool) (Result, bool) {
	if err := d.conn.SetReadDeadline(wait); err != nil {
		return Result{Err: ioKind(err)}, true
	}
	for {
		n, err := d.conn.Read(d.in)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return Result{}, false
			}
			// ECONNREFUSED from an ICMP port unreachable: the target
			// is not there (yet); keep waiting like a lost datagram.
			if isRefused(err) {
				continue
			}
			return Result{Err: ioKind(err)}, true
		}
		r := &d.resp
		if r.UnmarshalBinary(d.in[:n]) != nil {
			continue
		}
		switch {
		case r.MID == msg.MID && (r.Type == transport.Acknowledgement || r.Type == transport.Reset):
			if r.Type == transport.Reset {
				return Result{Err: ErrKindReset}, true
			}
			if r.Code == 0 {
				*acked = true // a separate response follows
				continue
			}
			if string(r.Token) != string(msg.Token) {
				continue
			}
			return result(r.Code), true
		case (r.Type == transport.Confirmable || r.Type == transport.NonConfirmable) && r.IsResponse() && string(r.Token) == string(msg.Token):
			if r.Type == transport.Confirmable {
				ack := []byte{1<<6 | byte(transport.Acknowledgement)<<4, 0, byte(r.MID >> 8), byte(r.MID)}
				_, _ = d.conn.Write(ack)
			}
			return result(r.Code), true
		}
	}
}

// ioKind is the error kind of a failed socket call: cancelled when the
// run closed the socket (its context ended), else io.
func ioKind(err error) string {
	if errors.Is(err, net.ErrClosed) {
		return ErrKindCancel
	}
	return ErrKindIO
}

func result(c model.Code) Result {
	if c.IsSuccess() {
		return Result{Code: c}
	}
	return Result{Code: c, Err: c.String()}
}
