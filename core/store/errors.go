package store

import (
	"errors"
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
)

// ErrClosed is returned, possibly wrapped, by every method of a store after
// Close. It is a 5.03: errors.Is(err, model.ErrServiceUnavailable) holds.
var ErrClosed = &model.Error{Code: model.ServiceUnavailable, Msg: "store: closed"}

// ErrCorrupt is wrapped by the error OpenFile returns when a log holds a
// damaged record that is not its torn tail, or a record that checks out but
// makes no sense (an observation of an unknown registration, a kind this
// version does not know). The message names the file offset of the record.
var ErrCorrupt = errors.New("corrupt store file")

// ErrFormat is wrapped by the error OpenFile returns for a file that is not
// a wasm2m store, or one written in a format version this build does not
// read. A newer version is refused, never read as if it were this one.
var ErrFormat = errors.New("unsupported store file")

// ErrLocked is wrapped by the error OpenFile returns when another File, in
// this process or another, has the same path open.
var ErrLocked = errors.New("store file in use")

// notFound returns the 4.04 a store answers for a missing thing: "store:
// no WHAT KEY". Its text is only formatted when read, since a miss is an
// ordinary answer on hot paths (every plain Register asks the security
// store whether its endpoint has a credential).
func notFound(what, key string) error {
	return &model.Error{Code: model.NotFound, Err: &missing{what: what, key: key}}
}

// notFoundIn is notFound for a key in namespace ns: "store: no WHAT in
// "NS": KEY".
func notFoundIn(what, ns, key string) error {
	return &model.Error{Code: model.NotFound, Err: &missing{what: what, ns: ns, key: key}}
}

type missing struct{ what, ns, key string }

func (m *missing) Error() string {
	if m.ns != "" {
		return "store: no " + m.what + " in " + strconv.Quote(m.ns) + ": " + strconv.Quote(m.key)
	}
	return "store: no " + m.what + " " + strconv.Quote(m.key)
}
