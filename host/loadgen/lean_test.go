package loadgen

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// generators are the generators this platform runs.
func generators() []Generator {
	if leanAvailable {
		return []Generator{GeneratorLean, GeneratorNetpoll}
	}
	return []Generator{GeneratorNetpoll}
}

// TestRegisterTemplate checks that the lean generator's Register is byte
// for byte what the codec encodes, for endpoint names whose option length
// takes no extra byte, one and two.
func TestRegisterTemplate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prefix  string
		payload string
	}{
		{"short", "a", DefaultPayload},
		{"one length byte", "lg-0123abcd-", DefaultPayload},
		{"two length bytes", strings.Repeat("p", 300), DefaultPayload},
		{"no payload", "x-", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Target: netip.MustParseAddrPort("127.0.0.1:5683"), Prefix: tc.prefix, Payload: tc.payload, Lifetime: 300, Version: "1.2"}
			if err := cfg.setDefaults(); err != nil {
				t.Fatal(err)
			}
			if tc.payload == "-" {
				cfg.Payload = ""
			}
			tmpl := newRegisterTemplate(&cfg)
			for _, i := range []int{0, 7, 12345, 999999999} {
				mid, tok := uint16(0xbeef+i), uint64(0x0102030405060708)+uint64(i)
				got := tmpl.append(nil, mid, tok, i)
				m := registerMessage(&cfg, cfg.Prefix+itoa(i))
				m.Type, m.MID = transport.Confirmable, mid
				m.Token = make([]byte, 8)
				for k := range m.Token {
					m.Token[k] = byte(tok >> (8 * k))
				}
				if cfg.Payload == "" {
					m.Payload = nil
				}
				want, err := m.AppendBinary(nil)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("request %d:\n got %x\nwant %x", i, got, want)
				}
			}
		})
	}
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(dst []byte, i int) []byte {
	if i >= 10 {
		dst = appendInt(dst, i/10)
	}
	return append(dst, byte('0'+i%10))
}

