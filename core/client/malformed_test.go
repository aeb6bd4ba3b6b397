package client_test

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// rawServer is a server account's address held by a plain UDP socket, so
// that a test sends the client any datagram, well formed or not, from a
// server it knows.
type rawServer struct {
	conn *net.UDPConn
	mid  uint16
}

func newRawServer(t *testing.T) *rawServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawServer{conn: c, mid: 0x4000}
}

func (r *rawServer) addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// acceptRegister answers the client's Register with 2.01.
func (r *rawServer) acceptRegister(t *testing.T) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 2048)
	r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no Register: %v", err)
		}
		var m transport.Message
		if m.UnmarshalBinary(buf[:n]) != nil || m.Code != transport.POST || m.Path() != "/rd" {
			continue
		}
		ack := &transport.Message{Type: transport.Acknowledgement, Code: model.Created, MID: m.MID, Token: m.Token}
		ack.SetLocationPath("rd", "raw")
		b, _ := ack.MarshalBinary()
		r.conn.WriteToUDPAddrPort(b, from)
		return from
	}
}

// exchange sends the datagram b to the client and returns the response
// whose message ID or token matches.
func (r *rawServer) exchange(t *testing.T, to netip.AddrPort, m *transport.Message) *transport.Message {
	t.Helper()
	r.mid++
	m.MID = r.mid
	if m.Token == nil {
		m.Token = []byte{byte(r.mid >> 8), byte(r.mid)}
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	r.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, _, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("no answer to %v: %v", m, err)
		}
		var resp transport.Message
		if resp.UnmarshalBinary(buf[:n]) != nil {
			continue
		}
		if resp.IsRequest() {
			continue // an Update of the client
		}
		if resp.MID == m.MID || (len(resp.Token) > 0 && bytes.Equal(resp.Token, m.Token)) {
			if resp.Type == transport.Confirmable {
				ack := &transport.Message{Type: transport.Acknowledgement, MID: resp.MID}
				ab, _ := ack.MarshalBinary()
				r.conn.WriteToUDPAddrPort(ab, to)
			}
			out := resp
			out.Payload = bytes.Clone(resp.Payload)
			return &out
		}
	}
}

// req builds a request: method, path, query options, Content-Format and
// Accept (codec.None for none), payload.
func req(code model.Code, path string, query []string, cf, accept codec.Format, payload []byte) *transport.Message {
	m := &transport.Message{Type: transport.Confirmable, Code: code, Payload: payload}
	m.SetPath(path)
	for _, q := range query {
		m.AddQuery(q)
	}
	if cf != codec.None {
		m.SetContentFormat(uint16(cf))
	}
	if accept != codec.None {
		m.SetAccept(uint16(accept))
	}
	return m
}

