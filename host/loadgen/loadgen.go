// Package loadgen is wasm2m's load generator: simulated LwM2M devices,
// each with its own UDP socket, that register, update and answer reads
// against a server, with a bounded number of requests in flight, their own
// retransmission, a progress display and a summary of rate, latency
// percentiles and errors. The `wasm2m load` command runs it against the
// LwM2M server and against the baselines of core/transport/baseline in the
// same run, and reports ratios, since the machines it runs on are shared
// and noisy (see BENCHMARKS.md).
//
// Devices speak CoAP through core/transport's Message codec only: they
// keep no endpoint, no session and no goroutine of their own (but in the
// read scenario, where each answers the server), so that the load
// generator costs little beside the server it measures.
//
// loadgen imports core packages and the standard library; only host/cli
// imports it.
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wasm2m/wasm2m/core/transport"
)

// Scenario names what the simulated devices do.
type Scenario string

// Scenarios of Run. Read and memory have their own entry points (RunRead,
// RunMemory) because they run a server in-process.
const (
	// Register: every request is a Register (POST /rd) of a new endpoint
	// name; request i goes out on device i mod Devices, so more requests
	// than devices re-register many endpoints per socket.
	Register Scenario = "register"
	// Update: every device registers first (not counted), then every
	// request is an Update (POST /rd/{id}) without payload.
	Update Scenario = "update"
)

// DefaultPayload is the object list a simulated device registers with: the
// root with the content formats it speaks and eight object instances, as
// a typical LwM2M 1.1 device (Core 1.1 section 6.2.1, 5.1 for the format).
const DefaultPayload = `</>;ct="60 110 112 11542",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>`

// Config describes one load run.
type Config struct {
	Target   netip.AddrPort // the server's address
	Scenario Scenario       // Register (default) or Update
	Devices  int            // simulated devices, one socket each; default 1000
	InFlight int            // requests in flight overall; default 64
	// Requests is how many requests to make in total; default Devices,
	// or unlimited when Duration is set.
	Requests int
	// Duration stops issuing requests after this long (0: no limit).
	Duration time.Duration
	// Rate caps requests per second overall (0: as fast as the in-flight
	// bound lets). Latency is measured from when a request goes out.
	Rate float64

	// ACKTimeout and MaxRetransmit are the devices' retransmission
	// parameters (RFC 7252 section 4.8): 2 s and 4 by default.
	ACKTimeout    time.Duration
	MaxRetransmit int

	Lifetime uint32 // lt= of a Register; default 86400
	Version  string // lwm2m=; default "1.1"
	// Prefix starts every endpoint name; default "lg-" and 8 random hex
	// digits, so that names are unique per run.
	Prefix  string
	Payload string // the Register payload; default DefaultPayload

	// Bind is the local address device sockets bind to (the zero Addr:
	// the kernel's choice for the target).
	Bind netip.Addr

	// Generator is how the devices' sockets are driven: GeneratorLean
	// (the default on Linux) or GeneratorNetpoll. The noisy peer always
	// uses the netpoll path.
	Generator Generator

	// Noise adds a noisy peer beside the devices.
	Noise Noise

	// Progress receives a line a second (done/total, rate, p50/p99 so
	// far, errors); nil prints nothing.
	Progress io.Writer
	// CPU returns the target's CPU time so far (user and system); when
	// set, Summary.Slices give the CPU per request of every SliceSize
	// requests. See ProcessCPU.
	CPU       func() (time.Duration, error)
	SliceSize int // default: max(Devices, Requests/10)
}

func (c *Config) setDefaults() error {
	if !c.Target.IsValid() {
		return errors.New("loadgen: no target address")
	}
	if c.Scenario == "" {
		c.Scenario = Register
	}
	if c.Scenario != Register && c.Scenario != Update {
		return fmt.Errorf("loadgen: unknown scenario %q", c.Scenario)
	}
	if c.Devices <= 0 {
		c.Devices = 1000
	}
	if c.InFlight <= 0 {
		c.InFlight = 64
	}
	if c.Requests <= 0 && c.Duration <= 0 {
		c.Requests = c.Devices
	}
	if c.ACKTimeout <= 0 {
		c.ACKTimeout = 2 * time.Second
	}
	if c.MaxRetransmit <= 0 {
		c.MaxRetransmit = 4
	}
	if c.Lifetime == 0 {
		c.Lifetime = 86400
	}
	if c.Version == "" {
		c.Version = "1.1"
	}
	if c.Prefix == "" {
		c.Prefix = NewPrefix()
	}
	if c.Payload == "" {
		c.Payload = DefaultPayload
	}
	if c.SliceSize <= 0 {
		c.SliceSize = max(c.Devices, c.Requests/10)
	}
	return nil
}

