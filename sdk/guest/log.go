package guest

import (
	"context"
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// Log logs msg with slog-style key-value args through the host's logger
// (the log import), which tags it with the plugin's id:
//
//	guest.Log(ctx, slog.LevelInfo, "valve opened", "instance", id)
//
// The host decides which levels it keeps. Natively, without a host, the
// record goes to slog.Default().
func Log(ctx context.Context, level slog.Level, msg string, args ...any) {
	logger.Log(ctx, level, msg, args...)
}

var logger = slog.New(&logHandler{})

// Logger returns a *slog.Logger whose records go to the host's logger.
// Its methods with a context (InfoContext...) reach the host of that
// context; the others the default host.
func Logger() *slog.Logger { return logger }

// logHandler formats a record as one line, `msg key=value key=value`, and
// hands it to the log import. Attributes given With are formatted once.
type logHandler struct {
	attrs  []byte // preformatted " key=value" pairs
	prefix string // group prefix such as "g." for keys
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	b := make([]byte, 0, len(r.Message)+len(h.attrs)+16*r.NumAttrs())
	b = append(b, r.Message...)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.prefix, a)
		return true
	})
	host := hostOf(ctx)
	if host == nil {
		slog.Default().Log(ctx, r.Level, string(b))
		return nil
	}
	host.Log(r.Level, string(b))
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &logHandler{attrs: append([]byte(nil), h.attrs...), prefix: h.prefix}
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return n
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &logHandler{attrs: h.attrs, prefix: h.prefix + name + "."}
}

func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			b = appendAttr(b, p, g)
		}
		return b
	}
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, a.Key...)
	b = append(b, '=')
	switch a.Value.Kind() {
	case slog.KindString:
		return appendText(b, a.Value.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, a.Value.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, a.Value.Uint64(), 10)
	case slog.KindBool:
		return strconv.AppendBool(b, a.Value.Bool())
	case slog.KindFloat64:
		return strconv.AppendFloat(b, a.Value.Float64(), 'g', -1, 64)
	}
	if err, ok := a.Value.Any().(error); ok {
		return appendText(b, err.Error())
	}
	return appendText(b, a.Value.String())
}

// appendText appends s, quoted when it is empty or holds a space, a quote,
// an '=' or anything that is not printable UTF-8.
func appendText(b []byte, s string) []byte {
	if s == "" || !utf8.ValidString(s) {
		return strconv.AppendQuote(b, s)
	}
	for _, c := range s {
		if c <= ' ' || c == '"' || c == '=' || c == 0x7f {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}
