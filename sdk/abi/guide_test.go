package abi_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestGuideMatchesProto keeps GUIDE.md's message tables in step with
// abi.proto: every message is named, and every table row lists exactly
// the message's fields, by number and name.
func TestGuideMatchesProto(t *testing.T) {
	b, err := os.ReadFile("GUIDE.md")
	if err != nil {
		t.Fatal(err)
	}
	guide := string(b)
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z0-9]+)` \\| (.*) \\|$")
	field := regexp.MustCompile("(?:^|; )(\\d+) `([a-z0-9_]+)`")
	rows := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(guide, -1) {
		rows[m[1]] = m[2]
	}
	files := referenceFiles(t)
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Messages().Len(); i++ {
			md := f.Messages().Get(i)
			name := string(md.Name())
			if !strings.Contains(guide, "`"+name+"`") {
				t.Errorf("GUIDE.md does not mention %s", name)
				continue
			}
			r, ok := rows[name]
			if !ok {
				if md.Fields().Len() > 0 {
					t.Errorf("GUIDE.md has no table row for %s", name)
				}
				continue
			}
			got := map[int]string{}
			for _, m := range field.FindAllStringSubmatch(r, -1) {
				n, _ := strconv.Atoi(m[1])
				got[n] = m[2]
			}
			if len(got) != md.Fields().Len() {
				t.Errorf("GUIDE.md lists %d fields of %s, abi.proto has %d", len(got), name, md.Fields().Len())
			}
			for j := 0; j < md.Fields().Len(); j++ {
				fd := md.Fields().Get(j)
				if got[int(fd.Number())] != string(fd.Name()) {
					t.Errorf("GUIDE.md: %s field %d is %q, abi.proto says %q", name, fd.Number(), got[int(fd.Number())], fd.Name())
				}
			}
		}
		return true
	})
}
