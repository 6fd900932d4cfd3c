package geoapifytest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "fake-key"

// town answers every address not starting with "nowhere" with a place whose
// latitude is the address's length.
func town(text, country string) (geoapify.Result, bool) {
	if strings.HasPrefix(text, "nowhere") {
		return geoapify.Result{}, false
	}
	return geoapify.Result{Lat: float64(len(text)), Lon: 1.5, Formatted: text, CountryCode: country, ResultType: "city"}, true
}

func start(t *testing.T, o geoapifytest.Options) *geoapifytest.Server {
	t.Helper()
	if o.APIKey == "" {
		o.APIKey = key
	}
	if o.Lookup == nil {
		o.Lookup = town
	}
	if o.Nearest == nil {
		o.Nearest = func(p geoapify.Point) (geoapify.Result, bool) {
			return geoapify.Result{Lat: p.Lat + 0.01, Lon: p.Lon, Formatted: "near"}, true
		}
	}
	s := geoapifytest.NewServer(o)
	t.Cleanup(func() {
		s.Client().CloseIdleConnections()
		s.Close()
	})
	return s
}

// call sends a request and returns the status, the Retry-After header and the body.
func call(t *testing.T, s *geoapifytest.Server, method, path string, header http.Header, body string) (int, string, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

var withKey = http.Header{"X-Api-Key": {key}}

func TestDocumentedErrorBodies(t *testing.T) {
	s := start(t, geoapifytest.Options{})
	cases := []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		want               string
	}{
		{"no key", "GET", "/v1/geocode/search?text=a&format=json", nil, "", 401,
			`{"statusCode":401,"error":"Unauthorized","message":"Invalid apiKey"}`},
		{"wrong key in query", "GET", "/v1/geocode/search?text=a&apiKey=nope", nil, "", 401,
			`{"statusCode":401,"error":"Unauthorized","message":"Invalid apiKey"}`},
		{"wrong key in header", "GET", "/v1/geocode/search?text=a", http.Header{"X-Api-Key": {"nope"}}, "", 401,
			`{"statusCode":401,"error":"Unauthorized","message":"Invalid apiKey"}`},
		{"limit over 100", "GET", "/v1/geocode/search?text=a&limit=101", withKey, "", 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"limit\" must be less than or equal to 100"}`},
		{"no address", "GET", "/v1/geocode/search?format=json", withKey, "", 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"value\" must contain at least one of [text, name, housenumber, street, postcode, city, state, country]"}`},
		{"reverse without lat", "GET", "/v1/geocode/reverse?lon=2", withKey, "", 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"lat\" is required"}`},
		{"poll without id", "GET", "/v1/batch/geocode/search", withKey, "", 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"id\" is required"}`},
		{"poll unknown id", "GET", "/v1/batch/geocode/search?id=0123456789abcdef0123456789abcdef", withKey, "", 404,
			`{"statusCode":404,"error":"Not Found"}`},
		{"submit empty", "POST", "/v1/batch/geocode/search", withKey, `[]`, 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"body\" must contain at least 1 items"}`},
		{"submit 1001", "POST", "/v1/batch/geocode/search", withKey, jsonTexts(1001), 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"body\" must contain less than or equal to 1000 items"}`},
		{"submit bad JSON", "POST", "/v1/batch/geocode/search", withKey, `["a",`, 400,
			`{"statusCode":400,"error":"Bad Request","message":"Invalid request payload JSON format"}`},
		{"submit object", "POST", "/v1/batch/geocode/search", withKey, `{"a":1}`, 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"body\" must be an array"}`},
		{"submit number", "POST", "/v1/batch/geocode/search", withKey, `["a",2]`, 400,
			`{"statusCode":400,"error":"Bad Request","message":"\"[1]\" must be a string"}`},
		{"unknown path", "GET", "/v2/nothing", withKey, "", 404,
			`{"statusCode":404,"error":"Not Found","message":"Not Found"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := call(t, s, c.method, c.path, c.header, c.body)
			if status != c.status || body != c.want {
				t.Fatalf("got %d %s\nwant %d %s", status, body, c.status, c.want)
			}
		})
	}
	n := s.Counters()
	if n.Unauthorized != 3 || n.JobsSubmitted != 0 || n.AddressesCharged != 0 {
		t.Fatalf("counters %+v", n)
	}
	// Every case above is one request, refused or not.
	if got := n.TotalRequests(); got != len(cases) {
		t.Fatalf("TotalRequests() = %d after %d requests (by endpoint %v)", got, len(cases), n.Requests)
	}
}

