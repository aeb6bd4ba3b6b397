package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wasm2m/wasm2m/core/transport/baseline"
	"github.com/wasm2m/wasm2m/host/config"
	"github.com/wasm2m/wasm2m/host/loadgen"
)

// selfCommand returns the command that runs this binary with args; tests
// replace it, since their binary is the test binary.
var selfCommand = func(args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(exe, args...), nil
}

// loadFlags are the flags of `wasm2m load`.
type loadFlags struct {
	addr          string
	compare       bool
	scenario      string
	devices       int
	inflight      int
	registrations int
	duration      time.Duration
	rate          float64
	noiseRate     float64
	noise         string
	slice         int
	repeat        int
	store         string
	counts        string
	idle          time.Duration
	pid           int
	timeout       time.Duration
	quiet         bool
	serveBaseline string
	serverProfile string
	serverConfig  string
	only          string
	generator     string
	gcPercent     int
	selfProfile   string
	set           map[string]bool
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("load", stderr)
	var f loadFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:5683", "the LwM2M server to load (UDP address)")
	fs.BoolVar(&f.compare, "compare", false, "start `wasm2m server` (file store in a temp folder), a bare go-coap server and a stateless UDP responder as child processes, run the same load against each, and print rates and ratios")
	fs.StringVar(&f.scenario, "scenario", "register", "register, update, noisy (devices register beside a peer sending -noise-rate messages/s), read (Read round trips from an in-process server to 1 and to -devices devices) or memory (heap per idle registration of an in-process server)")
	fs.IntVar(&f.devices, "devices", 10000, "simulated devices, one UDP socket each (noisy: 1000; read: 1000)")
	fs.IntVar(&f.inflight, "inflight", 64, "requests in flight overall")
	fs.IntVar(&f.registrations, "registrations", 0, "requests in total (register: Registers of distinct endpoints, cycling over the sockets); default -devices (noisy: 10 × -devices; read: 100000)")
	fs.DurationVar(&f.duration, "duration", 0, "stop issuing requests after this long (0: when -registrations are done)")
	fs.Float64Var(&f.rate, "rate", 0, "requests per second overall, 0 for as fast as -inflight allows (noisy: 2000)")
	fs.Float64Var(&f.noiseRate, "noise-rate", 0, "messages per second from one noisy peer beside the devices (noisy: 1000)")
	fs.StringVar(&f.noise, "noise", "update", "what the noisy peer sends: update, register or garbage")
	fs.IntVar(&f.slice, "slice", 0, "report the server's CPU per request every this many requests (default: max(devices, registrations/10)); needs -compare or -pid")
	fs.IntVar(&f.repeat, "repeat", 1, "rounds of the comparison, each on fresh processes; the table gives the median and range")
	fs.StringVar(&f.store, "store", "", "store of the server: file (default with -compare) or memory; memory scenario: memory,file")
	fs.StringVar(&f.counts, "counts", "10000,100000", "memory scenario: registration counts to measure the heap at")
	fs.DurationVar(&f.idle, "idle", 2*time.Second, "memory scenario: the transport's peer idle timeout and exchange lifetime, waited out before measuring")
	fs.IntVar(&f.pid, "pid", 0, "the process id of the server at -addr, to report its CPU per request (Linux /proc)")
	fs.DurationVar(&f.timeout, "ack-timeout", 2*time.Second, "the devices' initial retransmission timeout")
	fs.BoolVar(&f.quiet, "q", false, "no progress lines on stderr")
	fs.StringVar(&f.serveBaseline, "serve-baseline", "", "")
	fs.StringVar(&f.only, "targets", "server,gocoap,stateless", "with -compare: which of the server and the two baselines to run, in this order")
	fs.StringVar(&f.serverConfig, "server-config", "", "with -compare: the server child's -config file, whose store section picks its backend (redis, plugin, ...; README \"Storage backends\"); -store, if given, still wins")
	fs.StringVar(&f.serverProfile, "server-cpuprofile", "", "with -compare: the server child writes a CPU profile to this file")
	fs.StringVar(&f.generator, "generator", "", "how the devices' sockets are driven: lean (one epoll loop, raw reads and writes, requests from a template; the default on Linux) or netpoll (a goroutine per request in flight over Go's net package)")
	fs.IntVar(&f.gcPercent, "server-gc-percent", 0, "with -compare: the server child's -gc-percent (0: the server's default)")
	fs.StringVar(&f.selfProfile, "cpuprofile", "", "write a CPU profile of the load generator itself to this file")
	hideFlags(fs, "serve-baseline") // internal: what -compare starts as a child
	if err := parse(fs, args); err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.serveBaseline != "" {
		return serveBaseline(ctx, f.serveBaseline, f.addr, stdout)
	}
	if f.devices <= 0 || f.inflight <= 0 || f.repeat <= 0 {
		return fmt.Errorf("%w: -devices, -inflight and -repeat must be positive", errUsage)
	}
	switch loadgen.Generator(f.generator) {
	case loadgen.GeneratorAuto, loadgen.GeneratorLean, loadgen.GeneratorNetpoll:
	default:
		return fmt.Errorf("%w: -generator %q: want lean or netpoll", errUsage, f.generator)
	}
	if f.selfProfile != "" {
		stop, err := startCPUProfile(f.selfProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	progress := stderr
	if f.quiet {
		progress = nil
	}
	switch f.scenario {
	case "register", "update":
		return loadCompare(ctx, &f, stdout, stderr, progress)
	case "noisy":
		return loadNoisy(ctx, &f, stdout, stderr, progress)
	case "read":
		return loadRead(ctx, &f, stdout, progress)
	case "memory":
		return loadMemory(ctx, &f, stdout, progress)
	}
	return fmt.Errorf("%w: -scenario %q: want register, update, noisy, read or memory", errUsage, f.scenario)
}

// hideFlags makes fs's usage leave out the named flags, which are for
// benchmarks and for the load command's own child processes.
func hideFlags(fs *flag.FlagSet, names ...string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage of %s:\n", fs.Name())
		fs.VisitAll(func(fl *flag.Flag) {
			if slices.Contains(names, fl.Name) {
				return
			}
			fmt.Fprintf(fs.Output(), "  -%s\n    \t%s (default %q)\n", fl.Name, fl.Usage, fl.DefValue)
		})
	}
}

// startCPUProfile writes a CPU profile to path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// serveBaseline runs a baseline server until ctx is done; its first line
// on stdout gives its address, as `wasm2m server`'s does.
func serveBaseline(ctx context.Context, kind, addr string, stdout io.Writer) error {
	var start func(string) (func(), netip.AddrPort, error)
	switch kind {
	case "gocoap":
		start = baseline.GoCoAP
	case "stateless":
		start = baseline.Stateless
	default:
		return fmt.Errorf("%w: -serve-baseline %q: want gocoap or stateless", errUsage, kind)
	}
	stop, at, err := start(addr)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(stdout, "wasm2m load: %s baseline on udp %s\n", kind, at)
	<-ctx.Done()
	return nil
}

// child is a server the load command started as a process of its own.
type child struct {
	name string
	cmd  *exec.Cmd
	addr netip.AddrPort
	logs *lockedBuffer
	dir  string
	done chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil // enough to tell what went wrong
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startChild runs this binary with args and waits for the first line of
// its stdout, which names its UDP address ("... on udp ADDR, ...").
func startChild(name string, args ...string) (*child, error) {
	cmd, err := selfCommand(args...)
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = c.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, r)
		c.done <- cmd.Wait()
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
	}
	fields := strings.Fields(line)
	for i, w := range fields {
		if w == "udp" && i+1 < len(fields) {
			c.addr, _ = netip.ParseAddrPort(strings.TrimSuffix(fields[i+1], ","))
		}
	}
	if !c.addr.IsValid() {
		c.kill()
		return nil, fmt.Errorf("%s printed no address (%q); its log:\n%s", name, line, c.logs.String())
	}
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the child to stop (SIGTERM) and waits for it, killing it after
// 30 s.
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		if err != nil {
			return fmt.Errorf("%s: %w; its log:\n%s", c.name, err, c.logs.String())
		}
		return nil
	case <-time.After(30 * time.Second):
		c.kill()
		return fmt.Errorf("%s did not stop within 30 s", c.name)
	}
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// target is one server a load runs against.
type target struct {
	kind  string // server, gocoap, stateless; "" for -addr
	name  string
	start func() (*child, error) // nil: addr is fixed
	addr  netip.AddrPort
	pid   int
}

