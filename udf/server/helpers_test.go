package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/xlbatch/xlbatch/udf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// slowFn is a test function that answers only when released, so calls stay
// pending as long as a test needs. It records what it saw.
type slowFn struct {
	mu        sync.Mutex
	release   chan struct{} // closed: every waiting call answers
	released  bool
	running   int        // calls inside Invoke now
	maxRun    int        // most calls inside Invoke at once
	started   int        // calls that entered Invoke
	cancelled int        // calls whose context ended while they waited
	batches   [][]string // the keys of each invocation, in order
	live      map[int]*slowBatch
	nextBatch int
}

type slowBatch struct{ keys []string }

func newSlowFn() *slowFn {
	return &slowFn{release: make(chan struct{}), live: map[int]*slowBatch{}}
}

// Release lets every waiting and future call answer.
func (f *slowFn) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.released {
		f.released = true
		close(f.release)
	}
}

func (f *slowFn) invoke(ctx context.Context, calls []udf.Invocation) []udf.Value {
	keys := make([]string, len(calls))
	for i, c := range calls {
		keys[i] = c.Args[0].String()
	}
	f.mu.Lock()
	f.running += len(calls)
	f.started += len(calls)
	f.maxRun = max(f.maxRun, f.running)
	f.batches = append(f.batches, keys)
	id := f.nextBatch
	f.nextBatch++
	f.live[id] = &slowBatch{keys: keys}
	f.mu.Unlock()
	out := make([]udf.Value, len(calls))
	select {
	case <-f.release:
		for i, c := range calls {
			out[i] = udf.Text("slow:" + c.Args[0].String())
		}
	case <-ctx.Done():
		for i := range out {
			out[i] = udf.Errorf(udf.ErrNA, "cancelled: %v", ctx.Err())
		}
		f.mu.Lock()
		f.cancelled += len(calls)
		f.mu.Unlock()
	}
	f.mu.Lock()
	f.running -= len(calls)
	delete(f.live, id)
	f.mu.Unlock()
	return out
}

// liveKeys returns the keys of invocations still waiting.
func (f *slowFn) liveKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.live {
		out = append(out, b.keys...)
	}
	return out
}

func (f *slowFn) stats() (running, maxRun, started, cancelled int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running, f.maxRun, f.started, f.cancelled
}

