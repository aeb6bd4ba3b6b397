package link

import (
	"strconv"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// Link is one link-value of RFC 6690 section 2: a target URI-reference and
// its parameters in the order written.
type Link struct {
	// Target is the URI-reference between "<" and ">", as written
	// (percent-encodings are kept, not decoded).
	Target string
	Params []Param
}

// Param is one link parameter: `key`, `key=token` or `key="quoted"`.
//
// Value holds the parameter's value with the quotes and backslash escapes
// of a quoted-string removed. Quoted records that the value was (or is to
// be) written as a quoted-string; Append also quotes any value that is not
// a valid ptoken, such as one that is empty or holds a space, comma or
// semicolon.
type Param struct {
	Key      string
	Value    string
	HasValue bool
	Quoted   bool
}

// String formats p as it appears after the ";" of a link.
func (p Param) String() string { return string(appendParam(nil, p)) }

// Param returns the first parameter of l named key.
func (l Link) Param(key string) (Param, bool) {
	for _, p := range l.Params {
		if p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

// String formats l in link format.
func (l Link) String() string { return string(Append(nil, []Link{l})) }

// Parse parses a CoRE link format payload (RFC 6690 section 2):
//
//	Link            = link-value-list
//	link-value-list = [ link-value *[ "," link-value ]]
//	link-value      = "<" URI-Reference ">" *( ";" link-param )
//	link-param      = parmname [ "=" ( ptoken / quoted-string ) ]
//
// The registered parameters of RFC 6690 (rel, anchor, rt, if, sz, ct,
// title...) are all of the last, generic form, so Parse reads every
// parameter the same way and interprets none. parmname is RFC 5987's
// attr-char set, optionally followed by "*" (title*); ptoken is RFC 6690's
// ptokenchar set; a quoted-string may hold backslash escapes (quoted-pair),
// which Parse removes, and no raw control character other than HTAB.
// Target characters must be those of RFC 3986 (unreserved, reserved and
// "%" HEXDIG HEXDIG); the URI-reference's structure is not checked further.
//
// Whitespace: RFC 6690 allows none, but the LwM2M specifications print
// their examples with a space after commas (Core 1.1 and 1.2 section 6.3.2:
// `</3>;pmin=10, </3/0>;pmax=60`), and RFC 5988, the HTTP form, allows
// optional whitespace around "," and ";". Parse therefore accepts SP, HTAB,
// CR and LF before and after the payload and around every "," and ";", and
// nowhere else. Append writes none.
//
// An empty payload (or one of whitespace only) gives no links and no
// error. Errors are 4.00 *model.Error wrapping ErrSyntax and give the byte
// offset of the fault.
func Parse(b []byte) ([]Link, error) {
	s := string(b)
	// A first pass checks the syntax and counts links and parameters, so
	// that the second allocates each slice once, at its final size: the
	// memory used stays a small multiple of the input whatever its shape.
	count := parser{s: s, dry: true}
	if err := count.links(); err != nil {
		return nil, err
	}
	if count.nLinks == 0 {
		return nil, nil
	}
	fill := parser{
		s:      s,
		out:    make([]Link, 0, count.nLinks),
		params: make([]Param, 0, count.nParams),
	}
	if err := fill.links(); err != nil {
		return nil, err // not reached: the first pass saw the same input
	}
	return fill.out, nil
}

// parser reads link format from s. With dry set it only checks and
// counts; otherwise it appends to out and params, which the caller sized.
type parser struct {
	s   string
	i   int
	dry bool

	nLinks, nParams int
	out             []Link
	params          []Param // backing array of every link's Params
}

func (p *parser) errorf(format string, args ...any) error {
	args = append([]any{ErrSyntax, p.i}, args...)
	return model.Errorf(model.BadRequest, "link: %w at offset %d: "+format, args...)
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (p *parser) skipWS() {
	for p.i < len(p.s) && isWS(p.s[p.i]) {
		p.i++
	}
}

func (p *parser) links() error {
	p.skipWS()
	if p.i == len(p.s) {
		return nil
	}
	for {
		if err := p.link(); err != nil {
			return err
		}
		p.skipWS()
		if p.i == len(p.s) {
			return nil
		}
		if p.s[p.i] != ',' {
			return p.errorf("want ',' between links, found %s", quoteByte(p.s[p.i]))
		}
		p.i++
		p.skipWS()
		if p.i == len(p.s) {
			return p.errorf("link missing after ','")
		}
	}
}

func (p *parser) link() error {
	if p.s[p.i] != '<' {
		return p.errorf("want '<' to open a link, found %s", quoteByte(p.s[p.i]))
	}
	p.i++
	start := p.i
	for {
		if p.i == len(p.s) {
			return p.errorf("target not closed by '>'")
		}
		c := p.s[p.i]
		if c == '>' {
			break
		}
		if c == '%' {
			if p.i+2 >= len(p.s) || !isHex(p.s[p.i+1]) || !isHex(p.s[p.i+2]) {
				return p.errorf("'%%' in target not followed by two hex digits")
			}
			p.i += 3
			continue
		}
		if !isURIChar(c) {
			return p.errorf("%s not allowed in a target", quoteByte(c))
		}
		p.i++
	}
	l := Link{Target: p.s[start:p.i]}
	p.i++ // '>'
	first := len(p.params)
	for {
		save := p.i
		p.skipWS()
		if p.i == len(p.s) || p.s[p.i] != ';' {
			p.i = save
			break
		}
		p.i++
		p.skipWS()
		par, err := p.param()
		if err != nil {
			return err
		}
		p.nParams++
		if !p.dry {
			p.params = append(p.params, par)
		}
	}
	p.nLinks++
	if !p.dry {
		if n := len(p.params); n > first {
			l.Params = p.params[first:n:n]
		}
		p.out = append(p.out, l)
	}
	return nil
}

func (p *parser) param() (Param, error) {
	var par Param
	start := p.i
	for p.i < len(p.s) && isAttrChar(p.s[p.i]) {
		p.i++
	}
	if p.i < len(p.s) && p.s[p.i] == '*' && p.i > start {
		p.i++
	}
	if p.i == start {
		if p.i == len(p.s) {
			return par, p.errorf("parameter name missing after ';'")
		}
		return par, p.errorf("want a parameter name, found %s", quoteByte(p.s[p.i]))
	}
	par.Key = p.s[start:p.i]
	if p.i == len(p.s) || p.s[p.i] != '=' {
		return par, nil
	}
	p.i++
	par.HasValue = true
	if p.i < len(p.s) && p.s[p.i] == '"' {
		v, err := p.quoted()
		if err != nil {
			return par, err
		}
		par.Value, par.Quoted = v, true
		return par, nil
	}
	start = p.i
	for p.i < len(p.s) && isPtokenChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		if p.i == len(p.s) {
			return par, p.errorf("value of %q missing after '='", par.Key)
		}
		return par, p.errorf("value of %q: %s cannot start a token; quote the value", par.Key, quoteByte(p.s[p.i]))
	}
	par.Value = p.s[start:p.i]
	return par, nil
}

// quoted reads a quoted-string at p.i (on its opening quote) and returns
// its content. Content without escapes is a substring of the input; escaped
// content is copied once, into a buffer of exactly its size.
func (p *parser) quoted() (string, error) {
	p.i++ // opening quote
	start := p.i
	escapes := 0
	for {
		if p.i == len(p.s) {
			return "", p.errorf("quoted string not closed")
		}
		c := p.s[p.i]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			if p.i+1 == len(p.s) {
				return "", p.errorf("quoted string ends in '\\'")
			}
			escapes++
			p.i += 2
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", p.errorf("control character %s in quoted string", quoteByte(c))
		default:
			p.i++
		}
	}
	raw := p.s[start:p.i]
	p.i++ // closing quote
	if escapes == 0 || p.dry {
		return raw, nil
	}
	var b strings.Builder
	b.Grow(len(raw) - escapes)
	for j := 0; j < len(raw); j++ {
		if raw[j] == '\\' {
			j++
		}
		b.WriteByte(raw[j])
	}
	return b.String(), nil
}

func quoteByte(c byte) string { return strconv.QuoteRune(rune(c)) }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isURIChar reports whether c may appear in a URI-reference (RFC 3986
// section 2): unreserved, gen-delims and sub-delims. "%" is handled apart.
func isURIChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		':', '/', '?', '#', '[', ']', '@', // gen-delims
		'!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=': // sub-delims
		return true
	}
	return false
}

// isAttrChar reports whether c is an RFC 5987 attr-char, the characters of
// a parmname.
func isAttrChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '&', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isPtokenChar reports whether c is an RFC 6690 ptokenchar.
func isPtokenChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '(', ')', '*', '+', '-', '.', '/',
		':', '<', '=', '>', '?', '@', '[', ']', '^', '_', '`', '{', '|', '}', '~':
		return true
	}
	return false
}