func serverChild(storeKind, config, profile string, gcPercent int) func() (*child, error) {
	return func() (*child, error) {
		dir, err := os.MkdirTemp("", "wasm2m-load-")
		if err != nil {
			return nil, err
		}
		// No HTTP API: it is not what is measured, and :8080 may be taken.
		args := []string{"server", "-addr", "127.0.0.1:0", "-data", dir, "-log-level", "warn", "-http", "off", "-secure-addr", "127.0.0.1:0"}
		if config != "" {
			args = append(args, "-config", config)
		}
		if storeKind != "" {
			args = append(args, "-store", storeKind)
		}
		if profile != "" {
			args = append(args, "-cpuprofile", profile)
		}
		if gcPercent != 0 {
			args = append(args, "-gc-percent", strconv.Itoa(gcPercent))
		}
		c, err := startChild("wasm2m server", args...)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.dir = dir
		return c, nil
	}
}

func baselineChild(kind string) func() (*child, error) {
	return func() (*child, error) {
		return startChild(kind+" baseline", "load", "-serve-baseline", kind, "-addr", "127.0.0.1:0")
	}
}

// targets returns what the load runs against: the server at -addr, or
// with -compare the server and (unless only) the two baselines as child
// processes.
func (f *loadFlags) targets(serverOnly bool) ([]target, error) {
	if !f.compare {
		ap, err := netip.ParseAddrPort(f.addr)
		if err != nil {
			return nil, fmt.Errorf("%w: -addr %q: %v", errUsage, f.addr, err)
		}
		return []target{{name: "server at " + f.addr, addr: ap, pid: f.pid}}, nil
	}
	storeKind, name := f.store, f.store+" store"
	switch {
	case f.serverConfig != "" && storeKind == "":
		name = "store of " + filepath.Base(f.serverConfig)
	case storeKind == "":
		storeKind, name = "file", "file store"
	}
	if err := config.CheckBackend(storeKind); storeKind != "" && err != nil {
		return nil, fmt.Errorf("%w: -store: %v", errUsage, err)
	}
	var ts []target
	for _, k := range strings.Split(f.only, ",") {
		switch k {
		case "server":
			ts = append(ts, target{kind: k, name: "wasm2m (" + name + ")", start: serverChild(storeKind, f.serverConfig, f.serverProfile, f.gcPercent)})
		case "gocoap":
			if !serverOnly {
				ts = append(ts, target{kind: k, name: "go-coap baseline", start: baselineChild("gocoap")})
			}
		case "stateless":
			if !serverOnly {
				ts = append(ts, target{kind: k, name: "stateless baseline", start: baselineChild("stateless")})
			}
		default:
			return nil, fmt.Errorf("%w: -targets %q: want a list of server, gocoap and stateless", errUsage, f.only)
		}
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("%w: -targets %q names nothing to run with -scenario %s", errUsage, f.only, f.scenario)
	}
	return ts, nil
}

