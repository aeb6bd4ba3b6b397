package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// Store names the storage backend of `wasm2m server` and its settings:
//
//	"store": {"backend": "redis", "redis": {"addr": "127.0.0.1:6379"}}
//
// The zero Store is the default: the embedded file store in the data
// folder. The -store flag, when given, wins over Backend.
type Store struct {
	// Backend is "file" (the default: durable, a log in Path), "memory"
	// (lost at exit), "redis" (storage.redis, a process plugin served by
	// the wasm2m binary itself) or "plugin" (any storage plugin program,
	// Plugin).
	Backend string `json:"backend,omitempty"`
	// Path is the file store's log; a relative path is relative to the
	// folder of the configuration file. Default: registrations.log in
	// the data folder (-data).
	Path string `json:"path,omitempty"`
	// Redis is storage.redis's configuration, passed to it as it is:
	// {"addr", "prefix", "db", "username", "password", "pool_size"}
	// (plugins/storage/redis/README.md).
	Redis json.RawMessage `json:"redis,omitempty"`
	// Plugin is the storage plugin program of the backend "plugin".
	Plugin *StorePlugin `json:"plugin,omitempty"`
}

// StorePlugin is a storage plugin run as a process (host/process).
type StorePlugin struct {
	// Path is the program; a relative path is relative to the folder of
	// the configuration file.
	Path string `json:"path"`
	// Checksum is the SHA-256 the program must have, in hex; without it,
	// the sum of the program when the server starts is pinned (a binary
	// replaced on disk is then refused at a restart of the process).
	Checksum string `json:"checksum,omitempty"`
	// Config is the plugin's configuration, a JSON object sent in its
	// Start request.
	Config json.RawMessage `json:"config,omitempty"`
}

// Backends of Store.
const (
	BackendFile   = "file"
	BackendMemory = "memory"
	BackendRedis  = "redis"
	BackendPlugin = "plugin"
)

// ChecksumBytes returns p's checksum decoded, nil when none is given.
func (p *StorePlugin) ChecksumBytes() ([]byte, error) {
	if p.Checksum == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(p.Checksum)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: store: plugin: checksum %q: want 64 hex digits (SHA-256)", ErrInvalid, p.Checksum)
	}
	return b, nil
}

// CheckBackend checks the name of a backend, as -store gives it.
func CheckBackend(name string) error {
	switch name {
	case BackendFile, BackendMemory, BackendRedis, BackendPlugin:
		return nil
	}
	return fmt.Errorf("%w: store: backend %q: want file, memory, redis or plugin", ErrInvalid, name)
}

func (s *Store) validate() error {
	if s.Backend != "" {
		if err := CheckBackend(s.Backend); err != nil {
			return err
		}
	}
	if err := jsonObject("store: redis", &s.Redis); err != nil {
		return err
	}
	if p := s.Plugin; p != nil {
		if strings.TrimSpace(p.Path) == "" {
			return fmt.Errorf("%w: store: plugin: no path", ErrInvalid)
		}
		if _, err := p.ChecksumBytes(); err != nil {
			return err
		}
		if err := jsonObject("store: plugin: config", &p.Config); err != nil {
			return err
		}
	}
	if s.Backend == BackendPlugin && s.Plugin == nil {
		return fmt.Errorf("%w: store: backend plugin without a plugin section", ErrInvalid)
	}
	return nil
}

// jsonObject checks that *raw is absent or a JSON object; a null becomes
// absent.
func jsonObject(what string, raw *json.RawMessage) error {
	if string(bytes.TrimSpace(*raw)) == "null" {
		*raw = nil
	}
	if len(*raw) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(*raw, &obj); err != nil || obj == nil {
		return fmt.Errorf("%w: %s: want a JSON object, got %s", ErrInvalid, what, *raw)
	}
	return nil
}

// resolve makes the paths of s relative to dir, the configuration file's
// folder.
func (s *Store) resolve(dir string) {
	if s.Path != "" && !filepath.IsAbs(s.Path) {
		s.Path = filepath.Join(dir, s.Path)
	}
	if p := s.Plugin; p != nil && !filepath.IsAbs(p.Path) {
		p.Path = filepath.Join(dir, p.Path)
	}
}