func jsonTexts(n int) string {
	ts := make([]string, n)
	for i := range ts {
		ts[i] = fmt.Sprintf("street %d", i)
	}
	b, _ := json.Marshal(ts)
	return string(b)
}

var jobID = regexp.MustCompile(`^[0-9a-f]{32}$`)

type pending struct {
	ID, Status, URL string
}

func submit(t *testing.T, s *geoapifytest.Server, path string, header http.Header, body string) pending {
	t.Helper()
	status, _, b := call(t, s, "POST", path, header, body)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, b)
	}
	var p pending
	if err := json.Unmarshal([]byte(b), &p); err != nil || !jobID.MatchString(p.ID) || p.Status != "pending" {
		t.Fatalf("pending body %s (%v)", b, err)
	}
	return p
}

func TestPendingBodyURL(t *testing.T) {
	s := start(t, geoapifytest.Options{PendingPolls: 1})
	p := submit(t, s, "/v1/batch/geocode/search?apiKey="+key, nil, `["a"]`)
	u, err := url.Parse(p.URL)
	if err != nil || u.Query().Get("apiKey") != key || u.Query().Get("id") != p.ID || u.Path != "/v1/batch/geocode/search" {
		t.Fatalf("url %q with the key in the query", p.URL)
	}
	p = submit(t, s, "/v1/batch/geocode/search", withKey, `["a"]`)
	u, _ = url.Parse(p.URL)
	if u.Query().Has("apiKey") {
		t.Fatalf("url %q carries a key the request sent in a header", p.URL)
	}
	// The returned url is pollable as it is.
	if status, _, _ := call(t, s, "GET", strings.TrimPrefix(p.URL, s.URL), withKey, ""); status != 202 {
		t.Fatalf("poll of url: %d", status)
	}
}

func TestJobStates(t *testing.T) {
	poll := func(t *testing.T, s *geoapifytest.Server, id string) (int, string) {
		status, _, body := call(t, s, "GET", "/v1/batch/geocode/search?id="+id, withKey, "")
		return status, body
	}
	t.Run("pending for N polls", func(t *testing.T) {
		s := start(t, geoapifytest.Options{PendingPolls: 2})
		p := submit(t, s, "/v1/batch/geocode/search", withKey, `["ab","nowhere 1"]`)
		for i, want := range []int{202, 202, 200, 200} {
			status, body := poll(t, s, p.ID)
			if status != want {
				t.Fatalf("poll %d: %d %s, want %d", i+1, status, body, want)
			}
			if status == 202 && !strings.Contains(body, `"status":"pending"`) {
				t.Fatalf("poll %d: pending body %s", i+1, body)
			}
		}
	})
	t.Run("pending for a duration", func(t *testing.T) {
		s := start(t, geoapifytest.Options{PendingFor: 80 * time.Millisecond})
		p := submit(t, s, "/v1/batch/geocode/search", withKey, `["ab"]`)
		if status, _ := poll(t, s, p.ID); status != 202 {
			t.Fatalf("early poll: %d", status)
		}
		time.Sleep(100 * time.Millisecond)
		if status, _ := poll(t, s, p.ID); status != 200 {
			t.Fatalf("late poll: %d", status)
		}
	})
	t.Run("done at once", func(t *testing.T) {
		s := start(t, geoapifytest.Options{DoneAtOnce: true})
		status, _, body := call(t, s, "POST", "/v1/batch/geocode/search", withKey, `["ab"]`)
		if status != 200 || !strings.HasPrefix(body, `[{"lat":2,`) {
			t.Fatalf("submit: %d %s", status, body)
		}
	})
	t.Run("never finishes", func(t *testing.T) {
		s := start(t, geoapifytest.Options{NeverFinishRate: 1})
		p := submit(t, s, "/v1/batch/geocode/search", withKey, `["ab"]`)
		for range 5 {
			if status, _ := poll(t, s, p.ID); status != 202 {
				t.Fatalf("poll: %d", status)
			}
		}
		if s.PendingJobs() != 1 {
			t.Fatalf("PendingJobs() = %d", s.PendingJobs())
		}
	})
	t.Run("expires after retention", func(t *testing.T) {
		s := start(t, geoapifytest.Options{Retention: 30 * time.Millisecond})
		p := submit(t, s, "/v1/batch/geocode/search", withKey, `["ab"]`)
		if status, _ := poll(t, s, p.ID); status != 200 {
			t.Fatalf("poll in time: %d", status)
		}
		time.Sleep(50 * time.Millisecond)
		if status, body := poll(t, s, p.ID); status != 404 || body != `{"statusCode":404,"error":"Not Found"}` {
			t.Fatalf("poll after retention: %d %s", status, body)
		}
	})
	t.Run("a search id is unknown to reverse", func(t *testing.T) {
		s := start(t, geoapifytest.Options{})
		p := submit(t, s, "/v1/batch/geocode/search", withKey, `["ab"]`)
		if status, _, _ := call(t, s, "GET", "/v1/batch/geocode/reverse?id="+p.ID, withKey, ""); status != 404 {
			t.Fatalf("poll on reverse: %d", status)
		}
	})
}

