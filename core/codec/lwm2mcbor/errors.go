package lwm2mcbor

import (
	"errors"
	"fmt"

	"github.com/wasm2m/wasm2m/core/model"
)

// Every error of this package is a *model.Error. Decoding errors are 4.00
// Bad Request, so errors.Is(err, model.ErrBadRequest) holds for them, and
// those about malformed CBOR also wrap cbor.ErrMalformed. Encoding errors
// (a node or record that LwM2M CBOR cannot carry) are 4.00 too, as
// model.Node.Validate reports malformed nodes.

// errorf returns a 4.00 *model.Error whose message starts with
// "lwm2mcbor: ". A %w verb wraps its operand.
func errorf(format string, args ...any) error {
	return model.Errorf(model.BadRequest, "lwm2mcbor: "+format, args...)
}

// wrap prefixes an error from package model with "lwm2mcbor: ", keeping
// its code and its chain.
func wrap(err error) error {
	var me *model.Error
	if errors.As(err, &me) {
		return &model.Error{Code: me.Code, Msg: "lwm2mcbor: " + me.Msg, Err: err}
	}
	return &model.Error{Code: model.BadRequest, Msg: fmt.Sprintf("lwm2mcbor: %v", err), Err: err}
}
