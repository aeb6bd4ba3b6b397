package cli

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/host/wasm"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

// runPlugin is `wasm2m plugin build|inspect`.
func runPlugin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: wasm2m plugin build <dir> [-o out.wasm] | inspect <file.wasm>", errUsage)
	}
	switch args[0] {
	case "build":
		return runPluginBuild(ctx, args[1:], stdout, stderr)
	case "inspect":
		return runPluginInspect(ctx, args[1:], stdout, stderr)
	case "serve": // hidden: what the server starts for a compiled-in process plugin (storage.go)
		return runPluginServe(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown plugin command %q: want build or inspect", errUsage, args[0])
}

// positional parses args, whose first element may be the one positional
// argument before or after the flags.
func positional(fs *flag.FlagSet, args []string, what string) (string, error) {
	var pos string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", fmt.Errorf("%w: %v", errUsage, err)
	}
	rest := fs.Args()
	if pos == "" && len(rest) > 0 {
		pos, rest = rest[0], rest[1:]
	}
	if pos == "" || len(rest) > 0 {
		return "", fmt.Errorf("%w: want exactly one %s", errUsage, what)
	}
	return pos, nil
}

func runPluginBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plugin build", stderr)
	out := fs.String("o", "", "copy the built module to this file")
	cache := fs.String("cache", "", "build cache folder (default: wasm2m/plugins under the user cache folder)")
	dir, err := positional(fs, args, "plugin folder")
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := adapter.Build(ctx, adapter.BuildConfig{Dir: dir, CacheDir: *cache, Stderr: stderr})
	if err != nil {
		return err
	}
	path := res.Path
	if *out != "" {
		b, err := os.ReadFile(res.Path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
		path = *out
	}
	how := "built"
	if res.Cached {
		how = "cached"
	}
	fmt.Fprintf(stdout, "%s (%s %s in %s)\n", path, how, res.Hash, time.Since(start).Round(time.Millisecond))
	return nil
}

func runPluginInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plugin inspect", stderr)
	config := fs.String("config", "", "the plugin's configuration for the conformance run: JSON or @file.json")
	noCheck := fs.Bool("no-check", false, "skip the conformance kit")
	file, err := positional(fs, args, ".wasm file")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	imports, exports, err := wasmSections(b)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	var cfg []byte
	if *config != "" {
		cfg = []byte(*config)
		if name, ok := strings.CutPrefix(*config, "@"); ok {
			if cfg, err = os.ReadFile(name); err != nil {
				return err
			}
		}
	}
	// The plugin runs in a sandbox of its own: every capability it asks
	// for, a memory key-value space, no server.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := adapter.NewHost(adapter.HostConfig{KV: store.NewMemory(), Logger: log})
	rt, err := wasm.NewRuntime(wasm.Config{CacheDir: defaultCompileCache(), Logger: log, Host: h})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	all := []string{abi.CapChanged, abi.CapKV, abi.CapRequest, abi.CapClock, abi.CapRandom}
	p, err := adapter.Load(ctx, rt, adapter.PluginConfig{Path: file, Grant: all, Config: cfg, MaxInstances: 1}, log)
	if err != nil {
		return err
	}
	m := p.Manifest
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s (%d bytes)\n", file, len(b))
	fmt.Fprintf(tw, "id\t%s\n", m.ID)
	fmt.Fprintf(tw, "kind\t%s\n", m.Kind)
	fmt.Fprintf(tw, "name\t%s\n", m.Name)
	fmt.Fprintf(tw, "version\t%s\n", m.Version)
	if m.Description != "" {
		fmt.Fprintf(tw, "description\t%s\n", m.Description)
	}
	fmt.Fprintf(tw, "abi\t%d.%d (this host: %d.%d)\n", abi.Major, m.ABIMinor, abi.Major, abi.Minor)
	fmt.Fprintf(tw, "capabilities\t%s\n", cmp(strings.Join(m.Capabilities, ", "), "none"))
	fmt.Fprintf(tw, "config schema\t%s\n", cmp(m.ConfigSchema, "none"))
	fmt.Fprintf(tw, "exports\t%s\n", strings.Join(exports, ", "))
	fmt.Fprintf(tw, "imports\t%s\n", strings.Join(imports, ", "))
	tw.Flush()
	if p.Kind() == abi.KindObject {
		defs, err := adapter.Definitions(ctx, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "objects (%d):\n", len(defs))
		if err := printObjects(stdout, defs, true); err != nil {
			return err
		}
	}
	if *noCheck {
		return nil
	}
	results := plugintest.Check(ctx, p)
	failed := 0
	fmt.Fprintln(stdout, "conformance:")
	for _, r := range results {
		switch {
		case len(r.Failures) > 0:
			failed++
			fmt.Fprintf(stdout, "  FAIL  %s\n", r.Name)
			for _, f := range r.Failures {
				fmt.Fprintf(stdout, "        %s\n", f)
			}
		case r.Skipped != "":
			fmt.Fprintf(stdout, "  skip  %s: %s\n", r.Name, r.Skipped)
		default:
			fmt.Fprintf(stdout, "  ok    %s\n", r.Name)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d of %d conformance checks failed", filepath.Base(file), failed, len(results))
	}
	fmt.Fprintf(stdout, "%d checks passed\n", len(results))
	return nil
}

// wasmSections lists the imports (module.name) and exports of a Wasm
// binary module, reading its import (2) and export (7) sections only.
func wasmSections(b []byte) (imports, exports []string, err error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, nil, errors.New("not a WebAssembly binary module")
	}
	r := &wasmReader{b: b[8:]}
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		size := r.u32()
		body := r.bytes(size)
		if r.err != nil {
			break
		}
		s := &wasmReader{b: body}
		switch id {
		case 2:
			for range s.u32() {
				mod, name := s.name(), s.name()
				kind := s.byte()
				switch kind {
				case 0: // function: type index
					s.u32()
				case 1: // table: reftype, limits
					s.byte()
					s.limits()
				case 2: // memory: limits
					s.limits()
				case 3: // global: valtype, mutability
					s.byte()
					s.byte()
				default:
					s.err = fmt.Errorf("import kind %d", kind)
				}
				imports = append(imports, mod+"."+name+kindSuffix(kind))
			}
		case 7:
			for range s.u32() {
				name := s.name()
				kind := s.byte()
				s.u32()
				exports = append(exports, name+kindSuffix(kind))
			}
		}
		if s.err != nil {
			return nil, nil, fmt.Errorf("section %d: %w", id, s.err)
		}
	}
	return imports, exports, r.err
}

func kindSuffix(k byte) string {
	switch k {
	case 1:
		return " (table)"
	case 2:
		return " (memory)"
	case 3:
		return " (global)"
	}
	return ""
}

type wasmReader struct {
	b   []byte
	err error
}

func (r *wasmReader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated module")
	}
	r.b = nil
}

func (r *wasmReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wasmReader) u32() uint32 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > 1<<32-1 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

func (r *wasmReader) bytes(n uint32) []byte {
	if uint64(n) > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *wasmReader) name() string { return string(r.bytes(r.u32())) }

func (r *wasmReader) limits() {
	if r.byte()&1 != 0 {
		r.u32()
	}
	r.u32()
}
