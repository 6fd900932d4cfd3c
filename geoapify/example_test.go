package geoapify_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

// A Client used as a Geocoder: many addresses in, one outcome each out. Here
// it talks to the fake server, which answers from the offline gazetteer.
func ExampleClient_Search() {
	fake := geoapifytest.NewServer(geoapifytest.Options{PendingPolls: 1})
	defer fake.Close()

	client, err := geoapify.New(geoapify.Options{
		BaseURL:      fake.URL, // omit for the real API
		APIKey:       "demo",
		PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()

	out, err := client.Search(context.Background(), []geoapify.Query{
		{Text: "Paris, France"},
		{Text: "Oslo", Country: "NO"},
		{Text: "Qzxwv Nowhere"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range out {
		switch {
		case errors.Is(o.Err, geoapify.ErrNoMatch):
			fmt.Println("no match")
		case o.Err != nil:
			fmt.Println("error:", o.Err)
		default:
			fmt.Printf("%s: %.2f, %.2f\n", o.Result.Formatted, o.Result.Lat, o.Result.Lon)
		}
	}
	// Output:
	// Paris, France: 48.85, 2.35
	// Oslo, Norway: 59.91, 10.75
	// no match
}
