package process

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// Config is how to run a process plugin.
type Config struct {
	// Path is the plugin program; Args and Env are its arguments and
	// extra environment (the host's environment is passed on too).
	Path string
	Args []string
	Env  []string
	// Checksum is the SHA-256 the program must have (go-plugin's
	// SecureConfig), checked before every start. Nil: the checksum of
	// the program at Start, so that a restart runs the same program.
	Checksum []byte
	// Logger receives the plugin's standard error, a record per line,
	// and the host's messages about the process; Start adds the
	// plugin's id. Nil: slog.Default().
	Logger *slog.Logger
	// CallTimeout bounds a call whose context has no deadline. Default
	// 10 s.
	CallTimeout time.Duration
	// StartTimeout bounds the start of the process up to its handshake.
	// Default 10 s.
	StartTimeout time.Duration
	// HealthInterval is how often the process is checked (gRPC health
	// service, with HealthTimeout). Defaults 1 s and 2 s.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// MinBackoff and MaxBackoff bound the wait before each restart of a
	// failed process, doubling from one to the other. Defaults 100 ms
	// and 10 s.
	MinBackoff, MaxBackoff time.Duration

	// Host answers the plugin's host calls (changed, kv, lwm2m.request),
	// which the process makes back over go-plugin's broker. Nil: they
	// fail with 5.01. A plugin's log lines go through Logger.
	Host Host
	// Grant is the capabilities the configuration grants: the plugin
	// gets those of its manifest that are granted, and a host call
	// without its capability fails with 4.03.
	Grant []string
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.CallTimeout, 10*time.Second)
	def(&c.StartTimeout, 10*time.Second)
	def(&c.HealthInterval, time.Second)
	def(&c.HealthTimeout, 2*time.Second)
	def(&c.MinBackoff, 100*time.Millisecond)
	def(&c.MaxBackoff, 10*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Checksum returns the SHA-256 of the file at path, as Config.Checksum
// wants it.
func Checksum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Plugin is a running process plugin, supervised: a process that exits or
// stops answering its health checks is killed and started again, after a
// back-off, and given the Start request it had. Calls in flight when it
// fails end with a 5.03 (the process failed) or a 5.04 (no answer in
// time); calls made while it restarts wait for it, within their deadline.
//
// The process's host calls (sdk/procplugin.HostConn) are answered by
// Config.Host under the manifest's id, each restarted process over its
// own broker.
//
// Call is safe for concurrent use. Close stops the process; a Plugin
// never leaves its process behind (sdk/procplugin.Serve exits when its
// parent is gone, even after SIGKILL of the host).
type Plugin struct {
	cfg      Config
	log      *slog.Logger
	plog     atomic.Pointer[slog.Logger] // log, for the process's lines
	manifest *abi.Manifest
	man      atomic.Pointer[abi.Manifest] // manifest, once host calls may use it
	granted  []string                     // set before man

	mu       sync.Mutex
	cur      *proc         // nil while restarting
	ready    chan struct{} // closed once cur is set again, or at Close
	closed   bool
	startReq []byte // the last Start that succeeded, replayed at a restart
	started  bool

	restarts atomic.Int64
	kick     chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup
}

type proc struct {
	client *plugin.Client
	conn   *procplugin.Client
	pid    int
	at     time.Time
}

// Start starts the plugin program, checks its ABI version (go-plugin's
// handshake for the major version, the manifest's abi_minor for the
// minor) and reads its manifest.
func Start(ctx context.Context, cfg Config) (*Plugin, error) {
	cfg.defaults()
	if cfg.Checksum == nil {
		sum, err := Checksum(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("process plugin %s: %w", cfg.Path, err)
		}
		cfg.Checksum = sum
	}
	p := &Plugin{
		cfg:   cfg,
		log:   cfg.Logger.With("plugin", cfg.Path),
		ready: make(chan struct{}),
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	p.plog.Store(p.log)
	pr, err := p.launch()
	if err != nil {
		return nil, err
	}
	out, err := pr.conn.Call(ctx, abi.MethodManifest, nil)
	var man abi.Manifest
	if err == nil {
		err = man.Unmarshal(out)
	}
	switch {
	case err != nil:
		err = fmt.Errorf("process plugin %s: manifest: %w", cfg.Path, err)
	case man.ID == "":
		err = fmt.Errorf("process plugin %s: manifest: no id", cfg.Path)
	case man.ABIMinor > abi.Minor:
		err = fmt.Errorf("process plugin %s: %w: built against ABI 1.%d, this host speaks 1.%d", cfg.Path, ErrVersion, man.ABIMinor, abi.Minor)
	}
	if err != nil {
		pr.client.Kill()
		return nil, err
	}
	p.manifest = &man
	p.log = cfg.Logger.With("plugin", man.ID)
	p.plog.Store(p.log)
	var refused []string
	for _, c := range man.Capabilities {
		if slices.Contains(cfg.Grant, c) {
			p.granted = append(p.granted, c)
		} else {
			refused = append(refused, c)
		}
	}
	if len(refused) > 0 {
		p.log.Warn("plugin capabilities refused: not granted by the configuration", "refused", refused, "granted", p.granted)
	}
	p.man.Store(&man)
	p.cur = pr
	close(p.ready)
	p.log.Info("process plugin started", "pid", pr.pid, "path", cfg.Path, "abi_minor", man.ABIMinor)
	p.wg.Add(1)
	go p.supervise()
	return p, nil
}

// Manifest returns the plugin's manifest, read at Start.
func (p *Plugin) Manifest() *abi.Manifest { return p.manifest }

// PID returns the process id of the running process, 0 while it restarts.
func (p *Plugin) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	return p.cur.pid
}

// Restarts returns how many times the process was started again.
func (p *Plugin) Restarts() int { return int(p.restarts.Load()) }

func (p *Plugin) launch() (*proc, error) {
	cmd := exec.Command(p.cfg.Path, p.cfg.Args...)
	cmd.Env = slices.Clone(p.cfg.Env)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  procplugin.Handshake,
		Plugins:          plugin.PluginSet{procplugin.PluginName: &procplugin.GRPCPlugin{HostCalls: hostCalls{p}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SecureConfig:     &plugin.SecureConfig{Checksum: p.cfg.Checksum, Hash: sha256.New()},
		AutoMTLS:         true,
		StartTimeout:     p.cfg.StartTimeout,
		Logger:           hclog.NewNullLogger(),
		Stderr:           &lineLogger{log: &p.plog, stream: "stderr", level: slog.LevelInfo},
		SyncStderr:       &lineLogger{log: &p.plog, stream: "stderr", level: slog.LevelInfo},
		SyncStdout:       &lineLogger{log: &p.plog, stream: "stdout", level: slog.LevelInfo},
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			err = ErrChecksum
		}
		return nil, fmt.Errorf("process plugin %s: start: %w", p.cfg.Path, err)
	}
	raw, err := rpc.Dispense(procplugin.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("process plugin %s: %w", p.cfg.Path, err)
	}
	pr := &proc{client: client, conn: raw.(*procplugin.Client), at: time.Now()}
	if rc := client.ReattachConfig(); rc != nil {
		pr.pid = rc.Pid
	}
	return pr, nil
}

// wait returns the running process, waiting for a restart within ctx.
func (p *Plugin) wait(ctx context.Context, m abi.Method) (*proc, error) {
	for {
		p.mu.Lock()
		cur, ready, closed := p.cur, p.ready, p.closed
		p.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if cur != nil {
			return cur, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", &model.Error{Code: model.ServiceUnavailable,
				Msg: fmt.Sprintf("process plugin %s: method %d: the process is restarting", p.manifest.ID, m)}, ctx.Err())
		}
	}
}

