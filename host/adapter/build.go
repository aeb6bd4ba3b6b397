package adapter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// BuildConfig is a build of a Go plugin from source.
type BuildConfig struct {
	// Dir is the plugin's main package.
	Dir string
	// CacheDir holds built modules by content hash. Default: wasm2m/plugins
	// under the user's cache folder (os.UserCacheDir).
	CacheDir string
	// Go is the go command. Default: "go" from PATH.
	Go string
	// Stderr receives the compiler's output. Nil: it is part of the error.
	Stderr io.Writer
}

// BuildResult says where a build put the module.
type BuildResult struct {
	Path   string // the .wasm in the cache
	Hash   string // the content hash it is named after
	Cached bool   // found in the cache, not built
}

// buildFlags are the flags of every plugin build (GOOS=wasip1
// GOARCH=wasm): a reactor module with the exports of sdk/guest.
var buildFlags = []string{"-buildmode=c-shared", "-trimpath"}

// Build builds the Go plugin in cfg.Dir for GOOS=wasip1 GOARCH=wasm with
// -buildmode=c-shared, unless the cache holds a module built from the same
// content: the hash covers the Go version, the build flags, every file of
// every package of the plugin's own module that it imports (as `go list
// -deps` lists them for wasip1), the versions of the other modules, and
// the module's go.mod and go.sum.
func Build(ctx context.Context, cfg BuildConfig) (*BuildResult, error) {
	if cfg.Go == "" {
		cfg.Go = "go"
	}
	if cfg.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("build %s: no cache folder: %w", cfg.Dir, err)
		}
		cfg.CacheDir = filepath.Join(dir, "wasm2m", "plugins")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	hash, err := sourceHash(ctx, cfg.Go, dir)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", cfg.Dir, err)
	}
	out := filepath.Join(cfg.CacheDir, hash+".wasm")
	if _, err := os.Stat(out); err == nil {
		return &BuildResult{Path: out, Hash: hash, Cached: true}, nil
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(cfg.CacheDir, hash+".*.tmp")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", tmp.Name(), ".")
	cmd := exec.CommandContext(ctx, cfg.Go, args...)
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if cfg.Stderr != nil {
		cmd.Stdout, cmd.Stderr = cfg.Stderr, cfg.Stderr
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build %s: go build: %w\n%s", cfg.Dir, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, err
	}
	return &BuildResult{Path: out, Hash: hash}, nil
}

func wasmEnv() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
}

// listed is what sourceHash reads of `go list -deps -json`.
type listed struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	EmbedFiles []string
	OtherFiles []string
	Module     *struct {
		Path    string
		Version string
		Main    bool
		GoMod   string
		Replace *struct{ Path, Version, Dir string }
	}
	DepsErrors []*struct{ Err string }
	Error      *struct{ Err string }
}

// sourceHash is the content hash of the plugin in dir: see Build.
func sourceHash(ctx context.Context, goCmd, dir string) (string, error) {
	ver := exec.CommandContext(ctx, goCmd, "env", "GOVERSION")
	ver.Dir = dir
	v, err := ver.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	list := exec.CommandContext(ctx, goCmd, "list", "-deps", "-json", ".")
	list.Dir = dir
	list.Env = wasmEnv()
	var stderr bytes.Buffer
	list.Stderr = &stderr
	b, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	h := sha256.New()
	fmt.Fprintf(h, "wasm2m plugin build 1\ngo %s\nflags %q\n", strings.TrimSpace(string(v)), buildFlags)
	mods := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("go list: %w", err)
		}
		if p.Error != nil {
			return "", fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Standard {
			continue
		}
		if p.Module == nil || p.Module.Main || (p.Module.Replace != nil && p.Module.Replace.Dir != "") {
			files := slices.Concat(p.GoFiles, p.EmbedFiles, p.OtherFiles)
			slices.Sort(files)
			fmt.Fprintf(h, "package %s\n", p.ImportPath)
			for _, f := range files {
				c, err := os.ReadFile(filepath.Join(p.Dir, f))
				if err != nil {
					return "", err
				}
				sum := sha256.Sum256(c)
				fmt.Fprintf(h, "file %s %x\n", f, sum)
			}
		}
		if p.Module != nil && !mods[p.Module.Path] {
			mods[p.Module.Path] = true
			fmt.Fprintf(h, "module %s %s\n", p.Module.Path, p.Module.Version)
			if p.Module.Main && p.Module.GoMod != "" {
				for _, f := range []string{p.Module.GoMod, strings.TrimSuffix(p.Module.GoMod, ".mod") + ".sum"} {
					c, err := os.ReadFile(f)
					if err != nil && !errors.Is(err, os.ErrNotExist) {
						return "", err
					}
					sum := sha256.Sum256(c)
					fmt.Fprintf(h, "file %s %x\n", filepath.Base(f), sum)
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}
