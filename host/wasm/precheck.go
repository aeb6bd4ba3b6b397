package wasm

import (
	"errors"
	"fmt"
)

// precheck walks a module's structure before wazero decodes it, and
// refuses any count or size that cannot fit in the bytes that follow it.
// wazero v1.12 allocates by a declared count before it reads what is
// counted, so a 17-byte module can ask for 4 GiB, and the Go runtime then
// dies of a fatal out-of-memory error that no recover catches (found by
// FuzzLoad). Every element of a vector takes at least one byte, so a
// count above the bytes left is a lie. It also bounds what wazero would
// allocate per instance from honest declarations: tables of at most
// maxTableElems entries, at most maxLocals locals in a function.
//
// precheck understands the binary format of Wasm 2.0 (what wazero's
// default features decode); anything else is refused with a message
// saying what. What it does not check (validation proper) is wazero's.
func precheck(b []byte) error {
	if len(b) < 8 || string(b[:8]) != "\x00asm\x01\x00\x00\x00" {
		return nil // wazero says what is wrong with the header
	}
	r := &reader{b: b[8:]}
	for r.left() > 0 {
		id, err := r.byte()
		if err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return fmt.Errorf("section %d: %w", id, err)
		}
		s, err := r.sub(size)
		if err != nil {
			return fmt.Errorf("section %d of %d bytes: %w", id, size, err)
		}
		if err := checkSection(id, s); err != nil {
			return fmt.Errorf("section %d: %w", id, err)
		}
	}
	return nil
}

// Bounds on honest declarations.
const (
	maxTableElems = 1 << 20 // entries of a table at start (8 MiB a table)
	maxLocals     = 50000   // locals of a function, the Web's limit
)

var errShort = errors.New("truncated")

type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) skip(n int) error {
	if n < 0 || n > r.left() {
		return errShort
	}
	r.off += n
	return nil
}

func (r *reader) u32() (uint32, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if v > 1<<32-1 {
				return 0, errors.New("integer too large")
			}
			return uint32(v), nil
		}
	}
	return 0, errors.New("integer too long")
}

// skipLEB skips a signed or unsigned LEB128 of up to 64 bits.
func (r *reader) skipLEB() error {
	for i := 0; i < 10; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return errors.New("integer too long")
}

// count reads the length of a vector whose elements take at least one
// byte each.
func (r *reader) count() (int, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n) > uint64(r.left()) {
		return 0, fmt.Errorf("a count of %d with %d bytes left", n, r.left())
	}
	return int(n), nil
}

func (r *reader) sub(n uint32) (*reader, error) {
	if uint64(n) > uint64(r.left()) {
		return nil, fmt.Errorf("%d bytes left", r.left())
	}
	s := &reader{b: r.b[r.off : r.off+int(n)]}
	r.off += int(n)
	return s, nil
}

func (r *reader) name() error {
	n, err := r.count()
	if err != nil {
		return err
	}
	return r.skip(n)
}

func (r *reader) valType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69: // numbers, v128, funcref, externref, exnref
		return nil
	case 0x63, 0x64: // (ref null ht), (ref ht)
		return r.skipLEB()
	}
	return fmt.Errorf("unknown value type 0x%02x", c)
}

func (r *reader) limits(maxMin uint32) error {
	flag, err := r.byte()
	if err != nil {
		return err
	}
	if flag > 3 {
		return fmt.Errorf("unknown limits 0x%02x", flag)
	}
	min, err := r.u32()
	if err != nil {
		return err
	}
	if min > maxMin {
		return fmt.Errorf("a table of %d entries at start, more than %d", min, maxMin)
	}
	if flag&1 != 0 {
		_, err = r.u32()
	}
	return err
}

// constExpr skips a constant expression up to its end (0x0b).
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41, 0x42, 0xd0: // i32.const, i64.const, ref.null ht
			err = r.skipLEB()
		case 0x43: // f32.const
			err = r.skip(4)
		case 0x44: // f64.const
			err = r.skip(8)
		case 0x23, 0xd2: // global.get, ref.func
			_, err = r.u32()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constant arithmetic
		case 0xfd: // v128.const
			var sub uint32
			if sub, err = r.u32(); err == nil {
				if sub != 12 {
					return fmt.Errorf("opcode 0xfd %d in a constant expression", sub)
				}
				err = r.skip(16)
			}
		default:
			return fmt.Errorf("opcode 0x%02x in a constant expression", op)
		}
		if err != nil {
			return err
		}
	}
}

// vec reads a vector and each element with f.
func (r *reader) vec(f func() error) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) u32Only() error { _, err := r.u32(); return err }

