package batching

import (
	"context"
	"time"
)

// Load returns key's value. It joins a queued or in-flight load of the same
// key if there is one. If ctx ends first, Load returns at once with
// ctx.Err(); the key is dropped if no other caller waits for it.
func (b *Batcher[K, V]) Load(ctx context.Context, key K) (V, error) {
	var zero V
	if b.closedFlag.Load() {
		return zero, ErrClosed
	}
	b.loads.Add(1)
	if c := b.opts.Cache; c != nil {
		if r, ok := c.Get(key); ok {
			b.cacheHits.Add(1)
			return r.Value, r.Err
		}
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}

	w := b.waiters.get(1)
	now := b.now()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.waiters.put(w)
		return zero, ErrClosed
	}
	e, isNew := b.joinLocked(key, w, now, nil)
	starts := 0
	if isNew {
		starts = b.dispatchLocked(now)
	}
	b.mu.Unlock()

	done := ctx.Done()
	if done == nil && starts > 0 {
		// This caller waits whatever happens, so it may as well serve the
		// slot it reserved instead of starting a goroutine for it.
		b.start(starts - 1)
		b.start(b.serve())
	} else {
		b.start(starts)
	}
	if done != nil {
		select {
		case <-w.ready:
		case <-done:
			b.mu.Lock()
			b.leaveLocked(e, w)
			b.mu.Unlock()
			return zero, ctx.Err()
		}
	} else {
		<-w.ready
	}
	b.waiters.put(w)
	return e.res.Value, e.res.Err
}

// LoadMany returns one Result per key, in order, duplicates included. All
// keys are queued by the calling goroutine and the call waits once for all
// of them. If ctx ends first, keys already answered keep their results and
// the others get ctx.Err().
func (b *Batcher[K, V]) LoadMany(ctx context.Context, keys []K) []Result[V] {
	out := make([]Result[V], len(keys))
	if len(keys) == 0 {
		return out
	}
	if b.closedFlag.Load() {
		fill(out, nil, ErrClosed)
		return out
	}
	b.loads.Add(uint64(len(keys)))

	// hit[i] marks keys answered from the cache; nil when there is no cache.
	var hit []bool
	misses := len(keys)
	if c := b.opts.Cache; c != nil {
		hit = make([]bool, len(keys))
		for i, k := range keys {
			if r, ok := c.Get(k); ok {
				out[i], hit[i] = r, true
				misses--
			}
		}
		b.cacheHits.Add(uint64(len(keys) - misses))
		if misses == 0 {
			return out
		}
	}
	if err := ctx.Err(); err != nil {
		fill(out, hit, err)
		return out
	}

	// remaining starts at one, a guard held while keys are being joined, so
	// that answers arriving meanwhile cannot wake the call early.
	w := b.waiters.get(1)
	ents := b.getEnts(len(keys))
	slab := entrySlab[K, V]{left: misses}
	// Keys are joined in chunks so that batches can start, and other callers
	// get the lock, while a long list is still being queued.
	chunk := min(b.opts.MaxBatch, 1024)
	for i := 0; i < len(keys); {
		now := b.now()
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			for ; i < len(keys); i++ {
				if hit == nil || !hit[i] {
					out[i].Err = ErrClosed
				}
			}
			break
		}
		if b.live == 0 && misses > b.pendingRoom {
			// Size the map for the whole call at once rather than let it
			// grow step by step; pendingRoom remembers how large it got.
			b.pending = make(map[K]*entry[K, V], misses)
			b.pendingRoom = misses
		}
		joined, added := int32(0), false
		for end := min(i+chunk, len(keys)); i < end; i++ {
			if hit != nil && hit[i] {
				ents[i] = nil
				continue
			}
			e, isNew := b.joinLocked(keys[i], w, now, &slab)
			slab.left--
			ents[i] = e
			joined++
			added = added || isNew
		}
		// Counted before the lock is released, hence before any of these
		// entries can be answered.
		w.remaining.Add(joined)
		starts := 0
		if added {
			starts = b.dispatchLocked(now)
		}
		b.mu.Unlock()
		b.start(starts)
	}
	w.answer() // release the guard

	if done := ctx.Done(); done != nil {
		select {
		case <-w.ready:
		case <-done:
			err := ctx.Err()
			b.mu.Lock()
			for i, e := range ents {
				if e == nil {
					continue
				}
				if e.state == stateDone {
					out[i] = e.res
				} else {
					b.leaveLocked(e, w)
					out[i].Err = err
				}
			}
			b.mu.Unlock()
			return out
		}
	} else {
		<-w.ready
	}
	b.waiters.put(w)
	shared := false
	for i, e := range ents {
		if e != nil {
			out[i] = e.res
			shared = shared || e.shared
		}
	}
	b.putEnts(ents)
	if !shared && slab.buf != nil {
		b.slabPool.Put(&slab.buf)
	}
	return out
}

