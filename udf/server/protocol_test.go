package server

// Conformance tests written from the wire protocol specification: a client speaking the
// protocol checks every rule the page states.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xlbatch/xlbatch/udf"
)

func TestHelloWelcome(t *testing.T) {
	ts := startServer(t, nil)
	c, _, err := dial(t, ts.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "protocol": 1, "client": "conformance/1"})
	m := c.next()
	if m["type"] != "welcome" || m["protocol"] != 1.0 || m["server"] != "xlbatch/test" || m["maxFrameBytes"] != 1048576.0 {
		t.Fatalf("welcome = %v", m)
	}
	var fns []string
	for _, f := range m["functions"].([]any) {
		fns = append(fns, f.(string))
	}
	want := []string{"TEST.DOUBLE", "TEST.ECHO", "TEST.PREVIEW", "TEST.SLOW"}
	if !reflect.DeepEqual(fns, want) {
		t.Fatalf("functions = %v, want %v", fns, want)
	}
}

func TestSingleCallFrame(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	c.send(map[string]any{"type": "call", "id": 42, "fn": "TEST.DOUBLE", "args": []any{21}, "caller": "Sheet1!B2", "preview": false})
	m := c.next()
	want := map[string]any{"type": "result", "id": 42.0, "value": 42.0}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("result = %v, want %v", m, want)
	}
}

// TestValuesRoundTrip sends every kind of value of the mapping table in one
// array frame and expects each back unchanged.
func TestValuesRoundTrip(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	values := []any{
		1.5, -0.0, 1e300, "text", "ünïcödé ✓ \"quoted\"", true, false, nil,
		map[string]any{"error": "#N/A"}, map[string]any{"error": "#DIV/0!"},
		[]any{[]any{1.0, 2.0}, []any{3.0, 4.0}},
		[]any{[]any{"a", true, nil, map[string]any{"error": "#VALUE!"}}},
	}
	var frame []any
	for i, v := range values {
		frame = append(frame, callMsg(i+1, "TEST.ECHO", v))
	}
	c.send(frame)
	got := c.results(len(values))
	for i, v := range values {
		m := got[i+1]
		if e, ok := v.(map[string]any); ok {
			// An error value comes back as the result's error code.
			if m["error"] != e["error"] {
				t.Errorf("id %d: error %v, want %v", i+1, m["error"], e["error"])
			}
			continue
		}
		if !reflect.DeepEqual(m["value"], v) {
			t.Errorf("id %d: value %#v, want %#v", i+1, m["value"], v)
		}
	}
}

func TestNameForms(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	names := []string{"TEST.DOUBLE", "test.double", "XLB.TEST.DOUBLE", "xlb.test.double", "_xldudf_XLB_TEST_DOUBLE"}
	var frame []any
	for i, n := range names {
		frame = append(frame, callMsg(i+1, n, 2))
	}
	c.send(frame)
	got := c.results(len(names))
	for i, n := range names {
		if got[i+1]["value"] != 4.0 {
			t.Errorf("%s(2) = %v, want 4", n, got[i+1])
		}
	}
}

// TestCallErrorResults checks the result errors of the wire protocol: #NAME? for
// an unknown function, #VALUE! with a message for wrong arguments.
func TestCallErrorResults(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	cases := []struct {
		fn      string
		args    []any
		code    string
		message string // a part of the message
	}{
		{"NO.SUCH", []any{1}, "#NAME?", ""},
		{"TEST.DOUBLE", []any{}, "#VALUE!", "x"},
		{"TEST.DOUBLE", []any{1, 2}, "#VALUE!", "at most"},
		{"TEST.DOUBLE", []any{"abc"}, "#VALUE!", "x"},
		{"TEST.ECHO", []any{[]any{[]any{1}, []any{1, 2}}}, "#VALUE!", "argument 1"},
		{"TEST.ECHO", []any{map[string]any{"error": "#BOGUS"}}, "#VALUE!", "argument 1"},
		{"TEST.ECHO", []any{[]any{1, 2}}, "#VALUE!", "argument 1"},
	}
	var frame []any
	for i, tc := range cases {
		frame = append(frame, callMsg(i+1, tc.fn, tc.args...))
	}
	c.send(frame)
	got := c.results(len(cases))
	for i, tc := range cases {
		m := got[i+1]
		if m["error"] != tc.code {
			t.Errorf("%s%v: %v, want %s", tc.fn, tc.args, m, tc.code)
			continue
		}
		if _, hasValue := m["value"]; hasValue {
			t.Errorf("%s%v: error result also has a value: %v", tc.fn, tc.args, m)
		}
		if msg, _ := m["message"].(string); tc.message != "" && !strings.Contains(msg, tc.message) {
			t.Errorf("%s%v: message %q does not mention %q", tc.fn, tc.args, msg, tc.message)
		}
	}
	c.send(callMsg(100, "TEST.DOUBLE", 5))
	if m := c.next(); m["value"] != 10.0 {
		t.Fatalf("connection unusable after error results: %v", m)
	}
}

