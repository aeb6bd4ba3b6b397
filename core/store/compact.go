package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// CompactStats describes one compaction.
type CompactStats struct {
	Registrations int           // in the snapshot
	Observations  int           // in the snapshot
	Before, After int64         // log sizes in bytes
	Pause         time.Duration // mutations waited while the live data was listed
	Stall         time.Duration // the writer stopped to copy the last records, fsync and rename
	Total         time.Duration // from the call to the durable rename
}

// swapRequest asks the writer to finish a compaction: append the records
// written since copied to the snapshot file, fsync it, and rename it over
// the log.
type swapRequest struct {
	tmp     *os.File
	tmpPath string
	size    int64 // bytes in tmp
	copied  int64 // log position up to which tmp holds the log
	stats   *CompactStats
	done    chan error
	old     *os.File // the old log, set by the writer, closed by the compaction
}

// compactChunk is how much of a snapshot is built in memory before it is
// written, compactSync how much is written between two fsyncs; catchUp is how far the log may run ahead of the snapshot when
// the writer is asked to stop and copy the rest.
const (
	compactChunk = 1 << 20
	compactSync  = 8 << 20
	catchUp      = 256 << 10
)

// Compact replaces the log with a snapshot of the live data: one put
// record per registration and observation. Mutations go on meanwhile:
//
//  1. Under the store's read lock, Compact lists the live registrations
//     and observations (pointers only; the values never change) and notes
//     the log position. This is the only time mutations wait for it.
//  2. It writes the snapshot to path+".compact", fsyncs it, and copies to
//     it the records the writer has made durable since that position,
//     until fewer than 256 KiB are left.
//  3. It hands the file to the writer, which, between two batches, copies
//     the last records, fsyncs, renames the file over the log, fsyncs the
//     directory, and goes on appending to the new file. Compact closes the
//     old log.
//
// A crash before the rename leaves the old log, complete, and a snapshot
// that OpenFile removes; a crash after it leaves the new log, complete.
// Compact returns once the rename is durable. The File compacts on its own
// (see FileOptions.CompactSize); Compact is for operators and tests.
func (f *File) Compact(ctx context.Context) error {
	_, err := f.compact(ctx)
	return err
}

// LastCompaction returns the statistics of the last compaction that
// completed, or nil.
func (f *File) LastCompaction() *CompactStats { return f.lastCompact.Load() }

func (f *File) compact(ctx context.Context) (*CompactStats, error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	st := &CompactStats{Before: f.durable.Load() - f.base.Load()}

	// The lists are allocated before the lock is taken: an allocation of
	// megabytes while the GC marks a large heap can be made to assist it
	// for a long time, and mutations would wait for that.
	f.mu.RLock()
	nr, no := len(f.ix.regs), len(f.ix.obs)
	f.mu.RUnlock()
	regs := make([]*Registration, 0, nr+nr/16+64)
	obs := make([]*Observation, 0, no+no/16+64)

	// A read lock keeps mutations out (they take the write lock, and
	// queue records only while holding it) and lets reads go on.
	pauseStart := time.Now()
	f.mu.RLock()
	if err := f.usable(); err != nil {
		f.mu.RUnlock()
		return nil, err
	}
	for _, r := range f.ix.regs {
		regs = append(regs, r)
	}
	for _, o := range f.ix.obs {
		obs = append(obs, o)
	}
	kvs := f.ix.kv.entries()
	f.wmu.Lock()
	from := f.appended
	f.wmu.Unlock()
	f.mu.RUnlock()
	st.Pause = time.Since(pauseStart)
	st.Registrations, st.Observations = len(regs), len(obs)

	tmpPath := f.path + ".compact"
	tmp, err := os.OpenFile(tmpPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", f.path, err)
	}
	req := &swapRequest{tmp: tmp, tmpPath: tmpPath, copied: from, stats: st, done: make(chan error, 1)}
	swapped := false
	defer func() {
		if !swapped {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	if err := f.writeSnapshot(ctx, req, regs, obs, kvs); err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", f.path, err)
	}
	regs, obs, kvs = nil, nil, nil
	if err := f.sync(tmp); err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", f.path, err)
	}
	for {
		if err := f.stopped(ctx); err != nil {
			return nil, err
		}
		d := f.durable.Load()
		if d-req.copied < catchUp {
			break
		}
		if err := f.copyLog(req, d); err != nil {
			return nil, fmt.Errorf("store: compact %s: %w", f.path, err)
		}
	}
	select {
	case f.swapc <- req:
	case <-f.stop:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	swapped = true // the writer owns tmp now, and closes it on failure
	if err := <-req.done; err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", f.path, err)
	}
	// Closing the old log frees its blocks, which takes long for a large
	// file (half a second for 150 MiB here): it is done here, not by the
	// writer.
	req.old.Close()
	st.After = req.size
	st.Total = time.Since(start)
	f.lastCompact.Store(st)
	f.log.Info("store: compacted the log", "path", f.path, "registrations", st.Registrations, "observations", st.Observations,
		"before", st.Before, "after", st.After, "pause", st.Pause, "stall", st.Stall, "took", st.Total)
	return st, nil
}

