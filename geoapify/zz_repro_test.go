package geoapify_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xlbatch/xlbatch/batching"
)

func TestZZMinBatchRepro(t *testing.T) {
	for run := 0; run < 20; run++ {
		var mu sync.Mutex
		var sizes []int
		b := batching.New(func(ctx context.Context, keys []int) ([]batching.Result[int], error) {
			mu.Lock()
			sizes = append(sizes, len(keys))
			mu.Unlock()
			return make([]batching.Result[int], len(keys)), nil
		}, batching.Options[int, int]{MaxBatch: 1000, MinBatch: 1000, MaxWait: 2 * time.Second, MaxInFlight: 4})
		var wg sync.WaitGroup
		for g := range 100 {
			wg.Go(func() {
				ks := make([]int, 100)
				for i := range ks {
					ks[i] = (g*100 + i) % 2000
				}
				b.LoadMany(context.Background(), ks)
			})
		}
		wg.Wait()
		b.Close(context.Background())
		if len(sizes) != 2 {
			fmt.Println("run", run, "batch sizes", sizes)
		}
	}
}
