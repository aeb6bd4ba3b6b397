package transport

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/wasm2m/wasm2m/core/model"
)

// BenchmarkDTLSHandshake measures full handshakes per second against a
// ListenDTLS endpoint (HelloVerifyRequest cookie exchange included), by
// pion clients on their own sockets in the same process: hs/s counts
// both sides' work on the machine's cores. Resumption is off, so that
// every handshake is a full one, except in psk-resumed, where every
// client offers the session of an earlier one.
func BenchmarkDTLSHandshake(b *testing.B) {
	pki := newTestPKI(b, "bench")
	for _, tc := range []struct {
		name   string
		srv    DTLSConfig
		cli    DTLSClientConfig
		resume bool
		pion   bool // pion's own dtls.Listen instead of ListenDTLS, as a baseline
	}{
		{"psk", DTLSConfig{PSK: pskTable(testPSK)}, DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")}, false, false},
		{"psk-pion-listener", DTLSConfig{}, DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")}, false, true},
		{"psk-resumed", DTLSConfig{PSK: pskTable(testPSK)}, DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1")}, true, false},
		{"ecdsa-mutual", DTLSConfig{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool},
			DTLSClientConfig{Certificates: []tls.Certificate{pki.device}, RootCAs: pki.pool, ServerName: "lwm2m.test"}, false, false},
		{"ecdsa-mutual-pion-listener", DTLSConfig{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool},
			DTLSClientConfig{Certificates: []tls.Certificate{pki.device}, RootCAs: pki.pool, ServerName: "lwm2m.test"}, false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.pion {
				benchPionListener(b, tc.srv, tc.cli)
				return
			}
			tc.srv.MaxHandshakesPerIP = 1 << 10
			if tc.resume {
				tc.srv.ResumptionEntries = 64
			}
			srv := dtlsServerT(b, nil, tc.srv)
			pc, err := tc.cli.pion(slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			if tc.resume {
				pc.SessionStore = newResumptionStore(4, time.Hour)
			}
			to := net.UDPAddrFromAddrPort(srv.LocalAddr())
			handshakes(b, to, pc)
			if tc.resume {
				b.ReportMetric(float64(srv.Stats().DTLS.Resumed)/float64(b.N), "resumed/op")
			}
		})
	}
}

// handshakes runs b.N client handshakes with to, 4 per CPU at a time, each
// from a socket of its own, and reports them per second and the process's
// CPU time (both sides) per handshake.
func handshakes(b *testing.B, to *net.UDPAddr, pc *dtls.Config) {
	var failed atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Error(err)
				return
			}
			c, err := dtls.Client(u, to, pc)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err = c.HandshakeContext(ctx)
				cancel()
				c.Close()
			}
			u.Close()
			if err != nil {
				failed.Add(1)
			}
		}
	})
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "hs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/hs")
	b.ReportMetric(float64(failed.Load()), "failed")
}

// benchPionListener is the baseline: pion's dtls.Listen with the pion
// configuration ListenDTLS would derive from srv, a goroutine per accepted
// connection that handshakes and waits for the close.
func benchPionListener(b *testing.B, srv DTLSConfig, cli DTLSClientConfig) {
	if srv.PSK == nil && srv.Certificates == nil {
		srv.PSK = pskTable(testPSK)
	}
	l, err := dtls.Listen("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, ptr(pionServerConfig(srv, slog.New(slog.DiscardHandler))))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 64)
				c.(*dtls.Conn).Handshake()
				c.Read(buf)
				c.Close()
			}()
		}
	}()
	pc, err := cli.pion(slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	handshakes(b, l.Addr().(*net.UDPAddr), pc)
	l.Close()
	<-done
}

// udpDoNsPerOp and udpDoCPUPerOp are the plain sub-benchmark's time and
// CPU time per round trip, for the dtls ones to compare against.
var udpDoNsPerOp, udpDoCPUPerOp float64

