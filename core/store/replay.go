package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// logReader reads a log through a window, so that replay reads the file in
// large pieces and holds at most a few MiB of it.
type logReader struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
}

const readWindow = 4 << 20 // at least recordHeader+maxPayload

// at returns the n bytes at offset off, or false if the file ends first.
// The bytes are valid until the next call.
func (lr *logReader) at(off int64, n int) ([]byte, bool, error) {
	if off < 0 || n < 0 || off+int64(n) > lr.size {
		return nil, false, nil
	}
	if off >= lr.off && off+int64(n) <= lr.off+int64(len(lr.buf)) {
		i := off - lr.off
		return lr.buf[i : i+int64(n)], true, nil
	}
	w := int64(max(n, readWindow))
	w = min(w, lr.size-off)
	if int64(cap(lr.buf)) < w {
		lr.buf = make([]byte, w)
	}
	lr.buf = lr.buf[:w]
	if _, err := lr.r.ReadAt(lr.buf, off); err != nil && !errors.Is(err, io.EOF) {
		lr.buf, lr.off = lr.buf[:0], 0
		return nil, false, err
	}
	lr.off = off
	return lr.buf[:n], true, nil
}

// record returns the record at off: its kind byte and payload. ok is
// false when there is no whole record with a good checksum there.
func (lr *logReader) record(off int64) (kind byte, payload []byte, ok bool, err error) {
	h, ok, err := lr.at(off, recordHeader)
	if !ok {
		return 0, nil, false, err
	}
	n := binary.LittleEndian.Uint32(h)
	if n > maxPayload {
		return 0, nil, false, nil
	}
	rec, ok, err := lr.at(off, recordHeader+int(n))
	if !ok {
		return 0, nil, false, err
	}
	if binary.LittleEndian.Uint32(rec[4:]) != recordCRC(rec) {
		return 0, nil, false, nil
	}
	return rec[8], rec[recordHeader:], true, nil
}

// findBatchStart returns the offset of the first record at or after from
// that has a good checksum and marks the start of a write, or -1.
func (lr *logReader) findBatchStart(from int64) (int64, error) {
	for off := from; off+recordHeader <= lr.size; off++ {
		h, _, err := lr.at(off, recordHeader)
		if err != nil {
			return -1, err
		}
		k := h[8]
		if k&batchStart == 0 || !knownKind(k&kindMask) {
			continue
		}
		if _, _, ok, err := lr.record(off); err != nil {
			return -1, err
		} else if ok {
			return off, nil
		}
	}
	return -1, nil
}

