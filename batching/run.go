package batching

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// run calls the batch function for bt, settles every key (answer, cache,
// retry), frees bt's slot and returns how many batches it reserved a slot
// for in its place (see dispatchLocked).
func (b *Batcher[K, V]) run(bt *batch[K, V]) int {
	start := time.Now()
	results, batchErr, panicked := b.call(bt.keys)
	dur := time.Since(start)
	now := b.now()

	// Judge every failed key outside the lock: Classify is user code.
	var verdicts []verdict
	var retryAt []time.Duration
	if batchErr != nil || hasError(results) {
		verdicts = make([]verdict, len(bt.entries))
		retryAt = make([]time.Duration, len(bt.entries))
		plan := newRetryPlan(now)
		batchClass := Fatal
		if batchErr != nil && !panicked && !errors.Is(batchErr, ErrResultCount) {
			batchClass = b.opts.classify(batchErr)
		}
		for i, e := range bt.entries {
			err, cls := batchErr, batchClass
			if err == nil {
				if err = results[i].Err; err == nil {
					continue
				}
				cls = b.opts.classify(err)
			}
			verdicts[i], retryAt[i] = plan.judge(&b.retryOpts, cls, err, e.attempts, e.firstTry)
		}
	}
	result := func(i int) Result[V] {
		if batchErr != nil {
			return Result[V]{Err: batchErr}
		}
		return results[i]
	}

	// Fill the cache before anyone is answered, so that a caller who asks
	// again right after its answer finds it there.
	if b.opts.Cache != nil {
		b.fillCache(bt, verdicts, result)
	}

	info := BatchInfo{Size: len(bt.keys), OldestWait: bt.oldestWait, Duration: dur, Attempt: int(bt.attempt), Err: batchErr}
	b.mu.Lock()
	// Answered entries are moved to the front of bt.entries to be notified
	// after the lock is released; in-flight entries are only touched here.
	answeredN := 0
	for i, e := range bt.entries {
		if e.state != stateInFlight {
			continue // Close gave up and has already answered it
		}
		v := answered
		if verdicts != nil {
			v = verdicts[i]
		}
		switch v {
		case retry:
			if e.callers == 0 {
				// Every caller left while it was in flight: no one needs it.
				b.dropLocked(e)
				continue
			}
			e.state = stateRetrying
			e.readyAt = retryAt[i]
			b.retries.push(e)
			b.waiting++
			b.counters.retries++
			info.Retried++
			continue
		case gaveUp:
			e.res = Result[V]{Err: &AttemptsError{Attempts: int(e.attempts), Err: result(i).Err}}
		default:
			e.res = result(i)
		}
		if e.res.Err != nil {
			info.Failed++
			b.counters.failed++
		}
		e.state = stateDone
		b.live--
		if answeredN != i {
			bt.entries[answeredN] = e
		}
		answeredN++
	}
	b.reclaimLocked()
	if panicked {
		b.counters.panics++
	}
	// The slot is free for the next batch now; the report that follows is
	// still awaited by Close through reporting.
	b.inFlight--
	b.reporting.Add(1)
	next := b.dispatchLocked(b.now())
	b.mu.Unlock()

	notifyAll(bt.entries[:answeredN])
	b.report(info)
	// Only a closed batcher needs the lock here, to see whether it drained.
	// Close sets closedFlag before it looks at reporting, and this looks at
	// closedFlag after decrementing, so one of the two sees the other.
	if b.reporting.Add(-1) == 0 && b.closedFlag.Load() {
		b.mu.Lock()
		b.checkDrainedLocked()
		b.mu.Unlock()
	}
	b.putBatch(bt)
	return next
}

// call runs the batch function, turning a panic or a result slice of the
// wrong length into an error for the whole batch.
func (b *Batcher[K, V]) call(keys []K) (results []Result[V], err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			results, err, panicked = nil, &PanicError{Value: p, Stack: debug.Stack()}, true
		}
	}()
	results, err = b.fn(b.ctx, keys)
	if err == nil && len(results) != len(keys) {
		err = fmt.Errorf("%w: %d results for %d keys", ErrResultCount, len(results), len(keys))
	}
	return results, err, false
}

func hasError[V any](results []Result[V]) bool {
	for i := range results {
		if results[i].Err != nil {
			return true
		}
	}
	return false
}

// fillCache puts the batch's values and definite errors into the cache. A
// panicking cache loses the rest of the batch's puts, not the batcher.
func (b *Batcher[K, V]) fillCache(bt *batch[K, V], verdicts []verdict, result func(int) Result[V]) {
	defer b.recoverHook("Cache.Put")
	for i, e := range bt.entries {
		if verdicts == nil || verdicts[i] == answered && result(i).Err == nil || verdicts[i] == definite {
			b.opts.Cache.Put(e.key, result(i))
		}
	}
}

// recoverHook stops a panic in a user hook from killing the goroutine that
// runs batches, and logs it.
func (b *Batcher[K, V]) recoverHook(hook string) {
	if p := recover(); p != nil {
		b.log.Error().Str("hook", hook).Interface("panic", p).Msg("batching: hook panicked")
	}
}

// report hands a finished batch to OnBatch and the debug log.
func (b *Batcher[K, V]) report(info BatchInfo) {
	if b.opts.OnBatch != nil {
		b.onBatch(info)
	}
	if ev := b.log.Debug(); ev != nil {
		ev.Int("size", info.Size).
			Dur("oldest_wait", info.OldestWait).
			Dur("duration", info.Duration).
			Int("attempt", info.Attempt).
			Int("retried", info.Retried).
			Int("failed", info.Failed).
			AnErr("error", info.Err).
			Msg("batch")
	}
}

// notifyAll answers the subscribers of entries, which are done. Runs of
// entries with one and the same subscriber (the keys of one LoadMany) cost
// one atomic operation per run instead of one per key.
func notifyAll[K comparable, V any](entries []*entry[K, V]) {
	var w *waiter
	var n int32
	for _, e := range entries {
		if e.more != nil || e.first == nil {
			e.notify()
			continue
		}
		if e.first != w {
			w.answerN(n)
			w, n = e.first, 0
		}
		n++
	}
	w.answerN(n)
}

func (b *Batcher[K, V]) onBatch(info BatchInfo) {
	defer b.recoverHook("OnBatch")
	b.opts.OnBatch(info)
}
