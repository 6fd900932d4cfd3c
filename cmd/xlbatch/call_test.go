package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
	"github.com/xlbatch/xlbatch/udf"
)

// runMain runs the program in-process with env as its whole environment.
// XDG_CACHE_HOME defaults to a temporary directory so that no test touches
// the real user cache.
func runMain(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if _, ok := env["XDG_CACHE_HOME"]; !ok {
		if env == nil {
			env = map[string]string{}
		}
		env["XDG_CACHE_HOME"] = t.TempDir()
	}
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	code = m.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	r := math.Pi / 180
	a := math.Pow(math.Sin((lat2-lat1)*r/2), 2) + math.Cos(lat1*r)*math.Cos(lat2*r)*math.Pow(math.Sin((lon2-lon1)*r/2), 2)
	return 2 * 6371 * math.Asin(math.Sqrt(a))
}

// The README's first command works on a fresh machine: no key, no network.
func TestCallGeocodeOffline(t *testing.T) {
	code, out, errOut := runMain(t, nil, "call", "GEOCODE", "221B Baker St, London, England", "latlon")
	if code != exitOK {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	lat, lon, ok := strings.Cut(strings.TrimSpace(out), ", ")
	la, err1 := strconv.ParseFloat(lat, 64)
	lo, err2 := strconv.ParseFloat(lon, 64)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("output %q is not \"lat, lon\"", out)
	}
	// 221B Baker Street is at 51.5238, -0.1586.
	if d := haversineKm(la, lo, 51.5238, -0.1586); d > 25 {
		t.Fatalf("answer %s is %.1f km from Baker Street, want within 25 km", strings.TrimSpace(out), d)
	}
	if !strings.Contains(errOut, "offline gazetteer") || strings.Count(errOut, "xlbatch: geocoding with") != 1 {
		t.Fatalf("stderr should name the provider once: %q", errOut)
	}
}

func TestCallOutputAndExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact
		stderr string // substring
	}{
		{"number", []string{"call", "GEODISTANCE", "0", "0", "0", "1", "m"}, exitOK, fmt.Sprintf("%v\n", udf.Number(2*math.Pi*6371.0088/360*1000).Display()), ""},
		{"json value", []string{"call", "--json", "GEODISTANCE", "0", "0", "0", "0"}, exitOK, `{"value":0}` + "\n", ""},
		{"array", []string{"call", "--provider", "offline", "GEOLOCATE", `{"";""}`}, exitOK, "\t\n\t\n", ""},
		{"error value", []string{"call", "GEODISTANCE", "north", "0", "0", "0"}, exitError, `#VALUE! GEODISTANCE argument lat1: expected a number, got text "north"` + "\n", ""},
		{"json error", []string{"call", "--json", "GEODISTANCE", "0", "0", "0", "0", "yards"}, exitError,
			`{"error":"#VALUE!","message":"GEODISTANCE argument unit: unknown unit \"yards\"; valid units: km, mi, m, nmi"}` + "\n", ""},
		{"unknown function", []string{"call", "NOPE"}, exitError, "#NAME? unknown function NOPE\n", "xlbatch functions"},
		{"error literal propagates", []string{"call", "GEODISTANCE", "#N/A", "0", "0", "0"}, exitError, "#N/A\n", ""},
		{"no function", []string{"call"}, exitUsage, "", "name a function"},
		{"bad array", []string{"call", "GEOLOCATE", "{1,2"}, exitUsage, "", "missing closing }"},
		{"bad provider", []string{"call", "--provider", "bing", "GEOLOCATE", "x"}, exitUsage, "", `--provider "bing"`},
		{"geoapify without key", []string{"call", "--provider", "geoapify", "GEOLOCATE", "x"}, exitUsage, "", "set GEOAPIFY_API_KEY"},
		{"help", []string{"call", "--help"}, exitOK, "", "Usage: xlbatch call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, nil, tt.args...)
			if code != tt.code || out != tt.stdout || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q", code, out, errOut, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestFunctionsCommand(t *testing.T) {
	code, out, _ := runMain(t, nil, "functions", "--json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if err := udf.CheckFunctionsJSON([]byte(out)); err != nil {
		t.Fatalf("functions --json breaks a metadata rule: %v", err)
	}
	var doc udf.Metadata
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Functions) != 4 {
		t.Fatalf("functions.json: %v, %d functions", err, len(doc.Functions))
	}
	code, out, _ = runMain(t, nil, "functions")
	for _, want := range []string{"XLB.GEOLOCATE(address, [country])", "XLB.GEOCODE(address, field, [country])",
		"XLB.REVERSEGEOCODE(lat, lon, [field])", "XLB.GEODISTANCE(lat1, lon1, lat2, lon2, [unit])"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("functions output lacks %q:\n%s", want, out)
		}
	}
}

