package geoapify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// DefaultBaseURL is Geoapify's public API origin.
const DefaultBaseURL = "https://api.geoapify.com"

// MaxBatchSize is the most addresses Geoapify accepts in one batch job.
const MaxBatchSize = 1000

// maxBody caps how much of a response the client reads: a finished job of
// 1000 results is a few hundred kilobytes.
const maxBody = 64 << 20

// Options configure a Client. Zero values take the documented defaults.
type Options struct {
	BaseURL    string // default DefaultBaseURL
	APIKey     string `json:"-"` // required; never marshalled, printed or logged
	KeyInQuery bool   // send the key as the apiKey query parameter instead of the x-api-key header
	HTTPClient *http.Client
	UserAgent  string         // default "xlbatch-geoapify/1 (+https://github.com/xlbatch/xlbatch)"
	Logger     zerolog.Logger // the zero value logs nothing

	// RateLimit is the most requests per second the client sends; default 5,
	// the free plan's limit. A negative value means no limit.
	RateLimit float64
	Burst     int // requests allowed at once above the steady rate; default 1

	Lang string // result language (ISO 639-1) for the Geocoder methods; default: the API's (en)

	// SingleThreshold: a Geocoder call with fewer addresses than this sends
	// one request per address, in parallel; a larger one uses batch jobs.
	// Default 10.
	SingleThreshold int
	Parallel        int // concurrent single-address requests per call; default 4

	MaxJobSize      int           // addresses per batch job, at most MaxBatchSize (the default)
	Priority        float64       // batch job priority 0.5–1 (0.5 halves the credits); 0 sends none
	PollInterval    time.Duration // first wait before polling a job; default 1s
	PollMaxInterval time.Duration // longest wait between polls; default 10s
	MaxPollFailures int           // consecutive transient poll failures tolerated; default 5
	JobTimeout      time.Duration // how long one job may stay pending; default 15m
	RequestTimeout  time.Duration // per HTTP request; default 30s
}

// String describes the options without the API key, so printing them is safe.
func (o Options) String() string {
	return fmt.Sprintf("geoapify.Options{BaseURL:%q RateLimit:%g Burst:%d SingleThreshold:%d MaxJobSize:%d}",
		o.BaseURL, o.RateLimit, o.Burst, o.SingleThreshold, o.MaxJobSize)
}

// GoString is String, for %#v.
func (o Options) GoString() string { return o.String() }

// Client calls the Geoapify geocoding API. It is safe for concurrent use and
// implements Geocoder.
type Client struct {
	opts    Options
	base    *url.URL
	hc      *http.Client
	limiter *rate.Limiter // nil when unlimited
	log     zerolog.Logger
	stats   clientCounters
}

// clientCounters are updated atomically and read by Stats.
type clientCounters struct {
	requests, singles, jobs, resubmits, polls atomic.Uint64
}

// ClientStats counts what a Client has sent.
type ClientStats struct {
	Requests  uint64 // HTTP requests, every endpoint
	Singles   uint64 // single-address search and reverse requests
	Jobs      uint64 // batch jobs the server accepted (200 or 202), resubmissions included
	Resubmits uint64 // batch jobs resubmitted because they had expired
	Polls     uint64 // batch job polls
}

// New returns a Client. It fails on an empty API key or a bad base URL.
func New(opts Options) (*Client, error) {
	if opts.APIKey == "" {
		return nil, ErrNoAPIKey
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("geoapify: base URL %q: want http(s)://host[/path]", opts.BaseURL)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "xlbatch-geoapify/1 (+https://github.com/xlbatch/xlbatch)"
	}
	if math.IsNaN(opts.RateLimit) || math.IsInf(opts.RateLimit, 0) {
		return nil, fmt.Errorf("geoapify: rate limit %v: want requests per second, or a negative number for none", opts.RateLimit)
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 5
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	if opts.SingleThreshold <= 0 {
		opts.SingleThreshold = 10
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.MaxJobSize <= 0 || opts.MaxJobSize > MaxBatchSize {
		opts.MaxJobSize = MaxBatchSize
	}
	if opts.Priority != 0 && (opts.Priority < 0.5 || opts.Priority > 1) {
		return nil, fmt.Errorf("geoapify: priority %g: want 0.5 to 1", opts.Priority)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.PollMaxInterval < opts.PollInterval {
		opts.PollMaxInterval = max(opts.PollInterval, 10*time.Second)
	}
	if opts.MaxPollFailures <= 0 {
		opts.MaxPollFailures = 5
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = 15 * time.Minute
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	c := &Client{opts: opts, base: base, hc: opts.HTTPClient, log: opts.Logger}
	if c.hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		c.hc = &http.Client{Transport: t}
	}
	if opts.RateLimit > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(opts.RateLimit), opts.Burst)
	}
	return c, nil
}

// Name implements Geocoder.
func (c *Client) Name() string { return "geoapify" }

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{
		Requests:  c.stats.requests.Load(),
		Singles:   c.stats.singles.Load(),
		Jobs:      c.stats.jobs.Load(),
		Resubmits: c.stats.resubmits.Load(),
		Polls:     c.stats.polls.Load(),
	}
}

