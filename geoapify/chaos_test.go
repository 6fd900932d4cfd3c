package geoapify_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xlbatch/xlbatch/batching"
	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

// classify is how a batcher over a geoapify.Geocoder sorts errors.
func classify(err error) batching.Class {
	switch {
	case geoapify.IsDefinite(err):
		return batching.Definite
	case geoapify.Retryable(err):
		return batching.Retryable
	}
	return batching.Fatal
}

// mapCache is the cache a batcher over a geocoder has in production, in
// its simplest form: answers and definite errors, kept forever. With it, an
// address answered once is never sent again, however late a caller asks.
type mapCache struct{ m sync.Map }

func (c *mapCache) Get(q geoapify.Query) (batching.Result[geoapify.Result], bool) {
	v, ok := c.m.Load(q)
	if !ok {
		return batching.Result[geoapify.Result]{}, false
	}
	return v.(batching.Result[geoapify.Result]), true
}

func (c *mapCache) Put(q geoapify.Query, r batching.Result[geoapify.Result]) { c.m.Store(q, r) }

// chaosCounts are what the batch function saw.
type chaosCounts struct {
	calls, wholeFailures, itemFailures atomic.Int64
	maxKeys                            atomic.Int64
}

// TestChaos sends addresses with repeats through a batcher (with a cache, as
// in production) and the client (as a Geocoder) against a fake that fails a
// third of all requests: 20 % 5xx, 10 % 429, 5 % malformed bodies, with
// random latency. Every address
// must end with its right result or, for an address that has none, a
// definite ErrNoMatch; no goroutine may outlive the test (TestMain); and the
// fake may see no more batch jobs than ceil(unique/1000) plus the jobs the
// faults made the batcher send again.
func TestChaos(t *testing.T) {
	for _, c := range chaosCases {
		t.Run(c.name, func(t *testing.T) { runChaos(t, c) })
	}
}

// chaosCase is one chaos run: the load, the batcher settings and the
// client's single-request threshold.
type chaosCase struct {
	name      string
	addresses int
	unique    int
	// singleThreshold is the client's SingleThreshold; 0 takes the
	// default, so batches of 1000 always go to jobs.
	singleThreshold int
	wantJobs        bool
	seed            uint64

	minBatch, inFlight int
	maxWait            time.Duration
}

// For jobs, batches wait for 1000 keys (MinBatch), so that the 2,000 unique
// addresses make two jobs however slowly the callers arrive (under -race on
// a busy machine, loading them takes a few hundred milliseconds), with four
// batches allowed in flight. Without MinBatch the bound is not a property
// of the batcher: natural batching sends the first arrivals at once, as a
// small job of their own, while a slot is free. A failed batch's keys come
// back 1000 at a time, so the long MaxWait costs nothing. Single requests
// are retried a few at a time, so they get natural batching.
var chaosCases = []chaosCase{
	// A run makes few requests (two jobs and their polls), so several
	// seeds put the faults on different requests: submits, polls, retries.
	{name: "batch jobs seed 1", addresses: 10000, unique: 2000, wantJobs: true, seed: 1, minBatch: 1000, inFlight: 4, maxWait: 10 * time.Second},
	{name: "batch jobs seed 2", addresses: 10000, unique: 2000, wantJobs: true, seed: 2, minBatch: 1000, inFlight: 4, maxWait: 10 * time.Second},
	{name: "batch jobs seed 3", addresses: 10000, unique: 2000, wantJobs: true, seed: 3, minBatch: 1000, inFlight: 4, maxWait: 10 * time.Second},
	{name: "batch jobs seed 4", addresses: 10000, unique: 2000, wantJobs: true, seed: 4, minBatch: 1000, inFlight: 4, maxWait: 10 * time.Second},
	// This seed tends to fail several whole batches, some while others
	// are in flight (which request meets which fault varies with timing).
	{name: "batch jobs seed 20", addresses: 10000, unique: 2000, wantJobs: true, seed: 20, minBatch: 1000, inFlight: 4, maxWait: 10 * time.Second},
	{name: "single requests", addresses: 2000, unique: 400, singleThreshold: 100000, seed: 5, minBatch: 1, inFlight: 4, maxWait: 5 * time.Millisecond},
}