// runOn starts t (if it is a child), runs fn against it with its CPU
// reader, and stops it.
func runOn(t target, fn func(addr netip.AddrPort, cpu func() (time.Duration, error)) error) error {
	addr, pid := t.addr, t.pid
	var c *child
	if t.start != nil {
		var err error
		if c, err = t.start(); err != nil {
			return err
		}
		addr, pid = c.addr, c.pid()
	}
	var cpu func() (time.Duration, error)
	if pid > 0 {
		cpu = loadgen.ProcessCPU(pid)
	}
	err := fn(addr, cpu)
	if c != nil {
		err = errors.Join(err, c.stop())
		if c.dir != "" {
			os.RemoveAll(c.dir)
		}
	}
	return err
}

// cpuPerRequest returns the target's CPU per request over all slices.
func cpuPerRequest(s *loadgen.Summary) (time.Duration, bool) {
	var cpu time.Duration
	n := 0
	for _, sl := range s.Slices {
		cpu += sl.CPU
		n += sl.To - sl.From
	}
	if n == 0 {
		return 0, false
	}
	return cpu / time.Duration(n), true
}

func (f *loadFlags) config(scenario loadgen.Scenario) loadgen.Config {
	return loadgen.Config{
		Scenario: scenario, Devices: f.devices, InFlight: f.inflight, Requests: f.registrations,
		Duration: f.duration, Rate: f.rate, ACKTimeout: f.timeout, SliceSize: f.slice,
		Noise: loadgen.Noise{Rate: f.noiseRate, Kind: f.noise}, Generator: loadgen.Generator(f.generator),
	}
}

