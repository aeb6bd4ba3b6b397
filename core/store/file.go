package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// FileOptions configures OpenFile. The zero value is the default.
type FileOptions struct {
	// CommitInterval is how long the writer waits, once a mutation is
	// queued, for others to join its batch before writing it. Zero, the
	// default, writes as soon as the writer is free: mutations that arrive
	// during one write and fsync form the next batch, which batches well
	// whenever many callers are busy and adds no delay when few are.
	CommitInterval time.Duration

	// MaxBatch is the most records one write and fsync carries; a batch
	// that reaches it is written without waiting for CommitInterval. The
	// default is 4096. 1 makes every mutation its own write and fsync.
	MaxBatch int

	// NoSync skips every fsync. For tests only: a crash of the machine (not
	// of the process) may then lose acknowledged changes.
	NoSync bool

	// CompactSize is the log size in bytes from which the log is compacted
	// once it is also more than twice the size of a snapshot of the live
	// data. The default is 4 MiB; a negative value turns automatic
	// compaction off (Compact still works).
	CompactSize int64

	// Preallocate is how far ahead of the last record the log file is
	// kept extended with written zeros, in bytes. A commit that overwrites
	// zeros changes no file metadata, so its fdatasync(2) writes the
	// records and flushes the disk's cache without committing the file
	// system's journal; an append must commit it, and waits for every
	// other process's metadata in that journal. A background goroutine
	// extends the file in 1 MiB steps, off the commit path. The default is
	// 4 MiB; a negative value appends instead (fsync per commit). Close
	// gives the zeros back.
	Preallocate int64

	// Logger receives what the store has to report: a torn tail dropped
	// at open, compactions, write failures. The default discards.
	Logger *slog.Logger
}

// File is a Store that keeps the live data in memory, as Memory does, and
// every mutation in an append-only log, so that OpenFile gets it back after
// a restart or a crash.
//
// One goroutine writes the log. A mutation changes the data in memory,
// queues its record and waits; the writer takes every queued record, writes
// them with one write(2), fsyncs once, and wakes all their callers (group
// commit). Readers see a change as soon as it is queued, so they may see a
// change that a crash then loses; what a mutation has returned from is never
// lost.
//
// If a write or fsync fails, the File refuses every later mutation with
// that error, since the state of the file is no longer known; reads go on.
// Reopen it to recover.
//
// When the log has grown past FileOptions.CompactSize and to more than
// twice a snapshot of the live data, a background goroutine compacts it:
// see Compact.
//
// The log file ends in zero bytes written ahead of the records (see
// FileOptions.Preallocate); replay stops at them.
//
// A File holds an exclusive lock on path+".lock" until Close. Close waits
// for the writer and the compaction goroutine to stop.
type File struct {
	path string
	opts FileOptions
	log  *slog.Logger
	lock *os.File
	pool sync.Pool // *[]byte record buffers

	indexed              // its mu guards ix, closed and live; taken before wmu
	live    int64        // bytes of a snapshot of ix, header left out
	liveA   atomic.Int64 // live, for the writer
	broken  atomic.Pointer[error]

	wmu      sync.Mutex // guards what follows, up to the channels
	cur      *batch     // the batch mutations join; nil when none is open
	sealed   []*batch   // full batches, in log order, before cur
	spare    [][]byte   // buffers of written batches, for reuse
	appended int64      // log position after the last queued record

	kick     chan struct{} // a batch was opened
	full     chan struct{} // a batch reached MaxBatch
	swapc    chan *swapRequest
	compactc chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup

	// Log positions count bytes since the log was created, across
	// compactions; a position p is at offset p-base in the current file.
	// The writer goroutine owns file and taken, and changes base; durable
	// is what it has written and synced.
	file    *os.File
	taken   []*batch
	durable atomic.Int64
	base    atomic.Int64

	// The log file's size is zeroEnd: the bytes from the last record,
	// at durable-base, up to it are written zeros. The grower goroutine
	// writes more at zeroEnd, holding gmu; the writer writes beyond
	// zeroEnd, or changes file and base, only while holding gmu too, so
	// that zeros never land on records. Records written within the zeros
	// need no lock.
	gmu     sync.Mutex
	zeroEnd atomic.Int64
	growc   chan struct{}

	cmu          sync.Mutex   // one compaction at a time
	compactFloor atomic.Int64 // no automatic compaction below this file size (after a failure)
	lastCompact  atomic.Pointer[CompactStats]

	hookBeforeRename func() // tests: called by the writer between the snapshot's fsync and the rename
}

