package geoapify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

var _ geoapify.Geocoder = (*geoapify.Client)(nil)

func queries(ts []string, country string) []geoapify.Query {
	qs := make([]geoapify.Query, len(ts))
	for i, t := range ts {
		qs[i] = geoapify.Query{Text: t, Country: country}
	}
	return qs
}

func TestGeocoderRoutesBySize(t *testing.T) {
	cases := []struct {
		name        string
		n           int
		wantSingles int
		wantJobs    int
	}{
		{"below threshold: parallel singles", 9, 9, 0},
		{"at threshold: one batch job", 10, 0, 1},
		{"large: chunked jobs", 2500, 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake(t, geoapifytest.Options{})
			cl := newClient(t, fake, func(o *geoapify.Options) { o.SingleThreshold = 10 })
			ts := texts(c.n)
			out, err := cl.Search(context.Background(), queries(ts, ""))
			if err != nil {
				t.Fatal(err)
			}
			checkOutcomes(t, ts, "", out)
			n := fake.Counters()
			if n.Requests[geoapifytest.EndpointSearch] != c.wantSingles || n.JobsSubmitted != c.wantJobs {
				t.Fatalf("singles %d jobs %d, want %d and %d", n.Requests[geoapifytest.EndpointSearch], n.JobsSubmitted, c.wantSingles, c.wantJobs)
			}
		})
	}
}

func TestGeocoderDeduplicatesAndValidates(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	c := newClient(t, fake, nil)
	qs := []geoapify.Query{
		{Text: "place 1"}, {Text: "  place 1 "}, {Text: "place 1", Country: "DE"},
		{Text: ""}, {Text: "place 2", Country: "Germany"}, {Text: strings.Repeat("x", 1025)},
		{Text: "missing 7"},
	}
	out, err := c.Search(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, []string{"place 1"}, "", out[0:1])
	checkOutcomes(t, []string{"place 1"}, "", out[1:2])
	checkOutcomes(t, []string{"place 1"}, "de", out[2:3])
	if !errors.Is(out[3].Err, geoapify.ErrNoMatch) {
		t.Errorf("blank: %v, want ErrNoMatch", out[3].Err)
	}
	for _, i := range []int{4, 5} {
		if out[i].Err == nil || geoapify.Retryable(out[i].Err) || errors.Is(out[i].Err, geoapify.ErrNoMatch) {
			t.Errorf("query %d: %v, want a non-retryable validation error", i, out[i].Err)
		}
	}
	if !errors.Is(out[6].Err, geoapify.ErrNoMatch) {
		t.Errorf("miss: %v, want ErrNoMatch", out[6].Err)
	}
	// "place 1" twice, "place 1" in de, "missing 7": three requests.
	if n := fake.Counters().Requests[geoapifytest.EndpointSearch]; n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestGeocoderCountryGroupsAreSeparateJobs(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	rec := &recorder{}
	c := newClient(t, fake, withRecorder(rec))
	ts := texts(12)
	qs := append(queries(ts, "fr"), queries(ts, "")...)
	out, err := c.Search(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, ts, "fr", out[:12])
	checkOutcomes(t, ts, "", out[12:])
	filters := map[string]bool{}
	for _, r := range rec.requests() {
		if r.Method == "POST" {
			filters[r.URL.Query().Get("filter")] = true
		}
	}
	if len(filters) != 2 || !filters["countrycode:fr"] || !filters[""] {
		t.Fatalf("job filters %v, want countrycode:fr and none", filters)
	}
}

func TestGeocoderPerItemFailures(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	fake.Inject(geoapifytest.Fault{Endpoint: geoapifytest.EndpointSearch, Status: 429})
	c := newClient(t, fake, func(o *geoapify.Options) { o.Parallel = 1 })
	ts := texts(3)
	out, err := c.Search(context.Background(), queries(ts, ""))
	if err != nil {
		t.Fatalf("err = %v; one failed address must not fail the call", err)
	}
	failed := 0
	for i, o := range out {
		if o.Err != nil {
			if !errors.Is(o.Err, geoapify.ErrRateLimited) || !geoapify.Retryable(o.Err) {
				t.Fatalf("outcome %d: %v", i, o.Err)
			}
			failed++
			continue
		}
		checkOutcomes(t, ts[i:i+1], "", out[i:i+1])
	}
	if failed != 1 {
		t.Fatalf("%d failed, want 1", failed)
	}
}

func TestGeocoderWholeJobFailure(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	fake.Inject(geoapifytest.Fault{Endpoint: geoapifytest.EndpointBatchSearchSubmit, Status: 500})
	c := newClient(t, fake, nil)
	out, err := c.Search(context.Background(), queries(texts(50), ""))
	if err == nil || !geoapify.Retryable(err) || out != nil {
		t.Fatalf("Search = %v, %v; want a retryable error for the whole call", out, err)
	}
}

func TestGeocoderReverse(t *testing.T) {
	for _, n := range []int{3, 40} {
		fake := newFake(t, geoapifytest.Options{})
		c := newClient(t, fake, nil)
		pts := make([]geoapify.Point, n)
		for i := range pts {
			pts[i] = geoapify.Point{Lat: float64(i) + 0.5, Lon: -float64(i) - 0.25}
		}
		pts = append(pts, geoapify.Point{Lat: 91, Lon: 0}, pts[0])
		out, err := c.Reverse(context.Background(), pts)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range out {
			switch {
			case i == n:
				if o.Err == nil || geoapify.Retryable(o.Err) {
					t.Errorf("n=%d: latitude 91 gave %v, want a validation error", n, o.Err)
				}
			case o.Err != nil || o.Result.Lat != pts[i].Lat || o.Result.Lon != pts[i].Lon:
				t.Errorf("n=%d: point %d: %+v", n, i, o)
			}
		}
		got := fake.Counters()
		singles, jobs := got.Requests[geoapifytest.EndpointReverse], got.JobsSubmitted
		if n < 10 && (singles != n || jobs != 0) || n >= 10 && (singles != 0 || jobs != 1) {
			t.Errorf("n=%d: %d singles, %d jobs", n, singles, jobs)
		}
	}
}

func TestGeocoderName(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	if n := newClient(t, fake, nil).Name(); n != "geoapify" {
		t.Fatalf("Name() = %q", n)
	}
}
