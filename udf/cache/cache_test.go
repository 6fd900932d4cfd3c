package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type answer struct {
	Lat, Lon float64
	Name     string
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// syncBuffer collects log output from any goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestAnswersAndMissesExpireSeparately(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "c.db")
	opts := Options{Path: path, AnswerTTL: 90 * 24 * time.Hour, MissTTL: 7 * 24 * time.Hour, Now: clk.Now}
	c := Open[answer](opts)
	c.PutMany([]Item[answer]{
		{Key: "p|paris", Entry: Entry[answer]{Value: answer{48.85, 2.35, "Paris"}}},
		{Key: "p|atlantis", Entry: Entry[answer]{Miss: true}},
	})
	check := func(c *Cache[answer], key string, wantOK, wantMiss bool) {
		t.Helper()
		e, ok := c.Get(key)
		if ok != wantOK || (ok && e.Miss != wantMiss) || (ok && !e.Miss && e.Value.Name != "Paris") {
			t.Fatalf("Get(%q) = %+v, %v; want ok=%v miss=%v", key, e, ok, wantOK, wantMiss)
		}
	}
	check(c, "p|paris", true, false)
	check(c, "p|atlantis", true, true)
	check(c, "p|rome", false, false)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// After a restart, from the file.
	clk.Add(6 * 24 * time.Hour)
	c = Open[answer](opts)
	check(c, "p|paris", true, false)
	check(c, "p|atlantis", true, true)
	if s := c.Stats(); s.FileHits != 2 || !s.Persistent {
		t.Fatalf("stats = %+v, want 2 file hits", s)
	}
	clk.Add(2 * 24 * time.Hour) // day 8: the miss is stale, the answer not
	check(c, "p|paris", true, false)
	check(c, "p|atlantis", false, false)
	c.Close()

	st, err := Inspect(path, time.Second, clk.Now())
	if err != nil || st.Answers != 1 || st.NoMatch != 0 || st.Expired != 1 || st.BySource["p"] != 1 {
		t.Fatalf("Inspect = %+v, %v", st, err)
	}
	n, err := Clear(path, time.Second, true, clk.Now())
	if err != nil || n != 1 {
		t.Fatalf("Clear(expired) = %d, %v; want 1", n, err)
	}
	clk.Add(90 * 24 * time.Hour)
	c = Open[answer](opts)
	check(c, "p|paris", false, false)
	c.Close()
	n, err = Clear(path, time.Second, false, clk.Now())
	if err != nil || n != 1 {
		t.Fatalf("Clear(all) = %d, %v; want 1", n, err)
	}
	if st, _ := Inspect(path, time.Second, clk.Now()); st.Entries != 0 {
		t.Fatalf("after Clear: %+v", st)
	}
}

func TestLockedFileDegradesWithOneWarning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	holder := Open[answer](Options{Path: path})
	defer holder.Close()
	if !holder.Persistent() {
		t.Fatal("first opener has no file")
	}
	var logs syncBuffer
	start := time.Now()
	c := Open[answer](Options{Path: path, LockTimeout: 100 * time.Millisecond, Logger: zerolog.New(&logs)})
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("waited %v for the lock", waited)
	}
	if c.Persistent() {
		t.Fatal("second opener claims the locked file")
	}
	// Still a working cache.
	c.Put("k", Entry[answer]{Value: answer{Name: "x"}})
	if e, ok := c.Get("k"); !ok || e.Value.Name != "x" {
		t.Fatal("memory cache lost an entry")
	}
	c.Put("k2", Entry[answer]{Miss: true})
	out := logs.String()
	if strings.Count(out, `"level":"warn"`) != 1 || !strings.Contains(out, "in use by another xlbatch process") {
		t.Fatalf("want exactly one warning naming the lock, got %q", out)
	}
	if s := c.Stats(); !strings.Contains(s.Degraded, "in use") {
		t.Fatalf("stats = %+v", s)
	}
	if _, err := Inspect(path, 50*time.Millisecond, time.Now()); !errors.Is(err, ErrLocked) {
		t.Fatalf("Inspect of a locked file: %v, want ErrLocked", err)
	}
	if _, err := Clear(path, 50*time.Millisecond, false, time.Now()); !errors.Is(err, ErrLocked) {
		t.Fatalf("Clear of a locked file: %v, want ErrLocked", err)
	}
}

func TestCorruptFileDegradesWithOneWarning(t *testing.T) {
	dir := t.TempDir()
	tests := map[string][]byte{
		"garbage":   bytes.Repeat([]byte("not a bolt file "), 1000),
		"truncated": nil, // filled below from a real file cut short
		"empty":     {},
	}
	good := filepath.Join(dir, "good.db")
	c := Open[answer](Options{Path: good})
	for i := range 500 {
		c.Put(strings.Repeat("k", i%50)+string(rune('a'+i%26))+string(rune(i)), Entry[answer]{Value: answer{Name: strings.Repeat("v", 100)}})
	}
	c.Close()
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tests["truncated"] = raw[:len(raw)/3]
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			c := Open[answer](Options{Path: path, Logger: zerolog.New(&logs)})
			defer c.Close()
			c.Put("k", Entry[answer]{Value: answer{Name: "x"}})
			e, ok := c.Get("k")
			if !ok || e.Value.Name != "x" {
				t.Fatal("cache over a bad file does not work from memory")
			}
			warnings := strings.Count(logs.String(), `"level":"warn"`)
			if c.Persistent() && name != "empty" {
				t.Fatalf("a %s file was accepted", name)
			}
			if c.Persistent() {
				// bbolt accepted the file (an empty file is initialised);
				// then it must work and must not have warned.
				if warnings != 0 {
					t.Fatalf("usable file, yet warnings: %s", logs.String())
				}
				return
			}
			if warnings != 1 {
				t.Fatalf("want exactly one warning, got %q", logs.String())
			}
		})
	}
}

func TestMemoryBound(t *testing.T) {
	c := Open[answer](Options{MaxMemory: 100})
	for i := range 1000 {
		c.Put(string(rune(i+'0')), Entry[answer]{Miss: true})
	}
	if n := c.Stats().Memory; n > 100 || n < 50 {
		t.Fatalf("memory holds %d entries, want at most 100 and not emptied", n)
	}
}

func TestNoPathIsMemoryOnlyWithoutWarning(t *testing.T) {
	var logs syncBuffer
	c := Open[answer](Options{Logger: zerolog.New(&logs)})
	c.Put("a", Entry[answer]{Value: answer{Name: "a"}})
	if _, ok := c.Get("a"); !ok || c.Persistent() || logs.String() != "" {
		t.Fatalf("memory-only cache: ok=%v persistent=%v logs=%q", ok, c.Persistent(), logs.String())
	}
}

func BenchmarkMemoryHit(b *testing.B) {
	c := Open[answer](Options{})
	c.Put("geoapify|search||221b baker st, london", Entry[answer]{Value: answer{51.5, -0.15, "x"}})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get("geoapify|search||221b baker st, london"); !ok {
			b.Fatal("miss")
		}
	}
}
