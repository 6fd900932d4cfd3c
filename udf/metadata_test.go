package udf

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func sampleRegistry(t *testing.T) *Registry {
	t.Helper()
	r := NewRegistry("XLB")
	noop := func(ctx context.Context, c []Invocation) []Value { return make([]Value, len(c)) }
	specs := []Spec{
		{Name: "LOCATE", Description: "locates", HelpURL: "https://example.com/locate", Result: TypeNumber, ResultDim: Matrix, Cancelable: true,
			Params: []Param{
				{Name: "address", Description: "an address or a range", Type: TypeString, Dim: Matrix},
				{Name: "country", Type: TypeString, Dim: Scalar, Optional: true},
			}},
		{Name: "NOW.ISH", Description: "volatile", Result: TypeNumber, ResultDim: Scalar, Volatile: true},
		{Name: "ALL.OF", Description: "repeats", Result: TypeBoolean, ResultDim: Scalar,
			Params: []Param{{Name: "x", Type: TypeAny, Dim: Scalar, Optional: true, Repeating: true}}},
	}
	for _, s := range specs {
		if err := r.Register(Function{Spec: s, Invoke: noop}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestFunctionsJSONShape(t *testing.T) {
	b, err := sampleRegistry(t).FunctionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Functions []map[string]any `json:"functions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Functions) != 3 {
		t.Fatalf("%d functions, want 3", len(doc.Functions))
	}
	first := doc.Functions[0] // sorted by id
	if first["id"] != "ALL.OF" {
		t.Fatalf("first id = %v, want ALL.OF (sorted)", first["id"])
	}
	loc := doc.Functions[1]
	if loc["id"] != "LOCATE" || loc["name"] != "LOCATE" || loc["helpUrl"] != "https://example.com/locate" {
		t.Fatalf("LOCATE = %v", loc)
	}
	params := loc["parameters"].([]any)
	p0 := params[0].(map[string]any)
	p1 := params[1].(map[string]any)
	if p0["dimensionality"] != "matrix" || p0["type"] != "string" || p0["optional"] != nil || p1["optional"] != true {
		t.Fatalf("LOCATE parameters = %v", params)
	}
	if res := loc["result"].(map[string]any); res["dimensionality"] != "matrix" || res["type"] != "number" {
		t.Fatalf("LOCATE result = %v", res)
	}
	if opts := loc["options"].(map[string]any); opts["cancelable"] != true || opts["volatile"] != nil {
		t.Fatalf("LOCATE options = %v", opts)
	}
	if opts := doc.Functions[2]["options"].(map[string]any); opts["volatile"] != true {
		t.Fatalf("NOW.ISH options = %v", opts)
	}
	if ps := doc.Functions[2]["parameters"].([]any); len(ps) != 0 {
		t.Fatalf("NOW.ISH parameters = %v, want []", ps)
	}
	if err := CheckFunctionsJSON(b); err != nil {
		t.Fatalf("generated document breaks a rule: %v", err)
	}
}

// Each rule of CheckFunctionsJSON must catch its violation, so that a test
// running it on the real registry's functions.json proves something.
func TestCheckFunctionsJSONRules(t *testing.T) {
	fn := func(body string) string { return `{"functions":[` + body + `]}` }
	good := `{"id":"GEO.LOCATE","name":"GEO.LOCATE","parameters":[{"name":"a","type":"string","dimensionality":"matrix"},{"name":"b","optional":true}],"result":{"type":"number","dimensionality":"matrix"},"options":{"cancelable":true}}`
	if err := CheckFunctionsJSON([]byte(fn(good))); err != nil {
		t.Fatalf("good document refused: %v", err)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `{`, "functions.json"},
		{"no functions", `{}`, "no functions array"},
		{"unknown key", fn(`{"id":"ABC","name":"ABC","parameters":[],"colour":1}`), "unknown field"},
		{"missing id", fn(`{"name":"ABC","parameters":[]}`), `id ""`},
		{"lower-case id", fn(`{"id":"abc","name":"ABC","parameters":[]}`), `id "abc"`},
		{"id with underscore", fn(`{"id":"AB_C","name":"ABC","parameters":[]}`), `id "AB_C"`},
		{"id too short", fn(`{"id":"AB","name":"ABC","parameters":[]}`), `id "AB"`},
		{"id is a cell", fn(`{"id":"XFD1","name":"ABC","parameters":[]}`), `id "XFD1"`},
		{"id starts with digit", fn(`{"id":"1AB","name":"ABC","parameters":[]}`), `id "1AB"`},
		{"duplicate id", fn(`{"id":"ABC","name":"ABC","parameters":[]},{"id":"ABC","name":"ABD","parameters":[]}`), "duplicate id"},
		{"missing name", fn(`{"id":"ABC","parameters":[]}`), `name ""`},
		{"duplicate name", fn(`{"id":"ABC","name":"ABC","parameters":[]},{"id":"ABD","name":"ABC","parameters":[]}`), "duplicate name"},
		{"missing parameters", fn(`{"id":"ABC","name":"ABC"}`), "parameters missing"},
		{"unnamed parameter", fn(`{"id":"ABC","name":"ABC","parameters":[{"type":"number"}]}`), "has no name"},
		{"bad parameter type", fn(`{"id":"ABC","name":"ABC","parameters":[{"name":"a","type":"date"}]}`), `type "date"`},
		{"bad dimensionality", fn(`{"id":"ABC","name":"ABC","parameters":[{"name":"a","dimensionality":"vector"}]}`), `dimensionality "vector"`},
		{"required after optional", fn(`{"id":"ABC","name":"ABC","parameters":[{"name":"a","optional":true},{"name":"b"}]}`), "required after an optional"},
		{"repeating not last", fn(`{"id":"ABC","name":"ABC","parameters":[{"name":"a","repeating":true},{"name":"b"}]}`), "only the last"},
		{"bad result type", fn(`{"id":"ABC","name":"ABC","parameters":[],"result":{"type":"table"}}`), `result type "table"`},
		{"bad result dimensionality", fn(`{"id":"ABC","name":"ABC","parameters":[],"result":{"dimensionality":"cube"}}`), `result dimensionality "cube"`},
		{"stream and cancelable", fn(`{"id":"ABC","name":"ABC","parameters":[],"options":{"stream":true,"cancelable":true}}`), "stream and cancelable"},
		{"stream and requiresAddress", fn(`{"id":"ABC","name":"ABC","parameters":[],"options":{"stream":true,"requiresAddress":true}}`), "stream and requiresAddress"},
		{"parameter addresses need matrix", fn(`{"id":"ABC","name":"ABC","parameters":[],"result":{"dimensionality":"scalar"},"options":{"requiresParameterAddresses":true}}`), "needs a matrix result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFunctionsJSON([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	r := sampleRegistry(t)
	var got []string
	for _, s := range r.Specs() {
		got = append(got, s.Signature())
	}
	want := "ALL.OF([x, …]) LOCATE(address, [country]) NOW.ISH()"
	if strings.Join(got, " ") != want {
		t.Fatalf("signatures = %q, want %q", strings.Join(got, " "), want)
	}
}