var _ Store = (*File)(nil)

// batch is the records that one write and one fsync carry.
type batch struct {
	buf  []byte
	n    int           // records
	done chan struct{} // closed once err is set
	err  error
	then []completion // of PutRegistrationAsync, in log order
}

// completion is a PutRegistrationAsync waiting for its batch.
type completion struct {
	done     func(replaced *Registration, err error)
	replaced *Registration
}

// OpenFile opens the store at path, creating it if it does not exist, and
// replays its log into memory. A record cut short or damaged at the end of
// the log, left by a crash during a write that was never acknowledged, is
// cut off (and logged); damage before that refuses the file with an error
// wrapping ErrCorrupt that names the offset. A file in an unknown format
// version is refused with one wrapping ErrFormat. A path that another File
// has open is refused with one wrapping ErrLocked.
//
// A snapshot file left by a compaction that a crash interrupted,
// path+".compact", is removed: the log is complete without it.
func OpenFile(path string, opts FileOptions) (*File, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.CompactSize == 0 {
		opts.CompactSize = 4 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Preallocate == 0 {
		opts.Preallocate = 4 << 20
	}
	f := &File{
		path:     path,
		opts:     opts,
		log:      opts.Logger,
		indexed:  indexed{ix: newIndex()},
		kick:     make(chan struct{}, 1),
		full:     make(chan struct{}, 1),
		swapc:    make(chan *swapRequest),
		compactc: make(chan struct{}, 1),
		growc:    make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	f.pool.New = func() any { b := make([]byte, 0, 512); return &b }
	if err := f.open(); err != nil {
		if f.file != nil {
			f.file.Close()
		}
		if f.lock != nil {
			f.lock.Close()
		}
		return nil, err
	}
	f.wg.Add(3)
	go f.run()
	go f.compactLoop()
	go f.growLoop()
	f.wantZeros()
	return f, nil
}

func (f *File) open() error {
	lock, err := lockFile(f.path + ".lock")
	if err != nil {
		return fmt.Errorf("store: open %s: %w", f.path, err)
	}
	f.lock = lock
	tmp := f.path + ".compact"
	if err := os.Remove(tmp); err == nil {
		f.log.Info("store: removed the snapshot of an interrupted compaction", "path", tmp)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: open %s: %w", f.path, err)
	}
	file, err := os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", f.path, err)
	}
	f.file = file
	st, err := file.Stat()
	if err != nil {
		return fmt.Errorf("store: open %s: %w", f.path, err)
	}
	size := st.Size()
	if size > 0 {
		zero, err := allZero(file, 0, size)
		if err != nil {
			return fmt.Errorf("store: open %s: %w", f.path, err)
		}
		if zero {
			// The file system extended the file but never wrote the header:
			// a crash during creation. A record has non-zero bytes, so
			// nothing in it was ever acknowledged.
			f.log.Warn("store: the file holds only zero bytes; starting a new log", "path", f.path, "bytes", size)
			size = 0
		}
	}
	if size < headerSize {
		// A new file, or one whose creation a crash cut short: nothing
		// in it was ever acknowledged.
		hdr := appendHeader(nil)
		if size > 0 {
			b := make([]byte, size)
			if _, err := file.ReadAt(b, 0); err != nil {
				return fmt.Errorf("store: open %s: %w", f.path, err)
			}
			if string(b) != string(hdr[:size]) {
				return fmt.Errorf("store: open %s: %w: %d bytes that do not start a wasm2m store header", f.path, ErrFormat, size)
			}
		}
		if err := f.writeNew(hdr); err != nil {
			return fmt.Errorf("store: create %s: %w", f.path, err)
		}
		size = headerSize
		f.zeroEnd.Store(size)
	} else {
		end, zeroTail, err := f.replay(size)
		if err != nil {
			return err
		}
		// Zeros after the last record were preallocated, not torn: see
		// FileOptions.Preallocate. They are kept for the records to come.
		if end < size && !zeroTail {
			f.log.Warn("store: dropped the torn tail of the log, left by a crash during a write that was never acknowledged",
				"path", f.path, "offset", end, "bytes", size-end)
			if err := file.Truncate(end); err != nil {
				return fmt.Errorf("store: open %s: truncate the torn tail at offset %d: %w", f.path, end, err)
			}
			if err := f.sync(file); err != nil {
				return fmt.Errorf("store: open %s: %w", f.path, err)
			}
			size = end
		}
		f.zeroEnd.Store(size)
		size = end
	}
	f.appended = size
	f.durable.Store(size)
	f.liveA.Store(f.live)
	return nil
}

// allZero reports whether the file, of size bytes, holds only zero bytes
// from offset from. It reads no further than the first non-zero byte.
func allZero(file *os.File, from, size int64) (bool, error) {
	buf := make([]byte, max(0, min(size-from, 64<<10)))
	for off := from; off < size; {
		n, err := file.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		for _, c := range buf[:n] {
			if c != 0 {
				return false, nil
			}
		}
		if err != nil && n == 0 {
			return false, err
		}
		off += int64(n)
	}
	return true, nil
}

// writeNew writes the header of a new log and makes it durable, with the
// file's directory entry.
func (f *File) writeNew(hdr []byte) error {
	if err := f.file.Truncate(0); err != nil {
		return err
	}
	if _, err := f.file.WriteAt(hdr, 0); err != nil {
		return err
	}
	if err := f.sync(f.file); err != nil {
		return err
	}
	if f.opts.NoSync {
		return nil
	}
	return syncDir(filepath.Dir(f.path))
}

func (f *File) sync(file *os.File) error {
	if f.opts.NoSync {
		return nil
	}
	return file.Sync()
}

// usable returns why the store takes no mutation, if it does not. f.mu must
// be held.
func (f *File) usable() error {
	if f.closed {
		return ErrClosed
	}
	if err := f.broken.Load(); err != nil {
		return *err
	}
	return nil
}

// getBuf and putBuf recycle record buffers.
func (f *File) getBuf() *[]byte { return f.pool.Get().(*[]byte) }

func (f *File) putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		f.pool.Put(b)
	}
}

