package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	addin "github.com/xlbatch/xlbatch/excel-addin"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

// serveOutput collects a running command's output.
type serveOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *serveOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *serveOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// runningServe is `xlbatch serve` running in-process.
type runningServe struct {
	url            string // base URL from the banner
	stdout, stderr *serveOutput
	stop           func() int // cancels the context (as SIGTERM does) and returns the exit status
}

// startServe runs serve with env as the whole environment and waits for
// its banner.
func startServe(t *testing.T, env map[string]string, args ...string) *runningServe {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"} {
		if _, ok := env[k]; !ok {
			env[k] = t.TempDir()
		}
	}
	rs := &runningServe{stdout: &serveOutput{}, stderr: &serveOutput{}}
	m := &Main{Stdin: strings.NewReader(""), Stdout: rs.stdout, Stderr: rs.stderr, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)) }()
	var once sync.Once
	code := -1
	rs.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop")
			}
		})
		return code
	}
	t.Cleanup(func() { rs.stop() })
	re := regexp.MustCompile(`serving \d+ functions at (\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The banner is written a line at a time: wait for its last line so
		// that tests reading it see all of it.
		if out := rs.stdout.String(); strings.Contains(out, "Stop with Ctrl-C.\n") {
			if m := re.FindStringSubmatch(out); m != nil {
				rs.url = m[1]
				return rs
			}
		}
		select {
		case c := <-done:
			t.Fatalf("serve exited with %d: %s %s", c, rs.stdout, rs.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %s %s", rs.stdout, rs.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServeEndToEndOffline(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rs := startServe(t, nil, "--no-tls", "--provider", "offline")
	if !strings.HasPrefix(rs.url, "http://localhost:") {
		t.Fatalf("URL %q", rs.url)
	}
	// localhost may resolve to ::1: the server answers there too, when the
	// machine has IPv6 loopback at all.
	if probe, err := net.Listen("tcp", "[::1]:0"); err == nil {
		probe.Close()
		port := rs.url[strings.LastIndex(rs.url, ":")+1:]
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://[::1]:" + port + "/healthz")
		if err != nil {
			t.Fatalf("not listening on [::1]: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("[::1]: status %d", resp.StatusCode)
		}
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(rs.url, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteJSON(map[string]any{"type": "hello", "protocol": 1})
	var welcome struct {
		Type      string
		Functions []string
	}
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != "welcome" || !contains(welcome.Functions, "GEOLOCATE") {
		t.Fatalf("welcome %+v %v", welcome, err)
	}
	ws.WriteJSON([]any{
		map[string]any{"type": "call", "id": 1, "fn": "XLB.GEOLOCATE", "args": []any{"Paris"}},
		map[string]any{"type": "call", "id": 2, "fn": "GEOCODE", "args": []any{"Berlin", "country"}},
	})
	got := map[float64]map[string]any{}
	for len(got) < 2 {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var msgs []map[string]any
		if json.Unmarshal(data, &msgs) != nil {
			var one map[string]any
			json.Unmarshal(data, &one)
			msgs = []map[string]any{one}
		}
		for _, m := range msgs {
			if m["type"] == "result" {
				got[m["id"].(float64)] = m
			}
		}
	}
	ll, _ := got[1]["value"].([]any)
	if len(ll) != 1 {
		t.Fatalf("GEOLOCATE(Paris) = %v", got[1])
	}
	row := ll[0].([]any)
	if d := haversineKm(row[0].(float64), row[1].(float64), 48.8566, 2.3522); d > 25 {
		t.Fatalf("Paris is %.0f km off", d)
	}
	if got[2]["value"] != "Germany" {
		t.Fatalf("GEOCODE(Berlin, country) = %v", got[2])
	}

	// Stopping (SIGTERM in main) closes the connection with 1001.
	closed := make(chan int, 1)
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				code := 0
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				closed <- code
				return
			}
		}
	}()
	if code := rs.stop(); code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, rs.stderr)
	}
	if code := <-closed; code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
	ws.Close()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestServeTLS: without Office's certificate the server makes its own
// authority, says how to trust it, and serves HTTPS and WSS that a client
// trusting that authority accepts; the manifest on disk names the server.
func TestServeTLS(t *testing.T) {
	config := t.TempDir()
	rs := startServe(t, map[string]string{"XDG_CONFIG_HOME": config}, "--provider", "offline")
	out := rs.stdout.String()
	caFile := filepath.Join(config, "xlbatch", "certs", "ca.crt")
	for _, want := range []string{"certutil -user -addstore Root", "security add-trusted-cert", caFile, "manifest.xml", "Next:"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	pemCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemCA)
	tlsConf := &tls.Config{RootCAs: roots}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, DisableKeepAlives: true}}
	resp, err := client.Get(rs.url + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with the authority trusted: %v", err)
	}
	resp.Body.Close()
	d := websocket.Dialer{TLSClientConfig: tlsConf}
	ws, _, err := d.Dial("wss"+strings.TrimPrefix(rs.url, "https")+"/v1/ws", http.Header{"Origin": {rs.url}})
	if err != nil {
		t.Fatalf("WSS from the server's own origin: %v", err)
	}
	ws.Close()
	manifest, err := os.ReadFile(filepath.Join(config, "xlbatch", "manifest.xml"))
	if err != nil || !strings.Contains(string(manifest), rs.url+"/taskpane.html") {
		t.Fatalf("manifest on disk does not name %s: %v", rs.url, err)
	}
	// A second start reuses the authority and does not ask again.
	rs.stop()
	rs2 := startServe(t, map[string]string{"XDG_CONFIG_HOME": config}, "--provider", "offline")
	if strings.Contains(rs2.stdout.String(), "certutil") {
		t.Fatal("the second start asks to trust a new authority")
	}
}

func TestServeFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--listen", "0.0.0.0:0", "--no-tls"}, "--token"},
		{[]string{"serve", "--listen", "nonsense", "--no-tls"}, "host:port"},
		{[]string{"serve", "--log-level", "loud", "--no-tls"}, "--log-level"},
		{[]string{"serve", "--allow-origin", "example.com", "--no-tls"}, "origin"},
		{[]string{"serve", "extra"}, "unexpected argument"},
	}
	for _, tc := range cases {
		code, _, errOut := runMain(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestManifestCommand(t *testing.T) {
	code, out, errOut := runMain(t, nil, "manifest", "--url", "https://localhost:9999")
	if code != exitOK || !strings.Contains(out, "https://localhost:9999/taskpane.html") || strings.Contains(out, "{{") {
		t.Fatalf("exit %d, stderr %q, manifest:\n%s", code, errOut, out)
	}
	file := filepath.Join(t.TempDir(), "m.xml")
	if code, _, errOut := runMain(t, nil, "manifest", "-o", file); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), "https://localhost:8765/taskpane.html") {
		t.Fatalf("written manifest: %s", b)
	}
	if code, _, _ := runMain(t, nil, "manifest", "--url", "localhost"); code != exitUsage {
		t.Fatalf("bad URL: exit %d", code)
	}
}

// TestAPIKeyNeverLeaks runs the server against a fake Geoapify with a key and
// looks for the key in everything the server shows anyone: every HTTP
// response, every served file, WebSocket messages (results, errors, stats),
// the banner and every log line at debug level. The fake refuses some calls
// so that error messages from upstream are covered too.
func TestAPIKeyNeverLeaks(t *testing.T) {
	const key = "KEY-7f3a9c-do-not-leak"
	fake := geoapifytest.NewServer(geoapifytest.Options{APIKey: key})
	defer fake.Close()
	rs := startServe(t, map[string]string{"GEOAPIFY_API_KEY": key}, "--no-tls", "--geoapify-url", fake.URL,
		"--log-level", "debug", "--log-format", "json", "--cache", "off")
	var seen strings.Builder
	get := func(path string) {
		resp, err := http.Get(rs.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		seen.Write(b)
		for k, v := range resp.Header {
			seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}
	for _, p := range []string{"/", "/functions.json", "/manifest.xml", "/healthz", "/metrics", "/nope"} {
		get(p)
	}
	fs.WalkDir(addin.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			get("/" + p)
		}
		return nil
	})
	body := `{"calls":[{"id":1,"fn":"GEOLOCATE","args":["Paris"]},{"id":2,"fn":"GEOCODE","args":["Nowhere Xyzzy","lat"]},{"id":3,"fn":"GEOCODE","args":["Rome","bogus"]}]}`
	resp, err := http.Post(rs.url+"/v1/calls", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	seen.Write(b)
	if !strings.Contains(string(b), `"id":1,"value"`) {
		t.Fatalf("the fake did not answer through the server: %s", b)
	}

	// Upstream refusing the key: the error message reaches the cell.
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(rs.url, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteJSON(map[string]any{"type": "hello", "protocol": 1})
	for i := 0; i < 20; i++ {
		fake.Inject(geoapifytest.Fault{Status: http.StatusUnauthorized})
	}
	ws.WriteJSON([]any{
		map[string]any{"type": "call", "id": 1, "fn": "GEOLOCATE", "args": []any{"Lyon"}},
		map[string]any{"type": "call", "id": 2, "fn": "GEOCODE", "args": []any{"Oslo", "formatted"}},
	})
	results := 0
	var wsSeen strings.Builder
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for results < 2 {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d results: %v", results, err)
		}
		seen.Write(data)
		wsSeen.Write(data)
		results += strings.Count(string(data), `"type":"result"`)
	}
	time.Sleep(1200 * time.Millisecond) // a stats message
	ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, data, err := ws.ReadMessage(); err == nil {
		seen.Write(data)
	}
	rs.stop()
	seen.WriteString(rs.stdout.String())
	seen.WriteString(rs.stderr.String())

	all := seen.String()
	if strings.Contains(all, key) {
		i := strings.Index(all, key)
		t.Fatalf("the API key appears: …%s…", all[max(0, i-200):min(len(all), i+100)])
	}
	if !strings.Contains(rs.stderr.String(), `"level":"debug"`) && !strings.Contains(rs.stderr.String(), `"level":"info"`) {
		t.Fatalf("no log lines were captured: %s", rs.stderr)
	}
	if !strings.Contains(strings.ToLower(wsSeen.String()), "unauthorized") {
		t.Fatalf("the refused key did not reach the results, so its path was not exercised: %s", wsSeen.String())
	}
}
