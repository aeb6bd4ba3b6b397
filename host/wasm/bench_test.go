package wasm

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Benchmarks of the runtime with testdata/echo.wasm (a guest that does
// nothing but answer): the host's own costs. Run them with
//
//	go test -run '^$' -bench . -benchtime 2s ./host/wasm/

func benchPlugin(b *testing.B, cfg PluginConfig) *Plugin {
	b.Helper()
	r, err := NewRuntime(Config{CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(context.Background()) })
	if cfg.ID == "" {
		cfg.ID = "bench.echo"
	}
	p, err := r.Load(context.Background(), cfg, readWasm(b, "echo"))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func call64(b *testing.B, p *Plugin, req []byte) {
	resp, err := p.Call(context.Background(), abi.MethodObjectRead, req)
	if err != nil || len(resp) != len(req) {
		b.Fatal(resp, err)
	}
}

// BenchmarkCall is one call with 64 bytes in and 64 out, without and
// with the per-call deadline (PluginConfig.Timeout).
func BenchmarkCall(b *testing.B) {
	req := make([]byte, 64)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{{"plain", 0}, {"deadline", 10 * time.Second}} {
		b.Run(tc.name, func(b *testing.B) {
			p := benchPlugin(b, PluginConfig{MaxInstances: 1, Timeout: tc.timeout})
			b.ReportAllocs()
			for b.Loop() {
				call64(b, p, req)
			}
		})
	}
	b.Run("append", func(b *testing.B) {
		p := benchPlugin(b, PluginConfig{MaxInstances: 1})
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := p.CallAppend(context.Background(), abi.MethodObjectRead, req, buf[:0])
			if err != nil || len(resp) != len(req) {
				b.Fatal(resp, err)
			}
		}
	})
}

// BenchmarkCallDeadlineRatio measures both kinds of call in one run,
// alternating blocks of 100 calls of each, and reports the two costs and
// their ratio (ns/op is for 200 calls).
func BenchmarkCallDeadlineRatio(b *testing.B) {
	req := make([]byte, 64)
	plain := benchPlugin(b, PluginConfig{ID: "bench.plain", MaxInstances: 1})
	deadline := benchPlugin(b, PluginConfig{ID: "bench.deadline", MaxInstances: 1, Timeout: 10 * time.Second})
	var tp, td time.Duration
	calls := 0
	for b.Loop() {
		t0 := time.Now()
		for range 100 {
			call64(b, plain, req)
		}
		t1 := time.Now()
		for range 100 {
			call64(b, deadline, req)
		}
		td += time.Since(t1)
		tp += t1.Sub(t0)
		calls += 100
	}
	b.ReportMetric(float64(tp.Nanoseconds())/float64(calls), "plain-ns/call")
	b.ReportMetric(float64(td.Nanoseconds())/float64(calls), "deadline-ns/call")
	b.ReportMetric(float64(td)/float64(tp), "deadline/plain")
}

// BenchmarkCallParallel is BenchmarkCall/plain from GOMAXPROCS
// goroutines over a pool of GOMAXPROCS instances.
func BenchmarkCallParallel(b *testing.B) {
	p := benchPlugin(b, PluginConfig{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := make([]byte, 64)
		for pb.Next() {
			call64(b, p, req)
		}
	})
}

// BenchmarkCompile compiles echo.wasm in a new wazero runtime: cold (an
// empty cache), from the file cache (a new cache object over a folder
// that has it, as in a new process), and from a cache already in memory.
func BenchmarkCompile(b *testing.B) {
	bin := readWasm(b, "echo")
	ctx := context.Background()
	compile := func(b *testing.B, c wazero.CompilationCache) {
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(c))
		if _, err := rt.CompileModule(ctx, bin); err != nil {
			b.Fatal(err)
		}
		rt.Close(ctx)
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			c := wazero.NewCompilationCache()
			compile(b, c)
			c.Close(ctx)
		}
	})
	b.Run("file-cache", func(b *testing.B) {
		dir := b.TempDir()
		c, _ := wazero.NewCompilationCacheWithDir(dir)
		compile(b, c)
		c.Close(ctx)
		for b.Loop() {
			c, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			compile(b, c)
			c.Close(ctx)
		}
	})
	b.Run("memory-cache", func(b *testing.B) {
		c := wazero.NewCompilationCache()
		defer c.Close(ctx)
		compile(b, c)
		for b.Loop() {
			compile(b, c)
		}
	})
}

// BenchmarkInstantiate starts an instance (_initialize, the version) and
// closes it.
func BenchmarkInstantiate(b *testing.B) {
	p := benchPlugin(b, PluginConfig{})
	g := p.cur.Load()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in, err := g.newInstance(ctx)
		if err != nil {
			b.Fatal(err)
		}
		in.close()
	}
}

// BenchmarkInstanceMemory holds 200 instances at once and reports the Go
// heap each adds (echo's memory is one 64 KiB page). The resident set is
// no measure here: the heap reuses pages the previous round freed.
func BenchmarkInstanceMemory(b *testing.B) {
	const n = 200
	p := benchPlugin(b, PluginConfig{MaxInstances: n})
	g := p.cur.Load()
	ctx := context.Background()
	var heap float64
	for b.Loop() {
		h0 := heapNow()
		ins := make([]*instance, 0, n)
		for range n {
			in, err := g.newInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			ins = append(ins, in)
		}
		heap += float64(heapNow()-h0) / n
		for _, in := range ins {
			in.close()
		}
	}
	b.ReportMetric(heap/float64(b.N), "heap-B/instance")
}

// heapNow returns the live Go heap after a collection, in bytes.
func heapNow() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
