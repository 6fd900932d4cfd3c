package batching

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The randomized test drives one batcher with many concurrent callers and
// checks the engine's promises from outside: answers, batch sizes, slots,
// no key in two running batches, and MaxWait while capacity is free.

type fate uint8

const (
	fateOK        fate = iota // answered with a value
	fateDefinite              // answered with a definite error
	fateTransient             // fails retryably failN times, then succeeds
	fateExhausted             // always fails retryably: the batcher gives up
)

// served is the value the random batch function returns: the key and the
// id of the batch that answered it.
type served struct {
	Key   int
	Batch int
}

// servedErr is the error it returns, carrying the same information.
type servedErr struct {
	Key, Batch int
	Class      Class
}

func (e servedErr) Error() string {
	return fmt.Sprintf("key %d failed (%v) in batch %d", e.Key, e.Class, e.Batch)
}

// randomBackend is the batch function of the randomized test. It keeps
// its own account of slots and keys in flight.
type randomBackend struct {
	maxBatch, maxInFlight, maxAttempts int
	fates                              []fate
	failN                              []int
	epoch                              time.Time

	mu         sync.Mutex
	active     int
	events     []slotEvent     // every change of active, in time order
	starts     []time.Duration // start of each batch, by id
	inFlight   map[int]bool
	tries      map[int]int // attempts in the key's current cycle
	violations []string
}

type slotEvent struct {
	at     time.Duration
	active int
}

func (r *randomBackend) fn(ctx context.Context, keys []int) ([]Result[served], error) {
	out := make([]Result[served], len(keys))
	r.mu.Lock()
	now := time.Since(r.epoch)
	id := len(r.starts)
	r.starts = append(r.starts, now)
	r.active++
	r.events = append(r.events, slotEvent{now, r.active})
	if r.active > r.maxInFlight {
		r.violations = append(r.violations, fmt.Sprintf("%d batches in flight", r.active))
	}
	if len(keys) > r.maxBatch {
		r.violations = append(r.violations, fmt.Sprintf("batch of %d keys", len(keys)))
	}
	for i, k := range keys {
		if r.inFlight[k] {
			r.violations = append(r.violations, fmt.Sprintf("key %d in two running batches", k))
		}
		r.inFlight[k] = true
		r.tries[k]++
		fail := Fatal
		switch r.fates[k] {
		case fateDefinite:
			fail = Definite
		case fateTransient:
			if r.tries[k] <= r.failN[k] {
				fail = Retryable
			}
		case fateExhausted:
			fail = Retryable
		}
		switch {
		case fail == Fatal:
			out[i].Value = served{Key: k, Batch: id}
			r.tries[k] = 0
		default:
			out[i].Err = servedErr{Key: k, Batch: id, Class: fail}
			if fail == Definite || r.fates[k] == fateExhausted && r.tries[k] == r.maxAttempts {
				r.tries[k] = 0
			}
		}
	}
	r.mu.Unlock()

	time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)

	r.mu.Lock()
	for _, k := range keys {
		r.inFlight[k] = false
	}
	r.active--
	r.events = append(r.events, slotEvent{time.Since(r.epoch), r.active})
	r.mu.Unlock()
	return out, nil
}

// freeTime is how long, within [from, to], fewer than maxInFlight batches
// were running.
func (r *randomBackend) freeTime(from, to time.Duration) time.Duration {
	active, last, free := 0, from, time.Duration(0)
	i := sort.Search(len(r.events), func(i int) bool { return r.events[i].at > from })
	if i > 0 {
		active = r.events[i-1].active
	}
	for ; i < len(r.events) && r.events[i].at < to; i++ {
		if active < r.maxInFlight {
			free += r.events[i].at - last
		}
		active, last = r.events[i].active, r.events[i].at
	}
	if active < r.maxInFlight {
		free += to - last
	}
	return free
}

// TestRandomizedConcurrentLoads runs the randomized load on virtual time
// (testing/synctest): goroutines, locks and interleavings are real, but the
// clock only moves when every goroutine is blocked. A caller starved of CPU
// for a while (this machine is shared) then costs no time, so the MaxWait
// bound can be checked from outside to the millisecond without flaking.
func TestRandomizedConcurrentLoads(t *testing.T) {
	seed := uint64(time.Now().UnixNano()) // the bubble's clock starts at a fixed date
	synctest.Test(t, func(t *testing.T) { randomizedRun(t, seed, 500*time.Millisecond, true) })
}

// TestRandomizedConcurrentLoadsRealTime runs the same load on the real
// clock, to catch what virtual time could hide, and checks everything but
// the MaxWait bound: measured from outside on a loaded machine, a caller's
// clock reading and its arrival in the batcher can be far apart.
func TestRandomizedConcurrentLoadsRealTime(t *testing.T) {
	randomizedRun(t, uint64(time.Now().UnixNano()), 1500*time.Millisecond, false)
}

