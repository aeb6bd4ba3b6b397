package codec

import (
	"math"

	"github.com/wasm2m/wasm2m/core/internal/cbor"
	"github.com/wasm2m/wasm2m/core/model"
)

// singleValue returns the value of a node that a single-value format can
// carry: a single resource or a resource instance. Anything else is a 4.06
// Not Acceptable: the format cannot represent it.
func singleValue(f Format, p model.Path, n *model.Node) (model.Value, error) {
	if err := n.CheckAt(p); err != nil {
		return model.Value{}, err
	}
	if !n.HasValue() {
		return model.Value{}, model.Errorf(model.NotAcceptable, "%s carries one value, not a %s (%s)", f.Name(), n.Kind, p)
	}
	if n.Value.IsNone() {
		return model.Value{}, model.Errorf(model.NotAcceptable, "%s: %s holds no value", f.Name(), p)
	}
	return n.Value, nil
}

// singleNode wraps a decoded value as the node at p, which must be a
// resource or resource instance path. A multiple resource cannot be
// written in a single-value format.
func singleNode(f Format, p model.Path, def *model.ResourceDef, v model.Value) (model.Node, error) {
	switch p.Level() {
	case model.LevelResource:
		if def != nil && def.Multiple {
			return model.Node{}, model.Errorf(model.BadRequest, "%s carries one value, and resource %s is multiple", f.Name(), p)
		}
		return model.NewResource(p.Last(), v), nil
	case model.LevelResourceInstance:
		if def != nil && !def.Multiple {
			return model.Node{}, model.Errorf(model.BadRequest, "%s: resource %s is single, it has no instance %d", f.Name(), p.Parent(), p.Last())
		}
		return model.NewResourceInstance(p.Last(), v), nil
	}
	return model.Node{}, model.Errorf(model.BadRequest, "%s carries one value; %s is a %s path", f.Name(), p, p.Level())
}

// decodeType returns the type a single value at p decodes to: the
// resource's definition when known, else fallback.
func decodeType(f Format, def *model.ResourceDef, fallback model.Type) (model.Type, error) {
	if def == nil {
		return fallback, nil
	}
	if def.Type == model.TypeNone {
		return 0, model.Errorf(model.BadRequest, "%s: resource %d is executable and holds no value", f.Name(), def.ID)
	}
	return def.Type, nil
}

// encodeText appends the text/plain form (Core 1.1 section 7.4.1).
func encodeText(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	v, err := singleValue(Text, p, n)
	if err != nil {
		return dst, err
	}
	if v.Type() == model.TypeFloat {
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, model.Errorf(model.NotAcceptable, "text: %v has no decimal form", f)
		}
	}
	return model.AppendText(dst, v), nil
}

// decodeText parses a text/plain value. Without a definition the value is
// a String.
func decodeText(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	def := model.ResourceDefAt(defs, p)
	t, err := decodeType(Text, def, model.TypeString)
	if err != nil {
		return model.Node{}, err
	}
	v, err := model.ParseText(string(data), t)
	if err != nil {
		return model.Node{}, model.Errorf(model.BadRequest, "text at %s: %w", p, err)
	}
	return singleNode(Text, p, def, v)
}

// encodeOpaque appends the raw bytes of an Opaque value (Core 1.1 section
// 7.4.2). Other types are 4.06: the format is for opaque resources only.
func encodeOpaque(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	v, err := singleValue(Opaque, p, n)
	if err != nil {
		return dst, err
	}
	if v.Type() != model.TypeOpaque {
		return dst, model.Errorf(model.NotAcceptable, "opaque: %s is %s, not Opaque", p, v.Type())
	}
	return append(dst, v.Str()...), nil
}

// decodeOpaque takes the payload as an Opaque value. A resource defined
// with another type cannot be written in this format: 4.15.
func decodeOpaque(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	def := model.ResourceDefAt(defs, p)
	if def != nil && def.Type != model.TypeOpaque {
		return model.Node{}, model.Errorf(model.UnsupportedContentFormat, "opaque: resource %s is %s, not Opaque", p, def.Type)
	}
	return singleNode(Opaque, p, def, model.Opaque(data))
}

