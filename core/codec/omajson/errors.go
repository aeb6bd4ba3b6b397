package omajson

import (
	"errors"
	"fmt"

	"github.com/wasm2m/wasm2m/core/model"
)

// Every error of this package is a *model.Error. Decoding errors are 4.00
// Bad Request, so errors.Is(err, model.ErrBadRequest) holds for them;
// encoding errors (a node or record that OMA JSON cannot carry) are 4.00
// too, as model.Node.Validate reports malformed nodes.

// errorf returns a 4.00 *model.Error whose message starts with "omajson: ".
func errorf(format string, args ...any) error {
	return model.Errorf(model.BadRequest, "omajson: "+format, args...)
}

// wrap prefixes an error from package model with "omajson: ", keeping its
// code and its chain (model.ErrWrongType, model.ErrInvalidPath).
func wrap(err error) error {
	var me *model.Error
	if errors.As(err, &me) {
		return &model.Error{Code: me.Code, Msg: "omajson: " + me.Msg, Err: err}
	}
	return &model.Error{Code: model.BadRequest, Msg: fmt.Sprintf("omajson: %v", err), Err: err}
}

// wrapf is wrap with more context: "omajson: <context>: <model message>".
func wrapf(err error, format string, args ...any) error {
	ctx := fmt.Sprintf(format, args...)
	var me *model.Error
	if errors.As(err, &me) {
		return &model.Error{Code: me.Code, Msg: "omajson: " + ctx + ": " + me.Msg, Err: err}
	}
	return &model.Error{Code: model.BadRequest, Msg: "omajson: " + ctx + ": " + err.Error(), Err: err}
}
