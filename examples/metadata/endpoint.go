package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// maxIDsPerRequest is the most ids the fake endpoint accepts in one call,
// like many real metadata APIs.
const maxIDsPerRequest = 50

// endpoint is a fake metadata service on loopback:
// GET /metadata?ids=a,b,c answers {"items":[{"id":"a","title":"Item a"},…]}
// after a fixed latency, and refuses more than 50 ids with 400.
type endpoint struct {
	*httptest.Server
	latency time.Duration

	mu       sync.Mutex // protects requests
	requests []request
}

// request is what the endpoint saw: how many ids, and when.
type request struct {
	ids int
	at  time.Time
}

// Metadata is one item's metadata.
type Metadata struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

func newEndpoint(latency time.Duration) *endpoint {
	e := &endpoint{latency: latency}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metadata" {
		http.NotFound(w, r)
		return
	}
	ids := strings.Split(r.URL.Query().Get("ids"), ",")
	e.mu.Lock()
	e.requests = append(e.requests, request{ids: len(ids), at: time.Now()})
	e.mu.Unlock()
	if len(ids) > maxIDsPerRequest {
		http.Error(w, fmt.Sprintf("at most %d ids per request, got %d", maxIDsPerRequest, len(ids)), http.StatusBadRequest)
		return
	}
	select {
	case <-time.After(e.latency):
	case <-r.Context().Done():
		return
	}
	items := make([]Metadata, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			items = append(items, Metadata{ID: id, Title: "Item " + id})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"items": items})
}

// seen returns a copy of the requests so far.
func (e *endpoint) seen() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]request(nil), e.requests...)
}
