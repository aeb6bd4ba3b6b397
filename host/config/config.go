// Package config is the configuration file of the wasm2m host: one JSON
// document, read with the standard library, whose sections belong to the
// parts of the host (the HTTP API, the Wasm plugins, the store).
// Command-line flags override what the file says.
//
// A section is a struct with JSON tags; a new section is a new field of
// Config and keeps its zero value meaningful, so that an older file stays
// valid. Unknown fields are refused, so that a misspelt key is an error
// rather than a silent default.
//
// config imports the standard library only.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the whole configuration file.
type Config struct {
	// HTTP configures the HTTP API of `wasm2m server`.
	HTTP HTTP `json:"http"`
	// Plugins are the Wasm plugins `wasm2m client` and `wasm2m server`
	// load, in order, before those of -plugin flags.
	Plugins []Plugin `json:"plugins,omitempty"`
	// Store is the storage backend of `wasm2m server` (store.go).
	Store Store `json:"store"`
	// Security is DTLS of `wasm2m server` (security.go).
	Security Security `json:"security"`
	// Client is the factory configuration of `wasm2m client` (client.go).
	Client Client `json:"client"`
	// Bootstrap is `wasm2m bootstrap`'s address and per-device
	// configurations (bootstrap.go).
	Bootstrap Bootstrap `json:"bootstrap"`
}

// Plugin is one Wasm plugin to load (host/adapter.PluginConfig).
type Plugin struct {
	// Path is the .wasm file; a relative path is relative to the folder
	// of the configuration file.
	Path string `json:"path"`
	// Grant is the capabilities granted to the plugin ("changed", "kv",
	// "lwm2m.request", "clock", "random"): it gets those its manifest
	// asks for and that are granted here or by a -grant flag.
	Grant []string `json:"grant,omitempty"`
	// Config is the plugin's configuration, a JSON object passed to it at
	// start (a -plugin-config flag for its id wins over it).
	Config json.RawMessage `json:"config,omitempty"`
	// Timeout is the deadline of each call into the plugin, such as
	// "100ms", for a plugin not trusted to return; it costs microseconds
	// per call. Default: -plugin-timeout (none).
	Timeout Duration `json:"timeout,omitempty"`
	// MaxInstances bounds the plugin's pool of instances, and so the
	// calls it runs at once. Default (0): the number of CPUs
	// (GOMAXPROCS).
	MaxInstances int `json:"max_instances,omitempty"`
	// MemoryPages bounds each instance's memory, in 64 KiB pages.
	// Default (0): 1024 (64 MiB); at most 65536.
	MemoryPages uint32 `json:"memory_pages,omitempty"`
	// Watch reloads the plugin when its file changes (as -plugin-watch).
	Watch bool `json:"watch,omitempty"`
}

// HTTP configures the HTTP API.
type HTTP struct {
	// Addr is the TCP address to listen on; "" means the default
	// (":8080"), "off" turns the API off.
	Addr string `json:"addr,omitempty"`
	// Tokens are the bearer tokens the API accepts. A token of the form
	// "file:PATH" is read from that file (its first line), so that the
	// configuration can be shared without the secret.
	Tokens []string `json:"tokens,omitempty"`
	// AuthDisabled turns authentication off. It must be set explicitly:
	// an API with no token and no AuthDisabled is not served open (the
	// command generates a token instead).
	AuthDisabled bool `json:"auth_disabled,omitempty"`
	// RequestTimeout is the default time a request to a device may take
	// when the caller gives no timeout parameter, such as "5s". Default
	// 5 s, as Leshan's demo server.
	RequestTimeout Duration `json:"request_timeout,omitempty"`
	// EventBuffer is how many events may wait for one event stream
	// subscriber before further ones are dropped (and counted). Default 256.
	EventBuffer int `json:"event_buffer,omitempty"`
	// MaxDelayed bounds the requests waiting for one sleeping device.
	// Default 32.
	MaxDelayed int `json:"max_delayed,omitempty"`
}

