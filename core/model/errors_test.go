package model

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		c    Code
		s    string
		text string
	}{
		{Content, "2.05", "Content"}, {BadRequest, "4.00", "Bad Request"}, {Unauthorized, "4.01", "Unauthorized"},
		{NotFound, "4.04", "Not Found"}, {MethodNotAllowed, "4.05", "Method Not Allowed"},
		{NotAcceptable, "4.06", "Not Acceptable"}, {PreconditionFailed, "4.12", "Precondition Failed"},
		{RequestEntityTooLarge, "4.13", "Request Entity Too Large"},
		{UnsupportedContentFormat, "4.15", "Unsupported Content-Format"}, {InternalServerError, "5.00", "Internal Server Error"},
		{GatewayTimeout, "5.04", "Gateway Timeout"},
	} {
		if tc.c.String() != tc.s || tc.c.Text() != tc.text {
			t.Errorf("%d: %s %q, want %s %q", tc.c, tc.c, tc.c.Text(), tc.s, tc.text)
		}
	}
	if MakeCode(4, 4) != NotFound || NotFound.Class() != 4 || NotFound.Detail() != 4 || !Content.IsSuccess() || NotFound.IsSuccess() {
		t.Error("MakeCode/Class/Detail")
	}
	if uint8(NotFound) != 0x84 || uint8(Content) != 0x45 {
		t.Error("wire values")
	}
}

func TestErrorsIs(t *testing.T) {
	err := Errorf(NotFound, "object %d", 9)
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrBadRequest) {
		t.Error("errors.Is by code")
	}
	if err.Error() != "4.04 Not Found: object 9" {
		t.Errorf("message %q", err.Error())
	}
	wrapped := fmt.Errorf("read /9/0: %w", err)
	if !errors.Is(wrapped, ErrNotFound) || CodeOf(wrapped) != NotFound {
		t.Error("wrapped")
	}
	cause := Errorf(BadRequest, "decode: %w", io.ErrUnexpectedEOF)
	if !errors.Is(cause, io.ErrUnexpectedEOF) || !errors.Is(cause, ErrBadRequest) {
		t.Error("cause lost")
	}
	if cause.Error() != "4.00 Bad Request: decode: unexpected EOF" {
		t.Errorf("message %q", cause.Error())
	}
	// A sentinel with its own message matches only itself.
	if errors.Is(ErrNotFound, err) {
		t.Error("a sentinel matched a specific error")
	}
	if CodeOf(nil) != 0 || CodeOf(io.EOF) != InternalServerError {
		t.Error("CodeOf")
	}
	if (&Error{Code: Forbidden, Err: io.EOF}).Error() != "4.03 Forbidden: EOF" {
		t.Error("cause-only message")
	}
}