func TestBatchResultShapes(t *testing.T) {
	s := start(t, geoapifytest.Options{DoneAtOnce: true})
	_, _, body := call(t, s, "POST", "/v1/batch/geocode/search?filter=countrycode:fr", withKey, `["abc","nowhere 2","abc"]`)
	var items []map[string]any
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != 3 {
		t.Fatalf("body %s (%v)", body, err)
	}
	if items[0]["lat"] != 3.0 || items[0]["country_code"] != "fr" || items[0]["place_id"] == "" {
		t.Errorf("item 0 = %v", items[0])
	}
	if q, _ := items[0]["query"].(map[string]any); q["text"] != "abc" {
		t.Errorf("item 0 query = %v", items[0]["query"])
	}
	if len(items[1]) != 1 || items[1]["query"] == nil {
		t.Errorf("a miss must hold only its query: %v", items[1])
	}
	if fmt.Sprint(items[0]) != fmt.Sprint(items[2]) {
		t.Errorf("repeated address answered differently: %v vs %v", items[0], items[2])
	}

	_, _, body = call(t, s, "POST", "/v1/batch/geocode/reverse", withKey, `[[2.35,48.85],{"lon":-0.1,"lat":51.5}]`)
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != 2 {
		t.Fatalf("reverse body %s (%v)", body, err)
	}
	if items[0]["lat"] != 48.86 || items[1]["lat"] != 51.51 || items[0]["distance"] == nil {
		t.Errorf("reverse items %v", items)
	}
	if q, _ := items[1]["query"].(map[string]any); q["lat"] != 51.5 || q["lon"] != -0.1 {
		t.Errorf("reverse query echo %v", items[1]["query"])
	}
	if status, _, b := call(t, s, "POST", "/v1/batch/geocode/reverse", withKey, `[[1]]`); status != 400 {
		t.Errorf("bad point: %d %s", status, b)
	}
}

