package batching

import (
	"context"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestLoneLoadLeavesAtOnce runs in a synctest bubble, where time moves only
// while every goroutine waits: a Load that took any time at all waited on a
// timer, which is the fixed window natural batching must not have.
func TestLoneLoadLeavesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var calls [][]int
		b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
			mu.Lock()
			calls = append(calls, append([]int(nil), keys...))
			mu.Unlock()
			return times10(ctx, keys)
		}, Options[int, int]{MaxWait: 10 * time.Second})
		defer closeNow(t, b)

		start := time.Now()
		v, err := b.Load(context.Background(), 7)
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("lone Load took %v on the bubble's clock: it waited on a timer", elapsed)
		}
		if err != nil || v != 70 {
			t.Fatalf("Load(7) = %d, %v", v, err)
		}
		if len(calls) != 1 || !equalInts(calls[0], []int{7}) {
			t.Errorf("calls = %v, want [[7]]", calls)
		}
	})
}

func TestKeysPileUpWhileSlotsAreBusy(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 1})
	defer closeNow(t, b)

	wait1 := loads(t, b, 1)
	if got := g.next(t); !equalInts(got, []int{1}) {
		t.Fatalf("first batch %v", got)
	}
	wait2 := loads(t, b, 2, 3, 4, 5, 6)
	waitFor(t, "5 queued keys", func() bool { return b.Stats().Queued == 5 })
	g.noneStarted(t, 20*time.Millisecond)

	g.release <- struct{}{}
	if got := g.next(t); !equalInts(got, []int{2, 3, 4, 5, 6}) {
		t.Fatalf("second batch %v, want the 5 keys that piled up", got)
	}
	g.release <- struct{}{}
	wait1()
	wait2()
	if s := b.Stats(); s.Batches != 2 || s.BatchedKeys != 6 || s.MaxQueueWait <= 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestMaxBatchSplitsBatches(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 1, MaxBatch: 3})
	defer closeNow(t, b)

	wait1 := loads(t, b, 0)
	g.next(t)
	wait2 := loads(t, b, 1, 2, 3, 4, 5, 6, 7)
	waitFor(t, "7 queued keys", func() bool { return b.Stats().Queued == 7 })
	var sizes []int
	seen := map[int]bool{}
	for range 4 {
		g.release <- struct{}{}
		if len(sizes) == 3 {
			break
		}
		keys := g.next(t)
		sizes = append(sizes, len(keys))
		for _, k := range keys {
			seen[k] = true
		}
	}
	wait1()
	wait2()
	if !equalInts(sizes, []int{3, 3, 1}) || len(seen) != 7 {
		t.Errorf("batch sizes %v covering %d keys, want [3 3 1] covering 7", sizes, len(seen))
	}
}

func TestLoadManyOnIdleBatcherFillsBatches(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 4, MaxBatch: 4})
	defer closeNow(t, b)

	done := make(chan []Result[int])
	go func() { done <- b.LoadMany(context.Background(), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) }()
	var sizes []int
	for range 3 {
		sizes = append(sizes, len(g.next(t)))
	}
	close(g.release)
	res := <-done
	for i, r := range res {
		if r.Err != nil || r.Value != 10*(i+1) {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	sort.Ints(sizes) // the three batches run at once, in any order
	if !equalInts(sizes, []int{2, 4, 4}) {
		t.Errorf("batch sizes %v, want 4, 4 and 2", sizes)
	}
}

func TestMaxInFlightBoundsRunningBatches(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 2, MaxBatch: 1})
	defer closeNow(t, b)

	wait := loads(t, b, 1, 2, 3, 4, 5)
	g.next(t)
	g.next(t)
	waitFor(t, "3 queued keys", func() bool { return b.Stats().Queued == 3 })
	g.noneStarted(t, 20*time.Millisecond)
	if s := b.Stats(); s.InFlight != 2 {
		t.Errorf("InFlight = %d, want 2", s.InFlight)
	}
	close(g.release)
	wait()
}

// TestMinBatchWaitsAtMostMaxWait runs in a synctest bubble, so the waits
// it measures are exact.
func TestMinBatchWaitsAtMostMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		close(g.release)
		const maxWait = 60 * time.Millisecond
		b := New(g.fn, Options[int, int]{MinBatch: 5, MaxWait: maxWait})
		defer closeNow(t, b)

		// Two keys stay below MinBatch: they leave when the oldest has waited MaxWait.
		start := time.Now()
		wait := loads(t, b, 1, 2)
		keys := g.next(t)
		if waited := time.Since(start); waited != maxWait {
			t.Errorf("under-full batch left after %v, want %v", waited, maxWait)
		}
		wait()
		if !equalInts(keys, []int{1, 2}) {
			t.Errorf("batch %v", keys)
		}

		// Five keys reach MinBatch and leave without waiting.
		start = time.Now()
		res := b.LoadMany(context.Background(), []int{3, 4, 5, 6, 7})
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("full batch waited %v", elapsed)
		}
		if res[4].Value != 70 || len(g.next(t)) != 5 {
			t.Errorf("results %v", res)
		}
	})
}

// TestRateLimitSpacesBatches runs in a synctest bubble, so batch start
// times are exact but for the token bucket's float rounding.
func TestRateLimitSpacesBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var starts []time.Duration
		begin := time.Now()
		b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
			mu.Lock()
			starts = append(starts, time.Since(begin))
			mu.Unlock()
			return times10(ctx, keys)
		}, Options[int, int]{Rate: 20, Burst: 2, MaxInFlight: 8})
		defer closeNow(t, b)

		// Sequential loads: two ride the burst, then one every 50ms.
		for k := range 5 {
			if v, err := b.Load(context.Background(), k); err != nil || v != 10*k {
				t.Fatalf("Load(%d) = %d, %v", k, v, err)
			}
		}
		want := []time.Duration{0, 0, 50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond}
		mu.Lock()
		defer mu.Unlock()
		if len(starts) != len(want) {
			t.Fatalf("batches started at %v, want %v", starts, want)
		}
		for i := range want {
			if d := starts[i] - want[i]; d < 0 || d > time.Millisecond {
				t.Errorf("batches started at %v, want %v", starts, want)
				break
			}
		}
	})
}

func TestKeysPileUpWhileTheRateLimitHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var sizes []int
		b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
			mu.Lock()
			sizes = append(sizes, len(keys))
			mu.Unlock()
			return times10(ctx, keys)
		}, Options[int, int]{Rate: 2, MaxInFlight: 8})
		defer closeNow(t, b)

		if v, err := b.Load(context.Background(), 0); err != nil || v != 0 { // spends the one token
			t.Fatalf("Load(0) = %d, %v", v, err)
		}
		wait := loads(t, b, 1, 2, 3, 4, 5)
		synctest.Wait()
		if q := b.Stats().Queued; q != 5 {
			t.Errorf("%d keys queued while the rate limit holds, want 5", q)
		}
		wait()
		mu.Lock()
		defer mu.Unlock()
		if !equalInts(sizes, []int{1, 5}) {
			t.Errorf("batch sizes %v, want [1 5]: keys held by the rate limit leave together", sizes)
		}
		// The next token comes 500ms after the first was spent.
		if st := b.Stats(); st.MaxQueueWait < 499*time.Millisecond || st.MaxQueueWait > 501*time.Millisecond {
			t.Errorf("MaxQueueWait %v, want the 500ms wait for a token", st.MaxQueueWait)
		}
	})
}
