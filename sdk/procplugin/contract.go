package procplugin

import (
	"bytes"
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Handshake is go-plugin's handshake between the host and a process
// plugin: the magic cookie says that a wasm2m host started the program,
// and the protocol version is the ABI's major version, so that a plugin
// built against another major version is refused before any call. The
// minor version travels in the Manifest (abi_minor).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  abi.Major,
	MagicCookieKey:   "WASM2M_PLUGIN",
	MagicCookieValue: "wasm2m-abi-process",
}

// PluginName is the name the one plugin of a process is dispensed by.
const PluginName = "wasm2m"

// ServiceName and CallMethod name the gRPC service of a process plugin
// and its one method, which carries every ABI call in a CallRequest and
// CallResponse envelope.
const (
	ServiceName = "wasm2m.abi.v1.Plugin"
	CallMethod  = "/" + ServiceName + "/Call"
)

// CodecName is the gRPC content subtype of the ABI's own encoding: the
// envelopes are encoded by the generated MarshalAppend and Unmarshal of
// sdk/abi, with no protobuf runtime. go-plugin's own services (health,
// controller, stdio) keep the default protobuf codec.
const CodecName = "wasm2m"

// Handler is what a process plugin serves: Call handles method m with the
// encoded request message and returns the encoded response message, or an
// error whose status (abi.StatusOf: the CoAP code of a *model.Error, else
// 5.00) the host receives. Call is called from many goroutines at once.
// A Handler that also implements io.Closer is closed when the plugin
// stops.
type Handler interface {
	Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error)
}

// HandlerFunc is a function that is a Handler.
type HandlerFunc func(ctx context.Context, m abi.Method, req []byte) ([]byte, error)

// Call calls f.
func (f HandlerFunc) Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
	return f(ctx, m, req)
}

type wireMessage interface {
	Size() int
	MarshalAppend([]byte) []byte
	Unmarshal([]byte) error
}

// codec is the gRPC codec of CodecName.
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(wireMessage)
	if !ok {
		return nil, fmt.Errorf("wasm2m codec: cannot encode %T", v)
	}
	return m.MarshalAppend(make([]byte, 0, m.Size())), nil
}

func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(wireMessage)
	if !ok {
		return fmt.Errorf("wasm2m codec: cannot decode into %T", v)
	}
	return m.Unmarshal(data)
}

func (codec) Name() string { return CodecName }

func init() { encoding.RegisterCodec(codec{}) }

// GRPCPlugin is the go-plugin plugin of a process plugin: on the plugin's
// side it serves Impl and connects Host to the host's host calls; on the
// host's it serves HostCalls on the broker (HostBrokerID) and returns a
// *Client.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Handler   // plugin side only
	Host *HostConn // plugin side only: nil, no host calls

	// HostCalls answers the plugin's host calls (host side only): nil, a
	// plugin's host calls wait for the broker and fail with 5.03.
	HostCalls HostHandler
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the Call service.
func (p *GRPCPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&serviceDesc, &server{h: p.Impl})
	if p.Host != nil {
		p.Host.connect(broker)
	}
	return nil
}

// GRPCClient returns a *Client on conn, and serves HostCalls on broker
// until the broker closes (go-plugin closes it with the client).
func (p *GRPCPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	if p.HostCalls != nil {
		go serveHost(broker, p.HostCalls)
	}
	return &Client{Conn: conn}, nil
}

// Client is the host's end of a process plugin's connection.
type Client struct {
	Conn *grpc.ClientConn
}

// Call sends one ABI call. A status from the plugin comes back as
// abi.ErrorOf's *model.Error; a failure of the connection itself (the
// process died, the deadline passed) as gRPC's error, which the host
// turns into 5.03 or 5.04.
func (c *Client) Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
	in := abi.CallRequest{Method: int32(m), Request: req}
	var out abi.CallResponse
	if err := c.Conn.Invoke(ctx, CallMethod, &in, &out, grpc.CallContentSubtype(CodecName)); err != nil {
		return nil, err
	}
	if out.Status != 0 {
		return nil, abi.ErrorOf(out.Status, out.Error)
	}
	return out.Response, nil
}

type server struct{ h Handler }

func (s *server) call(ctx context.Context, in *abi.CallRequest) (*abi.CallResponse, error) {
	resp, err := s.h.Call(ctx, abi.Method(in.Method), in.Request)
	if err != nil {
		// The status carries the code; the text is the rest, as a Wasm
		// guest's last error is.
		return &abi.CallResponse{Status: abi.StatusOf(err), Error: messageOf(err)}, nil
	}
	// gRPC encodes the response after the handler returned, while other
	// calls run: a Handler may reuse its buffer from its next call on (a
	// Handler that reuses it across concurrent calls needs Serial).
	return &abi.CallResponse{Response: bytes.Clone(resp)}, nil
}

func callHandler(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
	in := new(abi.CallRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	s := srv.(*server)
	if icpt == nil {
		return s.call(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: CallMethod}
	return icpt(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return s.call(ctx, req.(*abi.CallRequest))
	})
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Call", Handler: callHandler}},
	Metadata:    "sdk/abi/abi.proto",
}
