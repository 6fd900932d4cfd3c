package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFullRequestsLeaveAtOnceAndTheRestAfterTheWait(t *testing.T) {
	const wait = time.Second
	// The endpoint's latency gives each id's second caller ample time to
	// join the first one's queued or in-flight lookup.
	ep := newEndpoint(200 * time.Millisecond)
	defer ep.Close()
	client := NewClient(ep.URL, wait)

	start := time.Now()
	type answer struct {
		id  string
		m   Metadata
		err error
		at  time.Duration
	}
	answers := make(chan answer, 240)
	ids := make([]string, 0, 240)
	for i := range 120 {
		id := fmt.Sprintf("id%03d", i)
		ids = append(ids, id, id) // every id asked for twice: no extra work
	}
	// entered[i] is when the i-th caller asked: on a loaded machine the last
	// callers may start long after the first ones.
	entered := make([]time.Duration, len(ids))
	for i, id := range ids {
		go func() {
			entered[i] = time.Since(start)
			m, err := client.GetMetadata(context.Background(), id)
			answers <- answer{id, m, err, time.Since(start)}
		}()
	}
	for range ids {
		a := <-answers
		if a.err != nil || a.m.ID != a.id || a.m.Title != "Item "+a.id {
			t.Errorf("GetMetadata(%q) = %+v, %v", a.id, a.m, a.err)
		}
	}
	if err := client.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// 120 distinct ids: two full requests at once, the last 20 after the
	// wait (which ids go first depends on goroutine scheduling).
	reqs := ep.seen()
	var sizes []int
	var full, partial []time.Duration
	for _, r := range reqs {
		sizes = append(sizes, r.ids)
		if r.ids == maxIDsPerRequest {
			full = append(full, r.at.Sub(start))
		} else {
			partial = append(partial, r.at.Sub(start))
		}
	}
	if len(full) != 2 || len(partial) != 1 || sizes[0]+sizes[1]+sizes[2] != 120 {
		t.Fatalf("request sizes %v, want two of 50 and one of 20", sizes)
	}
	// Measured between requests rather than from the start, so that a
	// pause of the whole process (a loaded machine) cannot fail the test.
	// The partial request's wait may have begun a little before the second
	// full request reached the endpoint (a goroutine hand-off and an HTTP
	// round trip), hence the wide lower margin; the check below, from the
	// start, is the exact one.
	// The upper bound counts from the last caller's arrival: the partial
	// request's wait began no later than that.
	gap := partial[0] - max(full[0], full[1])
	if gap < wait/2 {
		t.Errorf("the partial request left %v after the full ones, want about %v", gap, wait)
	}
	if late := partial[0] - slices.Max(entered); late > wait+time.Second {
		t.Errorf("the partial request left %v after the last call, want at most about %v", late, wait)
	}
	if partial[0] < wait-5*time.Millisecond {
		t.Errorf("the partial request left after %v, before the wait of %v", partial[0], wait)
	}
}

func TestUnknownIDIsADefiniteAnswer(t *testing.T) {
	ep := newEndpoint(0)
	defer ep.Close()
	client := NewClient(ep.URL, time.Millisecond)
	defer client.Close(context.Background())
	if _, err := client.GetMetadata(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "no such id") {
		t.Errorf("empty id: %v", err)
	}
	if n := len(ep.seen()); n != 1 {
		t.Errorf("%d requests, want 1 (not retried)", n)
	}
}

func TestRunPrintsTheRequests(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, config{ids: 100, wait: 10 * time.Second, latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "100 GetMetadata calls answered") || !strings.Contains(got, "with 2 requests") ||
		strings.Count(got, "50 ids") != 2 {
		t.Errorf("output:\n%s", got)
	}
	if err := run(context.Background(), &out, config{ids: 0, wait: time.Second}); err == nil {
		t.Error("run accepted -ids 0")
	}
}
