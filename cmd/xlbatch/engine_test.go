package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
	"github.com/xlbatch/xlbatch/udf/cache"
)

// A cache file held by another process (here: another open in this
// process, which the file lock treats the same) costs one warning, never
// the answer.
func TestLockedCacheDegradesToMemory(t *testing.T) {
	fake := geoapifytest.NewServer(geoapifytest.Options{})
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "held.db")
	holder := cache.Open[geoapify.Result](cache.Options{Path: path})
	defer holder.Close()
	if !holder.Persistent() {
		t.Fatal("could not hold the cache file")
	}
	env := map[string]string{"GEOAPIFY_API_KEY": "k"}
	code, out, errOut := runMain(t, env, "call", "--geoapify-url", fake.URL, "--cache", path, "GEOCODE", "Rome, Italy", "country_code")
	if code != exitOK || strings.TrimSpace(out) != "IT" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if n := strings.Count(errOut, "WRN"); n != 1 || !strings.Contains(errOut, "in use by another xlbatch process") {
		t.Fatalf("want one warning about the lock, stderr:\n%s", errOut)
	}
	if !strings.Contains(errOut, "cache: memory only ("+path+" is unusable") {
		t.Fatalf("provider line should say the cache is memory only:\n%s", errOut)
	}
	code, _, errOut = runMain(t, env, "cache", "stats", "--cache", path)
	if code != exitError || !strings.Contains(errOut, "stop the running xlbatch") {
		t.Fatalf("cache stats on a held file: exit %d, stderr %q", code, errOut)
	}
}

func TestCacheOffAndDefaultPath(t *testing.T) {
	fake := geoapifytest.NewServer(geoapifytest.Options{})
	defer fake.Close()
	dir := t.TempDir()
	env := map[string]string{"GEOAPIFY_API_KEY": "k", "XDG_CACHE_HOME": dir}
	code, _, errOut := runMain(t, env, "call", "--geoapify-url", fake.URL, "--cache", "off", "GEOCODE", "Oslo", "lat")
	if code != exitOK || !strings.Contains(errOut, "cache: memory only\n") {
		t.Fatalf("--cache off: exit %d, stderr %q", code, errOut)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*", "*")); len(matches) != 0 {
		t.Fatalf("--cache off wrote %v", matches)
	}
	code, _, errOut = runMain(t, env, "call", "--geoapify-url", fake.URL, "GEOCODE", "Oslo", "lat")
	want := filepath.Join(dir, "xlbatch", "cache.db")
	if code != exitOK || !strings.Contains(errOut, "cache: "+want) {
		t.Fatalf("default cache: exit %d, stderr %q, want %s", code, errOut, want)
	}
	code, _, errOut = runMain(t, nil, "call", "--provider", "offline", "--geoapify-url", fake.URL, "GEOCODE", "Oslo", "lat")
	if code != exitUsage || !strings.Contains(errOut, "--geoapify-url needs --provider geoapify") {
		t.Fatalf("offline with a URL: exit %d, stderr %q", code, errOut)
	}
}
