package bootstrap_test

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// BenchmarkSequence measures whole bootstrap sequences over loopback
// (Bootstrap-Request, Discover, Delete, two Writes in SenML CBOR, Finish)
// against a scripted device that answers at once: the server's cost per
// provisioned device, 8 devices at a time.
func BenchmarkSequence(b *testing.B) {
	const devices = 8
	var cs []*store.BootstrapConfig
	for i := range devices {
		cs = append(cs, dmConfig(fmt.Sprintf("bench-%d", i), netip.MustParseAddrPort("127.0.0.1:5683"), 1))
	}
	cfg := bootstrap.Config{Addr: "127.0.0.1:0", Configs: newConfigs(cs...), Transport: fastTransport}
	bs, err := bootstrap.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	if err := bs.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	sub := bs.Subscribe(4 * devices)
	discover := []byte(`</>;lwm2m=1.1,</0/0>;uri="coap://bs",</3/0>`)
	dcfg := fastTransport
	dcfg.Handler = transport.HandlerFunc(func(ctx context.Context, r *transport.Request) *transport.Message {
		switch r.Msg.Code {
		case transport.GET:
			m := &transport.Message{Code: model.Content, Payload: discover}
			m.SetContentFormat(uint16(codec.LinkFormat))
			return m
		case transport.DELETE:
			return &transport.Message{Code: model.Deleted}
		}
		return &transport.Message{Code: model.Changed}
	})
	eps := make([]*transport.Endpoint, devices)
	for i := range eps {
		if eps[i], err = transport.Listen("127.0.0.1:0", dcfg); err != nil {
			b.Fatal(err)
		}
		defer eps[i].Close()
	}
	pct := "pct=" + strconv.Itoa(int(codec.SenMLCBOR))
	ask := func(i int) {
		m := &transport.Message{Code: transport.POST}
		m.SetPath("/bs")
		m.SetQueries([]string{fmt.Sprintf("ep=bench-%d", i), pct})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if resp, err := eps[i].Do(ctx, bs.Addr(), m); err != nil || resp.Code != model.Changed {
			b.Errorf("bootstrap-request: %v %v", resp, err)
		}
	}
	b.ResetTimer()
	started := 0
	for started < devices && started < b.N {
		ask(started)
		started++
	}
	for done := 0; done < b.N; {
		e := <-sub.C
		switch e.Type {
		case bootstrap.EventFailed:
			b.Fatalf("failed: %+v", e.Result)
		case bootstrap.EventSucceeded:
			done++
			if started < b.N {
				var i int
				fmt.Sscanf(e.Result.Endpoint, "bench-%d", &i)
				ask(i)
				started++
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sequences/s")
}
