package loadgen

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport/baseline"
)

func TestHistogramBuckets(t *testing.T) {
	for v := uint64(0); v < 1<<20; v += 1 + v/50 {
		i := bucket(v)
		if v > bucketHigh(i) || (i > 0 && v <= bucketHigh(i-1)) {
			t.Fatalf("value %d in bucket %d holding (%d, %d]", v, i, bucketHigh(i-1), bucketHigh(i))
		}
	}
	if i := bucket(1<<63 - 1); i >= numBuckets {
		t.Fatalf("the largest duration falls in bucket %d of %d", i, numBuckets)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	var all []time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		// Log-uniform from 10 µs to 1 s, like latencies.
		d := time.Duration(10e3 * float64(uint64(1)<<r.IntN(17)) * (1 + r.Float64()))
		h.Record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := all[int(q*float64(len(all)))-1]
		got := h.Quantile(q)
		if rel := float64(got-want) / float64(want); rel < 0 || rel > 0.04 {
			t.Errorf("p%g = %v, exact %v (off by %.1f%%)", q*100, got, want, rel*100)
		}
	}
	if h.Max() != all[len(all)-1] || h.Min() != all[0] || h.Count() != uint64(len(all)) {
		t.Errorf("max %v min %v count %d, want %v %v %d", h.Max(), h.Min(), h.Count(), all[len(all)-1], all[0], len(all))
	}
	if h.Quantile(1) != h.Max() {
		t.Errorf("p100 %v, max %v", h.Quantile(1), h.Max())
	}
	var m Histogram
	m.Merge(&h)
	m.Merge(&h)
	if m.Count() != 2*h.Count() || m.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("merged: count %d p50 %v", m.Count(), m.Quantile(0.5))
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Error("an empty histogram has a percentile")
	}
}

func startServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func count(t *testing.T, st store.Store) int {
	t.Helper()
	n, err := st.CountRegistrations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegister(t *testing.T) {
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) { testRegister(t, g) })
	}
}

