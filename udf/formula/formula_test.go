package formula

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/udf"
)

func TestTokenizeRefs(t *testing.T) {
	cases := []struct {
		src  string
		want string // Ref.String() of the only token
		kind RefKind
	}{
		{"A1", "A1", RefCell},
		{"$B$2", "$B$2", RefCell},
		{"A1:B3", "A1:B3", RefArea},
		{"B3:A1", "A1:B3", RefArea},
		{"Sheet2!C4", "Sheet2!C4", RefCell},
		{"'My Sheet'!$A$1:$A$9", "'My Sheet'!$A$1:$A$9", RefArea},
		{"'It''s'!A1", "'It''s'!A1", RefCell},
		{"A:C", "A:C", RefCols},
		{"$1:$3", "$1:$3", RefRows},
		{"Data!#REF!", "Data!#REF!", RefError},
		{"XFD1048576", "XFD1048576", RefCell},
	}
	for _, c := range cases {
		toks, err := Tokenize(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if len(toks) != 2 || toks[0].Kind != RefTok {
			t.Fatalf("%s: tokens %+v", c.src, toks)
		}
		if got := toks[0].Ref.String(); got != c.want || toks[0].Ref.Kind != c.kind {
			t.Errorf("%s: got %s kind %d, want %s kind %d", c.src, got, toks[0].Ref.Kind, c.want, c.kind)
		}
	}
}

func TestTokenizeNamesAndFunctions(t *testing.T) {
	cases := []struct {
		src  string
		kind Kind
		name string
	}{
		{"GEOLOCATE(", Func, "GEOLOCATE"},
		{"XLB.GEOLOCATE(", Func, "XLB.GEOLOCATE"},
		{"_xldudf_XLB_GEOLOCATE(", Func, "_xldudf_XLB_GEOLOCATE"},
		{"_xlfn.CONCAT(", Func, "_xlfn.CONCAT"},
		{"LOG10(", Func, "LOG10"},
		{"Home", NameTok, "Home"},
		{"ABC", NameTok, "ABC"},
		{"XFE1", NameTok, "XFE1"},
		{"Table1[Address]", NameTok, "Table1"},
	}
	for _, c := range cases {
		toks, err := Tokenize(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if toks[0].Kind != c.kind || toks[0].Name.Name != c.name {
			t.Errorf("%s: got kind %d name %q", c.src, toks[0].Kind, toks[0].Name.Name)
		}
	}
	toks, err := Tokenize("[1]!GEOLOCATE(")
	if err != nil || toks[0].Kind != Func || toks[0].Name.External != "[1]" || toks[0].Name.Name != "GEOLOCATE" {
		t.Errorf("[1]!GEOLOCATE: %+v %v", toks, err)
	}
}

func TestShifted(t *testing.T) {
	cases := []struct {
		src    string
		dr, dc int
		want   string
	}{
		{`GEOLOCATE(A2)`, 3, 0, `GEOLOCATE(A5)`},
		{`IF(A2="a""b",'My Sheet'!C2&"x",GEOLOCATE(A2,{1,2}))`, 1, 1, `IF(B3="a""b",'My Sheet'!D3&"x",GEOLOCATE(B3,{1,2}))`},
		{`GEOLOCATE(Sheet2!A2)`, 2, 0, `GEOLOCATE(Sheet2!A4)`},
		{`SUM(Sheet2!A2:A3)`, 1, 0, `SUM(Sheet2!A3:A4)`},
		{`$A$1+A$1+$A1`, 2, 2, `$A$1+C$1+$A3`},
		{`A:A`, 0, 1, `B:B`},
		{`A2`, -2, 0, `#REF!`},
		{`Sheet2!A2`, -5, 0, `Sheet2!#REF!`},
	}
	for _, c := range cases {
		f, err := Parse(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if got := f.Shifted(c.dr, c.dc); got != c.want {
			t.Errorf("%s shifted %d,%d = %s, want %s", c.src, c.dr, c.dc, got, c.want)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	for _, src := range []string{
		`A1 B1`,            // intersection
		`(A1,B1)`,          // union
		`Sheet1:Sheet3!A1`, // 3-D
		`SUM(`,
		`"open`,
		`1+`,
	} {
		if _, err := Parse(src); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: want ErrUnsupported, got %v", src, err)
		}
	}
}

// testEnv is a workbook of a few cells and a registered function ECHO that
// returns its arguments joined, and PAIR that returns a 1×2 array.
type testEnv struct {
	cells map[string]udf.Value // "Sheet1!A1"
	names map[string]string
	calls []string
	known map[string]udf.Value // call results; a missing one is pending
}

func (e *testEnv) Cell(sheet string, row, col int) (udf.Value, error) {
	return e.cells[sheet+"!"+CellName(row, col)], nil
}

func (e *testEnv) DefinedName(sheet, name string) (*Formula, error) {
	s, ok := e.names[strings.ToUpper(name)]
	if !ok {
		return nil, unsupported("unknown name %s", name)
	}
	return Parse(s)
}

var specs = map[string]*udf.Spec{
	"ECHO": {Name: "ECHO", Params: []udf.Param{{Name: "x", Dim: udf.Scalar, Repeating: true}}},
	"PAIR": {Name: "PAIR", Params: []udf.Param{{Name: "x"}}, ResultDim: udf.Matrix},
	"SIZE": {Name: "SIZE", Params: []udf.Param{{Name: "r", Dim: udf.Matrix}}},
}

func canon(n Name) string {
	s := strings.ToUpper(n.Name)
	s = strings.TrimPrefix(s, "_XLDUDF_XLB_")
	return strings.TrimPrefix(s, "XLB.")
}

func (e *testEnv) Registered(n Name) (*udf.Spec, bool) {
	s, ok := specs[canon(n)]
	return s, ok
}

func (e *testEnv) Call(n Name, args []udf.Value) (udf.Value, error) {
	key := canon(n) + fmt.Sprint(args)
	e.calls = append(e.calls, key)
	if v, ok := e.known[key]; ok {
		return v, nil
	}
	switch canon(n) {
	case "ECHO":
		var b strings.Builder
		for _, a := range args {
			b.WriteString(a.String() + ";")
		}
		return udf.Text(b.String()), nil
	case "PAIR":
		if args[0].IsError() {
			return args[0], nil
		}
		return udf.Array([][]udf.Value{{args[0], udf.Number(2)}}), nil
	case "SIZE":
		return udf.Number(float64(len(args[0].Rows()) * len(args[0].Rows()[0]))), nil
	}
	return udf.Value{}, ErrPending
}

func newTestEnv() *testEnv {
	return &testEnv{
		cells: map[string]udf.Value{
			"S!A1": udf.Text("Paris"), "S!A2": udf.Number(2.5), "S!A3": udf.Bool(true),
			"S!A4": udf.Error(udf.ErrNA, ""), "S!B1": udf.Text(" x  y "), "T!C3": udf.Number(7),
		},
		names: map[string]string{"HOME": "S!$A$1", "REL": "S!A1", "BLOCK": "S!$A$1:$A$3"},
	}
}

func TestEval(t *testing.T) {
	n := udf.Number
	s := udf.Text
	b := udf.Bool
	e := func(c udf.ErrorCode) udf.Value { return udf.Error(c, "") }
	cases := []struct {
		src  string
		want udf.Value
	}{
		{`ECHO(A1)`, s("Paris;")},
		{`XLB.ECHO(A1, T!C3)`, s("Paris;7;")},
		{`_xldudf_XLB_ECHO(Home)`, s("Paris;")},
		{`IF(A3, ECHO(1), ECHO(2))`, s("1;")},
		{`IF(A1="paris","yes","no")`, s("yes")},
		{`IF(A9="", "blank")`, s("blank")},
		{`IF(FALSE, 1)`, b(false)},
		{`IFERROR(A4, "fb")`, s("fb")},
		{`IFNA(A4, 0)`, n(0)},
		{`IFERROR(1/0, "div")`, s("div")},
		{`ISNA(A4)`, b(true)},
		{`A1&" "&A2&" "&A3`, s("Paris 2.5 TRUE")},
		{`CONCATENATE("a", A2)`, s("a2.5")},
		{`_xlfn.CONCAT(A1:A3)`, s("Paris2.5TRUE")},
		{`_xlfn.TEXTJOIN(", ", TRUE, A1:A3, "", "z")`, s("Paris, 2.5, TRUE, z")},
		{`ROUND(2.675, 2)`, n(2.68)},
		{`ROUND(-2.5, 0)`, n(-3)},
		{`ROUNDUP(1.201, 1)`, n(1.3)},
		{`ROUNDDOWN(-1.29, 1)`, n(-1.2)},
		{`ROUND(1234.5, -2)`, n(1200)},
		{`-2^2`, n(4)},
		{`2^3^2`, n(64)},
		{`1+2*3-4/2`, n(5)},
		{`50%`, n(0.5)},
		{`"3"+1`, n(4)},
		{`"abc"+1`, e(udf.ErrValue)},
		{`A4+1`, e(udf.ErrNA)},
		{`1/0`, e(udf.ErrDiv0)},
		{`INDEX(PAIR(5), 1, 2)`, n(2)},
		{`INDEX(PAIR(5), 2)`, n(2)},
		{`INDEX(A1:A3, 2)`, n(2.5)},
		{`INDEX(PAIR(5), 3)`, e(udf.ErrRef)},
		{`PAIR(1)&"!"`, udf.Array([][]udf.Value{{s("1!"), s("2!")}})},
		{`IFERROR(PAIR(A4), "none")`, s("none")},
		{`SIZE(A1:B3)`, n(6)},
		{`SIZE(A1)`, n(1)},
		{`SIZE(Block)`, n(3)},
		{`TRIM(B1)`, s("x y")},
		{`LEN(A1)`, n(5)},
		{`LEFT(A1,2)&RIGHT(A1)&MID(A1,2,3)`, s("Pasari")},
		{`UPPER(A1)`, s("PARIS")},
		{`TEXT(A2, "0.00")`, s("2.50")},
		{`TEXT(1234.5, "0")`, s("1235")},
		{`SUM(A1:A3, 1)`, n(3.5)},
		{`MAX(A1:A3)`, n(2.5)},
		{`AND(A3, A2>2)`, b(true)},
		{`OR(A2>3, NOT(A3))`, b(false)},
		{`A1<>"Paris"`, b(false)},
		{`"b">"a"`, b(true)},
		{`1<"a"`, b(true)},
		{`ISBLANK(A9)`, b(true)},
		{`VALUE("12.5")`, n(12.5)},
		{`1/3&""`, s("0.333333333333333")},
		{`_xlfn.SINGLE(PAIR(4))`, n(4)},
		{`{1,2;3,4}`, udf.Array([][]udf.Value{{n(1), n(2)}, {n(3), n(4)}})},
		{`ECHO(A1,,3)`, s("Paris;;3;")},
	}
	for _, c := range cases {
		f, err := Parse(c.src)
		if err != nil {
			t.Errorf("%s: parse: %v", c.src, err)
			continue
		}
		got, err := Eval(newTestEnv(), f, Pos{Sheet: "S", Row: 10, Col: 5})
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if got.String() != c.want.String() || got.Kind() != c.want.Kind() {
			t.Errorf("%s = %v (%d), want %v (%d)", c.src, got, got.Kind(), c.want, c.want.Kind())
		}
	}
}

func TestEvalUnsupported(t *testing.T) {
	for _, src := range []string{
		`VLOOKUP(A1, A1:B3, 2, FALSE)`, // not evaluated here
		`ECHO(A1:A3)`,                  // a range to a scalar parameter: Excel would lift the call
		`A1:A3&"x"`,                    // implicit intersection
		`ECHO(Rel)`,                    // a name with relative references
		`ECHO(Table1[Col])`,
		`"1/2/2020"+1`, // Excel would read a date
		`ECHO([1]Sheet1!A1)`,
		`TEXT(A2, "#,##0")`,
		`0.00001&""`,
		`"a-b"<"ab"`,
		`ECHO(NoSuchName)`,
	} {
		f, err := Parse(src)
		if err == nil {
			_, err = Eval(newTestEnv(), f, Pos{Sheet: "S", Row: 1, Col: 1})
		}
		if !IsUnsupported(err) {
			t.Errorf("%s: want ErrUnsupported, got %v", src, err)
		}
	}
}

func TestEvalSharedOffset(t *testing.T) {
	f, err := Parse(`ECHO(A1, $A$1, T!C3)`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Eval(newTestEnv(), f, Pos{Sheet: "S", Row: 2, Col: 2, DR: 1, DC: 0})
	if err != nil {
		t.Fatal(err)
	}
	// A1 moves to A2 (2.5); $A$1 stays; T!C3 moves to T!C4 (blank).
	if want := "2.5;Paris;;"; got.Str() != want {
		t.Errorf("got %q, want %q", got.Str(), want)
	}
}

func TestEvalPendingCollectsAllCalls(t *testing.T) {
	env := newTestEnv()
	f, err := Parse(`UNKNOWNUDF(1)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Eval(env, f, Pos{Sheet: "S", Row: 1, Col: 1}); !IsUnsupported(err) {
		t.Fatalf("unregistered function: %v", err)
	}
	// A pending inner call still lets the sibling calls be seen in the same pass.
	specs["WAIT"] = &udf.Spec{Name: "WAIT", Params: []udf.Param{{Name: "x"}}}
	defer delete(specs, "WAIT")
	f, _ = Parse(`ECHO(WAIT(1), WAIT(2))`)
	_, err = Eval(env, f, Pos{Sheet: "S", Row: 1, Col: 1})
	if !errors.Is(err, ErrPending) {
		t.Fatalf("want ErrPending, got %v", err)
	}
	if len(env.calls) != 2 || env.calls[0] != "WAIT[1]" || env.calls[1] != "WAIT[2]" {
		t.Errorf("calls %v, want both WAITs", env.calls)
	}
}

func TestGeneralText(t *testing.T) {
	cases := map[float64]string{38.8977: "38.8977", -77.0365: "-77.0365", 100: "100", 0.1 + 0.2: "0.3", 123456789012345: "123456789012345", 2.0 / 3: "0.666666666666667"}
	for f, want := range cases {
		got, err := GeneralText(f)
		if err != nil || got != want {
			t.Errorf("GeneralText(%v) = %q, %v; want %q", f, got, err, want)
		}
	}
}

func TestShapeKey(t *testing.T) {
	key := func(src string, row, col int) string {
		k, err := ShapeKey(nil, src, row, col)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return string(k)
	}
	same := [][2]struct {
		src      string
		row, col int
	}{
		{{`GEOCODE(A2,"city")`, 2, 2}, {`GEOCODE(A3,"city")`, 3, 2}},
		{{`IF(A2="","",G(A2))&$B$1`, 2, 3}, {`IF(B9="","",G(B9))&$B$1`, 9, 4}},
		{{`SUM(A:A)+Sheet2!C5`, 5, 1}, {`SUM(A:A)+Sheet2!C6`, 6, 1}},
	}
	for _, p := range same {
		if a, b := key(p[0].src, p[0].row, p[0].col), key(p[1].src, p[1].row, p[1].col); a != b {
			t.Errorf("%s and %s should share a shape", p[0].src, p[1].src)
		}
	}
	differ := [][2]struct {
		src      string
		row, col int
	}{
		{{`GEOCODE(A2,"city")`, 2, 2}, {`GEOCODE(A2,"city")`, 3, 2}},     // same text, moved: A2 is now two rows up
		{{`GEOCODE(A2,"city")`, 2, 2}, {`GEOCODE(A3,"town")`, 3, 2}},     // a literal differs
		{{`GEOCODE($A$2,"city")`, 2, 2}, {`GEOCODE($A$3,"city")`, 3, 2}}, // absolute references do not move
		{{`GEOCODE(A2,"city")`, 2, 2}, {`GEOCODE(Data!A3,"city")`, 3, 2}},
	}
	for _, p := range differ {
		if a, b := key(p[0].src, p[0].row, p[0].col), key(p[1].src, p[1].row, p[1].col); a == b {
			t.Errorf("%s at %d and %s at %d should not share a shape", p[0].src, p[0].row, p[1].src, p[1].row)
		}
	}
}