// stopped returns why a compaction must stop: Close or ctx.
func (f *File) stopped(ctx context.Context) error {
	select {
	case <-f.stop:
		return ErrClosed
	default:
		return ctx.Err()
	}
}

// writeSnapshot writes the header and a put record for each registration
// and observation to req.tmp. Every record is marked as the start of a
// write, so that damage to any of them but the last is found by replay
// instead of taken for a torn tail.
func (f *File) writeSnapshot(ctx context.Context, req *swapRequest, regs []*Registration, obs []*Observation, kvs []kvEntry) error {
	buf := appendHeader(make([]byte, 0, min(compactChunk, 64+len(regs)*160+len(obs)*64)))
	synced := int64(0)
	write := func() error {
		if _, err := req.tmp.Write(buf); err != nil {
			return err
		}
		req.size += int64(len(buf))
		buf = buf[:0]
		// Sync as it goes: one fsync of the whole snapshot at the end
		// would flush it all at once, and the log's own fsyncs, which
		// every mutation waits for, would queue behind it.
		if req.size-synced >= compactSync {
			if err := f.sync(req.tmp); err != nil {
				return err
			}
			synced = req.size
		}
		return f.stopped(ctx)
	}
	for _, r := range regs {
		buf = appendRegistrationRecord(buf, r, batchStart)
		if len(buf) >= compactChunk {
			if err := write(); err != nil {
				return err
			}
		}
	}
	for _, o := range obs {
		buf = appendObservationRecord(buf, o, batchStart)
		if len(buf) >= compactChunk {
			if err := write(); err != nil {
				return err
			}
		}
	}
	for _, e := range kvs {
		buf = appendKVSnapshot(buf, e)
		if len(buf) >= compactChunk {
			if err := write(); err != nil {
				return err
			}
		}
	}
	return write()
}

// copyLog appends to req.tmp the log from req.copied to position to, which
// the writer has made durable.
func (f *File) copyLog(req *swapRequest, to int64) error {
	if to <= req.copied {
		return nil
	}
	base := f.base.Load()
	src := io.NewSectionReader(f.file, req.copied-base, to-req.copied)
	n, err := io.Copy(req.tmp, src)
	req.size += n
	if err != nil {
		return err
	}
	req.copied = to
	return nil
}

// swap finishes a compaction. It runs on the writer goroutine, between two
// batches: every batch taken so far is durable in the old log.
func (f *File) swap(req *swapRequest) (err error) {
	start := time.Now()
	defer func() {
		req.stats.Stall = time.Since(start)
		if err != nil {
			req.tmp.Close()
			os.Remove(req.tmpPath)
		}
	}()
	if p := f.broken.Load(); p != nil {
		return *p
	}
	end := f.durable.Load()
	if err := f.copyLog(req, end); err != nil {
		return err
	}
	if err := f.sync(req.tmp); err != nil {
		return err
	}
	if f.hookBeforeRename != nil {
		f.hookBeforeRename()
	}
	f.gmu.Lock() // the grower may be writing zeros to the old file
	defer f.gmu.Unlock()
	if err := os.Rename(req.tmpPath, f.path); err != nil {
		return err
	}
	// From here the new file is the log, whatever happens: appending to
	// the old one would write to a file that no longer has the name.
	req.old = f.file
	f.file = req.tmp
	f.base.Store(end - req.size)
	f.zeroEnd.Store(req.size)
	defer f.wantZeros()
	if !f.opts.NoSync {
		if err := syncDir(filepath.Dir(f.path)); err != nil {
			// The rename may not survive a crash, and with it every
			// change appended from now on: stop taking changes.
			err = fmt.Errorf("store: %s: sync the directory after compaction: %w", f.path, err)
			f.fail(err)
			return nil
		}
	}
	return nil
}

// maybeCompact starts a compaction when the log has grown to more than
// CompactSize and twice a snapshot of the live data. It runs on the
// writer goroutine.
func (f *File) maybeCompact() {
	if f.opts.CompactSize < 0 {
		return
	}
	size := f.durable.Load() - f.base.Load()
	if size > f.opts.CompactSize && size > 2*(f.liveA.Load()+headerSize) && size > f.compactFloor.Load() {
		signal(f.compactc)
	}
}

// compactLoop is the goroutine that runs the compactions maybeCompact
// asks for.
func (f *File) compactLoop() {
	defer f.wg.Done()
	for {
		select {
		case <-f.stop:
			return
		case <-f.compactc:
		}
		size := f.durable.Load() - f.base.Load()
		if _, err := f.compact(context.Background()); err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			// Try again once the log has doubled, not after every batch.
			f.compactFloor.Store(2 * size)
			f.log.Error("store: compaction failed; the log goes on growing", "path", f.path, "err", err)
		} else {
			f.compactFloor.Store(0)
		}
	}
}