// testRegistry has TEST.ECHO (returns its argument), TEST.DOUBLE (a number
// times two), TEST.PREVIEW (whether the call was a preview) and TEST.SLOW
// (answers when released).
func testRegistry(t testing.TB, slow *slowFn) *udf.Registry {
	t.Helper()
	reg := udf.NewRegistry("XLB")
	each := func(fn func(udf.Invocation) udf.Value) udf.Invoker {
		return func(ctx context.Context, calls []udf.Invocation) []udf.Value {
			out := make([]udf.Value, len(calls))
			for i, c := range calls {
				out[i] = fn(c)
			}
			return out
		}
	}
	anyParam := []udf.Param{{Name: "value", Description: "a value", Type: udf.TypeAny, Dim: udf.Scalar}}
	fns := []udf.Function{
		{Spec: udf.Spec{Name: "TEST.ECHO", Description: "Returns its argument.", Params: []udf.Param{
			{Name: "value", Description: "a value", Type: udf.TypeAny, Dim: udf.Matrix}},
			Result: udf.TypeAny, ResultDim: udf.Matrix},
			Invoke: each(func(c udf.Invocation) udf.Value {
				v := c.Args[0]
				if rows := v.Rows(); len(rows) == 1 && len(rows[0]) == 1 {
					return rows[0][0] // a scalar came in wrapped as a 1×1 range
				}
				return v
			})},
		{Spec: udf.Spec{Name: "TEST.DOUBLE", Description: "Doubles a number.", Params: []udf.Param{
			{Name: "x", Description: "a number", Type: udf.TypeNumber, Dim: udf.Scalar}},
			Result: udf.TypeNumber, ResultDim: udf.Scalar},
			Invoke: each(func(c udf.Invocation) udf.Value { return udf.Number(2 * c.Args[0].Num()) })},
		{Spec: udf.Spec{Name: "TEST.PREVIEW", Description: "Tells whether the call is a preview.", Params: anyParam,
			Result: udf.TypeBoolean, ResultDim: udf.Scalar},
			Invoke: each(func(c udf.Invocation) udf.Value { return udf.Bool(c.Preview) })},
	}
	if slow != nil {
		fns = append(fns, udf.Function{Spec: udf.Spec{Name: "TEST.SLOW", Description: "Answers when released.",
			Params: anyParam, Result: udf.TypeAny, ResultDim: udf.Scalar, Cancelable: true}, Invoke: slow.invoke})
	}
	for _, f := range fns {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// testFiles stands in for the add-in's files.
var testFiles = fstest.MapFS{
	"taskpane.html": {Data: []byte("<!doctype html><title>task pane</title>")},
	"functions.js":  {Data: []byte("// functions")},
	"manifest.xml":  {Data: []byte(`<OfficeApp><SourceLocation DefaultValue="https://localhost:8765/taskpane.html"/><Url DefaultValue="{{BASE_URL}}/functions.json"/></OfficeApp>`)},
}

// testServer is a running server on a loopback port.
type testServer struct {
	*Server
	addr string // host:port
	slow *slowFn
	logs *syncBuffer
}

func (ts *testServer) wsURL() string   { return "ws://" + ts.addr + "/v1/ws" }
func (ts *testServer) httpURL() string { return "http://" + ts.addr }

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer starts a server with the test registry; edit changes the
// options first. It shuts down when the test ends.
func startServer(t testing.TB, edit func(*Options)) *testServer {
	t.Helper()
	slow := newSlowFn()
	logs := &syncBuffer{}
	opts := Options{
		Registry:      testRegistry(t, slow),
		Logger:        zerolog.New(logs).Level(zerolog.DebugLevel),
		Version:       "test",
		Files:         testFiles,
		StatsInterval: 50 * time.Millisecond,
		LingerTimeout: 500 * time.Millisecond,
	}
	if edit != nil {
		edit(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() {
		slow.Release()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	// Wait until Serve has set the server up.
	for srv.URL() == "" {
		time.Sleep(time.Millisecond)
	}
	return &testServer{Server: srv, addr: l.Addr().String(), slow: slow, logs: logs}
}

// client speaks the protocol from the test's side. A reader goroutine
// feeds frames to in, because a gorilla connection whose read timed out is
// unusable, and tests need to wait for silence.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	in   chan inFrame
	done chan struct{}
}

type inFrame struct {
	mt   int
	data []byte
	err  error
}

// readAll runs until the connection fails, then reports the error.
func (c *client) readAll() {
	for {
		mt, data, err := c.ws.ReadMessage()
		select {
		case c.in <- inFrame{mt, data, err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// stop ends the reader: pings are no longer answered after it.
func (c *client) stop() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	c.ws.Close()
}

// dial connects without hello. header may set Origin or Host.
func dial(t testing.TB, url string, header http.Header) (*client, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(url, header)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: t, ws: ws, in: make(chan inFrame, 16), done: make(chan struct{})}
	t.Cleanup(c.stop)
	go c.readAll()
	return c, resp, nil
}

// connect dials and completes hello/welcome.
func connect(t testing.TB, ts *testServer) *client {
	t.Helper()
	c, _, err := dial(t, ts.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "protocol": 1, "client": "test"})
	if m := c.next(); m["type"] != "welcome" {
		t.Fatalf("after hello got %v, want welcome", m)
	}
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

var errTimeout = fmt.Errorf("no frame in time")

// callMsg builds a call message.
func callMsg(id int, fn string, args ...any) map[string]any {
	if args == nil {
		args = []any{}
	}
	return map[string]any{"type": "call", "id": id, "fn": fn, "args": args}
}

// frame reads one frame and returns its messages.
func (c *client) frame(timeout time.Duration) ([]map[string]any, error) {
	var f inFrame
	select {
	case f = <-c.in:
	case <-time.After(timeout):
		return nil, errTimeout
	}
	mt, data, err := f.mt, f.data, f.err
	if err != nil {
		c.in <- f // the connection stays failed
		return nil, err
	}
	if mt != websocket.TextMessage {
		return nil, fmt.Errorf("frame type %d, want text", mt)
	}
	var msgs []map[string]any
	if strings.HasPrefix(strings.TrimSpace(string(data)), "[") {
		err = json.Unmarshal(data, &msgs)
	} else {
		var m map[string]any
		err = json.Unmarshal(data, &m)
		msgs = []map[string]any{m}
	}
	if err != nil {
		return nil, fmt.Errorf("server sent invalid JSON %q: %v", data, err)
	}
	return msgs, nil
}

// next returns the next message that is not stats.
func (c *client) next() map[string]any {
	c.t.Helper()
	for {
		msgs, err := c.frame(5 * time.Second)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		for _, m := range msgs {
			if m["type"] != "stats" {
				if len(msgs) > 1 {
					c.t.Fatalf("expected one message, got a frame of %d", len(msgs))
				}
				return m
			}
		}
	}
}

// results reads until n results arrived and returns them by id; a second
// result for an id fails the test.
func (c *client) results(n int) map[int]map[string]any {
	c.t.Helper()
	out := map[int]map[string]any{}
	for len(out) < n {
		msgs, err := c.frame(10 * time.Second)
		if err != nil {
			c.t.Fatalf("read after %d of %d results: %v", len(out), n, err)
		}
		for _, m := range msgs {
			switch m["type"] {
			case "stats":
				continue
			case "result":
			default:
				c.t.Fatalf("unexpected message %v", m)
			}
			id := int(m["id"].(float64))
			if _, dup := out[id]; dup {
				c.t.Fatalf("second result for id %d: %v", id, m)
			}
			out[id] = m
		}
	}
	return out
}

// quiet checks that nothing but stats arrives for d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Until(deadline) > 0 {
		msgs, err := c.frame(time.Until(deadline))
		if err != nil {
			if err == errTimeout {
				return
			}
			c.t.Fatalf("read: %v", err)
		}
		for _, m := range msgs {
			if m["type"] != "stats" {
				c.t.Fatalf("expected silence, got %v", m)
			}
		}
	}
}

// closed reads until the connection ends and returns the close code and
// reason, and the messages that came before it.
func (c *client) closed() (code int, reason string, before []map[string]any) {
	c.t.Helper()
	for {
		msgs, err := c.frame(10 * time.Second)
		if err != nil {
			var ce *websocket.CloseError
			if asCloseError(err, &ce) {
				return ce.Code, ce.Text, before
			}
			c.t.Fatalf("connection ended without a close frame: %v", err)
		}
		before = append(before, msgs...)
	}
}

func asCloseError(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	if ok {
		*target = ce
	}
	return ok
}

// httpClient keeps no idle connections, which goleak would report.
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// httpGet fetches a path with optional headers (Host via "Host").
func httpGet(t testing.TB, ts *testServer, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.httpURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// waitFor polls cond until it holds or fails the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
