package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Config is one load run.
type Config struct {
	URL        string
	Conns      int     // connections
	Calls      int     // calls per connection
	FrameCalls int     // calls per frame at most
	Window     int     // unanswered calls per connection at most
	Fn         string  // function name
	Args       [][]any // argument lists, cycled through
	Warm       bool    // one untimed pass over Args first
	Token      string
	Origin     string
	Insecure   bool
	Timeout    time.Duration
}

// Report is what a run measured.
type Report struct {
	Conns       int     `json:"conns"`
	Calls       int     `json:"calls"`
	Seconds     float64 `json:"seconds"`
	CallsPerSec float64 `json:"callsPerSecond"`
	P50ms       float64 `json:"p50Ms"`
	P99ms       float64 `json:"p99Ms"`
	MaxMs       float64 `json:"maxMs"`
	Answered    int     `json:"answered"`
	Errors      int     `json:"errorResults"` // results that were error values
	Lost        int     `json:"lost"`         // calls that got no result
	Doubled     int     `json:"doubled"`      // results for a call already answered
	Unexpected  int     `json:"unexpected"`   // results for ids never sent, error messages
	FramesOut   int     `json:"framesSent"`
	FramesIn    int     `json:"framesReceived"`
}

// Print writes the report for people.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%d connections × %d calls = %d calls in %.2fs\n", r.Conns, r.Calls/max(r.Conns, 1), r.Calls, r.Seconds)
	fmt.Fprintf(w, "throughput: %.0f calls/s\n", r.CallsPerSec)
	fmt.Fprintf(w, "latency:    p50 %.2f ms   p99 %.2f ms   max %.2f ms\n", r.P50ms, r.P99ms, r.MaxMs)
	fmt.Fprintf(w, "answers:    %d answered (%d error values), %d lost, %d doubled, %d unexpected\n",
		r.Answered, r.Errors, r.Lost, r.Doubled, r.Unexpected)
	fmt.Fprintf(w, "frames:     %d sent, %d received\n", r.FramesOut, r.FramesIn)
}

// Run connects, optionally warms the cache, then sends every connection's
// calls as fast as the window allows and waits for every answer.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Conns <= 0 || cfg.Calls <= 0 || cfg.FrameCalls <= 0 || cfg.Window <= 0 || len(cfg.Args) == 0 {
		return Report{}, errors.New("conns, calls, frame, window and args must be positive")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	argJSON := make([][]byte, len(cfg.Args))
	for i, a := range cfg.Args {
		b, err := json.Marshal(a)
		if err != nil {
			return Report{}, fmt.Errorf("argument list %d: %w", i+1, err)
		}
		argJSON[i] = b
	}

	if cfg.Warm {
		w, err := dial(ctx, cfg)
		if err != nil {
			return Report{}, err
		}
		wc := newLoadConn(w, cfg, argJSON, len(argJSON))
		wc.run(ctx)
		w.Close()
		if wc.answered < len(argJSON) {
			return Report{}, fmt.Errorf("warm-up: %d of %d calls answered", wc.answered, len(argJSON))
		}
	}

	conns := make([]*loadConn, cfg.Conns)
	for i := range conns {
		c, err := dial(ctx, cfg)
		if err != nil {
			for _, lc := range conns[:i] {
				lc.ws.Close()
			}
			return Report{}, err
		}
		conns[i] = newLoadConn(c, cfg, argJSON, cfg.Calls)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, lc := range conns {
		lc.epoch = start
		wg.Add(1)
		go func() { defer wg.Done(); lc.run(ctx) }()
	}
	wg.Wait()
	var end time.Time
	rep := Report{Conns: cfg.Conns, Calls: cfg.Conns * cfg.Calls}
	var lat []int64
	for _, lc := range conns {
		lc.ws.Close()
		if lc.last.After(end) {
			end = lc.last
		}
		rep.Answered += lc.answered
		rep.Errors += lc.errors
		rep.Doubled += lc.doubled
		rep.Unexpected += lc.unexpected
		rep.FramesOut += lc.framesOut
		rep.FramesIn += lc.framesIn
		lat = append(lat, lc.lat...)
	}
	rep.Lost = rep.Calls - rep.Answered
	rep.Seconds = end.Sub(start).Seconds()
	if rep.Seconds > 0 {
		rep.CallsPerSec = float64(rep.Answered) / rep.Seconds
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
		rep.P50ms, rep.P99ms, rep.MaxMs = ms(0.50), ms(0.99), ms(1)
	}
	if err := ctx.Err(); err != nil && rep.Lost > 0 {
		return rep, fmt.Errorf("%d calls unanswered after %s", rep.Lost, cfg.Timeout)
	}
	return rep, nil
}