// randomizedRun starts half the callers at once and the rest spread over
// spread; a tenth of them give up after 0–3ms.
func randomizedRun(t *testing.T, seed uint64, spread time.Duration, checkMaxWait bool) {
	const (
		callers     = 10000
		keys        = 2000
		maxBatch    = 64
		maxInFlight = 4
		minBatch    = 32
		maxWait     = 20 * time.Millisecond
		maxAttempts = 3
		slack       = 5 * time.Millisecond
	)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	be := &randomBackend{
		maxBatch: maxBatch, maxInFlight: maxInFlight, maxAttempts: maxAttempts,
		fates: make([]fate, keys), failN: make([]int, keys),
		inFlight: map[int]bool{}, tries: map[int]int{},
	}
	for k := range keys {
		switch p := rng.IntN(100); {
		case p < 55:
			be.fates[k] = fateOK
		case p < 70:
			be.fates[k] = fateDefinite
		case p < 90:
			be.fates[k] = fateTransient
			be.failN[k] = 1 + rng.IntN(maxAttempts-1)
		default:
			be.fates[k] = fateExhausted
		}
	}
	classify := func(err error) Class {
		var se servedErr
		if errors.As(err, &se) {
			return se.Class
		}
		return Fatal
	}
	b := New(be.fn, Options[int, served]{
		MaxBatch: maxBatch, MaxInFlight: maxInFlight, MinBatch: minBatch, MaxWait: maxWait,
		Classify: classify, MaxAttempts: maxAttempts, RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond,
	})

	// A fifth of the callers use LoadMany for one to four keys (duplicates
	// possible), the others Load.
	type call struct {
		keys          []int
		many          bool
		delay, cancel time.Duration // cancel < 0: never cancels
		start         time.Duration
		res           []Result[served]
	}
	calls := make([]call, callers)
	cancelled := map[int]bool{} // keys with at least one cancelling caller
	for i := range calls {
		c := &calls[i]
		c.keys, c.cancel = []int{rng.IntN(keys)}, -1
		if rng.IntN(5) == 0 {
			c.many = true
			for range rng.IntN(4) {
				c.keys = append(c.keys, rng.IntN(keys))
			}
		}
		if rng.IntN(2) == 0 {
			c.delay = time.Duration(rng.Int64N(int64(spread)))
		}
		if rng.IntN(10) == 0 {
			c.cancel = time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
			for _, k := range c.keys {
				cancelled[k] = true
			}
		}
	}

	be.epoch = time.Now()
	var wg sync.WaitGroup
	for i := range calls {
		c := &calls[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(c.delay)
			ctx := context.Background()
			if c.cancel >= 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.cancel)
				defer cancel()
			}
			c.start = time.Since(be.epoch)
			if c.many {
				c.res = b.LoadMany(ctx, c.keys)
			} else {
				v, err := b.Load(ctx, c.keys[0])
				c.res = []Result[served]{{Value: v, Err: err}}
			}
		}()
	}
	wg.Wait()
	closeNow(t, b)

	for _, v := range be.violations {
		t.Error(v)
	}
	// Every caller that did not cancel gets exactly its key's outcome; one
	// that did gets either that or its context's error.
	type served struct{ key, batch int }
	firstServed := map[served]time.Duration{} // earliest caller start per key and answering batch
	wrong, gaveUp, cancels, answers := 0, 0, 0, 0
	for _, c := range calls {
		if len(c.res) != len(c.keys) {
			t.Fatalf("%d results for %d keys", len(c.res), len(c.keys))
		}
		for j, key := range c.keys {
			r := c.res[j]
			answers++
			if c.cancel >= 0 && errors.Is(r.Err, context.DeadlineExceeded) {
				cancels++
				continue
			}
			var se servedErr
			var ae *AttemptsError
			batch := -1
			ok := false
			switch be.fates[key] {
			case fateOK, fateTransient:
				ok = r.Err == nil && r.Value.Key == key
				batch = r.Value.Batch
			case fateDefinite:
				ok = errors.As(r.Err, &se) && se.Key == key && se.Class == Definite && !errors.As(r.Err, &ae)
				batch = se.Batch
			case fateExhausted:
				ok = errors.As(r.Err, &ae) && ae.Attempts == maxAttempts && errors.As(r.Err, &se) && se.Key == key
				gaveUp++
			}
			if !ok {
				wrong++
				if wrong <= 10 {
					t.Errorf("key %d (fate %d, cancels %v): got %+v, %v", key, be.fates[key], c.cancel >= 0, r.Value, r.Err)
				}
				continue
			}
			// Keys answered by their first attempt, never touched by a
			// cancelling caller, are the ones whose queue time the test can
			// measure from outside: from the first of their callers to the
			// start of the batch that answered them.
			first := be.fates[key] == fateOK || be.fates[key] == fateDefinite
			if first && c.cancel < 0 && !cancelled[key] {
				k := served{key, batch}
				if s, seen := firstServed[k]; !seen || c.start < s {
					firstServed[k] = c.start
				}
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d answers were wrong", wrong)
	}

	// No key waits past MaxWait plus 5ms while capacity is free.
	worst, checked := time.Duration(0), 0
	for k, from := range firstServed {
		to := be.starts[k.batch]
		if to < from {
			t.Errorf("key %d answered by batch %d that started before its caller", k.key, k.batch)
			continue
		}
		checked++
		if free := be.freeTime(from, to); free > worst {
			worst = free
		}
	}
	if checkMaxWait && worst > maxWait+slack {
		t.Errorf("a key waited %v with capacity free, more than MaxWait %v + %v", worst, maxWait, slack)
	}
	st := b.Stats()
	t.Logf("%d batches, %.1f keys/batch, %d merged, %d retries, %d dropped, %d cancelled answers, %d gave up; MaxWait checked on %d keys, worst free-capacity wait %v",
		st.Batches, st.KeysPerBatch(), st.Merged, st.Retries, st.Dropped, cancels, gaveUp, checked, worst)
	if st.Queued != 0 || st.InFlight != 0 || st.Retrying != 0 || st.Loads != uint64(answers) {
		t.Errorf("final stats %+v", st)
	}
	if checked < 500 || st.Retries == 0 || st.Merged == 0 || cancels == 0 {
		t.Errorf("the run exercised too little: %d keys checked, %d retries, %d merged, %d cancelled", checked, st.Retries, st.Merged, cancels)
	}
}
