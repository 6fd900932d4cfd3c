// Package batching turns many concurrent single-key loads into few batch calls.
//
// A Batcher collects the keys its callers ask for and hands them, deduplicated,
// to a BatchFunc. It adds no fixed delay: when fewer than MaxInFlight batches
// are running, a queued key leaves at once; while every slot is busy, keys pile
// up and leave together when a slot frees ("natural batching"). MaxBatch caps
// the size of a batch, MaxWait caps how long a key waits while capacity is
// free, and Rate/Burst limit how many batches start per second.
//
// Identical keys are merged while they are queued and while they are in
// flight, so a key is never in two running batches at once. A caller whose
// context ends returns at once; a queued key nobody waits for any more is
// dropped before it is sent. A batch function that panics or returns the wrong
// number of results fails only the callers of that batch. Errors are sorted by
// Options.Classify: retryable keys are retried with exponential backoff and
// jitter (honouring RetryAfterer hints), definite errors are answers and may be
// cached, anything else is returned as it is.
package batching
