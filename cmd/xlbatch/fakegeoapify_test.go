package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while the command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestFakeGeoapifyCommand(t *testing.T) {
	var stdout, stderr lockedBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- m.Run(ctx, []string{"fake-geoapify", "--listen", "127.0.0.1:0", "--key", "k1", "--rps", "1000", "--done-at-once"})
	}()

	addr := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		if s := addr.FindStringSubmatch(stdout.String()); s != nil {
			base = s[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no address printed; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(`["Paris, France","zzqxj"]`))
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/v1/batch/geocode/search", "wrong"); status != 401 || !strings.Contains(body, "Invalid apiKey") {
		t.Fatalf("wrong key: %d %s", status, body)
	}
	status, body := get("/v1/batch/geocode/search", "k1")
	var items []map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &items) != nil || len(items) != 2 || items[0]["country_code"] != "fr" {
		t.Fatalf("batch: %d %s", status, body)
	}

	cancel()
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit %d, stderr %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not stop after its context ended")
	}
	out := stdout.String()
	if !strings.Contains(out, "POST /v1/batch/geocode/search") || !strings.Contains(out, "batch jobs 1,") || !strings.Contains(out, "401 1") {
		t.Fatalf("summary missing counters:\n%s", out)
	}
}

func TestFakeGeoapifyFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"--help"}, exitOK, "--latency"},
		{[]string{"--error-rate", "1.5"}, exitUsage, "--error-rate 1.5"},
		{[]string{"--error-rate", "0.6", "--429-rate", "0.6"}, exitUsage, "add up to"},
		{[]string{"--latency", "-1s"}, exitUsage, "must not be negative"},
		{[]string{"--burst", "0"}, exitUsage, "--burst"},
		{[]string{"extra"}, exitUsage, "unexpected argument"},
		{[]string{"--nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"--listen", "256.0.0.1:1"}, exitError, "256.0.0.1"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr lockedBuffer
			m := &Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
			got := m.Run(context.Background(), append([]string{"fake-geoapify"}, c.args...))
			if got != c.code || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("exit %d stderr %q; want %d and %q", got, stderr.String(), c.code, c.want)
			}
		})
	}
}
