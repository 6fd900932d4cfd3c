package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// TestDroppedConnectionsLeaveNothing: 200 clients open, start calls that
// stay pending, and drop the TCP connection mid-call. Every call is
// cancelled in the function, and no goroutine of theirs survives.
func TestDroppedConnectionsLeaveNothing(t *testing.T) {
	ts := startServer(t, nil)
	before := goleak.IgnoreCurrent()
	const conns, perConn = 200, 5
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, _, err := websocket.DefaultDialer.Dial(ts.wsURL(), nil)
			if err != nil {
				errs <- err
				return
			}
			ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","protocol":1}`))
			var frame []string
			for j := 0; j < perConn; j++ {
				frame = append(frame, fmt.Sprintf(`{"type":"call","id":%d,"fn":"TEST.SLOW","args":["c%d-%d"]}`, j, i, j))
			}
			ws.WriteMessage(websocket.TextMessage, []byte("["+strings.Join(frame, ",")+"]"))
			if i%2 == 0 {
				// Half wait until their calls are running.
				ws.ReadMessage() // welcome
			}
			ws.NetConn().Close() // no closing handshake: a dropped connection
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, "every connection to close", func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return len(ts.sessions) == 0
	})
	waitFor(t, "every started call to be cancelled", func() bool {
		running, _, started, cancelled := ts.slow.stats()
		return running == 0 && started == cancelled
	})
	goleak.VerifyNone(t, before)
	if _, _, started, _ := ts.slow.stats(); started == 0 {
		t.Fatal("no call reached the function: the test did not test dropping mid-call")
	}
}

// shutdownClient collects what one connection receives until it closes.
type shutdownClient struct {
	finished chan struct{}
	results  map[int]map[string]any
	code     int
	err      error
}

// TestShutdownAnswersEveryPendingCall: 10,000 calls pending in a function
// that never answers; Shutdown fails each with #N/A and a message, then
// closes with 1001, and every result comes before the close frame.
func TestShutdownAnswersEveryPendingCall(t *testing.T) {
	testShutdown(t, false)
}

// TestShutdownLetsPendingCallsFinish: calls that complete during the grace
// period are answered with their values.
func TestShutdownLetsPendingCallsFinish(t *testing.T) {
	testShutdown(t, true)
}

func testShutdown(t *testing.T, releaseDuringGrace bool) {
	const conns, perConn = 4, 2500
	ts := startServer(t, nil)
	clients := make([]*shutdownClient, conns)
	for i := range clients {
		c, _, err := dial(t, ts.wsURL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.send(map[string]any{"type": "hello", "protocol": 1})
		c.next()
		// Several frames per connection, as a client sends over many ticks.
		for f := 0; f < 5; f++ {
			var frame []any
			for j := 0; j < perConn/5; j++ {
				id := f*perConn/5 + j
				frame = append(frame, callMsg(id, "TEST.SLOW", fmt.Sprint(i, "-", id)))
			}
			c.send(frame)
		}
		clients[i] = &shutdownClient{results: map[int]map[string]any{}, finished: make(chan struct{})}
		go func(sc *shutdownClient, c *client) {
			for {
				msgs, err := c.frame(20 * time.Second)
				if err != nil {
					if ce, ok := err.(*websocket.CloseError); ok {
						sc.code = ce.Code
					} else {
						sc.err = err
					}
					close(sc.finished)
					return
				}
				for _, m := range msgs {
					if m["type"] == "result" {
						id := int(m["id"].(float64))
						if _, dup := sc.results[id]; dup {
							sc.err = fmt.Errorf("second result for %d", id)
						}
						sc.results[id] = m
					}
				}
			}
		}(clients[i], c)
	}
	waitFor(t, "10,000 pending calls", func() bool { r, _, _, _ := ts.slow.stats(); return r == conns*perConn })

	grace := 300 * time.Millisecond
	if releaseDuringGrace {
		grace = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if releaseDuringGrace {
		time.AfterFunc(50*time.Millisecond, ts.slow.Release)
	}
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- ts.Shutdown(ctx) }()
	select {
	case err := <-shutdownErr:
		if releaseDuringGrace && err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(grace + 15*time.Second):
		t.Fatal("Shutdown did not return")
	}
	for i, sc := range clients {
		select {
		case <-sc.finished:
		case <-time.After(10 * time.Second):
			t.Fatalf("client %d: the connection did not close", i)
		}
		if sc.err != nil {
			t.Fatalf("client %d: %v", i, sc.err)
		}
		if sc.code != websocket.CloseGoingAway {
			t.Fatalf("client %d: close code %d, want 1001", i, sc.code)
		}
		if len(sc.results) != perConn {
			t.Fatalf("client %d: %d results before the close, want %d", i, len(sc.results), perConn)
		}
		for id, m := range sc.results {
			if releaseDuringGrace {
				if m["value"] != fmt.Sprint("slow:", i, "-", id) {
					t.Fatalf("client %d id %d: %v, want its value", i, id, m)
				}
				continue
			}
			msg, _ := m["message"].(string)
			if m["error"] != "#N/A" || !strings.Contains(msg, "shutting down") {
				t.Fatalf("client %d id %d: %v, want #N/A with a message", i, id, m)
			}
		}
	}
	if ws, _, err := websocket.DefaultDialer.Dial(ts.wsURL(), nil); err == nil {
		ws.Close()
		t.Fatal("a new connection was accepted after Shutdown")
	}
}
