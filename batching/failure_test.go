package batching

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPanicFailsOnlyItsBatch(t *testing.T) {
	b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
		if keys[0] == 13 {
			panic("unlucky key")
		}
		return times10(ctx, keys)
	}, Options[int, int]{MaxBatch: 1, Classify: func(error) Class { return Retryable }})
	defer closeNow(t, b)

	res := b.LoadMany(context.Background(), []int{13, 14})
	var pe *PanicError
	if !errors.As(res[0].Err, &pe) || !strings.Contains(res[0].Err.Error(), "panicked: unlucky key") || len(pe.Stack) == 0 {
		t.Errorf("key 13: %v, want a PanicError saying so", res[0].Err)
	}
	if res[1].Err != nil || res[1].Value != 140 {
		t.Errorf("key 14 in another batch: %+v", res[1])
	}
	if v, err := b.Load(context.Background(), 15); err != nil || v != 150 {
		t.Errorf("after the panic: %d, %v", v, err)
	}
	// A panic is never retried, even when the classifier says retryable.
	if s := b.Stats(); s.Panics != 1 || s.Retries != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestWrongResultCountFailsTheBatch(t *testing.T) {
	b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
		if len(keys) == 2 {
			return make([]Result[int], 1), nil
		}
		return times10(ctx, keys)
	}, Options[int, int]{})
	defer closeNow(t, b)

	res := b.LoadMany(context.Background(), []int{1, 2})
	for i, r := range res {
		if !errors.Is(r.Err, ErrResultCount) || !strings.Contains(r.Err.Error(), "1 results for 2 keys") {
			t.Errorf("result %d: %v", i, r.Err)
		}
	}
	if v, err := b.Load(context.Background(), 3); err != nil || v != 30 {
		t.Errorf("next batch: %d, %v", v, err)
	}
}

// testErr is an error whose class and retry-after hint the test chooses.
type testErr struct {
	class Class
	after time.Duration
}

func (e testErr) Error() string             { return "test error " + e.class.String() }
func (e testErr) RetryAfter() time.Duration { return e.after }

func classifyTestErr(err error) Class {
	var te testErr
	if errors.As(err, &te) {
		return te.class
	}
	return Fatal
}

// script is a batch function whose answer for each attempt of a key comes
// from a list; it records when each attempt started.
type script struct {
	mu       sync.Mutex
	answers  []error // per attempt; the last one repeats; nil means success
	batchErr bool    // fail the whole batch instead of the key
	starts   []time.Time
	sizes    []int
}

func (s *script) fn(ctx context.Context, keys []int) ([]Result[int], error) {
	s.mu.Lock()
	n := len(s.starts)
	s.starts = append(s.starts, time.Now())
	s.sizes = append(s.sizes, len(keys))
	s.mu.Unlock()
	err := s.answers[min(n, len(s.answers)-1)]
	if err != nil && s.batchErr {
		return nil, err
	}
	out, _ := times10(ctx, keys)
	for i := range out {
		out[i].Err = err
	}
	return out, nil
}

func TestRetries(t *testing.T) {
	retryable := testErr{class: Retryable}
	tests := []struct {
		name        string
		answers     []error
		batchErr    bool
		deadline    time.Duration
		wantErr     error // nil: want the value
		wantGaveUp  bool
		wantCalls   int
		wantMinGaps []time.Duration
	}{
		{name: "retryable then success", answers: []error{retryable, retryable, nil},
			wantCalls: 3, wantMinGaps: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}},
		{name: "whole batch retryable then success", answers: []error{retryable, nil}, batchErr: true,
			wantCalls: 2},
		{name: "definite is not retried", answers: []error{testErr{class: Definite}},
			wantErr: testErr{class: Definite}, wantCalls: 1},
		{name: "fatal is not retried", answers: []error{testErr{class: Fatal}},
			wantErr: testErr{class: Fatal}, wantCalls: 1},
		{name: "whole batch fatal", answers: []error{testErr{class: Fatal}}, batchErr: true,
			wantErr: testErr{class: Fatal}, wantCalls: 1},
		{name: "gives up after MaxAttempts", answers: []error{retryable},
			wantErr: retryable, wantGaveUp: true, wantCalls: 3},
		{name: "retry-after hint is honoured", answers: []error{testErr{class: Retryable, after: 80 * time.Millisecond}, nil},
			wantCalls: 2, wantMinGaps: []time.Duration{80 * time.Millisecond}},
		{name: "gives up at RetryDeadline", answers: []error{testErr{class: Retryable, after: 50 * time.Millisecond}},
			deadline: 70 * time.Millisecond, wantErr: retryable, wantGaveUp: true, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{answers: tt.answers, batchErr: tt.batchErr}
			b := New(s.fn, Options[int, int]{
				Classify: classifyTestErr, MaxAttempts: 3, RetryDeadline: tt.deadline,
				RetryBase: 10 * time.Millisecond, RetryMax: time.Second,
			})
			defer closeNow(t, b)
			v, err := b.Load(context.Background(), 4)
			switch {
			case tt.wantErr == nil && (err != nil || v != 40):
				t.Errorf("Load = %d, %v; want 40", v, err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr) && classifyTestErr(err) != tt.wantErr.(testErr).class:
				t.Errorf("Load error %v, want %v", err, tt.wantErr)
			}
			var ae *AttemptsError
			if gaveUp := errors.As(err, &ae); gaveUp != tt.wantGaveUp || gaveUp && ae.Attempts != len(s.starts) {
				t.Errorf("error %v: AttemptsError %v, want %v", err, gaveUp, tt.wantGaveUp)
			}
			if len(s.starts) != tt.wantCalls {
				t.Errorf("%d calls, want %d", len(s.starts), tt.wantCalls)
			}
			for i, min := range tt.wantMinGaps {
				if gap := s.starts[i+1].Sub(s.starts[i]); gap < min {
					t.Errorf("attempt %d came %v after the previous one, want ≥ %v", i+2, gap, min)
				}
			}
			if st := b.Stats(); st.Retries != uint64(tt.wantCalls-1) {
				t.Errorf("Stats.Retries = %d, want %d", st.Retries, tt.wantCalls-1)
			}
		})
	}
}

