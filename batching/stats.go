package batching

import "time"

// Stats is a snapshot of a batcher's counters.
//
// Loads counts keys asked for (a LoadMany of n keys counts n), CacheHits
// those answered by the cache, Merged those that joined a key already
// queued or in flight, Batches the batch calls started (retries included),
// BatchedKeys the keys they carried and Retries the keys scheduled for
// another attempt. Queued is the number of keys waiting for a batch and
// InFlight the number of batches running.
type Stats struct {
	Loads, CacheHits, Merged, Batches, BatchedKeys, Retries uint64
	Queued, InFlight                                        int

	// Dropped counts queued keys removed because every caller had left.
	Dropped uint64
	// Failed counts keys answered with an error (after any retries).
	Failed uint64
	// Panics counts batch calls that panicked.
	Panics uint64
	// Retrying is the number of keys waiting for their retry backoff.
	Retrying int
	// QueueWait is the total time dispatched keys spent queued, and
	// MaxQueueWait the longest; under back-pressure (every slot busy or the
	// rate limit holding) this is where the waiting shows.
	QueueWait, MaxQueueWait time.Duration
}

// KeysPerBatch is the mean batch size so far.
func (s Stats) KeysPerBatch() float64 {
	if s.Batches == 0 {
		return 0
	}
	return float64(s.BatchedKeys) / float64(s.Batches)
}

// BatchInfo describes one finished batch, for logs and metrics.
type BatchInfo struct {
	Size       int
	OldestWait time.Duration
	Duration   time.Duration
	Attempt    int
	Err        error

	// Retried is how many of the batch's keys were scheduled for another attempt.
	Retried int
	// Failed is how many of the batch's keys were answered with an error.
	Failed int
}

// counters are the batcher's statistics that live under its mutex.
type counters struct {
	merged, batches, batchedKeys, retries, dropped, failed, panics uint64
	queueWait, maxQueueWait                                        time.Duration
}

// Stats returns a snapshot of the counters.
func (b *Batcher[K, V]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := &b.counters
	return Stats{
		Loads:        b.loads.Load(),
		CacheHits:    b.cacheHits.Load(),
		Merged:       c.merged,
		Batches:      c.batches,
		BatchedKeys:  c.batchedKeys,
		Retries:      c.retries,
		Queued:       b.queued,
		InFlight:     b.inFlight,
		Dropped:      c.dropped,
		Failed:       c.failed,
		Panics:       c.panics,
		Retrying:     b.waiting,
		QueueWait:    c.queueWait,
		MaxQueueWait: c.maxQueueWait,
	}
}
