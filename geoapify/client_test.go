package geoapify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xlbatch/xlbatch/batching"
	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

// The error carrying a retry-after hint satisfies the batcher's interface
// structurally; the package itself does not import batching.
var _ batching.RetryAfterer = (*geoapify.APIError)(nil)

func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct {
		name string
		o    geoapify.Options
		want string
	}{
		{"no key", geoapify.Options{}, "no API key"},
		{"bad scheme", geoapify.Options{APIKey: "k", BaseURL: "ftp://x"}, "base URL"},
		{"no host", geoapify.Options{APIKey: "k", BaseURL: "http://"}, "base URL"},
		{"bad priority", geoapify.Options{APIKey: "k", Priority: 2}, "priority"},
		{"NaN rate", geoapify.Options{APIKey: "k", RateLimit: math.NaN()}, "rate limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := geoapify.New(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New(%v) = %v, want an error mentioning %q", c.o, err, c.want)
			}
		})
	}
}

func TestGeocodeSendsDocumentedRequest(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	rec := &recorder{}
	c := newClient(t, fake, withRecorder(rec))
	res, err := c.Geocode(context.Background(), geoapify.SearchRequest{
		Text: "place 1", Lang: "de", Type: "city", Filter: "countrycode:de", Bias: "proximity:13.4,52.5", Limit: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := placeOf("place 1", "de")
	if len(res) != 1 || res[0].Lat != want.Lat || res[0].Lon != want.Lon || res[0].Formatted != "place 1" {
		t.Fatalf("results = %+v, want one at %v,%v", res, want.Lat, want.Lon)
	}
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	q := r.URL.Query()
	checks := map[string]string{
		"method": r.Method, "path": r.URL.Path, "text": q.Get("text"), "format": q.Get("format"),
		"lang": q.Get("lang"), "type": q.Get("type"), "filter": q.Get("filter"), "bias": q.Get("bias"),
		"limit": q.Get("limit"), "apiKey": q.Get("apiKey"), "x-api-key": r.Header.Get("x-api-key"),
	}
	wants := map[string]string{
		"method": "GET", "path": "/v1/geocode/search", "text": "place 1", "format": "json",
		"lang": "de", "type": "city", "filter": "countrycode:de", "bias": "proximity:13.4,52.5",
		"limit": "1", "apiKey": "", "x-api-key": testKey,
	}
	for k, w := range wants {
		if checks[k] != w {
			t.Errorf("%s = %q, want %q", k, checks[k], w)
		}
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "xlbatch") {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestKeyInQuery(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	rec := &recorder{}
	c := newClient(t, fake, func(o *geoapify.Options) { withRecorder(rec)(o); o.KeyInQuery = true })
	if _, err := c.Geocode(context.Background(), geoapify.SearchRequest{Text: "place 1"}); err != nil {
		t.Fatal(err)
	}
	r := rec.requests()[0]
	if r.URL.Query().Get("apiKey") != testKey || r.Header.Get("x-api-key") != "" {
		t.Fatalf("apiKey=%q header=%q, want the key in the query only", r.URL.Query().Get("apiKey"), r.Header.Get("x-api-key"))
	}
}

func TestGeocodeStructuredAndNoMatch(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	rec := &recorder{}
	c := newClient(t, fake, withRecorder(rec))
	ctx := context.Background()

	res, err := c.Geocode(ctx, geoapify.SearchRequest{HouseNumber: "8", Street: "Hannoverstraße", City: "München"})
	if err != nil || len(res) != 1 {
		t.Fatalf("structured: %v, %v", res, err)
	}
	q := rec.requests()[0].URL.Query()
	if q.Get("street") != "Hannoverstraße" || q.Get("housenumber") != "8" || q.Has("text") {
		t.Errorf("structured query = %v", q)
	}

	res, err = c.Geocode(ctx, geoapify.SearchRequest{Text: "missing town"})
	if err != nil || len(res) != 0 {
		t.Fatalf("no match: %v, %v; want no results and no error", res, err)
	}

	before := len(rec.requests())
	for _, r := range []geoapify.SearchRequest{{Text: "a", City: "b"}, {}} {
		if _, err := c.Geocode(ctx, r); err == nil {
			t.Errorf("Geocode(%+v) succeeded, want an error", r)
		}
	}
	if n := len(rec.requests()); n != before {
		t.Errorf("invalid requests were sent: %d", n-before)
	}
}

func TestReverseGeocode(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	rec := &recorder{}
	c := newClient(t, fake, withRecorder(rec))
	res, err := c.ReverseGeocode(context.Background(), geoapify.ReverseRequest{Lat: 48.8584, Lon: 2.2945, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Lat != 48.8584 || res[0].Lon != 2.2945 {
		t.Fatalf("results = %+v", res)
	}
	q := rec.requests()[0].URL.Query()
	if rec.requests()[0].URL.Path != "/v1/geocode/reverse" || q.Get("lat") != "48.8584" || q.Get("lon") != "2.2945" || q.Get("format") != "json" {
		t.Errorf("request = %v", rec.requests()[0].URL)
	}
}

// statusCase is one documented failure and how the client must report it.
type statusCase struct {
	name       string
	fault      geoapifytest.Fault
	key        string // client key; testKey when empty
	status     int    // for *APIError; 0 for other error types
	reason     string
	message    string
	is         error // sentinel errors.Is must match, or nil
	retryable  bool
	retryAfter time.Duration
	errType    string // "api", "malformed", "transport"
}

func statusCases() []statusCase {
	return []statusCase{
		{name: "400", fault: geoapifytest.Fault{Status: 400, Body: `{"statusCode":400,"error":"Bad Request","message":"\"limit\" must be less than or equal to 100"}`},
			status: 400, reason: "Bad Request", message: `"limit" must be less than or equal to 100`, errType: "api"},
		{name: "401 bad key", key: "wrong-key", status: 401, reason: "Unauthorized", message: "Invalid apiKey", is: geoapify.ErrUnauthorized, errType: "api"},
		{name: "429 with Retry-After", fault: geoapifytest.Fault{Status: 429, RetryAfter: "2"},
			status: 429, reason: "Too Many Requests", message: "Quota exceeded", is: geoapify.ErrRateLimited, retryable: true, retryAfter: 2 * time.Second, errType: "api"},
		{name: "429 without Retry-After", fault: geoapifytest.Fault{Status: 429},
			status: 429, reason: "Too Many Requests", message: "Quota exceeded", is: geoapify.ErrRateLimited, retryable: true, errType: "api"},
		{name: "500", fault: geoapifytest.Fault{Status: 500},
			status: 500, reason: "Internal Server Error", message: "Request failed, please try again later", retryable: true, errType: "api"},
		{name: "502 html", fault: geoapifytest.Fault{Status: 502},
			status: 502, reason: "Bad Gateway", retryable: true, errType: "api"},
		{name: "503", fault: geoapifytest.Fault{Status: 503}, status: 503, reason: "Service Unavailable", retryable: true, errType: "api"},
		{name: "malformed body", fault: geoapifytest.Fault{Malformed: true}, retryable: true, errType: "malformed"},
		{name: "dropped connection", fault: geoapifytest.Fault{Drop: true}, retryable: true, errType: "transport"},
	}
}

// checkStatusError asserts that err is what c describes.
func checkStatusError(t *testing.T, c statusCase, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if got := geoapify.Retryable(err); got != c.retryable {
		t.Errorf("Retryable(%v) = %v, want %v", err, got, c.retryable)
	}
	if c.is != nil && !errors.Is(err, c.is) {
		t.Errorf("errors.Is(%v, %v) = false", err, c.is)
	}
	switch c.errType {
	case "api":
		var ae *geoapify.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%T %v, want *APIError", err, err)
		}
		if ae.Status != c.status || ae.Reason != c.reason || (c.message != "" && ae.Message != c.message) {
			t.Errorf("APIError{%d %q %q}, want {%d %q %q}", ae.Status, ae.Reason, ae.Message, c.status, c.reason, c.message)
		}
		if ae.RetryAfter() != c.retryAfter {
			t.Errorf("RetryAfter() = %v, want %v", ae.RetryAfter(), c.retryAfter)
		}
		var ra batching.RetryAfterer
		if !errors.As(err, &ra) || ra.RetryAfter() != c.retryAfter {
			t.Errorf("batching.RetryAfterer not found or wrong in %v", err)
		}
	case "malformed":
		var me *geoapify.MalformedError
		if !errors.As(err, &me) {
			t.Fatalf("%T %v, want *MalformedError", err, err)
		}
	case "transport":
		var te *geoapify.TransportError
		if !errors.As(err, &te) {
			t.Fatalf("%T %v, want *TransportError", err, err)
		}
	}
}

func TestSingleRequestStatuses(t *testing.T) {
	for _, c := range statusCases() {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake(t, geoapifytest.Options{})
			if c.fault != (geoapifytest.Fault{}) {
				f := c.fault
				f.Endpoint = geoapifytest.EndpointSearch
				fake.Inject(f)
			}
			cl := newClient(t, fake, func(o *geoapify.Options) {
				if c.key != "" {
					o.APIKey = c.key
				}
			})
			_, err := cl.Geocode(context.Background(), geoapify.SearchRequest{Text: "place 1"})
			checkStatusError(t, c, err)
		})
	}
}

func TestSubmitStatuses(t *testing.T) {
	for _, c := range statusCases() {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake(t, geoapifytest.Options{})
			if c.fault != (geoapifytest.Fault{}) {
				f := c.fault
				f.Endpoint = geoapifytest.EndpointBatchSearchSubmit
				fake.Inject(f)
			}
			cl := newClient(t, fake, func(o *geoapify.Options) {
				if c.key != "" {
					o.APIKey = c.key
				}
			})
			out, err := cl.BatchSearch(context.Background(), texts(20), geoapify.BatchOptions{})
			if out != nil {
				t.Errorf("outcomes %v with a failed job, want nil", out)
			}
			checkStatusError(t, c, err)
			if n := fake.Counters().JobsSubmitted; n != 0 {
				t.Errorf("fake accepted %d jobs, want 0", n)
			}
		})
	}
}

func TestRealServerErrorsOnRealRequests(t *testing.T) {
	// The fake's own 400 for a limit over 100, and its 401, reach the caller
	// as *APIError with the documented fields.
	fake := newFake(t, geoapifytest.Options{})
	c := newClient(t, fake, nil)
	_, err := c.Geocode(context.Background(), geoapify.SearchRequest{Text: "x", Limit: 101})
	var ae *geoapify.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Message != `"limit" must be less than or equal to 100` || geoapify.Retryable(err) {
		t.Fatalf("limit 101: %v", err)
	}
}

func TestClientRateLimit(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	c := newClient(t, fake, func(o *geoapify.Options) { o.RateLimit = 50; o.Burst = 1 })
	start := time.Now()
	for range 6 {
		if _, err := c.Geocode(context.Background(), geoapify.SearchRequest{Text: "place 1"}); err != nil {
			t.Fatal(err)
		}
	}
	// Six requests at 50/s with a burst of 1 need at least five intervals of 20 ms.
	if d := time.Since(start); d < 95*time.Millisecond {
		t.Fatalf("6 requests took %v, want ≥ 100ms at 50 requests/s", d)
	}
}

func TestFakeRateLimitReachesClient(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{RPS: 1, Burst: 1, RetryAfter: time.Second})
	c := newClient(t, fake, nil)
	ctx := context.Background()
	if _, err := c.Geocode(ctx, geoapify.SearchRequest{Text: "place 1"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Geocode(ctx, geoapify.SearchRequest{Text: "place 1"})
	var ae *geoapify.APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter() != time.Second || !geoapify.Retryable(err) {
		t.Fatalf("second request: %v, want 429 with a 1s hint", err)
	}
	if n := fake.Counters().RateLimited; n != 1 {
		t.Fatalf("fake counted %d rate-limited requests, want 1", n)
	}
}

func TestContextCancelledBeforeRequest(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	c := newClient(t, fake, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Geocode(ctx, geoapify.SearchRequest{Text: "place 1"})
	if !errors.Is(err, context.Canceled) || geoapify.Retryable(err) {
		t.Fatalf("err = %v, want context.Canceled, not retryable", err)
	}
}

func TestRetryableTable(t *testing.T) {
	api := func(status int) error { return &geoapify.APIError{Status: status} }
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no match", geoapify.ErrNoMatch, false},
		{"cancelled", context.Canceled, false},
		{"caller deadline", context.DeadlineExceeded, false},
		{"400", api(400), false},
		{"401", api(401), false},
		{"403", api(403), false},
		{"404", api(404), false},
		{"408", api(408), true},
		{"429", api(429), true},
		{"500", api(500), true},
		{"502", api(502), true},
		{"503", api(503), true},
		{"504", api(504), true},
		{"wrapped 503", fmt.Errorf("load: %w", api(503)), true},
		{"expired job", fmt.Errorf("poll: %w", geoapify.ErrJobExpired), true},
		{"job timeout", geoapify.ErrJobTimeout, false},
		{"malformed", &geoapify.MalformedError{Err: errors.New("eof")}, true},
		{"connection reset", &geoapify.TransportError{Err: errors.New("connection reset by peer")}, true},
		{"unknown host", &geoapify.TransportError{Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, false},
	}
	for _, c := range cases {
		if got := geoapify.Retryable(c.err); got != c.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

func TestUntrustedCertificateIsNotRetryable(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
	srv.StartTLS()
	defer srv.Close()
	c, err := geoapify.New(geoapify.Options{BaseURL: srv.URL, APIKey: testKey, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	_, err = c.Geocode(context.Background(), geoapify.SearchRequest{Text: "x"})
	var te *geoapify.TransportError
	if !errors.As(err, &te) || geoapify.Retryable(err) {
		t.Fatalf("err = %v, want a transport error that is not retryable", err)
	}
}
