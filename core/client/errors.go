package client

import (
	"errors"

	"github.com/wasm2m/wasm2m/core/model"
)

// Errors of the Engine's methods. Those that describe an LwM2M condition
// are *model.Error values carrying the CoAP code a host would pass on, so
// that errors.Is(err, model.ErrServiceUnavailable) holds as well.
var (
	// ErrClosed is returned by calls on an engine that is closed or
	// closing.
	ErrClosed error = &model.Error{Code: model.ServiceUnavailable, Msg: "client: engine closed"}

	// ErrNotStarted is returned by calls that need a started engine.
	ErrNotStarted = errors.New("client: engine not started")

	// ErrNotRegistered is returned by Send when no server it would send
	// to is registered.
	ErrNotRegistered error = &model.Error{Code: model.ServiceUnavailable, Msg: "client: not registered with that server"}

	// ErrMuted is returned by Send to a server whose Mute Send resource
	// (/1/x/23) is true.
	ErrMuted error = &model.Error{Code: model.Forbidden, Msg: "client: send is muted for that server (/1/x/23)"}

	// ErrUnsupportedScheme marks a server URI the engine cannot reach:
	// coaps (DTLS) and anything but coap for now.
	ErrUnsupportedScheme = errors.New("unsupported server URI scheme")
)
