package server

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// refParseRegQuery is parseRegQuery as it was before it read the options'
// bytes (commit 3945f14): the reference the faster one must match.
func refParseRegQuery(query []string, minLifetime uint32) (regParams, error) {
	var p regParams
	seen := map[string]bool{}
	for _, q := range query {
		key, val, hasVal := strings.Cut(q, "=")
		if seen[key] {
			return p, model.Errorf(model.BadRequest, "parameter %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "ep":
			if val == "" || !hasVal {
				return p, model.Errorf(model.BadRequest, "empty endpoint name")
			}
			p.endpoint = val
		case "lt":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || val[0] == '+' {
				return p, model.Errorf(model.BadRequest, "lifetime %q is not a number of seconds", val)
			}
			if uint32(n) < minLifetime {
				return p, model.Errorf(model.BadRequest, "lifetime %d is below the minimum %d", n, minLifetime)
			}
			p.lifetime, p.hasLifetime = uint32(n), true
		case "lwm2m":
			v, err := model.ParseVersion(val)
			if err != nil {
				return p, model.Errorf(model.BadRequest, "lwm2m version %q: %v", val, err)
			}
			p.version, p.hasVersion = v, true
		case "b":
			if err := checkBinding(val); err != nil {
				return p, err
			}
			p.binding, p.hasBinding = val, true
		case "sms":
			p.sms, p.hasSMS = val, true
		case "Q":
			if hasVal {
				return p, model.Errorf(model.BadRequest, "the queue mode parameter Q takes no value")
			}
			p.queue = true
		}
	}
	return p, nil
}

// checkRegQuery compares parseRegOptions with the reference on query.
func checkRegQuery(t *testing.T, query []string, minLifetime uint32) {
	t.Helper()
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/rd")
	m.SetContentFormat(40)
	for _, q := range query {
		m.AddQuery(q)
	}
	m.Add(transport.OptSize1, []byte{1}) // an option after the queries
	want, wantErr := refParseRegQuery(query, minLifetime)
	got, err := parseRegOptions(m, minLifetime)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("query %q: error %v, want %v", query, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("query %q: %+v, want %+v", query, got, want)
	}
	got, err = parseRegQuery(query, minLifetime)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() || err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("parseRegQuery(%q) = %+v, %v; want %+v, %v", query, got, err, want, wantErr)
	}
}

var seedRegQueries = []string{
	"ep=dev&lt=60&lwm2m=1.1&b=U&Q",
	"ep=dev&lt=86400&lwm2m=1.1&b=U",
	"ep=x&lt=0",
	"ep=x&lt=4294967295",
	"ep=x&lt=4294967296",
	"ep=x&lt=+5",
	"ep=x&lt=-1",
	"ep=x&lt=",
	"ep=x&lt",
	"ep=x&lt=0060",
	"ep=x&lt= 60",
	"ep=x&lwm2m=1.0&b=UQ&sms=123",
	"ep=x&lwm2m=1.2",
	"ep=x&lwm2m= 1.2 ",
	"ep=x&lwm2m=1",
	"ep=x&lwm2m=2.10",
	"ep=x&lwm2m=x",
	"ep=x&lwm2m=",
	"ep=x&b=",
	"ep=x&b=UU",
	"ep=x&b=Q",
	"ep=x&b=UTSN",
	"ep=x&b=X",
	"ep=&Q=1",
	"ep",
	"ep=",
	"ep=a=b",
	"Q&Q",
	"Q=",
	"ep=x&ep=y",
	"ep=x&foo=1&foo=2",
	"ep=x&foo&bar&baz=&foo",
	"ep=x&=1&=2",
	"ep=x&sms=&sms=1",
	"",
}

func TestParseRegOptions(t *testing.T) {
	for _, q := range seedRegQueries {
		for _, minLifetime := range []uint32{1, 60} {
			checkRegQuery(t, strings.Split(q, "&"), minLifetime)
		}
	}
	var many []string
	for i := range 40 {
		many = append(many, "k"+strconv.Itoa(i)+"=v")
	}
	checkRegQuery(t, many, 1)
	checkRegQuery(t, append(many, "k7"), 1)
}

// FuzzParseRegOptions compares parseRegOptions with the reference.
func FuzzParseRegOptions(f *testing.F) {
	for _, q := range seedRegQueries {
		f.Add(q, uint32(1))
	}
	f.Fuzz(func(t *testing.T, query string, minLifetime uint32) {
		checkRegQuery(t, strings.Split(query, "&"), minLifetime)
	})
}

// TestCreated checks the Register response against the one built with
// the option setters.
func TestCreated(t *testing.T) {
	for _, id := range []string{newRegistrationID(), "r1", strings.Repeat("x", 40)} {
		want := &transport.Message{Code: model.Created}
		want.SetLocationPath("rd", id)
		got := created(id)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("created(%q) = %+v, want %+v", id, got, want)
		}
	}
	id := newRegistrationID()
	if len(id) != 16 || strings.ToLower(id) != id || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		t.Errorf("registration id %q", id)
	}
}

func TestIsRegisterPath(t *testing.T) {
	for _, path := range []string{"/rd", "/rd/", "/rd/x", "/dp", "/", "", "/rdx", "/r", "/x/rd"} {
		m := &transport.Message{Code: transport.POST}
		m.SetPath(path)
		segs := m.PathSegments()
		want := len(segs) == 1 && segs[0] == "rd"
		if got := isRegisterPath(m); got != want {
			t.Errorf("%q (%q): %v, want %v", path, segs, got, want)
		}
	}
}
