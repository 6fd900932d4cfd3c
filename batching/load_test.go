package batching

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

func TestIdenticalKeysMergeWhileQueuedAndInFlight(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 1})
	defer closeNow(t, b)

	wait1 := loads(t, b, 1)
	g.next(t)
	wait2 := loads(t, b, 1, 2, 2, 2) // 1 joins the running batch, 2 is queued once
	waitFor(t, "3 merged loads", func() bool { return b.Stats().Merged == 3 })
	if s := b.Stats(); s.Queued != 1 {
		t.Errorf("Queued = %d, want 1", s.Queued)
	}
	g.release <- struct{}{}
	if got := g.next(t); !equalInts(got, []int{2}) {
		t.Errorf("second batch %v, want [2]", got)
	}
	g.release <- struct{}{}
	wait1()
	wait2()
	if s := b.Stats(); s.Batches != 2 || s.BatchedKeys != 2 || s.Loads != 5 {
		t.Errorf("stats %+v", s)
	}
}

type mapCache map[int]Result[int]

func (c mapCache) Get(k int) (Result[int], bool) { r, ok := c[k]; return r, ok }
func (c mapCache) Put(int, Result[int])          {}

func TestLoadManyKeepsOrderAndDuplicates(t *testing.T) {
	var got [][]int
	b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
		got = append(got, append([]int(nil), keys...))
		return times10(ctx, keys)
	}, Options[int, int]{MaxInFlight: 1, Cache: mapCache{2: {Value: -2}}})
	defer closeNow(t, b)

	res := b.LoadMany(context.Background(), []int{3, 1, 3, 2, 1})
	want := []int{30, 10, 30, -2, 10}
	for i, r := range res {
		if r.Err != nil || r.Value != want[i] {
			t.Errorf("result %d = %+v, want %d", i, r, want[i])
		}
	}
	if len(got) != 1 || !equalInts(got[0], []int{3, 1}) {
		t.Errorf("batch function saw %v, want [[3 1]]", got)
	}
	if res := b.LoadMany(context.Background(), nil); len(res) != 0 {
		t.Errorf("LoadMany(nil) = %v", res)
	}
}

func TestLoadManyUsesNoGoroutinePerKey(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxBatch: 1000, MaxInFlight: 2})
	defer closeNow(t, b)

	before := runtime.NumGoroutine()
	keys := make([]int, 5000)
	for i := range keys {
		keys[i] = i
	}
	done := make(chan []Result[int])
	go func() { done <- b.LoadMany(context.Background(), keys) }()
	g.next(t)
	g.next(t)
	waitFor(t, "3000 queued keys", func() bool { return b.Stats().Queued == 3000 })
	// The caller, two running batches and nothing per key.
	if n := runtime.NumGoroutine() - before; n > 5 {
		t.Errorf("%d goroutines while 5000 keys are pending", n)
	}
	close(g.release)
	for i, r := range <-done {
		if r.Value != 10*i {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
}

func TestBatchContextBelongsToBatcher(t *testing.T) {
	g := newGate()
	ctxs := make(chan context.Context, 1)
	b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
		ctxs <- ctx
		return g.fn(ctx, keys)
	}, Options[int, int]{})

	ctx, cancel := context.WithCancel(context.Background())
	stay := loads(t, b, 1)
	left := make(chan error)
	go func() { _, err := b.Load(ctx, 1); left <- err }()
	batchCtx := <-ctxs
	g.next(t)
	waitFor(t, "merge", func() bool { return b.Stats().Merged == 1 })
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller got %v", err)
	}
	if batchCtx.Err() != nil {
		t.Error("a caller's cancellation reached the batch function")
	}
	g.release <- struct{}{}
	stay()
	closeNow(t, b)
	if batchCtx.Err() == nil {
		t.Error("batch context still live after Close")
	}
}

// TestCancelledCallerReturnsAtOnce runs in a synctest bubble: a caller
// whose deadline passes must return at that very moment.
func TestCancelledCallerReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		b := New(g.fn, Options[int, int]{})
		defer closeNow(t, b)
		defer close(g.release)

		const deadline = 30 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		_, err := b.Load(ctx, 1) // the batch function never answers in time
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Load = %v, want DeadlineExceeded", err)
		}
		if elapsed := time.Since(start); elapsed != deadline {
			t.Errorf("Load returned after %v, want at its %v deadline", elapsed, deadline)
		}
		g.next(t)

		// An already ended context never queues anything.
		done, cancelDone := context.WithCancel(context.Background())
		cancelDone()
		if _, err := b.Load(done, 2); !errors.Is(err, context.Canceled) {
			t.Errorf("Load with ended ctx = %v", err)
		}
		if res := b.LoadMany(done, []int{3, 4}); !errors.Is(res[1].Err, context.Canceled) {
			t.Errorf("LoadMany with ended ctx = %v", res)
		}
		if s := b.Stats(); s.Queued != 0 {
			t.Errorf("Queued = %d", s.Queued)
		}
	})
}

func TestOnlyCallerLeavingDropsQueuedKey(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 1})
	defer closeNow(t, b)

	first := loads(t, b, 1)
	g.next(t)

	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 2)
	go func() { _, err := b.Load(ctx, 2); left <- err }()
	go func() { left <- b.LoadMany(ctx, []int{3, 3})[1].Err }()
	kept := loads(t, b, 4) // a key someone still waits for
	waitFor(t, "3 queued keys", func() bool { return b.Stats().Queued == 3 })
	cancel()
	for range 2 {
		if err := <-left; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller got %v", err)
		}
	}
	if s := b.Stats(); s.Queued != 1 || s.Dropped != 2 {
		t.Errorf("after cancel: Queued %d Dropped %d, want 1 and 2", s.Queued, s.Dropped)
	}
	g.release <- struct{}{}
	if got := g.next(t); !equalInts(got, []int{4}) {
		t.Errorf("next batch %v: dropped keys were sent", got)
	}
	g.release <- struct{}{}
	first()
	kept()
}

func TestLoadManyCancelKeepsAnsweredKeys(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 1, MaxBatch: 1})
	defer closeNow(t, b)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Result[int])
	go func() { done <- b.LoadMany(ctx, []int{1, 2}) }()
	g.next(t)
	g.release <- struct{}{} // answers key 1
	g.next(t)               // key 2 is running
	cancel()
	res := <-done
	if res[0].Err != nil || res[0].Value != 10 || !errors.Is(res[1].Err, context.Canceled) {
		t.Errorf("results %+v, want 10 then Canceled", res)
	}
	g.release <- struct{}{}
}

func TestLoadManyRecyclesItsEntriesSafely(t *testing.T) {
	b := New(times10, Options[int, int]{MaxBatch: 3})
	defer closeNow(t, b)
	ctx := context.Background()
	check := func(keys []int) {
		t.Helper()
		for i, r := range b.LoadMany(ctx, keys) {
			if r.Err != nil || r.Value != 10*keys[i] {
				t.Fatalf("LoadMany(%v)[%d] = %+v", keys, i, r)
			}
		}
	}
	// Recycled entries serve other keys while the map still has stale
	// slots for the old ones. (sync.Pool drops some items at random under
	// the race detector, hence the repetitions.)
	for range 20 {
		check([]int{1, 2, 3, 4, 5, 1})
		check([]int{5, 6, 7, 1, 8})
		check([]int{2, 2, 9})
		if v, err := b.Load(ctx, 3); err != nil || v != 30 {
			t.Errorf("Load(3) = %d, %v", v, err)
		}
	}
}
