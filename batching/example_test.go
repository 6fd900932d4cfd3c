package batching_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/xlbatch/xlbatch/batching"
)

// Keys asked for together, duplicates included, reach the batch function
// once each, in one call.
func Example() {
	calls := 0
	upper := batching.New(func(_ context.Context, words []string) ([]batching.Result[string], error) {
		calls++
		fmt.Println("batch:", words)
		out := make([]batching.Result[string], len(words))
		for i, w := range words {
			out[i].Value = strings.ToUpper(w)
		}
		return out, nil
	}, batching.Options[string, string]{MaxBatch: 50})
	defer upper.Close(context.Background())

	var got []string
	for _, r := range upper.LoadMany(context.Background(), []string{"a", "b", "a", "c"}) {
		got = append(got, r.Value)
	}
	fmt.Println(strings.Join(got, " "))
	v, _ := upper.Load(context.Background(), "d")
	fmt.Println(v, calls)
	// Output:
	// batch: [a b c]
	// A B A C
	// batch: [d]
	// D 2
}
