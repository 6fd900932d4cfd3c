package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

const fakeGeoapifyUsage = `Usage: xlbatch fake-geoapify [flags]

Runs a fake Geoapify geocoding API for demos and load tests. It answers
/v1/geocode/search, /v1/geocode/reverse and the batch jobs of
/v1/batch/geocode/{search,reverse} with Geoapify's statuses and bodies, from
the offline gazetteer (city-level answers with real coordinates). It can be
slow, rate-limited and faulty on purpose. Stop it with Ctrl-C; it then prints
what it saw.

Point xlbatch at it with any key:
  xlbatch fake-geoapify --listen 127.0.0.1:8089 --latency 200ms --rps 5 &
  GEOAPIFY_API_KEY=demo xlbatch call --geoapify-url http://127.0.0.1:8089 GEOCODE Paris latlon

Flags:
`

// fakeFlags are the command's settings, mapped onto geoapifytest.Options.
type fakeFlags struct {
	listen string
	opts   geoapifytest.Options
}

func (f *fakeFlags) register(fs *flag.FlagSet) {
	o := &f.opts
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8089", "address to listen on (port 0 picks a free one)")
	fs.StringVar(&o.APIKey, "key", "", "the one valid API key (apiKey query parameter or x-api-key header); empty accepts any")
	fs.DurationVar(&o.Latency, "latency", 0, "delay before every answer")
	fs.DurationVar(&o.LatencyJitter, "latency-jitter", 0, "random extra delay, uniform between 0 and this")
	fs.Float64Var(&o.RPS, "rps", 0, "requests per second before answering 429 \"Quota exceeded\" (0 = no limit; the free plan allows 5)")
	fs.IntVar(&o.Burst, "burst", 1, "requests allowed at once above --rps")
	fs.DurationVar(&o.RetryAfter, "retry-after", 0, "send this Retry-After with every 429 (Geoapify documents none)")
	fs.IntVar(&o.PendingPolls, "pending-polls", 0, "polls a batch job answers 202 (pending) before its results")
	fs.DurationVar(&o.PendingFor, "pending-for", 0, "time a batch job stays pending after its submission")
	fs.BoolVar(&o.DoneAtOnce, "done-at-once", false, "answer a batch submit with 200 and the results")
	fs.Float64Var(&o.NeverFinishRate, "never-finish-rate", 0, "share of batch jobs (0-1) that stay pending forever")
	fs.DurationVar(&o.Retention, "retention", 24*time.Hour, "how long a job's results can be read before polls get 404")
	fs.Float64Var(&o.ErrorRate, "error-rate", 0, "share of requests (0-1) answered 500, 502 or 503")
	fs.Float64Var(&o.RateLimitRate, "429-rate", 0, "share of requests (0-1) answered 429 at random")
	fs.Float64Var(&o.MalformedRate, "malformed-rate", 0, "share of requests (0-1) answered with a body cut short")
	fs.Float64Var(&o.DropRate, "drop-rate", 0, "share of requests (0-1) whose connection is closed without an answer")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed for the random faults, latencies and job ids")
}

// check reports settings the fake cannot honour.
func (f *fakeFlags) check() error {
	o := &f.opts
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{{"--error-rate", o.ErrorRate}, {"--429-rate", o.RateLimitRate}, {"--malformed-rate", o.MalformedRate},
		{"--drop-rate", o.DropRate}, {"--never-finish-rate", o.NeverFinishRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			errs = append(errs, fmt.Errorf("%s %v: want a share between 0 and 1", r.name, r.v))
		}
	}
	if sum := o.ErrorRate + o.RateLimitRate + o.MalformedRate + o.DropRate; sum > 1 {
		errs = append(errs, fmt.Errorf("the fault rates add up to %v, more than every request", sum))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--latency", o.Latency}, {"--latency-jitter", o.LatencyJitter}, {"--retry-after", o.RetryAfter},
		{"--pending-for", o.PendingFor}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must not be negative", d.name, d.v))
		}
	}
	if o.Retention <= 0 {
		errs = append(errs, fmt.Errorf("--retention %v: must be positive", o.Retention))
	}
	if !(o.RPS >= 0) {
		errs = append(errs, fmt.Errorf("--rps %v: must not be negative", o.RPS))
	}
	if o.Burst < 1 {
		errs = append(errs, fmt.Errorf("--burst %d: must be at least 1", o.Burst))
	}
	if o.PendingPolls < 0 {
		errs = append(errs, fmt.Errorf("--pending-polls %d: must not be negative", o.PendingPolls))
	}
	return errors.Join(errs...)
}

func runFakeGeoapify(ctx context.Context, m *Main, args []string) int {
	fs := flag.NewFlagSet("fake-geoapify", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var f fakeFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), fakeGeoapifyUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "xlbatch fake-geoapify: unexpected argument %q (settings are flags; see --help)\n", fs.Arg(0))
		return exitUsage
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch fake-geoapify: %v\n", err)
		return exitUsage
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch fake-geoapify: %v\n", err)
		return exitError
	}
	fake := geoapifytest.NewHandler(f.opts)
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	url := "http://" + ln.Addr().String()
	keyNote, key := "any API key is accepted", "demo"
	if f.opts.APIKey != "" {
		keyNote, key = "only the --key value is accepted", f.opts.APIKey
	}
	fmt.Fprintf(m.Stdout, "fake Geoapify listening on %s (%s)\n", url, keyNote)
	fmt.Fprintf(m.Stdout, "try: GEOAPIFY_API_KEY=%s xlbatch call --geoapify-url %s GEOCODE Paris latlon\n", key, url)
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(m.Stderr, "xlbatch fake-geoapify: warning: listening beyond this machine on %s\n", host)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	// Wake requests sleeping out their latency, then let the server finish them.
	fake.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	printFakeCounters(m, fake.Counters())
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		fmt.Fprintf(m.Stderr, "xlbatch fake-geoapify: %v\n", serveErr)
		return exitError
	}
	return exitOK
}

// printFakeCounters reports what the fake saw, for the end of a demo or a load test.
func printFakeCounters(m *Main, c geoapifytest.Counters) {
	var b strings.Builder
	b.WriteString("fake Geoapify stopped. Requests:")
	if len(c.Requests) == 0 {
		b.WriteString(" none")
	}
	eps := make([]string, 0, len(c.Requests))
	for ep := range c.Requests {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	for _, ep := range eps {
		fmt.Fprintf(&b, "\n  %-32s %d", ep, c.Requests[ep])
	}
	fmt.Fprintf(&b, "\nbatch jobs %d, polls %d, addresses charged %d (%.1f credits), 429 by rate limit %d, 401 %d",
		c.JobsSubmitted, c.Polls, c.AddressesCharged, c.Credits, c.RateLimited, c.Unauthorized)
	if len(c.Faults) > 0 {
		fmt.Fprintf(&b, ", injected faults %v", c.Faults)
	}
	b.WriteByte('\n')
	fmt.Fprint(m.Stdout, b.String())
}
