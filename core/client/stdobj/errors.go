package stdobj

import "github.com/wasm2m/wasm2m/core/model"

// ErrClosed is returned by what an object cannot do once closed: start a
// firmware download or update, or a simulation. It is a 5.03, so
// errors.Is(err, model.ErrServiceUnavailable) holds too.
var ErrClosed = &model.Error{Code: model.ServiceUnavailable, Msg: "object closed"}
