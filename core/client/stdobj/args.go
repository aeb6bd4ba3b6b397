package stdobj

import "github.com/wasm2m/wasm2m/core/model"

// Arg is one argument of an Execute request: a digit and, when given, a
// quoted value.
type Arg struct {
	ID       uint8  // 0 to 9
	Value    string // without its quotes
	HasValue bool
}

// ParseArgs parses the payload of an Execute request, with the grammar
// Core 1.1 gives for Execute arguments:
//
//	arglist  = argument *( "," argument )
//	argument = DIGIT [ "=" "'" *CHAR "'" ]
//	CHAR     = %x21 / %x23-26 / %x28-5B / %x5D-7E
//
// such as `0='4',1`. An empty payload has no arguments. Anything else is
// a 4.00 error.
func ParseArgs(b []byte) ([]Arg, error) {
	var out []Arg
	for i := 0; i < len(b); {
		if len(out) > 0 {
			if b[i] != ',' {
				return nil, argError(b, i, "want ','")
			}
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, argError(b, i, "want a digit")
		}
		a := Arg{ID: b[i] - '0'}
		i++
		if i < len(b) && b[i] == '=' {
			if i+1 >= len(b) || b[i+1] != '\'' {
				return nil, argError(b, i+1, "want a quoted value")
			}
			start := i + 2
			j := start
			for j < len(b) && b[j] != '\'' {
				if c := b[j]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
					return nil, argError(b, j, "character not allowed in a value")
				}
				j++
			}
			if j >= len(b) {
				return nil, argError(b, j, "unterminated value")
			}
			a.Value, a.HasValue = string(b[start:j]), true
			i = j + 1
		}
		out = append(out, a)
	}
	return out, nil
}

func argError(b []byte, at int, why string) error {
	return model.Errorf(model.BadRequest, "execute arguments %q at %d: %s", clip(b), at, why)
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
