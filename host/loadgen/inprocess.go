package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/codec/tlv"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// ReadConfig describes a read run: an LwM2M server in-process, Devices
// simulated devices registered to it, and InFlight callers of
// server.Read(/3/0) spread over the devices round-robin.
type ReadConfig struct {
	Devices  int           // default 1
	InFlight int           // default 64
	Requests int           // reads in total; default 10000, or unlimited with Duration
	Duration time.Duration // stop issuing reads after this long (0: no limit)
	Progress io.Writer     // a line a second; nil prints nothing
	Server   server.Config // Addr defaults to 127.0.0.1:0, Store to a Memory
}

// deviceInstance is what every simulated device answers a Read of /3/0
// with: a Device object instance of ten resources, in TLV.
var deviceInstance = mustTLV(model.NewInstance(0,
	model.NewResource(0, model.String("wasm2m")),
	model.NewResource(1, model.String("loadgen")),
	model.NewResource(2, model.String("0001")),
	model.NewResource(3, model.String("1.0")),
	model.NewResource(9, model.Int(95)),
	model.NewMultipleResourceOf(11, model.Int(0)),
	model.NewResource(13, model.UnixTime(1700000000)),
	model.NewResource(14, model.String("+01:00")),
	model.NewResource(16, model.String("U")),
	model.NewResource(17, model.String("simulated")),
))

func mustTLV(n model.Node) []byte {
	b, err := tlv.Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		panic("loadgen: " + err.Error())
	}
	return b
}

// serveReads answers the server's requests on d until its socket closes:
// a GET of /3/0 with the Device instance in TLV, anything else with 4.04,
// in the ACK (RFC 7252 section 5.2.1). It is the whole device: no object
// tree, no endpoint, one goroutine.
func serveReads(d *device, answered *atomic.Int64) {
	in := make([]byte, 1500)
	var req transport.Message
	var out []byte
	for {
		n, err := d.conn.Read(in)
		if err != nil {
			if isRefused(err) {
				continue
			}
			return // closed, or broken: no spinning on a lasting error
		}
		if req.UnmarshalBinary(in[:n]) != nil || req.Type != transport.Confirmable || !req.IsRequest() {
			continue
		}
		resp := transport.Message{Type: transport.Acknowledgement, MID: req.MID, Token: req.Token, Code: model.NotFound}
		if req.Code == transport.GET && req.Path() == "/3/0" {
			resp.Code = model.Content
			resp.SetContentFormat(uint16(codec.TLV))
			resp.Payload = deviceInstance
			answered.Add(1)
		}
		if out, err = resp.AppendBinary(out[:0]); err == nil {
			_, _ = d.conn.Write(out)
		}
	}
}

// RunRead measures Read round trips from an in-process LwM2M server to
// cfg.Devices devices and returns the summary, whose Target is the
// server's address.
func RunRead(ctx context.Context, cfg ReadConfig) (*Summary, error) {
	if cfg.Devices <= 0 {
		cfg.Devices = 1
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 64
	}
	if cfg.Requests <= 0 && cfg.Duration <= 0 {
		cfg.Requests = 10000
	}
	if cfg.Server.Addr == "" {
		cfg.Server.Addr = "127.0.0.1:0"
	}
	if _, err := RaiseFileLimit(cfg.Devices + 256); err != nil {
		return nil, err
	}
	srv, err := server.New(cfg.Server)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	rc := Config{Target: srv.Addr(), Devices: cfg.Devices}
	if err := rc.setDefaults(); err != nil {
		return nil, err
	}
	devs, err := openDevices(cfg.Devices, netip.Addr{}, srv.Addr())
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	defer func() {
		closeDevices(devs)
		wg.Wait()
	}()
	// Register every device, then let it answer.
	eps := make([]string, len(devs))
	t := timing{ackTimeout: rc.ACKTimeout, maxRetransmit: rc.MaxRetransmit}
	var failed []string
	var fmu sync.Mutex
	runWorkers(ctx, 64, len(devs), 0, 0, func(i int) {
		eps[i] = rc.Prefix + strconv.Itoa(i)
		if res := devs[i].do(registerMessage(&rc, eps[i]), t, time.Time{}); res.Err != "" {
			fmu.Lock()
			failed = append(failed, res.Err)
			fmu.Unlock()
		}
	})
	if len(failed) > 0 {
		return nil, fmt.Errorf("loadgen: %d of %d devices did not register: %s", len(failed), len(devs), strings.Join(failed[:min(len(failed), 5)], ", "))
	}
	var answered atomic.Int64
	for _, d := range devs {
		if err := d.listen(); err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveReads(d, &answered)
		}()
	}

	name := "read " + strconv.Itoa(len(devs)) + " devices"
	sum := &Summary{Scenario: name, Target: srv.Addr(), Devices: len(devs), InFlight: cfg.InFlight, Errors: map[string]int{}}
	rec := &recorder{sum: sum, total: cfg.Requests}
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	if cfg.Progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			rec.progress(cfg.Progress, name, stop)
		}()
	}
	p := model.InstancePath(3, 0)
	start := time.Now()
	runWorkers(ctx, cfg.InFlight, cfg.Requests, 0, cfg.Duration, func(i int) {
		t0 := time.Now()
		_, err := srv.Read(ctx, eps[i%len(eps)], p, server.WithFormat(codec.TLV))
		res := Result{Latency: time.Since(t0)}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			res.Code = model.CodeOf(err)
			res.Err = res.Code.String()
		}
		rec.add(res)
	})
	rec.mu.Lock()
	sum.Elapsed = time.Since(start)
	rec.mu.Unlock()
	close(stop)
	pwg.Wait()
	sum.Answered = int(answered.Load())
	return sum, nil
}

