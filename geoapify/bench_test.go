package geoapify_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

// BenchmarkBatchSearch1000 is one batch job of 1000 addresses through the
// client against a zero-latency fake: submit, one poll, decode, map.
func BenchmarkBatchSearch1000(b *testing.B) {
	fake := newFake(b, geoapifytest.Options{})
	c := newClient(b, fake, nil)
	ts := texts(1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := c.BatchSearch(ctx, ts, geoapify.BatchOptions{})
		if err != nil || out[999].Err != nil {
			b.Fatal(err, out[999].Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/address")
}

// BenchmarkGeocoder100k is the Geocoder's Search over 100,000 addresses, 20,000
// of them unique (a large spreadsheet), against a zero-latency fake: 20 jobs.
func BenchmarkGeocoder100k(b *testing.B) {
	fake := newFake(b, geoapifytest.Options{})
	c := newClient(b, fake, nil)
	qs := make([]geoapify.Query, 100000)
	for i := range qs {
		qs[i] = geoapify.Query{Text: fmt.Sprintf("row street %d", i%20000)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := c.Search(ctx, qs)
		if err != nil || out[len(out)-1].Err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)), "ns/address")
	if n := fake.Counters().JobsSubmitted; n != 20*b.N {
		b.Fatalf("%d jobs for %d runs, want 20 each", n, b.N)
	}
}

// BenchmarkSingleSearch is the round trip of one single-address request.
func BenchmarkSingleSearch(b *testing.B) {
	fake := newFake(b, geoapifytest.Options{})
	c := newClient(b, fake, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Geocode(ctx, geoapify.SearchRequest{Text: "place 1", Limit: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
