package wasm

import (
	"fmt"
	"os"
	"time"
)

// Watch polls the file at path every interval (default 1 s) until the
// plugin closes, and reloads the plugin when the file changed: a new
// modification time or size, then a new SHA-256 of the contents, so that
// a touch alone reloads nothing. A file that cannot be read or a module
// that Reload refuses is logged and the old module keeps serving; the
// same contents are not tried again, the next change is. The watcher is
// a goroutine owned by the plugin: Close stops it and waits for it.
func (p *Plugin) Watch(path string, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Second
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("plugin %s: %w", p.cfg.ID, ErrClosed)
	}
	p.watchers.Add(1)
	p.mu.Unlock()
	w := watcher{p: p, path: path}
	w.seen(w.stat())
	go w.run(interval)
	return nil
}

type watcher struct {
	p       *Plugin
	path    string
	modTime time.Time
	size    int64
	failed  [32]byte // contents last refused
}

type fileState struct {
	modTime time.Time
	size    int64
	ok      bool
}

func (w *watcher) stat() fileState {
	fi, err := os.Stat(w.path)
	if err != nil {
		return fileState{}
	}
	return fileState{fi.ModTime(), fi.Size(), true}
}

func (w *watcher) seen(s fileState) { w.modTime, w.size = s.modTime, s.size }

func (w *watcher) run(interval time.Duration) {
	defer w.p.watchers.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.p.stopCtx.Done():
			return
		case <-t.C:
		}
		s := w.stat()
		if !s.ok || (s.modTime.Equal(w.modTime) && s.size == w.size) {
			continue
		}
		w.seen(s)
		w.check()
	}
}

// check reloads the file if its contents differ from the module serving.
func (w *watcher) check() {
	p := w.p
	b, err := os.ReadFile(w.path)
	if err != nil {
		p.log.Error("plugin file unreadable; the old module keeps serving", "path", w.path, "err", err)
		return
	}
	h := hash(b)
	if g := p.cur.Load(); g == nil || g.hash == h || w.failed == h {
		return
	}
	if err := p.Reload(p.stopCtx, b); err != nil {
		if p.stopCtx.Err() != nil {
			return // closing
		}
		w.failed = h
		p.log.Error("plugin reload refused; the old module keeps serving", "path", w.path, "err", err)
	}
}