// Call sends method m with request req to the plugin process. A status of
// the plugin comes back as a *model.Error with its code; a process that
// fails during the call as a 5.03; a call without an answer by its
// deadline (or CallTimeout) as a 5.04 that also wraps the context's
// error.
func (p *Plugin) Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.CallTimeout)
		defer cancel()
	}
	cur, err := p.wait(ctx, m)
	if err != nil {
		return nil, err
	}
	out, err := cur.conn.Call(ctx, m, req)
	if err == nil {
		if m == abi.MethodStart {
			p.mu.Lock()
			p.startReq, p.started = slices.Clone(req), true
			p.mu.Unlock()
		}
		return out, nil
	}
	cerr := ctx.Err()
	if cerr == nil {
		// The plugin may answer, giving up, as the deadline it was
		// sent passes, before ctx itself says so here.
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			cerr = context.DeadlineExceeded
		}
	}
	if _, ok := status.FromError(err); !ok && cerr == nil {
		return nil, err // the plugin's status, or the codec's error
	}
	if cerr != nil || status.Code(err) == codes.DeadlineExceeded {
		p.check()
		if cerr == nil {
			cerr = context.DeadlineExceeded
		}
		code := model.GatewayTimeout
		if errors.Is(cerr, context.Canceled) {
			code = model.ServiceUnavailable
		}
		return nil, fmt.Errorf("%w: %w", &model.Error{Code: code,
			Msg: fmt.Sprintf("process plugin %s: method %d: no answer", p.manifest.ID, m)}, cerr)
	}
	p.check()
	return nil, &model.Error{Code: model.ServiceUnavailable,
		Msg: fmt.Sprintf("process plugin %s: method %d: the process failed: %v", p.manifest.ID, m, status.Convert(err).Message())}
}

