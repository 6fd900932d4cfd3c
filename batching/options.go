package batching

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rs/zerolog"
)

// Class says what an error means to the batcher.
type Class int

const (
	// Fatal errors are returned to callers, neither retried nor cached.
	Fatal Class = iota
	// Retryable errors are retried with backoff while attempts and time remain.
	Retryable
	// Definite errors are answers (e.g. "no match"): returned and cached.
	Definite
)

// String returns the class name, for logs.
func (c Class) String() string {
	switch c {
	case Fatal:
		return "fatal"
	case Retryable:
		return "retryable"
	case Definite:
		return "definite"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// RetryAfterer is implemented by errors that carry a server's retry-after hint.
// The batcher waits at least that long before the next attempt.
type RetryAfterer interface{ RetryAfter() time.Duration }

// Cache is the hook through which the batcher consults and fills a cache.
// Get is called before a key is queued, on the caller's goroutine, so it must
// be cheap and safe for concurrent use.
type Cache[K comparable, V any] interface {
	Get(key K) (Result[V], bool)
	// Put stores a value or a definite error; the cache chooses the TTL.
	Put(key K, r Result[V])
}

// Options configure a Batcher. Zero values take the documented defaults.
type Options[K comparable, V any] struct {
	MaxBatch    int           // keys per batch; default 1000
	MaxWait     time.Duration // hard cap from the oldest queued key; default 5ms
	MaxInFlight int           // concurrent batches; default 4
	Rate        float64       // batches per second; 0 = unlimited
	Burst       int           // rate-limit burst; default 1
	// Classify says which errors are retryable or definite; nil = all fatal.
	Classify      func(error) Class
	MaxAttempts   int           // per key including the first; default 4
	RetryBase     time.Duration // first backoff; default 100ms
	RetryMax      time.Duration // backoff cap; default 10s
	RetryDeadline time.Duration // total retry time per key; default 60s
	Cache         Cache[K, V]
	// OnBatch is called after every batch attempt, on the goroutine that ran
	// it, after its callers have been answered. It must not block for long.
	OnBatch func(BatchInfo)

	// MinBatch is how many keys a batch waits for while capacity is free;
	// a smaller batch leaves once its oldest key has waited MaxWait. The
	// default, 1, adds no delay at all (natural batching). Values above 1
	// trade latency for fewer requests, e.g. "50 ids or 10 seconds".
	MinBatch int
	// Logger receives one debug line per batch (size, oldest key's wait,
	// duration). The zero Logger logs nothing.
	Logger zerolog.Logger
	// Name labels the batcher in log lines.
	Name string
}

// Defaults applied by New to zero-valued options.
const (
	DefaultMaxBatch      = 1000
	DefaultMaxWait       = 5 * time.Millisecond
	DefaultMaxInFlight   = 4
	DefaultBurst         = 1
	DefaultMaxAttempts   = 4
	DefaultRetryBase     = 100 * time.Millisecond
	DefaultRetryMax      = 10 * time.Second
	DefaultRetryDeadline = 60 * time.Second
)

// MaxAttemptsLimit is the largest MaxAttempts accepted.
const MaxAttemptsLimit = 1000

// Validate reports options that New would refuse: negative sizes and
// durations, a rate that is not a finite number, MinBatch above MaxBatch or
// MaxAttempts above MaxAttemptsLimit.
func (o Options[K, V]) Validate() error {
	var errs []error
	neg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative (%d)", name, v))
		}
	}
	neg("MaxBatch", int64(o.MaxBatch))
	neg("MinBatch", int64(o.MinBatch))
	neg("MaxInFlight", int64(o.MaxInFlight))
	neg("Burst", int64(o.Burst))
	neg("MaxAttempts", int64(o.MaxAttempts))
	neg("MaxWait", int64(o.MaxWait))
	neg("RetryBase", int64(o.RetryBase))
	neg("RetryMax", int64(o.RetryMax))
	neg("RetryDeadline", int64(o.RetryDeadline))
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		errs = append(errs, fmt.Errorf("Rate must be a finite number ≥ 0 (got %v)", o.Rate))
	}
	if o.MaxAttempts > MaxAttemptsLimit {
		errs = append(errs, fmt.Errorf("MaxAttempts (%d) exceeds %d", o.MaxAttempts, MaxAttemptsLimit))
	}
	maxBatch := o.MaxBatch
	if maxBatch == 0 {
		maxBatch = DefaultMaxBatch
	}
	if o.MinBatch > maxBatch {
		errs = append(errs, fmt.Errorf("MinBatch (%d) exceeds MaxBatch (%d)", o.MinBatch, maxBatch))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("batching: invalid options: %w", err)
	}
	return nil
}

// withDefaults returns o with every zero field set to its default.
func (o Options[K, V]) withDefaults() Options[K, V] {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxBatch, DefaultMaxBatch)
	def(&o.MinBatch, 1)
	def(&o.MaxInFlight, DefaultMaxInFlight)
	def(&o.Burst, DefaultBurst)
	def(&o.MaxAttempts, DefaultMaxAttempts)
	defDur(&o.MaxWait, DefaultMaxWait)
	defDur(&o.RetryBase, DefaultRetryBase)
	defDur(&o.RetryMax, DefaultRetryMax)
	defDur(&o.RetryDeadline, DefaultRetryDeadline)
	return o
}

// classify returns err's class under o.Classify; with no classifier, or
// one that panics, the error is fatal.
func (o *Options[K, V]) classify(err error) (c Class) {
	if o.Classify == nil {
		return Fatal
	}
	defer func() {
		if recover() != nil {
			c = Fatal
		}
	}()
	return o.Classify(err)
}
