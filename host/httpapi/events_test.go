//go:build unix

package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// smallBuffers is a listener whose connections have small kernel send
// buffers, so that a subscriber that stops reading blocks the stream's
// writes after a few events rather than a few megabytes.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestEventStreamSlowReader: a subscriber that stops reading loses events
// (counted, and told with a DROPPED event when it reads again) while the
// server goes on serving devices and other subscribers.
func TestEventStreamSlowReader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{listener: smallBuffers{ln}, api: func(c *Config) { c.EventBuffer = 4 }})
	d := e.startDevice(t, "busy", deviceOptions{})

	// The slow subscriber: a raw connection with a small receive buffer
	// that reads the response header and then nothing.
	dialer := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
	}}
	conn, err := dialer.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/event?ep=busy HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", e.token)
	br := bufio.NewReaderSize(conn, 64)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("%q %v", line, err)
	}
	waitFor(t, 5*time.Second, "the slow subscriber", func() bool {
		return strings.Contains(metricsText(t, e), "wasm2m_event_stream_subscribers 1")
	})
	// A subscriber that keeps up.
	fast := e.openStream(t, "?ep=busy")

	// Many events: each Send from the device is one, with the whole
	// Device object in it.
	ctx := ctxT(t, 60*time.Second)
	const sends = 400
	start := time.Now()
	for i := range sends {
		if err := d.engine.Send(ctx, 1, model.MustPath("/3/0"), model.MustPath("/42770/0")); err != nil {
			t.Fatalf("send %d while a subscriber stalls: %v", i, err)
		}
	}
	t.Logf("%d sends in %v with a stalled subscriber", sends, time.Since(start))
	// The server still answers requests through the API.
	if code, b := e.call(t, "GET", "/api/clients/busy/3/0/0", "", ""); code != 200 {
		t.Fatalf("read while a subscriber stalls: %d %s", code, b)
	}
	// The subscriber that keeps reading gets what comes next.
	time.Sleep(100 * time.Millisecond)
	if err := d.engine.Send(ctx, 1, model.MustPath("/42770/0/0")); err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		m := fast.next(t, evSend, 10*time.Second)
		got++
		if strings.Contains(string(m.data), `"val":{"/42770/0/0"`) {
			break
		}
	}
	t.Logf("the reading subscriber got %d of %d events", got, sends+1)
	dropped := 0.0
	waitFor(t, 10*time.Second, "drops to be counted", func() bool {
		m := regexp.MustCompile(`wasm2m_event_stream_dropped_total\{stage="subscriber"\} (\S+)`).FindStringSubmatch(metricsText(t, e))
		if m == nil {
			return false
		}
		dropped, _ = strconv.ParseFloat(m[1], 64)
		return dropped > 0
	})
	t.Logf("the stalled subscriber lost %v events", dropped)

	// Reading again, the slow subscriber learns what it lost.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	go func() {
		// One more event after the backlog, to carry the DROPPED notice.
		time.Sleep(200 * time.Millisecond)
		d.engine.Send(context.Background(), 1, model.MustPath("/3/0/0"))
	}()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no DROPPED event: %v", err)
		}
		if strings.HasPrefix(line, "event: DROPPED") {
			data, _ := br.ReadString('\n')
			if !strings.Contains(data, `"dropped":`) {
				t.Errorf("DROPPED data %q", data)
			}
			break
		}
	}
}

// TestHubWants checks the test that keeps events nobody reads from being
// encoded: no subscriber wants nothing, one for all endpoints wants every
// endpoint, one for an endpoint wants that endpoint only.
func TestHubWants(t *testing.T) {
	h := newHub()
	if h.wants("dev-1") {
		t.Fatal("a hub without subscribers wants events")
	}
	one := h.add("dev-1", 1)
	if !h.wants("dev-1") || h.wants("dev-2") {
		t.Fatalf("subscriber of dev-1: wants(dev-1) = %v, wants(dev-2) = %v", h.wants("dev-1"), h.wants("dev-2"))
	}
	all := h.add("", 1)
	if !h.wants("dev-2") {
		t.Fatal("a subscriber of every endpoint does not want dev-2")
	}
	h.remove(all)
	h.remove(one)
	if h.wants("dev-1") {
		t.Fatal("wants after every subscriber left")
	}
}