func TestKeysFailingTogetherAreRetriedTogether(t *testing.T) {
	s := &script{answers: []error{testErr{class: Retryable}, nil}}
	b := New(s.fn, Options[int, int]{Classify: classifyTestErr, RetryBase: 5 * time.Millisecond})
	defer closeNow(t, b)
	keys := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for i, r := range b.LoadMany(context.Background(), keys) {
		if r.Err != nil || r.Value != 10*keys[i] {
			t.Errorf("key %d: %+v", keys[i], r)
		}
	}
	if !equalInts(s.sizes, []int{10, 10}) {
		t.Errorf("batch sizes %v, want [10 10]", s.sizes)
	}
}

func TestOnlyRetryableKeysAreRetried(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	b := New(func(ctx context.Context, keys []int) ([]Result[int], error) {
		out, _ := times10(ctx, keys)
		mu.Lock()
		defer mu.Unlock()
		for i, k := range keys {
			seen[k]++
			switch {
			case k == 1 && seen[k] == 1:
				out[i].Err = testErr{class: Retryable}
			case k == 2:
				out[i].Err = testErr{class: Definite}
			case k == 3:
				out[i].Err = testErr{class: Fatal}
			}
		}
		return out, nil
	}, Options[int, int]{Classify: classifyTestErr, RetryBase: time.Millisecond})
	defer closeNow(t, b)
	res := b.LoadMany(context.Background(), []int{1, 2, 3, 4})
	if res[0].Value != 10 || res[0].Err != nil || res[3].Value != 40 {
		t.Errorf("results %+v", res)
	}
	if seen[1] != 2 || seen[2] != 1 || seen[3] != 1 || seen[4] != 1 {
		t.Errorf("attempts per key %v, want only key 1 twice", seen)
	}
}

func TestCancelDuringBackoffDropsKey(t *testing.T) {
	s := &script{answers: []error{testErr{class: Retryable}}}
	b := New(s.fn, Options[int, int]{Classify: classifyTestErr, RetryBase: time.Hour, RetryDeadline: 2 * time.Hour})
	defer closeNow(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := b.Load(ctx, 1); done <- err }()
	waitFor(t, "a retry", func() bool { return b.Stats().Retrying == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Load = %v", err)
	}
	if st := b.Stats(); st.Retrying != 0 || st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestPanickingHooksDoNotStopTheBatcher(t *testing.T) {
	b := New(times10, Options[int, int]{
		Classify: func(error) Class { panic("classify") },
		OnBatch:  func(BatchInfo) { panic("on batch") },
		Cache:    panickyCache{},
	})
	defer closeNow(t, b)
	for k := range 3 {
		if v, err := b.Load(context.Background(), k); err != nil || v != 10*k {
			t.Errorf("Load(%d) = %d, %v", k, v, err)
		}
	}
	b2 := New(func(context.Context, []int) ([]Result[int], error) { return nil, errors.New("down") },
		Options[int, int]{Classify: func(error) Class { panic("classify") }})
	defer closeNow(t, b2)
	if _, err := b2.Load(context.Background(), 1); err == nil || err.Error() != "down" {
		t.Errorf("with a panicking classifier: %v, want the error, unretried", err)
	}
}

type panickyCache struct{}

func (panickyCache) Get(int) (Result[int], bool) { return Result[int]{}, false }
func (panickyCache) Put(int, Result[int])        { panic("put") }