// encodeCBOR appends one CBOR data item (Core 1.1 section 7.4.5): integers
// as major types 0/1, floats in the shortest exact width, booleans,
// strings and core links as text, opaque as a byte string, time as tag 1
// over integer seconds, object links as the text "o:i".
func encodeCBOR(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	v, err := singleValue(CBOR, p, n)
	if err != nil {
		return dst, err
	}
	return appendCBORValue(dst, v), nil
}

func appendCBORValue(dst []byte, v model.Value) []byte {
	switch v.Type() {
	case model.TypeInteger:
		return cbor.AppendInt(dst, v.Int())
	case model.TypeUnsigned:
		return cbor.AppendUint(dst, v.Uint())
	case model.TypeFloat:
		return cbor.AppendFloat(dst, v.Float())
	case model.TypeBoolean:
		return cbor.AppendBool(dst, v.Bool())
	case model.TypeString, model.TypeCorelnk:
		return cbor.AppendText(dst, v.Str())
	case model.TypeOpaque:
		return cbor.AppendBytesString(dst, v.Str())
	case model.TypeTime:
		return cbor.AppendInt(cbor.AppendTag(dst, cbor.TagEpochTime), v.Int())
	case model.TypeObjlnk:
		return cbor.AppendText(dst, v.Objlnk().String())
	}
	return cbor.AppendNull(dst)
}

// decodeCBOR reads exactly one CBOR data item and converts it to the
// resource's type (model.Value.Convert). Without a definition the CBOR
// type decides: integers, floats, booleans, text as String, byte strings
// as Opaque, tag 1 as Time.
func decodeCBOR(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	def := model.ResourceDefAt(defs, p)
	if _, err := decodeType(CBOR, def, 0); err != nil {
		return model.Node{}, err
	}
	r := cbor.NewReader(data)
	v, err := readCBORValue(r)
	if err != nil {
		return model.Node{}, model.Errorf(model.BadRequest, "cbor at %s: %w", p, err)
	}
	if !r.Done() {
		return model.Node{}, model.Errorf(model.BadRequest, "cbor at %s: %d bytes after the value", p, r.Len())
	}
	if def != nil {
		if v, err = v.Convert(def.Type); err != nil {
			return model.Node{}, model.Errorf(model.BadRequest, "cbor at %s: %w", p, err)
		}
	}
	return singleNode(CBOR, p, def, v)
}

func readCBORValue(r *cbor.Reader) (model.Value, error) {
	it, err := r.Next()
	if err != nil {
		return model.Value{}, err
	}
	tagged := false
	if it.Type == cbor.Tag {
		if it.Uint != cbor.TagEpochTime {
			return model.Value{}, model.Errorf(model.BadRequest, "unsupported tag %d", it.Uint)
		}
		tagged = true
		if it, err = r.Next(); err != nil {
			return model.Value{}, err
		}
	}
	var v model.Value
	switch it.Type {
	case cbor.Uint:
		if it.Uint > math.MaxInt64 {
			v = model.Uint(it.Uint)
		} else {
			v = model.Int(int64(it.Uint))
		}
	case cbor.Negint:
		n, ok := it.Int()
		if !ok {
			return model.Value{}, model.Errorf(model.BadRequest, "integer below the 64-bit range")
		}
		v = model.Int(n)
	case cbor.Float:
		v = model.Float(it.Float)
		if tagged {
			// RFC 8949 section 3.4.2 allows fractional epoch times;
			// LwM2M Time is whole seconds.
			f := it.Float
			if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
				return model.Value{}, model.Errorf(model.BadRequest, "time %v is not whole seconds", f)
			}
			return model.UnixTime(int64(f)), nil
		}
	case cbor.Bool:
		v = model.Bool(it.Bool)
	case cbor.Text:
		v = model.String(string(it.Str))
	case cbor.Bytes:
		v = model.Opaque(it.Str)
	default:
		return model.Value{}, model.Errorf(model.BadRequest, "a %s is not an LwM2M value", it.Type)
	}
	if tagged {
		if v.Type() != model.TypeInteger {
			return model.Value{}, model.Errorf(model.BadRequest, "tag 1 over a %s", it.Type)
		}
		return model.UnixTime(v.Int()), nil
	}
	return v, nil
}