func TestPreviewFlagReachesFunction(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	p := callMsg(1, "TEST.PREVIEW", 0)
	p["preview"] = true
	c.send([]any{p, callMsg(2, "TEST.PREVIEW", 0)})
	got := c.results(2)
	if got[1]["value"] != true || got[2]["value"] != false {
		t.Fatalf("preview results %v %v, want true false", got[1], got[2])
	}
}

// TestConnectionErrors covers the close table of the wire protocol.
func TestConnectionErrors(t *testing.T) {
	hello := `{"type":"hello","protocol":1}`
	cases := []struct {
		name   string
		frames []string
		binary bool
		code   int
		reason string
	}{
		{"malformed JSON", []string{hello, `{"type":"call",`}, false, 1002, "malformed"},
		{"malformed JSON first", []string{`not json`}, false, 1002, "malformed"},
		{"unknown message type", []string{hello, `{"type":"subscribe","id":1}`}, false, 1002, "unknown message type"},
		{"no hello first", []string{`{"type":"call","id":1,"fn":"TEST.DOUBLE","args":[1]}`}, false, 1002, "hello"},
		{"bad protocol", []string{`{"type":"hello","protocol":2}`}, false, 1002, "protocol"},
		{"missing protocol", []string{`{"type":"hello"}`}, false, 1002, "protocol"},
		{"protocol as text", []string{`{"type":"hello","protocol":"1"}`}, false, 1002, "protocol"},
		{"call without id", []string{hello, `{"type":"call","fn":"TEST.DOUBLE","args":[1]}`}, false, 1002, "id"},
		{"fractional id", []string{hello, `{"type":"call","id":1.5,"fn":"TEST.DOUBLE","args":[1]}`}, false, 1002, "id"},
		{"trailing garbage", []string{hello, `{"type":"cancel","id":1} x`}, false, 1002, "malformed"},
		{"binary frame", []string{hello, `{}`}, true, 1003, "text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, nil)
			c, _, err := dial(t, ts.wsURL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range tc.frames {
				mt := websocket.TextMessage
				if tc.binary && i == len(tc.frames)-1 {
					mt = websocket.BinaryMessage
				}
				if err := c.ws.WriteMessage(mt, []byte(f)); err != nil {
					t.Fatal(err)
				}
			}
			code, reason, before := c.closed()
			if code != tc.code || !strings.Contains(reason, tc.reason) {
				t.Fatalf("closed with %d %q, want %d with %q", code, reason, tc.code, tc.reason)
			}
			last := before[len(before)-1]
			if last["type"] != "error" || last["message"] != reason {
				t.Fatalf("last message before close = %v, want an error message %q", last, reason)
			}
		})
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxFrameBytes = 4096 })
	c := connect(t, ts)
	big := fmt.Sprintf(`{"type":"call","id":1,"fn":"TEST.ECHO","args":[%q]}`, strings.Repeat("x", 5000))
	c.sendRaw(big)
	code, _, _ := c.closed()
	if code != 1009 {
		t.Fatalf("close code %d, want 1009", code)
	}
	// A frame just under the limit is fine.
	c2 := connect(t, ts)
	c2.sendRaw(fmt.Sprintf(`{"type":"call","id":1,"fn":"TEST.ECHO","args":[%q]}`, strings.Repeat("x", 3900)))
	if m := c2.next(); m["value"] != strings.Repeat("x", 3900) {
		t.Fatalf("frame under the limit: %v", m)
	}
}

