package model

import "testing"

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
	}{{"1.0", V1_0}, {"1.1", V1_1}, {" 1.2 ", V1_2}, {"1", V1_0}, {"2.10", Version{2, 10}}} {
		got, err := ParseVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseVersion(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, s := range []string{"", ".", "1.", ".1", "a.b", "1.256", "+1.0", "1.-1"} {
		if _, err := ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) succeeded", s)
		}
	}
	if V1_0.Compare(V1_1) != -1 || V1_2.Compare(V1_1) != 1 || (Version{2, 0}).Compare(V1_2) != 1 || V1_1.Compare(V1_1) != 0 {
		t.Error("Compare")
	}
	if V1_1.String() != "1.1" || !(Version{}).IsZero() {
		t.Error("String/IsZero")
	}
}

func TestParseOperations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Operations
	}{{"R", OpRead}, {"W", OpWrite}, {"RW", OpRead | OpWrite}, {"rw", OpRead | OpWrite}, {"E", OpExecute}, {"", 0}, {" WR ", OpRead | OpWrite}} {
		got, err := ParseOperations(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseOperations(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, s := range []string{"X", "RR", "RE", "RWE"} {
		if _, err := ParseOperations(s); err == nil {
			t.Errorf("ParseOperations(%q) succeeded", s)
		}
	}
	if (OpRead|OpWrite).String() != "RW" || OpExecute.String() != "E" {
		t.Error("String")
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Range
		ok   bool
	}{
		{"0..100", Range{0, 100}, true},
		{"-40..85", Range{-40, 85}, true},
		{"0-255", Range{0, 255}, true},
		{"-1-5", Range{-1, 5}, true},
		{"1.5..2.5", Range{1.5, 2.5}, true},
		{" 0 .. 10 ", Range{0, 10}, true},
		{"", Range{}, false},
		{"0,1,2", Range{}, false},
		{"10..1", Range{}, false},
		{"8 bytes", Range{}, false},
		{"-", Range{}, false},
		{"-inf..inf", Range{}, false},
		{"0x10..0x20", Range{}, false},
		{"1e400..1e401", Range{}, false},
	} {
		got, ok := ParseRange(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseRange(%q) = %v, %v", tc.in, got, ok)
		}
	}
}

func TestResourceDefCheck(t *testing.T) {
	d := &ResourceDef{ID: 9, Name: "Battery Level", Type: TypeInteger, RangeText: "0..100", Range: Range{0, 100}, HasRange: true}
	if err := d.Check(Int(50)); err != nil {
		t.Error(err)
	}
	for _, v := range []Value{Int(101), Int(-1), Float(50), String("50")} {
		if err := d.Check(v); CodeOf(err) != BadRequest {
			t.Errorf("Check(%v) = %v", v, err)
		}
	}
}
