// Package batching turns many concurrent single-key loads into few batch calls.
//
// PLACEHOLDER IMPLEMENTATION: the exported API below is the contract other packages
// build against; the real engine replaces the bodies.
package batching

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by Load and LoadMany after Close has been called.
var ErrClosed = errors.New("batching: batcher is closed")

// Result is the outcome for one key: a value or an error.
type Result[V any] struct {
	Value V
	Err   error
}

// BatchFunc loads a batch of distinct keys. It returns one Result per key, in
// the order of keys, or an error that fails the whole batch. ctx belongs to
// the batcher, not to any one caller.
type BatchFunc[K comparable, V any] func(ctx context.Context, keys []K) ([]Result[V], error)

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

// RetryAfterer is implemented by errors that carry a server's retry-after hint.
type RetryAfterer interface{ RetryAfter() time.Duration }

// Cache is the hook through which the batcher consults and fills a cache.
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
	OnBatch       func(BatchInfo)
}

// BatchInfo describes one finished batch, for logs and metrics.
type BatchInfo struct {
	Size       int
	OldestWait time.Duration
	Duration   time.Duration
	Attempt    int
	Err        error
}

// Stats is a snapshot of a batcher's counters.
type Stats struct {
	Loads, CacheHits, Merged, Batches, BatchedKeys, Retries uint64
	Queued, InFlight                                        int
}

// Batcher merges concurrent loads into batches.
type Batcher[K comparable, V any] struct {
	fn   BatchFunc[K, V]
	opts Options[K, V]
}

// New returns a Batcher calling fn.
func New[K comparable, V any](fn BatchFunc[K, V], opts Options[K, V]) *Batcher[K, V] {
	return &Batcher[K, V]{fn: fn, opts: opts}
}

// Load returns key's value.
func (b *Batcher[K, V]) Load(ctx context.Context, key K) (V, error) {
	r := b.LoadMany(ctx, []K{key})
	return r[0].Value, r[0].Err
}

// LoadMany returns one Result per key, in order.
func (b *Batcher[K, V]) LoadMany(ctx context.Context, keys []K) []Result[V] {
	out, err := b.fn(context.Background(), keys)
	if err != nil {
		out = make([]Result[V], len(keys))
		for i := range out {
			out[i].Err = err
		}
	}
	return out
}

// Stats returns a snapshot of the counters.
func (b *Batcher[K, V]) Stats() Stats { return Stats{} }

// Close stops taking calls, dispatches what is queued and waits for what is in flight.
func (b *Batcher[K, V]) Close(ctx context.Context) error { return nil }
