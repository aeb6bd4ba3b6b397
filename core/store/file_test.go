package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

var bg = context.Background()

func openFile(t testing.TB, path string, opts store.FileOptions) *store.File {
	t.Helper()
	f, err := store.OpenFile(path, opts)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	return f
}

// sameContents fails unless got holds exactly what want holds.
func sameContents(t *testing.T, got, want store.Store) {
	t.Helper()
	n, err := got.CountRegistrations(bg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := want.CountRegistrations(bg)
	if err != nil {
		t.Fatal(err)
	}
	if n != m {
		t.Fatalf("%d registrations, want %d", n, m)
	}
	err = want.Registrations(bg, func(w *store.Registration) bool {
		g, err := got.Registration(bg, w.ID)
		if err != nil {
			t.Fatalf("Registration(%q): %v", w.ID, err)
		}
		if d := storetest.DiffRegistration(g, w); d != "" {
			t.Fatal(d)
		}
		wo, _ := want.ObservationsOf(bg, w.ID)
		gotObs, _ := got.ObservationsOf(bg, w.ID)
		if len(gotObs) != len(wo) {
			t.Fatalf("registration %q: %d observations, want %d", w.ID, len(gotObs), len(wo))
		}
		for _, o := range wo {
			g, err := got.Observation(bg, o.Token)
			if err != nil {
				t.Fatalf("Observation(%x): %v", o.Token, err)
			}
			if d := storetest.DiffObservation(g, o); d != "" {
				t.Fatal(d)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// randomOps applies n random mutations to every store in stores, the same
// in each, over a small space of IDs, endpoints and tokens so that
// updates, replacements and deletions are frequent.
func randomOps(t *testing.T, seed uint64, n int, stores ...store.Store) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for range n {
		id := fmt.Sprintf("r%d", rng.IntN(60))
		ep := fmt.Sprintf("ep%d", rng.IntN(50))
		tok := fmt.Sprintf("t%d", rng.IntN(80))
		var r *store.Registration
		var o *store.Observation
		op := rng.IntN(10)
		switch {
		case op < 5:
			r = storetest.NewRegistration(id, ep)
			r.Lifetime = rng.Uint32()
			r.Objects = r.Objects[:rng.IntN(len(r.Objects)+1)]
			if rng.IntN(3) == 0 {
				r.Identity = "other"
			}
		case op < 8:
			o = storetest.NewObservation(tok, storetest.NewRegistration(id, ep), "/3/0/"+fmt.Sprint(rng.IntN(20)))
		}
		for _, s := range stores {
			var err error
			switch {
			case r != nil:
				_, err = s.PutRegistration(bg, r)
			case o != nil:
				err = s.PutObservation(bg, o)
			case op == 8:
				_, _, err = s.DeleteRegistration(bg, id)
			default:
				_, err = s.DeleteObservation(bg, tok)
			}
			if err != nil && !errors.Is(err, model.ErrNotFound) {
				t.Fatal(err)
			}
		}
	}
}

func TestFileReopen(t *testing.T) {
	tests := []struct {
		name string
		opts store.FileOptions
	}{
		{"no compaction", store.FileOptions{CompactSize: -1}},
		{"automatic compaction", store.FileOptions{CompactSize: 16 << 10}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.log")
			tc.opts.NoSync = true
			f := openFile(t, path, tc.opts)
			m := store.NewMemory()
			defer m.Close()
			randomOps(t, uint64(i), 3000, f, m)
			sameContents(t, f, m)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f = openFile(t, path, tc.opts)
			sameContents(t, f, m)
			// Again after an explicit compaction, and more changes.
			if err := f.Compact(bg); err != nil {
				t.Fatal(err)
			}
			randomOps(t, uint64(i)+100, 500, f, m)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f = openFile(t, path, tc.opts)
			defer f.Close()
			sameContents(t, f, m)
		})
	}
}

// owner is the state one goroutine of a concurrency test expects: it alone
// touches its registrations.
type owner struct {
	regs map[string]*store.Registration
	obs  map[string]*store.Observation
}

// churn has a goroutine put, update and delete its own registrations and
// observations until stop is closed, and returns what it expects the
// store to hold.
func churn(t *testing.T, s store.Store, g int, stop <-chan struct{}) owner {
	own := owner{regs: map[string]*store.Registration{}, obs: map[string]*store.Observation{}}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return own
		default:
		}
		id := fmt.Sprintf("g%d-%d", g, i%50)
		r := storetest.NewRegistration(id, "ep-"+id)
		r.Lifetime = uint32(i)
		switch i % 10 {
		case 9:
			if _, _, err := s.DeleteRegistration(bg, id); err != nil && !errors.Is(err, model.ErrNotFound) {
				t.Error(err)
				return own
			}
			delete(own.regs, id)
			for tok, o := range own.obs {
				if o.RegistrationID == id {
					delete(own.obs, tok)
				}
			}
		default:
			if _, err := s.PutRegistration(bg, r); err != nil {
				t.Error(err)
				return own
			}
			own.regs[id] = r
			if i%3 == 0 {
				o := storetest.NewObservation(fmt.Sprintf("g%d-t%d", g, i%7), r)
				if old := own.obs[o.Token]; old != nil && old.RegistrationID != id {
					delete(own.obs, o.Token)
				}
				if err := s.PutObservation(bg, o); err != nil {
					t.Error(err)
					return own
				}
				own.obs[o.Token] = o
			}
		}
	}
}

// expect builds a Memory holding what owners expect.
func expect(t *testing.T, owners []owner) *store.Memory {
	m := store.NewMemory()
	for _, o := range owners {
		for _, r := range o.regs {
			if _, err := m.PutRegistration(bg, r); err != nil {
				t.Fatal(err)
			}
		}
		for _, ob := range o.obs {
			if err := m.PutObservation(bg, ob); err != nil {
				t.Fatal(err)
			}
		}
	}
	return m
}

// TestFileCompactionConcurrent compacts while goroutines change the store,
// and checks that no change is lost, before and after a reopen.
func TestFileCompactionConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.log")
	opts := store.FileOptions{CompactSize: -1}
	f := openFile(t, path, opts)
	stop := make(chan struct{})
	owners := make([]owner, 8)
	var wg sync.WaitGroup
	for g := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owners[g] = churn(t, f, g, stop)
		}()
	}
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		if err := f.Compact(bg); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	st := f.LastCompaction()
	if st == nil || st.Registrations == 0 {
		t.Fatalf("LastCompaction = %+v", st)
	}
	m := expect(t, owners)
	sameContents(t, f, m)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f = openFile(t, path, opts)
	defer f.Close()
	sameContents(t, f, m)
}

func TestFileAutoCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.log")
	opts := store.FileOptions{CompactSize: 64 << 10, NoSync: true}
	f := openFile(t, path, opts)
	m := store.NewMemory()
	for i := range 5000 {
		r := storetest.NewRegistration(fmt.Sprintf("r%d", i%100), fmt.Sprintf("ep%d", i%100))
		r.Lifetime = uint32(i)
		for _, s := range []store.Store{f, m} {
			if _, err := s.PutRegistration(bg, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The compaction runs in the background: wait for one.
	deadline := time.Now().Add(10 * time.Second)
	for f.LastCompaction() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f.LastCompaction() == nil {
		t.Fatal("no compaction after 5000 updates of 100 registrations")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// 100 registrations take about 15 KiB; 5000 puts about 750 KiB.
	if st.Size() > 3*(64<<10) {
		t.Fatalf("log is %d bytes after compaction", st.Size())
	}
	f = openFile(t, path, opts)
	defer f.Close()
	sameContents(t, f, m)
}

// TestFileCompactionCrashBeforeRename copies the files as a crash would
// leave them between the fsync of the snapshot and its rename, then opens
// the copy.
func TestFileCompactionCrashBeforeRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "store.log")
	f := openFile(t, path, store.FileOptions{CompactSize: -1, NoSync: true})
	m := store.NewMemory()
	defer m.Close()
	randomOps(t, 7, 2000, f, m)
	crashDir := t.TempDir()
	store.SetHookBeforeRename(f, func() {
		for _, name := range []string{"store.log", "store.log.compact"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("at the crash: %v", err)
				return
			}
			if err := os.WriteFile(filepath.Join(crashDir, name), b, 0o600); err != nil {
				t.Error(err)
			}
		}
	})
	if err := f.Compact(bg); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(crashDir, "store.log")
	g := openFile(t, crashed, store.FileOptions{NoSync: true})
	defer g.Close()
	sameContents(t, g, m)
	if _, err := os.Stat(crashed + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the interrupted snapshot is still there: %v", err)
	}
	// And the compacted log itself.
	h := openFile(t, path, store.FileOptions{NoSync: true})
	defer h.Close()
	sameContents(t, h, m)
}

func TestFileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.log")
	f := openFile(t, path, store.FileOptions{NoSync: true})
	if g, err := store.OpenFile(path, store.FileOptions{}); !errors.Is(err, store.ErrLocked) {
		if g != nil {
			g.Close()
		}
		t.Fatalf("second OpenFile: %v, want ErrLocked", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g := openFile(t, path, store.FileOptions{NoSync: true})
	g.Close()
}

// TestFileWriteFailure breaks the log file under the writer: the change
// that hit the failure and every later one fail, reads go on, and Close
// reports the failure.
func TestFileWriteFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.log")
	f := openFile(t, path, store.FileOptions{})
	if _, err := f.PutRegistration(bg, storetest.NewRegistration("a", "ep-a")); err != nil {
		t.Fatal(err)
	}
	store.LogFile(f).Close()
	if _, err := f.PutRegistration(bg, storetest.NewRegistration("b", "ep-b")); err == nil {
		t.Fatal("put succeeded on a broken log")
	}
	if err := f.PutObservation(bg, storetest.NewObservation("t", storetest.NewRegistration("a", "ep-a"))); err == nil {
		t.Fatal("put observation succeeded on a broken log")
	}
	if _, err := f.Registration(bg, "a"); err != nil {
		t.Fatalf("read after the failure: %v", err)
	}
	if err := f.Close(); err == nil || !strings.Contains(err.Error(), "write the log") {
		t.Fatalf("Close after a write failure: %v", err)
	}
	g := openFile(t, path, store.FileOptions{})
	defer g.Close()
	if _, err := g.Registration(bg, "a"); err != nil {
		t.Fatalf("acknowledged registration lost: %v", err)
	}
}

func TestFileTooLarge(t *testing.T) {
	f := openFile(t, filepath.Join(t.TempDir(), "store.log"), store.FileOptions{NoSync: true})
	defer f.Close()
	r := storetest.NewRegistration("big", "ep")
	r.Objects = nil
	for id := range 60000 {
		r.Objects = append(r.Objects, link.Object{ID: uint16(id), Instances: []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}})
	}
	if _, err := f.PutRegistration(bg, r); !errors.Is(err, model.ErrRequestEntityTooLarge) {
		t.Fatalf("PutRegistration of a %d-object registration: %v, want 4.13", len(r.Objects), err)
	}
	if n, _ := f.CountRegistrations(bg); n != 0 {
		t.Fatal("a refused registration was stored")
	}
}

// TestFileCloseStopsGoroutines checks that Close waits for every goroutine
// the File started, during a compaction too.
func TestFileCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		f := openFile(t, filepath.Join(t.TempDir(), "store.log"), store.FileOptions{CompactSize: 1, NoSync: true})
		randomOps(t, 1, 300, f)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

const crashEnv = "WASM2M_STORE_CRASH_CHILD"

// TestFileCrash runs a child process that puts registrations from several
// goroutines and prints each ID once PutRegistration has returned, kills
// it with SIGKILL in the middle, and checks that every printed ID is in
// the reopened file.
func TestFileCrash(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "store.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileCrash$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		id, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue
		}
		acked = append(acked, id)
		if len(acked) == 3000 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// What was printed before the kill is still read above, to EOF.
	cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped after %d acknowledgements", len(acked))
	}
	f := openFile(t, path, store.FileOptions{})
	defer f.Close()
	for _, id := range acked {
		r, err := f.Registration(bg, id)
		if err != nil {
			t.Fatalf("acknowledged registration %q lost after the crash (%d acknowledged): %v", id, len(acked), err)
		}
		if r.Endpoint != "ep-"+id {
			t.Fatalf("registration %q has endpoint %q", id, r.Endpoint)
		}
	}
	n, _ := f.CountRegistrations(bg)
	t.Logf("%d acknowledged before SIGKILL, %d in the file", len(acked), n)
}

// crashChild is the child of TestFileCrash. It never returns: it runs until
// killed.
func crashChild(path string) {
	f, err := store.OpenFile(path, store.FileOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				if _, err := f.PutRegistration(bg, storetest.NewRegistration(id, "ep-"+id)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				io.WriteString(os.Stdout, "ack "+id+"\n") // one write(2) per acknowledgement
				mu.Unlock()
			}
		}()
	}
	select {}
}

func TestExpiresAt(t *testing.T) {
	tests := []struct {
		lifetime uint32
		want     time.Duration
	}{
		{0, 0}, {60, time.Minute}, {86400, 24 * time.Hour}, {1<<32 - 1, (1<<32 - 1) * time.Second},
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		r := &store.Registration{Lifetime: tc.lifetime, UpdatedAt: at}
		if got := r.ExpiresAt(); !got.Equal(at.Add(tc.want)) {
			t.Errorf("lifetime %d: ExpiresAt = %v, want %v", tc.lifetime, got, at.Add(tc.want))
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	r := storetest.NewRegistration("r", "ep")
	c := r.Clone()
	c.Objects[0].Instances[0] = 9
	c.Objects[0].Instances = append(c.Objects[0].Instances, 10)
	c.ContentFormats[0] = 1
	if d := storetest.DiffRegistration(r, storetest.NewRegistration("r", "ep")); d != "" {
		t.Fatal(d)
	}
	if c.Objects[1].Instances[0] != 0 {
		t.Fatal("append to one object's instances wrote over the next one's")
	}
	if !slices.Equal(r.Objects[7].Instances, []uint16{0, 1}) {
		t.Fatal("clone shares instances")
	}
}
