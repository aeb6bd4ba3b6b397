package senml

import (
	"errors"
	"fmt"

	"github.com/wasm2m/wasm2m/core/model"
)

// Every error of this package is a *model.Error: 4.00 Bad Request for
// input that does not decode, so that errors.Is(err, model.ErrBadRequest)
// holds, and 4.06 Not Acceptable for a node or record that SenML cannot
// carry. Errors from package model keep their code and their chain
// (model.ErrInvalidPath, model.ErrWrongType).

// errorf returns a 4.00 *model.Error whose message starts with "senml: ".
func errorf(format string, args ...any) error {
	return model.Errorf(model.BadRequest, "senml: "+format, args...)
}

// unacceptable returns a 4.06 *model.Error for what an encoder cannot
// write.
func unacceptable(format string, args ...any) error {
	return model.Errorf(model.NotAcceptable, "senml: "+format, args...)
}

// wrapf prefixes an error from package model with "senml: " and context,
// keeping its code and its chain.
func wrapf(err error, format string, args ...any) error {
	ctx := fmt.Sprintf(format, args...)
	var me *model.Error
	if errors.As(err, &me) {
		return &model.Error{Code: me.Code, Msg: "senml: " + ctx + ": " + me.Msg, Err: err}
	}
	return &model.Error{Code: model.BadRequest, Msg: "senml: " + ctx + ": " + err.Error(), Err: err}
}

// wrap prefixes an error from package model with "senml: ".
func wrap(err error) error {
	var me *model.Error
	if errors.As(err, &me) {
		return &model.Error{Code: me.Code, Msg: "senml: " + me.Msg, Err: err}
	}
	return &model.Error{Code: model.BadRequest, Msg: "senml: " + err.Error(), Err: err}
}
