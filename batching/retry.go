package batching

import (
	"errors"
	"math/rand/v2"
	"time"
)

// verdict is what happens to one key after a batch attempt.
type verdict uint8

const (
	answered verdict = iota // final: a value or an error as returned
	definite                // final: a definite error, cached like a value
	retry                   // another attempt at retryAt
	gaveUp                  // final: retryable, but attempts or time ran out
)

// retryPlan computes when each key of one failed batch may try again. The
// jitter is drawn once per batch so that keys which failed together are
// retried together, in one batch, instead of scattering.
type retryPlan struct {
	now    time.Duration
	jitter float64 // in [0.5, 1]
}

func newRetryPlan(now time.Duration) retryPlan {
	return retryPlan{now: now, jitter: 0.5 + rand.Float64()/2}
}

// judge decides what happens to a key whose attempt number attempts (1 for
// the first) ended with err, classified as cls; firstTry is when its first
// attempt started. For a retry it also returns the due time.
func (p retryPlan) judge(o *optionsView, cls Class, err error, attempts int16, firstTry time.Duration) (verdict, time.Duration) {
	switch cls {
	case Definite:
		return definite, 0
	case Retryable:
	default:
		return answered, 0
	}
	if int(attempts) >= o.MaxAttempts {
		return gaveUp, 0
	}
	backoff := o.RetryMax
	if shift := attempts - 1; shift < 30 {
		backoff = min(o.RetryBase<<shift, o.RetryMax)
	}
	backoff = time.Duration(float64(backoff) * p.jitter)
	var hint RetryAfterer
	if errors.As(err, &hint) {
		backoff = max(backoff, hint.RetryAfter())
	}
	at := p.now + backoff
	if at-firstTry > o.RetryDeadline {
		return gaveUp, 0
	}
	return retry, at
}

// optionsView holds the retry settings judge needs, so that it does not
// depend on the batcher's type parameters.
type optionsView struct {
	MaxAttempts                        int
	RetryBase, RetryMax, RetryDeadline time.Duration
}

// retryHeap orders entries waiting for a retry by due time. Entries dropped
// while waiting stay in it and are skipped when they reach the top.
type retryHeap[K comparable, V any] []*entry[K, V]

func (h *retryHeap[K, V]) push(e *entry[K, V]) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent].readyAt <= s[i].readyAt {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

// peek returns the live entry due first, or nil.
func (h *retryHeap[K, V]) peek() *entry[K, V] {
	for len(*h) > 0 {
		if e := (*h)[0]; e.state == stateRetrying {
			return e
		}
		h.pop()
	}
	return nil
}

// pop removes the top entry.
func (h *retryHeap[K, V]) pop() {
	s := *h
	last := len(s) - 1
	s[0] = s[last]
	s[last] = nil
	s = s[:last]
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(s) && s[l].readyAt < s[small].readyAt {
			small = l
		}
		if r < len(s) && s[r].readyAt < s[small].readyAt {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	*h = s
}

// promoteLocked moves the retries that are due by now into the queue.
// The caller holds b.mu.
func (b *Batcher[K, V]) promoteLocked(now time.Duration) {
	for {
		e := b.retries.peek()
		if e == nil || e.readyAt > now {
			return
		}
		b.retries.pop()
		b.waiting--
		e.state = stateQueued
		b.queue.push(e)
		b.queued++
	}
}