// queue appends the record rec to the open batch and returns the batch.
// f.mu must be held, so that the log holds records in the order their
// changes were made.
func (f *File) queue(rec []byte) *batch { return f.queueThen(rec, completion{}) }

// queueThen is queue, and has the writer call c.done once the batch is
// durable, if c.done is not nil.
func (f *File) queueThen(rec []byte, c completion) *batch {
	f.wmu.Lock()
	b := f.cur
	if b == nil {
		b = &batch{done: make(chan struct{})}
		if n := len(f.spare); n > 0 {
			b.buf, f.spare = f.spare[n-1], f.spare[:n-1]
		}
		f.cur = b
	}
	b.buf = append(b.buf, rec...)
	b.n++
	if c.done != nil {
		b.then = append(b.then, c)
	}
	f.appended += int64(len(rec))
	if b.n >= f.opts.MaxBatch {
		f.sealed = append(f.sealed, b)
		f.cur = nil
		signal(f.full)
	}
	first := b.n == 1
	f.wmu.Unlock()
	if first {
		signal(f.kick)
	}
	return b
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// wait returns once b is durable, or ctx has ended.
func (f *File) wait(ctx context.Context, b *batch) error {
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("store: %s: waiting for the commit (the change may still become durable): %w", f.path, ctx.Err())
	}
}

// addLive adds delta to the size of a snapshot of the live data. f.mu
// must be held.
func (f *File) addLive(delta int) {
	f.live += int64(delta)
	f.liveA.Store(f.live)
}

// PutRegistration implements Store. A registration whose record would be
// larger than 1 MiB is refused with a 4.13.
func (f *File) PutRegistration(ctx context.Context, r *Registration) (*Registration, error) {
	replaced, b, err := f.putRegistration(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	return replaced, f.wait(ctx, b)
}

// PutRegistrationAsync implements AsyncPutter.
func (f *File) PutRegistrationAsync(ctx context.Context, r *Registration, done func(replaced *Registration, err error)) error {
	_, _, err := f.putRegistration(ctx, r, done)
	return err
}

// putRegistration makes the change of PutRegistration and queues its
// record, to be followed by done if it is not nil.
func (f *File) putRegistration(ctx context.Context, r *Registration, done func(*Registration, error)) (*Registration, *batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := checkRegistration(r); err != nil {
		return nil, nil, err
	}
	own := ownRegistration(r)
	buf := f.getBuf()
	defer f.putBuf(buf)
	rec := appendRegistrationRecord(*buf, own, 0)
	*buf = rec
	if len(rec)-recordHeader > maxPayload {
		return nil, nil, model.Errorf(model.RequestEntityTooLarge, "store: registration %q takes %d bytes, more than %d", r.ID, len(rec)-recordHeader, maxPayload)
	}
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return nil, nil, err
	}
	f.ix.shareOwn(own)
	prev, replaced, dropped := f.ix.putRegistration(own)
	delta := len(rec) - registrationRecordLen(prev) - registrationRecordLen(replaced)
	for _, o := range dropped {
		delta -= observationRecordLen(o)
	}
	f.addLive(delta)
	b := f.queueThen(rec, completion{done, replaced})
	f.mu.Unlock()
	return replaced, b, nil
}

