package server

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/udf"
)

// post sends a body to POST /v1/calls with optional headers.
func post(t *testing.T, ts *testServer, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", ts.httpURL()+"/v1/calls", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPostCalls(t *testing.T) {
	ts := startServer(t, nil)
	status, body := post(t, ts, `{"calls": [
		{"id": 1, "fn": "TEST.DOUBLE", "args": [21]},
		{"id": 2, "fn": "NO.SUCH", "args": []},
		{"id": 3, "fn": "xlb.test.echo", "args": [[[1, "a"], [true, null]]]},
		{"id": 4, "fn": "TEST.ECHO", "args": [[1, 2]]}
	]}`, nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var got struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	want := []map[string]any{
		{"id": 1.0, "value": 42.0},
		{"id": 2.0, "error": "#NAME?", "message": "unknown function NO.SUCH"},
		{"id": 3.0, "value": []any{[]any{1.0, "a"}, []any{true, nil}}},
	}
	if len(got.Results) != 4 || !reflect.DeepEqual(got.Results[:3], want) {
		t.Fatalf("results %v, want %v then a #VALUE!", got.Results, want)
	}
	if got.Results[3]["error"] != "#VALUE!" || got.Results[3]["id"] != 4.0 {
		t.Fatalf("ragged argument: %v", got.Results[3])
	}
}

func TestPostCallsRefusals(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.Token = "tok"; o.MaxFrameBytes = 1000 })
	auth := map[string]string{"Authorization": "Bearer tok"}
	cases := []struct {
		name   string
		body   string
		header map[string]string
		status int
	}{
		{"no token", `{"calls":[]}`, nil, http.StatusUnauthorized},
		{"wrong token", `{"calls":[]}`, map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"token header", `{"calls":[]}`, map[string]string{"X-Xlbatch-Token": "tok"}, http.StatusOK},
		{"malformed", `{"calls":[`, auth, http.StatusBadRequest},
		{"trailing garbage", `{"calls":[]} x`, auth, http.StatusBadRequest},
		{"two bodies", `{"calls":[]}{"calls":[]}`, auth, http.StatusBadRequest},
		{"trailing space", "{\"calls\":[]}\n ", auth, http.StatusOK},
		{"too big", `{"calls":[{"fn":"` + strings.Repeat("x", 2000) + `"}]}`, auth, http.StatusRequestEntityTooLarge},
		{"foreign origin", `{"calls":[]}`, map[string]string{"Authorization": "Bearer tok", "Origin": "https://evil.example"}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, ts, tc.body, tc.header)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, body, tc.status)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	ts := startServer(t, nil)
	resp, body := httpGet(t, ts, "/healthz", nil)
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s %v", resp.StatusCode, body, err)
	}
	if got["status"] != "ok" || got["version"] != "test" {
		t.Fatalf("healthz %v", got)
	}
}

func TestMetrics(t *testing.T) {
	ts := startServer(t, nil)
	c := connect(t, ts)
	c.send([]any{callMsg(1, "TEST.DOUBLE", 1), callMsg(2, "TEST.DOUBLE", 2), callMsg(3, "NO.SUCH")})
	c.results(3)
	resp, body := httpGet(t, ts, "/metrics", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, line := range []string{
		`xlbatch_server_calls_total{outcome="value",transport="ws"} 2`,
		`xlbatch_server_calls_total{outcome="error",transport="ws"} 1`,
		`xlbatch_server_connections 1`,
		`xlbatch_server_pending_calls 0`,
		`xlbatch_engine_calls_total 3`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

func TestFunctionsJSON(t *testing.T) {
	ts := startServer(t, nil)
	resp, body := httpGet(t, ts, "/functions.json", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := udf.CheckFunctionsJSON([]byte(body)); err != nil {
		t.Fatalf("served functions.json is invalid: %v", err)
	}
	want, err := ts.reg.FunctionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	if body != string(want) {
		t.Fatal("served functions.json differs from the registry's")
	}
}

func TestManifestHasServerURL(t *testing.T) {
	ts := startServer(t, nil)
	resp, body := httpGet(t, ts, "/manifest.xml", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	base := "http://localhost:" + ts.addr[strings.LastIndex(ts.addr, ":")+1:]
	if !strings.Contains(body, base+"/taskpane.html") || !strings.Contains(body, base+"/functions.json") {
		t.Fatalf("manifest does not point at %s: %s", base, body)
	}
	if strings.Contains(body, "localhost:8765") || strings.Contains(body, "{{") {
		t.Fatalf("manifest keeps template URLs: %s", body)
	}
}

func TestManifestRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8765", "ftp://x", "https://x/path"} {
		if _, err := Manifest(testFiles, u); err == nil {
			t.Errorf("Manifest(%q) accepted", u)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	ts := startServer(t, nil)
	cases := []struct {
		path, contains string
		status         int
	}{
		{"/", "task pane", 200},
		{"/taskpane.html", "task pane", 200},
		{"/functions.js", "// functions", 200},
		{"/nothing.js", "", 404},
		{"/../etc/passwd", "", 404},
	}
	for _, tc := range cases {
		resp, body := httpGet(t, ts, tc.path, nil)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %d %q", tc.path, resp.StatusCode, body)
		}
	}
}
