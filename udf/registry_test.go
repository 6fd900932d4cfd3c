package udf

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
)

func TestNameResolution(t *testing.T) {
	r := echoRegistry(t, Param{Name: "x", Type: TypeAny, Dim: Scalar})
	tests := []struct {
		name  string
		found bool
	}{
		{"ECHO.ARG", true},
		{"echo.arg", true},
		{" Echo.Arg ", true},
		{"XLB.ECHO.ARG", true},
		{"xlb.echo.arg", true},
		{"_xldudf_XLB_ECHO.ARG", true},
		{"_xldudf_XLB_ECHO_ARG", true}, // Excel's stored form turns dots into underscores
		{"_XLDUDF_xlb_echo_arg", true},
		{"OTHER.ECHO.ARG", false},
		{"ECHO", false},
		{"", false},
	}
	for _, tt := range tests {
		f, ok := r.Lookup(tt.name)
		if ok != tt.found || (ok && f.Spec.Name != "ECHO.ARG") {
			t.Errorf("Lookup(%q) = %v, want found=%v", tt.name, ok, tt.found)
		}
	}
	got := r.Call(context.Background(), Call{Fn: "xlb.nosuch", Args: []Value{Number(1)}})
	if got.Code() != ErrName || got.Message() != "unknown function xlb.nosuch" {
		t.Fatalf("unknown function: got %v %q", got, got.Message())
	}
}

func TestRegisterRejectsBadSpecs(t *testing.T) {
	ok := Spec{Name: "GOOD", Description: "d", Result: TypeNumber, ResultDim: Scalar,
		Params: []Param{{Name: "a", Type: TypeNumber, Dim: Scalar}}}
	tests := []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"short name", func(s *Spec) { s.Name = "GO" }, "at least three"},
		{"lower case", func(s *Spec) { s.Name = "good" }, "upper-case"},
		{"underscore", func(s *Spec) { s.Name = "GO_OD" }, "only upper-case"},
		{"cell reference", func(s *Spec) { s.Name = "ABC12" }, "cell reference"},
		{"R1C1 reference", func(s *Spec) { s.Name = "R1C1" }, "cell reference"},
		{"reserved", func(s *Spec) { s.Name = "ECHO" }, "reserved"},
		{"no description", func(s *Spec) { s.Description = "" }, "no description"},
		{"bad type", func(s *Spec) { s.Params[0].Type = "date" }, "unknown type"},
		{"bad dim", func(s *Spec) { s.Params[0].Dim = "vector" }, "unknown dimensionality"},
		{"bad param name", func(s *Spec) { s.Params[0].Name = "Lat" }, "name must be"},
		{"required after optional", func(s *Spec) {
			s.Params = []Param{{Name: "a", Type: TypeAny, Dim: Scalar, Optional: true}, {Name: "b", Type: TypeAny, Dim: Scalar}}
		}, "required parameter cannot follow"},
		{"repeating not last", func(s *Spec) {
			s.Params = []Param{{Name: "a", Type: TypeAny, Dim: Scalar, Repeating: true}, {Name: "b", Type: TypeAny, Dim: Scalar}}
		}, "only the last"},
		{"bad result", func(s *Spec) { s.Result = "date" }, "result type"},
		{"bad help", func(s *Spec) { s.HelpURL = "ftp://x" }, "help URL"},
	}
	noop := func(ctx context.Context, c []Invocation) []Value { return make([]Value, len(c)) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			s.Params = append([]Param(nil), ok.Params...)
			tt.mutate(&s)
			err := NewRegistry("XLB").Register(Function{Spec: s, Invoke: noop})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	r := NewRegistry("XLB")
	if err := r.Register(Function{Spec: ok, Invoke: noop}); err != nil {
		t.Fatalf("valid spec refused: %v", err)
	}
	if err := r.Register(Function{Spec: ok, Invoke: noop}); err == nil {
		t.Fatal("duplicate registration accepted")
	}
}

