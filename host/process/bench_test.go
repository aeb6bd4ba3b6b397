package process_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// BenchmarkCall is the cost of one call with 64 bytes each way: a Handler
// called in process, and the same through a plugin process (gRPC over a
// Unix socket with mTLS).
func BenchmarkCall(b *testing.B) {
	in := bytes.Repeat([]byte{7}, 64)
	echo := procplugin.HandlerFunc(func(_ context.Context, _ abi.Method, req []byte) ([]byte, error) {
		return append([]byte(nil), req...), nil
	})
	b.Run("in-process", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := echo.Call(context.Background(), methodEcho, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("process", func(b *testing.B) {
		p, _ := start(b, process.Config{Logger: slogDiscard})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Call(context.Background(), methodEcho, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("process-parallel", func(b *testing.B) {
		p, _ := start(b, process.Config{Logger: slogDiscard})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.Call(context.Background(), methodEcho, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

var benchSeq atomic.Int64

// BenchmarkPutRegistration is registrations stored per second, from
// 8 parallel callers per CPU as a server's handlers are, with each backend: the
// memory store in process, the memory store behind a plugin process, and
// Redis behind its plugin process (needs WASM2M_REDIS_ADDR).
func BenchmarkPutRegistration(b *testing.B) {
	run := func(b *testing.B, s store.Store) {
		run := benchSeq.Add(1)
		var n atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(8) // 8 callers per CPU: a server's concurrent handlers
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				r := storetest.NewRegistration(fmt.Sprintf("b%d-%d", run, i), fmt.Sprintf("ep-b%d-%d", run, i))
				if _, err := s.PutRegistration(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "regs/s")
	}
	b.Run("memory", func(b *testing.B) {
		s := store.NewMemory()
		defer s.Close()
		run(b, s)
	})
	b.Run("memory-process", func(b *testing.B) {
		p, _ := start(b, process.Config{Logger: slogDiscard})
		run(b, process.NewStore(p))
	})
	b.Run("redis-process", func(b *testing.B) {
		addr := redisAddr(b)
		s, _ := openRedis(b, addr, redisPrefix(b, addr), process.Config{})
		run(b, s)
	})
}