// The provider line names the endpoint, never the key.
func TestProviderChoiceWithFake(t *testing.T) {
	const key = "sekret-key-123"
	fake := geoapifytest.NewServer(geoapifytest.Options{APIKey: key})
	defer fake.Close()
	dir := t.TempDir()
	env := map[string]string{"GEOAPIFY_API_KEY": key, "XDG_CACHE_HOME": dir}
	code, out, errOut := runMain(t, env, "call", "--geoapify-url", fake.URL, "GEOCODE", "Paris, France", "city")
	if code != exitOK || strings.TrimSpace(out) != "Paris" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "Geoapify at "+fake.URL) || !strings.Contains(errOut, filepath.Join(dir, "xlbatch", "cache.db")) {
		t.Fatalf("stderr %q should name the provider and the cache file", errOut)
	}
	if strings.Contains(out+errOut, key) {
		t.Fatal("the API key was printed")
	}
	// The answer is cached under the fake's own scope.
	code, out, _ = runMain(t, env, "cache", "stats", "--json")
	var st struct {
		Answers  int            `json:"answers"`
		BySource map[string]int `json:"bySource"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.Answers != 1 || st.BySource["geoapify@"+strings.TrimPrefix(fake.URL, "http://")] != 1 {
		t.Fatalf("cache stats: exit %d, %s", code, out)
	}
	code, out, _ = runMain(t, env, "cache", "clear")
	if code != exitOK || !strings.Contains(out, "removed 1 entries") {
		t.Fatalf("cache clear: exit %d, %q", code, out)
	}
	code, out, _ = runMain(t, env, "cache", "stats")
	if code != exitOK || !strings.Contains(out, "answers     0") {
		t.Fatalf("cache stats after clear: exit %d, %q", code, out)
	}
}

// TestSubprocessMain is not a test: the cache test below runs the test
// binary again as the xlbatch program, a real second process.
func TestSubprocessMain(t *testing.T) {
	args := os.Getenv("XLBATCH_SUBPROCESS_ARGS")
	if args == "" {
		return
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		os.Exit(99)
	}
	os.Exit(NewMain().Run(context.Background(), argv))
}

// A second process with the same cache file sends nothing upstream.
func TestCacheSurvivesProcess(t *testing.T) {
	fake := geoapifytest.NewServer(geoapifytest.Options{})
	defer fake.Close()
	cacheFile := filepath.Join(t.TempDir(), "geo.db")
	var addrs []string
	for _, c := range []string{"Paris, France", "Rome, Italy", "Oslo, Norway", "Lima, Peru", "Qqxzv Zzqyw"} {
		addrs = append(addrs, strconv.Quote(c))
	}
	array := "{" + strings.Join(addrs, ";") + "}"
	run := func() string {
		argv, _ := json.Marshal([]string{"call", "--geoapify-url", fake.URL, "--cache", cacheFile, "GEOLOCATE", array})
		cmd := exec.Command(os.Args[0], "-test.run=^TestSubprocessMain$")
		cmd.Env = append(os.Environ(), "XLBATCH_SUBPROCESS_ARGS="+string(argv), "GEOAPIFY_API_KEY=any")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("subprocess: %v; output %q", err, out)
		}
		return string(out)
	}
	requests := func() int {
		n := 0
		for _, v := range fake.Counters().Requests {
			n += v
		}
		return n
	}
	first := run()
	if rows := strings.Split(strings.TrimSpace(first), "\n"); len(rows) != 5 || !strings.HasPrefix(rows[4], "#N/A") {
		t.Fatalf("first run printed %q", first)
	}
	before := requests()
	if before == 0 {
		t.Fatal("first run sent no request")
	}
	second := run()
	if second != first {
		t.Fatalf("second run printed %q, first %q", second, first)
	}
	if n := requests() - before; n != 0 {
		t.Fatalf("second process sent %d requests; want 0 (cache)", n)
	}
}