func checkSection(id byte, r *reader) error {
	switch id {
	case 0: // custom
		return checkCustom(r)
	case 1: // types
		return r.vec(func() error {
			form, err := r.byte()
			if err != nil {
				return err
			}
			if form != 0x60 {
				return fmt.Errorf("type form 0x%02x", form)
			}
			if err := r.vec(r.valType); err != nil {
				return err
			}
			return r.vec(r.valType)
		})
	case 2: // imports
		return r.vec(func() error {
			if err := r.name(); err != nil {
				return err
			}
			if err := r.name(); err != nil {
				return err
			}
			kind, err := r.byte()
			if err != nil {
				return err
			}
			switch kind {
			case 0: // function
				return r.u32Only()
			case 1: // table
				if err := r.valType(); err != nil {
					return err
				}
				return r.limits(maxTableElems)
			case 2: // memory: the page limit is wazero's
				return r.limits(1<<32 - 1)
			case 3: // global
				if err := r.valType(); err != nil {
					return err
				}
				_, err := r.byte()
				return err
			case 4: // tag
				if _, err := r.byte(); err != nil {
					return err
				}
				return r.u32Only()
			}
			return fmt.Errorf("import kind 0x%02x", kind)
		})
	case 3, 12: // functions, data count
		if id == 12 {
			return r.u32Only()
		}
		return r.vec(r.u32Only)
	case 4: // tables
		return r.vec(func() error {
			init := r.left() > 1 && r.b[r.off] == 0x40 && r.b[r.off+1] == 0x00
			if init { // a table with an initial value (typed function references)
				r.off += 2
			}
			if err := r.valType(); err != nil {
				return err
			}
			if err := r.limits(maxTableElems); err != nil || !init {
				return err
			}
			return r.constExpr()
		})
	case 5: // memories
		return r.vec(func() error { return r.limits(1<<32 - 1) })
	case 6: // globals
		return r.vec(func() error {
			if err := r.valType(); err != nil {
				return err
			}
			if _, err := r.byte(); err != nil {
				return err
			}
			return r.constExpr()
		})
	case 7: // exports
		return r.vec(func() error {
			if err := r.name(); err != nil {
				return err
			}
			if _, err := r.byte(); err != nil {
				return err
			}
			return r.u32Only()
		})
	case 8: // start
		return r.u32Only()
	case 9: // elements
		return r.vec(r.element)
	case 10: // code
		return r.vec(func() error {
			size, err := r.u32()
			if err != nil {
				return err
			}
			body, err := r.sub(size)
			if err != nil {
				return err
			}
			locals := uint64(0)
			return body.vec(func() error {
				n, err := body.u32()
				if err != nil {
					return err
				}
				if locals += uint64(n); locals > maxLocals {
					return fmt.Errorf("a function with more than %d locals", maxLocals)
				}
				return body.valType()
			})
		})
	case 11: // data
		return r.vec(func() error {
			flag, err := r.u32()
			if err != nil {
				return err
			}
			switch flag {
			case 0:
				err = r.constExpr()
			case 1:
			case 2:
				if err = r.u32Only(); err == nil {
					err = r.constExpr()
				}
			default:
				return fmt.Errorf("data segment form %d", flag)
			}
			if err != nil {
				return err
			}
			return r.name() // a vector of bytes
		})
	case 13: // tags
		return r.vec(func() error {
			if _, err := r.byte(); err != nil {
				return err
			}
			return r.u32Only()
		})
	}
	return fmt.Errorf("unknown section id %d", id)
}

// element reads one element segment (Wasm 2.0 section 5.5.12).
func (r *reader) element() error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 7 {
		return fmt.Errorf("element segment form %d", flags)
	}
	if flags&1 == 0 { // active
		if flags&2 != 0 {
			if err := r.u32Only(); err != nil { // table index
				return err
			}
		}
		if err := r.constExpr(); err != nil { // offset
			return err
		}
	}
	if flags&3 != 0 { // an element kind or reference type follows
		if flags&4 == 0 {
			if _, err := r.byte(); err != nil {
				return err
			}
		} else if err := r.valType(); err != nil {
			return err
		}
	}
	if flags&4 == 0 {
		return r.vec(r.u32Only) // function indices
	}
	return r.vec(r.constExpr)
}

// checkCustom checks the name section, which wazero decodes; it skips
// other custom sections whole.
func checkCustom(r *reader) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	name := string(r.b[r.off : r.off+n])
	r.off += n
	if name != "name" {
		return nil
	}
	for r.left() > 0 {
		id, err := r.byte()
		if err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		s, err := r.sub(size)
		if err != nil {
			return fmt.Errorf("name subsection %d: %w", id, err)
		}
		switch id {
		case 0: // module name
			err = s.name()
		case 1: // function names
			err = s.vec(func() error {
				if err := s.u32Only(); err != nil {
					return err
				}
				return s.name()
			})
		case 2: // local names
			err = s.vec(func() error {
				if err := s.u32Only(); err != nil {
					return err
				}
				return s.vec(func() error {
					if err := s.u32Only(); err != nil {
						return err
					}
					return s.name()
				})
			})
		}
		if err != nil {
			return fmt.Errorf("name subsection %d: %w", id, err)
		}
	}
	return nil
}
