package udf

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Type is a parameter or result type in Office's custom-functions metadata.
type Type string

const (
	TypeAny     Type = "any"
	TypeNumber  Type = "number"
	TypeString  Type = "string"
	TypeBoolean Type = "boolean"
)

// Dim is a parameter or result dimensionality.
type Dim string

const (
	Scalar Dim = "scalar"
	Matrix Dim = "matrix"
)

// Param describes one parameter of a function.
type Param struct {
	Name        string
	Description string
	Type        Type
	Dim         Dim
	Optional    bool
	Repeating   bool
}

// Spec describes a function: what the registry checks arguments against and
// what functions.json is generated from.
type Spec struct {
	Name        string // upper case, without namespace: "GEOLOCATE"
	Description string
	HelpURL     string
	Params      []Param
	Result      Type
	ResultDim   Dim
	Cancelable  bool
	Volatile    bool
	// RequiresAddress asks Excel to pass the calling cell's address, which
	// clients send as Call.Caller.
	RequiresAddress bool
}

// Invocation is one call of a function with arguments already checked and
// coerced against its Spec (omitted trailing optionals are Empty).
type Invocation struct {
	Args    []Value
	Preview bool // answer from cache only, never spend an upstream request
}

// Invoker computes many calls of one function at once; the result at i answers
// calls[i]. It must return len(calls) values, and return promptly when ctx ends.
type Invoker func(ctx context.Context, calls []Invocation) []Value

// Function is a registered spreadsheet function.
type Function struct {
	Spec   Spec
	Invoke Invoker
}

// Call is one request to the registry, as it arrives from a cell.
type Call struct {
	Fn      string // any accepted written form: GEOLOCATE, XLB.GEOLOCATE, _xldudf_XLB_GEOLOCATE
	Args    []Value
	Preview bool
	Caller  string // the calling cell, for logs only
}

// Stats are the engine-wide counters shown to users.
type Stats struct {
	Calls            uint64 // calls answered
	Errors           uint64 // calls answered with an error value
	Batches          uint64 // batches dispatched by the providers' batchers
	UpstreamRequests uint64 // requests that left the machine
	CacheHits        uint64
	Pending          int64 // calls in progress
}

// Registry resolves function names and runs calls. It is safe for concurrent use.
type Registry struct {
	namespace string
	stored    string // "_XLDUDF_" + namespace + "_", the prefix Excel saves in workbooks
	dotted    string // namespace + "."

	mu      sync.RWMutex // protects funcs and sources
	funcs   map[string]*Function
	sources []func(*Stats)

	calls, errs atomic.Uint64
	pending     atomic.Int64
}

// NewRegistry returns an empty registry for a namespace such as "XLB".
func NewRegistry(namespace string) *Registry {
	ns := strings.ToUpper(namespace)
	return &Registry{
		namespace: ns,
		stored:    "_XLDUDF_" + ns + "_",
		dotted:    ns + ".",
		funcs:     map[string]*Function{},
	}
}

// Namespace returns the registry's namespace, e.g. "XLB".
func (r *Registry) Namespace() string { return r.namespace }

// Register adds a function after checking its spec (see Spec.Validate). A
// name already registered is an error: ids in functions.json must never
// silently change meaning.
func (r *Registry) Register(f Function) error {
	if err := f.Spec.Validate(); err != nil {
		return err
	}
	if f.Invoke == nil {
		return fmt.Errorf("udf: register %s: no invoker", f.Spec.Name)
	}
	f.Spec.Params = append([]Param(nil), f.Spec.Params...) // the caller's slice stays theirs
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[f.Spec.Name]; dup {
		return fmt.Errorf("udf: register %s: already registered", f.Spec.Name)
	}
	r.funcs[f.Spec.Name] = &f
	return nil
}

// AddStatsSource adds a function that contributes counters to Stats.
func (r *Registry) AddStatsSource(fn func(*Stats)) {
	r.mu.Lock()
	r.sources = append(r.sources, fn)
	r.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (r *Registry) Stats() Stats {
	s := Stats{Calls: r.calls.Load(), Errors: r.errs.Load(), Pending: r.pending.Load()}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, fn := range r.sources {
		fn(&s)
	}
	return s
}

// CanonicalName maps any accepted written form of a function name to its
// upper-case bare name: "xlb.geolocate" and "_xldudf_XLB_GEOLOCATE" → "GEOLOCATE".
func (r *Registry) CanonicalName(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	if strings.HasPrefix(n, r.stored) {
		return n[len(r.stored):]
	}
	if strings.HasPrefix(n, r.dotted) {
		return n[len(r.dotted):]
	}
	return n
}

// Lookup finds a function by any accepted written form of its name.
func (r *Registry) Lookup(name string) (*Function, bool) {
	key := r.CanonicalName(name)
	r.mu.RLock()
	f, ok := r.funcs[key]
	if !ok {
		// Excel stores a dotted id with its dots turned into underscores.
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(name)), r.stored) {
			for n, g := range r.funcs {
				if strings.ReplaceAll(n, ".", "_") == key {
					f, ok = g, true
					break
				}
			}
		}
	}
	r.mu.RUnlock()
	return f, ok
}

