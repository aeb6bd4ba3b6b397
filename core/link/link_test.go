package link

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func tok(k, v string) Param         { return Param{Key: k, Value: v, HasValue: true} }
func quo(k, v string) Param         { return Param{Key: k, Value: v, HasValue: true, Quoted: true} }
func flag(k string) Param           { return Param{Key: k} }
func lk(t string, ps ...Param) Link { return Link{Target: t, Params: ps} }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Link
	}{
		{"empty", ``, nil},
		{"whitespace only", " \r\n\t ", nil},
		{"one bare link", `</3/0>`, []Link{lk("/3/0")}},
		{"empty target", `<>`, []Link{lk("")}},
		{"registration", `</>;rt="oma.lwm2m";ct=11543,</1/0>,</3303>;ver=1.1`, []Link{
			lk("/", quo("rt", "oma.lwm2m"), tok("ct", "11543")),
			lk("/1/0"),
			lk("/3303", tok("ver", "1.1")),
		}},
		{"ct list", `</>;ct="60 110 112 11542 11543"`, []Link{lk("/", quo("ct", "60 110 112 11542 11543"))}},
		{"valueless param", `</3/0/9>;obs;pmin`, []Link{lk("/3/0/9", flag("obs"), flag("pmin"))}},
		{"comma and semicolon inside quotes", `</a>;title="x, y; z",</b>`, []Link{
			lk("/a", quo("title", "x, y; z")),
			lk("/b"),
		}},
		{"escaped quote and backslash", `</a>;title="say \"hi\" \\o/"`, []Link{lk("/a", quo("title", `say "hi" \o/`))}},
		{"escaped ordinary byte", `</a>;t="\a\b"`, []Link{lk("/a", quo("t", "ab"))}},
		{"empty quoted value", `</a>;title=""`, []Link{lk("/a", quo("title", ""))}},
		{"HTAB and UTF-8 in quotes", "</a>;title=\"caf\u00e9\tbar\"", []Link{lk("/a", quo("title", "caf\u00e9\tbar"))}},
		{"ptoken with odd characters", `</a>;x=a=b/<c>?d@e[f]{g}|~`, []Link{lk("/a", tok("x", "a=b/<c>?d@e[f]{g}|~"))}},
		{"ext-value name", `</a>;title*=UTF-8'de'n%c3%a4chstes`, []Link{lk("/a", tok("title*", "UTF-8'de'n%c3%a4chstes"))}},
		{"target with reserved characters", `</a/b?c=d&e;f,g#h>;rel=x`, []Link{lk("/a/b?c=d&e;f,g#h", tok("rel", "x"))}},
		{"target with percent escape", `</a%20b>`, []Link{lk("/a%20b")}},
		{"absolute target", `<coap://[::1]:5683/x>`, []Link{lk("coap://[::1]:5683/x")}},
		{"spaces after commas (LwM2M examples)", `</3>;pmin=10, </3/0>;pmax=60, </3/0/1>`, []Link{
			lk("/3", tok("pmin", "10")),
			lk("/3/0", tok("pmax", "60")),
			lk("/3/0/1"),
		}},
		{"whitespace around separators", " </a> ; x=1 ;\ty ,\r\n</b> ", []Link{lk("/a", tok("x", "1"), flag("y")), lk("/b")}},
		{"duplicate params kept", `</a>;x=1;x=2`, []Link{lk("/a", tok("x", "1"), tok("x", "2"))}},
		{"case kept", `</a>;RT="X"`, []Link{lk("/a", quo("RT", "X"))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"no angle bracket", `/3/0`},
		{"unclosed target", `</3/0`},
		{"trailing comma", `</a>,`},
		{"leading comma", `,</a>`},
		{"double comma", `</a>,,</b>`},
		{"missing comma", `</a></b>`},
		{"trailing semicolon", `</a>;`},
		{"empty parameter", `</a>;;x`},
		{"space inside name", `</a>;p min=1`},
		{"space before equals", `</a>;pmin =1`},
		{"empty token", `</a>;pmin=`},
		{"empty token before comma", `</a>;pmin=,</b>`},
		{"unclosed quote", `</a>;rt="oma`},
		{"backslash at end", `</a>;rt="oma\`},
		{"newline in quotes", "</a>;rt=\"a\nb\""},
		{"DEL in quotes", "</a>;rt=\"a\x7fb\""},
		{"garbage after quote", `</a>;rt="x"y`},
		{"space in target", `</a b>`},
		{"quote in target", `</a"b>`},
		{"bad percent escape", `</a%2>`},
		{"bad percent escape at end", `</a%`},
		{"non-hex percent escape", `</a%zz>`},
		{"non-ASCII in target", "</caf\u00e9>"},
		{"non-ASCII in token", "</a>;x=caf\u00e9"},
		{"name starting with star", `</a>;*x=1`},
		{"garbage after link", `</a>x`},
		{"bare parameter", `lwm2m=1.1`},
		{"NUL", "</a>\x00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			links, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", tc.in, links)
			}
			if !errors.Is(err, model.ErrBadRequest) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v: want a 4.00 wrapping ErrSyntax", tc.in, err)
			}
			if !strings.HasPrefix((err.(*model.Error)).Msg, "link: ") {
				t.Fatalf("error %q lacks the link: prefix", err)
			}
		})
	}
}

