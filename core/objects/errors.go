package objects

import (
	"errors"
	"strconv"
)

// Errors wrapped by a *ParseError for the refusals a caller may want to
// tell apart from an ordinary mistake in a definition file.
var (
	// ErrTooLarge is wrapped when a document exceeds MaxDDFSize bytes.
	ErrTooLarge = errors.New("definition file too large")
	// ErrTooDeep is wrapped when elements nest deeper than the loader
	// allows; real definition files nest five levels.
	ErrTooDeep = errors.New("elements nested too deep")
	// ErrEntity is wrapped when a document's DOCTYPE declares an entity.
	// The loader never resolves an entity, external or internal; a
	// reference to an undeclared one is malformed XML.
	ErrEntity = errors.New("entity declarations are not accepted")
)

// ParseError is an error in a definition file: where it is and what is
// wrong. Line and Column are 1-based and count from the start of the
// document; they are 0 when the position is unknown.
type ParseError struct {
	Name   string // the name given to ParseDDF, usually the file's path
	Line   int
	Column int
	Err    error
}

// Error formats e as "name:line:column: message", as compilers do, so that
// editors can jump to it.
func (e *ParseError) Error() string {
	s := e.Name
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
		if e.Column > 0 {
			s += ":" + strconv.Itoa(e.Column)
		}
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }
