package objects

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
)

// MaxDDFSize is the largest definition document the loader reads, in
// bytes; a larger one fails with ErrTooLarge. The largest published
// definition file is under 32 KiB.
const MaxDDFSize = 4 << 20

// maxDepth bounds element nesting. A definition nests five levels
// (LWM2M/Object/Resources/Item/Name); unknown elements may add a few.
const maxDepth = 32

// How the loader reads the DDF format (the LWM2M.xsd schema of the OMNA
// registry), and what it does with the irregularities found in
// published files. Each choice was made against the 358 files of the OMNA
// registry used as the test corpus.
//
//   - Element names match exactly, as XML and the schema spell them;
//     namespaces are ignored. Unknown elements are skipped wherever they
//     appear (a later schema may add some); unknown attributes too.
//   - Required: ObjectID, Name, MultipleInstances and Mandatory in an
//     Object; the ID attribute, Name, Operations, MultipleInstances,
//     Mandatory and Type in an Item. Each is required because its absence
//     would change meaning silently (a misspelt <Operation> must not read
//     as "no operations"). An empty Operations or Type element is allowed:
//     it means no operation, and no type for an executable resource.
//   - Optional: Description1, Description2, ObjectURN, LWM2MVersion,
//     ObjectVersion, Resources, RangeEnumeration, Units, Description.
//     ObjectVersion and LWM2MVersion default to 1.0 when absent or empty
//     (four published files omit ObjectVersion and one leaves it empty;
//     five omit LWM2MVersion and one leaves it empty). Description2 is
//     read but not kept: model.ObjectDef has no field for it.
//   - The ObjectType attribute may be absent; any value but MODefinition
//     is an error. A document may hold several objects.
//   - An element given twice is an error, as is an element inside a field
//     that holds text, and non-space text between elements.
//   - Surrounding white space is trimmed from every value; published files
//     have trailing spaces in names ("OSCORE HMAC Algorithm ") and fields
//     holding only a newline and indentation. Inside names and units, runs
//     of white space collapse to one space, so that object 0 1.0's
//     "LWM2M  Server URI" reads as the specification's "LWM2M Server URI".
//     Descriptions and RangeEnumeration keep their inner line breaks,
//     which some enumerations use ("0: RELEASED\n1: PRESSED").
//   - Keywords (Single/Multiple, Mandatory/Optional, operations, types)
//     ignore case; types accept the aliases model.ParseType accepts. The
//     published files use only the canonical spellings.
//   - Resources are sorted by id: 146 published files list them out of
//     order (3303.xml lists 5700 first). A duplicate resource id, or the
//     same object id and version twice in one document, is an error.
//   - An object with no resources is accepted (none is published, but the
//     schema allows an empty <Resources>).
//   - An executable resource given a Type keeps TypeNone: what Execute
//     carries is an argument list, never a stored value, and model requires
//     executables typed none. A non-executable resource (including one
//     with no operations, as all of object 0's) must have a type.
//   - Range and HasRange are set only for Integer, Unsigned Integer and
//     Float resources whose RangeEnumeration model.ParseRange reads
//     ("0..100", "1-65534"). For String and Opaque the same text bounds a
//     length, not the value; for other text ("0..2^32-1", "-30..-120",
//     "0; 3.8..20.5", enumerations) only RangeText is kept.
//   - Only UTF-8 is read (every published file declares it); a leading
//     byte order mark is allowed.
//   - A DOCTYPE that declares an entity is refused (ErrEntity), as is any
//     other <!...> declaration; entities are never resolved, so an XXE or
//     "billion laughs" payload fails before anything is read or expanded.

// ParseDDF parses one DDF document (an <LWM2M> root holding one or more
// <Object ObjectType="MODefinition">) and returns its object definitions in
// document order. name is used in error messages ("3303.xml:12:5: ..."),
// which are *ParseError values. Every definition returned passes
// model.ObjectDef.Validate. ParseDDF reads no more than MaxDDFSize+1 bytes
// of r (the last to tell a document of exactly MaxDDFSize bytes from a
// larger one) and stops at the first error.
func ParseDDF(r io.Reader, name string) ([]*model.ObjectDef, error) {
	if name == "" {
		name = "input"
	}
	p := &parser{name: name}
	p.d = xml.NewDecoder(&sizeLimit{r: r, left: MaxDDFSize})
	p.d.Strict = true
	p.d.CharsetReader = func(string, io.Reader) (io.Reader, error) {
		return nil, errors.New("only UTF-8 is accepted")
	}
	return p.document()
}

// LoadFile parses the DDF file at path; error messages name it as given.
func LoadFile(path string) ([]*model.ObjectDef, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load definitions: %w", err)
	}
	defer f.Close()
	return ParseDDF(f, path)
}

// LoadDir parses every file named *.xml in directory dir of fsys (not
// descending into subdirectories) and returns the definitions of those
// that parsed, sorted by object id then version. The error joins one error
// per file that failed, each naming the file, and is nil when all loaded;
// an object id and version defined by two files is an error for the
// second, in name order. A caller that wants all or nothing checks the
// error before using the definitions.
func LoadDir(fsys fs.FS, dir string) ([]*model.ObjectDef, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("load definitions: %w", err)
	}
	type key struct {
		id uint16
		v  model.Version
	}
	first := make(map[key]string)
	var defs []*model.ObjectDef
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".xml") {
			continue
		}
		name := path.Join(dir, e.Name())
		ds, err := loadFS(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range ds {
			k := key{d.ID, d.Version}
			if other, dup := first[k]; dup {
				errs = append(errs, fmt.Errorf("%s: object %d version %s is already defined in %s", name, d.ID, d.Version, other))
				continue
			}
			first[k] = name
			defs = append(defs, d)
		}
	}
	slices.SortFunc(defs, func(a, b *model.ObjectDef) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), a.Version.Compare(b.Version))
	})
	return defs, errors.Join(errs...)
}

func loadFS(fsys fs.FS, name string) ([]*model.ObjectDef, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load definitions: %w", err)
	}
	defer f.Close()
	return ParseDDF(f, name)
}

// sizeLimit reads from r and fails with ErrTooLarge after left bytes.
type sizeLimit struct {
	r    io.Reader
	left int64
}

func (s *sizeLimit) Read(b []byte) (int, error) {
	if s.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(b)) > s.left+1 {
		b = b[:s.left+1] // one byte more than allowed tells "too large" from "exactly the limit"
	}
	n, err := s.r.Read(b)
	s.left -= int64(n)
	if s.left < 0 {
		return 0, ErrTooLarge
	}
	return n, err
}

// parser reads one document token by token, keeping the position of the
// token it last returned for error messages.
type parser struct {
	d          *xml.Decoder
	name       string
	line, col  int // where the last token returned by next starts
	depth      int
	sawRoot    bool
	sawDoctype bool
}

func (p *parser) errorf(line, col int, format string, args ...any) error {
	return &ParseError{Name: p.name, Line: line, Column: col, Err: fmt.Errorf(format, args...)}
}