func TestAppendQuoting(t *testing.T) {
	tests := []struct {
		name string
		p    Param
		want string
	}{
		{"token", tok("ct", "40"), `</x>;ct=40`},
		{"quoted kept", quo("rt", "oma.lwm2m"), `</x>;rt="oma.lwm2m"`},
		{"quoted number kept", quo("ver", "1.1"), `</x>;ver="1.1"`},
		{"valueless", flag("obs"), `</x>;obs`},
		{"valueless ignores Value", Param{Key: "obs", Value: "junk"}, `</x>;obs`},
		{"empty value must quote", tok("title", ""), `</x>;title=""`},
		{"space must quote", tok("ct", "60 110"), `</x>;ct="60 110"`},
		{"comma must quote", tok("t", "a,b"), `</x>;t="a,b"`},
		{"semicolon must quote", tok("t", "a;b"), `</x>;t="a;b"`},
		{"quote escaped", tok("t", `a"b`), `</x>;t="a\"b"`},
		{"backslash escaped", tok("t", `a\b`), `</x>;t="a\\b"`},
		{"control escaped", tok("t", "a\nb"), "</x>;t=\"a\\\nb\""},
		{"HTAB kept raw", tok("t", "a\tb"), "</x>;t=\"a\tb\""},
		{"non-ASCII must quote", tok("t", "caf\u00e9"), "</x>;t=\"caf\u00e9\""},
		{"token characters stay bare", tok("t", "a=b/<c>"), `</x>;t=a=b/<c>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Append(nil, []Link{lk("/x", tc.p)}))
			if got != tc.want {
				t.Fatalf("Append = %q, want %q", got, tc.want)
			}
			back, err := Parse([]byte(got))
			if err != nil {
				t.Fatalf("Parse(%q): %v", got, err)
			}
			if back[0].Params[0].Value != tc.p.Value && tc.p.HasValue {
				t.Fatalf("value %q came back as %q", tc.p.Value, back[0].Params[0].Value)
			}
		})
	}
}

func TestAppendTargetEscaping(t *testing.T) {
	tests := []struct {
		target, want string
	}{
		{"/3/0", "</3/0>"},
		{"/a b", "</a%20b>"},
		{"/a>b", "</a%3Eb>"},
		{"/a%20b", "</a%20b>"},
		{"/100%", "</100%25>"},
		{"/%zz", "</%25zz>"},
		{"/caf\u00e9", "</caf%C3%A9>"},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			got := string(Append(nil, []Link{{Target: tc.target}}))
			if got != tc.want {
				t.Fatalf("Append(%q) = %q, want %q", tc.target, got, tc.want)
			}
			if _, err := Parse([]byte(got)); err != nil {
				t.Fatalf("output %q does not parse: %v", got, err)
			}
		})
	}
}

func TestAppendSeveral(t *testing.T) {
	links := []Link{lk("/", quo("rt", "oma.lwm2m"), tok("ct", "11543")), lk("/1/0"), lk("/3303", tok("ver", "1.1"))}
	want := `</>;rt="oma.lwm2m";ct=11543,</1/0>,</3303>;ver=1.1`
	if got := string(Append([]byte(nil), links)); got != want {
		t.Fatalf("Append = %q, want %q", got, want)
	}
	if got := string(Append([]byte("x"), nil)); got != "x" {
		t.Fatalf("Append of no links changed dst: %q", got)
	}
	if got := links[2].String(); got != `</3303>;ver=1.1` {
		t.Fatalf("Link.String = %q", got)
	}
	if p, ok := links[0].Param("ct"); !ok || p.Value != "11543" {
		t.Fatalf("Link.Param(ct) = %v, %v", p, ok)
	}
	if _, ok := links[1].Param("ct"); ok {
		t.Fatal("Link.Param found a parameter that is not there")
	}
}

// randomLinks returns links as Parse gives them: valid targets and names,
// Quoted set wherever a value is not a ptoken, Value empty when HasValue
// is false.
func randomLinks(r *rand.Rand) []Link {
	const targetChars = "abcXYZ019-._~:/?#[]@!$&'()*+,;="
	const nameChars = "abzAZ09!#$&+-.^_`|~"
	const tokenChars = "ab09!#$%&'()*+-./:<=>?@[]^_`{|}~"
	const anyChars = "ab \t\"\\,;=<>\x01\x7f\u00e9"
	n := r.IntN(6)
	if n == 0 {
		return nil
	}
	links := make([]Link, n)
	pick := func(set string, min, max int) string {
		var b strings.Builder
		for range min + r.IntN(max-min+1) {
			b.WriteByte(set[r.IntN(len(set))])
		}
		return b.String()
	}
	for i := range links {
		target := pick(targetChars, 0, 12)
		if r.IntN(4) == 0 {
			target += "%4a"
		}
		links[i].Target = target
		for range r.IntN(5) {
			p := Param{Key: pick(nameChars, 1, 6)}
			if r.IntN(5) == 0 {
				p.Key += "*"
			}
			switch r.IntN(4) {
			case 0: // no value
			case 1:
				p.HasValue, p.Value = true, pick(tokenChars, 1, 10)
			case 2:
				p.HasValue, p.Value, p.Quoted = true, pick(tokenChars, 0, 10), true
			default:
				p.HasValue, p.Value = true, pick(anyChars, 0, 10)
				p.Quoted = !isPtoken(p.Value)
			}
			links[i].Params = append(links[i].Params, p)
		}
	}
	return links
}

func TestRoundTripRandomLinks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		links := randomLinks(r)
		out := Append(nil, links)
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("case %d: Parse(Append(%#v)) = %q: %v", i, links, out, err)
		}
		if !reflect.DeepEqual(back, links) {
			t.Fatalf("case %d: round trip of %q\n got %#v\nwant %#v", i, out, back, links)
		}
		// Formatting what was parsed gives the same bytes.
		if again := Append(nil, back); string(again) != string(out) {
			t.Fatalf("case %d: Append not stable: %q then %q", i, out, again)
		}
	}
}

