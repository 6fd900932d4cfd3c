package batching

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// noop is a batch function that answers every key with its zero value.
func noop(_ context.Context, keys []int) ([]Result[int], error) {
	return make([]Result[int], len(keys)), nil
}

// meter measures a benchmark's cost per key: wall time, CPU time of the
// whole process (user and system; steadier than wall time on a machine
// shared with other work) and allocations.
type meter struct {
	start time.Time
	cpu   time.Duration
	mem   runtime.MemStats
}

func startMeter() *meter {
	m := &meter{cpu: processCPU()}
	runtime.ReadMemStats(&m.mem)
	m.start = time.Now()
	return m
}

// report adds ns/key, cpu-ns/key and allocs/key for keys per iteration.
func (m *meter) report(b *testing.B, keys int) {
	wall, cpu := time.Since(m.start), processCPU()-m.cpu
	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	n := float64(b.N) * float64(keys)
	b.ReportMetric(float64(wall.Nanoseconds())/n, "ns/key")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/key")
	b.ReportMetric(float64(end.Mallocs-m.mem.Mallocs)/n, "allocs/key")
}

// processCPU is the CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoadMany10k loads 10,000 distinct keys in one LoadMany call
// through a long-lived batcher (MaxBatch 1000, no-op batch function).
func BenchmarkLoadMany10k(b *testing.B) {
	const n = 10000
	bt := New(noop, Options[int, int]{MaxBatch: 1000})
	defer bt.Close(context.Background())
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i
	}
	ctx := context.Background()
	bt.LoadMany(ctx, keys) // grow the pending map once
	b.ReportAllocs()
	b.ResetTimer()
	m := startMeter()
	for b.Loop() {
		if res := bt.LoadMany(ctx, keys); len(res) != n {
			b.Fatal(len(res))
		}
	}
	m.report(b, n)
}

// BenchmarkLoadConcurrent10k starts 10,000 goroutines that each Load one
// distinct key, and waits for all of them.
func BenchmarkLoadConcurrent10k(b *testing.B) {
	const n = 10000
	bt := New(noop, Options[int, int]{MaxBatch: 1000})
	defer bt.Close(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	m := startMeter()
	for b.Loop() {
		var wg sync.WaitGroup
		wg.Add(n)
		for i := range n {
			go func() {
				defer wg.Done()
				if _, err := bt.Load(ctx, i); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	m.report(b, n)
	b.ReportMetric(bt.Stats().KeysPerBatch(), "keys/batch")
}

// BenchmarkLoneLoad is the latency a batcher adds to a single Load on an
// idle batcher: ns/op is the whole round trip through a no-op batch.
func BenchmarkLoneLoad(b *testing.B) {
	bt := New(noop, Options[int, int]{})
	defer bt.Close(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	m := startMeter()
	for i := 0; b.Loop(); i++ {
		if _, err := bt.Load(ctx, i); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b, 1)
}

// BenchmarkCachedLoad is a Load answered by the cache hook.
func BenchmarkCachedLoad(b *testing.B) {
	bt := New(noop, Options[int, int]{Cache: counterCache{}})
	defer bt.Close(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if v, _ := bt.Load(ctx, i); v != i {
				b.Fatal(v)
			}
		}
	})
}
