package bootstrap

import (
	"errors"

	"github.com/wasm2m/wasm2m/core/model"
)

// Errors of the bootstrap server.
var (
	// ErrClosed ends the sequences running when the server closes.
	ErrClosed = &model.Error{Code: model.ServiceUnavailable, Msg: "bootstrap: server closed"}

	// ErrSuperseded ends a sequence when the same endpoint sends a new
	// Bootstrap-Request: the new sequence starts from the beginning.
	ErrSuperseded = errors.New("bootstrap: superseded by a new Bootstrap-Request")

	// ErrRefused marks a sequence step the device answered with an error
	// code; the Result's Code is that code.
	ErrRefused = errors.New("bootstrap: the device refused")

	// ErrCollision marks a configuration that would write over the
	// device's bootstrap account (an explicit Security instance id that
	// the bootstrap account holds).
	ErrCollision = errors.New("bootstrap: instance id collides with the bootstrap account")
)
