// Command metadata shows the batching package on the classic question:
// "get_metadata(id) is called for one id at a time, but the API takes up to
// 50 ids per request — how do I batch the calls without changing every
// caller?" It starts a fake metadata endpoint on loopback, has many
// goroutines call Client.GetMetadata with one id each, and reports how few
// requests the endpoint saw.
//
//	go run ./examples/metadata              # 1,000 ids: 20 full requests
//	go run ./examples/metadata -ids 1020    # the last 20 leave after -wait
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// config is what the flags set.
type config struct {
	ids     int           // distinct ids asked for, one goroutine each
	wait    time.Duration // longest an id waits for its request to fill up
	latency time.Duration // the fake endpoint's response time
}

func main() {
	var cfg config
	flag.IntVar(&cfg.ids, "ids", 1000, "how many distinct ids to look up, each from its own goroutine")
	flag.DurationVar(&cfg.wait, "wait", 10*time.Second, "longest an id waits for a request to fill up to 50 ids")
	flag.DurationVar(&cfg.latency, "latency", 100*time.Millisecond, "response time of the fake metadata endpoint")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "metadata:", err)
		os.Exit(1)
	}
}

// run looks up cfg.ids ids concurrently through GetMetadata and prints
// what the endpoint saw.
func run(ctx context.Context, out io.Writer, cfg config) error {
	if cfg.ids < 1 || cfg.wait <= 0 || cfg.latency < 0 {
		return fmt.Errorf("need -ids ≥ 1, -wait > 0 and -latency ≥ 0")
	}
	ep := newEndpoint(cfg.latency)
	defer ep.Close()
	client := NewClient(ep.URL, cfg.wait)

	start := time.Now()
	errs := make(chan error, cfg.ids)
	var wg sync.WaitGroup
	for i := range cfg.ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("id%04d", i)
			m, err := client.GetMetadata(ctx, id)
			if err == nil && m.Title != "Item "+id {
				err = fmt.Errorf("%s: got %+v", id, m)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := client.Close(ctx); err != nil {
		return err
	}
	close(errs)
	if err := <-errs; err != nil {
		return err
	}

	reqs := ep.seen()
	fmt.Fprintf(out, "%d GetMetadata calls answered in %v with %d requests to the endpoint:\n",
		cfg.ids, elapsed.Round(time.Millisecond), len(reqs))
	for i, r := range reqs {
		fmt.Fprintf(out, "  request %2d: %2d ids, sent after %v\n", i+1, r.ids, r.at.Sub(start).Round(time.Millisecond))
	}
	return nil
}
