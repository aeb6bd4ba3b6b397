package wasm

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// lineWriter turns a guest's standard output or error into log records,
// one a line (a Go guest's panic prints there). A line longer than
// maxLogLen is cut into records of that size.
type lineWriter struct {
	mu     sync.Mutex
	log    *slog.Logger
	level  slog.Level
	stream string
	buf    []byte
}

func newLineWriter(log *slog.Logger, level slog.Level, stream string) *lineWriter {
	return &lineWriter{log: log, level: level, stream: stream}
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	start := 0
	for {
		i := bytes.IndexByte(w.buf[start:], '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[start : start+i])
		start += i + 1
	}
	for len(w.buf)-start >= maxLogLen {
		w.emit(w.buf[start : start+maxLogLen])
		start += maxLogLen
	}
	w.buf = w.buf[:copy(w.buf, w.buf[start:])]
	return len(b), nil
}

func (w *lineWriter) emit(line []byte) {
	w.log.Log(context.Background(), w.level, string(bytes.TrimSuffix(line, []byte("\r"))), "stream", w.stream)
}

// flush logs what is left of an unfinished line.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
}