// check asks the supervisor to check the process now.
func (p *Plugin) check() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *Plugin) healthy(pr *proc) bool {
	if pr.client.Exited() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.HealthTimeout)
	defer cancel()
	resp, err := grpc_health_v1.NewHealthClient(pr.conn.Conn).Check(ctx,
		&grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	return err == nil && resp.GetStatus() == grpc_health_v1.HealthCheckResponse_SERVING
}

func (p *Plugin) supervise() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.HealthInterval)
	defer t.Stop()
	backoff := p.cfg.MinBackoff
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		case <-p.kick:
		}
		p.mu.Lock()
		cur := p.cur
		p.mu.Unlock()
		if cur == nil || p.healthy(cur) {
			continue
		}
		why := "health check failed"
		if cur.client.Exited() {
			why = "process exited"
		}
		p.log.Warn("process plugin failed: restarting", "pid", cur.pid, "why", why)
		p.mu.Lock()
		p.cur = nil
		p.ready = make(chan struct{})
		p.mu.Unlock()
		// SIGKILL first: a hung process would not answer go-plugin's
		// graceful shutdown.
		if cur.pid > 0 {
			if proc, err := os.FindProcess(cur.pid); err == nil {
				_ = proc.Kill() // SIGKILL on Unix, TerminateProcess on Windows
			}
		}
		cur.client.Kill()
		if time.Since(cur.at) > time.Minute {
			backoff = p.cfg.MinBackoff
		}
		for {
			select {
			case <-p.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, p.cfg.MaxBackoff)
			pr, err := p.relaunch()
			if err != nil {
				p.log.Error("process plugin restart failed", "err", err, "retry_in", backoff)
				continue
			}
			p.restarts.Add(1)
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				pr.client.Kill()
				return
			}
			p.cur = pr
			close(p.ready)
			p.mu.Unlock()
			p.log.Info("process plugin restarted", "pid", pr.pid, "restarts", p.restarts.Load())
			break
		}
	}
}

// relaunch starts the process again and gives it the Start it had.
func (p *Plugin) relaunch() (*proc, error) {
	pr, err := p.launch()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	req, started := p.startReq, p.started
	p.mu.Unlock()
	if started {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.CallTimeout)
		defer cancel()
		if _, err := pr.conn.Call(ctx, abi.MethodStart, req); err != nil {
			pr.client.Kill()
			return nil, fmt.Errorf("start: %w", err)
		}
	}
	return pr, nil
}

// Close stops the process (go-plugin's graceful shutdown, then a kill
// after 2 s) and ends calls waiting for a restart with ErrClosed. Calls in
// progress fail. Close after Close returns nil.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	cur := p.cur
	p.cur = nil
	select {
	case <-p.ready:
	default:
		close(p.ready)
	}
	p.mu.Unlock()
	p.wg.Wait()
	if cur != nil {
		cur.client.Kill()
	}
	return nil
}
