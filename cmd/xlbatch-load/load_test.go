package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/xlbatch/xlbatch/geoapify/offline"
	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/geo"
	"github.com/xlbatch/xlbatch/udf/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// trivialRegistry has one function, PING.BACK, which answers at once with
// its argument: the cheapest call there is, so the figures measure the
// server and the protocol, not a function.
func trivialRegistry(t testing.TB) *udf.Registry {
	t.Helper()
	reg := udf.NewRegistry("XLB")
	err := reg.Register(udf.Function{
		Spec: udf.Spec{Name: "PING.BACK", Description: "Returns its argument.",
			Params: []udf.Param{{Name: "value", Description: "any value", Type: udf.TypeAny, Dim: udf.Scalar}},
			Result: udf.TypeAny, ResultDim: udf.Scalar},
		Invoke: func(ctx context.Context, calls []udf.Invocation) []udf.Value {
			out := make([]udf.Value, len(calls))
			for i, c := range calls {
				out[i] = c.Args[0]
			}
			return out
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// startServer serves reg over plain ws:// on a loopback port until the test ends.
func startServer(t testing.TB, reg *udf.Registry) (url string) {
	t.Helper()
	srv, err := server.New(server.Options{Registry: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "ws://" + l.Addr().String() + "/v1/ws"
}

func TestRunCountsEveryAnswerOnce(t *testing.T) {
	url := startServer(t, trivialRegistry(t))
	rep, err := Run(context.Background(), Config{URL: url, Conns: 3, Calls: 3000, FrameCalls: 100, Window: 500,
		Fn: "PING.BACK", Args: [][]any{{"a"}, {1.5}, {true}}, Warm: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answered != 9000 || rep.Lost != 0 || rep.Doubled != 0 || rep.Unexpected != 0 || rep.Errors != 0 {
		t.Fatalf("report %+v, want 9000 answered and nothing lost, doubled, unexpected or failed", rep)
	}
	if rep.P99ms <= 0 || rep.CallsPerSec <= 0 {
		t.Fatalf("report %+v has no latency or throughput", rep)
	}
}

func TestRunReportsErrorValues(t *testing.T) {
	url := startServer(t, trivialRegistry(t))
	rep, err := Run(context.Background(), Config{URL: url, Conns: 1, Calls: 10, FrameCalls: 4, Window: 8,
		Fn: "NOSUCH", Args: [][]any{{"a"}}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answered != 10 || rep.Errors != 10 {
		t.Fatalf("report %+v, want 10 answers that are all errors (#NAME?)", rep)
	}
}

// BenchmarkLoadTrivial measures the server and the protocol alone, in one
// process: 8 connections × 50,000 calls of a function that answers at once.
func BenchmarkLoadTrivial(b *testing.B) {
	benchLoad(b, startServer(b, trivialRegistry(b)), "PING.BACK", [][]any{{"Paris"}})
}

// BenchmarkLoadGeolocateOffline is the acceptance workload in one process:
// 8 connections × 50,000 GEOLOCATE calls answered from a warm cache by the
// offline gazetteer, as `xlbatch serve --provider offline` serves them.
func BenchmarkLoadGeolocateOffline(b *testing.B) {
	svc := geo.New(geo.Options{Geocoder: offline.Default(), LocalLookups: true, Logger: zerolog.Nop()})
	b.Cleanup(func() { svc.Close(context.Background()) })
	reg := udf.NewRegistry("XLB")
	if err := svc.Register(reg); err != nil {
		b.Fatal(err)
	}
	var args [][]any
	for _, c := range defaultCities {
		args = append(args, []any{c})
	}
	benchLoad(b, startServer(b, reg), "GEOLOCATE", args)
}

func benchLoad(b *testing.B, url, fn string, args [][]any) {
	warm := true
	for b.Loop() {
		rep, err := Run(context.Background(), Config{URL: url, Conns: 8, Calls: 50000, FrameCalls: 32, Window: 32,
			Fn: fn, Args: args, Warm: warm, Timeout: time.Minute})
		if err != nil || rep.Lost+rep.Doubled+rep.Unexpected+rep.Errors > 0 {
			b.Fatalf("%+v %v", rep, err)
		}
		warm = false
		b.ReportMetric(rep.CallsPerSec, "calls/s")
		b.ReportMetric(rep.P50ms, "p50-ms")
		b.ReportMetric(rep.P99ms, "p99-ms")
	}
}
