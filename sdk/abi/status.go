package abi

import (
	"context"
	"errors"

	"github.com/wasm2m/wasm2m/core/model"
)

// A status is the outcome of a call, as an int32: 0 for success, otherwise
// an LwM2M error as its CoAP code (class<<5 | detail, as model.Code: 132
// is 4.04). A call that fails returns -status (ExportCall, ImportCall),
// so a status in an error is always 128 (4.00) to 255; 0 never appears as
// an error.
//
// The statuses a plugin and the host use most.
const (
	StatusOK                 int32 = 0
	StatusBadRequest         int32 = int32(model.BadRequest)          // 128, 4.00: a malformed request
	StatusUnauthorized       int32 = int32(model.Unauthorized)        // 129, 4.01
	StatusForbidden          int32 = int32(model.Forbidden)           // 131, 4.03: a host method without its capability
	StatusNotFound           int32 = int32(model.NotFound)            // 132, 4.04: no such object, instance or resource
	StatusMethodNotAllowed   int32 = int32(model.MethodNotAllowed)    // 133, 4.05: the operation is not allowed on the resource
	StatusNotAcceptable      int32 = int32(model.NotAcceptable)       // 134, 4.06
	StatusConflict           int32 = int32(model.Conflict)            // 137, 4.09
	StatusInternal           int32 = int32(model.InternalServerError) // 160, 5.00: anything else
	StatusNotImplemented     int32 = int32(model.NotImplemented)      // 161, 5.01: a method the plugin does not implement
	StatusServiceUnavailable int32 = int32(model.ServiceUnavailable)  // 163, 5.03
	StatusGatewayTimeout     int32 = int32(model.GatewayTimeout)      // 164, 5.04: a device did not answer in time
	StatusUnsupportedFormat  int32 = int32(model.UnsupportedContentFormat)
	StatusRequestTooLarge    int32 = int32(model.RequestEntityTooLarge)
	StatusPreconditionFailed int32 = int32(model.PreconditionFailed)
	StatusRequestIncomplete  int32 = int32(model.RequestEntityIncomplete)
	StatusBadOption          int32 = int32(model.BadOption)
	StatusBadGateway         int32 = int32(model.BadGateway)
)

// StatusOf returns the status that reports err: 0 for nil, the code of the
// first *model.Error in err's chain when that is a 4.xx or 5.xx code, and
// StatusInternal (5.00) for any other error.
func StatusOf(err error) int32 {
	if err == nil {
		return 0
	}
	var e *model.Error
	if errors.As(err, &e) && (e.Code.Class() == 4 || e.Code.Class() == 5) {
		return int32(e.Code)
	}
	// A plugin that gives up because its caller's deadline passed or its
	// call was canceled says so as the hosts do (host/wasm, host/process).
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return int32(model.GatewayTimeout)
	case errors.Is(err, context.Canceled):
		return int32(model.ServiceUnavailable)
	}
	return StatusInternal
}

// ErrorOf returns the error that status reports, with msg (the peer's
// message, such as wasm2m_last_error's) as its text: nil for 0, otherwise a
// *model.Error with the status as its code, so that errors.Is(err,
// model.ErrNotFound) holds for 132. A status that is not a 4.xx or 5.xx
// code (the peer broke the contract) becomes 5.00 and says so.
func ErrorOf(status int32, msg string) error {
	if status == 0 {
		return nil
	}
	if status < int32(model.BadRequest) || status > 255 || model.Code(status).Class() > 5 {
		if msg != "" {
			msg = ": " + msg
		}
		return &model.Error{Code: model.InternalServerError, Msg: "invalid status " + StatusText(status) + msg}
	}
	return &model.Error{Code: model.Code(status), Msg: msg}
}

// PackResult packs a response at address ptr of n bytes into the i64 that
// ExportCall returns: ptr<<32 | n. ptr must be below 2^31 so that the
// result stays non-negative.
func PackResult(ptr, n uint32) int64 { return int64(uint64(ptr)<<32 | uint64(n)) }

// PackStatus packs a failed call's status (128 to 255) into the i64 that
// ExportCall returns: -status.
func PackStatus(status int32) int64 { return -int64(status) }

// UnpackResult reads what ExportCall or ExportLastError returned: the
// address and length of the response, or the status of a failed call
// (r < 0), with ptr and n zero.
func UnpackResult(r int64) (ptr, n uint32, status int32) {
	if r < 0 {
		if r < -255 {
			return 0, 0, StatusInternal // not a status: the guest broke the contract
		}
		return 0, 0, int32(-r)
	}
	return uint32(uint64(r) >> 32), uint32(r), 0
}
