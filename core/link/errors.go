package link

import "errors"

// Sentinel errors. Every error this package returns for bad input is a
// 4.00 *model.Error wrapping one of them, so that both
// errors.Is(err, model.ErrBadRequest) and errors.Is(err, ErrSyntax) (say)
// hold.
var (
	// ErrSyntax is wrapped by errors for input that is not RFC 6690 link
	// format.
	ErrSyntax = errors.New("bad link format")

	// ErrAttribute is wrapped by errors for an LwM2M attribute that is
	// unknown where only known ones are allowed, has a bad value, is given
	// twice, is not writable, or is inconsistent with the others.
	ErrAttribute = errors.New("bad attribute")

	// ErrTarget is wrapped by errors for a link whose target an LwM2M
	// payload cannot hold: not an LwM2M path, outside the root path, or
	// listed twice.
	ErrTarget = errors.New("bad link target")
)