// Duration is a time.Duration written as a string in JSON ("5s", "1m30s").
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "5s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q: negative", s)
	}
	*d = Duration(v)
	return nil
}

// ErrInvalid is wrapped by every error about the content of a
// configuration.
var ErrInvalid = errors.New("invalid configuration")

// Load reads the configuration file at path. An empty path gives the zero
// Config.
func Load(path string) (*Config, error) {
	if path == "" {
		return &Config{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	for i := range c.Plugins {
		if p := &c.Plugins[i]; !filepath.IsAbs(p.Path) {
			p.Path = filepath.Join(filepath.Dir(path), p.Path)
		}
	}
	c.Store.resolve(filepath.Dir(path))
	c.Security.resolve(filepath.Dir(path))
	c.Client.resolve(filepath.Dir(path))
	c.Bootstrap.resolve(filepath.Dir(path))
	return c, nil
}

// Parse reads a configuration from r and checks it.
func Parse(r io.Reader) (*Config, error) {
	var c Config
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrInvalid)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the values of c.
func (c *Config) Validate() error {
	h := &c.HTTP
	if h.EventBuffer < 0 || h.MaxDelayed < 0 {
		return fmt.Errorf("%w: http: event_buffer and max_delayed must not be negative", ErrInvalid)
	}
	for i, t := range h.Tokens {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("%w: http: token %d is empty", ErrInvalid, i)
		}
	}
	if h.AuthDisabled && len(h.Tokens) > 0 {
		return fmt.Errorf("%w: http: tokens given and auth_disabled set: choose one", ErrInvalid)
	}
	for i := range c.Plugins {
		if err := c.Plugins[i].validate(); err != nil {
			return fmt.Errorf("%w: plugins[%d]: %v", ErrInvalid, i, err)
		}
	}
	if err := c.Store.validate(); err != nil {
		return err
	}
	if err := c.Security.validate(); err != nil {
		return err
	}
	if err := c.Client.validate(); err != nil {
		return err
	}
	if err := c.Bootstrap.validate(); err != nil {
		return err
	}
	return nil
}

// maxMemoryPages is the most pages a 32-bit Wasm memory has (4 GiB).
const maxMemoryPages = 1 << 16

func (p *Plugin) validate() error {
	if strings.TrimSpace(p.Path) == "" {
		return errors.New("no path")
	}
	for _, g := range p.Grant {
		if strings.TrimSpace(g) == "" || strings.ContainsAny(g, ",=") {
			return fmt.Errorf("grant %q: want one capability name per string", g)
		}
	}
	if string(bytes.TrimSpace(p.Config)) == "null" {
		p.Config = nil // as if absent
	}
	if len(p.Config) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p.Config, &obj); err != nil || obj == nil {
			return fmt.Errorf("config: want a JSON object, got %s", p.Config)
		}
	}
	if p.MaxInstances < 0 {
		return fmt.Errorf("max_instances %d: negative", p.MaxInstances)
	}
	if p.MemoryPages > maxMemoryPages {
		return fmt.Errorf("memory_pages %d: more than %d (4 GiB)", p.MemoryPages, maxMemoryPages)
	}
	return nil
}

// ResolveTokens returns the tokens of h with every "file:PATH" replaced by
// the first line of that file.
func (h *HTTP) ResolveTokens() ([]string, error) {
	out := make([]string, 0, len(h.Tokens))
	for _, t := range h.Tokens {
		if p, ok := strings.CutPrefix(t, "file:"); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("config: http token: %w", err)
			}
			line, _, _ := strings.Cut(string(b), "\n")
			line = strings.TrimSpace(line)
			if line == "" {
				return nil, fmt.Errorf("%w: http: token file %s is empty", ErrInvalid, p)
			}
			t = line
		}
		out = append(out, t)
	}
	return out, nil
}