// TestMalformedRequests sends a client, over a real socket and from the
// address of one of its servers, requests with bad paths, bad payloads
// in each format, unknown options and operations that do not exist: each
// gets a 4.xx (or 5.xx) code, and the client goes on serving.
func TestMalformedRequests(t *testing.T) {
	checkLeaks(t)
	raw := newRawServer(t)
	d := newDevice(account{ssid: 1, uri: uriOf(raw.addr())})
	cfg := clientConfig("dev-bad", d, nil)
	cfg.Version = model.V1_2
	e := startClient(t, cfg)
	to := raw.acceptRegister(t)
	if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	N := codec.None
	badPayloads := map[codec.Format][]byte{
		codec.TLV:       {0xff},
		codec.JSON:      []byte(`{"e":[{"n":`),
		codec.SenMLJSON: []byte(`[{"n":"1","v":`),
		codec.SenMLCBOR: {0x9f, 0xa1},
		codec.LwM2MCBOR: {0xa1, 0x00},
		codec.CBOR:      {0xff},
		codec.Text:      []byte("not a number"),
		codec.Opaque:    {1, 2, 3},
	}
	type tc struct {
		name string
		msg  *transport.Message
		want model.Code
	}
	cases := []tc{
		{"non-numeric path", req(transport.GET, "/abc", nil, N, N, nil), model.NotFound},
		{"path too deep", req(transport.GET, "/3/0/0/0/0", nil, N, N, nil), model.NotFound},
		{"id 65535", req(transport.GET, "/65535", nil, N, N, nil), model.NotFound},
		{"leading zero", req(transport.GET, "/03/0", nil, N, N, nil), model.NotFound},
		{"empty segment", req(transport.GET, "/3//0", nil, N, N, nil), model.NotFound},
		{"read root", req(transport.GET, "/", nil, N, N, nil), model.MethodNotAllowed},
		{"unknown object", req(transport.GET, "/999", nil, N, N, nil), model.NotFound},
		{"unknown instance", req(transport.GET, "/3/7", nil, N, N, nil), model.NotFound},
		{"unknown resource", req(transport.GET, "/3/0/99", nil, N, N, nil), model.NotFound},
		{"read executable", req(transport.GET, "/3/0/4", nil, N, N, nil), model.MethodNotAllowed},
		{"write read-only", req(transport.PUT, "/3/0/0", nil, codec.Text, N, []byte("x")), model.MethodNotAllowed},
		{"write object", req(transport.PUT, "/33001", nil, codec.TLV, N, []byte{}), model.MethodNotAllowed},
		{"execute readable", req(transport.POST, "/3/0/0", nil, N, N, nil), model.MethodNotAllowed},
		{"execute bad arguments", req(transport.POST, "/33001/0/10", nil, codec.Text, N, []byte("0='a")), model.BadRequest},
		{"execute arguments in json", req(transport.POST, "/33001/0/10", nil, codec.JSON, N, []byte("{}")), model.UnsupportedContentFormat},
		{"delete object", req(transport.DELETE, "/3", nil, N, N, nil), model.MethodNotAllowed},
		{"delete resource", req(transport.DELETE, "/3/0/0", nil, N, N, nil), model.MethodNotAllowed},
		{"post root", req(transport.POST, "/", nil, N, N, nil), model.MethodNotAllowed},
		{"post resource instance", req(transport.POST, "/33001/0/9/0", nil, N, N, nil), model.MethodNotAllowed},
		{"fetch below root", req(transport.FETCH, "/3", nil, codec.SenMLJSON, N, []byte(`[{"n":"/3/0/0"}]`)), model.MethodNotAllowed},
		{"unknown accept", req(transport.GET, "/3/0", nil, N, codec.Format(9999), nil), model.NotAcceptable},
		{"opaque for a string", req(transport.GET, "/3/0/0", nil, N, codec.Opaque, nil), model.NotAcceptable},
		{"text for an instance", req(transport.GET, "/3/0", nil, N, codec.Text, nil), model.NotAcceptable},
		{"unknown content format", req(transport.PUT, "/33001/0/1", nil, codec.Format(9999), N, []byte("1")), model.UnsupportedContentFormat},
		{"no content format", req(transport.PUT, "/33001/0/1", nil, N, N, []byte("1")), model.BadRequest},
		{"link format written", req(transport.PUT, "/33001/0/1", nil, codec.LinkFormat, N, []byte("</1>")), model.UnsupportedContentFormat},
		{"value out of range", req(transport.PUT, "/33001/0/12", nil, codec.Text, N, []byte("101")), model.BadRequest},
		{"undefined resource in an instance", req(transport.POST, "/33001/0", nil, codec.SenMLJSON, N, []byte(`[{"n":"/33001/0/77","v":1}]`)), model.NotFound},
		{"read-only resource in an instance", req(transport.POST, "/33001/0", nil, codec.SenMLJSON, N, []byte(`[{"n":"/33001/0/11","vs":"x"}]`)), model.MethodNotAllowed},
		{"wrong type", req(transport.PUT, "/33001/0/4", nil, codec.SenMLJSON, N, []byte(`[{"n":"/33001/0/4","vs":"x"}]`)), model.BadRequest},
		{"create existing", req(transport.POST, "/33001", nil, codec.SenMLJSON, N, []byte(`[{"n":"/33001/0/0","vs":"x"}]`)), model.BadRequest},
		{"create two instances", req(transport.POST, "/33001", nil, codec.SenMLJSON, N, []byte(`[{"n":"/33001/4/0","vs":"x"},{"n":"/33001/5/0","vs":"y"}]`)), model.BadRequest},
		{"create security", req(transport.POST, "/0", nil, codec.SenMLJSON, N, []byte(`[{"n":"/0/4/0","vs":"x"}]`)), model.NotFound},
		{"create unknown object", req(transport.POST, "/999", nil, codec.SenMLJSON, N, []byte(`[{"n":"/999/0/0","vs":"x"}]`)), model.NotFound},
		{"write-attributes unknown", req(transport.PUT, "/33001/0/1", []string{"foo=1"}, N, N, nil), model.BadRequest},
		{"write-attributes bad value", req(transport.PUT, "/33001/0/1", []string{"pmin=abc"}, N, N, nil), model.BadRequest},
		{"write-attributes pmax below pmin", req(transport.PUT, "/33001/0/1", []string{"pmin=5", "pmax=1"}, N, N, nil), model.BadRequest},
		{"write-attributes gt on an instance", req(transport.PUT, "/33001/0", []string{"gt=1"}, N, N, nil), model.BadRequest},
		{"write-attributes gt on a string", req(transport.PUT, "/33001/0/0", []string{"gt=1"}, N, N, nil), model.BadRequest},
		{"write-attributes property", req(transport.PUT, "/33001/0/1", []string{"dim=1"}, N, N, nil), model.BadRequest},
		{"discover resource instance", req(transport.GET, "/33001/0/9/0", nil, N, codec.LinkFormat, nil), model.BadRequest},
		{"discover root", req(transport.GET, "/", nil, N, codec.LinkFormat, nil), model.MethodNotAllowed},
		{"observe root", req(transport.GET, "/", nil, N, N, nil), model.MethodNotAllowed},
		{"read-composite paths in tlv", req(transport.FETCH, "/", nil, codec.TLV, N, []byte{}), model.UnsupportedContentFormat},
		{"read-composite answer in tlv", req(transport.FETCH, "/", nil, codec.SenMLJSON, codec.TLV, []byte(`[{"n":"/3/0/0"}]`)), model.NotAcceptable},
		{"read-composite bad paths", req(transport.FETCH, "/", nil, codec.SenMLJSON, N, []byte(`[{"n":`)), model.BadRequest},
		{"read-composite overlapping paths", req(transport.FETCH, "/", nil, codec.SenMLJSON, N, []byte(`[{"n":"/3/0"},{"n":"/3/0/0"}]`)), model.BadRequest},
		{"read-composite nothing there", req(transport.FETCH, "/", nil, codec.SenMLJSON, N, []byte(`[{"n":"/999/0"}]`)), model.NotFound},
		{"write-composite bad", req(transport.IPATCH, "/", nil, codec.SenMLCBOR, N, []byte{0x9f}), model.BadRequest},
		{"write-composite in text", req(transport.IPATCH, "/", nil, codec.Text, N, []byte("1")), model.UnsupportedContentFormat},
		{"write-composite of an instance", req(transport.IPATCH, "/", nil, codec.SenMLJSON, N, []byte(`[{"n":"/33001/0","v":1}]`)), model.BadRequest},
		{"unknown method", &transport.Message{Type: transport.Confirmable, Code: model.MakeCode(0, 9)}, model.MethodNotAllowed},
		{"proxy-uri", func() *transport.Message {
			m := req(transport.GET, "/3/0/0", nil, N, N, nil)
			m.Add(transport.OptProxyURI, []byte("coap://x/"))
			return m
		}(), model.MakeCode(5, 5)},
	}
	for f, b := range badPayloads {
		want := model.BadRequest
		if f == codec.Opaque {
			want = model.UnsupportedContentFormat
		}
		cases = append(cases, tc{"bad " + f.Name() + " resource", req(transport.PUT, "/33001/0/1", nil, f, N, b), want})
		if !f.SingleValue() {
			cases = append(cases, tc{"bad " + f.Name() + " instance", req(transport.POST, "/33001/0", nil, f, N, b), model.BadRequest})
			cases = append(cases, tc{"bad " + f.Name() + " create", req(transport.POST, "/33001", nil, f, N, b), model.BadRequest})
		}
	}
	for _, c := range []uint16{9, 13, 2049} {
		m := req(transport.GET, "/3/0/0", nil, N, N, nil)
		m.Add(c, []byte{1})
		cases = append(cases, tc{"unknown critical option " + strconv.Itoa(int(c)), m, model.BadOption})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := raw.exchange(t, to, c.msg)
			if resp.Code != c.want {
				t.Errorf("got %v (%s), want %v", resp.Code, resp.Payload, c.want)
			}
		})
	}
	t.Run("still serving", func(t *testing.T) {
		resp := raw.exchange(t, to, req(transport.GET, "/3/0/0", nil, N, codec.Text, nil))
		if resp.Code != model.Content || string(resp.Payload) != "wasm2m" {
			t.Errorf("got %v %q", resp.Code, resp.Payload)
		}
	})
	t.Run("unknown peer", func(t *testing.T) {
		other := newRawServer(t)
		resp := other.exchange(t, to, req(transport.GET, "/3/0/0", nil, N, N, nil))
		if resp.Code != model.Forbidden {
			t.Errorf("got %v", resp.Code)
		}
	})
	if st := e.Status(); st[0].State != client.StateRegistered {
		t.Errorf("status %s", statusString(st))
	}
}
