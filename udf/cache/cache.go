// Package cache keeps answers of slow, metered lookups: a memory layer in
// front of a bbolt file that survives restarts. Answers and "no match"
// verdicts live for different lengths of time; failures are never stored.
//
// A store that cannot be used — locked by another process, corrupt,
// unwritable — degrades the cache to memory only, with one warning in the
// log; the program goes on.
package cache

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
)

// Defaults for Options.
const (
	DefaultAnswerTTL   = 90 * 24 * time.Hour
	DefaultMissTTL     = 7 * 24 * time.Hour
	DefaultMaxMemory   = 1 << 20
	DefaultLockTimeout = 250 * time.Millisecond
)

// bucket holds every entry; a format change gets a new bucket name so old
// files are ignored rather than misread.
var bucket = []byte("entries.v1")

// Options configure a Cache. Zero values take the defaults above.
type Options struct {
	// Path of the bbolt file; empty means memory only. Its directory is
	// created when missing.
	Path        string
	AnswerTTL   time.Duration // lifetime of a found answer
	MissTTL     time.Duration // lifetime of a "no match" verdict
	MaxMemory   int           // entries held in memory before some are dropped
	LockTimeout time.Duration // how long to wait for another process's lock
	Logger      zerolog.Logger
	Now         func() time.Time // clock, for tests
}

// Entry is a cached outcome: an answer, or a definite "no match".
type Entry[V any] struct {
	Value V
	Miss  bool
}

// Stats describes a cache.
type Stats struct {
	Path       string // the file, or "" when memory only
	Persistent bool   // false when memory only, by choice or after a failure
	Degraded   string // why the file is not in use, when it failed
	Memory     int    // entries in memory
	Hits       uint64 // Get calls answered, from memory or file
	FileHits   uint64 // of those, answered from the file
	Misses     uint64 // Get calls not answered
	Puts       uint64 // entries stored
}

type memEntry[V any] struct {
	e       Entry[V]
	expires int64 // unix nanoseconds
}

// Cache is safe for concurrent use.
type Cache[V any] struct {
	opts Options

	mu  sync.RWMutex // protects mem
	mem map[string]*memEntry[V]

	db       atomic.Pointer[bolt.DB] // nil when memory only
	degrade  sync.Once
	degraded atomic.Value // string: why the file was given up

	hits, fileHits, misses, puts atomic.Uint64
}

// Open returns a cache over opts.Path. It never fails: when the file cannot
// be used the cache works from memory and logs one warning saying why.
func Open[V any](opts Options) *Cache[V] {
	if opts.AnswerTTL <= 0 {
		opts.AnswerTTL = DefaultAnswerTTL
	}
	if opts.MissTTL <= 0 {
		opts.MissTTL = DefaultMissTTL
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = DefaultMaxMemory
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Cache[V]{opts: opts, mem: map[string]*memEntry[V]{}}
	if opts.Path != "" {
		db, err := OpenFile(opts.Path, opts.LockTimeout, false)
		if err != nil {
			c.giveUp(err)
		} else {
			c.db.Store(db)
		}
	}
	return c
}

// ErrLocked reports that another process holds the cache file.
var ErrLocked = errors.New("the cache file is in use by another xlbatch process")

// OpenFile opens (creating when missing, unless readOnly) a cache file and
// checks it is one. Corruption that bbolt reports as a panic becomes an error.
func OpenFile(path string, lockTimeout time.Duration, readOnly bool) (db *bolt.DB, err error) {
	if !readOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create cache directory: %w", err)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("open cache %s: corrupt file (%v)", path, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open cache %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	if !readOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucket)
			return err
		})
	}
	if err == nil {
		// Walk the file once so a damaged page shows now, not mid-run.
		err = db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bucket); b != nil {
				return b.ForEach(func(k, v []byte) error {
					if len(v) < headerLen {
						return fmt.Errorf("entry %q is truncated", k)
					}
					return nil
				})
			}
			return nil
		})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open cache %s: corrupt file: %w", path, err)
	}
	return db, nil
}

// giveUp switches to memory only, logging the reason once.
func (c *Cache[V]) giveUp(err error) {
	c.degrade.Do(func() {
		c.degraded.Store(err.Error())
		if db := c.db.Swap(nil); db != nil {
			db.Close()
		}
		c.opts.Logger.Warn().Err(err).Msg("cache: continuing with a memory-only cache; answers will not survive a restart")
	})
}

// Persistent reports whether entries reach the file.
func (c *Cache[V]) Persistent() bool { return c.db.Load() != nil }

// Get returns key's entry if present and not expired. A memory hit costs no
// decoding; a file hit is decoded once and kept in memory.
func (c *Cache[V]) Get(key string) (Entry[V], bool) {
	now := c.opts.Now().UnixNano()
	c.mu.RLock()
	m := c.mem[key]
	c.mu.RUnlock()
	if m != nil && m.expires > now {
		c.hits.Add(1)
		return m.e, true
	}
	if db := c.db.Load(); db != nil {
		if e, expires, ok := c.readFile(db, key); ok && expires > now {
			c.remember(key, &memEntry[V]{e: e, expires: expires})
			c.hits.Add(1)
			c.fileHits.Add(1)
			return e, true
		}
	}
	c.misses.Add(1)
	return Entry[V]{}, false
}

// Lookup is Get for hot paths: the key is given as bytes (no string is
// built for a memory hit) and the entry is shared, not copied. Callers must
// not modify it; a Put replaces entries, it never changes them.
func (c *Cache[V]) Lookup(key []byte) (*Entry[V], bool) {
	if e, ok := c.LookupMemory(key); ok {
		return e, true
	}
	now := c.opts.Now().UnixNano()
	if db := c.db.Load(); db != nil {
		if e, expires, ok := c.readFile(db, string(key)); ok && expires > now {
			m := &memEntry[V]{e: e, expires: expires}
			c.remember(string(key), m)
			c.hits.Add(1)
			c.fileHits.Add(1)
			return &m.e, true
		}
	}
	c.misses.Add(1)
	return nil, false
}

