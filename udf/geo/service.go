// Package geo provides the GEO spreadsheet functions — GEOLOCATE, GEOCODE,
// REVERSEGEOCODE and GEODISTANCE — over any geoapify.Geocoder. Every lookup
// goes through a cache and then through one shared batcher per direction
// (search, reverse), so calls from every cell, workbook and connection meet
// in the same few upstream requests.
package geo

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/xlbatch/xlbatch/batching"
	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/cache"
)

// Options configure a Service.
type Options struct {
	// Geocoder answers lookups: a *geoapify.Client or the offline gazetteer.
	Geocoder geoapify.Geocoder
	// Cache holds answers across calls (and restarts, when it has a file).
	// Nil means a memory-only cache.
	Cache *cache.Cache[geoapify.Result]
	// Scope names the provider in cache keys; default Geocoder.Name(). Give
	// a distinct scope for a non-default endpoint (a fake, a proxy) so its
	// answers never mix with the real provider's.
	Scope string
	// LocalLookups says lookups cost nothing and leave no machine (the
	// offline gazetteer): formula previews may then compute them, and they
	// do not count as upstream requests.
	LocalLookups bool

	MaxBatch int // keys per upstream batch; default geoapify.MaxBatchSize
	// MaxInFlight is how many batches per direction may run at once.
	// Default 1 for a remote provider: while its one batch (a Geoapify job
	// takes seconds) runs, every new key queues, and the next batch takes
	// them all — the fewest jobs for the most cells. Local providers get 2.
	MaxInFlight int
	MaxWait     time.Duration // see batching.Options.MaxWait; default the batcher's
	// Retry settings, passed to the batchers; zero values take their defaults.
	MaxAttempts   int
	RetryBase     time.Duration
	RetryDeadline time.Duration

	Logger zerolog.Logger
}

// Service owns the batchers and cache behind the GEO functions. It is safe
// for concurrent use; Close it when done.
type Service struct {
	opts    Options
	scope   string
	cache   *cache.Cache[geoapify.Result]
	search  *batching.Batcher[searchKey, geoapify.Result]
	reverse *batching.Batcher[reverseKey, geoapify.Result]

	cacheHits atomic.Uint64 // lookups answered from the cache
	lookups   atomic.Uint64 // distinct addresses and points sent to the geocoder
}

// New returns a Service. It panics if opts.Geocoder is nil.
func New(opts Options) *Service {
	if opts.Geocoder == nil {
		panic("geo: New called without a Geocoder")
	}
	if opts.Scope == "" {
		opts.Scope = opts.Geocoder.Name()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = geoapify.MaxBatchSize
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1
		if opts.LocalLookups {
			opts.MaxInFlight = 2
		}
	}
	s := &Service{opts: opts, scope: opts.Scope, cache: opts.Cache}
	if s.cache == nil {
		s.cache = cache.Open[geoapify.Result](cache.Options{Logger: opts.Logger})
	}
	s.search = batching.New(s.searchBatch, batchOptions[searchKey](opts, "search"))
	s.reverse = batching.New(s.reverseBatch, batchOptions[reverseKey](opts, "reverse"))
	return s
}

func batchOptions[K comparable](o Options, name string) batching.Options[K, geoapify.Result] {
	return batching.Options[K, geoapify.Result]{
		MaxBatch:      o.MaxBatch,
		MaxInFlight:   o.MaxInFlight,
		MaxWait:       o.MaxWait,
		Classify:      classify,
		MaxAttempts:   o.MaxAttempts,
		RetryBase:     o.RetryBase,
		RetryDeadline: o.RetryDeadline,
		Logger:        o.Logger,
		Name:          o.Scope + " " + name,
	}
}

// classify tells the batcher that "no match" is an answer, transient
// provider failures are worth retrying, and the rest are final.
func classify(err error) batching.Class {
	switch {
	case geoapify.IsDefinite(err):
		return batching.Definite
	case geoapify.Retryable(err):
		return batching.Retryable
	}
	return batching.Fatal
}

// Close stops the batchers after their queued and running lookups finish,
// or when ctx ends. It does not close the cache, which the caller owns.
func (s *Service) Close(ctx context.Context) error {
	return errors.Join(s.search.Close(ctx), s.reverse.Close(ctx))
}