// NewPrefix returns an endpoint name prefix unique to a run: "lg-" and 8
// random hex digits and a dash.
func NewPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "lg-" + hex.EncodeToString(b[:]) + "-"
}

// Slice is the CPU the target spent on a stretch of requests.
type Slice struct {
	From, To int           // requests done at its start and end
	Elapsed  time.Duration // wall time
	CPU      time.Duration // the target's user+system time
}

// PerRequest returns the target's CPU time per request in the slice.
func (s Slice) PerRequest() time.Duration {
	if s.To <= s.From {
		return 0
	}
	return s.CPU / time.Duration(s.To-s.From)
}

// Summary is the outcome of a run.
type Summary struct {
	Scenario string
	Target   netip.AddrPort
	Devices  int
	InFlight int
	Done     int // requests that got an answer or failed
	OK       int // requests answered with a success code
	// Elapsed runs from the first request to the end of the last, the
	// opening and closing of the devices' sockets left out.
	Elapsed time.Duration
	Latency Histogram      // of successful requests
	Errors  map[string]int // by kind: ErrKind* or the response code
	Retries int            // retransmissions
	Slices  []Slice
	Noise   *NoiseSummary
	// SelfCPU is the CPU time the load generator's own process spent
	// during the run (user and system, all its goroutines).
	SelfCPU time.Duration
	// Answered counts the requests the simulated devices answered (read
	// scenario): a check that every Read was a round trip.
	Answered int
}

// Rate returns the successful requests per second.
func (s *Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.OK) / s.Elapsed.Seconds()
}

// ErrorCount returns the number of failed requests.
func (s *Summary) ErrorCount() int {
	n := 0
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// ErrorString lists the errors by kind, "none" without any.
func (s *Summary) ErrorString() string {
	if len(s.Errors) == 0 {
		return "none"
	}
	var kinds []string
	for k := range s.Errors {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	out := ""
	for i, k := range kinds {
		if i > 0 {
			out += " "
		}
		out += k + "=" + strconv.Itoa(s.Errors[k])
	}
	return out
}

// Print writes the summary as a few lines of text.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "%s against %s: %d devices, %d in flight\n", s.Scenario, s.Target, s.Devices, s.InFlight)
	fmt.Fprintf(w, "  requests  %d done, %d ok in %s: %.0f/s\n", s.Done, s.OK, s.Elapsed.Round(time.Millisecond), s.Rate())
	h := &s.Latency
	fmt.Fprintf(w, "  latency   p50 %s  p90 %s  p99 %s  max %s\n", fmtDur(h.Quantile(0.5)), fmtDur(h.Quantile(0.9)), fmtDur(h.Quantile(0.99)), fmtDur(h.Max()))
	fmt.Fprintf(w, "  errors    %s; %d retransmissions\n", s.ErrorString(), s.Retries)
	if s.Done > 0 && s.SelfCPU > 0 {
		fmt.Fprintf(w, "  self CPU  %.1f µs/request (the load generator's own process)\n", float64(s.SelfCPU.Nanoseconds())/1e3/float64(s.Done))
	}
	for _, sl := range s.Slices {
		fmt.Fprintf(w, "  slice     %d-%d: %.0f/s, server CPU %.1f µs/request\n", sl.From, sl.To, float64(sl.To-sl.From)/sl.Elapsed.Seconds(), float64(sl.PerRequest().Nanoseconds())/1e3)
	}
	if s.Answered > 0 {
		fmt.Fprintf(w, "  devices   answered %d requests\n", s.Answered)
	}
	if n := s.Noise; n != nil {
		fmt.Fprintf(w, "  noise     %s from %s: %d sent (%.0f/s), %d answered %s\n", n.Kind, n.Addr, n.Sent, float64(n.Sent)/s.Elapsed.Seconds(), n.Answered, n.CodeString())
	}
}

// fmtDur formats a latency with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	case d >= time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) + "µs"
}

// recorder gathers results from the workers.
type recorder struct {
	mu      sync.Mutex
	sum     *Summary
	cpu     func() (time.Duration, error)
	sliceN  int
	slice   Slice
	sliceAt time.Time
	cpuAt   time.Duration
	total   int
	start   time.Time
}

