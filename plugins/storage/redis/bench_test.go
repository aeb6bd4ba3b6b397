package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wasm2m/wasm2m/core/store/storetest"
)

// BenchmarkPutRegistration is registrations stored per second in Redis
// with no plugin process in between (the Storage through the ABI's
// messages in process), from 8 callers per CPU.
func BenchmarkPutRegistration(b *testing.B) {
	s := asStore(open(b, config(b)))
	defer s.Close()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := storetest.NewRegistration(fmt.Sprint("b", i), fmt.Sprint("ep-b", i))
			if _, err := s.PutRegistration(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "regs/s")
}

// BenchmarkExpired reads the 100 earliest lapsed registrations out of
// 100,000 (one ZRANGEBYSCORE, not a scan), and reports the Redis memory a
// registration takes (used_memory before and after the 100,000, all keys
// and indexes).
func BenchmarkExpired(b *testing.B) {
	const fleet = 100000
	cfg := config(b)
	s := open(b, cfg)
	st := asStore(s)
	defer st.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: cfg.Addr})
	defer rdb.Close()
	before := usedMemory(b, rdb)
	var wg sync.WaitGroup
	base := storetest.NewRegistration("", "").UpdatedAt
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < fleet; i += 16 {
				r := storetest.NewRegistration(fmt.Sprint("x", i), fmt.Sprint("ep-x", i))
				r.Lifetime = uint32(60 + i)
				if _, err := st.PutRegistration(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	perReg := float64(usedMemory(b, rdb)-before) / fleet
	cut := base.Add(time.Duration(60+fleet/2) * time.Second)
	b.ResetTimer()
	for b.Loop() {
		ids, err := s.Expired(context.Background(), cut, 100)
		if err != nil || len(ids) != 100 {
			b.Fatalf("%d ids, %v", len(ids), err)
		}
	}
	b.ReportMetric(perReg, "B/registration")
}

func usedMemory(b *testing.B, rdb *goredis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}
