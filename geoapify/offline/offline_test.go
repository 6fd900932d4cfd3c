package offline

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/xlbatch/xlbatch/geoapify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The offline geocoder is a drop-in provider.
var _ geoapify.Geocoder = (*Geocoder)(nil)

func TestResultShape(t *testing.T) {
	r, ok := Default().Lookup("New York, NY", "")
	if !ok {
		t.Fatal("no match")
	}
	want := geoapify.Result{
		City: "New York City", State: "New York", StateCode: "NY", Country: "United States",
		CountryCode: "us", ResultType: "city", PlaceID: "geonames:5128581",
		Formatted: "New York City, New York, United States", AddressLine1: "New York City",
		AddressLine2: "New York, United States",
	}
	got := r
	got.Lat, got.Lon, got.Rank, got.Datasource = 0, 0, geoapify.Rank{}, nil
	if got != want {
		t.Errorf("result\n got %+v\nwant %+v", got, want)
	}
	if d := distanceKm(r.Lat, r.Lon, 40.7128, -74.0060); d > 5 {
		t.Errorf("New York City at (%v, %v), %.0f km off", r.Lat, r.Lon, d)
	}
	// "New York" is an alternate name: GeoNames calls the city "New York City".
	if r.Rank.Confidence != 0.9 || r.Rank.MatchType != "full_match" {
		t.Errorf("rank %+v, want confidence 0.9, full_match", r.Rank)
	}
	ds := r.Datasource
	if ds == nil || ds.Sourcename != "geonames" || ds.Attribution != "GeoNames, geonames.org" ||
		ds.License != "CC BY 4.0" || ds.URL != "https://www.geonames.org/5128581" {
		t.Errorf("datasource %+v, want GeoNames credit", ds)
	}
}

func TestResultsAreIndependent(t *testing.T) {
	a, _ := Default().Lookup("Berlin", "")
	a.Datasource.Attribution = "changed by a caller"
	b, _ := Default().Lookup("Berlin", "")
	if b.Datasource.Attribution != Attribution {
		t.Errorf("a caller's change leaked into the next result: %q", b.Datasource.Attribution)
	}
}

func TestNearest(t *testing.T) {
	tests := []struct {
		name     string
		lat, lon float64
		cc       string
		maxKm    float64 // distance reported must be below this
	}{
		{"Eiffel Tower", 48.8584, 2.2945, "fr", 10},
		{"date line, Fiji", -16.5, 179.99, "fj", 200},
		{"across the date line", -18.1, -179.99, "fj", 200},
		{"far north", 78.2232, 15.6267, "sj", 50}, // Longyearbyen
		{"south pole", -90, 0, "", math.Inf(1)},
		{"mid Pacific", 0, -150, "", math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := Default().Nearest(geoapify.Point{Lat: tt.lat, Lon: tt.lon})
			if !ok {
				t.Fatal("no result")
			}
			if tt.cc != "" && r.CountryCode != tt.cc {
				t.Errorf("country %q, want %q (%s)", r.CountryCode, tt.cc, r.Formatted)
			}
			d := distanceKm(tt.lat, tt.lon, r.Lat, r.Lon)
			if math.Abs(d*1000-r.Distance) > 1 {
				t.Errorf("distance %v m, want %v", r.Distance, math.Round(d*1000))
			}
			if d > tt.maxKm {
				t.Errorf("%s is %.0f km away, want under %v", r.Formatted, d, tt.maxKm)
			}
			if r.Rank.Confidence <= 0 || r.Rank.Confidence > 1 {
				t.Errorf("confidence %v out of (0, 1]", r.Rank.Confidence)
			}
		})
	}
}

// TestNearestIsNearest checks the tree against brute force on a grid.
func TestNearestIsNearest(t *testing.T) {
	all := referenceCities(t)
	// Brute force on chord length, which orders points as great-circle
	// distance does and costs no trigonometry per pair.
	xyz := func(lat, lon float64) [3]float64 {
		φ, λ := lat*math.Pi/180, lon*math.Pi/180
		return [3]float64{math.Cos(φ) * math.Cos(λ), math.Cos(φ) * math.Sin(λ), math.Sin(φ)}
	}
	pts := make([][3]float64, len(all))
	for i, c := range all {
		pts[i] = xyz(c.lat, c.lon)
	}
	for lat := -85.0; lat <= 85; lat += 17 {
		for lon := -180.0; lon < 180; lon += 23 {
			r, _ := Default().Nearest(geoapify.Point{Lat: lat, Lon: lon})
			q, bi, bd := xyz(lat, lon), 0, math.Inf(1)
			for i, p := range pts {
				if d := (p[0]-q[0])*(p[0]-q[0]) + (p[1]-q[1])*(p[1]-q[1]) + (p[2]-q[2])*(p[2]-q[2]); d < bd {
					bi, bd = i, d
				}
			}
			best := distanceKm(lat, lon, all[bi].lat, all[bi].lon)
			if got := distanceKm(lat, lon, r.Lat, r.Lon); got > best+0.001 {
				t.Errorf("Nearest(%v, %v) = %s at %.3f km; brute force finds one at %.3f km", lat, lon, r.Formatted, got, best)
			}
		}
	}
}