// Specs returns every function's spec, sorted by name.
func (r *Registry) Specs() []Spec {
	r.mu.RLock()
	out := make([]Spec, 0, len(r.funcs))
	for _, f := range r.funcs {
		out = append(out, f.Spec)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Call runs one call.
func (r *Registry) Call(ctx context.Context, c Call) Value {
	r.pending.Add(1)
	defer r.pending.Add(-1)
	f, ok := r.Lookup(c.Fn)
	if !ok {
		return r.count(ctx, unknown(c.Fn))
	}
	// One allocation holds the invocation and, for the usual few
	// arguments, their coerced values.
	frame := &struct {
		inv [1]Invocation
		scratch
	}{}
	args, bad, ok := coerceArgs(&f.Spec, c.Args, &frame.scratch)
	if !ok {
		return r.count(ctx, bad)
	}
	frame.inv[0] = Invocation{Args: args, Preview: c.Preview}
	res := invoke(ctx, f, frame.inv[:])
	if len(res) == 0 {
		return r.count(ctx, Errorf(ErrNA, "%s returned no result", f.Spec.Name))
	}
	return r.count(ctx, officeSafe(res[0]))
}

// CallMany runs many calls at once: each call's arguments are checked and
// coerced, then the calls are grouped by function so each function sees all
// its calls together, and the groups run concurrently so that calls of
// different functions sharing one upstream meet in the same batch. The result
// at i answers calls[i].
func (r *Registry) CallMany(ctx context.Context, calls []Call) []Value {
	if len(calls) == 1 {
		return []Value{r.Call(ctx, calls[0])}
	}
	out := make([]Value, len(calls))
	r.pending.Add(int64(len(calls)))
	defer r.pending.Add(-int64(len(calls)))

	type group struct {
		f   *Function
		idx []int
		inv []Invocation
	}
	var groups []*group
	byFn := map[*Function]*group{}
	for i, c := range calls {
		f, ok := r.Lookup(c.Fn)
		if !ok {
			out[i] = unknown(c.Fn)
			continue
		}
		args, bad, ok := coerceArgs(&f.Spec, c.Args, nil)
		if !ok {
			out[i] = bad
			continue
		}
		g := byFn[f]
		if g == nil {
			g = &group{f: f}
			byFn[f] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.inv = append(g.inv, Invocation{Args: args, Preview: c.Preview})
	}
	run := func(g *group) {
		res := invoke(ctx, g.f, g.inv)
		for j, i := range g.idx {
			if j < len(res) {
				out[i] = officeSafe(res[j])
			} else {
				out[i] = Errorf(ErrNA, "%s returned no result", g.f.Spec.Name)
			}
		}
	}
	switch len(groups) {
	case 0:
	case 1:
		run(groups[0])
	default:
		var wg sync.WaitGroup
		for _, g := range groups {
			wg.Add(1)
			go func() { defer wg.Done(); run(g) }()
		}
		wg.Wait()
	}
	for _, v := range out {
		r.count(ctx, v)
	}
	return out
}

// invoke runs a function's invoker, turning a panic into an error value
// for each of its calls: one faulty function must not take the server down
// or leave cells waiting.
func invoke(ctx context.Context, f *Function, calls []Invocation) (res []Value) {
	defer func() {
		if p := recover(); p != nil {
			res = make([]Value, len(calls))
			for i := range res {
				res[i] = Errorf(ErrNA, "internal error in %s: %v", f.Spec.Name, p)
			}
		}
	}()
	return f.Invoke(ctx, calls)
}

// count records one answered call and returns v. A call whose context has
// ended is not counted: its caller withdrew it (a cancelled cell, a server
// that restarted the rest of a frame without it) and nobody sees the answer.
func (r *Registry) count(ctx context.Context, v Value) Value {
	if ctx.Err() != nil {
		return v
	}
	r.calls.Add(1)
	if v.IsError() {
		r.errs.Add(1)
	}
	return v
}

func unknown(fn string) Value {
	return Errorf(ErrName, "unknown function %s", strings.TrimSpace(fn))
}

// officeSafe drops messages from error codes Office cannot show a message
// for (only #VALUE! and #N/A carry one), so every front end shows the same.
func officeSafe(v Value) Value {
	switch v.kind {
	case KindError:
		if v.str != "" && !v.code.MessageAllowed() {
			return Error(v.Code(), "")
		}
	case KindArray:
		for _, row := range v.rows {
			for _, c := range row {
				if c.kind == KindError && c.str != "" && !c.code.MessageAllowed() {
					return Array(mapCells(v.rows, officeSafe))
				}
			}
		}
	}
	return v
}

func mapCells(rows [][]Value, fn func(Value) Value) [][]Value {
	out := make([][]Value, len(rows))
	for i, row := range rows {
		out[i] = make([]Value, len(row))
		for j, c := range row {
			out[i][j] = fn(c)
		}
	}
	return out
}