// encode returns the wire form of m.
func encode(t *testing.T, m transport.Message) []byte {
	t.Helper()
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMatchReply(t *testing.T) {
	const mid, tok = 0x1234, uint64(0x1122334455667788)
	token := make([]byte, 8)
	for i := range token {
		token[i] = byte(tok >> (8 * i))
	}
	other := append([]byte(nil), token...)
	other[7] ^= 1
	loc := []transport.Option{{ID: transport.OptLocationPath, Value: []byte("rd")}}
	for _, tc := range []struct {
		name   string
		b      []byte
		kind   int
		code   model.Code
		ack    bool
		ackMID uint16
	}{
		{"piggybacked", encode(t, transport.Message{Type: transport.Acknowledgement, Code: model.Created, MID: mid, Token: token, Options: loc}), replyResponse, model.Created, false, 0},
		{"piggybacked error", encode(t, transport.Message{Type: transport.Acknowledgement, Code: model.BadRequest, MID: mid, Token: token, Payload: []byte("no")}), replyResponse, model.BadRequest, false, 0},
		{"other MID", encode(t, transport.Message{Type: transport.Acknowledgement, Code: model.Created, MID: mid + 1, Token: token}), replyOther, 0, false, 0},
		{"other token", encode(t, transport.Message{Type: transport.Acknowledgement, Code: model.Created, MID: mid, Token: other}), replyOther, 0, false, 0},
		{"short token", encode(t, transport.Message{Type: transport.Acknowledgement, Code: model.Created, MID: mid, Token: token[:4]}), replyOther, 0, false, 0},
		{"empty ACK", encode(t, transport.Message{Type: transport.Acknowledgement, MID: mid}), replyEmptyACK, 0, false, 0},
		{"empty ACK of another", encode(t, transport.Message{Type: transport.Acknowledgement, MID: mid - 1}), replyOther, 0, false, 0},
		{"empty ACK with a token", []byte{0x61, 0, 0x12, 0x34, 9}, replyOther, 0, false, 0},
		{"reset", encode(t, transport.Message{Type: transport.Reset, MID: mid}), replyReset, 0, false, 0},
		{"reset of another", encode(t, transport.Message{Type: transport.Reset, MID: 7}), replyOther, 0, false, 0},
		{"separate CON", encode(t, transport.Message{Type: transport.Confirmable, Code: model.Created, MID: 0x5555, Token: token}), replyResponse, model.Created, true, 0x5555},
		{"separate NON", encode(t, transport.Message{Type: transport.NonConfirmable, Code: model.Changed, MID: 0x5556, Token: token}), replyResponse, model.Changed, false, 0x5556},
		{"separate, other token", encode(t, transport.Message{Type: transport.Confirmable, Code: model.Created, MID: 0x5555, Token: other}), replyOther, 0, false, 0},
		{"a request with the token", encode(t, transport.Message{Type: transport.Confirmable, Code: transport.GET, MID: mid, Token: token}), replyOther, 0, false, 0},
		{"reserved class", []byte{0x68, 3<<5 | 1, 0x12, 0x34, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}, replyOther, 0, false, 0},
		{"version 2", []byte{0xa8, 0x41, 0x12, 0x34, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}, replyOther, 0, false, 0},
		{"truncated token", []byte{0x68, 0x41, 0x12, 0x34, 0x88, 0x77}, replyOther, 0, false, 0},
		{"token length 9", []byte{0x69, 0x41, 0x12, 0x34, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0}, replyOther, 0, false, 0},
		{"3 bytes", []byte{0x60, 0, 0x12}, replyOther, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, code, ackMID, ack := matchReply(tc.b, mid, tok)
			if kind != tc.kind || code != tc.code || ack != tc.ack || (ack && ackMID != tc.ackMID) {
				t.Errorf("matchReply = %d %s ack %v %#x, want %d %s ack %v %#x", kind, code, ack, ackMID, tc.kind, tc.code, tc.ack, tc.ackMID)
			}
		})
	}
}

// scripted is a target whose answers a test decides, datagram by
// datagram: answer gets each datagram a device sent (decoded) and the
// number of times that message ID came from that peer (1 for the first
// transmission), and returns the datagrams to send back.
type scripted struct {
	conn   *net.UDPConn
	answer func(req *transport.Message, nth int) [][]byte
	mu     sync.Mutex
	seen   map[string]int // peer and MID -> transmissions
	peers  map[netip.AddrPort]int
	acks   int // Empty ACKs received
	reqs   int
	done   chan struct{}
}

func startScripted(t *testing.T, answer func(req *transport.Message, nth int) [][]byte) *scripted {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{conn: c, answer: answer, seen: map[string]int{}, peers: map[netip.AddrPort]int{}, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() {
		c.Close()
		<-s.done
	})
	return s
}

func (s *scripted) addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (s *scripted) serve() {
	defer close(s.done)
	buf := make([]byte, 2048)
	for {
		n, peer, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var m transport.Message
		if m.UnmarshalBinary(buf[:n]) != nil {
			continue
		}
		s.mu.Lock()
		if m.Type == transport.Acknowledgement && m.Code == 0 {
			s.acks++
			s.mu.Unlock()
			continue
		}
		s.reqs++
		s.peers[peer]++
		key := peer.String() + "/" + itoa(int(m.MID))
		s.seen[key]++
		nth := s.seen[key]
		s.mu.Unlock()
		for _, b := range s.answer(&m, nth) {
			_, _ = s.conn.WriteToUDPAddrPort(b, peer)
		}
	}
}

func (s *scripted) counts() (reqs, acks int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs, s.acks
}

// answerWith returns the wire form of a message answering req.
func answerWith(t *testing.T, typ transport.Type, code model.Code, mid uint16, token []byte) []byte {
	m := transport.Message{Type: typ, Code: code, MID: mid, Token: token}
	if code == model.Created {
		m.SetLocationPath("rd", "x")
	}
	return encode(t, m)
}