// loadCompare runs the register or update scenario against each target,
// -repeat times, and prints every summary and a table of rates and ratios.
func loadCompare(ctx context.Context, f *loadFlags, stdout, stderr, progress io.Writer) error {
	ts, err := f.targets(false)
	if err != nil {
		return err
	}
	if n, err := loadgen.RaiseFileLimit(f.devices + 256); err != nil {
		return err
	} else {
		fmt.Fprintf(stdout, "open file limit %d; %d devices, %d in flight\n", n, f.devices, f.inflight)
	}
	rates := make([][]float64, len(ts))
	sums := make([][]*loadgen.Summary, len(ts))
	for round := 1; round <= f.repeat; round++ {
		for i, t := range ts {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if progress != nil {
				fmt.Fprintf(progress, "round %d/%d: %s\n", round, f.repeat, t.name)
			}
			err := runOn(t, func(addr netip.AddrPort, cpu func() (time.Duration, error)) error {
				cfg := f.config(loadgen.Scenario(f.scenario))
				cfg.Target, cfg.CPU, cfg.Progress = addr, cpu, progress
				s, err := loadgen.Run(ctx, cfg)
				if err != nil {
					return err
				}
				s.Scenario = f.scenario + " on " + t.name
				s.Print(stdout)
				sums[i] = append(sums[i], s)
				rates[i] = append(rates[i], s.Rate())
				return nil
			})
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	head := "target\trequests/s\tp50\tp99\terrors\tCPU µs/req\tgen µs/req"
	var bases []int
	for i, t := range ts {
		if t.kind == "gocoap" || t.kind == "stateless" {
			bases = append(bases, i)
			head += "\tvs " + strings.TrimSuffix(t.name, " baseline")
		}
	}
	fmt.Fprintln(tw, head)
	for i, t := range ts {
		var p50, p99 []float64
		errs := 0
		var cpus, gens []float64
		for _, s := range sums[i] {
			if s.Done > 0 && s.SelfCPU > 0 {
				gens = append(gens, float64(s.SelfCPU.Nanoseconds())/1e3/float64(s.Done))
			}
			p50 = append(p50, float64(s.Latency.Quantile(0.5)))
			p99 = append(p99, float64(s.Latency.Quantile(0.99)))
			errs += s.ErrorCount()
			if c, ok := cpuPerRequest(s); ok {
				cpus = append(cpus, float64(c.Nanoseconds())/1e3)
			}
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s", t.name, spread(rates[i], "%.0f"), durSpread(p50), durSpread(p99), errs, spread(cpus, "%.1f"), spread(gens, "%.1f"))
		for _, b := range bases {
			line += "\t" + spread(ratios(rates[i], rates[b]), "%.2fx")
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// ratios divides a by b round by round.
func ratios(a, b []float64) []float64 {
	var r []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return r
}

// spread formats the median of vs, and the range when there are several.
func spread(vs []float64, format string) string {
	return spreadFunc(vs, func(v float64) string { return fmt.Sprintf(format, v) })
}

func spreadFunc(vs []float64, format func(float64) string) string {
	if len(vs) == 0 {
		return "-"
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	out := format(med)
	if len(s) > 1 {
		out += " (" + format(s[0]) + "–" + format(s[len(s)-1]) + ")"
	}
	return out
}

// durSpread is spread for durations in nanoseconds.
func durSpread(vs []float64) string {
	return spreadFunc(vs, func(v float64) string { return fmtLatency(time.Duration(v)) })
}

// loadNoisy runs the devices without and then with the noisy peer,
// -repeat times, and compares their latencies.
func loadNoisy(ctx context.Context, f *loadFlags, stdout, stderr, progress io.Writer) error {
	if !f.set["devices"] {
		f.devices = 1000
	}
	if !f.set["registrations"] && !f.set["duration"] {
		f.registrations = 10 * f.devices
	}
	if !f.set["rate"] {
		f.rate = 2000
	}
	noise := f.noiseRate
	if !f.set["noise-rate"] {
		noise = 1000
	}
	ts, err := f.targets(true)
	if err != nil {
		return err
	}
	type row struct {
		name string
		s    *loadgen.Summary
	}
	var rows []row
	err = runOn(ts[0], func(addr netip.AddrPort, cpu func() (time.Duration, error)) error {
		for round := 1; round <= f.repeat; round++ {
			for _, nr := range []float64{0, noise} {
				cfg := f.config(loadgen.Register)
				cfg.Target, cfg.Progress, cfg.Noise.Rate = addr, progress, nr
				name := "quiet"
				if nr > 0 {
					name = fmt.Sprintf("noisy peer %.0f/s (%s)", nr, f.noise)
				}
				if progress != nil {
					fmt.Fprintf(progress, "round %d/%d: %s\n", round, f.repeat, name)
				}
				s, err := loadgen.Run(ctx, cfg)
				if err != nil {
					return err
				}
				s.Scenario = "register, " + name + ", on " + ts[0].name
				s.Print(stdout)
				rows = append(rows, row{fmt.Sprintf("%d: %s", round, name), s})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d devices registering at %.0f/s, %d in flight:\n", f.devices, f.rate, f.inflight)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "round\tregisters/s\tp50\tp90\tp99\tmax\terrors\tnoise sent\tnoise answered")
	for _, r := range rows {
		h := &r.s.Latency
		sent, answered := "-", "-"
		if n := r.s.Noise; n != nil {
			sent, answered = strconv.Itoa(n.Sent), strconv.Itoa(n.Answered)+" "+n.CodeString()
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.s.Rate(), fmtLatency(h.Quantile(0.5)), fmtLatency(h.Quantile(0.9)),
			fmtLatency(h.Quantile(0.99)), fmtLatency(h.Max()), r.s.ErrorString(), sent, answered)
	}
	return tw.Flush()
}

func fmtLatency(d time.Duration) string {
	if d >= time.Millisecond {
		return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) + "µs"
}

// loadRead measures Read round trips from an in-process server to one
// device and to -devices devices.
func loadRead(ctx context.Context, f *loadFlags, stdout, progress io.Writer) error {
	if !f.set["devices"] {
		f.devices = 1000
	}
	n := f.registrations
	if n == 0 && f.duration == 0 {
		n = 100000
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	var lines []string
	for round := 1; round <= f.repeat; round++ {
		for _, devices := range []int{1, f.devices} {
			s, err := loadgen.RunRead(ctx, loadgen.ReadConfig{Devices: devices, InFlight: f.inflight, Requests: n, Duration: f.duration, Progress: progress})
			if err != nil {
				return err
			}
			s.Print(stdout)
			h := &s.Latency
			lines = append(lines, fmt.Sprintf("%d\t%d\t%.0f\t%s\t%s\t%s\t%s", round, devices, s.Rate(), fmtLatency(h.Quantile(0.5)), fmtLatency(h.Quantile(0.99)), fmtLatency(h.Max()), s.ErrorString()))
		}
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(tw, "round\tdevices\treads/s\tp50\tp99\tmax\terrors\n")
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	return tw.Flush()
}

// loadMemory measures the heap per idle registration of an in-process
// server on each store.
func loadMemory(ctx context.Context, f *loadFlags, stdout, progress io.Writer) error {
	var counts []int
	for _, c := range strings.Split(f.counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: -counts %q", errUsage, f.counts)
		}
		counts = append(counts, n)
	}
	stores := strings.Split(cmp(f.store, "memory,file"), ",")
	wave := min(f.devices, 10000)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	var lines []string
	for round := 1; round <= f.repeat; round++ {
		for _, st := range stores {
			dir, err := os.MkdirTemp("", "wasm2m-load-")
			if err != nil {
				return err
			}
			res, err := loadgen.RunMemory(ctx, loadgen.MemoryConfig{Counts: counts, Store: st, Dir: dir, Wave: wave, InFlight: f.inflight, Idle: f.idle, Progress: progress})
			os.RemoveAll(dir)
			if err != nil {
				return err
			}
			for _, r := range res {
				lines = append(lines, fmt.Sprintf("%d\t%s\t%d\t%.1f\t%.1f\t%.0f\t%d\t%.0f", round, r.Store, r.Registrations, float64(r.HeapBase)/(1<<20), float64(r.Heap)/(1<<20), r.PerRegistration(), r.Goroutines, r.Register.Rate()))
			}
		}
	}
	fmt.Fprintf(stdout, "heap after GC, devices idle past %s (peer idle timeout and exchange lifetime), %d devices per wave of sockets:\n", f.idle, wave)
	fmt.Fprintln(tw, "round\tstore\tregistrations\tbase MiB\theap MiB\tbytes/registration\tgoroutines\tregisters/s")
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	return tw.Flush()
}