func testRegister(t *testing.T, g Generator) {
	srv := startServer(t)
	var progress bytes.Buffer
	cpu := ProcessCPU(os.Getpid())
	s, err := Run(context.Background(), Config{Target: srv.Addr(), Generator: g, Devices: 200, InFlight: 16, Progress: &progress, CPU: cpu, SliceSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if s.Done != 200 || s.OK != 200 || s.ErrorCount() != 0 || s.Latency.Count() != 200 {
		t.Fatalf("done %d ok %d errors %s latencies %d, want 200 ok", s.Done, s.OK, s.ErrorString(), s.Latency.Count())
	}
	if n := count(t, srv.Store()); n != 200 {
		t.Errorf("the server holds %d registrations, want 200", n)
	}
	if len(s.Slices) == 0 || s.Slices[len(s.Slices)-1].To != 200 {
		t.Errorf("slices %+v, want them to end at 200", s.Slices)
	}
	var out bytes.Buffer
	s.Print(&out)
	for _, want := range []string{"200 done, 200 ok", "p50", "p99", "errors    none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReRegisterPerSocket(t *testing.T) {
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) {
			srv := startServer(t)
			s, err := Run(context.Background(), Config{Target: srv.Addr(), Generator: g, Devices: 20, Requests: 300, InFlight: 8})
			if err != nil {
				t.Fatal(err)
			}
			if s.OK != 300 {
				t.Fatalf("%d of 300 ok: %s", s.OK, s.ErrorString())
			}
			if n := count(t, srv.Store()); n != 300 {
				t.Errorf("the server holds %d registrations, want 300 distinct endpoints", n)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) {
			srv := startServer(t)
			sub := srv.Subscribe(server.SubscribeOptions{Buffer: 1000, Types: []server.EventType{server.EventUpdated}})
			defer sub.Close()
			s, err := Run(context.Background(), Config{Target: srv.Addr(), Generator: g, Scenario: Update, Devices: 50, Requests: 150, InFlight: 8})
			if err != nil {
				t.Fatal(err)
			}
			if s.OK != 150 {
				t.Fatalf("%d of 150 ok: %s", s.OK, s.ErrorString())
			}
			if n := len(sub.C); n != 150 {
				t.Errorf("%d update events, want 150", n)
			}
			if n := count(t, srv.Store()); n != 50 {
				t.Errorf("the server holds %d registrations, want the 50 devices'", n)
			}
		})
	}
}

func TestNoisyPeer(t *testing.T) {
	srv := startServer(t)
	for _, kind := range []string{"update", "register", "garbage"} {
		t.Run(kind, func(t *testing.T) {
			s, err := Run(context.Background(), Config{
				Target: srv.Addr(), Devices: 50, InFlight: 4, Duration: 600 * time.Millisecond, Rate: 200,
				Noise: Noise{Rate: 500, Kind: kind},
			})
			if err != nil {
				t.Fatal(err)
			}
			if s.OK == 0 || s.ErrorCount() != 0 {
				t.Errorf("devices: %d ok, errors %s", s.OK, s.ErrorString())
			}
			n := s.Noise
			if n == nil || n.Sent < 100 {
				t.Fatalf("noise %+v, want 500/s for 0.6 s", n)
			}
			if kind == "garbage" && n.Answered != 0 {
				t.Errorf("garbage got %d answers %s", n.Answered, n.CodeString())
			}
			if kind != "garbage" && n.Answered == 0 {
				t.Errorf("no answers to the noisy peer")
			}
			var out bytes.Buffer
			s.Print(&out)
			if !strings.Contains(out.String(), "noise") {
				t.Errorf("summary lacks the noise:\n%s", out.String())
			}
		})
	}
}

func TestBaselines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(string) (func(), netip.AddrPort, error)
	}{{"gocoap", baseline.GoCoAP}, {"stateless", baseline.Stateless}} {
		t.Run(tc.name, func(t *testing.T) {
			stop, at, err := tc.start("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			s, err := Run(context.Background(), Config{Target: at, Devices: 100, InFlight: 16})
			if err != nil {
				t.Fatal(err)
			}
			if s.OK != 100 {
				t.Errorf("%d of 100 ok: %s", s.OK, s.ErrorString())
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	stop, at, err := baseline.Stateless("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop() // nobody answers at that address now: ICMP port unreachable
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) {
			s, err := Run(context.Background(), Config{Target: at, Generator: g, Devices: 3, InFlight: 3, ACKTimeout: 10 * time.Millisecond, MaxRetransmit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if s.Errors[ErrKindTimeout] != 3 || s.Retries != 6 {
				t.Errorf("errors %s, %d retransmissions; want 3 timeouts after 2 retransmissions each", s.ErrorString(), s.Retries)
			}
		})
	}
}

func TestRead(t *testing.T) {
	for _, devices := range []int{1, 20} {
		s, err := RunRead(context.Background(), ReadConfig{Devices: devices, InFlight: 8, Requests: 400})
		if err != nil {
			t.Fatal(err)
		}
		if s.OK != 400 || s.Answered != 400 {
			t.Errorf("%d devices: %d of 400 reads ok, %d answered by the devices: %s", devices, s.OK, s.Answered, s.ErrorString())
		}
	}
}

func TestMemory(t *testing.T) {
	for _, st := range []string{"memory", "file"} {
		t.Run(st, func(t *testing.T) {
			res, err := RunMemory(context.Background(), MemoryConfig{
				Counts: []int{100, 300}, Store: st, Dir: t.TempDir(), Wave: 100, InFlight: 8, Idle: 100 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 2 || res[0].Registrations != 100 || res[1].Registrations != 300 || res[1].Register.OK != 300 {
				t.Fatalf("results %+v", res)
			}
			if res[1].Heap == 0 || res[1].HeapBase == 0 {
				t.Errorf("no heap measured: %+v", res[1])
			}
		})
	}
}

// TestCancel checks that cancelling a run against a silent target ends it
// at once, without waiting for the retransmissions.
func TestCancel(t *testing.T) {
	stop, at, err := baseline.Stateless("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop() // nobody answers at that address now
	for _, g := range generators() {
		t.Run(string(g), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			s, err := Run(ctx, Config{Target: at, Generator: g, Devices: 4, InFlight: 4})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the cancelled run took %v", d)
			}
			if s.Done != 0 {
				t.Errorf("cancelled requests counted: %d done, errors %s", s.Done, s.ErrorString())
			}
		})
	}
}