// getEnts returns a slice of n entry pointers, recycled when possible:
// LoadMany's index from its keys to their entries. A recycled slice holds
// stale pointers; LoadMany sets every element.
func (b *Batcher[K, V]) getEnts(n int) []*entry[K, V] {
	if p, _ := b.entsPool.Get().(*[]*entry[K, V]); p != nil && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]*entry[K, V], n)
}

// putEnts recycles ents, which nothing else refers to. It is not cleared:
// the stale pointers live until reuse or until the garbage collector
// empties the pool.
func (b *Batcher[K, V]) putEnts(ents []*entry[K, V]) {
	b.entsPool.Put(&ents)
}

// fill sets err on every result not marked in hit.
func fill[V any](out []Result[V], hit []bool, err error) {
	for i := range out {
		if hit == nil || !hit[i] {
			out[i].Err = err
		}
	}
}

// joinLocked subscribes w to key's entry, creating and queuing the entry if
// the key is not pending yet (from slab when given). It reports whether the
// entry is new.
func (b *Batcher[K, V]) joinLocked(key K, w *waiter, now time.Duration, slab *entrySlab[K, V]) (*entry[K, V], bool) {
	// A stale slot may point to a done entry, or to one recycled for
	// another key: both mean the key is not pending.
	if e := b.pending[key]; e != nil && e.state < stateDone && e.key == key {
		if w != e.first {
			e.shared = true
		}
		e.subscribe(w)
		b.counters.merged++
		return e, false
	}
	if n := len(b.pending); n >= b.pendingRoom && n-b.live > b.live {
		b.sweepLocked()
	}
	var e *entry[K, V]
	if slab != nil {
		var stale bool
		if e, stale = slab.next(&b.slabPool); stale {
			// Reset field by field: a whole-struct clear costs more while
			// the garbage collector is marking, and first is set below.
			var zero V
			e.res.Value, e.res.Err = zero, nil
			e.more, e.firstTry, e.attempts, e.state, e.shared = nil, 0, 0, stateQueued, false
		}
	} else {
		e = new(entry[K, V])
	}
	e.key = key
	e.readyAt = now
	e.first, e.callers = w, 1
	b.pending[key] = e
	b.live++
	b.pendingRoom = max(b.pendingRoom, len(b.pending))
	b.queue.push(e)
	b.queued++
	return e, true
}

// leaveLocked removes one subscription of w from e after its caller gave
// up, and drops e if it has not been sent and no one else waits for it.
func (b *Batcher[K, V]) leaveLocked(e *entry[K, V], w *waiter) {
	if e.state == stateDone || e.state == stateDropped {
		return
	}
	e.unsubscribe(w)
	if e.callers == 0 && (e.state == stateQueued || e.state == stateRetrying) {
		b.dropLocked(e)
	}
}

// dropLocked forgets e, which no one waits for any more. An entry in the
// queue or the retry heap stays there, marked, and is skipped.
func (b *Batcher[K, V]) dropLocked(e *entry[K, V]) {
	switch e.state {
	case stateQueued:
		b.queued--
	case stateRetrying:
		b.waiting--
	}
	e.state = stateDropped
	b.live--
	b.reclaimLocked()
	b.counters.dropped++
	b.checkDrainedLocked()
}

// reclaimLocked frees the map slots of entries that were answered or
// dropped. Such entries stay in pending (joinLocked ignores them) because
// deleting thousands of keys one by one is a large part of a batch's cost;
// once nothing is live they are all freed with one clear, as soon as enough
// have piled up to be worth the map's size. Under a load that never pauses,
// sweepLocked frees them instead when they would make the map grow.
func (b *Batcher[K, V]) reclaimLocked() {
	if stale := len(b.pending) - b.live; b.live == 0 && stale > 0 &&
		(stale >= reclaimBatch || stale*8 >= b.pendingRoom) {
		clear(b.pending)
	}
}

// sweepLocked deletes the stale entries of pending. joinLocked calls it
// when the map is as full as it has ever been and most of it is stale, so
// its cost, proportional to the map's size, is paid for by the entries it
// frees.
func (b *Batcher[K, V]) sweepLocked() {
	for k, e := range b.pending {
		if e.state >= stateDone {
			delete(b.pending, k)
		}
	}
}

// reclaimBatch is how many stale entries justify reclaiming regardless of
// the map's size.
const reclaimBatch = 4096