// dial opens a connection and completes hello/welcome.
func dial(ctx context.Context, cfg Config) (*websocket.Conn, error) {
	d := *websocket.DefaultDialer
	d.ReadBufferSize, d.WriteBufferSize = 64<<10, 64<<10
	if cfg.Insecure {
		d.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	h := http.Header{}
	if cfg.Origin != "" {
		h.Set("Origin", cfg.Origin)
	}
	ws, resp, err := d.DialContext(ctx, cfg.URL, h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connect %s: %w (HTTP %s)", cfg.URL, err, resp.Status)
		}
		return nil, fmt.Errorf("connect %s: %w", cfg.URL, err)
	}
	hello := map[string]any{"type": "hello", "protocol": 1, "client": "xlbatch-load/1"}
	if cfg.Token != "" {
		hello["token"] = cfg.Token
	}
	if err := ws.WriteJSON(hello); err != nil {
		ws.Close()
		return nil, fmt.Errorf("hello: %w", err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var welcome struct{ Type, Message string }
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != "welcome" {
		ws.Close()
		return nil, fmt.Errorf("no welcome (got %q %q): %v", welcome.Type, welcome.Message, err)
	}
	ws.SetReadDeadline(time.Time{})
	return ws, nil
}

// loadConn is one connection's share of the load.
type loadConn struct {
	ws      *websocket.Conn
	cfg     Config
	argJSON [][]byte
	n       int       // calls to send
	epoch   time.Time // sent and lat are relative to it
	sent    []int64   // sent[id-1]: send time in ns since epoch
	seen    []bool
	win     *window

	// written by the reader only, read after run returns
	lat                                   []int64
	answered, errors, doubled, unexpected int
	framesIn, framesOut                   int
	last                                  time.Time
}

func newLoadConn(ws *websocket.Conn, cfg Config, argJSON [][]byte, n int) *loadConn {
	return &loadConn{ws: ws, cfg: cfg, argJSON: argJSON, n: n, epoch: time.Now(),
		sent: make([]int64, n), seen: make([]bool, n), win: newWindow(cfg.Window),
		lat: make([]int64, 0, n)}
}

// run sends n calls and reads until all are answered or ctx ends.
func (lc *loadConn) run(ctx context.Context) {
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { lc.ws.SetReadDeadline(time.Now()); lc.win.close() })
	defer stop()
	go func() {
		defer close(done)
		lc.send()
	}()
	lc.read()
	lc.win.close() // unblock the sender if the reader stopped early
	<-done
}

// send writes frames of up to FrameCalls calls, as many as the window allows.
func (lc *loadConn) send() {
	var buf []byte
	fn := strconv.Quote(lc.cfg.Fn)
	for id := 1; id <= lc.n; {
		k := lc.win.take(min(lc.cfg.FrameCalls, lc.n-id+1))
		if k == 0 {
			return
		}
		now := int64(time.Since(lc.epoch))
		buf = append(buf[:0], '[')
		for j := 0; j < k; j++ {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"type":"call","id":`...)
			buf = strconv.AppendInt(buf, int64(id), 10)
			buf = append(buf, `,"fn":`...)
			buf = append(buf, fn...)
			buf = append(buf, `,"args":`...)
			buf = append(buf, lc.argJSON[(id-1)%len(lc.argJSON)]...)
			buf = append(buf, '}')
			lc.sent[id-1] = now
			id++
		}
		buf = append(buf, ']')
		if err := lc.ws.WriteMessage(websocket.TextMessage, buf); err != nil {
			return
		}
		lc.framesOut++
	}
}

// window bounds a connection's unanswered calls; the reader gives places
// back a frame at a time, so the sender wakes once per frame, not per call.
type window struct {
	mu     sync.Mutex // protects free and closed
	free   int
	closed bool
	wake   chan struct{} // cap 1
}

func newWindow(n int) *window { return &window{free: n, wake: make(chan struct{}, 1)} }

// take waits for free places and takes up to max of them; 0 means closed.
func (w *window) take(max int) int {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return 0
		}
		if w.free > 0 {
			n := min(w.free, max)
			w.free -= n
			w.mu.Unlock()
			return n
		}
		w.mu.Unlock()
		<-w.wake
	}
}

func (w *window) give(n int) {
	w.mu.Lock()
	w.free += n
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *window) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// read consumes results until every call is answered or the connection ends.
func (lc *loadConn) read() {
	for lc.answered < lc.n {
		_, data, err := lc.ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		lc.framesIn++
		got := 0
		err = scanFrame(data, func(m scanned) {
			switch m.typ {
			case "result":
			case "stats", "welcome":
				return
			default:
				lc.unexpected++
				return
			}
			if m.id < 1 || m.id > int64(lc.n) {
				lc.unexpected++
				return
			}
			i := m.id - 1
			if lc.seen[i] {
				lc.doubled++
				return
			}
			lc.seen[i] = true
			lc.answered++
			if m.isErr {
				lc.errors++
			}
			lc.lat = append(lc.lat, int64(now.Sub(lc.epoch))-lc.sent[i])
			lc.last = now
			got++
		})
		lc.win.give(got)
		if err != nil {
			lc.unexpected++
		}
	}
}
