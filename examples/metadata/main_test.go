package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFullRequestsLeaveAtOnceAndTheRestAfterTheWait(t *testing.T) {
	const wait = 300 * time.Millisecond
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
	for _, id := range ids {
		go func() {
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

	reqs := ep.seen()
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, r.ids)
	}
	// 120 distinct ids: two full requests at once, the last 20 after the
	// wait (which ids go first depends on goroutine scheduling).
	if len(reqs) != 3 || sizes[0] != 50 || sizes[1] != 50 || sizes[2] != 20 {
		t.Fatalf("request sizes %v, want [50 50 20]", sizes)
	}
	if early := reqs[1].at.Sub(start); early >= wait {
		t.Errorf("a full request waited %v", early)
	}
	if late := reqs[2].at.Sub(start); late < wait-5*time.Millisecond || late > wait+time.Second {
		t.Errorf("the partial request left after %v, want about %v", late, wait)
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
