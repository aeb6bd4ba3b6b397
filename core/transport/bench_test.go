package transport

import (
	"container/heap"
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// echoNsPerOp is the bare UDP echo's time per round trip, measured by the
// udp-echo sub-benchmark for the coap-do one to compare against.
var echoNsPerOp float64

// BenchmarkRoundTrip compares a CoAP round trip through two Endpoints over
// loopback (a CON GET with a piggybacked 2.05, parallel) with a bare UDP
// echo over loopback (parallel, one socket per goroutine). cpu-µs/op is
// the CPU time of the whole process (both sides) per round trip;
// x-echo is the ratio of Do's time per round trip to the echo's.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("udp-echo", func(b *testing.B) {
		srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		srv.SetReadBuffer(4 << 20)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				n, peer, err := srv.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				srv.WriteToUDPAddrPort(buf[:n], peer)
			}
		}()
		to := srv.LocalAddr().(*net.UDPAddr).AddrPort()
		msg := []byte("\x40\x01\x12\x34\xb43303\x010\x045700") // the size of the CoAP GET
		b.ReportAllocs()
		b.ResetTimer()
		cpu0, t0 := cpuTime(), time.Now()
		b.RunParallel(func(pb *testing.PB) {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			buf := make([]byte, 2048)
			for pb.Next() {
				c.WriteToUDPAddrPort(msg, to)
				c.SetReadDeadline(time.Now().Add(time.Second))
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					continue // lost: the next iteration carries on
				}
			}
		})
		elapsed, cpu := time.Since(t0), cpuTime()-cpu0
		b.StopTimer()
		srv.Close()
		wg.Wait()
		echoNsPerOp = float64(elapsed.Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rtt/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	})
	b.Run("coap-do", func(b *testing.B) {
		resp := &Message{Code: model.Content, Payload: []byte("21.5")}
		resp.SetContentFormat(0)
		h := HandlerFunc(func(context.Context, *Request) *Message { return resp })
		srv := listen(b, Config{Handler: h, PeerRate: -1})
		cli := listen(b, Config{PeerRate: -1})
		to := srv.LocalAddr()
		req := get("/3303/0/5700")
		b.ReportAllocs()
		b.ResetTimer()
		cpu0, t0 := cpuTime(), time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if _, err := cli.Do(ctx, to, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
		elapsed, cpu := time.Since(t0), cpuTime()-cpu0
		b.StopTimer()
		ns := float64(elapsed.Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rtt/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		if echoNsPerOp > 0 {
			b.ReportMetric(ns/echoNsPerOp, "x-echo")
		}
		b.ReportMetric(float64(cli.Stats().Retransmissions), "retransmissions")
	})
}

// BenchmarkDoInFlight256 keeps 256 requests in flight between two
// Endpoints with default settings but no rate limit, and reports how many
// CON retransmissions datagram loss caused (go-coap with the default 208
// KiB receive buffer lost about 0.5 % at this depth).
func BenchmarkDoInFlight256(b *testing.B) {
	h := HandlerFunc(func(context.Context, *Request) *Message { return &Message{Code: model.Content, Payload: []byte("x")} })
	srv := listen(b, Config{Handler: h, PeerRate: -1})
	cli := listen(b, Config{PeerRate: -1})
	to := srv.LocalAddr()
	b.SetParallelism(256 / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cli.Do(context.Background(), to, get("/x")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(t0)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rtt/s")
	b.ReportMetric(float64(cli.Stats().Retransmissions+srv.Stats().Retransmissions), "retransmissions")
}

// heapBytes returns the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func benchPeer(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(5683+i%1000))
}

// BenchmarkIdlePeerMemory reports the heap each idle peer's state costs
// (map entry and expiry slot), for 100 000 peers.
func BenchmarkIdlePeerMemory(b *testing.B) {
	const n = 100_000
	for range b.N {
		before := heapBytes()
		p := newPeerTable(int64(time.Minute), 200, 400)
		for i := range n {
			p.allow(benchPeer(i), int64(i))
		}
		after := heapBytes()
		b.ReportMetric(float64(after-before)/n, "B/peer")
		runtime.KeepAlive(p)
	}
}

// BenchmarkDedup reports the cost of deduplicating one incoming message
// against a full cache of 100 000 entries (1 000 peers): a lookup, an
// insert, and the eviction of the oldest entry, plus the memory per entry.
func BenchmarkDedup(b *testing.B) {
	const n = 100_000
	tok := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	before := heapBytes()
	d := newDedup(int64(247*time.Second), int64(145*time.Second), n)
	for i := range n {
		d.check(makeDedupKey(benchPeer(i%1000), uint16(i)), tok, true, int64(i))
	}
	perEntry := float64(heapBytes()-before) / n
	reply := emptyMessage(Acknowledgement, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := makeDedupKey(benchPeer(i%1000), uint16(n+i))
		if _, dup := d.check(k, tok, true, int64(n+i)); dup {
			b.Fatal("fresh key seen as duplicate")
		}
		d.answer(k, true, reply)
	}
	b.StopTimer()
	if l := d.len(); l > n {
		b.Fatalf("%d entries, bound %d", l, n)
	}
	b.ReportMetric(perEntry, "B/entry")
}

// BenchmarkDedupExpiry reports the cost per message of the sweep that
// expires entries, in a steady state of 100 000 live entries.
func BenchmarkDedupExpiry(b *testing.B) {
	const n = 100_000
	tok := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	d := newDedup(n, n, 1<<30) // lifetime n ns: one entry expires per new one
	for i := range n {
		d.check(makeDedupKey(benchPeer(i%1000), uint16(i)), tok, false, int64(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now := int64(n + i)
		d.check(makeDedupKey(benchPeer(i%1000), uint16(n+i)), tok, false, now)
		d.sweep(now)
	}
}

// Retransmission timers: time.AfterFunc per CON (what the endpoint uses)
// against one scheduler heap behind a mutex, for the common case of a
// timer armed and stopped before it fires.
func BenchmarkTimerAfterFuncStop(b *testing.B) {
	f := func() {}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t := time.AfterFunc(2*time.Second, f)
			t.Stop()
		}
	})
}

type timerItem struct {
	at    int64
	index int
}

type timerHeap []*timerItem

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) { it := x.(*timerItem); it.index = len(*h); *h = append(*h, it) }
func (h *timerHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func BenchmarkTimerHeapPushRemove(b *testing.B) {
	var mu sync.Mutex
	h := &timerHeap{}
	// A standing population of pending timers, as under load.
	for i := range 1000 {
		heap.Push(h, &timerItem{at: int64(i)})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int64(0)
		for pb.Next() {
			it := &timerItem{at: time.Now().UnixNano() + i}
			mu.Lock()
			heap.Push(h, it)
			heap.Remove(h, it.index)
			mu.Unlock()
			i++
		}
	})
}
