package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

// ids returns n registration IDs and endpoints.
func ids(n int) (id, ep []string) {
	id, ep = make([]string, n), make([]string, n)
	for i := range n {
		id[i] = "r" + strconv.Itoa(i)
		ep[i] = "urn:imei:" + strconv.FormatInt(490154203000000+int64(i), 10)
	}
	return id, ep
}

// BenchmarkPutRegistrationParallel puts registrations from 64 goroutines
// (over 100,000 IDs, so most puts are updates once the store has filled):
// File with group commit, File with a write and fsync per put (MaxBatch 1,
// the baseline), File with group commit and a 1 ms CommitInterval, and
// Memory. puts/s is the figure to compare.
func BenchmarkPutRegistrationParallel(b *testing.B) {
	idList, epList := ids(100_000)
	tests := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"file-group-commit", fileOpener(store.FileOptions{})},
		{"file-fsync-per-put", fileOpener(store.FileOptions{MaxBatch: 1})},
		{"file-commit-interval-1ms", fileOpener(store.FileOptions{CommitInterval: time.Millisecond})},
		{"memory", func(*testing.B) store.Store { return store.NewMemory() }},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			s := tc.open(b)
			defer s.Close()
			var next atomic.Int64
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := storetest.NewRegistration("", "")
				for pb.Next() {
					i := next.Add(1) % int64(len(idList))
					r.ID, r.Endpoint, r.Identity = idList[i], epList[i], epList[i]
					if _, err := s.PutRegistration(bg, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}

func fileOpener(opts store.FileOptions) func(b *testing.B) store.Store {
	return func(b *testing.B) store.Store {
		return openFile(b, filepath.Join(b.TempDir(), "store.log"), opts)
	}
}

// fill puts n typical registrations into s. With unique set, each has a
// layout of its own (its Device object has instance i), so none is shared.
func fill(tb testing.TB, s store.Store, n int, unique bool) {
	idList, epList := ids(n)
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := storetest.NewRegistration("", "")
			for i := w; i < n; i += workers {
				r.ID, r.Endpoint, r.Identity = idList[i], epList[i], epList[i]
				if unique {
					r.Objects[3].Instances = []uint16{uint16(i % 65535)}
					r.Objects[2].Instances = []uint16{uint16(i / 65535)}
				}
				if _, err := s.PutRegistration(bg, r); err != nil {
					tb.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkHeapPerRegistration reports the heap that 100,000 idle
// registrations (the storetest.NewRegistration shape: 8 objects, 11
// instances, 4 content formats) take after a GC, in B/reg, for Memory and
// File, with the common object layout shared and with a layout of their
// own. Run it with -benchtime=1x: each iteration fills a new store.
func BenchmarkHeapPerRegistration(b *testing.B) {
	const n = 100_000
	for _, unique := range []bool{false, true} {
		for _, kind := range []string{"memory", "file"} {
			name := kind + "/shared-layout"
			if unique {
				name = kind + "/own-layout"
			}
			b.Run(name, func(b *testing.B) {
				var per float64
				for b.Loop() {
					before := heapInUse()
					var s store.Store = store.NewMemory()
					if kind == "file" {
						s = openFile(b, filepath.Join(b.TempDir(), "store.log"), store.FileOptions{NoSync: true, CompactSize: -1})
					}
					fill(b, s, n, unique)
					after := heapInUse()
					runtime.KeepAlive(s)
					per = float64(after-before) / n
					s.Close()
				}
				b.ReportMetric(per, "B/reg")
			})
		}
	}
}

// BenchmarkReplay100k reports how long OpenFile takes to replay a log of
// 100,000 registrations (and Close).
func BenchmarkReplay100k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "store.log")
	f := openFile(b, path, store.FileOptions{NoSync: true, CompactSize: -1})
	fill(b, f, 100_000, false)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		f := openFile(b, path, store.FileOptions{CompactSize: -1})
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Size())/100_000, "B/record")
}

// BenchmarkCompact1M compacts a log of 1,000,000 registrations (and
// 200,000 updates) while 16 goroutines keep putting, and reports the
// compaction's pause (mutations wait while the live data is listed), the
// writer's stall (last copy, fsync, rename), the total, and the slowest
// put during it. It needs about 2 GiB and a minute; it runs only with
// WASM2M_BENCH_1M=1 and -benchtime=1x.
func BenchmarkCompact1M(b *testing.B) {
	if os.Getenv("WASM2M_BENCH_1M") == "" {
		b.Skip("set WASM2M_BENCH_1M=1 to run")
	}
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "store.log")
	f := openFile(b, path, store.FileOptions{NoSync: true, CompactSize: -1})
	fill(b, f, n, false)
	fill(b, f, n/5, false)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	f = openFile(b, path, store.FileOptions{CompactSize: -1})
	replay := time.Since(start)
	defer f.Close()
	for b.Loop() {
		b.ReportMetric(replay.Seconds(), "replay-s")
		// The same load for as long without a compaction, then with one.
		idle := putLoad(b, f, func() time.Duration { time.Sleep(3 * time.Second); return 3 * time.Second })
		var total time.Duration
		busy := putLoad(b, f, func() time.Duration {
			start := time.Now()
			if err := f.Compact(bg); err != nil {
				b.Fatal(err)
			}
			total = time.Since(start)
			return total
		})
		st := f.LastCompaction()
		b.ReportMetric(st.Pause.Seconds()*1e3, "pause-ms")
		b.ReportMetric(st.Stall.Seconds()*1e3, "stall-ms")
		b.ReportMetric(total.Seconds(), "compact-s")
		b.ReportMetric(float64(st.Before)/(1<<20), "before-MiB")
		b.ReportMetric(float64(st.After)/(1<<20), "after-MiB")
		b.ReportMetric(busy.max.Seconds()*1e3, "max-put-ms")
		b.ReportMetric(busy.p999.Seconds()*1e3, "p999-put-ms")
		b.ReportMetric(busy.rate, "puts/s")
		b.ReportMetric(idle.max.Seconds()*1e3, "idle-max-put-ms")
		b.ReportMetric(idle.p999.Seconds()*1e3, "idle-p999-put-ms")
		b.ReportMetric(idle.rate, "idle-puts/s")
	}
}

type loadStats struct {
	max, p999 time.Duration
	rate      float64
}

// putLoad has 16 goroutines put registrations while during runs, and
// returns the put latencies and rate.
func putLoad(b *testing.B, s store.Store, during func() time.Duration) loadStats {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := storetest.NewRegistration("", "")
			var mine []time.Duration
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
					return
				default:
				}
				id := fmt.Sprintf("x%d-%d", g, i%1000)
				r.ID, r.Endpoint = id, "ep-"+id
				t0 := time.Now()
				if _, err := s.PutRegistration(bg, r); err != nil {
					b.Error(err)
				}
				mine = append(mine, time.Since(t0))
			}
		}()
	}
	d := during()
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	return loadStats{max: lat[len(lat)-1], p999: lat[len(lat)*999/1000], rate: float64(len(lat)) / d.Seconds()}
}