// allocBytes returns the bytes f allocates, averaged over runs.
func allocBytes(f func()) uint64 {
	const runs = 5
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

// distinct returns count links made from format and 0, 1, 2...
func distinct(format string, count int) []byte {
	var b []byte
	for i := range count {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, format, i)
	}
	return b
}

// TestParseAllocationBound checks that the parsers allocate at most a
// bounded multiple of their input, on inputs built to make them allocate
// the most per byte: tiny links, tiny parameters, escapes.
func TestParseAllocationBound(t *testing.T) {
	const n = 1 << 16
	inputs := map[string][]byte{
		"tiny links":       []byte(strings.Repeat("<>,", n) + "<>"),
		"tiny params":      []byte("<>" + strings.Repeat(";a", n)),
		"escaped strings":  []byte("<>" + strings.Repeat(`;a="\a"`, n)),
		"one long escaped": []byte(`<>;a="` + strings.Repeat(`\"`, n) + `"`),
		"instances":        distinct("</1/%d>", n/8),
		"objects":          distinct("</%d>", n/8),
		"attributes":       distinct("</3/0/%d>;pmin=1", n/8),
	}
	const factor = 64
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			for _, fn := range []struct {
				name string
				f    func()
			}{
				{"Parse", func() { _, _ = Parse(in) }},
				{"ParseRegistration", func() { _, _ = ParseRegistration(in) }},
				{"ParseDiscover", func() { _, _ = ParseDiscover(in) }},
			} {
				got := allocBytes(fn.f)
				if limit := uint64(factor*len(in) + 4096); got > limit {
					t.Errorf("%s allocated %d bytes for %d bytes of input, more than %d", fn.name, got, len(in), limit)
				}
			}
		})
	}
}
