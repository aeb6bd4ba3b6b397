package wasm

import (
	"errors"

	"github.com/wasm2m/wasm2m/core/model"
)

// ErrClosed is returned by a call on a plugin or runtime that was closed.
// Its code is 5.03 Service Unavailable.
var ErrClosed = &model.Error{Code: model.ServiceUnavailable, Msg: "plugin closed"}

// ErrInvalidModule matches (errors.Is) every error of Load and Reload that
// refuses the module itself: not Wasm, a wrong ABI major version, a
// missing export or a wrong signature, a forbidden import, a memory over
// the limit, a first instance that cannot start (_initialize traps, the
// Start request fails).
var ErrInvalidModule = errors.New("invalid plugin module")