func (r *recorder) add(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sum
	s.Done++
	s.Retries += res.Retries
	if res.Err == "" {
		s.OK++
		s.Latency.Record(res.Latency)
	} else {
		s.Errors[res.Err]++
	}
	if r.cpu != nil && s.Done-r.slice.From >= r.sliceN {
		r.cutSlice()
	}
}

// cutSlice ends the current CPU slice at the requests done so far.
func (r *recorder) cutSlice() {
	now := time.Now()
	cpu, err := r.cpu()
	if err != nil {
		r.cpu = nil
		return
	}
	sl := Slice{From: r.slice.From, To: r.sum.Done, Elapsed: now.Sub(r.sliceAt), CPU: cpu - r.cpuAt}
	if sl.To > sl.From {
		r.sum.Slices = append(r.sum.Slices, sl)
	}
	r.slice.From, r.sliceAt, r.cpuAt = r.sum.Done, now, cpu
}

func (r *recorder) startSlices() {
	r.sliceAt = time.Now()
	if r.cpu != nil {
		cpu, err := r.cpu()
		if err != nil {
			r.cpu = nil
			return
		}
		r.cpuAt = cpu
	}
}

// progress prints a line a second to w until stop is closed.
func (r *recorder) progress(w io.Writer, name string, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastDone, lastAt := 0, time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			r.mu.Lock()
			s := r.sum
			done, errs := s.Done, s.ErrorCount()
			p50, p99 := s.Latency.Quantile(0.5), s.Latency.Quantile(0.99)
			r.mu.Unlock()
			total := "?"
			if r.total > 0 {
				total = strconv.Itoa(r.total)
			}
			rate := float64(done-lastDone) / now.Sub(lastAt).Seconds()
			fmt.Fprintf(w, "%s %d/%s  %.0f/s  p50 %s p99 %s  errors %d\n", name, done, total, rate, fmtDur(p50), fmtDur(p99), errs)
			lastDone, lastAt = done, now
		}
	}
}

// Run runs cfg's scenario against cfg.Target and returns its summary. It
// opens cfg.Devices sockets (raising the open file limit if needed) and
// closes them before it returns. ctx cancels the run: the requests in
// flight end at once, uncounted, and the summary counts what was done.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	lean, err := cfg.lean()
	if err != nil {
		return nil, err
	}
	if _, err := RaiseFileLimit(cfg.Devices + 256); err != nil {
		return nil, err
	}
	sum := &Summary{Scenario: string(cfg.Scenario), Target: cfg.Target, Devices: cfg.Devices, InFlight: cfg.InFlight, Errors: map[string]int{}}
	rec := &recorder{sum: sum, cpu: cfg.CPU, sliceN: cfg.SliceSize, total: cfg.Requests}
	var (
		noise   *noisyPeer
		stop    = make(chan struct{})
		pwg     sync.WaitGroup
		started bool
		start   time.Time
		self0   time.Duration
	)
	// begin starts the measured part, after what is set up outside it
	// (sockets, the registrations before an Update run).
	begin := func() error {
		if cfg.Noise.Rate > 0 {
			var err error
			if noise, err = startNoise(ctx, &cfg, timing{ackTimeout: cfg.ACKTimeout, maxRetransmit: cfg.MaxRetransmit}); err != nil {
				return err
			}
		}
		if cfg.Progress != nil {
			pwg.Add(1)
			go func() {
				defer pwg.Done()
				rec.progress(cfg.Progress, string(cfg.Scenario), stop)
			}()
		}
		started, start, self0 = true, time.Now(), selfCPU()
		rec.startSlices()
		return nil
	}
	// end ends the measured part when the last request is done, before
	// the generator closes its sockets: closing 10,000 of them takes
	// 50-60 ms here, the generator's work, not the target's.
	ended := false
	end := func() {
		if !started || ended {
			return
		}
		ended = true
		rec.mu.Lock()
		defer rec.mu.Unlock()
		sum.Elapsed, sum.SelfCPU = time.Since(start), selfCPU()-self0
		if rec.cpu != nil && sum.Done > rec.slice.From {
			rec.cutSlice()
		}
	}
	if lean {
		err = runLean(ctx, &cfg, rec, begin, end)
	} else {
		err = runNetpoll(ctx, &cfg, rec, begin, end)
	}
	if !started {
		return nil, err
	}
	end() // for a generator that returned early
	close(stop)
	pwg.Wait()
	if noise != nil {
		sum.Noise = noise.stop()
	}
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// lean reports whether Run takes the lean generator.
func (c *Config) lean() (bool, error) {
	switch c.Generator {
	case GeneratorAuto:
		return leanAvailable, nil
	case GeneratorLean:
		if !leanAvailable {
			return false, errNoLean
		}
		return true, nil
	case GeneratorNetpoll:
		return false, nil
	}
	return false, fmt.Errorf("loadgen: unknown generator %q: want lean or netpoll", c.Generator)
}

