package geoapify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

// checkOutcomes asserts that out answers ts in order, per placeOf.
func checkOutcomes(t *testing.T, ts []string, country string, out []geoapify.Outcome) {
	t.Helper()
	if len(out) != len(ts) {
		t.Fatalf("%d outcomes for %d addresses", len(out), len(ts))
	}
	for i, text := range ts {
		want, ok := placeOf(text, country)
		o := out[i]
		switch {
		case !ok && !errors.Is(o.Err, geoapify.ErrNoMatch):
			t.Fatalf("%q: outcome %+v, want ErrNoMatch", text, o)
		case ok && (o.Err != nil || o.Result.Lat != want.Lat || o.Result.Lon != want.Lon || o.Result.Formatted != text):
			t.Fatalf("%q: outcome %+v, want %v,%v", text, o, want.Lat, want.Lon)
		}
	}
}

func TestBatchDoneOnSubmit(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{DoneAtOnce: true})
	c := newClient(t, fake, nil)
	ts := append(texts(30), "missing street 1", "place 3", "place 3")
	out, err := c.BatchSearch(context.Background(), ts, geoapify.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, ts, "", out)
	n := fake.Counters()
	if n.JobsSubmitted != 1 || n.Polls != 0 || !slices.Equal(n.JobSizes, []int{33}) {
		t.Fatalf("counters %+v, want one job of 33 and no polls", n)
	}
}

func TestBatchPendingThenDone(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{PendingPolls: 3})
	rec := &recorder{}
	c := newClient(t, fake, withRecorder(rec))
	ts := append(texts(25), "missing 1")
	out, err := c.BatchSearch(context.Background(), ts, geoapify.BatchOptions{Lang: "fr", Filter: "countrycode:fr"})
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, ts, "fr", out)
	n := fake.Counters()
	if n.JobsSubmitted != 1 || n.Polls != 4 {
		t.Fatalf("jobs %d polls %d, want 1 job and 4 polls (3 pending, 1 done)", n.JobsSubmitted, n.Polls)
	}
	reqs := rec.requests()
	submit := reqs[0]
	if submit.Method != "POST" || submit.URL.Path != "/v1/batch/geocode/search" ||
		submit.URL.Query().Get("filter") != "countrycode:fr" || submit.URL.Query().Get("lang") != "fr" ||
		submit.Header.Get("Content-Type") != "application/json" {
		t.Errorf("submit = %s %s %v", submit.Method, submit.URL, submit.Header)
	}
	poll := reqs[1]
	if poll.Method != "GET" || poll.URL.Query().Get("id") == "" || poll.URL.Query().Get("format") != "json" {
		t.Errorf("poll = %s %s", poll.Method, poll.URL)
	}
	if st := c.Stats(); st.Jobs != 1 || st.Polls != 4 {
		t.Errorf("client stats %+v", st)
	}
}

func TestBatchChunksOver1000(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{PendingPolls: 1})
	c := newClient(t, fake, nil)
	ts := texts(1001)
	out, err := c.BatchSearch(context.Background(), ts, geoapify.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, ts, "", out)
	sizes := fake.Counters().JobSizes
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{1, 1000}) {
		t.Fatalf("job sizes %v, want [1 1000]", sizes)
	}
}

func TestFakeRefusesOver1000AndEmpty(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	cases := []struct {
		name string
		n    int
		msg  string
	}{
		{"1001 items", 1001, `"body" must contain less than or equal to 1000 items`},
		{"empty", 0, `"body" must contain at least 1 items`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, _ := json.Marshal(texts(c.n))
			req, _ := http.NewRequest("POST", fake.URL+"/v1/batch/geocode/search", bytes.NewReader(body))
			req.Header.Set("x-api-key", testKey)
			resp, err := fake.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var g struct {
				StatusCode int    `json:"statusCode"`
				Error      string `json:"error"`
				Message    string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&g); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || g.StatusCode != 400 || g.Error != "Bad Request" || g.Message != c.msg {
				t.Fatalf("got %d %+v, want 400 %q", resp.StatusCode, g, c.msg)
			}
		})
	}
	if n := fake.Counters().JobsSubmitted; n != 0 {
		t.Fatalf("%d jobs accepted", n)
	}
}

