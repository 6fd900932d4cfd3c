// Package geoapifytest is a fake Geoapify geocoding API for tests, benchmarks
// and demos, used like net/http/httptest: NewServer gives a URL to point a
// client at, Close stops it, and Counters tells a test what the server saw.
//
// It answers the single-address search and reverse endpoints and the batch
// jobs of /v1/batch/geocode/{search,reverse} with Geoapify's documented
// statuses and bodies: 202 pending jobs and 200 results (top-level arrays,
// an item with only "query" for a miss), 404 for unknown or expired jobs, the
// GatewayError body {"statusCode","error","message"} for 400/401/429/500, the
// 1000-address limit, the key in the apiKey query parameter or the x-api-key
// header, and a requests-per-second limit. Faults are injected at chosen
// rates (seeded, so runs repeat) or scripted one by one with Inject.
//
// Answers are deterministic and real: by default the offline gazetteer
// (package offline) resolves addresses and points.
package geoapifytest

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/offline"
	"golang.org/x/time/rate"
)

// Endpoints, as keys of Counters.Requests and values of Fault.Endpoint.
const (
	EndpointSearch             = "GET /v1/geocode/search"
	EndpointReverse            = "GET /v1/geocode/reverse"
	EndpointBatchSearchSubmit  = "POST /v1/batch/geocode/search"
	EndpointBatchSearchPoll    = "GET /v1/batch/geocode/search"
	EndpointBatchReverseSubmit = "POST /v1/batch/geocode/reverse"
	EndpointBatchReversePoll   = "GET /v1/batch/geocode/reverse"
)

// MaxBatchSize is the most addresses one batch job may hold.
const MaxBatchSize = 1000

// Options configure a fake. The zero value is a well-behaved server that
// accepts any key, answers from the offline gazetteer, finishes every job on
// its first poll and injects no faults.
type Options struct {
	// APIKey is the one valid key; empty accepts every request, with or without a key.
	APIKey string
	// Seed makes the random choices (faults, latency, job ids) repeatable.
	Seed uint64

	// Lookup answers a forward query; country is a lower-case ISO code or "".
	// Default: offline.Default().Lookup.
	Lookup func(text, country string) (geoapify.Result, bool)
	// Nearest answers a reverse query. Default: offline.Default().Nearest.
	Nearest func(p geoapify.Point) (geoapify.Result, bool)

	// A job stays pending (202) for PendingPolls polls and for PendingFor after
	// its submission, whichever ends later; with both zero its first poll
	// returns the results. DoneAtOnce answers the submit itself with 200 and
	// the results.
	PendingPolls    int
	PendingFor      time.Duration
	DoneAtOnce      bool
	NeverFinishRate float64       // share of jobs that stay pending forever
	Retention       time.Duration // how long a job can be read; default 24h, as documented

	// RPS is a requests-per-second limit over all endpoints, answered with the
	// documented 429; 0 means none. Burst defaults to 1.
	RPS   float64
	Burst int
	// RetryAfter, when positive, is sent as a Retry-After header (whole
	// seconds, rounded up) with every 429. Geoapify documents no such header.
	RetryAfter time.Duration

	// Latency delays every answer; LatencyJitter adds a uniform random extra.
	Latency       time.Duration
	LatencyJitter time.Duration
	// Fault rates, each the share of requests that get it (drawn in this order).
	ErrorRate     float64 // 500, 502 or 503
	RateLimitRate float64 // 429 "Quota exceeded"
	MalformedRate float64 // 200 (or 202) with a body cut short
	DropRate      float64 // connection closed without an answer
}

// Counters are what the fake has seen; tests assert on them.
type Counters struct {
	Requests         map[string]int // by endpoint ("GET /v1/geocode/search", …), faulted requests included
	JobsSubmitted    int            // batch jobs accepted
	JobSizes         []int          // addresses per accepted job, in order
	AddressesCharged int            // addresses billed: one per answered single request, one per batch address
	Credits          float64        // 1 per single request, 0.5 per batch address (1 at priority=1)
	Polls            int            // batch job polls, any answer
	Faults           map[string]int // injected faults by kind: "5xx", "429", "malformed", "drop", "status"
	RateLimited      int            // 429s from the RPS limit
	Unauthorized     int            // 401s
}

// TotalRequests is the number of requests the fake received, over every
// endpoint, faulted requests included.
func (c Counters) TotalRequests() int {
	n := 0
	for _, v := range c.Requests {
		n += v
	}
	return n
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, with no trailing slash;
	// empty for a server made by NewHandler.
	URL string

	opts    Options
	ts      *httptest.Server
	limiter *rate.Limiter // nil without an RPS limit
	closed  chan struct{}
	once    sync.Once

	rngMu sync.Mutex // protects rng
	rng   *rand.Rand

	mu       sync.Mutex // protects the fields below
	counters Counters
	scripted []Fault
	jobs     map[string]*job
	submits  int // for the periodic sweep of expired jobs

	forward sync.Map // forwardKey → []byte, a rendered batch item
	reverse sync.Map // geoapify.Point → []byte
}

// NewServer starts a fake on a loopback port. Call Close when done.
func NewServer(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns a fake that is not listening, to serve with an
// http.Server of the caller's (Server implements http.Handler).
func NewHandler(opts Options) *Server {
	if opts.Lookup == nil {
		opts.Lookup = offline.Default().Lookup
	}
	if opts.Nearest == nil {
		opts.Nearest = offline.Default().Nearest
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	s := &Server{
		opts:   opts,
		closed: make(chan struct{}),
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		jobs:   map[string]*job{},
		counters: Counters{
			Requests: map[string]int{},
			Faults:   map[string]int{},
		},
	}
	if opts.RPS > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(opts.RPS), opts.Burst)
	}
	return s
}

// Client returns an HTTP client for the server, as httptest.Server.Client does.
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Close wakes every request waiting out its latency, then shuts the server
// down and waits for its requests to end.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Counters returns a copy of the counters.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	c.Requests = make(map[string]int, len(s.counters.Requests))
	for k, v := range s.counters.Requests {
		c.Requests[k] = v
	}
	c.Faults = make(map[string]int, len(s.counters.Faults))
	for k, v := range s.counters.Faults {
		c.Faults[k] = v
	}
	c.JobSizes = append([]int(nil), s.counters.JobSizes...)
	return c
}

// ExpireJobs forgets every job, as if its retention had run out: polls for
// them get 404 from now on.
func (s *Server) ExpireJobs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.jobs {
		delete(s.jobs, id)
	}
}

// PendingJobs returns how many jobs are known and not yet finished.
func (s *Server) PendingJobs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, j := range s.jobs {
		if !j.done {
			n++
		}
	}
	return n
}

// float64n draws a uniform number in [0, 1).
func (s *Server) float64n() float64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64()
}

// int64n draws a uniform number in [0, n).
func (s *Server) int64n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Int64N(n)
}
