package stdobj

import (
	"reflect"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []Arg
		ok   bool
	}{
		{"", nil, true},
		{"0", []Arg{{ID: 0}}, true},
		{"0='4',1", []Arg{{ID: 0, Value: "4", HasValue: true}, {ID: 1}}, true},
		{"2='coap://a/b?x=1',9=''", []Arg{{ID: 2, Value: "coap://a/b?x=1", HasValue: true}, {ID: 9, HasValue: true}}, true},
		{"1,2,3", []Arg{{ID: 1}, {ID: 2}, {ID: 3}}, true},
		{"a", nil, false},
		{"10", nil, false},
		{"0,", nil, false},
		{",0", nil, false},
		{"0=4", nil, false},
		{"0='4", nil, false},
		{"0='a b'", nil, false},
		{`0='a"b'`, nil, false},
		{`0='a\b'`, nil, false},
		{"0=", nil, false},
		{"0 ,1", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseArgs([]byte(tc.in))
			if tc.ok != (err == nil) || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseArgs(%q) = %+v, %v", tc.in, got, err)
			}
			if err != nil && model.CodeOf(err) != model.BadRequest {
				t.Fatalf("error code %v", model.CodeOf(err))
			}
		})
	}
}

// FuzzParseArgs checks that ParseArgs never panics and that what it
// accepts is exactly what it reads: the arguments written back give the
// payload.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"", "0", "0='4',1", "2='coap://a/b?x=1',9=''", "0='", "0=,", "99"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		args, err := ParseArgs(b)
		if err != nil {
			return
		}
		var out []byte
		for i, a := range args {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, '0'+a.ID)
			if a.HasValue {
				out = append(append(append(out, "='"...), a.Value...), '\'')
			}
		}
		if string(out) != string(b) {
			t.Fatalf("ParseArgs(%q) = %+v, which writes back as %q", b, args, out)
		}
	})
}
