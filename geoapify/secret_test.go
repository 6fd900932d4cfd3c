package geoapify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

// TestKeyNeverInErrorsOrLogs drives every failure the client can meet, with
// the key in the header and in the query, at debug log level, and looks for
// the key in every error text, every wrapped error and every log line.
func TestKeyNeverInErrorsOrLogs(t *testing.T) {
	const key = "s3cret+KEY/with=chars"
	for _, inQuery := range []bool{false, true} {
		t.Run(fmt.Sprintf("KeyInQuery=%v", inQuery), func(t *testing.T) {
			var logs syncBuffer
			fake := newFake(t, geoapifytest.Options{APIKey: key, PendingPolls: 1})
			client := func(base, k string) *geoapify.Client {
				return newClient(t, fake, func(o *geoapify.Options) {
					o.BaseURL, o.APIKey, o.KeyInQuery = base, k, inQuery
					o.Logger = zerolog.New(&logs).Level(zerolog.DebugLevel)
					o.MaxPollFailures = 1
					o.RequestTimeout = 200 * time.Millisecond
				})
			}
			c := client(fake.URL, key)

			// A server that is gone: connection refused, a *url.Error naming the URL.
			gone := geoapifytest.NewServer(geoapifytest.Options{})
			goneURL := gone.URL
			gone.Close()
			// A server that never answers in time: a timeout *url.Error.
			slow := newFake(t, geoapifytest.Options{Latency: 2 * time.Second})

			ctx := context.Background()
			var errs []error
			record := func(_ any, err error) { errs = append(errs, err) }

			record(client(goneURL, key).Geocode(ctx, geoapify.SearchRequest{Text: "place 1"}))
			record(client(slow.URL, key).Geocode(ctx, geoapify.SearchRequest{Text: "place 1"}))
			record(client(slow.URL, key).BatchSearch(ctx, texts(3), geoapify.BatchOptions{}))
			record(client(fake.URL, key+"x").Geocode(ctx, geoapify.SearchRequest{Text: "place 1"}))
			for _, f := range []geoapifytest.Fault{
				{Status: 429, RetryAfter: "1"},
				{Status: 500},
				{Status: 502},
				{Malformed: true},
				{Drop: true},
				{Status: 400, Body: `{"statusCode":400,"error":"Bad Request","message":"key ` + key + ` / ` + url.QueryEscape(key) + ` refused"}`},
			} {
				for _, ep := range []string{geoapifytest.EndpointSearch, geoapifytest.EndpointBatchSearchSubmit, geoapifytest.EndpointBatchSearchPoll} {
					f.Endpoint = ep
					if ep == geoapifytest.EndpointBatchSearchPoll {
						f.RetryAfter = "" // a hint would make the client wait a second
					}
					fake.Inject(f)
					if ep == geoapifytest.EndpointBatchSearchPoll {
						// Fail the poll twice so the client gives up and reports it.
						fake.Inject(f)
						record(c.BatchSearch(ctx, texts(12), geoapify.BatchOptions{}))
					} else if ep == geoapifytest.EndpointBatchSearchSubmit {
						record(c.BatchSearch(ctx, texts(12), geoapify.BatchOptions{}))
					} else {
						record(c.Geocode(ctx, geoapify.SearchRequest{Text: "place 1"}))
					}
				}
			}
			out, err := c.Search(ctx, queries(texts(3), ""))
			record(out, err)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			record(c.BatchSearch(cctx, texts(12), geoapify.BatchOptions{}))

			checked := 0
			for i, err := range errs {
				if err == nil {
					continue
				}
				checked++
				for e := err; e != nil; e = unwrap(e) {
					for _, form := range []string{key, url.QueryEscape(key)} {
						if s := fmt.Sprintf("%v %+v %#v", e, e, e); strings.Contains(s, form) {
							t.Errorf("error %d carries the key: %s", i, s)
						}
					}
				}
			}
			if checked < 20 {
				t.Fatalf("only %d errors produced; the test lost its coverage", checked)
			}
			l := logs.String()
			if !strings.Contains(l, "geoapify request") {
				t.Fatalf("no debug lines logged: %q", l)
			}
			if strings.Contains(l, key) || strings.Contains(l, url.QueryEscape(key)) {
				t.Errorf("the log carries the key:\n%s", l)
			}
			for _, v := range []any{c, geoapify.Options{APIKey: key}, &geoapify.Options{APIKey: key}} {
				if s := fmt.Sprintf("%v %+v %#v %s", v, v, v, v); strings.Contains(s, key) {
					t.Errorf("printing %T shows the key: %s", v, s)
				}
				if b, _ := json.Marshal(v); strings.Contains(string(b), key) {
					t.Errorf("marshalling %T shows the key: %s", v, b)
				}
			}
		})
	}
}

func unwrap(err error) error {
	type single interface{ Unwrap() error }
	if u, ok := err.(single); ok {
		return u.Unwrap()
	}
	return nil
}