// CloseIdleConnections closes the HTTP client's idle connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// response is one HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request after waiting for the rate limiter. It returns the
// caller's context error when ctx ended, a *TransportError when no full answer
// arrived, and otherwise the answer whatever its status.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, body []byte) (response, error) {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return response{}, ctx.Err()
			}
			// The limiter refuses to wait past the context's deadline.
			return response{}, fmt.Errorf("geoapify: %s: waiting for the rate limit: %w", op, context.DeadlineExceeded)
		}
	}
	if q == nil {
		q = url.Values{}
	}
	if c.opts.KeyInQuery {
		q.Set("apiKey", c.opts.APIKey)
	}
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	full := u.String()

	rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, full, rd)
	if err != nil {
		return response{}, c.transportError(op, method, full, err)
	}
	if !c.opts.KeyInQuery {
		req.Header.Set("x-api-key", c.opts.APIKey)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.stats.requests.Add(1)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		c.log.Debug().Str("op", op).Str("method", method).Str("path", path).Dur("took", time.Since(start)).Msg("geoapify request failed")
		return response{}, c.transportError(op, method, full, err)
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		return response{}, c.transportError(op, method, full, fmt.Errorf("read body: %w", err))
	}
	c.log.Debug().Str("op", op).Str("method", method).Str("path", path).Int("status", resp.StatusCode).
		Int("bytes", len(data)).Dur("took", time.Since(start)).Msg("geoapify request")
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// readBody reads a response body whole, up to maxBody, in one allocation
// when the server announced its length.
func readBody(resp *http.Response) ([]byte, error) {
	r := io.LimitReader(resp.Body, maxBody)
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		var b bytes.Buffer
		b.Grow(int(n) + 1) // +1: ReadFrom wants room to see the end
		_, err := b.ReadFrom(r)
		return b.Bytes(), err
	}
	return io.ReadAll(r)
}

// transportError wraps err with the key removed from every text it carries.
// A *url.Error prints its URL, which holds the key when KeyInQuery is set, so
// only its inner error is kept, beside the redacted URL.
func (c *Client) transportError(op, method, full string, err error) *TransportError {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s: %w", c.opts.RequestTimeout, err)
	}
	if strings.Contains(err.Error(), c.opts.APIKey) || strings.Contains(err.Error(), url.QueryEscape(c.opts.APIKey)) {
		err = errors.New(c.redact(err.Error()))
	}
	return &TransportError{Op: op, Method: method, URL: c.redact(full), Err: err}
}

// redact removes the API key, raw and query-escaped, from s.
func (c *Client) redact(s string) string {
	k := c.opts.APIKey
	if k == "" {
		return s
	}
	s = strings.ReplaceAll(s, k, "REDACTED")
	if e := url.QueryEscape(k); e != k {
		s = strings.ReplaceAll(s, e, "REDACTED")
	}
	return s
}

// gatewayError is Geoapify's JSON error body.
type gatewayError struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// apiError turns a non-success answer into an *APIError.
func (c *Client) apiError(op string, r response) *APIError {
	e := &APIError{Op: op, Status: r.status, retryAfter: parseRetryAfter(r.header.Get("Retry-After"), time.Now())}
	var g gatewayError
	if json.Unmarshal(r.body, &g) == nil && (g.Error != "" || g.Message != "") {
		e.Reason, e.Message = g.Error, c.redact(g.Message)
	} else {
		e.Reason = http.StatusText(r.status)
		if snippet := strings.TrimSpace(string(r.body)); snippet != "" && utf8Printable(snippet) {
			if len(snippet) > 200 {
				snippet = snippet[:200] + "…"
			}
			e.Message = c.redact(snippet)
		}
	}
	return e
}

// utf8Printable reports whether s looks like text worth quoting in an error.
func utf8Printable(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || (r < ' ' && r != '\n' && r != '\t' && r != '\r') {
			return false
		}
	}
	return true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// String describes the client without its API key, so printing one is safe.
func (c *Client) String() string { return "geoapify.Client(" + c.base.String() + ")" }

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }
