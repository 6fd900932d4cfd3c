package batching

import (
	"context"
	"fmt"
)

// Close stops taking calls (Load and LoadMany return ErrClosed from now on),
// dispatches every queued key at once (MinBatch no longer holds them back;
// the rate limit and retry backoffs still apply) and waits until nothing is
// in flight. If ctx ends first, Close answers every key still pending with
// an error wrapping ErrClosed and ctx's error, cancels the context of the
// running batch functions and returns ctx's error. Calling Close again
// waits the same way.
func (b *Batcher[K, V]) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.closedFlag.Store(true)
	starts := b.dispatchLocked(b.now())
	b.checkDrainedLocked()
	b.mu.Unlock()
	b.start(starts)

	select {
	case <-b.drained:
		b.timer.Stop()
		b.cancel()
		return nil
	case <-ctx.Done():
		b.abort(ctx.Err())
		return fmt.Errorf("batching: close: %w", ctx.Err())
	}
}

// checkDrainedLocked closes drained once the batcher is closed and holds no
// key any more.
func (b *Batcher[K, V]) checkDrainedLocked() {
	if b.closed && !b.drainedClosed && b.queued == 0 && b.waiting == 0 && b.inFlight == 0 && b.reporting.Load() == 0 {
		b.drainedClosed = true
		close(b.drained)
	}
}

// abort answers every pending key with an error and stops all dispatch.
// Batches still running are left to finish; their results are discarded.
func (b *Batcher[K, V]) abort(cause error) {
	err := fmt.Errorf("%w: %w", ErrClosed, cause)
	b.mu.Lock()
	b.aborted = true
	answered := make([]*entry[K, V], 0, len(b.pending))
	for _, e := range b.pending {
		if e.state >= stateDone {
			continue
		}
		e.res = Result[V]{Err: err}
		e.state = stateDone
		answered = append(answered, e)
	}
	clear(b.pending)
	b.live = 0
	b.queue = entryQueue[K, V]{}
	b.retries = nil
	b.queued, b.waiting = 0, 0
	b.timer.Stop()
	b.timerArmed = false
	b.mu.Unlock()
	b.cancel()
	for _, e := range answered {
		e.notify()
	}
}
