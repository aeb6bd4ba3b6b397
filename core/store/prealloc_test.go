package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects what a File logs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// logicalEnd is the offset after the last record in f's file.
func logicalEnd(f *File) int64 { return f.durable.Load() - f.base.Load() }

// waitZeros waits until f's file holds at least want bytes of zeros
// after its last record, and returns the file's size.
func waitZeros(t *testing.T, f *File, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size()-logicalEnd(f) >= want {
			return st.Size()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log is %d bytes, %d after its last record; want %d bytes of zeros ahead", st.Size(), st.Size()-logicalEnd(f), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// crashedLog puts n registrations, one commit each, into a new File and
// copies its log as a crash would leave it: with the preallocated zeros
// after the records.
func crashedLog(t *testing.T, n int) (path string, data []byte, end int64) {
	t.Helper()
	f, err := OpenFile(filepath.Join(t.TempDir(), "store.log"), FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	putSome(t, f, n)
	waitZeros(t, f, growChunk)
	end = logicalEnd(f)
	data, err = os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if !allZeroBytes(data[end:]) {
		t.Fatalf("the log's %d bytes are not all zero after its last record, at %d", len(data), end)
	}
	path = filepath.Join(t.TempDir(), "crashed.log")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data, end
}

func allZeroBytes(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }

// putSome puts registrations r0..r(n-1), each acknowledged by its own
// commit.
func putSome(t *testing.T, f *File, n int) {
	t.Helper()
	for i := range n {
		if _, err := f.PutRegistration(context.Background(), sample(fmt.Sprint("r", i), fmt.Sprint("ep-", i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPreallocatedZerosAreNotATornTail(t *testing.T) {
	path, data, end := crashedLog(t, 3)

	var logs logBuffer
	g, err := OpenFile(path, FileOptions{Logger: logs.logger()})
	if err != nil {
		t.Fatalf("open a log that ends in preallocated zeros: %v", err)
	}
	if regs, _ := contents(t, g); strings.Join(regs, ",") != "r0,r1,r2" {
		t.Fatalf("registrations %q, want r0,r1,r2", regs)
	}
	if strings.Contains(logs.String(), "torn") {
		t.Fatalf("zeros taken for a torn tail: %s", logs.String())
	}
	if got := logicalEnd(g); got != end {
		t.Fatalf("records end at %d after open, want %d", got, end)
	}
	// The zeros are kept and written over.
	if _, err := g.PutRegistration(context.Background(), sample("r3", "ep-3")); err != nil {
		t.Fatal(err)
	}
	after := logicalEnd(g)
	if st, _ := os.Stat(path); st.Size() < int64(len(data)) {
		t.Fatalf("the log shrank from %d to %d bytes while open", len(data), st.Size())
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	// Close gives the zeros back.
	if st, _ := os.Stat(path); st.Size() != after {
		t.Fatalf("the log is %d bytes after Close, want %d (its records)", st.Size(), after)
	}
	g, err = OpenFile(path, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if regs, _ := contents(t, g); strings.Join(regs, ",") != "r0,r1,r2,r3" {
		t.Fatalf("after reopen: %q", regs)
	}
}

func TestTornWriteIntoPreallocatedZeros(t *testing.T) {
	path, data, end := crashedLog(t, 3)
	// A crash during the next write: the start of its first record
	// reached the disk, the rest of it did not.
	next := regRec(sample("r3", "ep-3"), batchStart)
	for _, cut := range []int{1, recordHeader, len(next) / 2, len(next) - 1} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			torn := bytes.Clone(data)
			copy(torn[end:], next[:cut])
			if err := os.WriteFile(path, torn, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			g, err := OpenFile(path, FileOptions{Logger: logs.logger(), Preallocate: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if regs, _ := contents(t, g); strings.Join(regs, ",") != "r0,r1,r2" {
				t.Fatalf("registrations %q, want r0,r1,r2", regs)
			}
			if !strings.Contains(logs.String(), "torn tail") {
				t.Fatalf("no torn tail reported: %s", logs.String())
			}
			if st, _ := os.Stat(path); st.Size() != end {
				t.Fatalf("the log is %d bytes after open, want the torn write cut at %d", st.Size(), end)
			}
		})
	}
}

func TestDamageBeforePreallocatedZerosIsCorruption(t *testing.T) {
	path, data, _ := crashedLog(t, 3)            // three commits, each marked as the start of a write
	bad := flip(data, headerSize+recordHeader+2) // in the first record
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if g, err := OpenFile(path, FileOptions{}); !errors.Is(err, ErrCorrupt) {
		if g != nil {
			g.Close()
		}
		t.Fatalf("open with a damaged acknowledged record before the zeros: %v, want ErrCorrupt", err)
	}
}

func TestPreallocationStaysAhead(t *testing.T) {
	const ahead = 2 * growChunk
	path := filepath.Join(t.TempDir(), "store.log")
	f, err := OpenFile(path, FileOptions{Preallocate: ahead, NoSync: true, CompactSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// More records than the zeros first written: the grower must keep
	// extending, and the writer must write over its zeros, not after.
	ctx := context.Background()
	for i := 0; logicalEnd(f) < 3*ahead; i++ {
		if _, err := f.PutRegistration(ctx, sample(fmt.Sprint("r", i), fmt.Sprint("ep-", i))); err != nil {
			t.Fatal(err)
		}
	}
	n := len(f.ix.regs)
	size := waitZeros(t, f, ahead/2)
	if size-logicalEnd(f) > ahead+growChunk {
		t.Fatalf("%d bytes of zeros ahead, more than the %d asked for", size-logicalEnd(f), ahead)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !allZeroBytes(data[logicalEnd(f):]) {
		t.Fatal("the bytes after the last record are not all zero")
	}

	// A compaction starts a new file, which is extended as well.
	if err := f.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	putSome(t, f, 1)
	waitZeros(t, f, ahead/2)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := OpenFile(path, FileOptions{Preallocate: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if got := len(g.ix.regs); got != n {
		t.Fatalf("%d registrations after reopen, want %d", got, n)
	}
}

func TestPreallocateOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.log")
	f, err := OpenFile(path, FileOptions{Preallocate: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	putSome(t, f, 3)
	time.Sleep(20 * time.Millisecond) // a grower, if one ran, would have started
	if st, _ := os.Stat(path); st.Size() != logicalEnd(f) {
		t.Fatalf("the log is %d bytes with preallocation off, want %d", st.Size(), logicalEnd(f))
	}
}
