package geo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xlbatch/xlbatch/batching"
	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/udf"
)

// outcome is the answer to one lookup: a result, or the error value a cell
// shows instead.
type outcome struct {
	res  *geoapify.Result // shared with the cache: never modified
	fail udf.Value        // an error value when the lookup did not produce a result
}

func (o outcome) ok() bool { return o.res != nil }

// pickFields answers the calls not already done: the field each asked for
// of its lookup's result, or the lookup's error value.
func pickFields(out []udf.Value, done []bool, res []outcome, pick []field) {
	for i := range out {
		switch {
		case done[i]:
		case !res[i].ok():
			out[i] = res[i].fail
		default:
			out[i] = pick[i](res[i].res)
		}
	}
}

// geoKey is a batcher key that can render its cache key.
type geoKey interface {
	comparable
	appendCacheKey(dst []byte, scope string) []byte
}

// lookup is one address or point a cell asks about.
type lookup[K geoKey] struct {
	key  K
	text string // the address as written, for messages; "" for a point
	skip bool   // nothing to look up: answered "no match" at no cost
	// preview marks a formula preview: answer from the cache only, unless
	// lookups are local and free.
	preview bool
}

// label names the lookup in a message: the address as written, quoted and
// shortened, or the point. It is built only when a message needs it.
func (l *lookup[K]) label() string {
	if l.text != "" {
		return label(l.text)
	}
	if p, ok := any(l.key).(reverseKey); ok {
		return pointLabel(p.Lat, p.Lon)
	}
	return `""`
}

// resolve answers lookups from the cache, then sends the rest, deduplicated,
// through the batcher in one LoadMany, so the calls of a whole group (a
// range, a workbook) reach the provider together.
func resolve[K geoKey](ctx context.Context, s *Service, b *batching.Batcher[K, geoapify.Result], ls []lookup[K]) []outcome {
	out := make([]outcome, len(ls))
	var (
		keys  []K
		index map[K]int // key → position in keys
		where [][]int   // position in keys → lookups waiting for it
		buf   [160]byte // cache keys are built here: no allocation for a hit
	)
	for i := range ls {
		l := &ls[i]
		if l.skip {
			out[i].fail = noMatch(l.label())
			continue
		}
		if e, ok := s.cache.Lookup(l.key.appendCacheKey(buf[:0], s.scope)); ok {
			s.cacheHits.Add(1)
			if e.Miss {
				out[i].fail = noMatch(l.label())
			} else {
				out[i].res = &e.Value
			}
			continue
		}
		if l.preview && !s.opts.LocalLookups {
			out[i].fail = udf.Error(udf.ErrNA, "not fetched during preview")
			continue
		}
		if index == nil {
			index = make(map[K]int)
		}
		j, seen := index[l.key]
		if !seen {
			j = len(keys)
			index[l.key] = j
			keys = append(keys, l.key)
			where = append(where, nil)
		}
		where[j] = append(where[j], i)
	}
	if len(keys) == 0 {
		return out
	}
	for j, r := range b.LoadMany(ctx, keys) {
		if r.Err == nil {
			res := r.Value
			for _, i := range where[j] {
				out[i].res = &res
			}
			continue
		}
		for _, i := range where[j] {
			out[i].fail = failure(ls[i].label(), r.Err)
		}
	}
	return out
}

func noMatch(label string) udf.Value {
	return udf.Errorf(udf.ErrNA, "no match for %s", label)
}

// failure explains why a lookup produced no result, for the cell's #N/A.
func failure(label string, err error) udf.Value {
	switch {
	case geoapify.IsDefinite(err):
		return noMatch(label)
	case errors.Is(err, context.Canceled):
		return udf.Error(udf.ErrNA, "cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return udf.Errorf(udf.ErrNA, "lookup of %s timed out", label)
	case errors.Is(err, batching.ErrClosed):
		return udf.Error(udf.ErrNA, "xlbatch is shutting down; recalculate to retry")
	case errors.Is(err, geoapify.ErrUnauthorized):
		return udf.Error(udf.ErrNA, "Geoapify refused the API key (401 unauthorized): check GEOAPIFY_API_KEY")
	case errors.Is(err, geoapify.ErrRateLimited):
		return udf.Errorf(udf.ErrNA, "lookup of %s failed: Geoapify rate limit or quota exceeded (429) after retries", label)
	}
	after := ""
	var ae *batching.AttemptsError
	if errors.As(err, &ae) {
		after = fmt.Sprintf(" after %d attempts", ae.Attempts)
		err = ae.Err
	}
	var te *geoapify.TransportError
	if errors.As(err, &te) {
		return udf.Errorf(udf.ErrNA, "lookup of %s failed%s: cannot reach the geocoding service (%v)", label, after, te.Err)
	}
	var me *geoapify.MalformedError
	if errors.As(err, &me) {
		return udf.Errorf(udf.ErrNA, "lookup of %s failed%s: the geocoding service sent an unreadable answer (HTTP %d)", label, after, me.Status)
	}
	return udf.Errorf(udf.ErrNA, "lookup of %s failed%s: %s", label, after, strings.TrimPrefix(err.Error(), "geoapify: "))
}
