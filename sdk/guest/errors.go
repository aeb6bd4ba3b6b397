package guest

import (
	"errors"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// ErrNoHost is what host functions return natively when no host is at
// hand: the context does not come from a call of a Dispatcher with a Host,
// and SetHost was not called.
var ErrNoHost = &model.Error{Code: model.NotImplemented, Msg: "guest: no host (call with the context of a Dispatcher call, or SetHost)"}

// errStarted refuses a second Start of an instance.
var errStarted = &model.Error{Code: model.PreconditionFailed, Msg: "guest: instance already started"}

// errRoot is every method's answer for the root path, which is no
// object's (GUIDE.md, "What an object plugin checks").
var errRoot = &model.Error{Code: model.BadRequest, Msg: "no object at the root path"}

// messageOf returns the human part of err's message, without the code and
// reason phrase that an *model.Error puts in front, since the other side
// rebuilds an *model.Error from the status and this message.
func messageOf(err error) string {
	var e *model.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	s := err.Error()
	prefix := e.Code.String()
	if t := e.Code.Text(); t != "" {
		prefix += " " + t
	}
	if s == prefix {
		return ""
	}
	if rest, ok := strings.CutPrefix(s, prefix+": "); ok {
		return rest
	}
	return s // wrapped: "sensor: 4.04 Not Found: ..." keeps its context
}