// isPtoken reports whether v can be written unquoted.
func isPtoken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isPtokenChar(v[i]) {
			return false
		}
	}
	return true
}

// Append appends links in link format to dst, separated by "," and without
// whitespace, and returns the extended buffer.
//
// A value is quoted when its Param says Quoted or when it is not a valid
// ptoken (empty, or holding a space, '"', ',', ';', '\', a control or a
// non-ASCII byte); inside quotes '"', '\' and control characters other
// than HTAB are escaped with a backslash. Append does not know which
// parameters LwM2M writes quoted by convention (rt, uri and a ct list):
// the typed writers (Attributes.AppendLinkParams, AppendRegistration,
// AppendDiscover) set Quoted for those. So Parse followed by Append
// reproduces each value's quoting, and Append followed by Parse gives the
// links back.
//
// A target byte that may not appear in a URI-reference is written
// percent-encoded, as is a '%' that does not start a valid escape, so the
// output always parses. Keys are written as given and must be RFC 5987
// parmnames (letters, digits and !#$&+-.^_`|~, optionally ending in '*');
// a Param with HasValue false is written as its key alone.
func Append(dst []byte, links []Link) []byte {
	for i := range links {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendLink(dst, &links[i])
	}
	return dst
}

func appendLink(dst []byte, l *Link) []byte {
	dst = append(dst, '<')
	dst = appendTarget(dst, l.Target)
	dst = append(dst, '>')
	for _, p := range l.Params {
		dst = append(dst, ';')
		dst = appendParam(dst, p)
	}
	return dst
}

const hexDigits = "0123456789ABCDEF"

func appendTarget(dst []byte, t string) []byte {
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '%' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			dst = append(dst, t[i:i+3]...)
			i += 2
		case c != '%' && isURIChar(c):
			dst = append(dst, c)
		default:
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return dst
}

func appendParam(dst []byte, p Param) []byte {
	dst = append(dst, p.Key...)
	if !p.HasValue {
		return dst
	}
	dst = append(dst, '=')
	if !p.Quoted && isPtoken(p.Value) {
		return append(dst, p.Value...)
	}
	return appendQuoted(dst, p.Value)
}

func appendQuoted(dst []byte, v string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c == '\\' || c < 0x20 && c != '\t' || c == 0x7f {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}
