package compare

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	dataloader "github.com/graph-gophers/dataloader/v7"
	"github.com/vikstrous/dataloadgen"
	"github.com/xlbatch/xlbatch/batching"
)

// Every library gets a no-op batch function, batches of at most 1000 keys
// and its own defaults otherwise (dataloadgen and graph-gophers wait 16ms
// for more keys; xlbatch does not wait when a slot is free).
const (
	bulkKeys = 10000
	maxBatch = 1000
)

// loader is the part of a dataloader the workloads use.
type loader interface {
	load(ctx context.Context, key int) (int, error)
	loadMany(ctx context.Context, keys []int) int // returns how many results
	close()
}

// library is a contender. dataloadgen and graph-gophers get a fresh loader
// per iteration, the pattern they recommend (their caches never forget);
// xlbatch is measured both ways: one batcher for the whole run, as the
// product uses it, and fresh per iteration like the others.
type library struct {
	name   string
	new    func() loader
	shared bool // one loader for every iteration
}

var libraries = []library{
	{"xlbatch", newXlbatch, true},
	{"xlbatch-fresh", newXlbatch, false},
	{"dataloadgen", newDataloadgen, false},
	{"graph-gophers", newGraphGophers, false},
}

type xlbatchLoader struct{ b *batching.Batcher[int, int] }

func newXlbatch() loader {
	return xlbatchLoader{batching.New(func(_ context.Context, keys []int) ([]batching.Result[int], error) {
		return make([]batching.Result[int], len(keys)), nil
	}, batching.Options[int, int]{MaxBatch: maxBatch})}
}

func (l xlbatchLoader) load(ctx context.Context, k int) (int, error) { return l.b.Load(ctx, k) }
func (l xlbatchLoader) loadMany(ctx context.Context, keys []int) int {
	return len(l.b.LoadMany(ctx, keys))
}
func (l xlbatchLoader) close() { l.b.Close(context.Background()) }

type dataloadgenLoader struct{ l *dataloadgen.Loader[int, int] }

func newDataloadgen() loader {
	return dataloadgenLoader{dataloadgen.NewLoader(func(_ context.Context, keys []int) ([]int, []error) {
		return make([]int, len(keys)), nil
	}, dataloadgen.WithBatchCapacity(maxBatch))}
}

func (l dataloadgenLoader) load(ctx context.Context, k int) (int, error) { return l.l.Load(ctx, k) }
func (l dataloadgenLoader) loadMany(ctx context.Context, keys []int) int {
	vs, _ := l.l.LoadAll(ctx, keys)
	return len(vs)
}
func (dataloadgenLoader) close() {}

type graphGophersLoader struct{ l *dataloader.Loader[int, int] }

func newGraphGophers() loader {
	return graphGophersLoader{dataloader.NewBatchedLoader(func(_ context.Context, keys []int) []*dataloader.Result[int] {
		rs := make([]dataloader.Result[int], len(keys))
		out := make([]*dataloader.Result[int], len(keys))
		for i := range out {
			out[i] = &rs[i]
		}
		return out
	}, dataloader.WithBatchCapacity[int, int](maxBatch))}
}

func (l graphGophersLoader) load(ctx context.Context, k int) (int, error) { return l.l.Load(ctx, k)() }
func (l graphGophersLoader) loadMany(ctx context.Context, keys []int) int {
	vs, _ := l.l.LoadMany(ctx, keys)()
	return len(vs)
}
func (graphGophersLoader) close() {}

// measure runs op once per b.Loop and reports ns, CPU ns (the whole
// process, user and system: steadier than wall time on a shared machine)
// and allocations per key.
func measure(b *testing.B, keysPerOp int, lib library, op func(loader)) {
	b.ReportAllocs()
	var shared loader
	if lib.shared {
		shared = lib.new()
		defer shared.close()
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU()
	start := time.Now()
	for b.Loop() {
		l := shared
		if l == nil {
			l = lib.new()
		}
		op(l)
		if l != shared {
			l.close()
		}
	}
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	runtime.ReadMemStats(&m1)
	n := float64(b.N) * float64(keysPerOp)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/key")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/key")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/key")
}

// processCPU is the CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBulk10k loads 10,000 distinct keys in one call.
func BenchmarkBulk10k(b *testing.B) {
	keys := make([]int, bulkKeys)
	for i := range keys {
		keys[i] = i
	}
	ctx := context.Background()
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			measure(b, bulkKeys, lib, func(l loader) {
				if n := l.loadMany(ctx, keys); n != bulkKeys {
					b.Fatal(n)
				}
			})
		})
	}
}

// BenchmarkConcurrent10k has 10,000 goroutines load one distinct key each.
func BenchmarkConcurrent10k(b *testing.B) {
	ctx := context.Background()
	for _, lib := range libraries {
		b.Run(lib.name, func(b *testing.B) {
			measure(b, bulkKeys, lib, func(l loader) {
				var wg sync.WaitGroup
				wg.Add(bulkKeys)
				for i := range bulkKeys {
					go func() {
						defer wg.Done()
						if _, err := l.load(ctx, i); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			})
		})
	}
}

// BenchmarkLoneLoad is one Load on an idle loader: ns/op is the latency
// the library adds to a call that has nothing to be batched with.
func BenchmarkLoneLoad(b *testing.B) {
	ctx := context.Background()
	for _, lib := range libraries {
		if !lib.shared && lib.name == "xlbatch-fresh" {
			continue // the same as xlbatch here: one idle loader
		}
		b.Run(lib.name, func(b *testing.B) {
			l := lib.new()
			defer l.close()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := l.load(ctx, i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