// DeleteRegistration implements Store.
func (f *File) DeleteRegistration(ctx context.Context, id string) (*Registration, []*Observation, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	buf := f.getBuf()
	defer f.putBuf(buf)
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return nil, nil, err
	}
	r := f.ix.regs[id]
	if r == nil {
		f.mu.Unlock()
		return nil, nil, notFoundRegistration(id)
	}
	obs := f.ix.removeRegistration(r)
	delta := -registrationRecordLen(r)
	for _, o := range obs {
		delta -= observationRecordLen(o)
	}
	f.addLive(delta)
	*buf = appendKeyRecord(*buf, kindDeleteRegistration, id)
	b := f.queue(*buf)
	f.mu.Unlock()
	return r, obs, f.wait(ctx, b)
}

// PutObservation implements Store.
func (f *File) PutObservation(ctx context.Context, o *Observation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkObservation(o); err != nil {
		return err
	}
	own := ownObservation(o)
	buf := f.getBuf()
	defer f.putBuf(buf)
	rec := appendObservationRecord(*buf, own, 0)
	*buf = rec
	if len(rec)-recordHeader > maxPayload {
		return model.Errorf(model.RequestEntityTooLarge, "store: observation of registration %q takes %d bytes, more than %d", o.RegistrationID, len(rec)-recordHeader, maxPayload)
	}
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	prev, err := f.ix.putObservation(own)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	f.addLive(len(rec) - observationRecordLen(prev))
	b := f.queue(rec)
	f.mu.Unlock()
	return f.wait(ctx, b)
}

// DeleteObservation implements Store.
func (f *File) DeleteObservation(ctx context.Context, token string) (*Observation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	buf := f.getBuf()
	defer f.putBuf(buf)
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	o := f.ix.deleteObservation(token)
	if o == nil {
		f.mu.Unlock()
		return nil, notFoundObservation(token)
	}
	f.addLive(-observationRecordLen(o))
	*buf = appendKeyRecord(*buf, kindDeleteObservation, token)
	b := f.queue(*buf)
	f.mu.Unlock()
	return o, f.wait(ctx, b)
}

// Close implements Store. It writes what is queued, stops the writer and
// any compaction in progress (whose snapshot it removes), and closes the
// file. It returns the error that broke the store, if one did.
func (f *File) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	close(f.stop)
	f.wg.Wait()
	var errs []error
	if err := f.broken.Load(); err != nil {
		errs = append(errs, *err)
	} else if end := f.durable.Load() - f.base.Load(); f.zeroEnd.Load() > end {
		// Give the preallocated zeros back. Nothing depends on it: a log
		// that keeps them (a crash now, or a failure here) opens the same.
		if err := f.file.Truncate(end); err != nil {
			f.log.Warn("store: could not give the preallocated end of the log back", "path", f.path, "err", err)
		}
	}
	if err := f.file.Close(); err != nil {
		errs = append(errs, fmt.Errorf("store: close %s: %w", f.path, err))
	}
	f.lock.Close() // releases the lock
	f.mu.Lock()
	f.ix = index{}
	f.mu.Unlock()
	return errors.Join(errs...)
}

// run is the writer goroutine.
func (f *File) run() {
	defer f.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-f.kick:
		case req := <-f.swapc:
			req.done <- f.swap(req)
			continue
		case <-f.stop:
			f.flush()
			return
		}
		// The callers of the batch just written were woken as it
		// finished, and most are about to queue their next change: let
		// them run first, so that it joins this batch rather than wait
		// for the next fsync.
		runtime.Gosched()
		if f.opts.CommitInterval > 0 {
			timer.Reset(f.opts.CommitInterval)
			select {
			case <-timer.C:
			case <-f.full:
			case <-f.stop:
			}
			timer.Stop()
		}
		f.flush()
		f.maybeCompact()
	}
}

