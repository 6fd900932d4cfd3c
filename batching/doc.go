// Package batching turns many concurrent single-key loads into few batch calls.
//
// A Batcher collects the keys its callers ask for, through Load (one key)
// or LoadMany (many keys, one wait), and hands them, deduplicated, to a
// BatchFunc. The function gets the batcher's own context, never a caller's,
// so one caller giving up cannot fail the others.
//
// # Dispatch
//
// There is no fixed delay: when fewer than MaxInFlight batches are running,
// a queued key leaves at once; while every slot is busy, keys pile up and
// leave together when a slot frees ("natural batching"). MaxBatch caps the
// size of a batch and Rate/Burst limit how many batches start per second
// (a token bucket driven by the batcher's one timer). MinBatch, 1 by
// default, lets a batch wait for more keys while capacity is free, but
// never longer than MaxWait after its oldest key was queued. Under
// back-pressure (no free slot, or the rate limit holding) keys wait for
// capacity instead; Stats.QueueWait and BatchInfo.OldestWait show it.
//
// # Merging and cancellation
//
// Identical keys are merged while they are queued and while they are in
// flight, so a key is never in two running batches at once. A caller whose
// context ends returns at once with the context's error; a queued key (or
// one waiting for a retry) that nobody waits for any more is dropped before
// it is sent.
//
// # Failures and retries
//
// A batch function that panics or returns the wrong number of results fails
// only the callers of that batch, with a PanicError or ErrResultCount.
// Other errors, for one key or for the whole batch, are sorted by
// Options.Classify: Retryable keys (and only those) are tried again with
// exponential backoff and jitter, at least as late as a RetryAfterer hint
// asks, until MaxAttempts or RetryDeadline runs out (then AttemptsError);
// Definite errors are answers; anything else is Fatal and returned as it is.
//
// # Cache, stats and logs
//
// Options.Cache is consulted before a key is queued and filled with values
// and definite errors only. Stats returns a snapshot of the counters,
// Options.OnBatch sees every finished batch, and Options.Logger gets one
// debug line per batch with its size, its oldest key's wait and its
// duration.
//
// # Goroutines
//
// Batches run on worker goroutines that live as long as there is work; a
// Load whose context can never end (context.Background) runs the batch it
// starts on its own goroutine, since it would wait for it anyway. LoadMany
// uses no goroutine per key. Close stops new calls, sends what is queued and
// waits for what is in flight.
package batching
