package link

import (
	"reflect"
	"testing"
)

// plainSeeds are registration payloads around the edges of parsePlain:
// the forms it takes and the near misses it leaves to the general path.
var plainSeeds = []string{
	`</>;ct="60 110 112 11542",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>`,
	`</>;ct=11543,</1/0>,</3/0>`,
	`</>;ct=0,</0/0>`,
	`</1/0>,</3/0>,</5>`,
	`</3/0>,</1/0>,</3303/1>,</3303/0>,</1>`,
	`</1>;ver=1.0,</1/0>,</1/1>,</3/0>,</44/0>;ver=2.2`,
	`</44>;ver=1.1,</44/0>;ver=1.1`,
	`</44>;ver=1.1,</44/0>;ver=1.2`,
	`</44>;ver=0.0;ver=1.0`,
	`</44>;ver=01.001`,
	`</44>;ver=1.256`,
	`</44>;ver=1.1000`,
	`</44>;ver=1`,
	`</44>;ver=.1`,
	`</44>;ver`,
	`</>;ct="60  110",</1/0>`,
	`</>;ct="60 110 ",</1/0>`,
	`</>;ct=" 60",</1/0>`,
	`</>;ct="060"`,
	`</>;ct=65535`,
	`</>;ct=65536`,
	`</>;ct="65535 65536"`,
	`</>;ct=60;ct=110`,
	`</>;ct`,
	`</>;ct=`,
	`</>;ct="`,
	`</>;ct="60`,
	`</>;ct=60>`,
	`</>;ct="60"x`,
	`</>;ct="6\0"`,
	`</>,</>`,
	`</>;rt="oma.lwm2m"`,
	`</>;rt="oma.lwm2m";ct=11543,</1/0>`,
	`</>;ct=11543;rt=oma.lwm2m,</1/0>`,
	`</>;rt=oma.lwm2m.x,</1/0>`,
	`</>;rt="oma.lwm2m x",</1/0>`,
	`</>;rt="oma.lwm2m";rt="oma.lwm2m"`,
	`</>;rt="oma.lwm2m",</1/0>;rt="oma.lwm2m"`,
	`</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>`,
	`</1/0>,</1/0>`,
	`</1>,</1>`,
	`</65534/65534>`,
	`</65535/0>`,
	`</0/65535>`,
	`</123456>`,
	`</01/0>`,
	`</1/00>`,
	`</1/0/>`,
	`</1/0/1>`,
	`<//>`,
	`</1/0>,`,
	`</1/0>, </3/0>`,
	`</1/0>;`,
	`</1/0>;pmin=10`,
	`</1/a>`,
	`</1/0`,
	`</`,
	`<`,
	`,`,
	``,
}

// FuzzParsePlain checks parsePlain against the general path: whatever it
// accepts, parseRegistration must accept and read the same.
func FuzzParsePlain(f *testing.F) {
	for _, s := range plainSeeds {
		f.Add([]byte(s))
	}
	for _, s := range seedLinks {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fast, ok := parsePlain(in)
		if !ok {
			return
		}
		slow, err := parseRegistration(in)
		if err != nil {
			t.Fatalf("parsePlain(%q) = %+v, but the general path fails: %v", in, fast, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("parsePlain(%q) = %+v\ngeneral path: %+v", in, fast, slow)
		}
	})
}

// TestParsePlainTaken checks that the plain forms do take the fast path
// (FuzzParsePlain only checks what it gives when it does).
func TestParsePlainTaken(t *testing.T) {
	for _, in := range []string{
		`</>;ct="60 110 112 11542",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>`,
		`</>;ct=11543,</1/0>,</3/0>`,
		`</1/0>,</3/0>,</5>`,
		`</1>;ver=1.0,</1/0>,</1/1>,</3/0>,</44/0>;ver=2.2`,
		`</65534/65534>`,
		`</>;rt="oma.lwm2m";ct=11543,</1/0>`,
		`</>;ct="60 110";rt=oma.lwm2m,</1/0>`,
	} {
		if _, ok := parsePlain([]byte(in)); !ok {
			t.Errorf("%q takes the general path", in)
		}
	}
	// A registration of many objects still takes it (the items outgrow
	// their stack array).
	payload := AppendRegistration(nil, registration50())
	fast, ok := parsePlain(payload)
	if !ok {
		t.Fatalf("%q takes the general path", payload)
	}
	if want := registration50(); !reflect.DeepEqual(fast.Objects, want.Objects) {
		t.Errorf("50 objects read as %+v", fast.Objects)
	}
}

func TestParsePlainAllocs(t *testing.T) {
	in := []byte(`</>;ct="60 110 112 11542",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>`)
	// The objects, their instances and the content formats.
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseRegistration(in) }); n > 3 {
		t.Errorf("%v allocations, want 3", n)
	}
}

// BenchmarkParseRegistrationTypical compares the fast path with the
// general one on the load generator's Register payload (BENCHMARKS.md).
func BenchmarkParseRegistrationTypical(b *testing.B) {
	in := []byte(`</>;ct="60 110 112 11542",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>`)
	for _, bc := range []struct {
		name  string
		parse func([]byte) (Registration, error)
	}{{"plain", ParseRegistration}, {"general", parseRegistration}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
