package geo

import (
	"context"
	"testing"

	"github.com/xlbatch/xlbatch/udf"
)

// BenchmarkCachedGeolocate measures a GEOLOCATE call answered by the memory
// cache, through the registry as the server and the filler call it: name
// resolution, argument coercion, address normalisation, the cache look-up
// and the 1×2 result.
func BenchmarkCachedGeolocate(b *testing.B) {
	svc := New(Options{Geocoder: &stub{}})
	defer svc.Close(context.Background())
	r := udf.NewRegistry("XLB")
	if err := svc.Register(r); err != nil {
		b.Fatal(err)
	}
	c := udf.Call{Fn: "XLB.GEOLOCATE", Args: []udf.Value{udf.Text("221B Baker St, London")}}
	ctx := context.Background()
	if v := r.Call(ctx, c); v.IsError() {
		b.Fatal(v.Message())
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if v := r.Call(ctx, c); v.Kind() != udf.KindArray {
				b.Fatal(v)
			}
		}
		if cpu > 0 {
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if v := r.Call(ctx, c); v.Kind() != udf.KindArray {
					b.Fatal(v)
				}
			}
		})
	})
	if st := svc.Stats(); st.Lookups != 1 {
		b.Fatalf("%d upstream lookups, want 1", st.Lookups)
	}
}

// BenchmarkCachedGeolocateMany measures cached GEOLOCATE calls arriving
// together through CallMany, as the filler and the server's frames send
// them: the cost per call of a recalculation that needs no lookup.
func BenchmarkCachedGeolocateMany(b *testing.B) {
	svc := New(Options{Geocoder: &stub{}})
	defer svc.Close(context.Background())
	r := udf.NewRegistry("XLB")
	if err := svc.Register(r); err != nil {
		b.Fatal(err)
	}
	calls := make([]udf.Call, 10_000)
	for i := range calls {
		addr := "221B Baker St, London"
		if i%2 == 1 {
			addr = "Tour Eiffel, Paris"
		}
		calls[i] = udf.Call{Fn: "GEOLOCATE", Args: []udf.Value{udf.Text(addr)}}
	}
	ctx := context.Background()
	r.CallMany(ctx, calls)
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if v := r.CallMany(ctx, calls); v[0].Kind() != udf.KindArray {
			b.Fatal(v[0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(calls)), "ns/call")
	if cpu > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*len(calls)), "cpu-ns/call")
	}
}