func TestBatchExpiredJobIsResubmittedOnce(t *testing.T) {
	t.Run("second job succeeds", func(t *testing.T) {
		fake := newFake(t, geoapifytest.Options{})
		var polls atomic.Int32
		rec := &recorder{before: func(r *http.Request) {
			// The first poll finds its job gone.
			if r.Method == "GET" && polls.Add(1) == 1 {
				fake.ExpireJobs()
			}
		}}
		c := newClient(t, fake, withRecorder(rec))
		ts := texts(20)
		out, err := c.BatchSearch(context.Background(), ts, geoapify.BatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkOutcomes(t, ts, "", out)
		if n := fake.Counters().JobsSubmitted; n != 2 {
			t.Fatalf("%d jobs, want 2", n)
		}
		if st := c.Stats(); st.Resubmits != 1 {
			t.Fatalf("resubmits %d, want 1", st.Resubmits)
		}
	})
	t.Run("both expire", func(t *testing.T) {
		fake := newFake(t, geoapifytest.Options{Retention: time.Millisecond})
		c := newClient(t, fake, func(o *geoapify.Options) { o.PollInterval = 20 * time.Millisecond })
		_, err := c.BatchSearch(context.Background(), texts(20), geoapify.BatchOptions{})
		if !errors.Is(err, geoapify.ErrJobExpired) || !geoapify.Retryable(err) {
			t.Fatalf("err = %v, want a retryable ErrJobExpired", err)
		}
		if n := fake.Counters().JobsSubmitted; n != 2 {
			t.Fatalf("%d jobs, want 2 (one resubmission only)", n)
		}
	})
}

func TestPollSurvivesTransientFailures(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	poll := geoapifytest.EndpointBatchSearchPoll
	fake.Inject(
		geoapifytest.Fault{Endpoint: poll, Status: 500},
		geoapifytest.Fault{Endpoint: poll, Status: 429},
		geoapifytest.Fault{Endpoint: poll, Malformed: true},
		geoapifytest.Fault{Endpoint: poll, Status: 502},
	)
	c := newClient(t, fake, nil)
	ts := texts(15)
	out, err := c.BatchSearch(context.Background(), ts, geoapify.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, ts, "", out)
	if n := fake.Counters(); n.JobsSubmitted != 1 || n.Polls != 5 {
		t.Fatalf("jobs %d polls %d, want 1 job polled 5 times", n.JobsSubmitted, n.Polls)
	}
}

func TestPollGivesUpAfterMaxFailures(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	for range 3 {
		fake.Inject(geoapifytest.Fault{Endpoint: geoapifytest.EndpointBatchSearchPoll, Status: 503})
	}
	c := newClient(t, fake, func(o *geoapify.Options) { o.MaxPollFailures = 2 })
	_, err := c.BatchSearch(context.Background(), texts(15), geoapify.BatchOptions{})
	var ae *geoapify.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !geoapify.Retryable(err) {
		t.Fatalf("err = %v, want the third 503", err)
	}
	if n := fake.Counters().Polls; n != 3 {
		t.Fatalf("%d polls, want 3", n)
	}
}

func TestPollStopsOnFatalError(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	fake.Inject(geoapifytest.Fault{Endpoint: geoapifytest.EndpointBatchSearchPoll, Status: 401})
	c := newClient(t, fake, nil)
	_, err := c.BatchSearch(context.Background(), texts(15), geoapify.BatchOptions{})
	if !errors.Is(err, geoapify.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if n := fake.Counters().Polls; n != 1 {
		t.Fatalf("%d polls, want 1", n)
	}
}

func TestCancelDuringPolling(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{NeverFinishRate: 1})
	c := newClient(t, fake, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for fake.Counters().Polls < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := c.BatchSearch(ctx, texts(20), geoapify.BatchOptions{})
	if !errors.Is(err, context.Canceled) || geoapify.Retryable(err) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

func TestJobTimeout(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{NeverFinishRate: 1})
	c := newClient(t, fake, func(o *geoapify.Options) { o.JobTimeout = 50 * time.Millisecond })
	_, err := c.BatchSearch(context.Background(), texts(20), geoapify.BatchOptions{})
	if !errors.Is(err, geoapify.ErrJobTimeout) || geoapify.Retryable(err) {
		t.Fatalf("err = %v, want ErrJobTimeout, not retryable", err)
	}
}

func TestBatchPartialFailure(t *testing.T) {
	// Two jobs; the first submit fails. The second job's addresses are
	// answered, the first job's carry its error, and no error fails the call.
	fake := newFake(t, geoapifytest.Options{})
	fake.Inject(geoapifytest.Fault{Endpoint: geoapifytest.EndpointBatchSearchSubmit, Status: 500})
	c := newClient(t, fake, func(o *geoapify.Options) { o.MaxJobSize = 10 })
	ts := texts(20)
	out, err := c.BatchSearch(context.Background(), ts, geoapify.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	failed, ok := 0, 0
	for i, o := range out {
		switch {
		case o.Err != nil && geoapify.Retryable(o.Err):
			failed++
		case o.Err == nil:
			checkOutcomes(t, ts[i:i+1], "", out[i:i+1])
			ok++
		default:
			t.Fatalf("outcome %d: %v", i, o.Err)
		}
	}
	if failed != 10 || ok != 10 {
		t.Fatalf("%d failed, %d answered; want 10 and 10", failed, ok)
	}
}

func TestBatchReverse(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{PendingPolls: 1})
	rec := &recorder{}
	c := newClient(t, fake, withRecorder(rec))
	pts := []geoapify.Point{{Lat: 51.5, Lon: -0.12}, {Lat: 0, Lon: 0}, {Lat: -33.86, Lon: 151.21}}
	out, err := c.BatchReverse(context.Background(), pts, geoapify.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Err != nil || out[0].Result.Lat != 51.5 || out[0].Result.Lon != -0.12 {
		t.Errorf("outcome 0 = %+v", out[0])
	}
	if !errors.Is(out[1].Err, geoapify.ErrNoMatch) {
		t.Errorf("outcome 1 = %+v, want ErrNoMatch", out[1])
	}
	if out[2].Err != nil || out[2].Result.Lat != -33.86 {
		t.Errorf("outcome 2 = %+v", out[2])
	}
	submit := rec.requests()[0]
	body, _ := io.ReadAll(submit.Body)
	if submit.URL.Path != "/v1/batch/geocode/reverse" || string(body) != "[[-0.12,51.5],[0,0],[151.21,-33.86]]" {
		t.Errorf("submit %s body %s, want [lon,lat] pairs", submit.URL.Path, body)
	}
}

func TestBatchRejectsBadInputBeforeSending(t *testing.T) {
	fake := newFake(t, geoapifytest.Options{})
	c := newClient(t, fake, nil)
	ctx := context.Background()
	long := string(bytes.Repeat([]byte("a"), 1025))
	for _, ts := range [][]string{{"a", " "}, {long}} {
		if _, err := c.BatchSearch(ctx, ts, geoapify.BatchOptions{}); err == nil {
			t.Errorf("BatchSearch(%.20q…) succeeded", ts)
		}
	}
	if _, err := c.BatchReverse(ctx, []geoapify.Point{{Lat: 1, Lon: 200}}, geoapify.BatchOptions{}); err == nil {
		t.Error("BatchReverse of longitude 200 succeeded")
	}
	if n := fake.Counters().TotalRequests(); n != 0 {
		t.Fatalf("%d requests sent for bad input", n)
	}
}
