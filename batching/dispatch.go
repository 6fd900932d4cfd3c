package batching

import "time"

// batch is one call of the batch function.
type batch[K comparable, V any] struct {
	entries    []*entry[K, V] // one per key, in the order of keys
	keys       []K
	oldestWait time.Duration // how long its oldest key was queued
	attempt    int16         // the highest attempt number among its keys
}

// dispatchLocked reserves a slot for every batch that capacity, MinBatch
// and the rate limit allow to start now, and arms the timer for the next
// moment that may change. It returns how many it reserved; the caller
// starts that many workers once it has released b.mu.
//
// The rules: while a slot is free (inFlight < MaxInFlight) a batch leaves at
// once with up to MaxBatch of the oldest keys, unless MinBatch asks it to
// wait for more keys, which it does until its oldest key has waited MaxWait.
// When no slot is free nothing happens here; the batch that frees a slot
// calls dispatchLocked again, so the keys that piled up leave together.
//
// A reserved batch takes its keys when its worker starts running, not
// here: keys that arrive in between, typically while the scheduler gets to
// the new goroutine under a burst of callers, still make it into the batch.
// starting counts those reservations; each is owed up to MaxBatch keys.
func (b *Batcher[K, V]) dispatchLocked(now time.Duration) int {
	if b.aborted {
		return 0
	}
	if b.waiting > 0 {
		b.promoteLocked(now)
	}
	n := 0
	for b.queued > b.starting*b.opts.MaxBatch && b.inFlight < b.opts.MaxInFlight {
		// Keys already owed to reserved batches do not count towards
		// MinBatch: a second batch must gather its own.
		if !b.closed && b.queued-b.starting*b.opts.MaxBatch < b.opts.MinBatch {
			if due := b.queue.front().readyAt + b.opts.MaxWait; now < due {
				b.armLocked(due)
				break
			}
		}
		if b.opts.Rate > 0 {
			if wait := b.bucket.take(now); wait > 0 {
				b.armLocked(now + wait)
				break
			}
		}
		b.starting++
		b.inFlight++
		n++
	}
	if b.waiting > 0 {
		if e := b.retries.peek(); e != nil {
			b.armLocked(e.readyAt)
		}
	}
	return n
}

// takeBatchLocked removes up to MaxBatch of the oldest queued entries and
// marks them in flight, in the slot its caller reserved.
func (b *Batcher[K, V]) takeBatchLocked(now time.Duration) *batch[K, V] {
	n := min(b.queued, b.opts.MaxBatch)
	bt := b.getBatch(n)
	c := &b.counters
	for i := range n {
		e := b.queue.pop()
		e.state = stateInFlight
		e.attempts++
		if e.attempts == 1 {
			e.firstTry = now
		}
		bt.attempt = max(bt.attempt, e.attempts)
		wait := max(now-e.readyAt, 0)
		bt.oldestWait = max(bt.oldestWait, wait)
		c.queueWait += wait
		bt.entries[i] = e
		bt.keys[i] = e.key
	}
	c.maxQueueWait = max(c.maxQueueWait, bt.oldestWait)
	c.batches++
	c.batchedKeys += uint64(n)
	b.queued -= n
	return bt
}

// getBatch returns an empty batch with room for n keys. The keys slice is
// always new, as the batch function may keep it; the rest is recycled.
func (b *Batcher[K, V]) getBatch(n int) *batch[K, V] {
	bt, _ := b.batchPool.Get().(*batch[K, V])
	if bt == nil || cap(bt.entries) < n {
		bt = &batch[K, V]{entries: make([]*entry[K, V], n)}
	}
	bt.entries = bt.entries[:n]
	bt.keys = make([]K, n)
	bt.oldestWait, bt.attempt = 0, 0
	return bt
}

// putBatch recycles a finished batch. Its entries slice keeps its stale
// pointers until reused, or until the pool is emptied by the garbage
// collector, instead of paying for clearing them.
func (b *Batcher[K, V]) putBatch(bt *batch[K, V]) {
	bt.keys = nil
	b.batchPool.Put(bt)
}

// armLocked makes the timer fire no later than at.
func (b *Batcher[K, V]) armLocked(at time.Duration) {
	if b.timerArmed && b.timerAt <= at {
		return
	}
	b.timerArmed, b.timerAt = true, at
	b.timer.Reset(at - b.now())
}

// onTimer runs when a MaxWait deadline, a rate-limit token or a retry is
// due. Stale firings are harmless: it only re-evaluates the rules.
func (b *Batcher[K, V]) onTimer() {
	b.mu.Lock()
	b.timerArmed = false
	n := b.dispatchLocked(b.now())
	b.mu.Unlock()
	if n > 0 {
		b.start(n - 1)
		b.work() // this goroutine is already running: use it
	}
}

// start starts n workers, each on a goroutine of its own.
func (b *Batcher[K, V]) start(n int) {
	for range n {
		go b.work()
	}
}

// work serves reserved slots until finishing a batch reserves no more; it
// serves one of those itself, so that a busy batcher needs no new goroutine
// per batch, and starts workers for the others.
func (b *Batcher[K, V]) work() {
	for n := b.serve(); n > 0; n = b.serve() {
		b.start(n - 1)
	}
}

// serve takes the keys for one reserved slot and runs them as a batch. It
// returns how many slots finishing that batch reserved.
func (b *Batcher[K, V]) serve() int {
	b.mu.Lock()
	b.starting--
	if b.aborted || b.queued == 0 {
		// Every key it was reserved for left meanwhile (cancelled, or Close
		// gave up): give the slot back.
		b.inFlight--
		b.checkDrainedLocked()
		b.mu.Unlock()
		return 0
	}
	bt := b.takeBatchLocked(b.now())
	b.mu.Unlock()
	return b.run(bt)
}
