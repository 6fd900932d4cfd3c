package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileStats describes a cache file's contents.
type FileStats struct {
	Path      string
	Bytes     int64          // file size
	Entries   int            // all entries, expired included
	Answers   int            // live answers
	NoMatch   int            // live "no match" verdicts
	Expired   int            // entries past their lifetime
	BySource  map[string]int // live entries by the key's first '|'-separated field
	Oldest    time.Time      // earliest expiry among live entries
	Newest    time.Time      // latest expiry among live entries
	NotExists bool           // no file yet: nothing was ever cached there
}

// Sources returns BySource's keys, sorted.
func (s FileStats) Sources() []string {
	out := make([]string, 0, len(s.BySource))
	for k := range s.BySource {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Inspect reads a cache file's statistics without changing it. A file held
// by a running server gives ErrLocked.
func Inspect(path string, lockTimeout time.Duration, now time.Time) (FileStats, error) {
	s := FileStats{Path: path, BySource: map[string]int{}}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.NotExists = true
		return s, nil
	}
	if err != nil {
		return s, err
	}
	s.Bytes = fi.Size()
	db, err := OpenFile(path, lockTimeout, true)
	if err != nil {
		return s, err
	}
	defer db.Close()
	err = guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				s.Entries++
				if len(v) < headerLen {
					s.Expired++
					return nil
				}
				exp := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
				if !exp.After(now) {
					s.Expired++
					return nil
				}
				if v[8]&1 != 0 {
					s.NoMatch++
				} else {
					s.Answers++
				}
				src, _, _ := strings.Cut(string(k), "|")
				s.BySource[src]++
				if s.Oldest.IsZero() || exp.Before(s.Oldest) {
					s.Oldest = exp
				}
				if exp.After(s.Newest) {
					s.Newest = exp
				}
				return nil
			})
		})
	})
	return s, err
}

// Clear removes entries from a cache file: every entry, or with
// expiredOnly those past their lifetime. It returns how many it removed.
// A file held by a running server gives ErrLocked and is not changed.
func Clear(path string, lockTimeout time.Duration, expiredOnly bool, now time.Time) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	db, err := OpenFile(path, lockTimeout, false)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	removed := 0
	err = guard(func() error {
		return db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			if !expiredOnly {
				removed = b.Stats().KeyN
				if err := tx.DeleteBucket(bucket); err != nil {
					return err
				}
				_, err := tx.CreateBucket(bucket)
				return err
			}
			var dead [][]byte
			err := b.ForEach(func(k, v []byte) error {
				if len(v) < headerLen || !time.Unix(0, int64(binary.BigEndian.Uint64(v))).After(now) {
					dead = append(dead, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range dead {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			removed = len(dead)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("clear cache %s: %w", path, err)
	}
	return removed, nil
}
