package geoapifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/xlbatch/xlbatch/geoapify"
)

// jobKind separates search jobs from reverse jobs: an id of one kind is
// unknown (404) on the other kind's endpoint.
type jobKind int

const (
	kindSearch jobKind = iota
	kindReverse
)

func (k jobKind) path() string {
	if k == kindReverse {
		return "/v1/batch/geocode/reverse"
	}
	return "/v1/batch/geocode/search"
}

// job is one accepted batch job. Its results are rendered at submission, so
// polls only copy bytes.
type job struct {
	kind    jobKind
	created time.Time
	polls   int
	never   bool // stays pending forever
	done    bool // has answered 200 once
	result  []byte
}

// maxSubmitBody bounds a submit body: 1000 addresses of 1024 characters.
const maxSubmitBody = 4 << 20

// serveSubmit answers POST /v1/batch/geocode/{search,reverse}.
func (s *Server) serveSubmit(w http.ResponseWriter, r *http.Request, kind jobKind) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSubmitBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request payload input")
		return
	}
	if len(body) > maxSubmitBody {
		writeError(w, http.StatusRequestEntityTooLarge, "Payload content length greater than maximum allowed: 4194304")
		return
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var probe any
		if json.Unmarshal(body, &probe) == nil {
			writeError(w, http.StatusBadRequest, "\"body\" must be an array")
		} else {
			writeError(w, http.StatusBadRequest, "Invalid request payload JSON format")
		}
		return
	}
	switch {
	case len(raw) == 0:
		writeError(w, http.StatusBadRequest, "\"body\" must contain at least 1 items")
		return
	case len(raw) > MaxBatchSize:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("\"body\" must contain less than or equal to %d items", MaxBatchSize))
		return
	}
	q := r.URL.Query()
	var buf bytes.Buffer
	buf.Grow(len(raw) * 512)
	buf.WriteByte('[')
	for i, m := range raw {
		if i > 0 {
			buf.WriteByte(',')
		}
		var b []byte
		if kind == kindSearch {
			var text string
			if json.Unmarshal(m, &text) != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("\"[%d]\" must be a string", i))
				return
			}
			b = s.forwardItem(text, filterCountries(q.Get("filter")))
		} else {
			p, ok := parsePoint(m)
			if !ok {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("\"[%d]\" must be [lon, lat] or {\"lon\", \"lat\"} within ±180 and ±90", i))
				return
			}
			b = s.reverseItem(p)
		}
		buf.Write(b)
	}
	buf.WriteByte(']')

	credits := 0.5 * float64(len(raw))
	if q.Get("priority") == "1" {
		credits = float64(len(raw))
	}
	j := &job{kind: kind, created: time.Now(), result: buf.Bytes()}
	j.never = s.opts.NeverFinishRate > 0 && s.float64n() < s.opts.NeverFinishRate
	id := s.newID()

	s.mu.Lock()
	s.counters.JobsSubmitted++
	s.counters.JobSizes = append(s.counters.JobSizes, len(raw))
	s.counters.AddressesCharged += len(raw)
	s.counters.Credits += credits
	s.submits++
	if s.submits%64 == 0 {
		s.sweepLocked(j.created)
	}
	if s.opts.DoneAtOnce && !j.never {
		j.done = true
	}
	s.jobs[id] = j
	s.mu.Unlock()

	if j.done {
		writeRaw(w, http.StatusOK, j.result)
		return
	}
	writePending(w, r, kind, id)
}

// servePoll answers GET /v1/batch/geocode/{search,reverse}?id=….
func (s *Server) servePoll(w http.ResponseWriter, r *http.Request, kind jobKind) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "\"id\" is required")
		return
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
	case "csv":
		writeError(w, http.StatusNotImplemented, "the fake Geoapify answers batch results as json only")
		return
	default:
		writeError(w, http.StatusBadRequest, "\"format\" must be one of [json, csv]")
		return
	}
	now := time.Now()
	s.mu.Lock()
	j, ok := s.jobs[id]
	if ok && now.Sub(j.created) > s.opts.Retention {
		delete(s.jobs, id)
		ok = false
	}
	if !ok || j.kind != kind {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "")
		return
	}
	j.polls++
	if !j.done && !j.never && j.polls > s.opts.PendingPolls && now.Sub(j.created) >= s.opts.PendingFor {
		j.done = true
	}
	done, result := j.done, j.result
	s.mu.Unlock()

	if done {
		writeRaw(w, http.StatusOK, result)
		return
	}
	writePending(w, r, kind, id)
}

// writePending answers 202 with the pending body. Its url carries the key
// only when the request did, as Geoapify's does.
func writePending(w http.ResponseWriter, r *http.Request, kind jobKind, id string) {
	q := url.Values{"id": {id}}
	if k := r.URL.Query().Get("apiKey"); k != "" {
		q.Set("apiKey", k)
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: kind.path(), RawQuery: q.Encode()}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	writeJSON(w, http.StatusAccepted, struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		URL    string `json:"url"`
	}{id, "pending", u.String()})
}

// sweepLocked forgets jobs past their retention. s.mu must be held.
func (s *Server) sweepLocked(now time.Time) {
	for id, j := range s.jobs {
		if now.Sub(j.created) > s.opts.Retention {
			delete(s.jobs, id)
		}
	}
}

// newID returns a job id of 32 hex digits, as Geoapify's.
func (s *Server) newID() string {
	s.rngMu.Lock()
	a, b := s.rng.Uint64(), s.rng.Uint64()
	s.rngMu.Unlock()
	return fmt.Sprintf("%016x%016x", a, b)
}

// parsePoint reads [lon, lat] or {"lon":…, "lat":…}.
func parsePoint(m json.RawMessage) (geoapify.Point, bool) {
	var p geoapify.Point
	var pair []float64
	if json.Unmarshal(m, &pair) == nil {
		if len(pair) != 2 {
			return p, false
		}
		p = geoapify.Point{Lat: pair[1], Lon: pair[0]}
	} else {
		var obj struct {
			Lat *float64 `json:"lat"`
			Lon *float64 `json:"lon"`
		}
		if json.Unmarshal(m, &obj) != nil || obj.Lat == nil || obj.Lon == nil {
			return p, false
		}
		p = geoapify.Point{Lat: *obj.Lat, Lon: *obj.Lon}
	}
	if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 {
		return p, false
	}
	return p, true
}
