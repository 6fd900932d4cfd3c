package batching

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCloseDispatchesQueuedAndWaitsForInFlight(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 1, MinBatch: 50, MaxWait: time.Hour})

	wait := loads(t, b, 1, 2, 3) // held back by MinBatch
	waitFor(t, "3 queued keys", func() bool { return b.Stats().Queued == 3 })
	closed := make(chan error)
	go func() { closed <- b.Close(context.Background()) }()
	if got := g.next(t); !equalInts(got, []int{1, 2, 3}) {
		t.Errorf("Close dispatched %v", got)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a batch in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	if _, err := b.Load(context.Background(), 4); !errors.Is(err, ErrClosed) {
		t.Errorf("Load after Close = %v", err)
	}
	if r := b.LoadMany(context.Background(), []int{5}); !errors.Is(r[0].Err, ErrClosed) {
		t.Errorf("LoadMany after Close = %v", r)
	}
	g.release <- struct{}{}
	wait()
	if err := <-closed; err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	g := newGate()
	b := New(g.fn, Options[int, int]{MaxInFlight: 1})
	results := make(chan error, 2)
	load := func(k int) {
		go func() { _, err := b.Load(context.Background(), k); results <- err }()
	}
	load(0)
	g.next(t)
	load(1)
	waitFor(t, "a queued key", func() bool { return b.Stats().Queued == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded", err)
	}
	// Both callers, in flight and queued, are answered; the batch function's
	// context is cancelled so it returns and leaves no goroutine behind.
	for range 2 {
		if err := <-results; !errors.Is(err, ErrClosed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("caller got %v", err)
		}
	}
	closeNow(t, b) // the aborted batch drains
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options[int, int]
		want string // substring of the error; "" = valid
	}{
		{"zero is valid", Options[int, int]{}, ""},
		{"full is valid", Options[int, int]{MaxBatch: 50, MinBatch: 50, MaxWait: 10 * time.Second, Rate: 5, Burst: 2}, ""},
		{"negative MaxBatch", Options[int, int]{MaxBatch: -1}, "MaxBatch is negative"},
		{"negative MaxWait", Options[int, int]{MaxWait: -time.Second}, "MaxWait is negative"},
		{"negative rate", Options[int, int]{Rate: -1}, "Rate must be"},
		{"MinBatch above MaxBatch", Options[int, int]{MaxBatch: 10, MinBatch: 11}, "MinBatch (11) exceeds MaxBatch (10)"},
		{"MinBatch above default MaxBatch", Options[int, int]{MinBatch: 1001}, "exceeds MaxBatch (1000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "MaxBatch is negative") {
			t.Errorf("New with invalid options: panic %v", p)
		}
	}()
	New(times10, Options[int, int]{MaxBatch: -1})
}
