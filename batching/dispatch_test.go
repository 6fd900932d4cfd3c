package batching

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestLoneLoadLeavesAtOnce(t *testing.T) {
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
	elapsed := time.Since(start)
	if err != nil || v != 70 {
		t.Fatalf("Load(7) = %d, %v", v, err)
	}
	// No fixed window: the only delay is a goroutine hand-off, far below
	// the 10s MaxWait; 100ms leaves room for a loaded machine.
	if elapsed > 100*time.Millisecond {
		t.Errorf("lone Load took %v", elapsed)
	}
	if len(calls) != 1 || !equalInts(calls[0], []int{7}) {
		t.Errorf("calls = %v, want [[7]]", calls)
	}
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

func TestMinBatchWaitsAtMostMaxWait(t *testing.T) {
	g := newGate()
	close(g.release)
	const maxWait = 60 * time.Millisecond
	b := New(g.fn, Options[int, int]{MinBatch: 5, MaxWait: maxWait})
	defer closeNow(t, b)

	// Two keys stay below MinBatch: they leave when the oldest has waited MaxWait.
	start := time.Now()
	wait := loads(t, b, 1, 2)
	waitFor(t, "2 queued keys", func() bool { return b.Stats().Queued == 2 })
	keys := g.next(t)
	waited := time.Since(start)
	wait()
	if waited < maxWait-5*time.Millisecond || waited > maxWait+200*time.Millisecond {
		t.Errorf("under-full batch left after %v, want about %v", waited, maxWait)
	}
	if !equalInts(keys, []int{1, 2}) {
		t.Errorf("batch %v", keys)
	}

	// Five keys reach MinBatch and leave without waiting.
	start = time.Now()
	res := b.LoadMany(context.Background(), []int{3, 4, 5, 6, 7})
	if elapsed := time.Since(start); elapsed >= maxWait-5*time.Millisecond {
		t.Errorf("full batch waited %v", elapsed)
	}
	if res[4].Value != 70 || len(g.next(t)) != 5 {
		t.Errorf("results %v", res)
	}
}

func TestRateLimitSpacesBatches(t *testing.T) {
	var mu sync.Mutex
	var starts []time.Time
	var sizes []int
	b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
		mu.Lock()
		starts = append(starts, time.Now())
		sizes = append(sizes, len(keys))
		mu.Unlock()
		return times10(ctx, keys)
	}, Options[int, int]{Rate: 20, Burst: 2, MaxInFlight: 8})
	defer closeNow(t, b)

	// Sequential loads: two ride the burst, then one every 50ms.
	begin := time.Now()
	for k := range 6 {
		if v, err := b.Load(context.Background(), k); err != nil || v != 10*k {
			t.Fatalf("Load(%d) = %d, %v", k, v, err)
		}
	}
	if gap := starts[1].Sub(starts[0]); gap > 20*time.Millisecond {
		t.Errorf("burst of 2 not honoured: second batch after %v", gap)
	}
	// Four batches beyond the burst need at least 4 × 50ms of tokens.
	if total := starts[5].Sub(begin); total < 190*time.Millisecond {
		t.Errorf("6 batches at 20/s with burst 2 took only %v", total)
	}

	// While the limit holds, concurrent keys pile up into one batch.
	wait := loads(t, b, 10, 11, 12, 13, 14)
	wait()
	if last := sizes[len(sizes)-1]; len(sizes) > 8 || last < 4 {
		t.Errorf("sizes %v: limited keys did not leave together", sizes)
	}
}
