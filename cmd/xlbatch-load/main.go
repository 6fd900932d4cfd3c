// Command xlbatch-load drives an xlbatch server over the WebSocket protocol
// with N connections × M calls and reports calls per second, latency
// percentiles and whether any answer was lost or doubled.
//
//	xlbatch serve --no-tls &
//	xlbatch-load --url ws://127.0.0.1:8765/v1/ws --conns 8 --calls 50000 --runs 3
//
// By default each call is GEOLOCATE of one of a few well-known city names,
// so after the warm-up pass every call is answered from the cache.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses flags, runs the load and prints the report; it returns the
// exit status: 0 when every call got exactly one answer, 1 otherwise, 2 for
// bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xlbatch-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var argsJSON string
	fs.StringVar(&cfg.URL, "url", "ws://127.0.0.1:8765/v1/ws", "server WebSocket URL (wss:// for a TLS server)")
	fs.IntVar(&cfg.Conns, "conns", 8, "connections")
	fs.IntVar(&cfg.Calls, "calls", 50000, "calls per connection")
	fs.IntVar(&cfg.FrameCalls, "frame", 32, "calls per frame at most (as a client sends the calls of one tick)")
	fs.IntVar(&cfg.Window, "window", 32, "unanswered calls per connection before the client waits; latency grows with it (Little's law)")
	fs.StringVar(&cfg.Fn, "fn", "GEOLOCATE", "function to call")
	fs.StringVar(&argsJSON, "args", "", `JSON array of argument lists to cycle through, e.g. '[["Paris"],["Berlin"]]' (default: city names)`)
	argsFile := fs.String("args-file", "", "read --args from this `file`")
	fs.BoolVar(&cfg.Warm, "warm", true, "make one untimed pass over the argument lists first, to fill the cache")
	fs.StringVar(&cfg.Token, "token", "", "server token, if it was started with one")
	fs.StringVar(&cfg.Origin, "origin", "", "Origin header to send (default none, like a script)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "accept any TLS certificate (for a server's self-made certificate)")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "give up waiting for answers after this long")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	runs := fs.Int("runs", 1, "repeat the timed run this many times (the warm-up happens once)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *argsFile != "" {
		b, err := os.ReadFile(*argsFile)
		if err != nil {
			fmt.Fprintf(stderr, "xlbatch-load: %v\n", err)
			return 2
		}
		argsJSON = string(b)
	}
	if argsJSON != "" {
		if err := json.Unmarshal([]byte(argsJSON), &cfg.Args); err != nil || len(cfg.Args) == 0 {
			fmt.Fprintf(stderr, "xlbatch-load: --args must be a non-empty JSON array of argument arrays: %v\n", err)
			return 2
		}
	} else {
		for _, c := range defaultCities {
			cfg.Args = append(cfg.Args, []any{c})
		}
	}
	status := 0
	for i := 0; i < max(*runs, 1); i++ {
		rep, err := Run(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "xlbatch-load: %v\n", err)
			return 1
		}
		cfg.Warm = false
		if *jsonOut {
			b, _ := json.Marshal(rep)
			fmt.Fprintln(stdout, string(b))
		} else {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			rep.Print(stdout)
		}
		if rep.Lost > 0 || rep.Doubled > 0 || rep.Unexpected > 0 {
			status = 1
		}
	}
	return status
}

// defaultCities are names the offline gazetteer knows, so the default load
// works without an API key.
var defaultCities = []string{
	"Paris", "London", "Berlin", "Madrid", "Rome", "Vienna", "Warsaw", "Prague", "Lisbon", "Dublin",
	"Amsterdam", "Brussels", "Copenhagen", "Stockholm", "Oslo", "Helsinki", "Athens", "Budapest",
	"Bucharest", "Sofia", "Tokyo", "Osaka", "Seoul", "Beijing", "Shanghai", "Mumbai", "Delhi",
	"Bangkok", "Jakarta", "Manila", "Sydney", "Melbourne", "Auckland", "Toronto", "Montreal",
	"Chicago", "Houston", "Phoenix", "Denver", "Seattle", "Boston", "Miami", "Atlanta", "Dallas",
	"Mexico City", "Lima", "Bogota", "Santiago", "Buenos Aires", "Cairo", "Lagos", "Nairobi",
	"Johannesburg", "Casablanca", "Istanbul", "Tehran", "Riyadh", "Dubai", "Karachi", "Dhaka",
	"Hanoi", "Singapore", "Kuala Lumpur", "Taipei",
}