// checkHeader checks the file header h (headerSize bytes).
func checkHeader(h []byte) error {
	if string(h[:8]) != magic {
		return fmt.Errorf("%w: not a wasm2m store (magic %q)", ErrFormat, h[:8])
	}
	if v := binary.LittleEndian.Uint16(h[8:]); v != formatVersion {
		return fmt.Errorf("%w: format version %d; this build reads version %d only, and never guesses at another", ErrFormat, v, formatVersion)
	}
	if crc32.Checksum(h[:12], castagnoli) != binary.LittleEndian.Uint32(h[12:]) {
		return fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	if flags := binary.LittleEndian.Uint16(h[10:]); flags != 0 {
		return fmt.Errorf("%w: header flags %#x unknown to format version %d", ErrFormat, flags, formatVersion)
	}
	return nil
}

// replay checks the header of the log, whose size is size, and applies
// its records to f.ix. It returns the offset where the valid log ends:
// size, or the start of a torn tail that open cuts off.
//
// A record that is cut short or fails its checksum is the torn tail of
// the last write, which a crash interrupted before its fsync returned, when
// no valid record that starts a write follows it anywhere in the file. The
// writer starts a write only after the fsync of the one before returned, so
// such a record after the damage proves that the damaged record was
// acknowledged: replay then refuses the file with ErrCorrupt, naming both
// offsets, rather than drop acknowledged changes. (Truncating the file at
// the first offset keeps what comes before.) The damage a crash can leave
// in the last write, including pieces of it written out of order, never
// has a later write after it. Bit rot in the last write is
// indistinguishable from a torn write and is dropped, with a warning.
//
// A record whose checksum holds but that makes no sense (an unknown kind,
// a payload that does not decode, a change to something that does not
// exist) is never a torn write: replay refuses the file with ErrCorrupt.
func (f *File) replay(size int64) (end int64, zeroTail bool, err error) {
	lr := &logReader{r: f.file, size: size}
	h, _, err := lr.at(0, headerSize)
	if err != nil {
		return 0, false, fmt.Errorf("store: open %s: %w", f.path, err)
	}
	if err := checkHeader(h); err != nil {
		return 0, false, fmt.Errorf("store: open %s: %w", f.path, err)
	}
	off := int64(headerSize)
	for off < size {
		kind, payload, ok, err := lr.record(off)
		if err != nil {
			return 0, false, fmt.Errorf("store: open %s: read at offset %d: %w", f.path, off, err)
		}
		if !ok {
			// Only zeros from here: the preallocated end of the log
			// (FileOptions.Preallocate), where no record was ever written.
			if zero, err := allZero(f.file, off, size); err != nil {
				return 0, false, fmt.Errorf("store: open %s: read after offset %d: %w", f.path, off, err)
			} else if zero {
				return off, true, nil
			}
			next, err := lr.findBatchStart(off + 1)
			if err != nil {
				return 0, false, fmt.Errorf("store: open %s: read after offset %d: %w", f.path, off, err)
			}
			if next >= 0 {
				return 0, false, fmt.Errorf("store: open %s: %w: damaged record at offset %d, and valid records written after it from offset %d: acknowledged changes would be lost (truncating the file to %d bytes keeps those before it)",
					f.path, ErrCorrupt, off, next, off)
			}
			return off, false, nil
		}
		if err := f.apply(kind&kindMask, payload); err != nil {
			return 0, false, fmt.Errorf("store: open %s: record at offset %d: %w", f.path, off, err)
		}
		off += int64(recordHeader + len(payload))
	}
	return off, false, nil
}

// apply makes the change of one record, as the Store method that wrote
// it did.
func (f *File) apply(kind byte, p []byte) error {
	ix := &f.ix
	switch kind {
	case kindPutRegistration:
		d, ok := decodeRegistration(p)
		if !ok {
			return fmt.Errorf("%w: registration that does not decode", ErrCorrupt)
		}
		r := d.reg
		if r.ID == "" || r.Endpoint == "" {
			return fmt.Errorf("%w: registration without an id or an endpoint", ErrCorrupt)
		}
		internStrings(r)
		ix.share(r, d.objects, d.formats)
		prev, replaced, dropped := ix.putRegistration(r)
		delta := registrationRecordLen(r) - registrationRecordLen(prev) - registrationRecordLen(replaced)
		for _, o := range dropped {
			delta -= observationRecordLen(o)
		}
		f.live += int64(delta)
	case kindDeleteRegistration:
		r := ix.regs[string(p)]
		if r == nil {
			return fmt.Errorf("%w: deletion of registration %q, which does not exist", ErrCorrupt, p)
		}
		obs := ix.removeRegistration(r)
		f.live -= int64(registrationRecordLen(r))
		for _, o := range obs {
			f.live -= int64(observationRecordLen(o))
		}
	case kindPutObservation:
		o, ok := decodeObservation(p)
		if !ok {
			return fmt.Errorf("%w: observation that does not decode", ErrCorrupt)
		}
		if o.Token == "" {
			return fmt.Errorf("%w: observation without a token", ErrCorrupt)
		}
		prev, err := ix.putObservation(o)
		if err != nil {
			return fmt.Errorf("%w: observation %x of registration %q, which does not exist", ErrCorrupt, o.Token, o.RegistrationID)
		}
		f.live += int64(observationRecordLen(o) - observationRecordLen(prev))
	case kindDeleteObservation:
		o := ix.deleteObservation(string(p))
		if o == nil {
			return fmt.Errorf("%w: deletion of observation %x, which does not exist", ErrCorrupt, p)
		}
		f.live -= int64(observationRecordLen(o))
	case kindPutKV, kindDeleteKV:
		if !f.applyKV(kind, p) {
			return fmt.Errorf("%w: key-value record that does not decode", ErrCorrupt)
		}
	default:
		return fmt.Errorf("%w: record kind %d unknown to format version %d", ErrCorrupt, kind, formatVersion)
	}
	return nil
}
