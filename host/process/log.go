package process

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// lineLogger re-logs what a plugin process writes, one slog record per
// line, through the host's logger (which carries the plugin's id). A line
// that is a JSON object with a message (slog's JSONHandler, as
// sdk/procplugin.Logger writes, or hclog's JSON) keeps its level and
// attributes; any other line is logged at level as it is.
type lineLogger struct {
	log    *atomic.Pointer[slog.Logger]
	stream string
	level  slog.Level
	mu     sync.Mutex
	buf    []byte
}

// maxLine bounds a line held while waiting for its end.
const maxLine = 64 << 10

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > maxLine {
				w.emit(w.buf)
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

func (w *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return
	}
	ctx := context.Background()
	if line[0] == '{' {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			msg, ok := m["msg"].(string)
			lv, _ := m["level"].(string)
			if !ok {
				msg, ok = m["@message"].(string)
				lv, _ = m["@level"].(string)
			}
			if ok {
				level := w.level
				_ = level.UnmarshalText([]byte(strings.ToUpper(lv)))
				attrs := []any{"stream", w.stream}
				for k, v := range m {
					switch k {
					case "msg", "level", "time", "@message", "@level", "@timestamp":
					default:
						attrs = append(attrs, k, v)
					}
				}
				w.log.Load().Log(ctx, level, msg, attrs...)
				return
			}
		}
	}
	w.log.Load().Log(ctx, w.level, string(line), "stream", w.stream)
}
