package process

import (
	"context"
	"fmt"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// StartStorage reads c's manifest, checks that it is a storage plugin and
// starts it with config (JSON, as its manifest's config_schema says; nil
// for none).
func StartStorage(ctx context.Context, c Caller, config []byte) (*abi.Manifest, error) {
	out, err := c.Call(ctx, abi.MethodManifest, nil)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m abi.Manifest
	if err := m.Unmarshal(out); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if abi.Kind(m.Kind) != abi.KindStorage {
		return nil, fmt.Errorf("plugin %s is a %q plugin, not a storage plugin", m.ID, m.Kind)
	}
	req := abi.StartRequest{Config: config}
	if _, err := c.Call(ctx, abi.MethodStart, req.MarshalAppend(nil)); err != nil {
		return nil, fmt.Errorf("start %s: %w", m.ID, err)
	}
	return &m, nil
}

// OpenStore starts the storage plugin program cfg describes, starts it
// with config and returns it as a core/store.Store (and store.KV): what a
// server's configuration that names a storage plugin needs. Closing the
// Store stops the process. A restarted process is given config again.
func OpenStore(ctx context.Context, cfg Config, config []byte) (*Store, error) {
	p, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := StartStorage(ctx, p, config); err != nil {
		p.Close()
		return nil, err
	}
	return NewStore(p), nil
}