func TestToken(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.Token = "s3cret-token" })
	cases := []struct {
		name  string
		hello string
		code  int // 0: welcome
	}{
		{"missing", `{"type":"hello","protocol":1}`, 1008},
		{"empty", `{"type":"hello","protocol":1,"token":""}`, 1008},
		{"wrong", `{"type":"hello","protocol":1,"token":"guess"}`, 1008},
		{"right", `{"type":"hello","protocol":1,"token":"s3cret-token"}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dial(t, ts.wsURL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			c.sendRaw(tc.hello)
			if tc.code == 0 {
				if m := c.next(); m["type"] != "welcome" {
					t.Fatalf("got %v, want welcome", m)
				}
				return
			}
			code, _, _ := c.closed()
			if code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
		})
	}
	if strings.Contains(ts.logs.String(), "s3cret-token") {
		t.Fatal("the token appears in the log")
	}
}

// TestWhoMayConnect checks the Origin and Host rules on the WebSocket
// upgrade and on plain HTTP.
func TestWhoMayConnect(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.AllowOrigins = []string{"https://addin.example.com"} })
	port := ts.addr[strings.LastIndex(ts.addr, ":")+1:]
	cases := []struct {
		name   string
		origin string
		host   string
		ok     bool
	}{
		{"no origin (script)", "", "", true},
		{"own origin localhost", "http://localhost:" + port, "", true},
		{"own origin 127.0.0.1", "http://127.0.0.1:" + port, "", true},
		{"own origin ::1", "http://[::1]:" + port, "", true},
		{"allowed origin", "https://addin.example.com", "", true},
		{"allowed origin, explicit port", "https://ADDIN.example.com:443", "", true},
		{"foreign origin", "https://evil.example.com", "", false},
		{"loopback, other port", "http://localhost:1", "", false},
		{"loopback, other scheme", "https://localhost:" + port, "", false},
		{"null origin", "null", "", false},
		{"DNS rebinding host", "", "evil.example.com:" + port, false},
		{"DNS rebinding host and origin", "http://evil.example.com:" + port, "evil.example.com:" + port, false},
		{"Host localhost", "", "localhost:" + port, true},
		{"Host ::1", "", "[::1]:" + port, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			hm := map[string]string{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
				hm["Origin"] = tc.origin
			}
			if tc.host != "" {
				h.Set("Host", tc.host)
				hm["Host"] = tc.host
			}
			c, resp, err := dial(t, ts.wsURL(), h)
			if tc.ok {
				if err != nil {
					t.Fatalf("upgrade refused: %v", err)
				}
				c.ws.Close()
			} else if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("upgrade: err %v, response %v; want 403", err, resp)
			}
			for _, path := range []string{"/healthz", "/functions.json", "/"} {
				resp, _ := httpGet(t, ts, path, hm)
				if got := resp.StatusCode == http.StatusOK; got != tc.ok {
					t.Errorf("GET %s: status %d", path, resp.StatusCode)
				}
			}
		})
	}
}

// TestCancel: a cancelled call gets no result; the others, including one
// that shares its key, do; and a key nobody else waits for leaves the work
// the function is doing.
func TestCancel(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	c.send([]any{callMsg(1, "TEST.SLOW", "a"), callMsg(2, "TEST.SLOW", "a"), callMsg(3, "TEST.SLOW", "b"), callMsg(4, "TEST.SLOW", "c")})
	waitFor(t, "4 calls in the function", func() bool { r, _, _, _ := ts.slow.stats(); return r == 4 })

	c.send(map[string]any{"type": "cancel", "id": 1})
	c.send(map[string]any{"type": "cancel", "id": 3})
	c.send(map[string]any{"type": "cancel", "id": 99}) // unknown: ignored
	// "b" was wanted only by call 3: it must leave; "a" stays for call 2.
	waitFor(t, "b to leave", func() bool {
		keys := strings.Join(ts.slow.liveKeys(), ",")
		return !strings.Contains(keys, "b") && strings.Contains(keys, "a") && strings.Contains(keys, "c")
	})
	c.quiet(100 * time.Millisecond)

	ts.slow.Release()
	got := c.results(2)
	if got[2]["value"] != "slow:a" || got[4]["value"] != "slow:c" {
		t.Fatalf("results %v", got)
	}
	c.quiet(200 * time.Millisecond) // nothing for 1 and 3

	// Cancelling every call of a group ends its context with nothing restarted.
	ts2 := startServer(t, nil)
	c2 := connect(t, ts2)
	c2.send([]any{callMsg(1, "TEST.SLOW", "x"), callMsg(2, "TEST.SLOW", "y")})
	waitFor(t, "2 calls in the function", func() bool { r, _, _, _ := ts2.slow.stats(); return r == 2 })
	c2.send([]any{map[string]any{"type": "cancel", "id": 1}, map[string]any{"type": "cancel", "id": 2}})
	waitFor(t, "the function to see the cancel", func() bool { _, _, _, n := ts2.slow.stats(); return n == 2 })
	if _, _, started, _ := ts2.slow.stats(); started != 2 {
		t.Fatalf("%d calls started, want 2 (nothing restarted)", started)
	}
	c2.quiet(100 * time.Millisecond)
	// The ids are free again.
	c2.send(callMsg(1, "TEST.DOUBLE", 1))
	if m := c2.next(); m["id"] != 1.0 || m["value"] != 2.0 {
		t.Fatalf("reused id: %v", m)
	}
}

func TestDuplicateIDIsRefused(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	c.send(callMsg(7, "TEST.SLOW", "a"))
	waitFor(t, "the call in the function", func() bool { r, _, _, _ := ts.slow.stats(); return r == 1 })
	c.send(callMsg(7, "TEST.DOUBLE", 1))
	if m := c.next(); m["type"] != "error" || !strings.Contains(m["message"].(string), "7") {
		t.Fatalf("duplicate id: %v, want an error message", m)
	}
	ts.slow.Release()
	if m := c.next(); m["id"] != 7.0 || m["value"] != "slow:a" {
		t.Fatalf("original call: %v", m)
	}
	c.quiet(100 * time.Millisecond)
}

// TestBackPressure: at the cap the server stops reading, never drops, and
// every call is answered once after the functions complete.
func TestBackPressure(t *testing.T) {
	const limit, calls = 20, 300
	ts := startServer(t, func(o *Options) { o.MaxPending = limit })
	c := connect(t, ts)
	for i := 1; i <= calls; i++ {
		c.send(callMsg(i, "TEST.SLOW", fmt.Sprint("k", i)))
	}
	waitFor(t, "the cap to fill", func() bool { r, _, _, _ := ts.slow.stats(); return r == limit })
	time.Sleep(100 * time.Millisecond)
	if r, _, started, _ := ts.slow.stats(); r != limit || started != limit {
		t.Fatalf("%d running, %d started; the server read past its cap of %d", r, started, limit)
	}
	ts.slow.Release()
	got := c.results(calls)
	for i := 1; i <= calls; i++ {
		if got[i]["value"] != fmt.Sprint("slow:k", i) {
			t.Fatalf("call %d: %v", i, got[i])
		}
	}
	if _, maxRun, _, _ := ts.slow.stats(); maxRun > limit {
		t.Fatalf("%d calls ran at once, cap %d", maxRun, limit)
	}
	c.quiet(100 * time.Millisecond)
}

func TestStatsMessages(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	c.send([]any{callMsg(1, "TEST.DOUBLE", 1), callMsg(2, "NO.SUCH")})
	c.results(2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, err := c.frame(time.Until(deadline))
		if err != nil {
			t.Fatalf("no stats message: %v", err)
		}
		m := msgs[0]
		if m["type"] != "stats" {
			continue
		}
		for _, k := range []string{"calls", "batches", "upstreamRequests", "cacheHits", "pending"} {
			if _, ok := m[k].(float64); !ok {
				t.Fatalf("stats %v lacks %s", m, k)
			}
		}
		if m["calls"].(float64) < 2 {
			continue // an earlier snapshot
		}
		break
	}
	// Nothing changes now: no more stats.
	c.quiet(300 * time.Millisecond)
}

func TestPingTimeoutCloses(t *testing.T) {
	// A pong wait of a second leaves the answering client's reader room to
	// be descheduled for a while on a loaded machine without being dropped.
	const pongWait = time.Second
	ts := startServer(t, func(o *Options) { o.PongWait = pongWait; o.PingInterval = pongWait / 4 })
	// A client that answers pings stays.
	good := connect(t, ts)
	// A client that ignores them is closed.
	bad, _, err := websocket.DefaultDialer.Dial(ts.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.SetPingHandler(func(string) error { return nil })
	bad.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","protocol":1}`))
	start := time.Now()
	for err == nil {
		bad.SetReadDeadline(time.Now().Add(10 * pongWait))
		_, _, err = bad.ReadMessage()
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server did not close a client that ignores pings")
	}
	if elapsed := time.Since(start); elapsed > 5*pongWait {
		t.Fatalf("silent client closed after %v", elapsed)
	}
	good.ws.SetWriteDeadline(time.Now().Add(time.Second))
	if err := good.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"cancel","id":1}`)); err != nil {
		t.Fatalf("answering client was closed too: %v", err)
	}
}

func TestPanickingFunctionAnswersNA(t *testing.T) {
	ts := startServer(t, func(o *Options) {
		reg := testRegistry(t, nil)
		err := reg.Register(udf.Function{
			Spec: udf.Spec{Name: "TEST.PANIC", Description: "Panics.", Result: udf.TypeAny, ResultDim: udf.Scalar},
			Invoke: func(ctx context.Context, calls []udf.Invocation) []udf.Value {
				panic("boom")
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		o.Registry = reg
	})
	c := connect(t, ts)
	c.send([]any{callMsg(1, "TEST.PANIC"), callMsg(2, "TEST.PANIC")})
	got := c.results(2)
	for id, m := range got {
		if m["error"] != "#N/A" || m["message"] == "" {
			t.Fatalf("call %d: %v, want #N/A with a message", id, m)
		}
	}
	c.send(callMsg(3, "TEST.DOUBLE", 4))
	if m := c.next(); m["value"] != 8.0 {
		t.Fatalf("server unusable after a panic: %v", m)
	}
}