// BenchmarkDTLSRoundTrip compares CoAP round trips (a CON GET with a
// piggybacked 2.05, parallel) between two Endpoints over plain UDP and
// over an established DTLS session (PSK, AES-128-CCM-8), in the same run;
// x-udp is the ratio of DTLS's time per round trip to UDP's, x-udp-cpu
// that of the process's CPU time per round trip (less at the mercy of
// other jobs on the machine). Run it with -count 1, several times: with
// -count N the ratios compare against the last udp run only.
func BenchmarkDTLSRoundTrip(b *testing.B) {
	resp := &Message{Code: model.Content, Payload: []byte("21.5")}
	h := HandlerFunc(func(context.Context, *Request) *Message { return resp })
	run := func(b *testing.B, cli *Endpoint, to netip.AddrPort) (nsPerOp, cpuPerOp float64) {
		req := get("/3303/0/5700")
		if _, err := cli.Do(context.Background(), to, req); err != nil { // the handshake
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu0, t0 := cpuTime(), time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cli.Do(context.Background(), to, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
		elapsed, cpu := time.Since(t0), cpuTime()-cpu0
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rtt/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		return float64(elapsed.Nanoseconds()) / float64(b.N), float64(cpu.Nanoseconds()) / float64(b.N)
	}
	b.Run("udp", func(b *testing.B) {
		srv := listen(b, Config{Handler: h, PeerRate: -1})
		cli := listen(b, Config{PeerRate: -1})
		udpDoNsPerOp, udpDoCPUPerOp = run(b, cli, srv.LocalAddr())
	})
	for _, cid := range []bool{false, true} {
		name := "dtls-psk"
		if cid {
			name += "-cid"
		}
		b.Run(name, func(b *testing.B) {
			srv, err := ListenDTLS("127.0.0.1:0", Config{Handler: h, PeerRate: -1}, DTLSConfig{PSK: pskTable(testPSK), ConnectionID: cid})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			cli, err := ListenSecure("127.0.0.1:0", Config{PeerRate: -1}, func(netip.AddrPort) *DTLSClientConfig {
				return &DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1"), ConnectionID: cid}
			})
			if err != nil {
				b.Fatal(err)
			}
			defer cli.Close()
			ns, cpu := run(b, cli, srv.LocalAddr())
			if udpDoNsPerOp > 0 {
				b.ReportMetric(ns/udpDoNsPerOp, "x-udp")
				b.ReportMetric(cpu/udpDoCPUPerOp, "x-udp-cpu")
			}
		})
	}
}

// memNow returns the live heap after a full collection, and the
// goroutine stacks in use.
func memNow() (heap, stack uint64) {
	for range 10 { // each collection may halve an idle goroutine's stack
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// BenchmarkDTLSSessionMemory measures what the server holds per
// established session and per half-open handshake (a lone ClientHello):
// live heap after GC and goroutines, divided by the count. The clients'
// own state is gone before the measurement (their sockets closed first,
// so that no close_notify reaches the server). Run it with -benchtime=1x.
func BenchmarkDTLSSessionMemory(b *testing.B) {
	const n = 400
	for range b.N {
		srv, err := ListenDTLS("127.0.0.1:0", Config{PeerRate: -1}, DTLSConfig{
			PSK: pskTable(testPSK), MaxHandshakes: n, MaxHandshakesPerIP: n, HandshakeTimeout: time.Minute, ConnectionID: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		pc, _ := (&DTLSClientConfig{PSKIdentity: "dev-1", PSK: []byte("secret-1"), ConnectionID: true}).pion(slog.New(slog.DiscardHandler))
		to := net.UDPAddrFromAddrPort(srv.LocalAddr())

		heap0, stack0 := memNow()
		g0 := runtime.NumGoroutine()
		socks := make([]*net.UDPConn, n)
		conns := make([]*dtls.Conn, n)
		for i := range n {
			socks[i], _ = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			conns[i], err = dtls.Client(socks[i], to, pc)
			if err == nil {
				err = conns[i].Handshake()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		for i := range n {
			socks[i].Close()
			conns[i].Close()
		}
		conns = nil
		time.Sleep(200 * time.Millisecond)
		if st := srv.Stats().DTLS; st.Sessions != n {
			b.Fatalf("%d sessions, want %d", st.Sessions, n)
		}
		heap1, stack1 := memNow()
		g1 := runtime.NumGoroutine()
		b.ReportMetric(float64(heap1-heap0)/n, "heap-B/session")
		b.ReportMetric(float64(stack1-stack0)/n, "stack-B/session")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/session")

		hello := clientHello(b)
		for i := range n {
			socks[i], _ = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			socks[i].WriteToUDPAddrPort(hello, srv.LocalAddr())
		}
		deadline := time.Now().Add(5 * time.Second)
		for srv.Stats().DTLS.Handshakes < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if st := srv.Stats().DTLS; st.Handshakes != n {
			b.Fatalf("%d handshakes, want %d", st.Handshakes, n)
		}
		heap2, stack2 := memNow()
		g2 := runtime.NumGoroutine()
		b.ReportMetric(float64(heap2-heap1)/n, "heap-B/half-open")
		b.ReportMetric(float64(stack2-stack1)/n, "stack-B/half-open")
		b.ReportMetric(float64(g2-g1)/n, "goroutines/half-open")
		for _, s := range socks {
			s.Close()
		}
		srv.Close()
	}
}

func ptr[T any](v T) *T { return &v }
