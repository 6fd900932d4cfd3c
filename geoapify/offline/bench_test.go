package offline

import (
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify"
)

// benchAddresses mixes the shapes the fake Geoapify serves: bare names,
// qualified names, street addresses, alternate names and misses.
var benchAddresses = []string{
	"London", "Paris, France", "221B Baker St, London", "4059 Mt Lee Dr. Hollywood CA",
	"1600 Pennsylvania Avenue Washington DC", "Springfield, IL", "München",
	"Manger Square Bethlehem West Bank", "Valencia, Spain", "no such place at all",
}

func BenchmarkLookup(b *testing.B) {
	g := Default()
	g.Lookup("warm up", "")
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		g.Lookup(benchAddresses[i%len(benchAddresses)], "")
		i++
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	g := Default()
	g.Lookup("warm up", "")
	b.ReportAllocs()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			g.Lookup(benchAddresses[i%len(benchAddresses)], "")
			i++
		}
	})
}

func BenchmarkNearest(b *testing.B) {
	g := Default()
	g.Nearest(geoapify.Point{})
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		// A walk over the globe, land and sea alike.
		p := geoapify.Point{Lat: float64(i%179) - 89, Lon: float64(i*37%359) - 179}
		g.Nearest(p)
		i++
	}
}

func BenchmarkNearestNearCities(b *testing.B) {
	g := Default()
	ix, err := defaultIndex()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		// Points a few km off cities, as real reverse queries are.
		c := ix.cities[i*7919%len(ix.cities)]
		g.Nearest(geoapify.Point{Lat: c.lat + 0.03, Lon: c.lon - 0.02})
		i++
	}
}

// BenchmarkLookupLargest looks up the 500 largest cities' names: common
// words with long lists of namesakes.
func BenchmarkLookupLargest(b *testing.B) {
	ix, err := defaultIndex()
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, 500)
	for i := range names {
		names[i] = ix.data.Cities[i].Name
	}
	g := Default()
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		g.Lookup(names[i%len(names)], "")
		i++
	}
}

// BenchmarkLookupWorstCase: a kilobyte of the most ambiguous words there
// are. The cost stays bounded (the text is cut to 1 KiB and 64 words).
func BenchmarkLookupWorstCase(b *testing.B) {
	text := strings.Repeat("San Jose Springfield Washington ", 40)
	g := Default()
	g.Lookup(text, "")
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		g.Lookup(text, "")
	}
}
