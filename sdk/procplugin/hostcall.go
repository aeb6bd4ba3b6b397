package procplugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// Host calls (abi.HostMethod) go the other way, from the plugin to the
// host: the host serves HostServiceName on go-plugin's GRPCBroker, under
// HostBrokerID, and the plugin dials it as soon as it serves. HostCallMethod
// carries a host call in the CallRequest and CallResponse envelope (the
// request's method is the abi.HostMethod); HostLogMethod carries the log
// import, the request's method being the slog.Level and its request the
// UTF-8 message. Both use the codec of CodecName.
const (
	HostServiceName = "wasm2m.abi.v1.Host"
	HostCallMethod  = "/" + HostServiceName + "/Call"
	HostLogMethod   = "/" + HostServiceName + "/Log"
)

// HostBrokerID is the GRPCBroker id under which the host serves host
// calls: one per plugin process, known to both sides, so that no call has
// to carry it.
const HostBrokerID uint32 = 1

// dialTimeout bounds how long a plugin waits for its host's host-call
// service (go-plugin's broker gives up after 5 s too).
const dialTimeout = 5 * time.Second

// HostHandler answers the host calls of one plugin process, on the
// host's side: HostCall gates m by the plugin's capabilities (4.03 if not
// granted) and answers it; HostLog logs msg with the plugin's id. Both are
// called from many goroutines at once.
type HostHandler interface {
	HostCall(ctx context.Context, m abi.HostMethod, req []byte) ([]byte, error)
	HostLog(ctx context.Context, level slog.Level, msg string)
}

// serveHost serves h on broker under HostBrokerID until the broker
// closes (the plugin's client is killed or closed).
func serveHost(broker *plugin.GRPCBroker, h HostHandler) {
	broker.AcceptAndServe(HostBrokerID, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		s.RegisterService(&hostServiceDesc, &hostServer{h: h})
		return s
	})
}

type hostServer struct{ h HostHandler }

func hostCallHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	in := new(abi.CallRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	resp, err := srv.(*hostServer).h.HostCall(ctx, abi.HostMethod(in.Method), in.Request)
	if err != nil {
		return &abi.CallResponse{Status: abi.StatusOf(err), Error: messageOf(err)}, nil
	}
	return &abi.CallResponse{Response: resp}, nil
}

func hostLogHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	in := new(abi.CallRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	srv.(*hostServer).h.HostLog(ctx, slog.Level(in.Method), string(in.Request))
	return &abi.CallResponse{}, nil
}

var hostServiceDesc = grpc.ServiceDesc{
	ServiceName: HostServiceName,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Call", Handler: hostCallHandler},
		{MethodName: "Log", Handler: hostLogHandler},
	},
	Metadata: "sdk/abi/abi.proto",
}

// HostConn is a plugin process's connection to its host: the guest.Host
// of an sdk/guest plugin served as a process, so that its host functions
// (log, changed, kv, LwM2M requests) reach the host as they do from Wasm,
// gated by the same capabilities.
//
//	d := guest.NewDispatcher(plugin, procplugin.Host())
//	procplugin.Serve(procplugin.Serial(d))
//
// It connects when the plugin is served; a call before waits for the
// connection, within its ctx. A call once the host is gone fails with a
// 5.03 (a 5.04 past its deadline); Log then writes to standard error,
// which is where a plugin's lines go without a host. HostConn is safe for
// concurrent use.
type HostConn struct {
	once  sync.Once
	ready chan struct{} // closed once conn or err is set
	conn  *grpc.ClientConn
	err   error
}

var _ guest.Host = (*HostConn)(nil)

// NewHostConn returns a HostConn that GRPCPlugin connects (its Host
// field). Most plugins use Host instead.
func NewHostConn() *HostConn { return &HostConn{ready: make(chan struct{})} }

var processHost = NewHostConn()

// Host returns the connection of this process to its host, which Serve
// connects.
func Host() *HostConn { return processHost }

// connect dials the host's host-call service through broker; only the
// first connect counts.
func (c *HostConn) connect(broker *plugin.GRPCBroker) {
	c.once.Do(func() {
		go func() {
			conn, err := broker.DialWithOptions(HostBrokerID, grpc.WithDefaultCallOptions(grpc.CallContentSubtype(CodecName)))
			if err != nil {
				err = fmt.Errorf("connect to the host: %w", err)
			}
			c.conn, c.err = conn, err
			close(c.ready)
		}()
	})
}

// Close closes the connection. Calls after fail with a 5.03.
func (c *HostConn) Close() error {
	c.once.Do(func() {
		c.err = errors.New("no host")
		close(c.ready)
	})
	<-c.ready
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}

func (c *HostConn) wait(ctx context.Context) (*grpc.ClientConn, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, hostErr(ctx, ctx.Err())
	}
	if c.err != nil {
		return nil, &model.Error{Code: model.ServiceUnavailable, Msg: "host call: " + c.err.Error()}
	}
	return c.conn, nil
}

// hostErr is the error of a host call that got no answer from the host.
func hostErr(ctx context.Context, err error) error {
	code := model.ServiceUnavailable
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded {
		code = model.GatewayTimeout
	}
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Message()
	}
	return &model.Error{Code: code, Msg: "host call: no answer from the host: " + msg}
}

// Call makes host call m with the encoded request message and returns the
// encoded response message, or an error with the host's status: 4.03 for a
// method whose capability the plugin was not granted.
func (c *HostConn) Call(ctx context.Context, m abi.HostMethod, req []byte) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	conn, err := c.wait(ctx)
	if err != nil {
		return nil, err
	}
	in := abi.CallRequest{Method: int32(m), Request: req}
	var out abi.CallResponse
	if err := conn.Invoke(ctx, HostCallMethod, &in, &out); err != nil {
		return nil, hostErr(ctx, err)
	}
	if out.Status != 0 {
		return nil, abi.ErrorOf(out.Status, out.Error)
	}
	return out.Response, nil
}

// logTimeout bounds the delivery of a log line.
const logTimeout = 5 * time.Second

// Log logs msg through the host's logger, tagged with the plugin's id;
// without a host, on standard error.
func (c *HostConn) Log(level guest.Level, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), logTimeout)
	defer cancel()
	conn, err := c.wait(ctx)
	if err == nil {
		in := abi.CallRequest{Method: int32(level), Request: []byte(msg)}
		err = conn.Invoke(ctx, HostLogMethod, &in, new(abi.CallResponse))
	}
	if err != nil {
		Logger().Log(ctx, slog.Level(level), msg)
	}
}

// messageOf is the text of a host call's error without the code the
// status already carries ("no key" for "4.04 Not Found: no key"), as the
// Wasm host gives it to a guest.
func messageOf(err error) string {
	var e *model.Error
	s := err.Error()
	if !errors.As(err, &e) {
		return s
	}
	prefix := e.Code.String()
	if t := e.Code.Text(); t != "" {
		prefix += " " + t
	}
	if s == prefix {
		return ""
	}
	if rest, ok := strings.CutPrefix(s, prefix+": "); ok {
		return rest
	}
	return s
}
