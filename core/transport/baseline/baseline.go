// Package baseline holds the two servers wasm2m's load generator measures
// the LwM2M server against, in the same run on the same machine: a bare
// go-coap v3 server whose handler only answers, and a hand-built stateless
// responder that answers from the fixed header alone. Neither is an LwM2M
// server: they tell how fast a CoAP server can be on this machine (go-coap)
// and how fast a UDP socket can answer at all (stateless), so that the
// server's rate is reported as a ratio rather than a number that depends
// on how busy the machine was.
//
// baseline is the only wasm2m package besides core/transport that imports
// go-coap, and only for GoCoAP. It imports the standard library and
// go-coap; nothing in the server, client or host depends on it except the
// load generator.
package baseline

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/mux"
	coapnet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
)

// location is the Location-Path both baselines answer with, the shape of
// an LwM2M Register response (Core 1.1 section 6.2.1: /rd/{id}).
var location = []message.Option{
	{ID: message.LocationPath, Value: []byte("rd")},
	{ID: message.LocationPath, Value: []byte("x")},
}

// GoCoAP starts a bare go-coap v3 UDP server on addr ("127.0.0.1:0") with
// go-coap's defaults (udp.NewServer with a mux router, no inactivity
// monitor) whose handler answers every POST with 2.01 Created and the
// Location-Path rd/x, and any other request with 2.05 Content. It returns
// the address it listens on and a stop function that closes the socket and
// waits for the server to return.
func GoCoAP(addr string) (stop func(), at netip.AddrPort, err error) {
	l, err := coapnet.NewListenUDP("udp", addr)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("baseline: listen on %s: %w", addr, err)
	}
	at, err = addrPortOf(l.LocalAddr())
	if err != nil {
		l.Close()
		return nil, netip.AddrPort{}, err
	}
	r := mux.NewRouter()
	r.SetErrorHandler(func(error) {})
	r.DefaultHandle(mux.HandlerFunc(func(w mux.ResponseWriter, req *mux.Message) {
		if req.Code() == codes.POST {
			_ = w.SetResponse(codes.Created, message.TextPlain, nil, location...)
			return
		}
		_ = w.SetResponse(codes.Content, message.TextPlain, nil)
	}))
	s := udp.NewServer(options.WithMux(r), options.WithErrors(func(error) {}))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.Serve(l)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.Stop()
			wg.Wait()
		})
	}, at, nil
}

// Stateless starts a responder on a plain UDP socket on addr that turns
// every CON request into a piggybacked ACK 2.01 Created with the request's
// message ID and token and the Location-Path rd/x (RFC 7252 section
// 5.2.1). It decodes only the 4-byte header and the token, keeps nothing
// between datagrams and ignores everything that is not a CON request. One
// goroutine reads and answers; stop closes the socket and waits for it.
func Stateless(addr string) (stop func(), at netip.AddrPort, err error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("baseline: %w", err)
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("baseline: listen on %s: %w", addr, err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	at, err = addrPortOf(c.LocalAddr())
	if err != nil {
		c.Close()
		return nil, netip.AddrPort{}, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveStateless(c)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.Close()
			<-done
		})
	}, at, nil
}

func serveStateless(c *net.UDPConn) {
	in := make([]byte, 1500)
	out := make([]byte, 0, 32)
	for {
		n, peer, err := c.ReadFromUDPAddrPort(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if b, ok := AppendCreated(out[:0], in[:n]); ok {
			_, _ = c.WriteToUDPAddrPort(b, peer)
		}
	}
}

// AppendCreated appends to dst the piggybacked ACK 2.01 Created (with
// Location-Path rd/x) that answers the CON request req, reading only its
// fixed header and token (RFC 7252 section 3). It reports false for
// anything else: not version 1, not a CON, not a request, a bad token
// length.
func AppendCreated(dst, req []byte) ([]byte, bool) {
	if len(req) < 4 {
		return dst, false
	}
	ver, typ, tkl := req[0]>>6, (req[0]>>4)&3, int(req[0]&0x0f)
	code := req[1]
	if ver != 1 || typ != 0 || tkl > 8 || len(req) < 4+tkl || code == 0 || code>>5 != 0 {
		return dst, false
	}
	dst = append(dst, 1<<6|2<<4|byte(tkl), 2<<5|1, req[2], req[3]) // ACK, 2.01, same MID
	dst = append(dst, req[4:4+tkl]...)
	// Location-Path (8) "rd", then Location-Path (delta 0) "x".
	dst = append(dst, 8<<4|2, 'r', 'd', 0<<4|1, 'x')
	return dst, true
}

func addrPortOf(a net.Addr) (netip.AddrPort, error) {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("baseline: not a UDP address: %v", a)
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