// MemoryConfig describes a memory run: an LwM2M server in-process on the
// given store, devices that register and go quiet, and the server's heap
// per registration once the transport has forgotten them.
type MemoryConfig struct {
	// Counts are the registration counts to measure at, ascending; the
	// devices of each come on top of the previous. Default 10000, 100000.
	Counts []int
	// Store is "memory" (default) or "file" (a File in Dir, fsync on).
	Store string
	Dir   string
	// Wave is how many device sockets are open at once (default 10000):
	// the devices of a count register in waves, each wave from its own
	// loopback address (127.100.x.y), so that every registration comes
	// from an address of its own, and each wave's sockets are closed
	// before the next opens.
	Wave     int
	InFlight int // default 64
	// Idle is the transport's PeerIdleTimeout and ExchangeLifetime, which
	// the run waits out before it measures: default 2 s.
	Idle     time.Duration
	Progress io.Writer
}

// MemoryResult is the server's heap at one registration count.
type MemoryResult struct {
	Store         string
	Registrations int
	HeapBase      uint64 // HeapAlloc after GC with the server started and empty
	Heap          uint64 // HeapAlloc after GC with the registrations, idle
	Goroutines    int
	Register      *Summary // the registrations' own run (all waves merged)
}

// PerRegistration returns the heap per registration in bytes.
func (m MemoryResult) PerRegistration() float64 {
	return (float64(m.Heap) - float64(m.HeapBase)) / float64(m.Registrations)
}

// heapAfterGC runs the garbage collector twice (the second pass frees what
// finalizers of the first released) and returns the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// RunMemory measures the heap an in-process LwM2M server holds per idle
// registration at each of cfg.Counts.
func RunMemory(ctx context.Context, cfg MemoryConfig) ([]MemoryResult, error) {
	if len(cfg.Counts) == 0 {
		cfg.Counts = []int{10000, 100000}
	}
	if cfg.Store == "" {
		cfg.Store = "memory"
	}
	if cfg.Wave <= 0 {
		cfg.Wave = 10000
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 64
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 2 * time.Second
	}
	if _, err := RaiseFileLimit(cfg.Wave + 256); err != nil {
		return nil, err
	}
	var st store.Store
	switch cfg.Store {
	case "memory":
		st = store.NewMemory()
	case "file":
		if cfg.Dir == "" {
			return nil, errors.New("loadgen: the file store needs a folder")
		}
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return nil, err
		}
		f, err := store.OpenFile(filepath.Join(cfg.Dir, "registrations.log"), store.FileOptions{})
		if err != nil {
			return nil, err
		}
		st = f
	default:
		return nil, fmt.Errorf("loadgen: unknown store %q: want memory or file", cfg.Store)
	}
	srv, err := server.New(server.Config{
		Addr:  "127.0.0.1:0",
		Store: st,
		Transport: transport.Config{
			PeerIdleTimeout:  cfg.Idle,
			ExchangeLifetime: cfg.Idle,
		},
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	defer srv.Close()
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	base := heapAfterGC()
	prefix := NewPrefix()
	var results []MemoryResult
	total := &Summary{Scenario: "register", Target: srv.Addr(), Devices: cfg.Wave, InFlight: cfg.InFlight, Errors: map[string]int{}}
	done, wave := 0, 0
	for _, count := range cfg.Counts {
		for done < count {
			wave++
			n := min(cfg.Wave, count-done)
			bind := netip.AddrFrom4([4]byte{127, 100, byte(wave >> 8), byte(wave)})
			s, err := Run(ctx, Config{
				Target: srv.Addr(), Devices: n, InFlight: cfg.InFlight, Requests: n,
				Prefix: prefix + "w" + strconv.Itoa(wave) + "-", Bind: bind, Progress: cfg.Progress,
			})
			if err != nil {
				return results, err
			}
			if s.OK != n {
				return results, fmt.Errorf("loadgen: %d of %d registrations of wave %d failed: %s", n-s.OK, n, wave, s.ErrorString())
			}
			done += n
			total.Done += s.Done
			total.OK += s.OK
			total.Elapsed += s.Elapsed
			total.Latency.Merge(&s.Latency)
		}
		// The sockets are closed: wait until the transport has dropped
		// the peers and the deduplication entries, then a sweep more.
		select {
		case <-ctx.Done():
			return results, ctx.Err()
		case <-time.After(cfg.Idle + cfg.Idle/2 + time.Second):
		}
		snap := *total
		results = append(results, MemoryResult{
			Store: cfg.Store, Registrations: done, HeapBase: base, Heap: heapAfterGC(),
			Goroutines: runtime.NumGoroutine(), Register: &snap,
		})
		if n, err := st.CountRegistrations(ctx); err != nil || n != done {
			return results, fmt.Errorf("loadgen: the store holds %d registrations, want %d (%v)", n, done, err)
		}
	}
	return results, nil
}

// ProcessCPU returns a function that reads the user and system CPU time of
// process pid from /proc/<pid>/stat (Linux), for Config.CPU.
func ProcessCPU(pid int) func() (time.Duration, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	return func() (time.Duration, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		// The command name in parentheses may hold spaces: the fields
		// that follow start after the last ')'. utime and stime are
		// fields 14 and 15 (proc(5)), in clock ticks of 1/100 s.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return 0, fmt.Errorf("loadgen: %s: unexpected format", path)
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			return 0, fmt.Errorf("loadgen: %s: unexpected format", path)
		}
		ut, err1 := strconv.ParseUint(f[11], 10, 64)
		st, err2 := strconv.ParseUint(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("loadgen: %s: unexpected format", path)
		}
		return time.Duration(ut+st) * 10 * time.Millisecond, nil
	}
}
