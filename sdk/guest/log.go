package guest

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Level is the importance of a log line, with slog.Level's numbers: the
// log import takes it as is.
type Level int

// Levels of log lines.
const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

// Log logs msg with slog-style key-value args through the host's logger
// (the log import), which tags it with the plugin's id:
//
//	guest.Log(ctx, guest.LevelInfo, "valve opened", "instance", id)
//
// becomes the line `valve opened instance=3`. The host decides which
// levels it keeps. Natively, without a host, the line goes to
// slog.Default().
//
// Log does not use log/slog, which would add over half a megabyte to
// every plugin; the guestlog package gives a *slog.Logger to plugins that
// want one.
func Log(ctx context.Context, level Level, msg string, args ...any) {
	b := make([]byte, 0, len(msg)+16*len(args))
	b = append(b, msg...)
	for len(args) > 0 {
		key, ok := args[0].(string)
		if !ok || len(args) == 1 {
			// As slog does: a value without a key.
			b = appendPair(b, "!BADKEY", args[0])
			args = args[1:]
			continue
		}
		b = appendPair(b, key, args[1])
		args = args[2:]
	}
	h := hostOf(ctx)
	if h == nil {
		logDefault(ctx, level, string(b))
		return
	}
	h.Log(level, string(b))
}

func appendPair(b []byte, key string, v any) []byte {
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	switch v := v.(type) {
	case string:
		return AppendLogText(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case int32:
		return strconv.AppendInt(b, int64(v), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case uint:
		return strconv.AppendUint(b, uint64(v), 10)
	case bool:
		return strconv.AppendBool(b, v)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case error:
		return AppendLogText(b, v.Error())
	case fmt.Stringer:
		return AppendLogText(b, v.String())
	case nil:
		return append(b, "<nil>"...)
	}
	return AppendLogText(b, fmt.Sprint(v))
}

// AppendLogText appends s as a value of a log line: quoted when it is
// empty or holds a space, a quote, an '=' or anything that is not
// printable UTF-8.
func AppendLogText(b []byte, s string) []byte {
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