// runNetpoll is Run on the netpoll generator: InFlight goroutines, each
// taking the next request and waiting on its device's socket.
func runNetpoll(ctx context.Context, cfg *Config, rec *recorder, begin func() error, end func()) error {
	devs, err := openDevices(cfg.Devices, cfg.Bind, cfg.Target)
	if err != nil {
		return err
	}
	defer closeDevices(devs)
	// When ctx ends, closing the sockets ends the requests in flight at
	// once, rather than after their retransmissions.
	defer context.AfterFunc(ctx, func() { closeDevices(devs) })()
	t := timing{ackTimeout: cfg.ACKTimeout, maxRetransmit: cfg.MaxRetransmit}

	if cfg.Scenario == Update {
		// Register every device first, outside the measurement.
		pre := &Summary{Errors: map[string]int{}}
		prec := &recorder{sum: pre}
		runWorkers(ctx, cfg.InFlight, len(devs), 0, 0, func(i int) {
			d := devs[i]
			d.mu.Lock()
			res := d.do(registerMessage(cfg, cfg.Prefix+strconv.Itoa(i)), t, time.Time{})
			if res.Err == "" {
				d.loc = "/" + joinPath(d.resp.LocationPath())
			}
			d.mu.Unlock()
			prec.add(res)
		})
		if pre.OK != len(devs) {
			return fmt.Errorf("loadgen: %d of %d devices registered before the updates (errors: %s)", pre.OK, len(devs), pre.ErrorString())
		}
	}
	if err := begin(); err != nil {
		return err
	}
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = time.Now().Add(cfg.Duration)
	}
	runWorkers(ctx, cfg.InFlight, cfg.Requests, cfg.Rate, cfg.Duration, func(i int) {
		d := devs[i%len(devs)]
		d.mu.Lock()
		var msg *transport.Message
		if cfg.Scenario == Update {
			msg = updateMessage(d.loc)
		} else {
			msg = registerMessage(cfg, cfg.Prefix+strconv.Itoa(i))
		}
		res := d.do(msg, t, deadline)
		d.mu.Unlock()
		if res.Err == ErrKindCancel {
			return // cut off by the end of the run, not a failure
		}
		rec.add(res)
	})
	end()
	return nil
}

// runWorkers calls fn(i) for i from 0 to n-1 (or without end when n is 0)
// on inflight goroutines, at most rate calls a second when rate > 0, until
// ctx is done or d has passed.
func runWorkers(ctx context.Context, inflight, n int, rate float64, d time.Duration, fn func(i int)) {
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if n > 0 && i >= n {
					return
				}
				if rate > 0 {
					at := start.Add(time.Duration(float64(i) / rate * 1e9))
					if wait := time.Until(at); wait > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(wait):
						}
					}
				}
				if d > 0 && time.Since(start) >= d {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func registerMessage(cfg *Config, ep string) *transport.Message {
	m := &transport.Message{Code: transport.POST, Options: make([]transport.Option, 0, 6)}
	m.SetPath("/rd")
	m.SetContentFormat(40) // application/link-format
	m.AddQuery("ep=" + ep)
	m.AddQuery("lt=" + strconv.FormatUint(uint64(cfg.Lifetime), 10))
	m.AddQuery("lwm2m=" + cfg.Version)
	m.AddQuery("b=U")
	m.Payload = []byte(cfg.Payload)
	return m
}

func updateMessage(loc string) *transport.Message {
	m := &transport.Message{Code: transport.POST}
	m.SetPath(loc)
	return m
}

func joinPath(segs []string) string {
	out := ""
	for i, s := range segs {
		if i > 0 {
			out += "/"
		}
		out += s
	}
	return out
}

// openDevices opens n device sockets bound to bind, connected to target.
func openDevices(n int, bind netip.Addr, target netip.AddrPort) ([]*device, error) {
	devs := make([]*device, 0, n)
	for range n {
		d, err := dial(bind, target)
		if err != nil {
			closeDevices(devs)
			return nil, fmt.Errorf("loadgen: open device socket %d of %d: %w", len(devs)+1, n, err)
		}
		devs = append(devs, d)
	}
	return devs, nil
}

func closeDevices(devs []*device) {
	for _, d := range devs {
		d.close()
	}
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
