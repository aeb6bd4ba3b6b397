package redis

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// ID is the plugin's id.
const ID = "storage.redis"

// Config is the plugin's configuration, the JSON of its Start request:
//
//	{"addr": "127.0.0.1:6379", "prefix": "wasm2m:", "db": 0}
type Config struct {
	Addr     string `json:"addr"`     // host:port; default 127.0.0.1:6379
	Username string `json:"username"` // ACL user, if any
	Password string `json:"password"`
	DB       int    `json:"db"`
	Prefix   string `json:"prefix"`    // of every key; default "wasm2m:"
	PoolSize int    `json:"pool_size"` // connections; default go-redis's (10 per CPU)
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	if c.Prefix == "" {
		c.Prefix = "wasm2m:"
	}
}

const configSchema = `{"type":"object","properties":{` +
	`"addr":{"type":"string"},"username":{"type":"string"},"password":{"type":"string"},` +
	`"db":{"type":"integer","minimum":0},"prefix":{"type":"string"},"pool_size":{"type":"integer","minimum":0}},` +
	`"additionalProperties":false}`

// Manifest is the plugin's manifest.
var Manifest = &abi.Manifest{
	ID:           ID,
	Kind:         string(abi.KindStorage),
	ABIMinor:     abi.Minor,
	Name:         "Redis storage",
	Version:      "1.0.0",
	Description:  "registrations, observations and plugin state in Redis, shared by every server on the same Redis and prefix",
	ConfigSchema: configSchema,
}

// Plugin is the process plugin's Handler: Start (its config: Config)
// connects and checks the layout; the storage methods wait for it (5.03
// before Start); Stop and Close disconnect.
type Plugin struct {
	mu sync.RWMutex
	s  *Storage
	h  procplugin.Handler
}

// NewPlugin returns the plugin, not started.
func NewPlugin() *Plugin { return &Plugin{} }

var manifestBytes = Manifest.MarshalAppend(nil)

// Call implements procplugin.Handler.
func (p *Plugin) Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
	switch m {
	case abi.MethodManifest:
		return manifestBytes, nil
	case abi.MethodStart:
		return nil, p.start(ctx, req)
	case abi.MethodStop:
		return nil, p.Close()
	}
	p.mu.RLock()
	h := p.h
	p.mu.RUnlock()
	if h == nil {
		return nil, model.Errorf(model.ServiceUnavailable, "%s: not started", ID)
	}
	return h.Call(ctx, m, req)
}

func (p *Plugin) start(ctx context.Context, b []byte) error {
	var sr abi.StartRequest
	if err := sr.Unmarshal(b); err != nil {
		return model.Errorf(model.BadRequest, "%s: start: %v", ID, err)
	}
	var cfg Config
	if len(sr.Config) > 0 {
		if err := json.Unmarshal(sr.Config, &cfg); err != nil {
			return model.Errorf(model.BadRequest, "%s: config: %v", ID, err)
		}
	}
	s, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	p.mu.Lock()
	old := p.s
	p.s, p.h = s, procplugin.StorageHandler(Manifest, s)
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Close disconnects from Redis.
func (p *Plugin) Close() error {
	p.mu.Lock()
	s := p.s
	p.s, p.h = nil, nil
	p.mu.Unlock()
	if s != nil {
		return s.Close()
	}
	return nil
}
