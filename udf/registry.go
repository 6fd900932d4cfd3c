package udf

import (
	"context"
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

	mu      sync.RWMutex // protects funcs and sources
	funcs   map[string]*Function
	sources []func(*Stats)

	calls, errs atomic.Uint64
	pending     atomic.Int64
}

// NewRegistry returns an empty registry for a namespace such as "XLB".
func NewRegistry(namespace string) *Registry {
	return &Registry{namespace: strings.ToUpper(namespace), funcs: map[string]*Function{}}
}

// Namespace returns the registry's namespace, e.g. "XLB".
func (r *Registry) Namespace() string { return r.namespace }

// Register adds a function.
func (r *Registry) Register(f Function) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.funcs[strings.ToUpper(f.Spec.Name)] = &f
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
	if p := "_XLDUDF_" + r.namespace + "_"; strings.HasPrefix(n, p) {
		return n[len(p):]
	}
	if p := r.namespace + "."; strings.HasPrefix(n, p) {
		return n[len(p):]
	}
	return n
}

// Lookup finds a function by any accepted written form of its name.
func (r *Registry) Lookup(name string) (*Function, bool) {
	r.mu.RLock()
	f, ok := r.funcs[r.CanonicalName(name)]
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
	return r.CallMany(ctx, []Call{c})[0]
}

// CallMany runs many calls at once, grouped by function so each function sees
// all its calls together; the result at i answers calls[i].
func (r *Registry) CallMany(ctx context.Context, calls []Call) []Value {
	out := make([]Value, len(calls))
	r.pending.Add(int64(len(calls)))
	defer r.pending.Add(-int64(len(calls)))
	groups := map[*Function][]int{}
	for i, c := range calls {
		f, ok := r.Lookup(c.Fn)
		if !ok {
			out[i] = Errorf(ErrName, "unknown function %s", c.Fn)
			continue
		}
		groups[f] = append(groups[f], i)
	}
	for f, idx := range groups {
		inv := make([]Invocation, len(idx))
		for j, i := range idx {
			inv[j] = Invocation{Args: calls[i].Args, Preview: calls[i].Preview}
		}
		res := f.Invoke(ctx, inv)
		for j, i := range idx {
			out[i] = res[j]
		}
	}
	for _, v := range out {
		r.calls.Add(1)
		if v.IsError() {
			r.errs.Add(1)
		}
	}
	return out
}