func TestSingleFormats(t *testing.T) {
	s := start(t, geoapifytest.Options{})
	_, _, body := call(t, s, "GET", "/v1/geocode/search?text=abcd&format=json", withKey, "")
	var js struct {
		Results []geoapify.Result `json:"results"`
		Query   map[string]any    `json:"query"`
	}
	if err := json.Unmarshal([]byte(body), &js); err != nil || len(js.Results) != 1 || js.Results[0].Lat != 4 || js.Query["text"] != "abcd" {
		t.Fatalf("json: %s", body)
	}
	_, _, body = call(t, s, "GET", "/v1/geocode/search?text=nowhere&format=json", withKey, "")
	if !strings.HasPrefix(body, `{"results":[],`) {
		t.Fatalf("json miss: %s", body)
	}
	_, _, body = call(t, s, "GET", "/v1/geocode/search?street=ab&city=cd", withKey, "") // geojson by default
	var gj struct {
		Type     string
		Features []struct {
			Type       string
			Properties geoapify.Result
			Geometry   struct {
				Type        string
				Coordinates []float64
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &gj); err != nil || gj.Type != "FeatureCollection" || len(gj.Features) != 1 {
		t.Fatalf("geojson: %s", body)
	}
	f := gj.Features[0]
	if f.Geometry.Type != "Point" || len(f.Geometry.Coordinates) != 2 || f.Geometry.Coordinates[0] != 1.5 || f.Geometry.Coordinates[1] != 6 || f.Properties.Formatted != "ab, cd" {
		t.Fatalf("feature %+v; want [lon, lat] and the joined structured address", f)
	}
	status, _, body := call(t, s, "GET", "/v1/geocode/reverse?lat=10&lon=20&format=json", withKey, "")
	if status != 200 || !strings.Contains(body, `"lat":10.01`) {
		t.Fatalf("reverse: %d %s", status, body)
	}
}

func TestRateLimit(t *testing.T) {
	s := start(t, geoapifytest.Options{RPS: 1, Burst: 2, RetryAfter: 1500 * time.Millisecond})
	var statuses []int
	var after string
	for range 3 {
		status, ra, body := call(t, s, "GET", "/v1/geocode/search?text=a&format=json", withKey, "")
		statuses = append(statuses, status)
		if status == 429 {
			after = ra
			if body != `{"statusCode":429,"error":"Too Many Requests","message":"Quota exceeded"}` {
				t.Fatalf("429 body %s", body)
			}
		}
	}
	if fmt.Sprint(statuses) != "[200 200 429]" || after != "2" {
		t.Fatalf("statuses %v Retry-After %q; want [200 200 429] and 2 (seconds, rounded up)", statuses, after)
	}
	if n := s.Counters(); n.RateLimited != 1 || n.AddressesCharged != 2 {
		t.Fatalf("counters %+v", n)
	}
}

func TestFaultRates(t *testing.T) {
	run := func(seed uint64) []int {
		s := start(t, geoapifytest.Options{Seed: seed, ErrorRate: 0.3, RateLimitRate: 0.2, MalformedRate: 0.1})
		var out []int
		for range 60 {
			status, _, body := call(t, s, "GET", "/v1/geocode/search?text=a&format=json", withKey, "")
			if status == 200 && json.Valid([]byte(body)) {
				status = 1 // a good answer
			}
			out = append(out, status)
		}
		return out
	}
	a, b, c := run(9), run(9), run(10)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatalf("different seeds, same faults: %v", a)
	}
	kinds := map[string]int{}
	for _, st := range a {
		switch {
		case st == 1:
			kinds["ok"]++
		case st >= 500:
			kinds["5xx"]++
		case st == 429:
			kinds["429"]++
		case st == 200:
			kinds["malformed"]++
		}
	}
	// 60 draws: about 24 ok, 18 5xx, 12 429, 6 malformed; allow wide margins.
	if kinds["ok"] < 10 || kinds["5xx"] < 8 || kinds["429"] < 4 || kinds["malformed"] < 1 || kinds["ok"]+kinds["5xx"]+kinds["429"]+kinds["malformed"] != 60 {
		t.Fatalf("fault mix %v", kinds)
	}
}

func TestScriptedFaults(t *testing.T) {
	s := start(t, geoapifytest.Options{})
	s.Inject(
		geoapifytest.Fault{Endpoint: geoapifytest.EndpointReverse, Status: 503},
		geoapifytest.Fault{Status: 429, RetryAfter: "7"},
		geoapifytest.Fault{Endpoint: geoapifytest.EndpointSearch, Drop: true},
	)
	// The search takes the first fault matching it: the 429 (the 503 is for reverse).
	status, ra, _ := call(t, s, "GET", "/v1/geocode/search?text=a", withKey, "")
	if status != 429 || ra != "7" {
		t.Fatalf("first search: %d %q", status, ra)
	}
	req, _ := http.NewRequest("GET", s.URL+"/v1/geocode/search?text=a", nil)
	req.Header.Set("X-Api-Key", key)
	// A fresh connection, so the transport does not quietly retry on another.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped connection answered %d", resp.StatusCode)
	}
	if status, _, _ := call(t, s, "GET", "/v1/geocode/reverse?lat=1&lon=2", withKey, ""); status != 503 {
		t.Fatalf("reverse: %d", status)
	}
	if status, _, _ := call(t, s, "GET", "/v1/geocode/search?text=a", withKey, ""); status != 200 {
		t.Fatalf("after the script: %d", status)
	}
	s.Inject(geoapifytest.Fault{Body: `{"statusCode":500,"error":"Internal Server Error","message":"custom"}`})
	if status, _, body := call(t, s, "GET", "/v1/geocode/search?text=a", withKey, ""); status != 500 || !strings.Contains(body, "custom") {
		t.Fatalf("fault without a status: %d %s, want 500 with its body", status, body)
	}
	if n := s.Counters().Faults; n["status"] != 3 || n["drop"] != 1 {
		t.Fatalf("faults %v", n)
	}
}

