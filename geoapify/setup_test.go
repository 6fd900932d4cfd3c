package geoapify_test

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "test-key-8c1f"

// placeOf is the tests' own oracle for the fake's answers: every address
// whose text does not start with "miss" is a place at a position derived
// from a hash of the text and the country.
func placeOf(text, country string) (geoapify.Result, bool) {
	if strings.HasPrefix(strings.ToLower(text), "miss") {
		return geoapify.Result{}, false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s", text, country)
	v := h.Sum64()
	lat := float64(v%170000)/1000 - 85
	lon := float64((v/170000)%360000)/1000 - 180
	return geoapify.Result{
		Lat: lat, Lon: lon, Formatted: text, City: text, CountryCode: country,
		ResultType: "city", Rank: geoapify.Rank{Confidence: 1},
	}, true
}

// nearestOf answers every point with a place named after it.
func nearestOf(p geoapify.Point) (geoapify.Result, bool) {
	if p.Lat == 0 && p.Lon == 0 {
		return geoapify.Result{}, false
	}
	return geoapify.Result{Lat: p.Lat, Lon: p.Lon, Formatted: fmt.Sprintf("near %.4f,%.4f", p.Lat, p.Lon), ResultType: "city"}, true
}

// newFake starts a fake answering from placeOf and nearestOf with testKey.
func newFake(t testing.TB, o geoapifytest.Options) *geoapifytest.Server {
	t.Helper()
	if o.Lookup == nil {
		o.Lookup = placeOf
	}
	if o.Nearest == nil {
		o.Nearest = nearestOf
	}
	if o.APIKey == "" {
		o.APIKey = testKey
	}
	s := geoapifytest.NewServer(o)
	t.Cleanup(s.Close)
	return s
}

// newClient returns a client of fake with fast polling and no rate limit,
// adjusted by tweak.
func newClient(t testing.TB, fake *geoapifytest.Server, tweak func(*geoapify.Options)) *geoapify.Client {
	t.Helper()
	o := geoapify.Options{
		BaseURL:         fake.URL,
		APIKey:          testKey,
		RateLimit:       -1,
		PollInterval:    2 * time.Millisecond,
		PollMaxInterval: 10 * time.Millisecond,
		RequestTimeout:  5 * time.Second,
	}
	if tweak != nil {
		tweak(&o)
	}
	c, err := geoapify.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// recorder is an http.RoundTripper that records requests and can act
// before passing one on.
type recorder struct {
	next   http.RoundTripper
	before func(*http.Request)

	mu   sync.Mutex // protects reqs
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	c := req.Clone(req.Context())
	if req.GetBody != nil {
		c.Body, _ = req.GetBody() // a fresh copy the test can read later
	}
	r.reqs = append(r.reqs, c)
	r.mu.Unlock()
	if r.before != nil {
		r.before(req)
	}
	return r.next.RoundTrip(req)
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

// withRecorder makes a client send through rec.
func withRecorder(rec *recorder) func(*geoapify.Options) {
	if rec.next == nil {
		rec.next = http.DefaultTransport.(*http.Transport).Clone()
	}
	return func(o *geoapify.Options) { o.HTTPClient = &http.Client{Transport: rec} }
}

// syncBuffer is a bytes.Buffer safe for concurrent writers, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// texts returns n addresses "place 0" … "place n-1".
func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("place %d", i)
	}
	return out
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the transport.
func (r *recorder) CloseIdleConnections() {
	if c, ok := r.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
