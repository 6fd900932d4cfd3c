package formula

import (
	"strings"
	"testing"
)

// oddFormulas are inputs a workbook can hold but a well-formed formula never
// is; none of them may panic the lexer, parser, shifter or evaluator.
var oddFormulas = []string{
	"", "=", "(", ")", "((((", "))))", "=(1+2", "=1+2)", "=SUM(", "=SUM(1,", "=SUM(,,)",
	"=\"unterminated", "='Sheet", "='It''s'!A1", "='Ünïcödé 表'!B2", "=表!A1", "='😀'!A1:B2",
	"=A1:", "=:A1", "=A1:B", "=$", "=$$A$$1", "=XFD1048576", "=XFE1", "=A0", "=A1048577",
	"={1,2;3}", "={", "=}", "=[", "=#REF!", "=#N/A+#DIV/0!", "=#", "=1E+", "=1e999", "=-1e-999",
	"=--+-1", "=1%%%", "=&", "=A1 B1", "=ECHO(ECHO(ECHO(", "=XLB.", "=_xldudf_", "=@A1",
	"=A:A", "=1:1", "=S!A:A", "=1048576:1", "=XFD:A", "=\x00", "=\xff\xfe", "=A1!B1!C1",
	"=SUM(A1:A3)*" + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300),
	"=" + strings.Repeat("(", MaxFormulaLen+1),
	"=" + strings.Repeat("-", MaxFormulaLen) + "1",
	"=\"" + strings.Repeat("x", 40000) + "\"",
	"=" + strings.Repeat("1+", MaxFormulaLen/2) + "1",
	"=" + strings.Repeat("A", 5000) + "1",
	"=REPT(\"ab\",1e9)", "=MID(\"abc\",-1,2)", "=LEFT(\"abc\",-5)", "=ROUND(1,1e9)",
	"=INDEX(S!A1:A3,1e10)", "=S!A1:XFD1048576", "=CHAR(0)", "=CHAR(1e20)",
}

// checkNoPanic runs every entry point that takes formula text on src.
func checkNoPanic(t *testing.T, src string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic on %.80q: %v", src, r)
		}
	}()
	_, _ = Tokenize(src)
	_, _ = ShapeKey(nil, src, 5, 5)
	f, err := Parse(src)
	if err != nil {
		return
	}
	_ = f.Shifted(3, -2)
	_ = f.Shifted(-2000000, 20000)
	_ = f.Calls()
	_, _ = Eval(newTestEnv(), f, Pos{Sheet: "S", Row: 1, Col: 1})
}

func TestOddFormulasDoNotPanic(t *testing.T) {
	for _, src := range oddFormulas {
		checkNoPanic(t, src)
	}
}

// FuzzParse explores further with `go test -fuzz FuzzParse ./udf/formula`;
// under plain `go test` it runs the seeds above.
func FuzzParse(f *testing.F) {
	for _, src := range oddFormulas {
		if len(src) < 1000 {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkNoPanic(t, src)
	})
}

// TestOddCharactersAreRefused pins the lexer's answer to characters that
// start no token: an error, where it once looped for ever.
func TestOddCharactersAreRefused(t *testing.T) {
	for _, src := range []string{"=\xff\xfe", "=€", "=1+→", "=A1&😀", "=SUM(1,\u00a0)"} {
		if _, err := Tokenize(src); !IsUnsupported(err) {
			t.Errorf("Tokenize(%q): %v, want ErrUnsupported", src, err)
		}
		if _, err := Parse(src); !IsUnsupported(err) {
			t.Errorf("Parse(%q): %v, want ErrUnsupported", src, err)
		}
	}
}

// TestNestingAndLengthLimits checks that deep nesting and over-long text
// are refused with an error rather than exhausting the stack.
func TestNestingAndLengthLimits(t *testing.T) {
	ok := "=" + strings.Repeat("(", 60) + "1" + strings.Repeat(")", 60)
	if _, err := Parse(ok); err != nil {
		t.Errorf("60 nested parentheses: %v", err)
	}
	for name, src := range map[string]string{
		"parens":  "=" + strings.Repeat("(", MaxNesting+1) + "1" + strings.Repeat(")", MaxNesting+1),
		"signs":   "=" + strings.Repeat("-", MaxNesting+1) + "1",
		"calls":   "=" + strings.Repeat("ECHO(", MaxNesting+1) + "1" + strings.Repeat(")", MaxNesting+1),
		"long":    "=\"" + strings.Repeat("x", MaxFormulaLen) + "\"",
		"endless": "=" + strings.Repeat("(", MaxFormulaLen+1),
	} {
		if _, err := Parse(src); !IsUnsupported(err) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
}
