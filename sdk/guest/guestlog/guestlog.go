// Package guestlog gives a wasm2m plugin a *slog.Logger whose records go
// to the host's logger through guest.Log. It is a package of its own
// because log/slog adds over half a megabyte to a Wasm plugin: plugins
// that log with guest.Log do not pay for it.
//
// Package guestlog imports the standard library and sdk/guest only.
package guestlog

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/wasm2m/wasm2m/sdk/guest"
)

// New returns a logger whose records go to the host: its methods with a
// context (InfoContext...) reach the host of that context (the call's),
// the others the default host. A record becomes one line,
// `msg key=value group.key=value`.
func New() *slog.Logger { return slog.New(&handler{}) }

// handler formats a record as one line and hands it to guest.Log.
// Attributes given With are formatted once.
type handler struct {
	attrs  []byte // preformatted " key=value" pairs
	prefix string // group prefix such as "g." for keys
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	b := make([]byte, 0, len(r.Message)+len(h.attrs)+16*r.NumAttrs())
	b = append(b, r.Message...)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.prefix, a)
		return true
	})
	guest.Log(ctx, guest.Level(r.Level), string(b))
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &handler{attrs: append([]byte(nil), h.attrs...), prefix: h.prefix}
	for _, a := range as {
		n.attrs = appendAttr(n.attrs, h.prefix, a)
	}
	return n
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{attrs: h.attrs, prefix: h.prefix + name + "."}
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
		return guest.AppendLogText(b, a.Value.String())
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
		return guest.AppendLogText(b, err.Error())
	}
	return guest.AppendLogText(b, a.Value.String())
}