// LookupMemory is Lookup limited to the memory layer: a miss costs no file
// read and is not counted, so a caller can try it first and fall back to
// Lookup.
func (c *Cache[V]) LookupMemory(key []byte) (*Entry[V], bool) {
	now := c.opts.Now().UnixNano()
	c.mu.RLock()
	m := c.mem[string(key)]
	c.mu.RUnlock()
	if m != nil && m.expires > now {
		c.hits.Add(1)
		return &m.e, true
	}
	return nil, false
}

// Peek is Get without touching the counters, for callers that only look.
func (c *Cache[V]) Peek(key string) (Entry[V], bool) {
	now := c.opts.Now().UnixNano()
	c.mu.RLock()
	m := c.mem[key]
	c.mu.RUnlock()
	if m != nil && m.expires > now {
		return m.e, true
	}
	return Entry[V]{}, false
}

func (c *Cache[V]) readFile(db *bolt.DB, key string) (e Entry[V], expires int64, ok bool) {
	err := guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			raw := b.Get([]byte(key))
			if raw == nil {
				return nil
			}
			var err error
			e, expires, err = decode[V](raw)
			if err != nil {
				return nil // an unreadable entry is a miss; a put replaces it
			}
			ok = true
			return nil
		})
	})
	if err != nil {
		c.giveUp(fmt.Errorf("read cache: %w", err))
		return e, 0, false
	}
	return e, expires, ok
}

// Item is one entry to store.
type Item[V any] struct {
	Key   string
	Entry Entry[V]
}

// Put stores one entry.
func (c *Cache[V]) Put(key string, e Entry[V]) { c.PutMany([]Item[V]{{Key: key, Entry: e}}) }

// PutMany stores entries in memory at once and in the file in one
// transaction (one disk sync for a whole batch).
func (c *Cache[V]) PutMany(items []Item[V]) {
	if len(items) == 0 {
		return
	}
	now := c.opts.Now()
	entries := make([]*memEntry[V], len(items))
	for i, it := range items {
		ttl := c.opts.AnswerTTL
		if it.Entry.Miss {
			ttl = c.opts.MissTTL
		}
		entries[i] = &memEntry[V]{e: it.Entry, expires: now.Add(ttl).UnixNano()}
	}
	c.mu.Lock()
	for i, it := range items {
		c.rememberLocked(it.Key, entries[i])
	}
	c.mu.Unlock()
	c.puts.Add(uint64(len(items)))

	db := c.db.Load()
	if db == nil {
		return
	}
	err := guard(func() error {
		return db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			for i, it := range items {
				raw, err := encode(entries[i].e, entries[i].expires)
				if err != nil {
					return err
				}
				if err := b.Put([]byte(it.Key), raw); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		c.giveUp(fmt.Errorf("write cache: %w", err))
	}
}

func (c *Cache[V]) remember(key string, m *memEntry[V]) {
	c.mu.Lock()
	c.rememberLocked(key, m)
	c.mu.Unlock()
}

// rememberLocked stores m, first dropping an arbitrary eighth of the
// entries when memory is full (map order is random, so this is a cheap
// random eviction; the file still has them).
func (c *Cache[V]) rememberLocked(key string, m *memEntry[V]) {
	if _, ok := c.mem[key]; !ok && len(c.mem) >= c.opts.MaxMemory {
		drop := c.opts.MaxMemory/8 + 1
		for k := range c.mem {
			delete(c.mem, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.mem[key] = m
}

// Stats returns the cache's counters.
func (c *Cache[V]) Stats() Stats {
	c.mu.RLock()
	n := len(c.mem)
	c.mu.RUnlock()
	s := Stats{
		Path: c.opts.Path, Persistent: c.Persistent(), Memory: n,
		Hits: c.hits.Load(), FileHits: c.fileHits.Load(), Misses: c.misses.Load(), Puts: c.puts.Load(),
	}
	if d, ok := c.degraded.Load().(string); ok {
		s.Degraded = d
	}
	return s
}

// Close releases the file. The cache keeps answering from memory.
func (c *Cache[V]) Close() error {
	if db := c.db.Swap(nil); db != nil {
		return db.Close()
	}
	return nil
}

// guard turns a panic inside bbolt (its reaction to some corrupt pages)
// into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt cache file (%v)", p)
		}
	}()
	return fn()
}

// The file format of one entry: expiry (unix nanoseconds, 8 bytes big
// endian), a flags byte (1 = no match), then the value as JSON.
const headerLen = 9

func encode[V any](e Entry[V], expires int64) ([]byte, error) {
	raw := make([]byte, headerLen, 256)
	binary.BigEndian.PutUint64(raw, uint64(expires))
	if e.Miss {
		raw[8] = 1
		return raw, nil
	}
	b, err := json.Marshal(e.Value)
	if err != nil {
		return nil, fmt.Errorf("encode cache entry: %w", err)
	}
	return append(raw, b...), nil
}

func decode[V any](raw []byte) (Entry[V], int64, error) {
	var e Entry[V]
	if len(raw) < headerLen {
		return e, 0, errors.New("truncated entry")
	}
	expires := int64(binary.BigEndian.Uint64(raw))
	if raw[8]&1 != 0 {
		e.Miss = true
		return e, expires, nil
	}
	if err := json.Unmarshal(raw[headerLen:], &e.Value); err != nil {
		return e, 0, err
	}
	return e, expires, nil
}