// flush writes every batch queued when it starts.
func (f *File) flush() {
	f.wmu.Lock()
	f.taken = append(f.taken[:0], f.sealed...)
	clear(f.sealed)
	f.sealed = f.sealed[:0]
	if f.cur != nil {
		f.taken = append(f.taken, f.cur)
		f.cur = nil
	}
	f.wmu.Unlock()
	for i, b := range f.taken {
		f.commit(b)
		f.taken[i] = nil
	}
}

// commit writes b with one write(2), fsyncs, and wakes b's callers.
func (f *File) commit(b *batch) {
	var err error
	if p := f.broken.Load(); p != nil {
		err = *p
	} else {
		// Mark the first record as the start of a write: see replay.
		b.buf[8] |= batchStart
		n := binary.LittleEndian.Uint32(b.buf)
		binary.LittleEndian.PutUint32(b.buf[4:], recordCRC(b.buf[:recordHeader+int(n)]))
		err = f.write(b.buf)
		if err != nil {
			err = fmt.Errorf("store: %s: write the log: %w", f.path, err)
			f.fail(err)
		} else {
			f.durable.Add(int64(len(b.buf)))
			f.wantZeros()
		}
	}
	b.err = err
	buf := b.buf[:0]
	b.buf = nil
	close(b.done)
	for i, c := range b.then {
		c.done(c.replaced, err)
		b.then[i] = completion{}
	}
	if cap(buf) <= 4<<20 {
		f.wmu.Lock()
		if len(f.spare) < 4 {
			f.spare = append(f.spare, buf)
		}
		f.wmu.Unlock()
	}
}

// write writes buf at the end of the log and makes it durable. Within
// the preallocated zeros that is a write and an fdatasync, which need
// not commit the file system's journal; beyond them, the file grows and
// the sync must commit the new size too.
func (f *File) write(buf []byte) error {
	off := f.durable.Load() - f.base.Load()
	end := off + int64(len(buf))
	if end > f.zeroEnd.Load() {
		f.gmu.Lock()
		defer f.gmu.Unlock()
	}
	if _, err := f.file.WriteAt(buf, off); err != nil {
		return err
	}
	if end > f.zeroEnd.Load() {
		f.zeroEnd.Store(end) // gmu is held
	}
	if f.opts.NoSync {
		return nil
	}
	return datasync(f.file)
}

// wantZeros asks the grower for more zeros when fewer than half of
// FileOptions.Preallocate are left after the last record.
func (f *File) wantZeros() {
	if p := f.opts.Preallocate; p > 0 && f.zeroEnd.Load()-(f.durable.Load()-f.base.Load()) < p/2 {
		signal(f.growc)
	}
}

// growChunk is how many zero bytes the grower writes, and syncs, at a
// time: the commits that run meanwhile may have to flush them with
// their own records.
const growChunk = 1 << 20

// growLoop is the goroutine that extends the log with written zeros (see
// FileOptions.Preallocate). A failure, such as a full disk, is logged and
// leaves the writer appending; the grower tries again a minute later.
func (f *File) growLoop() {
	defer f.wg.Done()
	var zeros []byte
	var failed time.Time
	for {
		select {
		case <-f.stop:
			return
		case <-f.growc:
		}
		if time.Since(failed) < time.Minute {
			continue
		}
		if zeros == nil {
			zeros = make([]byte, growChunk)
		}
		for {
			f.gmu.Lock()
			at := f.zeroEnd.Load()
			if at-(f.durable.Load()-f.base.Load()) >= f.opts.Preallocate || f.broken.Load() != nil {
				f.gmu.Unlock()
				break
			}
			_, err := f.file.WriteAt(zeros, at)
			if err == nil {
				err = f.sync(f.file)
			}
			if err == nil {
				f.zeroEnd.Store(at + growChunk)
			}
			f.gmu.Unlock()
			if err != nil {
				// What was written beyond zeroEnd may be zeros or not;
				// records overwrite it either way.
				failed = time.Now()
				f.log.Warn("store: could not extend the log ahead of its records; appending instead", "path", f.path, "err", err)
				break
			}
			select {
			case <-f.stop:
				return
			default:
			}
		}
	}
}

// fail breaks the store with err: no mutation is taken after it.
func (f *File) fail(err error) {
	if f.broken.CompareAndSwap(nil, &err) {
		f.log.Error("store: the log cannot be written; refusing every further change", "path", f.path, "err", err)
	}
}