func runChaos(t *testing.T, c chaosCase) {
	addresses, unique, singleThreshold, wantJobs, seed := c.addresses, c.unique, c.singleThreshold, c.wantJobs, c.seed
	fake := newFake(t, geoapifytest.Options{
		Seed:          seed,
		ErrorRate:     0.20,
		RateLimitRate: 0.10,
		MalformedRate: 0.05,
		Latency:       200 * time.Microsecond,
		LatencyJitter: 3 * time.Millisecond,
		PendingPolls:  3,
	})
	client := newClient(t, fake, func(o *geoapify.Options) {
		o.MaxPollFailures = 12
		o.Parallel = 16
		if singleThreshold > 0 {
			o.SingleThreshold = singleThreshold
		}
	})

	var counts chaosCounts
	fn := func(ctx context.Context, qs []geoapify.Query) ([]batching.Result[geoapify.Result], error) {
		counts.calls.Add(1)
		for {
			m := counts.maxKeys.Load()
			if int64(len(qs)) <= m || counts.maxKeys.CompareAndSwap(m, int64(len(qs))) {
				break
			}
		}
		out, err := client.Search(ctx, qs)
		if err != nil {
			counts.wholeFailures.Add(1)
			return nil, err
		}
		rs := make([]batching.Result[geoapify.Result], len(out))
		for i, o := range out {
			if o.Err != nil && geoapify.Retryable(o.Err) {
				counts.itemFailures.Add(1)
			}
			rs[i] = batching.Result[geoapify.Result]{Value: o.Result, Err: o.Err}
		}
		return rs, nil
	}
	b := batching.New(fn, batching.Options[geoapify.Query, geoapify.Result]{
		MaxBatch:    1000,
		MinBatch:    c.minBatch,
		MaxWait:     c.maxWait,
		MaxInFlight: c.inFlight,
		Classify:    classify,
		MaxAttempts: 12,
		RetryBase:   time.Millisecond,
		RetryMax:    20 * time.Millisecond,
		Cache:       &mapCache{},
	})

	// Every unique address appears addresses/unique times; one in ten has no match.
	names := make([]string, unique)
	for i := range names {
		if i%10 == 9 {
			names[i] = fmt.Sprintf("missing %d", i)
		} else {
			names[i] = fmt.Sprintf("chaos street %d", i)
		}
	}
	all := make([]string, addresses)
	for i := range all {
		all[i] = names[i%unique]
	}
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	// 100 callers, each loading its share at once.
	const callers = 100
	per := addresses / callers
	results := make([]batching.Result[geoapify.Result], addresses)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			lo, hi := g*per, (g+1)*per
			qs := make([]geoapify.Query, 0, per)
			for _, s := range all[lo:hi] {
				qs = append(qs, geoapify.Query{Text: s})
			}
			copy(results[lo:hi], b.LoadMany(ctx, qs))
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for i, r := range results {
		text := all[i]
		want, ok := placeOf(text, "")
		switch {
		case !ok:
			if !errors.Is(r.Err, geoapify.ErrNoMatch) {
				t.Fatalf("%q: %v, want ErrNoMatch", text, r.Err)
			}
		case r.Err != nil:
			t.Fatalf("%q: error %v, want its result (the faults should be retried away)", text, r.Err)
		case r.Value.Lat != want.Lat || r.Value.Lon != want.Lon || r.Value.Formatted != text:
			t.Fatalf("%q: got %+v, want %v,%v", text, r.Value, want.Lat, want.Lon)
		}
	}

	n := fake.Counters()
	st := client.Stats()
	faults := 0
	for _, v := range n.Faults {
		faults += v
	}
	t.Logf("%d addresses (%d unique) in %v: %d batch calls (largest %d keys), %d whole-batch failures, %d per-address failures; "+
		"fake: %d requests, faults %v, %d jobs of sizes %v, %d polls; client resubmits %d",
		addresses, unique, took.Round(time.Millisecond), counts.calls.Load(), counts.maxKeys.Load(),
		counts.wholeFailures.Load(), counts.itemFailures.Load(), n.TotalRequests(), n.Faults, n.JobsSubmitted, n.JobSizes, n.Polls, st.Resubmits)

	if faults == 0 {
		t.Fatal("the fake injected no faults")
	}
	if counts.maxKeys.Load() > 1000 {
		t.Fatalf("a batch held %d keys, over MaxBatch", counts.maxKeys.Load())
	}
	for _, size := range n.JobSizes {
		if size > geoapify.MaxBatchSize {
			t.Fatalf("a job held %d addresses", size)
		}
	}
	// Each whole-batch failure makes the batcher send its keys again, which
	// may cost one more job (1000 keys at most per batch); an expired job
	// is resubmitted by the client.
	bound := (unique+999)/1000 + int(counts.wholeFailures.Load()) + int(st.Resubmits)
	if !wantJobs {
		bound = 0
	}
	if n.JobsSubmitted > bound {
		t.Fatalf("%d jobs submitted, want ≤ %d = ceil(%d/1000) + %d failed batches + %d resubmits",
			n.JobsSubmitted, bound, unique, counts.wholeFailures.Load(), st.Resubmits)
	}
	if wantJobs && n.JobsSubmitted < (unique+999)/1000 {
		t.Fatalf("%d jobs submitted, want at least %d", n.JobsSubmitted, (unique+999)/1000)
	}
	if !wantJobs && n.Requests[geoapifytest.EndpointSearch] < unique {
		t.Fatalf("%d single requests for %d unique addresses", n.Requests[geoapifytest.EndpointSearch], unique)
	}
}
