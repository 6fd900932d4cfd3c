package geo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/cache"
)

// houseRE finds the house number in the synthetic addresses below; the fake
// answers house n at a position derived from n, so every answer can be
// checked.
var houseRE = regexp.MustCompile(`(\d+) example road`)

func housePosition(n int) (lat, lon float64) { return 10 + float64(n)/1e4, 20 - float64(n)/1e4 }

func houseLookup(text, country string) (geoapify.Result, bool) {
	m := houseRE.FindStringSubmatch(strings.ToLower(text))
	if m == nil {
		return geoapify.Result{}, false
	}
	n, _ := strconv.Atoi(m[1])
	lat, lon := housePosition(n)
	return geoapify.Result{Lat: lat, Lon: lon, Formatted: m[1] + " Example Road", ResultType: "building"}, true
}

// spelling writes address n one of several ways a person might.
func spelling(n, variant int) string {
	switch variant % 4 {
	case 0:
		return fmt.Sprintf("%d Example Road, Springfield", n)
	case 1:
		return fmt.Sprintf("  %d EXAMPLE   ROAD ,springfield", n)
	case 2:
		return fmt.Sprintf("%d example road; Springfield.", n)
	default:
		return fmt.Sprintf("%d Example\tRoad,  SPRINGFIELD ", n)
	}
}

func newFakeClient(t *testing.T, url string) *geoapify.Client {
	t.Helper()
	// The client's defaults, as the program uses them: five requests a
	// second, jobs polled after a second.
	c, err := geoapify.New(geoapify.Options{BaseURL: url, APIKey: "test-key"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// Ten thousand concurrent cells over two thousand addresses, written in
// varied case, spacing and punctuation, cost at most three batch jobs; a
// second engine over the same cache file sends nothing upstream.
func TestConcurrentGeolocateAgainstFake(t *testing.T) {
	const calls, unique = 10_000, 2_000
	fake := geoapifytest.NewServer(geoapifytest.Options{
		APIKey: "test-key", Lookup: houseLookup, Latency: 30 * time.Millisecond,
	})
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "cache.db")

	rng := rand.New(rand.NewPCG(1, 2))
	houses := make([]int, calls)
	args := make([]string, calls)
	for i := range houses {
		houses[i] = i % unique
		args[i] = spelling(houses[i], rng.IntN(4))
	}

	run := func(t *testing.T) geoapifytest.Counters {
		before := fake.Counters()
		c := cache.Open[geoapify.Result](cache.Options{Path: path})
		svc := New(Options{Geocoder: newFakeClient(t, fake.URL), Cache: c, Scope: "geoapify@test"})
		r := udf.NewRegistry("XLB")
		if err := svc.Register(r); err != nil {
			t.Fatal(err)
		}
		if !c.Persistent() {
			t.Fatalf("cache file not in use: %+v", c.Stats())
		}
		results := make([]udf.Value, calls)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = r.Call(context.Background(), udf.Call{Fn: "XLB.GEOLOCATE", Args: []udf.Value{udf.Text(args[i])}})
			}()
		}
		close(start)
		wg.Wait()
		for i, v := range results {
			lat, lon := housePosition(houses[i])
			if v.Kind() != udf.KindArray || len(v.Rows()) != 1 || v.Rows()[0][0].Num() != lat || v.Rows()[0][1].Num() != lon {
				t.Fatalf("call %d (%q) = %v %q, want [[%v,%v]]", i, args[i], v, v.Message(), lat, lon)
			}
		}
		if err := svc.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		after := fake.Counters()
		after.JobsSubmitted -= before.JobsSubmitted
		after.AddressesCharged -= before.AddressesCharged
		total := 0
		for k, v := range after.Requests {
			total += v - before.Requests[k]
		}
		after.Requests = map[string]int{"total": total}
		t.Logf("jobs %d, addresses charged %d, requests %d, batches %d", after.JobsSubmitted, after.AddressesCharged, total, svc.Stats().Batches)
		return after
	}

	first := run(t)
	if first.JobsSubmitted > 3 {
		t.Errorf("%d batch jobs, want at most 3", first.JobsSubmitted)
	}
	if first.AddressesCharged != unique {
		t.Errorf("%d addresses charged, want %d: spelling variants must cost one lookup", first.AddressesCharged, unique)
	}

	second := run(t)
	if second.Requests["total"] != 0 || second.AddressesCharged != 0 {
		t.Errorf("reopened cache: %d upstream requests, %d addresses charged; want 0", second.Requests["total"], second.AddressesCharged)
	}
}

// Upstream failures reach the cell as #N/A with the reason, after the
// retries for transient ones, and are asked again next time.
func TestUpstreamFailuresAgainstFake(t *testing.T) {
	tests := []struct {
		name     string
		fake     geoapifytest.Options
		key      string
		msg      string
		requests int // per call: attempts
	}{
		{"server errors", geoapifytest.Options{ErrorRate: 1}, "k", `lookup of "Paris" failed after 2 attempts: search: 50`, 2},
		{"bad key", geoapifytest.Options{APIKey: "right"}, "wrong", "Geoapify refused the API key (401 unauthorized)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := geoapifytest.NewServer(tt.fake)
			defer fake.Close()
			client, err := geoapify.New(geoapify.Options{BaseURL: fake.URL, APIKey: tt.key, RateLimit: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer client.CloseIdleConnections()
			r, _ := newTestRegistry(t, Options{Geocoder: client, MaxAttempts: 2, RetryBase: time.Millisecond})
			for round := 1; round <= 2; round++ {
				got := call(r, "GEOLOCATE", text("Paris"))
				if got.Code() != udf.ErrNA || !strings.Contains(got.Message(), tt.msg) {
					t.Fatalf("round %d: got %v %q, want #N/A containing %q", round, got, got.Message(), tt.msg)
				}
				if n := fake.Counters().Requests[geoapifytest.EndpointSearch]; n != round*tt.requests {
					t.Fatalf("round %d: %d search requests, want %d (failures are not cached)", round, n, round*tt.requests)
				}
			}
		})
	}
}

// A workbook's worth of calls arriving together (the filler, a frame from
// the add-in) costs exactly ceil(unique / 1000) batch jobs.
func TestCallManyGeolocateAgainstFake(t *testing.T) {
	const calls, unique = 10_000, 2_000
	fake := geoapifytest.NewServer(geoapifytest.Options{APIKey: "test-key", Lookup: houseLookup, DoneAtOnce: true})
	defer fake.Close()
	r, _ := newTestRegistry(t, Options{Geocoder: newFakeClient(t, fake.URL), Scope: "geoapify@test"})
	cs := make([]udf.Call, calls)
	for i := range cs {
		cs[i] = udf.Call{Fn: "GEOLOCATE", Args: []udf.Value{udf.Text(spelling(i%unique, i/unique))}}
	}
	res := r.CallMany(context.Background(), cs)
	for i, v := range res {
		lat, lon := housePosition(i % unique)
		if v.Kind() != udf.KindArray || v.Rows()[0][0].Num() != lat || v.Rows()[0][1].Num() != lon {
			t.Fatalf("call %d = %v %q", i, v, v.Message())
		}
	}
	c := fake.Counters()
	if c.JobsSubmitted != 2 || c.AddressesCharged != unique {
		t.Fatalf("%d jobs (sizes %v), %d addresses charged; want 2 jobs, %d addresses", c.JobsSubmitted, c.JobSizes, c.AddressesCharged, unique)
	}
}
