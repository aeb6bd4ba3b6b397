package lwm2mcbor

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/internal/cbor"
)

// Test helpers: build CBOR from Go values, and print CBOR in the
// diagnostic notation of RFC 8949 section 8 so that expectations read
// like the specification's examples.

// kv is one map entry.
type kv struct{ k, v any }

// m is a definite-length map, im an indefinite one.
type (
	m  []kv
	im []kv
)

// ia is an indefinite-length array (a key).
type ia []int

// tag is a tagged item.
type tag struct {
	n uint64
	v any
}

// raw is CBOR inserted as is.
type raw []byte

// null is CBOR null.
type nullT struct{}

var null nullT

func enc(v any) []byte { return appendAny(nil, v) }

func appendAny(b []byte, v any) []byte {
	switch v := v.(type) {
	case int:
		return cbor.AppendInt(b, int64(v))
	case int64:
		return cbor.AppendInt(b, v)
	case uint64:
		return cbor.AppendUint(b, v)
	case float64:
		return cbor.AppendFloat(b, v)
	case bool:
		return cbor.AppendBool(b, v)
	case string:
		return cbor.AppendText(b, v)
	case []byte:
		return cbor.AppendBytes(b, v)
	case nullT:
		return cbor.AppendNull(b)
	case []int:
		b = cbor.AppendArray(b, len(v))
		for _, id := range v {
			b = cbor.AppendInt(b, int64(id))
		}
		return b
	case ia:
		b = append(b, 0x9f)
		for _, id := range v {
			b = cbor.AppendInt(b, int64(id))
		}
		return append(b, 0xff)
	case m:
		b = cbor.AppendMap(b, len(v))
		for _, e := range v {
			b = appendAny(appendAny(b, e.k), e.v)
		}
		return b
	case im:
		b = append(b, 0xbf)
		for _, e := range v {
			b = appendAny(appendAny(b, e.k), e.v)
		}
		return append(b, 0xff)
	case tag:
		return appendAny(cbor.AppendTag(b, v.n), v.v)
	case raw:
		return append(b, v...)
	}
	panic("enc: unsupported type")
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diag returns data in diagnostic notation: {[3, 0]: {0: "a", 7: 1(5)}}.
func diag(data []byte) string {
	r := cbor.NewReader(data)
	var sb strings.Builder
	if err := diagItem(r, &sb, 0); err != nil {
		return "error: " + err.Error()
	}
	if !r.Done() {
		return sb.String() + " <trailing data>"
	}
	return sb.String()
}

func diagItem(r *cbor.Reader, sb *strings.Builder, depth int) error {
	if depth > 20 {
		return strconv.ErrRange
	}
	it, err := r.Next()
	if err != nil {
		return err
	}
	switch it.Type {
	case cbor.Uint:
		sb.WriteString(strconv.FormatUint(it.Uint, 10))
	case cbor.Negint:
		if n, ok := it.Int(); ok {
			sb.WriteString(strconv.FormatInt(n, 10))
		} else {
			sb.WriteString("-1-" + strconv.FormatUint(it.Uint, 10))
		}
	case cbor.Float:
		switch {
		case math.IsNaN(it.Float):
			sb.WriteString("NaN")
		case math.IsInf(it.Float, 1):
			sb.WriteString("Infinity")
		case math.IsInf(it.Float, -1):
			sb.WriteString("-Infinity")
		default:
			s := strconv.FormatFloat(it.Float, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eIN") {
				s += ".0"
			}
			sb.WriteString(s)
		}
	case cbor.Bool:
		sb.WriteString(strconv.FormatBool(it.Bool))
	case cbor.Null:
		sb.WriteString("null")
	case cbor.Text:
		sb.WriteString(strconv.Quote(string(it.Str)))
	case cbor.Bytes:
		sb.WriteString("h'" + hex.EncodeToString(it.Str) + "'")
	case cbor.Tag:
		sb.WriteString(strconv.FormatUint(it.Uint, 10) + "(")
		if err := diagItem(r, sb, depth+1); err != nil {
			return err
		}
		sb.WriteString(")")
	case cbor.Array, cbor.Map:
		open, close := "[", "]"
		if it.Type == cbor.Map {
			open, close = "{", "}"
		}
		if it.Indefinite {
			open += "_ "
		}
		sb.WriteString(open)
		for i := 0; ; i++ {
			if it.Indefinite {
				if r.PeekBreak() {
					break
				}
			} else if uint64(i) == it.Uint {
				break
			}
			if i > 0 {
				sb.WriteString(", ")
			}
			if err := diagItem(r, sb, depth+1); err != nil {
				return err
			}
			if it.Type == cbor.Map {
				sb.WriteString(": ")
				if err := diagItem(r, sb, depth+1); err != nil {
					return err
				}
			}
		}
		sb.WriteString(close)
	default:
		sb.WriteString(it.Type.String())
	}
	return nil
}

func TestDiagHelper(t *testing.T) {
	got := diag(enc(m{{[]int{3, 0}, m{{0, "a"}, {7, tag{1, 5}}, {8, ia{1}}, {9, im{}}, {10, []byte{1}}, {11, 1.5}, {12, null}}}}))
	want := `{[3, 0]: {0: "a", 7: 1(5), 8: [_ 1], 9: {_ }, 10: h'01', 11: 1.5, 12: null}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