// TestGeneratorExchanges runs both generators against scripted targets:
// matching by message ID and token among stray datagrams, retransmission
// of a dropped request, separate responses and their ACK, resets, error
// codes and timeouts.
func TestGeneratorExchanges(t *testing.T) {
	const n = 40
	for _, tc := range []struct {
		name   string
		answer func(t *testing.T, req *transport.Message, nth int) [][]byte
		check  func(t *testing.T, s *Summary, target *scripted)
	}{
		{"stray datagrams first", func(t *testing.T, req *transport.Message, nth int) [][]byte {
			other := append([]byte(nil), req.Token...)
			other[0] ^= 0xff
			return [][]byte{
				answerWith(t, transport.Acknowledgement, model.NotFound, req.MID+1, req.Token), // another MID
				answerWith(t, transport.Acknowledgement, model.NotFound, req.MID, other),       // another token
				answerWith(t, transport.Confirmable, model.NotFound, 77, other),                // a separate response to someone else
				answerWith(t, transport.Reset, 0, req.MID-1, nil),                              // a reset of another message
				{0x40}, // not CoAP
				answerWith(t, transport.Acknowledgement, model.Created, req.MID, req.Token),             // the answer
				answerWith(t, transport.Acknowledgement, model.InternalServerError, req.MID, req.Token), // a duplicate, too late
			}
		}, func(t *testing.T, s *Summary, _ *scripted) {
			if s.OK != n || s.Retries != 0 {
				t.Errorf("%d of %d ok, %d retransmissions, errors %s", s.OK, n, s.Retries, s.ErrorString())
			}
		}},
		{"first transmission dropped", func(t *testing.T, req *transport.Message, nth int) [][]byte {
			if nth == 1 {
				return nil
			}
			return [][]byte{answerWith(t, transport.Acknowledgement, model.Created, req.MID, req.Token)}
		}, func(t *testing.T, s *Summary, target *scripted) {
			if s.OK != n || s.Retries != n {
				t.Errorf("%d of %d ok, %d retransmissions, want one each; errors %s", s.OK, n, s.Retries, s.ErrorString())
			}
			if reqs, _ := target.counts(); reqs != 2*n {
				t.Errorf("the target got %d datagrams, want %d", reqs, 2*n)
			}
			if min := s.Latency.Min(); min < 20*time.Millisecond {
				t.Errorf("a retransmitted request took %v, less than the ACK timeout", min)
			}
		}},
		{"separate response", func(t *testing.T, req *transport.Message, nth int) [][]byte {
			return [][]byte{
				encode(t, transport.Message{Type: transport.Acknowledgement, MID: req.MID}),
				answerWith(t, transport.Confirmable, model.Created, req.MID^0x8000, req.Token),
			}
		}, func(t *testing.T, s *Summary, target *scripted) {
			if s.OK != n || s.Retries != 0 {
				t.Errorf("%d of %d ok, %d retransmissions, errors %s", s.OK, n, s.Retries, s.ErrorString())
			}
			deadline := time.Now().Add(2 * time.Second)
			for {
				if _, acks := target.counts(); acks == n || time.Now().After(deadline) {
					if acks != n {
						t.Errorf("%d separate responses acknowledged, want %d", acks, n)
					}
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}},
		{"reset", func(t *testing.T, req *transport.Message, nth int) [][]byte {
			return [][]byte{answerWith(t, transport.Reset, 0, req.MID, nil)}
		}, func(t *testing.T, s *Summary, _ *scripted) {
			if s.Errors[ErrKindReset] != n || s.OK != 0 {
				t.Errorf("errors %s, %d ok; want %d resets", s.ErrorString(), s.OK, n)
			}
		}},
		{"error code", func(t *testing.T, req *transport.Message, nth int) [][]byte {
			return [][]byte{answerWith(t, transport.Acknowledgement, model.BadRequest, req.MID, req.Token)}
		}, func(t *testing.T, s *Summary, _ *scripted) {
			if s.Errors["4.00"] != n || s.Done != n {
				t.Errorf("errors %s, %d done; want %d 4.00", s.ErrorString(), s.Done, n)
			}
		}},
		{"acknowledged, never answered", func(t *testing.T, req *transport.Message, nth int) [][]byte {
			return [][]byte{encode(t, transport.Message{Type: transport.Acknowledgement, MID: req.MID})}
		}, func(t *testing.T, s *Summary, target *scripted) {
			// The wait after an empty ACK is ACK timeout × 2^MaxRetransmit.
			if s.Errors[ErrKindTimeout] != n || s.Retries != 0 {
				t.Errorf("errors %s, %d retransmissions; want %d timeouts without retransmission", s.ErrorString(), s.Retries, n)
			}
			if reqs, _ := target.counts(); reqs != n {
				t.Errorf("the target got %d datagrams, want %d", reqs, n)
			}
			if min := s.Latency.Min(); s.Latency.Count() > 0 && min < 80*time.Millisecond {
				t.Errorf("gave up after %v", min)
			}
		}},
		{"silent", func(t *testing.T, req *transport.Message, nth int) [][]byte {
			return nil
		}, func(t *testing.T, s *Summary, target *scripted) {
			if s.Errors[ErrKindTimeout] != n || s.Retries != 2*n {
				t.Errorf("errors %s, %d retransmissions; want %d timeouts after 2 retransmissions each", s.ErrorString(), s.Retries, n)
			}
			if reqs, _ := target.counts(); reqs != 3*n {
				t.Errorf("the target got %d datagrams, want %d", reqs, 3*n)
			}
		}},
	} {
		// Cases about retransmissions and timeouts run on a 20 ms ACK
		// timeout, to be quick; the others want none, and get a timeout
		// that a target delayed by a loaded machine does not reach (at
		// 20 ms, "stray datagrams first" saw a retransmission at load 10).
		ack := 20 * time.Millisecond
		if relaxedACK[tc.name] {
			ack = 250 * time.Millisecond
		}
		for _, g := range generators() {
			t.Run(tc.name+"/"+string(g), func(t *testing.T) {
				target := startScripted(t, func(req *transport.Message, nth int) [][]byte { return tc.answer(t, req, nth) })
				s, err := Run(context.Background(), Config{
					Target: target.addr(), Generator: g, Devices: 10, Requests: n, InFlight: 8,
					ACKTimeout: ack, MaxRetransmit: 2,
				})
				if err != nil {
					t.Fatal(err)
				}
				if s.Done != n {
					t.Errorf("%d of %d requests done", s.Done, n)
				}
				tc.check(t, s, target)
			})
		}
	}
}

// relaxedACK names the cases of TestGeneratorExchanges that expect no
// retransmission and no timeout.
var relaxedACK = map[string]bool{"stray datagrams first": true, "separate response": true, "reset": true, "error code": true}

// TestGeneratorRequests checks what the target receives from each
// generator: distinct endpoint names, a fresh message ID and token per
// request from each device, one socket per device.
func TestGeneratorRequests(t *testing.T) {
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) {
			var mu sync.Mutex
			eps := map[string]bool{}
			exchanges := map[string]bool{}
			target := startScripted(t, func(req *transport.Message, nth int) [][]byte {
				mu.Lock()
				defer mu.Unlock()
				for _, q := range req.Queries() {
					if ep, ok := strings.CutPrefix(q, "ep="); ok {
						if eps[ep] {
							t.Errorf("endpoint %q registered twice", ep)
						}
						eps[ep] = true
					}
				}
				key := string(req.Token) + "/" + itoa(int(req.MID))
				if exchanges[key] {
					t.Errorf("message ID %d and token %x used twice", req.MID, req.Token)
				}
				exchanges[key] = true
				if req.Code != transport.POST || req.Path() != "/rd" || req.Type != transport.Confirmable || len(req.Token) != 8 {
					t.Errorf("request %s", req)
				}
				return [][]byte{answerWith(t, transport.Acknowledgement, model.Created, req.MID, req.Token)}
			})
			s, err := Run(context.Background(), Config{Target: target.addr(), Generator: g, Devices: 7, Requests: 100, InFlight: 5, Prefix: "gen-"})
			if err != nil {
				t.Fatal(err)
			}
			if s.OK != 100 {
				t.Fatalf("%d of 100 ok: %s", s.OK, s.ErrorString())
			}
			mu.Lock()
			defer mu.Unlock()
			if len(eps) != 100 || !eps["gen-0"] || !eps["gen-99"] {
				t.Errorf("%d endpoint names", len(eps))
			}
			target.mu.Lock()
			defer target.mu.Unlock()
			if len(target.peers) != 7 {
				t.Errorf("requests from %d sockets, want 7", len(target.peers))
			}
			for p, k := range target.peers {
				if k < 14 || k > 15 {
					t.Errorf("%d requests from %s, want 100/7 from each", k, p)
				}
			}
		})
	}
}

