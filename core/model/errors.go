package model

import (
	"errors"
	"fmt"
)

// Code is a CoAP response code: the class in the top three bits and the
// detail in the low five, as on the wire (RFC 7252 section 3). 4.04 is
// Code(4<<5 | 4).
type Code uint8

// MakeCode returns the code class.detail, such as MakeCode(4, 4) for 4.04.
func MakeCode(class, detail uint8) Code { return Code(class<<5 | detail&0x1f) }

// CoAP response codes used by LwM2M (Core 1.1 section 6; RFC 7252 section
// 12.1.2; RFC 7959 for 4.08 and 4.13).
const (
	Created                  Code = 2<<5 | 1
	Deleted                  Code = 2<<5 | 2
	Valid                    Code = 2<<5 | 3
	Changed                  Code = 2<<5 | 4
	Content                  Code = 2<<5 | 5
	Continue                 Code = 2<<5 | 31
	BadRequest               Code = 4<<5 | 0
	Unauthorized             Code = 4<<5 | 1
	BadOption                Code = 4<<5 | 2
	Forbidden                Code = 4<<5 | 3
	NotFound                 Code = 4<<5 | 4
	MethodNotAllowed         Code = 4<<5 | 5
	NotAcceptable            Code = 4<<5 | 6
	RequestEntityIncomplete  Code = 4<<5 | 8
	Conflict                 Code = 4<<5 | 9
	PreconditionFailed       Code = 4<<5 | 12
	RequestEntityTooLarge    Code = 4<<5 | 13
	UnsupportedContentFormat Code = 4<<5 | 15
	InternalServerError      Code = 5<<5 | 0
	NotImplemented           Code = 5<<5 | 1
	BadGateway               Code = 5<<5 | 2
	ServiceUnavailable       Code = 5<<5 | 3
	GatewayTimeout           Code = 5<<5 | 4
)

// Class returns the code class: 2 for success, 4 for a client error, 5 for
// a server error.
func (c Code) Class() uint8 { return uint8(c) >> 5 }

// Detail returns the code detail, the part after the dot.
func (c Code) Detail() uint8 { return uint8(c) & 0x1f }

// IsSuccess reports whether c is a 2.xx code.
func (c Code) IsSuccess() bool { return c.Class() == 2 }

// String formats c as class.detail with two detail digits, such as "4.04".
func (c Code) String() string {
	return fmt.Sprintf("%d.%02d", c.Class(), c.Detail())
}

var codeText = map[Code]string{
	Created:                  "Created",
	Deleted:                  "Deleted",
	Valid:                    "Valid",
	Changed:                  "Changed",
	Content:                  "Content",
	Continue:                 "Continue",
	BadRequest:               "Bad Request",
	Unauthorized:             "Unauthorized",
	BadOption:                "Bad Option",
	Forbidden:                "Forbidden",
	NotFound:                 "Not Found",
	MethodNotAllowed:         "Method Not Allowed",
	NotAcceptable:            "Not Acceptable",
	RequestEntityIncomplete:  "Request Entity Incomplete",
	Conflict:                 "Conflict",
	PreconditionFailed:       "Precondition Failed",
	RequestEntityTooLarge:    "Request Entity Too Large",
	UnsupportedContentFormat: "Unsupported Content-Format",
	InternalServerError:      "Internal Server Error",
	NotImplemented:           "Not Implemented",
	BadGateway:               "Bad Gateway",
	ServiceUnavailable:       "Service Unavailable",
	GatewayTimeout:           "Gateway Timeout",
}

// Text returns the reason phrase of c, such as "Not Found", or "" for a
// code without one.
func (c Code) Text() string { return codeText[c] }

// Error is an LwM2M error: a CoAP response code and a message for humans.
// Only the transport turns an Error into a response; everything else
// returns it, wraps it with %w, and tests it with errors.Is against the
// sentinels below, which match any Error with the same code.
type Error struct {
	Code Code
	Msg  string
	Err  error // the cause, if any
}

func (e *Error) Error() string {
	s := e.Code.String()
	if t := e.Code.Text(); t != "" {
		s += " " + t
	}
	switch {
	case e.Msg != "":
		s += ": " + e.Msg
	case e.Err != nil:
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code and no message
// of its own, so that errors.Is(err, ErrNotFound) holds for every 4.04.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Msg == "" && t.Err == nil
}

// Sentinels, one per response code an LwM2M peer sends as an error.
var (
	ErrBadRequest               = &Error{Code: BadRequest}
	ErrUnauthorized             = &Error{Code: Unauthorized}
	ErrBadOption                = &Error{Code: BadOption}
	ErrForbidden                = &Error{Code: Forbidden}
	ErrNotFound                 = &Error{Code: NotFound}
	ErrMethodNotAllowed         = &Error{Code: MethodNotAllowed}
	ErrNotAcceptable            = &Error{Code: NotAcceptable}
	ErrRequestEntityIncomplete  = &Error{Code: RequestEntityIncomplete}
	ErrConflict                 = &Error{Code: Conflict}
	ErrPreconditionFailed       = &Error{Code: PreconditionFailed}
	ErrRequestEntityTooLarge    = &Error{Code: RequestEntityTooLarge}
	ErrUnsupportedContentFormat = &Error{Code: UnsupportedContentFormat}
	ErrInternal                 = &Error{Code: InternalServerError}
	ErrNotImplemented           = &Error{Code: NotImplemented}
	ErrServiceUnavailable       = &Error{Code: ServiceUnavailable}
	ErrGatewayTimeout           = &Error{Code: GatewayTimeout}
)

// Errorf returns an *Error with code and a formatted message. A %w verb in
// format wraps its operand as the cause (its text is part of the message).
func Errorf(code Code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// CodeOf returns the CoAP code carried by err: the code of the first *Error
// in its chain, 5.00 for any other non-nil error, and 0 for nil.
func CodeOf(err error) Code {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return InternalServerError
}
