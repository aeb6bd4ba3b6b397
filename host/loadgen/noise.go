package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/transport"
)

// Noise describes a noisy peer: one socket sending Rate messages a second
// without waiting for answers, beside the simulated devices.
type Noise struct {
	Rate float64
	// Kind is what it sends: "update" (default: it registers once, then
	// sends CON Updates of its registration), "register" (CON Registers
	// of one endpoint name, each replacing the last) or "garbage" (random
	// bytes that are not CoAP).
	Kind string
}

// NoiseSummary is what the noisy peer sent and got back.
type NoiseSummary struct {
	Kind     string
	Addr     netip.AddrPort
	Sent     int
	Answered int
	Codes    map[string]int // answers by code ("2.04", "5.03", "ack" for an empty ACK, "rst")
}

// CodeString lists the answers by code.
func (n *NoiseSummary) CodeString() string {
	var ks []string
	for k := range n.Codes {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	out := "("
	for i, k := range ks {
		if i > 0 {
			out += " "
		}
		out += k + "=" + strconv.Itoa(n.Codes[k])
	}
	return out + ")"
}

type noisyPeer struct {
	d      *device
	kind   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sent   atomic.Int64
	mu     sync.Mutex
	codes  map[string]int
	answer int
}

func startNoise(ctx context.Context, cfg *Config, t timing) (*noisyPeer, error) {
	kind := cfg.Noise.Kind
	if kind == "" {
		kind = "update"
	}
	if kind != "update" && kind != "register" && kind != "garbage" {
		return nil, fmt.Errorf("loadgen: unknown noise %q: want update, register or garbage", kind)
	}
	d, err := dial(cfg.Bind, cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("loadgen: noisy peer socket: %w", err)
	}
	ep := cfg.Prefix + "noisy"
	var msg *transport.Message
	switch kind {
	case "update":
		res := d.do(registerMessage(cfg, ep), t, time.Time{})
		if res.Err != "" {
			d.close()
			return nil, fmt.Errorf("loadgen: the noisy peer could not register: %s", res.Err)
		}
		msg = updateMessage("/" + joinPath(d.resp.LocationPath()))
	case "register":
		msg = registerMessage(cfg, ep)
	}
	if err := d.listen(); err != nil {
		d.close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &noisyPeer{d: d, kind: kind, cancel: cancel, codes: map[string]int{}}
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		n.send(ctx, msg, cfg.Noise.Rate)
	}()
	go func() {
		defer n.wg.Done()
		n.read()
	}()
	return n, nil
}

// send sends rate messages a second until ctx is done, catching up every
// few milliseconds on what is due.
func (n *noisyPeer) send(ctx context.Context, msg *transport.Message, rate float64) {
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var buf []byte
	garbage := make([]byte, 24)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			due := int64(rate * now.Sub(start).Seconds())
			for n.sent.Load() < due {
				var b []byte
				if msg == nil {
					for i := range garbage {
						garbage[i] = byte(rand.Uint32())
					}
					garbage[0] &^= 0xc0 // version 0: not CoAP (RFC 7252 section 3)
					b = garbage
				} else {
					n.d.mid++
					n.d.tok++
					m := *msg
					m.Type, m.MID = transport.Confirmable, n.d.mid
					m.Token = []byte{byte(n.d.tok), byte(n.d.tok >> 8), byte(n.d.tok >> 16), byte(n.d.tok >> 24)}
					var err error
					if b, err = m.AppendBinary(buf[:0]); err != nil {
						return
					}
					buf = b
				}
				if _, err := n.d.conn.Write(b); err != nil && !isRefused(err) {
					return
				}
				n.sent.Add(1)
			}
		}
	}
}

// read counts the answers until the socket is closed.
func (n *noisyPeer) read() {
	buf := make([]byte, 1500)
	var m transport.Message
	for {
		k, err := n.d.conn.Read(buf)
		if err != nil {
			if isRefused(err) {
				continue
			}
			return // closed, or broken: no spinning on a lasting error
		}
		if m.UnmarshalBinary(buf[:k]) != nil {
			continue
		}
		code := m.Code.String()
		switch {
		case m.Type == transport.Reset:
			code = "rst"
		case m.Code == 0:
			code = "ack"
		}
		n.mu.Lock()
		n.answer++
		n.codes[code]++
		n.mu.Unlock()
	}
}

func (n *noisyPeer) stop() *NoiseSummary {
	n.cancel()
	time.Sleep(50 * time.Millisecond) // late answers
	n.d.close()
	n.wg.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	return &NoiseSummary{Kind: n.kind, Addr: n.d.addr, Sent: int(n.sent.Load()), Answered: n.answer, Codes: n.codes}
}