// Stats are the service's counters.
type Stats struct {
	CacheHits        uint64 // lookups answered by the cache
	Lookups          uint64 // distinct lookups sent to the geocoder
	Batches          uint64 // batches the two batchers ran
	UpstreamRequests uint64 // HTTP requests that left the machine
	Search, Reverse  batching.Stats
}

// requestCounter is implemented by geocoders that count their HTTP requests.
type requestCounter interface{ Stats() geoapify.ClientStats }

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	st := Stats{
		CacheHits: s.cacheHits.Load(),
		Lookups:   s.lookups.Load(),
		Search:    s.search.Stats(),
		Reverse:   s.reverse.Stats(),
	}
	st.Batches = st.Search.Batches + st.Reverse.Batches
	if rc, ok := s.opts.Geocoder.(requestCounter); ok {
		st.UpstreamRequests = rc.Stats().Requests
	} else if !s.opts.LocalLookups {
		st.UpstreamRequests = st.Batches
	}
	return st
}

// addStats contributes the service's counters to the registry's.
func (s *Service) addStats(u *udf.Stats) {
	st := s.Stats()
	u.Batches += st.Batches
	u.UpstreamRequests += st.UpstreamRequests
	u.CacheHits += st.CacheHits
}

// searchBatch is the search batcher's batch function: one geocoder call
// for the whole batch, and one cache write for its definite outcomes.
func (s *Service) searchBatch(ctx context.Context, keys []searchKey) ([]batching.Result[geoapify.Result], error) {
	return batchThroughCache(s, keys, func(keys []searchKey) ([]geoapify.Outcome, error) {
		qs := make([]geoapify.Query, len(keys))
		for i, k := range keys {
			qs[i] = geoapify.Query{Text: k.Text, Country: k.Country}
		}
		return s.opts.Geocoder.Search(ctx, qs)
	})
}

func (s *Service) reverseBatch(ctx context.Context, keys []reverseKey) ([]batching.Result[geoapify.Result], error) {
	return batchThroughCache(s, keys, func(keys []reverseKey) ([]geoapify.Outcome, error) {
		ps := make([]geoapify.Point, len(keys))
		for i, k := range keys {
			ps[i] = geoapify.Point{Lat: k.Lat, Lon: k.Lon}
		}
		return s.opts.Geocoder.Reverse(ctx, ps)
	})
}

// batchThroughCache asks the geocoder for the keys the cache does not hold.
// It looks again because a caller may have missed the cache just before
// another batch stored the key and left the batcher: without this second
// look that key would be fetched twice.
func batchThroughCache[K geoKey](s *Service, keys []K,
	fetch func([]K) ([]geoapify.Outcome, error)) ([]batching.Result[geoapify.Result], error) {
	cacheKey := func(k K) string { return string(k.appendCacheKey(nil, s.scope)) }
	res := make([]batching.Result[geoapify.Result], len(keys))
	ask := make([]K, 0, len(keys))
	at := make([]int, 0, len(keys))
	for i, k := range keys {
		if e, ok := s.cache.Peek(cacheKey(k)); ok {
			s.cacheHits.Add(1)
			if e.Miss {
				res[i].Err = geoapify.ErrNoMatch
			} else {
				res[i].Value = e.Value
			}
			continue
		}
		ask = append(ask, k)
		at = append(at, i)
	}
	if len(ask) == 0 {
		return res, nil
	}
	s.lookups.Add(uint64(len(ask)))
	outs, err := fetch(ask)
	if err != nil {
		return nil, err
	}
	if len(outs) != len(ask) {
		return nil, batching.ErrResultCount
	}
	items := make([]cache.Item[geoapify.Result], 0, len(ask))
	for j, o := range outs {
		i := at[j]
		res[i] = batching.Result[geoapify.Result]{Value: o.Result, Err: o.Err}
		switch {
		case o.Err == nil:
			items = append(items, cache.Item[geoapify.Result]{Key: cacheKey(ask[j]), Entry: cache.Entry[geoapify.Result]{Value: o.Result}})
		case geoapify.IsDefinite(o.Err):
			items = append(items, cache.Item[geoapify.Result]{Key: cacheKey(ask[j]), Entry: cache.Entry[geoapify.Result]{Miss: true}})
		}
	}
	// Answers and "no match" verdicts are stored; failures, which may not
	// last, are not.
	s.cache.PutMany(items)
	return res, nil
}