// next returns the next token, enforcing the depth bound and the rules on
// declarations, and turns decoder errors into *ParseError. It returns
// io.EOF, unwrapped, only at the end of a well-formed document.
func (p *parser) next() (xml.Token, error) {
	p.line, p.col = p.d.InputPos()
	tok, err := p.d.Token()
	if err != nil {
		line, col := p.d.InputPos()
		var se *xml.SyntaxError
		switch {
		case err == io.EOF && p.depth == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, p.errorf(line, col, "malformed XML: unexpected end of input")
		case errors.Is(err, ErrTooLarge):
			return nil, p.errorf(line, col, "%w: more than %d bytes", ErrTooLarge, MaxDDFSize)
		case errors.As(err, &se):
			return nil, p.errorf(line, col, "malformed XML: %s", se.Msg)
		case strings.HasPrefix(err.Error(), "xml: "):
			// The decoder's own complaints, such as a declared encoding
			// other than UTF-8.
			return nil, p.errorf(line, col, "%s", strings.TrimPrefix(err.Error(), "xml: "))
		default:
			return nil, p.errorf(line, col, "%w", err) // from r
		}
	}
	switch t := tok.(type) {
	case xml.StartElement:
		p.depth++
		if p.depth > maxDepth {
			return nil, p.errorf(p.line, p.col, "%w: more than %d levels", ErrTooDeep, maxDepth)
		}
	case xml.EndElement:
		p.depth--
	case xml.Directive:
		if err := p.directive(t); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// directive accepts one DOCTYPE before the root element, provided it
// declares no entity, and refuses every other <!...> declaration.
func (p *parser) directive(d xml.Directive) error {
	s := string(d)
	if !strings.HasPrefix(s, "DOCTYPE") {
		kw, _, _ := strings.Cut(s, " ")
		return p.errorf(p.line, p.col, "unexpected declaration <!%s", clip(kw))
	}
	if p.sawRoot || p.sawDoctype {
		return p.errorf(p.line, p.col, "misplaced DOCTYPE")
	}
	p.sawDoctype = true
	if strings.Contains(strings.ToUpper(s), "ENTITY") {
		return p.errorf(p.line, p.col, "DOCTYPE: %w", ErrEntity)
	}
	return nil
}

func (p *parser) document() ([]*model.ObjectDef, error) {
	var defs []*model.ObjectDef
	first := true
	for {
		tok, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if p.sawRoot {
				return nil, p.errorf(p.line, p.col, "second root element <%s>", t.Name.Local)
			}
			p.sawRoot = true
			if t.Name.Local != "LWM2M" {
				return nil, p.errorf(p.line, p.col, "root element is <%s>, want <LWM2M>", t.Name.Local)
			}
			if defs, err = p.root(); err != nil {
				return nil, err
			}
		case xml.CharData:
			s := string(t)
			if first {
				s = strings.TrimPrefix(s, "\uFEFF")
			}
			if !blank(s) {
				return nil, p.errorf(p.line, p.col, "text outside the root element")
			}
		}
		first = false
	}
	if !p.sawRoot {
		return nil, p.errorf(p.line, p.col, "no <LWM2M> root element")
	}
	return defs, nil
}

// root reads the children of <LWM2M>, just started.
func (p *parser) root() ([]*model.ObjectDef, error) {
	line, col := p.line, p.col
	type key struct {
		id uint16
		v  model.Version
	}
	seen := make(map[key]int) // line of first definition
	var defs []*model.ObjectDef
	err := p.children("LWM2M", "Object", func(t xml.StartElement) error {
		oline, ocol := p.line, p.col
		d, err := p.object(t)
		if err != nil {
			return err
		}
		k := key{d.ID, d.Version}
		if l, dup := seen[k]; dup {
			return p.errorf(oline, ocol, "object %d version %s is already defined on line %d", d.ID, d.Version, l)
		}
		seen[k] = oline
		defs = append(defs, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(defs) == 0 {
		return nil, p.errorf(line, col, "no <Object> in <LWM2M>")
	}
	return defs, nil
}

// children reads the content of the element in, just started, up to its
// end: each child element called name goes to f, other elements are
// skipped, and text other than white space is an error.
func (p *parser) children(in, name string, f func(xml.StartElement) error) error {
	for {
		tok, err := p.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != name {
				if err := p.skip(); err != nil {
					return err
				}
				continue
			}
			if err := f(t); err != nil {
				return err
			}
		case xml.CharData:
			if err := p.noText(t, in); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// noText fails unless t, read inside element in, is white space.
func (p *parser) noText(t xml.CharData, in string) error {
	if !blank(string(t)) {
		return p.errorf(p.line, p.col, "unexpected text in <%s>", in)
	}
	return nil
}

// blank reports whether s is nothing but XML white space.
func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// skip reads past the end of the element just started.
func (p *parser) skip() error {
	depth := p.depth
	for p.depth >= depth {
		if _, err := p.next(); err != nil {
			return err
		}
	}
	return nil
}

// text returns the character data of the element just started, which must
// hold nothing else (comments aside).
func (p *parser) text(start xml.StartElement) (string, error) {
	var b strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", p.errorf(p.line, p.col, "<%s> inside <%s>, which holds text only", t.Name.Local, start.Name.Local)
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// field is the text of a known element and where the element starts.
type field struct {
	text      string
	line, col int
	given     bool
}

// fields maps the names of the elements an element may hold as text to
// what was read of them.
type fields map[string]*field

func newFields(names ...string) fields {
	fs := make(fields, len(names))
	for _, n := range names {
		fs[n] = &field{}
	}
	return fs
}

// read reads t into fs when fs knows it, and reports whether it did.
func (p *parser) read(fs fields, t xml.StartElement) (bool, error) {
	f, known := fs[t.Name.Local]
	if !known {
		return false, nil
	}
	line, col := p.line, p.col
	if f.given {
		return true, p.errorf(line, col, "<%s> given twice (first on line %d)", t.Name.Local, f.line)
	}
	s, err := p.text(t)
	if err != nil {
		return true, err
	}
	*f = field{text: s, line: line, col: col, given: true}
	return true, nil
}

// require fails, at line:col, when one of the named fields is absent.
func (p *parser) require(fs fields, line, col int, ctx string, names ...string) error {
	for _, n := range names {
		if !fs[n].given {
			return p.errorf(line, col, "%s: missing <%s>", ctx, n)
		}
	}
	return nil
}

var (
	objectFields = []string{"Name", "Description1", "Description2", "ObjectID", "ObjectURN",
		"LWM2MVersion", "ObjectVersion", "MultipleInstances", "Mandatory"}
	itemFields = []string{"Name", "Operations", "MultipleInstances", "Mandatory", "Type",
		"RangeEnumeration", "Units", "Description"}
)

// rawItem is an <Item> as read, converted once the object id is known.
type rawItem struct {
	line, col int
	id        string
	hasID     bool
	fs        fields
}

// object reads the <Object> just started and converts it.
func (p *parser) object(start xml.StartElement) (*model.ObjectDef, error) {
	line, col := p.line, p.col
	for _, a := range start.Attr {
		if a.Name.Local == "ObjectType" && strings.TrimSpace(a.Value) != "MODefinition" {
			return nil, p.errorf(line, col, "object type %q, want MODefinition", clip(a.Value))
		}
	}
	fs := newFields(objectFields...)
	var items []rawItem
	resLine := 0
	for done := false; !done; {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if ok, err := p.read(fs, t); ok || err != nil {
				if err != nil {
					return nil, err
				}
				continue
			}
			if t.Name.Local != "Resources" {
				if err := p.skip(); err != nil {
					return nil, err
				}
				continue
			}
			if resLine != 0 {
				return nil, p.errorf(p.line, p.col, "<Resources> given twice (first on line %d)", resLine)
			}
			resLine = p.line
			if items, err = p.resources(); err != nil {
				return nil, err
			}
		case xml.CharData:
			if err := p.noText(t, "Object"); err != nil {
				return nil, err
			}
		case xml.EndElement:
			done = true
		}
	}
	return p.convertObject(line, col, fs, items)
}

// resources reads the <Item> elements of the <Resources> just started.
func (p *parser) resources() ([]rawItem, error) {
	var items []rawItem
	err := p.children("Resources", "Item", func(t xml.StartElement) error {
		it, err := p.item(t)
		if err != nil {
			return err
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// item reads the <Item> just started.
func (p *parser) item(start xml.StartElement) (rawItem, error) {
	it := rawItem{line: p.line, col: p.col, fs: newFields(itemFields...)}
	for _, a := range start.Attr {
		if a.Name.Local == "ID" {
			it.id, it.hasID = a.Value, true
		}
	}
	for {
		tok, err := p.next()
		if err != nil {
			return it, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if ok, err := p.read(it.fs, t); ok || err != nil {
				if err != nil {
					return it, err
				}
				continue
			}
			if err := p.skip(); err != nil {
				return it, err
			}
		case xml.CharData:
			if err := p.noText(t, "Item"); err != nil {
				return it, err
			}
		case xml.EndElement:
			return it, nil
		}
	}
}

func (p *parser) convertObject(line, col int, fs fields, items []rawItem) (*model.ObjectDef, error) {
	if err := p.require(fs, line, col, "object", "ObjectID"); err != nil {
		return nil, err
	}
	f := fs["ObjectID"]
	id, err := parseID(f.text)
	if err != nil {
		return nil, p.errorf(f.line, f.col, "object: <ObjectID>: %v", err)
	}
	ctx := "object " + strconv.Itoa(int(id))
	if err := p.require(fs, line, col, ctx, "Name", "MultipleInstances", "Mandatory"); err != nil {
		return nil, err
	}
	d := &model.ObjectDef{
		ID:          id,
		Description: strings.TrimSpace(fs["Description1"].text),
		URN:         strings.TrimSpace(fs["ObjectURN"].text),
	}
	if d.Name, err = p.nameField(fs["Name"], ctx); err != nil {
		return nil, err
	}
	if d.Version, err = p.version(fs["ObjectVersion"], ctx, "ObjectVersion"); err != nil {
		return nil, err
	}
	if d.LWM2MVersion, err = p.version(fs["LWM2MVersion"], ctx, "LWM2MVersion"); err != nil {
		return nil, err
	}
	if d.Multiple, err = p.choice(fs["MultipleInstances"], ctx, "MultipleInstances", "Multiple", "Single"); err != nil {
		return nil, err
	}
	if d.Mandatory, err = p.choice(fs["Mandatory"], ctx, "Mandatory", "Mandatory", "Optional"); err != nil {
		return nil, err
	}
	d.Resources = make([]model.ResourceDef, 0, len(items))
	seen := make(map[uint16]int, len(items)) // line of the first item with the id
	for i := range items {
		r, err := p.convertItem(&items[i], ctx)
		if err != nil {
			return nil, err
		}
		if l, dup := seen[r.ID]; dup {
			return nil, p.errorf(items[i].line, items[i].col, "%s: resource %d is already defined on line %d", ctx, r.ID, l)
		}
		seen[r.ID] = items[i].line
		d.Resources = append(d.Resources, r)
	}
	slices.SortStableFunc(d.Resources, func(a, b model.ResourceDef) int { return cmp.Compare(a.ID, b.ID) })
	if err := d.Validate(); err != nil {
		// Unreachable by construction; kept so that a change in
		// Validate surfaces here with a position rather than later.
		return nil, p.errorf(line, col, "%v", err)
	}
	return d, nil
}

func (p *parser) convertItem(it *rawItem, octx string) (model.ResourceDef, error) {
	var r model.ResourceDef
	if !it.hasID {
		return r, p.errorf(it.line, it.col, "%s: <Item> has no ID attribute", octx)
	}
	id, err := parseID(it.id)
	if err != nil {
		return r, p.errorf(it.line, it.col, "%s: <Item ID=%q>: %v", octx, clip(it.id), err)
	}
	r.ID = id
	ctx := octx + " resource " + strconv.Itoa(int(id))
	fs := it.fs
	if err := p.require(fs, it.line, it.col, ctx, "Name", "Operations", "MultipleInstances", "Mandatory", "Type"); err != nil {
		return r, err
	}
	if r.Name, err = p.nameField(fs["Name"], ctx); err != nil {
		return r, err
	}
	f := fs["Operations"]
	if r.Operations, err = model.ParseOperations(f.text); err != nil {
		return r, p.errorf(f.line, f.col, "%s: <Operations>: %v", ctx, err)
	}
	if r.Multiple, err = p.choice(fs["MultipleInstances"], ctx, "MultipleInstances", "Multiple", "Single"); err != nil {
		return r, err
	}
	if r.Mandatory, err = p.choice(fs["Mandatory"], ctx, "Mandatory", "Mandatory", "Optional"); err != nil {
		return r, err
	}
	f = fs["Type"]
	if r.Type, err = model.ParseType(f.text); err != nil {
		return r, p.errorf(f.line, f.col, "%s: <Type>: %v", ctx, err)
	}
	switch {
	case r.Operations.Executable():
		r.Type = model.TypeNone // see the notes above ParseDDF
	case r.Type == model.TypeNone:
		return r, p.errorf(f.line, f.col, "%s: <Type> is empty, which only an executable resource may be", ctx)
	}
	r.RangeText = strings.TrimSpace(fs["RangeEnumeration"].text)
	switch r.Type {
	case model.TypeInteger, model.TypeUnsigned, model.TypeFloat:
		r.Range, r.HasRange = model.ParseRange(r.RangeText)
	}
	r.Units = collapse(fs["Units"].text)
	r.Description = strings.TrimSpace(fs["Description"].text)
	return r, nil
}

// nameField returns a Name field with white space collapsed; it must not be
// empty.
func (p *parser) nameField(f *field, ctx string) (string, error) {
	s := collapse(f.text)
	if s == "" {
		return "", p.errorf(f.line, f.col, "%s: <Name> is empty", ctx)
	}
	return s, nil
}

// version parses an ObjectVersion or LWM2MVersion field: 1.0 when absent
// or empty.
func (p *parser) version(f *field, ctx, elem string) (model.Version, error) {
	s := strings.TrimSpace(f.text)
	if s == "" {
		return model.V1_0, nil
	}
	v, err := model.ParseVersion(s)
	if err != nil {
		return v, p.errorf(f.line, f.col, "%s: <%s>: %v", ctx, elem, err)
	}
	return v, nil
}

// choice reads a two-valued field: true for yes, false for no, ignoring
// case and surrounding space.
func (p *parser) choice(f *field, ctx, elem, yes, no string) (bool, error) {
	s := strings.TrimSpace(f.text)
	switch {
	case strings.EqualFold(s, yes):
		return true, nil
	case strings.EqualFold(s, no):
		return false, nil
	}
	return false, p.errorf(f.line, f.col, "%s: <%s> is %q, want %s or %s", ctx, elem, clip(s), yes, no)
}

// parseID parses an object or resource id: decimal, 0 to 65534.
func parseID(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n > model.MaxID {
		return 0, fmt.Errorf("id %q is not a decimal number from 0 to %d", clip(s), model.MaxID)
	}
	return uint16(n), nil
}

// collapse trims s and replaces each run of white space inside it with
// one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clip shortens s for an error message.
func clip(s string) string {
	n := 40
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