func TestNearestRejectsInvalidPoints(t *testing.T) {
	for _, p := range []geoapify.Point{{Lat: 91}, {Lat: -90.5}, {Lon: 180.1}, {Lon: -181}, {Lat: math.NaN()}, {Lon: math.Inf(1)}} {
		if r, ok := Default().Nearest(p); ok {
			t.Errorf("Nearest(%v) = %s, want no result", p, r.Formatted)
		}
	}
}

func TestSearchAndReverse(t *testing.T) {
	ctx := context.Background()
	g := Default()
	out, err := g.Search(ctx, []geoapify.Query{
		{Text: "Berlin"}, {Text: "zzzzqqq"}, {Text: "Paris", Country: "us"}, {Text: "Paris", Country: "xx"}, {Text: ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5 {
		t.Fatalf("got %d outcomes, want 5", len(out))
	}
	if out[0].Err != nil || out[0].Result.CountryCode != "de" {
		t.Errorf("Berlin: %+v", out[0])
	}
	if !errors.Is(out[1].Err, geoapify.ErrNoMatch) {
		t.Errorf("gibberish: error %v, want ErrNoMatch", out[1].Err)
	}
	if out[2].Err != nil || out[2].Result.State != "Texas" {
		t.Errorf("Paris in the US: %+v", out[2])
	}
	if !errors.Is(out[3].Err, ErrBadCountry) || !strings.Contains(out[3].Err.Error(), `"xx"`) {
		t.Errorf("bad country: error %v, want ErrBadCountry naming the code", out[3].Err)
	}
	if !errors.Is(out[4].Err, geoapify.ErrNoMatch) {
		t.Errorf("empty text: error %v, want ErrNoMatch", out[4].Err)
	}

	rev, err := g.Reverse(ctx, []geoapify.Point{{Lat: 52.52, Lon: 13.405}, {Lat: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if rev[0].Err != nil || rev[0].Result.CountryCode != "de" {
		t.Errorf("reverse Berlin: %+v", rev[0])
	}
	if rev[1].Err == nil || !strings.Contains(rev[1].Err.Error(), "invalid point") {
		t.Errorf("reverse lat 100: error %v, want invalid point", rev[1].Err)
	}
}

func TestSearchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Default().Search(ctx, []geoapify.Query{{Text: "Berlin"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Search: error %v, want context.Canceled", err)
	}
	if _, err := Default().Reverse(ctx, []geoapify.Point{{}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Reverse: error %v, want context.Canceled", err)
	}
}

// TestConcurrentLookups runs lookups from many goroutines (the race
// detector watches the shared index and the scratch pool) and checks each
// answer equals the one given alone.
func TestConcurrentLookups(t *testing.T) {
	g := Default()
	want := map[string]string{}
	for _, a := range benchAddresses {
		r, _ := g.Lookup(a, "")
		want[a] = r.PlaceID
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				a := benchAddresses[(i+w)%len(benchAddresses)]
				if r, _ := g.Lookup(a, ""); r.PlaceID != want[a] {
					errs <- a + ": " + r.PlaceID + " != " + want[a]
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestZeroGeocoder: a Geocoder that did not come from Default works too.
func TestZeroGeocoder(t *testing.T) {
	var g Geocoder
	if r, ok := g.Lookup("Tokyo", ""); !ok || r.CountryCode != "jp" {
		t.Errorf("zero Geocoder: %+v, %v", r, ok)
	}
	if g.Name() != "offline" {
		t.Errorf("Name() = %q", g.Name())
	}
}

func TestLongInputIsBounded(t *testing.T) {
	long := strings.Repeat("lorem ipsum dolor ", 5000) + "Madrid"
	r, ok := Default().Lookup(long, "")
	if !ok || r.CountryCode != "es" {
		t.Errorf("long text ending in Madrid: %+v, %v", r.Formatted, ok)
	}
}
