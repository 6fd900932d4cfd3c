package batching

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// recordingCache is a Cache that remembers what was put into it.
type recordingCache struct {
	mu   sync.Mutex
	m    map[int]Result[int]
	puts []int
}

func (c *recordingCache) Get(k int) (Result[int], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[k]
	return r, ok
}

func (c *recordingCache) Put(k int, r Result[int]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = r
	c.puts = append(c.puts, k)
}

func TestCacheIsConsultedFirstAndFilledWithAnswersOnly(t *testing.T) {
	cache := &recordingCache{m: map[int]Result[int]{100: {Value: 7}}}
	var mu sync.Mutex
	var sent []int
	b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
		mu.Lock()
		sent = append(sent, keys...)
		mu.Unlock()
		if keys[0] == 5 {
			panic("boom")
		}
		out, _ := times10(ctx, keys)
		for i, k := range keys {
			switch k {
			case 2:
				out[i].Err = testErr{class: Definite}
			case 3:
				out[i].Err = testErr{class: Fatal}
			case 4:
				out[i].Err = testErr{class: Retryable}
			}
		}
		return out, nil
	}, Options[int, int]{MaxBatch: 4, MaxInFlight: 1, Classify: classifyTestErr, MaxAttempts: 1, Cache: cache})
	defer closeNow(t, b)

	if v, err := b.Load(context.Background(), 100); v != 7 || err != nil {
		t.Errorf("cached Load = %d, %v", v, err)
	}
	b.LoadMany(context.Background(), []int{1, 2, 3, 4})
	b.Load(context.Background(), 5)
	if len(sent) != 5 {
		t.Errorf("sent %v: the cached key must never reach the batch function", sent)
	}
	cache.mu.Lock()
	puts := append([]int(nil), cache.puts...)
	cache.mu.Unlock()
	if !equalInts(puts, []int{1, 2}) {
		t.Errorf("cached keys %v, want [1 2]: the value and the definite error only", puts)
	}

	// Cached answers, errors included, are served without a batch.
	before := len(sent)
	if _, err := b.Load(context.Background(), 2); classifyTestErr(err) != Definite {
		t.Errorf("cached definite error = %v", err)
	}
	res := b.LoadMany(context.Background(), []int{1, 100})
	if res[0].Value != 10 || res[1].Value != 7 || len(sent) != before {
		t.Errorf("LoadMany from cache %+v, %d new keys sent", res, len(sent)-before)
	}
	if st := b.Stats(); st.CacheHits != 4 || st.Loads != 9 {
		t.Errorf("stats %+v", st)
	}
}

// counterCache is a lock-free Cache for the allocation check.
type counterCache struct{}

func (counterCache) Get(k int) (Result[int], bool) { return Result[int]{Value: k}, true }
func (counterCache) Put(int, Result[int])          {}

func TestCachedLoadDoesNotAllocate(t *testing.T) {
	b := New(times10, Options[int, int]{Cache: counterCache{}})
	defer closeNow(t, b)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if v, err := b.Load(ctx, 3); v != 3 || err != nil {
			t.Fatal(v, err)
		}
	})
	if allocs != 0 {
		t.Errorf("cached Load: %v allocations, want 0", allocs)
	}
	closeNow(t, b)
	if _, err := b.Load(ctx, 3); !errors.Is(err, ErrClosed) {
		t.Errorf("cached Load after Close = %v, want ErrClosed", err)
	}
}
