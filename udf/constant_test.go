package udf

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseConstant(t *testing.T) {
	tests := []struct {
		in   string
		want Value
		err  string
	}{
		{"", Empty(), ""},
		{"42", Number(42), ""},
		{" -1,000.5 ", Number(-1000.5), ""},
		{"50%", Number(0.5), ""},
		{"true", Bool(true), ""},
		{"FALSE", Bool(false), ""},
		{"#n/a", Error(ErrNA, ""), ""},
		{"#DIV/0!", Error(ErrDiv0, ""), ""},
		{"'42", Text("42"), ""},
		{"'", Text(""), ""},
		{"Paris", Text("Paris"), ""},
		{"221B Baker St", Text("221B Baker St"), ""},
		{`{1,2;3,4}`, Array([][]Value{{Number(1), Number(2)}, {Number(3), Number(4)}}), ""},
		{`{"Paris";"Rome, Italy";"say ""hi"""}`, Array([][]Value{{Text("Paris")}, {Text("Rome, Italy")}, {Text(`say "hi"`)}}), ""},
		{`{TRUE, #N/A, ""}`, Array([][]Value{{Bool(true), Error(ErrNA, ""), Text("")}}), ""},
		{`{1,2;3}`, Value{}, "row 2 has 1 values, row 1 has 2"},
		{`{1,2`, Value{}, "missing closing }"},
		{`{Paris}`, Value{}, "must be in double quotes"},
		{`{"Paris}`, Value{}, "unterminated text"},
		{`{1,,2}`, Value{}, "empty element"},
		{`{"a" "b"}`, Value{}, "expected , or ;"},
	}
	for _, tt := range tests {
		got, err := ParseConstant(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseConstant(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !equal(got, tt.want) {
			t.Errorf("ParseConstant(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestValueJSON(t *testing.T) {
	tests := []struct {
		v    Value
		json string
	}{
		{Empty(), `null`},
		{Number(51.5237), `51.5237`},
		{Text("a \"b\""), `"a \"b\""`},
		{Bool(true), `true`},
		{Error(ErrNA, "no match"), `{"error":"#N/A"}`},
		{Array([][]Value{{Number(1), Empty()}, {Text("x"), Error(ErrValue, "")}}), `[[1,null],["x",{"error":"#VALUE!"}]]`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.v, b, err, tt.json)
		}
		var back Value
		if err := json.Unmarshal([]byte(tt.json), &back); err != nil || !equal(back, Error(tt.v.Code(), "")) && !equal(back, tt.v) {
			t.Errorf("Unmarshal(%s) = %#v, %v", tt.json, back, err)
		}
	}
	for _, bad := range []string{`[1,2]`, `[[1],[1,2]]`, `{"error":"#BUSY!"}`, `{"x":1}`, `[[[1]]]`, `nul`} {
		var v Value
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}

func TestErrorOutsideTheSevenIsValue(t *testing.T) {
	v := Error("#BUSY!", "wait")
	if v.Code() != ErrValue || v.Message() != "#BUSY! wait" {
		t.Fatalf("Error(#BUSY!) = %v %q, want #VALUE! naming the code", v, v.Message())
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{Number(0), "0"}, {Number(-2.5), "-2.5"}, {Number(1e15), "1E+15"}, {Number(123456789012), "123456789012"},
		{Number(1e-10), "1E-10"}, {Number(0.1 + 0.2), "0.3"}, {Bool(false), "FALSE"}, {Empty(), ""}, {Text("x"), "x"},
	}
	for _, tt := range tests {
		if got := tt.v.Display(); got != tt.want {
			t.Errorf("Display(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
