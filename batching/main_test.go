package batching

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// times10 answers key k with 10*k.
func times10(_ context.Context, keys []int) ([]Result[int], error) {
	out := make([]Result[int], len(keys))
	for i, k := range keys {
		out[i].Value = 10 * k
	}
	return out, nil
}

// gate is a batch function that reports each call's keys on started and
// then blocks until the test sends on release (or the batch ctx ends).
type gate struct {
	started chan []int
	release chan struct{}
	answer  BatchFunc[int, int] // times10 when nil
}

func newGate() *gate {
	return &gate{started: make(chan []int, 1000), release: make(chan struct{})}
}

func (g *gate) fn(ctx context.Context, keys []int) ([]Result[int], error) {
	g.started <- append([]int(nil), keys...)
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.answer != nil {
		return g.answer(ctx, keys)
	}
	return times10(ctx, keys)
}

// next returns the keys of the next batch to start, sorted.
func (g *gate) next(t *testing.T) []int {
	t.Helper()
	select {
	case keys := <-g.started:
		sort.Ints(keys)
		return keys
	case <-time.After(5 * time.Second):
		t.Fatal("no batch started within 5s")
		return nil
	}
}

// noneStarted fails if a batch starts within d.
func (g *gate) noneStarted(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case keys := <-g.started:
		t.Fatalf("unexpected batch %v", keys)
	case <-time.After(d):
	}
}

// waitFor polls cond until it holds, failing after 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// closeNow closes b, failing the test if it does not drain within 5s.
func closeNow[K comparable, V any](t *testing.T, b *Batcher[K, V]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// loads starts Load(key) for each key on its own goroutine; the returned
// function waits for them and checks every answer is 10*key.
func loads(t *testing.T, b *Batcher[int, int], keys ...int) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := b.Load(context.Background(), k)
			if err != nil || v != 10*k {
				errs <- fmt.Errorf("Load(%d) = %d, %v; want %d", k, v, err, 10*k)
			}
		}()
	}
	return func() {
		t.Helper()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
