package batching

import (
	"sync"
	"sync/atomic"
	"time"
)

// entryState is where a key is in its life; it only moves forward, except
// that a retried entry goes from stateInFlight back to stateRetrying and
// stateQueued.
type entryState uint8

const (
	stateQueued   entryState = iota // in Batcher.queue, waiting for a batch
	stateRetrying                   // in Batcher.retries, waiting for its backoff
	stateInFlight                   // in a running batch
	stateDone                       // answered; res is final
	stateDropped                    // every caller left before it was sent
)

// entry is one distinct key the batcher is working on, shared by every
// caller who asked for it meanwhile.
type entry[K comparable, V any] struct {
	key K

	// The fields below are protected by Batcher.mu. Once state is stateDone
	// they do not change again (until the entry is recycled, which happens
	// only when no one can still read it; see entrySlab), so a goroutine
	// that has seen stateDone under mu, or has been notified through a
	// waiter, may read them without it.
	res   Result[V]  // the answer, written together with stateDone
	first *waiter    // the first subscriber, kept inline because most keys have one
	more  *[]*waiter // the others, rarely any; a pointer keeps entries small
	// readyAt is when the entry became ready for dispatch or, while it waits
	// for a retry, when it will be; firstTry is when its first attempt
	// started. They and attempts (the batches it has been in) are written
	// under mu when the entry is queued or dispatched and read by the worker
	// running its batch.
	readyAt, firstTry time.Duration
	callers           int32 // subscriptions still waiting: one per Load, one per key in a LoadMany
	attempts          int16 // at most Options.MaxAttempts, which Validate bounds
	state             entryState
	// shared is set when a caller other than the one that created the entry
	// joined it; its slab is then never recycled (see entrySlab).
	shared bool
}

// subscribe adds w to the callers waiting for e.
func (e *entry[K, V]) subscribe(w *waiter) {
	e.callers++
	if e.first == nil {
		e.first = w
		return
	}
	if e.more == nil {
		e.more = new([]*waiter)
	}
	*e.more = append(*e.more, w)
}

// unsubscribe removes one subscription of w from e.
func (e *entry[K, V]) unsubscribe(w *waiter) {
	e.callers--
	if e.first == w {
		e.first = nil
		return
	}
	if e.more == nil {
		return
	}
	more := *e.more
	for i, o := range more {
		if o == w {
			last := len(more) - 1
			more[i] = more[last]
			more[last] = nil
			*e.more = more[:last]
			return
		}
	}
}

// notify answers every subscription of e. It is called without mu, after
// e reached stateDone.
func (e *entry[K, V]) notify() {
	// Read everything before the first answer: the last answer a LoadMany
	// receives lets it recycle the entry.
	first, more := e.first, e.more
	if first != nil {
		first.answer()
	}
	if more != nil {
		for _, w := range *more {
			w.answer()
		}
	}
}

// waiter is one blocked call (a Load, or a whole LoadMany). The goroutines
// answering its entries count remaining down; the one reaching zero sends
// the single token on ready. Once the caller has received that token no one
// else holds the waiter, so it goes back to the pool; a caller that leaves
// early abandons its waiter instead, as answers may still be on their way.
type waiter struct {
	remaining atomic.Int32
	ready     chan struct{} // capacity 1
}

// waiterPool recycles waiters. Each batcher has its own, so that a waiter's
// channel never outlives the batcher that made it (which keeps batchers
// created inside a testing/synctest bubble to themselves).
type waiterPool struct{ p sync.Pool }

// get returns a waiter expecting n answers.
func (wp *waiterPool) get(n int32) *waiter {
	w, _ := wp.p.Get().(*waiter)
	if w == nil {
		w = &waiter{ready: make(chan struct{}, 1)}
	}
	w.remaining.Store(n)
	return w
}

// put recycles w, whose caller has received its token.
func (wp *waiterPool) put(w *waiter) { wp.p.Put(w) }

// answer counts one answer and wakes the caller on the last one.
func (w *waiter) answer() { w.answerN(1) }

// answerN counts n answers at once; a nil waiter or n == 0 does nothing.
func (w *waiter) answerN(n int32) {
	if n > 0 && w.remaining.Add(-n) == 0 {
		w.ready <- struct{}{}
	}
}

// entrySlab hands out the new entries of one LoadMany from one allocation,
// so that n new keys cost one allocation instead of n. When the call ends
// normally and no other caller ever joined one of its entries, nothing can
// refer to them any more except stale slots (pending, the queue buffer,
// pooled batches) that are never read as entries of their old keys, so the
// slab is recycled for the next LoadMany (see Batcher.slabPool).
type entrySlab[K comparable, V any] struct {
	buf      []entry[K, V]
	used     int
	left     int  // keys of the call still to be joined, the most it can need
	recycled bool // buf came from the pool: its entries hold stale values
}

// next returns an unused entry and whether it held stale values (the
// caller must then set every field).
func (s *entrySlab[K, V]) next(pool *sync.Pool) (*entry[K, V], bool) {
	if s.used == len(s.buf) {
		s.buf, s.used, s.recycled = nil, 0, false
		if p, _ := pool.Get().(*[]entry[K, V]); p != nil && cap(*p) >= s.left {
			s.buf, s.recycled = (*p)[:max(s.left, 1)], true
		} else {
			s.buf = make([]entry[K, V], max(s.left, 1))
		}
	}
	e := &s.buf[s.used]
	s.used++
	return e, s.recycled
}

// entryQueue is a FIFO of entries. Entries dropped while queued stay in it
// and are skipped when they reach the front.
type entryQueue[K comparable, V any] struct {
	buf  []*entry[K, V]
	head int
}

// push appends e. When the buffer is full and its front has been consumed,
// the live part moves down instead of the buffer growing, so pops never
// copy and a steady queue does not allocate.
func (q *entryQueue[K, V]) push(e *entry[K, V]) {
	if len(q.buf) == cap(q.buf) && q.head > 0 && q.head*2 >= len(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, e)
}

// front returns the oldest live entry, or nil.
func (q *entryQueue[K, V]) front() *entry[K, V] {
	for q.head < len(q.buf) {
		if e := q.buf[q.head]; e.state == stateQueued {
			return e
		}
		q.head++
	}
	q.reset()
	return nil
}

// pop removes and returns the oldest live entry, or nil. The slot it
// leaves keeps its pointer until the buffer is reset or compacted, which
// clear in bulk: a pointer write per key is measurable while the garbage
// collector is marking.
func (q *entryQueue[K, V]) pop() *entry[K, V] {
	e := q.front()
	if e != nil {
		q.head++
		if q.head == len(q.buf) {
			q.reset()
		}
	}
	return e
}

func (q *entryQueue[K, V]) reset() {
	clear(q.buf)
	q.buf, q.head = q.buf[:0], 0
}
