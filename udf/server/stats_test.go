package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
)

// pipeListener is a net.Listener whose connections are in-memory pipes, so
// that a server can run inside a testing/synctest bubble, where time only
// moves when every goroutine is blocked and network sockets would stall it.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

// Addr is a loopback TCP address, as Serve requires one.
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8765} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestStatsAtMostOnceASecond: while calls keep changing the counters, stats
// arrive about once a second and never less than a second apart, even after
// the client stopped reading for a while (so the server's writer was stuck
// in a write when a stats message came due); once nothing changes, none
// follow. It runs in a synctest bubble, so the times are exact.
func TestStatsAtMostOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, err := New(Options{Registry: testRegistry(t, nil), Logger: zerolog.Nop(), Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		l := newPipeListener()
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		synctest.Wait()

		d := websocket.Dialer{NetDialContext: l.dial}
		ws, _, err := d.Dial("ws://localhost:8765/v1/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		epoch := time.Now()
		if err := ws.WriteJSON(map[string]any{"type": "hello", "protocol": 1}); err != nil {
			t.Fatal(err)
		}

		// The reader notes when each stats message arrives. It stops
		// reading from its first read after 0.85s until 1.45s, so the
		// server's writer is stuck in a write when the stats due at 1s
		// comes up.
		var statsAt []time.Duration
		results := 0
		readerDone := make(chan struct{})
		go func() {
			defer close(readerDone)
			paused := false
			for {
				if at := time.Since(epoch); !paused && at >= 850*time.Millisecond {
					paused = true
					time.Sleep(1450*time.Millisecond - at)
				}
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				var msgs []map[string]any
				if data[0] == '[' {
					json.Unmarshal(data, &msgs)
				} else {
					var m map[string]any
					json.Unmarshal(data, &m)
					msgs = append(msgs, m)
				}
				for _, m := range msgs {
					switch m["type"] {
					case "stats":
						statsAt = append(statsAt, time.Since(epoch))
					case "result":
						results++
					}
				}
			}
		}()

		// A call every 100ms for 5s keeps the counters changing.
		const calls = 50
		for i := range calls {
			if err := ws.WriteJSON(callMsg(i+1, "TEST.DOUBLE", i)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		activeUntil := time.Since(epoch)
		time.Sleep(4 * time.Second) // quiet: no stats expected after the last change's
		ws.Close()
		<-readerDone

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
		l.Close()

		t.Logf("stats at %v", statsAt)
		if results != calls {
			t.Errorf("%d results, want %d", results, calls)
		}
		for i := 1; i < len(statsAt); i++ {
			if gap := statsAt[i] - statsAt[i-1]; gap < DefaultStatsInterval {
				t.Errorf("stats at %v and %v: %v apart, want at least %v", statsAt[i-1], statsAt[i], gap, DefaultStatsInterval)
			}
		}
		// About one per second while calls ran, the first one delayed by
		// the pause.
		if len(statsAt) < 4 {
			t.Errorf("stats at %v: want one about every second during %v of calls", statsAt, activeUntil)
		}
		if n := len(statsAt); n > 0 && statsAt[n-1] > activeUntil+DefaultStatsInterval {
			t.Errorf("stats at %v: one came at %v, over a second after the last change (%v)", statsAt, statsAt[n-1], activeUntil)
		}
	})
}