// TestGeneratorDuration checks a run bounded by time and paced by a rate.
func TestGeneratorDuration(t *testing.T) {
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) {
			target := startScripted(t, func(req *transport.Message, nth int) [][]byte {
				return [][]byte{answerWith(t, transport.Acknowledgement, model.Created, req.MID, req.Token)}
			})
			start := time.Now()
			s, err := Run(context.Background(), Config{Target: target.addr(), Generator: g, Devices: 10, InFlight: 4, Duration: 500 * time.Millisecond, Rate: 200})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("a 0.5 s run took %v", d)
			}
			// 200/s for 0.5 s: about 100, less what the machine delays.
			if s.OK < 40 || s.OK > 102 || s.ErrorCount() != 0 {
				t.Errorf("%d ok, errors %s; want about 100", s.OK, s.ErrorString())
			}
		})
	}
}

// TestGeneratorUnknown checks the refusal of an unknown generator.
func TestGeneratorUnknown(t *testing.T) {
	_, err := Run(context.Background(), Config{Target: netip.MustParseAddrPort("127.0.0.1:9"), Generator: "epoll"})
	if err == nil || !strings.Contains(err.Error(), "unknown generator") {
		t.Errorf("err %v", err)
	}
}

// TestGeneratorEndsBeforeTeardown checks that a generator ends the
// measured part while its devices' sockets are still open: closing them
// is the generator's work and must not count in the target's rate.
func TestGeneratorEndsBeforeTeardown(t *testing.T) {
	openFiles := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("open files not countable here: %v", err)
		}
		return len(ents)
	}
	openFiles()
	const devices = 40
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) {
			target := startScripted(t, func(req *transport.Message, nth int) [][]byte {
				return [][]byte{answerWith(t, transport.Acknowledgement, model.Created, req.MID, req.Token)}
			})
			cfg := Config{Target: target.addr(), Generator: g, Devices: devices, Requests: 100, InFlight: 8}
			if err := cfg.setDefaults(); err != nil {
				t.Fatal(err)
			}
			rec := &recorder{sum: &Summary{Errors: map[string]int{}}}
			began, atEnd, ends := false, 0, 0
			begin := func() error { began = true; return nil }
			end := func() {
				ends++
				atEnd = openFiles()
				if rec.sum.Done != 100 {
					t.Errorf("ended with %d of 100 requests done", rec.sum.Done)
				}
			}
			run := runNetpoll
			if g == GeneratorLean {
				run = runLean
			}
			if err := run(context.Background(), &cfg, rec, begin, end); err != nil {
				t.Fatal(err)
			}
			after := openFiles()
			if !began || ends != 1 {
				t.Fatalf("begin called: %v, end called %d times", began, ends)
			}
			if atEnd-after < devices {
				t.Errorf("%d files open when the run ended, %d after: the %d sockets were closed inside the measured part", atEnd, after, devices)
			}
		})
	}
}