// CallMany must hand each function all its calls at once, keep answers in
// order and count them.
func TestCallManyGroupsByFunction(t *testing.T) {
	r := NewRegistry("XLB")
	var groups atomic.Int32
	double := func(ctx context.Context, calls []Invocation) []Value {
		groups.Add(1)
		out := make([]Value, len(calls))
		for i, c := range calls {
			out[i] = Number(2 * c.Args[0].Num())
		}
		return out
	}
	neg := func(ctx context.Context, calls []Invocation) []Value {
		groups.Add(1)
		out := make([]Value, len(calls))
		for i, c := range calls {
			out[i] = Number(-c.Args[0].Num())
		}
		return out
	}
	for name, fn := range map[string]Invoker{"DOUBLE": double, "NEGATE": neg} {
		if err := r.Register(Function{Spec: Spec{Name: name, Description: "d", Result: TypeNumber, ResultDim: Scalar,
			Params: []Param{{Name: "x", Type: TypeNumber, Dim: Scalar}}}, Invoke: fn}); err != nil {
			t.Fatal(err)
		}
	}
	calls := []Call{
		{Fn: "DOUBLE", Args: []Value{Number(1)}},
		{Fn: "xlb.negate", Args: []Value{Text("5")}},
		{Fn: "NOPE", Args: nil},
		{Fn: "_xldudf_XLB_DOUBLE", Args: []Value{Number(3)}},
		{Fn: "NEGATE", Args: []Value{Text("x")}},
		{Fn: "NEGATE", Args: []Value{Number(2)}},
	}
	got := r.CallMany(context.Background(), calls)
	want := []Value{Number(2), Number(-5), Error(ErrName, "unknown function NOPE"), Number(6),
		Error(ErrValue, `NEGATE argument x: expected a number, got text "x"`), Number(-2)}
	for i := range want {
		if !equal(got[i], want[i]) {
			t.Errorf("result %d = %v %q, want %v %q", i, got[i], got[i].Message(), want[i], want[i].Message())
		}
	}
	if g := groups.Load(); g != 2 {
		t.Errorf("invoker ran %d times, want once per function (2)", g)
	}
	s := r.Stats()
	if s.Calls != 6 || s.Errors != 2 || s.Pending != 0 {
		t.Errorf("stats = %+v, want 6 calls, 2 errors, 0 pending", s)
	}
}

func TestMessagesOnlyWhereOfficeShowsThem(t *testing.T) {
	r := NewRegistry("XLB")
	err := r.Register(Function{Spec: Spec{Name: "FAILS", Description: "d", Result: TypeAny, ResultDim: Matrix},
		Invoke: func(ctx context.Context, calls []Invocation) []Value {
			return []Value{Array([][]Value{{Error(ErrNum, "out of range"), Error(ErrNA, "no match")}})}
		}})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Call(context.Background(), Call{Fn: "FAILS"})
	if m := got.Rows()[0][0].Message(); m != "" {
		t.Errorf("#NUM! kept message %q; Office allows messages only on #VALUE! and #N/A", m)
	}
	if m := got.Rows()[0][1].Message(); m != "no match" {
		t.Errorf("#N/A message = %q, want kept", m)
	}
}

func TestStatsSources(t *testing.T) {
	r := NewRegistry("XLB")
	r.AddStatsSource(func(s *Stats) { s.Batches += 3; s.CacheHits += 4 })
	r.AddStatsSource(func(s *Stats) { s.Batches += 1; s.UpstreamRequests += 2 })
	s := r.Stats()
	if s.Batches != 4 || s.CacheHits != 4 || s.UpstreamRequests != 2 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestPanickingFunctionAnswersEveryCall(t *testing.T) {
	r := NewRegistry("XLB")
	err := r.Register(Function{Spec: Spec{Name: "BOOM", Description: "d", Result: TypeAny, ResultDim: Scalar,
		Params: []Param{{Name: "x", Type: TypeAny, Dim: Scalar}}},
		Invoke: func(ctx context.Context, calls []Invocation) []Value { panic("kaput") }})
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range append(r.CallMany(context.Background(), []Call{{Fn: "BOOM", Args: []Value{Number(1)}}, {Fn: "BOOM", Args: []Value{Number(2)}}}),
		r.Call(context.Background(), Call{Fn: "BOOM", Args: []Value{Number(3)}})) {
		if got.Code() != ErrNA || got.Message() != "internal error in BOOM: kaput" {
			t.Fatalf("got %v %q", got, got.Message())
		}
	}
}

// A withdrawn call (its context ended before the answer) is not counted as
// answered: the server restarts the rest of a frame without a cancelled call,
// and counting the abandoned run would double the cells-answered figure.
func TestWithdrawnCallsAreNotCounted(t *testing.T) {
	r := NewRegistry("XLB")
	err := r.Register(Function{Spec: Spec{Name: "IDENT", Description: "d", Result: TypeNumber, ResultDim: Scalar,
		Params: []Param{{Name: "x", Type: TypeNumber, Dim: Scalar}}},
		Invoke: func(ctx context.Context, calls []Invocation) []Value {
			out := make([]Value, len(calls))
			for i, c := range calls {
				out[i] = c.Args[0]
			}
			return out
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Call(ctx, Call{Fn: "IDENT", Args: []Value{Number(1)}})
	r.CallMany(ctx, []Call{{Fn: "IDENT", Args: []Value{Number(1)}}, {Fn: "IDENT", Args: []Value{Number(2)}}})
	if s := r.Stats(); s.Calls != 0 || s.Errors != 0 {
		t.Fatalf("withdrawn calls counted: %+v", s)
	}
	r.CallMany(context.Background(), []Call{{Fn: "IDENT", Args: []Value{Number(1)}}, {Fn: "IDENT", Args: []Value{Text("x")}}})
	if s := r.Stats(); s.Calls != 2 || s.Errors != 1 {
		t.Fatalf("stats = %+v, want 2 calls, 1 error", s)
	}
}
