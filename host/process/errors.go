package process

import (
	"errors"

	"github.com/wasm2m/wasm2m/core/model"
)

// ErrClosed is returned, possibly wrapped, by a call of a Plugin after
// Close. It is a 5.03.
var ErrClosed = &model.Error{Code: model.ServiceUnavailable, Msg: "process plugin: closed"}

// ErrChecksum is wrapped by the error of Start, and logged at a restart,
// when the plugin program's SHA-256 is not the one configured (or, at a
// restart, not the one it had when it started).
var ErrChecksum = errors.New("plugin program checksum mismatch")

// ErrVersion is wrapped by the error of Start when the plugin was built
// against an ABI this host does not speak: another major version (refused
// by go-plugin's handshake) or a newer minor version.
var ErrVersion = errors.New("plugin ABI version not supported")
