package batching

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Result is the outcome for one key: a value or an error.
type Result[V any] struct {
	Value V
	Err   error
}

// BatchFunc loads a batch of distinct keys. It returns one Result per key, in
// the order of keys, or an error that fails the whole batch. ctx belongs to
// the batcher, not to any one caller: it ends only when Close gives up waiting.
// The function may keep keys after it returns.
type BatchFunc[K comparable, V any] func(ctx context.Context, keys []K) ([]Result[V], error)

// Batcher merges concurrent loads into batches. It is safe for concurrent use;
// create it with New and release it with Close.
type Batcher[K comparable, V any] struct {
	// These fields are set by New and only read afterwards.
	fn        BatchFunc[K, V]
	opts      Options[K, V]
	retryOpts optionsView // the retry settings of opts
	log       zerolog.Logger
	epoch     time.Time       // origin of the monotonic offsets stored in entries
	ctx       context.Context // handed to every batch; cancelled when Close gives up or finishes
	cancel    context.CancelFunc
	timer     *time.Timer // the one timer, for MaxWait, the rate limit and retry backoff; reset under mu
	// drained is closed once, under mu, when the batcher is closed and holds no
	// key any more (nothing queued, retrying or in flight).
	drained chan struct{}

	// closedFlag mirrors closed so that the cached path of Load can refuse new
	// calls without taking mu. It only goes from false to true.
	closedFlag atomic.Bool
	loads      atomic.Uint64 // keys asked for, including cache hits
	cacheHits  atomic.Uint64
	waiters    waiterPool
	batchPool  sync.Pool // of *batch[K, V]
	entsPool   sync.Pool // of *[]*entry[K, V], for LoadMany
	slabPool   sync.Pool // of *[]entry[K, V], for LoadMany; see entrySlab
	// reporting counts finished batches whose OnBatch hook and log line
	// are still running; Close waits for them too.
	reporting atomic.Int32

	mu sync.Mutex // protects every field below and the mutable fields of each entry
	// pending maps each key that is queued, waiting for a retry or in flight
	// (live) to its entry; a new caller of such a key joins that entry
	// instead of adding a second one. Entries answered or dropped stay in
	// pending until reclaimLocked frees their slots in bulk; such a stale
	// slot may even point to an entry recycled for another key, so
	// joinLocked checks both state and key.
	pending     map[K]*entry[K, V]
	live        int              // live entries in pending
	pendingRoom int              // the most keys pending has held or been made for
	queue       entryQueue[K, V] // queued entries, oldest first (may hold dropped ones, skipped)
	retries     retryHeap[K, V]  // entries waiting for their backoff, earliest first (may hold dropped ones)
	queued      int              // live entries in queue
	waiting     int              // live entries in retries
	// inFlight counts running batches, never more than opts.MaxInFlight,
	// including the starting ones: slots reserved whose worker has not yet
	// taken its keys (see dispatchLocked).
	inFlight      int
	starting      int
	bucket        tokenBucket   // rate limit on batch starts; unused when opts.Rate is 0
	timerAt       time.Duration // when the armed timer fires
	timerArmed    bool
	closed        bool
	aborted       bool // Close gave up: every entry was failed and no batch may start
	drainedClosed bool // drained has been closed
	counters      counters
}

// New returns a Batcher calling fn. It panics if fn is nil or opts is invalid
// (see Options.Validate), as both are programming errors.
func New[K comparable, V any](fn BatchFunc[K, V], opts Options[K, V]) *Batcher[K, V] {
	if fn == nil {
		panic("batching: New called with a nil BatchFunc")
	}
	if err := opts.Validate(); err != nil {
		panic(err.Error())
	}
	opts = opts.withDefaults()
	b := &Batcher[K, V]{
		fn:      fn,
		opts:    opts,
		log:     opts.Logger,
		epoch:   time.Now(),
		drained: make(chan struct{}),
		pending: make(map[K]*entry[K, V]),
	}
	if opts.Name != "" {
		b.log = b.log.With().Str("batcher", opts.Name).Logger()
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.retryOpts = optionsView{
		MaxAttempts:   opts.MaxAttempts,
		RetryBase:     opts.RetryBase,
		RetryMax:      opts.RetryMax,
		RetryDeadline: opts.RetryDeadline,
	}
	if opts.Rate > 0 {
		b.bucket = newTokenBucket(opts.Rate, opts.Burst)
	}
	b.timer = time.AfterFunc(time.Hour, b.onTimer)
	b.timer.Stop()
	return b
}

// now returns the time elapsed since the batcher was created, on the
// monotonic clock; entries store their times in this form.
func (b *Batcher[K, V]) now() time.Duration { return time.Since(b.epoch) }
