package batching

import "time"

// tokenBucket limits batch starts to rate per second with the given burst.
// It is driven by the batcher's clock and protected by Batcher.mu; it never
// sleeps, it says how long to wait and the batcher arms its one timer.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Duration
}

func newTokenBucket(rate float64, burst int) tokenBucket {
	return tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// take spends one token at now and returns 0, or, if none is available,
// spends nothing and returns how long until one is.
func (t *tokenBucket) take(now time.Duration) time.Duration {
	if elapsed := now - t.last; elapsed > 0 {
		t.tokens = min(t.burst, t.tokens+elapsed.Seconds()*t.rate)
		t.last = now
	}
	if t.tokens >= 1 {
		t.tokens--
		return 0
	}
	wait := time.Duration((1 - t.tokens) / t.rate * float64(time.Second))
	return max(wait, time.Microsecond)
}
