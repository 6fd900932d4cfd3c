package udf

import (
	"context"
	"strings"
	"testing"
)

// echo registers a function that returns its first argument, so a call shows
// what coercion handed the function.
func echoRegistry(t *testing.T, params ...Param) *Registry {
	t.Helper()
	r := NewRegistry("XLB")
	err := r.Register(Function{
		Spec: Spec{Name: "ECHO.ARG", Description: "returns its first argument", Params: params, Result: TypeAny, ResultDim: Matrix},
		Invoke: func(ctx context.Context, calls []Invocation) []Value {
			out := make([]Value, len(calls))
			for i, c := range calls {
				out[i] = c.Args[0]
			}
			return out
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func cell(v Value) Value { return Array([][]Value{{v}}) }

func TestCoercion(t *testing.T) {
	na := Error(ErrNA, "upstream")
	tests := []struct {
		name  string
		param Param
		arg   Value
		want  Value
		msg   string // substring of the #VALUE! message, when want is #VALUE!
	}{
		{"number stays", Param{Type: TypeNumber}, Number(2.5), Number(2.5), ""},
		{"number typed as text", Param{Type: TypeNumber}, Text(" 42 "), Number(42), ""},
		{"negative exponent text", Param{Type: TypeNumber}, Text("-1.5e3"), Number(-1500), ""},
		{"thousands separators", Param{Type: TypeNumber}, Text("1,234,567.5"), Number(1234567.5), ""},
		{"percent", Param{Type: TypeNumber}, Text("50%"), Number(0.5), ""},
		{"bad thousands grouping", Param{Type: TypeNumber}, Text("1,23"), Error(ErrValue, ""), `expected a number, got text "1,23"`},
		{"hex is not a number", Param{Type: TypeNumber}, Text("0x10"), Error(ErrValue, ""), "expected a number"},
		{"inf is not a number", Param{Type: TypeNumber}, Text("inf"), Error(ErrValue, ""), "expected a number"},
		{"TRUE as number", Param{Type: TypeNumber}, Bool(true), Number(1), ""},
		{"FALSE as number", Param{Type: TypeNumber}, Bool(false), Number(0), ""},
		{"blank as number", Param{Type: TypeNumber}, Empty(), Number(0), ""},
		{"text as number fails", Param{Type: TypeNumber}, Text("north"), Error(ErrValue, ""), `ECHO.ARG argument x: expected a number, got text "north"`},
		{"single cell range", Param{Type: TypeNumber}, cell(Text("7")), Number(7), ""},
		{"multi-cell range for scalar", Param{Type: TypeNumber}, Array([][]Value{{Number(1), Number(2)}}), Error(ErrValue, ""), "argument x: expected a single value, got a 1×2 range"},
		{"error propagates", Param{Type: TypeNumber}, na, na, ""},
		{"error in single cell propagates", Param{Type: TypeString}, cell(Error(ErrDiv0, "")), Error(ErrDiv0, ""), ""},
		{"#VALUE! in a cell keeps its message", Param{Type: TypeNumber}, cell(Error(ErrValue, "from elsewhere")), Error(ErrValue, "from elsewhere"), ""},
		{"number as text", Param{Type: TypeString}, Number(51.5), Text("51.5"), ""},
		{"float noise hidden as text", Param{Type: TypeString}, Number(0.1 + 0.2), Text("0.3"), ""},
		{"big number as text", Param{Type: TypeString}, Number(1e21), Text("1E+21"), ""},
		{"boolean as text", Param{Type: TypeString}, Bool(true), Text("TRUE"), ""},
		{"blank as text", Param{Type: TypeString}, Empty(), Text(""), ""},
		{"text stays", Param{Type: TypeString}, Text("Paris"), Text("Paris"), ""},
		{"text TRUE as boolean", Param{Type: TypeBoolean}, Text("true"), Bool(true), ""},
		{"number as boolean", Param{Type: TypeBoolean}, Number(-3), Bool(true), ""},
		{"zero as boolean", Param{Type: TypeBoolean}, Number(0), Bool(false), ""},
		{"blank as boolean", Param{Type: TypeBoolean}, Empty(), Bool(false), ""},
		{"bad text as boolean", Param{Type: TypeBoolean}, Text("yes"), Error(ErrValue, ""), `expected TRUE or FALSE, got text "yes"`},
		{"any keeps blank", Param{Type: TypeAny}, Empty(), Empty(), ""},
		{"any keeps text", Param{Type: TypeAny}, Text("12"), Text("12"), ""},
		{"any propagates errors", Param{Type: TypeAny}, Error(ErrRef, ""), Error(ErrRef, ""), ""},
		{"scalar to matrix", Param{Type: TypeString, Dim: Matrix}, Text("a"), cell(Text("a")), ""},
		{"matrix elements coerced", Param{Type: TypeString, Dim: Matrix},
			Array([][]Value{{Number(1)}, {Empty()}, {Error(ErrNA, "")}}),
			Array([][]Value{{Text("1")}, {Empty()}, {Error(ErrNA, "")}}), ""},
		{"bad matrix element isolated", Param{Type: TypeNumber, Dim: Matrix},
			Array([][]Value{{Number(1), Text("x")}}),
			Array([][]Value{{Number(1), Errorf(ErrValue, `argument x, row 1, column 2: expected a number, got text "x"`)}}), ""},
		{"empty range", Param{Type: TypeString, Dim: Matrix}, Array(nil), Error(ErrValue, ""), "argument x: empty range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.param
			p.Name = "x"
			if p.Dim == "" {
				p.Dim = Scalar
			}
			r := echoRegistry(t, p)
			got := r.Call(context.Background(), Call{Fn: "ECHO.ARG", Args: []Value{tt.arg}})
			if tt.msg != "" {
				if got.Code() != ErrValue || !strings.Contains(got.Message(), tt.msg) {
					t.Fatalf("got %v %q, want #VALUE! containing %q", got, got.Message(), tt.msg)
				}
				return
			}
			if !equal(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestArgumentCount(t *testing.T) {
	r := echoRegistry(t,
		Param{Name: "address", Type: TypeString, Dim: Scalar},
		Param{Name: "field", Type: TypeString, Dim: Scalar},
		Param{Name: "country", Type: TypeString, Dim: Scalar, Optional: true})
	tests := []struct {
		name string
		args []Value
		msg  string // "" means the call succeeds
	}{
		{"no arguments", nil, "ECHO.ARG needs 2 arguments, got 0: missing address"},
		{"one argument", []Value{Text("a")}, "ECHO.ARG needs 2 arguments, got 1: missing field"},
		{"required only", []Value{Text("a"), Text("b")}, ""},
		{"with optional", []Value{Text("a"), Text("b"), Text("gb")}, ""},
		{"trailing nulls for optionals", []Value{Text("a"), Text("b"), Empty(), Empty()}, ""},
		{"too many", []Value{Text("a"), Text("b"), Text("gb"), Text("extra")}, "ECHO.ARG takes at most 3 arguments, got 4 (ECHO.ARG(address, field, [country]))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Call(context.Background(), Call{Fn: "echo.arg", Args: tt.args})
			if tt.msg == "" {
				if got.IsError() {
					t.Fatalf("got %v %q, want success", got, got.Message())
				}
				return
			}
			if got.Code() != ErrValue || got.Message() != tt.msg {
				t.Fatalf("got %v %q, want #VALUE! %q", got, got.Message(), tt.msg)
			}
		})
	}
}

func TestRepeatingParameter(t *testing.T) {
	r := NewRegistry("XLB")
	sum := func(ctx context.Context, calls []Invocation) []Value {
		out := make([]Value, len(calls))
		for i, c := range calls {
			total := 0.0
			for _, a := range c.Args {
				total += a.Num()
			}
			out[i] = Number(total)
		}
		return out
	}
	if err := r.Register(Function{Spec: Spec{Name: "ADDALL", Description: "adds", Result: TypeNumber, ResultDim: Scalar,
		Params: []Param{{Name: "first", Type: TypeNumber, Dim: Scalar}, {Name: "more", Type: TypeNumber, Dim: Scalar, Optional: true, Repeating: true}}},
		Invoke: sum}); err != nil {
		t.Fatal(err)
	}
	got := r.Call(context.Background(), Call{Fn: "ADDALL", Args: []Value{Number(1), Text("2"), Bool(true), Number(4)}})
	if !equal(got, Number(8)) {
		t.Fatalf("got %v, want 8", got)
	}
	got = r.Call(context.Background(), Call{Fn: "ADDALL", Args: []Value{Number(1), Text("two")}})
	if got.Code() != ErrValue || !strings.Contains(got.Message(), "argument more") {
		t.Fatalf("got %v %q, want #VALUE! naming argument more", got, got.Message())
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"+1.5", 1.5, true}, {".5", 0.5, true}, {"1e-3", 0.001, true},
		{"12 %", 0.12, true}, {"-1,000", -1000, true}, {"1,000,000", 1e6, true},
		{"", 0, false}, {" ", 0, false}, {"%", 0, false}, {"1,0000", 0, false}, {"1_000", 0, false},
		{"NaN", 0, false}, {"1e999", 0, false}, {"12abc", 0, false}, {"1.2.3", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseNumber(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// equal compares values deeply, messages included.
func equal(a, b Value) bool {
	if a.kind != b.kind {
		return false
	}
	if a.kind != KindArray {
		return a.num == b.num && a.str == b.str && a.code == b.code
	}
	if len(a.rows) != len(b.rows) {
		return false
	}
	for i := range a.rows {
		if len(a.rows[i]) != len(b.rows[i]) {
			return false
		}
		for j := range a.rows[i] {
			if !equal(a.rows[i][j], b.rows[i][j]) {
				return false
			}
		}
	}
	return true
}