func TestCountersAndCharges(t *testing.T) {
	s := start(t, geoapifytest.Options{PendingPolls: 1})
	call(t, s, "GET", "/v1/geocode/search?text=a&format=json", withKey, "")
	call(t, s, "GET", "/v1/geocode/reverse?lat=1&lon=2&format=json", withKey, "")
	p := submit(t, s, "/v1/batch/geocode/search", withKey, `["a","b","c","d"]`)
	submit(t, s, "/v1/batch/geocode/reverse?priority=1", withKey, `[[1,2],[3,4]]`)
	call(t, s, "GET", "/v1/batch/geocode/search?id="+p.ID, withKey, "")
	call(t, s, "GET", "/v1/batch/geocode/search?id="+p.ID, withKey, "")
	n := s.Counters()
	want := map[string]int{
		geoapifytest.EndpointSearch: 1, geoapifytest.EndpointReverse: 1,
		geoapifytest.EndpointBatchSearchSubmit: 1, geoapifytest.EndpointBatchReverseSubmit: 1,
		geoapifytest.EndpointBatchSearchPoll: 2,
	}
	if fmt.Sprint(n.Requests) != fmt.Sprint(want) {
		t.Errorf("requests %v, want %v", n.Requests, want)
	}
	if n.JobsSubmitted != 2 || fmt.Sprint(n.JobSizes) != "[4 2]" || n.Polls != 2 || n.AddressesCharged != 8 {
		t.Errorf("counters %+v", n)
	}
	// Singles cost 1 each, the search job 0.5 per address, the priority-1 reverse job 1 per address.
	if math.Abs(n.Credits-(2+2+2)) > 1e-9 {
		t.Errorf("credits %v, want 6", n.Credits)
	}
}

func TestLatencyAndClose(t *testing.T) {
	s := start(t, geoapifytest.Options{Latency: 40 * time.Millisecond})
	t0 := time.Now()
	call(t, s, "GET", "/v1/geocode/search?text=a", withKey, "")
	if d := time.Since(t0); d < 40*time.Millisecond {
		t.Fatalf("answered in %v, want ≥ 40ms", d)
	}

	slow := geoapifytest.NewServer(geoapifytest.Options{Latency: time.Minute, Lookup: town})
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := slow.Client().Get(slow.URL + "/v1/geocode/search?text=a")
		if err == nil {
			resp.Body.Close()
		}
	}()
	for slow.Counters().Requests[geoapifytest.EndpointSearch] == 0 {
		time.Sleep(time.Millisecond)
	}
	t0 = time.Now()
	slow.Close()
	<-done
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("Close waited %v for a request in its latency", d)
	}
}

func TestDefaultAnswersComeFromOfflineGazetteer(t *testing.T) {
	s := geoapifytest.NewServer(geoapifytest.Options{DoneAtOnce: true})
	defer s.Close()
	defer s.Client().CloseIdleConnections()
	_, _, body := call(t, s, "POST", "/v1/batch/geocode/search", nil, `["Paris, France","Berlin","xqzxqz nowhere"]`)
	var items []geoapify.Result
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != 3 {
		t.Fatalf("body %s (%v)", body, err)
	}
	near := func(r geoapify.Result, lat, lon float64) bool {
		return math.Abs(r.Lat-lat) < 0.2 && math.Abs(r.Lon-lon) < 0.2
	}
	if !near(items[0], 48.857, 2.352) || !near(items[1], 52.52, 13.405) || items[0].CountryCode != "fr" {
		t.Fatalf("Paris %+v, Berlin %+v", items[0], items[1])
	}
	if items[2].Lat != 0 || items[2].Formatted != "" {
		t.Fatalf("nonsense address matched: %+v", items[2])
	}

	_, _, body = call(t, s, "GET", "/v1/geocode/reverse?lat=48.8566&lon=2.3522&format=json", nil, "")
	var rev struct{ Results []geoapify.Result }
	if err := json.Unmarshal([]byte(body), &rev); err != nil || len(rev.Results) != 1 {
		t.Fatalf("reverse body %s (%v)", body, err)
	}
	if r := rev.Results[0]; r.City != "Paris" || r.Distance <= 0 || r.Distance > 5000 {
		t.Fatalf("reverse of central Paris = %+v, want Paris within 5 km", r)
	}
}
