package addin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	addin "github.com/xlbatch/xlbatch/excel-addin"
	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
	"github.com/xlbatch/xlbatch/geoapify/offline"
	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/geo"
	"github.com/xlbatch/xlbatch/udf/server"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "save the task pane screenshot as docs/taskpane.png")

// fakeKey is the API key the fake Geoapify accepts; a wrong key would show as
// #N/A "unauthorized" in every cell.
const fakeKey = "browser-test-key-5f2c9a"

// TestTaskpaneInChromium loads the real task pane from the real server
// (udf/server with the GEO functions over a fake Geoapify, wired as
// `xlbatch serve` wires them) in headless Chromium, with Office's globals
// stood in, and invokes GEOLOCATE 2,000 times in one tick as Excel does when a
// column recalculates.
func TestTaskpaneInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	addrs, more := invocationAddresses(t)

	// The answers the cells should get: the same addresses called directly
	// on an engine and fake upstream of their own.
	directFake := geoapifytest.NewServer(geoapifytest.Options{APIKey: fakeKey})
	defer directFake.Close()
	direct := newEngine(t, directFake.URL)
	want := directCalls(t, direct, addrs)
	anchorReference(t, addrs, want)

	// The upstream answers slowly enough that a cancel always arrives before the answer.
	fake := geoapifytest.NewServer(geoapifytest.Options{APIKey: fakeKey, Latency: 300 * time.Millisecond})
	defer fake.Close()
	base := startServer(t, newEngine(t, fake.URL))

	ctx, console := newBrowser(t, chromium)
	standIn, err := os.ReadFile(filepath.Join("test", "office-standin.js"))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		addScriptOnNewDocument(string(standIn)),
		chromedp.EmulateViewport(360, 600, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/taskpane.html"),
		chromedp.WaitVisible(`#status.status-ready`),
	)
	if err != nil {
		t.Fatalf("task pane did not connect: %v\n%s", err, console.String())
	}

	// A column of 2,000 cells recalculates: one tick, one frame, every
	// cell answered as the direct call was, a few upstream requests.
	out := invoke(t, ctx, console, addrs, "")
	checkResults(t, out, addrs, want)
	if out.CallFrames != 1 {
		t.Errorf("the %d invocations of one tick went out in %d frames, want 1", len(addrs), out.CallFrames)
	}
	c := fake.Counters()
	total := c.TotalRequests()
	t.Logf("fake Geoapify: %d requests %v, job sizes %v", total, c.Requests, c.JobSizes)
	if total > 3 {
		t.Errorf("the fake Geoapify saw %d requests for %d invocations, want at most 3", total, len(addrs))
	}

	// The task pane shows the server's counters: wait for a stats message
	// that includes this run, then keep a screenshot of it.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](
		fmt.Sprintf(`Number(document.getElementById('calls').textContent.replace(/\D/g, '')) >= %d`, len(addrs)),
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the task pane never showed the calls: %v\n%s", err, console.String())
	}
	saveScreenshot(t, ctx)

	// A second recalculation in which Excel cancels one cell once its call
	// has left: that cell gets no result, on the page or on the wire, and
	// the cells beside it are answered as usual.
	out = invoke(t, ctx, console, more, "Reykjavik")
	checkResults(t, out, more, directCalls(t, direct, more))
	if out.CancelledID == 0 {
		t.Fatal("the cancelled call was never sent")
	}
	if out.CancelledSettled {
		t.Error("the cancelled invocation got a result")
	}
	for _, id := range out.ResultIDs {
		if id == out.CancelledID {
			t.Errorf("the server sent a result for cancelled call %d", id)
		}
	}

	if errs := console.errors(); len(errs) > 0 {
		t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// invoke runs invokeScript in the page for addrs and, when cancel is not
// empty, one more invocation for that address that Excel then cancels.
func invoke(t *testing.T, ctx context.Context, console *consoleLog, addrs []string, cancel string) invokeOutcome {
	t.Helper()
	addrJSON, _ := json.Marshal(addrs)
	cancelJSON := []byte("null")
	if cancel != "" {
		cancelJSON, _ = json.Marshal(cancel)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[invokeOutcome](fmt.Sprintf(invokeScript, addrJSON, cancelJSON), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("invoking the functions: %v\n%s", err, console.String())
	}
	return out
}

// checkResults compares what the cells got with the direct call.
func checkResults(t *testing.T, out invokeOutcome, addrs []string, want []callResult) {
	t.Helper()
	if len(out.Results) != len(addrs) {
		t.Fatalf("%d results for %d invocations", len(out.Results), len(addrs))
	}
	wrong := 0
	for i, got := range out.Results {
		if w := want[i]; !got.equal(w) {
			if wrong++; wrong <= 5 {
				t.Errorf("invocation %d (%q): got %s, the direct call gave %s", i, addrs[i], got, w)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d invocations differ from the direct call", wrong, len(addrs))
	}
}

// saveScreenshot captures the task pane; with -update-screenshot it becomes
// the README's picture.
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dest := filepath.Join(t.TempDir(), "taskpane.png")
	if *updateScreenshot {
		dest = filepath.Join("docs", "taskpane.png")
	}
	if err := os.WriteFile(dest, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// invokeScript runs in the page: it calls the associated GEOLOCATE handler
// once per address in a single synchronous loop, as Excel does for a column,
// plus, when a cancel address is given, one more invocation that it cancels
// once its frame has left. It reports every cell's outcome and the traffic.
const invokeScript = `(async () => {
  const t = window.__xlbatchTest;
  for (let i = 0; i < 200 && !t.associated.GEOLOCATE; i++) await new Promise((r) => setTimeout(r, 50));
  const geolocate = t.associated.GEOLOCATE;
  if (!geolocate) throw new Error('GEOLOCATE was never associated; got ' + Object.keys(t.associated));
  const addrs = %s;
  const cancelAddr = %s;
  const results = new Array(addrs.length);
  const framesBefore = t.wire.callFrames;
  const sentBefore = t.wire.framesSent.length;
  const done = addrs.map((a, i) =>
    geolocate(a, null, { address: 'Sheet1!B' + (i + 2), isInValuePreview: false }).then(
      (value) => { results[i] = { value }; },
      (e) => { results[i] = { code: e.code, message: e.hasMessage ? e.message : '' }; },
    ));
  const cancelled = { address: 'Sheet1!D2', isInValuePreview: false };
  let cancelledSettled = false;
  if (cancelAddr !== null) {
    geolocate(cancelAddr, 'IS', cancelled).then(() => { cancelledSettled = true; }, () => { cancelledSettled = true; });
  }
  const duringTick = t.wire.callFrames - framesBefore; // nothing may leave during the tick
  await new Promise((r) => setTimeout(r, 0));
  let cancelledID = 0;
  if (cancelAddr !== null) {
    for (const frame of t.wire.framesSent.slice(sentBefore)) {
      for (const m of frame) if (m.type === 'call' && m.args && m.args[0] === cancelAddr) cancelledID = m.id;
    }
    cancelled.onCanceled();
  }
  await Promise.all(done);
  if (cancelAddr !== null) await new Promise((r) => setTimeout(r, 1500)); // room for a stray result to arrive
  return {
    results,
    callFrames: duringTick + (t.wire.callFrames - framesBefore),
    cancelledID,
    cancelledSettled,
    resultIDs: t.wire.resultIds,
  };
})()`

// invokeOutcome is what invokeScript returns.
type invokeOutcome struct {
	Results          []cellResult `json:"results"`
	CallFrames       int          `json:"callFrames"`
	CancelledID      int64        `json:"cancelledID"`
	CancelledSettled bool         `json:"cancelledSettled"`
	ResultIDs        []int64      `json:"resultIDs"`
}

// cellResult is what one cell got: a value, or an error code and message.
type cellResult struct {
	Value   json.RawMessage `json:"value,omitempty"`
	Code    string          `json:"code,omitempty"`
	Message string          `json:"message,omitempty"`
}

func (c cellResult) String() string {
	if c.Code != "" {
		return fmt.Sprintf("%s %q", c.Code, c.Message)
	}
	return string(c.Value)
}

// equal compares what a cell got with a result of POST /v1/calls.
func (c cellResult) equal(w callResult) bool {
	if w.Error != "" {
		return c.Code == w.Error && c.Message == w.Message
	}
	if c.Code != "" {
		return false
	}
	var a, b any
	return json.Unmarshal(c.Value, &a) == nil && json.Unmarshal(w.Value, &b) == nil && fmt.Sprint(a) == fmt.Sprint(b)
}

// callResult is what a direct call gave: a value as protocol JSON, or an
// error code and its message.
type callResult struct {
	Value   json.RawMessage
	Error   string
	Message string
}

func (w callResult) String() string {
	if w.Error != "" {
		return fmt.Sprintf("%s %q", w.Error, w.Message)
	}
	return string(w.Value)
}

// invocationAddresses returns 2,000 addresses as a column of a sheet might
// hold them: 498 places the offline gazetteer knows, each written four ways
// (case and spacing vary), and two unknown places four times each; and 20
// more known places for a second recalculation.
func invocationAddresses(t *testing.T) (column, more []string) {
	t.Helper()
	const known, extra = 498, 20
	g := offline.Default()
	seen := map[string]bool{}
	var places []string
	for lat := -40.0; lat <= 62 && len(places) < known+extra; lat += 3.7 {
		for lon := -170.0; lon <= 178 && len(places) < known+extra; lon += 5.3 {
			r, ok := g.Nearest(geoapify.Point{Lat: lat, Lon: lon})
			if !ok || r.City == "" || r.Country == "" {
				continue
			}
			name := r.City + ", " + r.Country
			if seen[strings.ToLower(name)] {
				continue
			}
			if _, ok := g.Lookup(name, ""); !ok {
				continue
			}
			seen[strings.ToLower(name)] = true
			places = append(places, name)
		}
	}
	if len(places) < known+extra {
		t.Fatalf("only %d distinct places from the gazetteer", len(places))
	}
	for _, p := range places[:known] {
		column = append(column, p, strings.ToUpper(p), "  "+strings.ToLower(p)+" ", strings.ReplaceAll(p, " ", "  "))
	}
	for i := 0; i < 2; i++ {
		column = append(column, "Qzxv Nowhere Plaza 99999", "qzxv nowhere plaza 99999 ", "Ynnqq Zzyzx Lane", "YNNQQ ZZYZX LANE")
	}
	return column, places[known:]
}

// directCalls asks a registry for GEOLOCATE of every address at once, as
// the reference the cells are compared with.
func directCalls(t *testing.T, reg *udf.Registry, addrs []string) []callResult {
	t.Helper()
	calls := make([]udf.Call, len(addrs))
	for i, a := range addrs {
		calls[i] = udf.Call{Fn: "GEOLOCATE", Args: []udf.Value{udf.Text(a)}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := make([]callResult, len(addrs))
	values := 0
	for i, v := range reg.CallMany(ctx, calls) {
		if v.IsError() {
			out[i] = callResult{Error: string(v.Code()), Message: v.Message()}
			continue
		}
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = callResult{Value: b}
		values++
	}
	// The known places must mostly resolve, or the comparison proves little.
	if values < len(addrs)*9/10 {
		t.Fatalf("only %d of %d addresses resolved directly; first result %s", values, len(addrs), out[0])
	}
	return out
}

// anchorReference ties the direct calls to the data rather than to the
// engine that made them: every place the offline gazetteer knows (the fake
// Geoapify answers from it) must come back at the gazetteer's coordinates,
// and every other address as #N/A.
func anchorReference(t *testing.T, addrs []string, want []callResult) {
	t.Helper()
	g := offline.Default()
	for i, a := range addrs {
		r, ok := g.Lookup(strings.Join(strings.Fields(a), " "), "")
		if !ok {
			if want[i].Error != "#N/A" {
				t.Errorf("reference for unknown %q is %s, want #N/A", a, want[i])
			}
			continue
		}
		var got [][]float64
		if err := json.Unmarshal(want[i].Value, &got); err != nil || len(got) != 1 || len(got[0]) != 2 ||
			math.Abs(got[0][0]-r.Lat) > 1e-6 || math.Abs(got[0][1]-r.Lon) > 1e-6 {
			t.Errorf("reference for %q is %s, want [[%v, %v]] from the gazetteer", a, want[i], r.Lat, r.Lon)
		}
	}
}

// newEngine returns a registry with the GEO functions over Geoapify at
// upstream, wired as `xlbatch serve` wires them, with a memory cache.
func newEngine(t *testing.T, upstream string) *udf.Registry {
	t.Helper()
	client, err := geoapify.New(geoapify.Options{BaseURL: upstream, APIKey: fakeKey, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc := geo.New(geo.Options{Geocoder: client, Scope: "geoapify@" + upstream})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Close(ctx)
	})
	reg := udf.NewRegistry("XLB")
	if err := svc.Register(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

// startServer serves reg and the add-in's files over plain HTTP on a
// loopback port, and returns the origin the task pane is loaded from.
func startServer(t *testing.T, reg *udf.Registry) string {
	t.Helper()
	srv, err := server.New(server.Options{Registry: reg, Files: addin.Files, Version: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("server shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("server: %v", err)
		}
	})
	return fmt.Sprintf("http://localhost:%d", l.Addr().(*net.TCPAddr).Port)
}

// chromiumPath finds Debian's chromium, which CI installs.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH: install Debian's chromium (CI does) to run the browser test")
	return ""
}

// newBrowser starts headless Chromium that can reach loopback only, and
// collects its console.
func newBrowser(t *testing.T, chromium string) (context.Context, *consoleLog) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(360, 720),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// Only loopback resolves: office.js from Microsoft's CDN fails at once
		// (the stand-in replaces it) and the test never touches the internet.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	log := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			log.add(m)
		}
	}()
	return ctx, log
}

// addScriptOnNewDocument runs src in every page before the page's own scripts.
func addScriptOnNewDocument(src string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return chromedp.Void{}, err
	}
}

// consoleLog keeps the page's console messages.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (c *consoleLog) add(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

// errors returns the page's exceptions and the add-in's own error lines;
// the failed load of office.js (blocked on purpose) is not one of them.
func (c *consoleLog) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.IsException() || strings.HasPrefix(m.String(), "xlbatch:") {
			out = append(out, m.String())
		}
	}
	return out
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	b.WriteString("page console:\n")
	for _, m := range c.msgs {
		fmt.Fprintf(&b, "  %s:%d %s\n", m.URL, m.Line+1, m.String())
	}
	return b.String()
}
