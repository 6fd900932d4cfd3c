package geoapifytest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ServeHTTP answers one request: latency, then a fault if one is due, then
// the key check, the rate limit and the endpoint itself.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.counters.Requests[endpoint]++
	if endpoint == EndpointBatchSearchPoll || endpoint == EndpointBatchReversePoll {
		s.counters.Polls++
	}
	s.mu.Unlock()

	s.wait(r)
	if f, ok := s.takeFault(endpoint); ok {
		s.serveFault(w, endpoint, f)
		return
	}
	if !s.authorized(r) {
		s.mu.Lock()
		s.counters.Unauthorized++
		s.mu.Unlock()
		writeError(w, http.StatusUnauthorized, "Invalid apiKey")
		return
	}
	if s.limiter != nil && !s.limiter.Allow() {
		s.mu.Lock()
		s.counters.RateLimited++
		s.mu.Unlock()
		if h := retryAfterHeader(s.opts.RetryAfter); h != "" {
			w.Header().Set("Retry-After", h)
		}
		writeError(w, http.StatusTooManyRequests, "Quota exceeded")
		return
	}
	switch endpoint {
	case EndpointSearch:
		s.serveSearch(w, r)
	case EndpointReverse:
		s.serveReverse(w, r)
	case EndpointBatchSearchSubmit:
		s.serveSubmit(w, r, kindSearch)
	case EndpointBatchReverseSubmit:
		s.serveSubmit(w, r, kindReverse)
	case EndpointBatchSearchPoll:
		s.servePoll(w, r, kindSearch)
	case EndpointBatchReversePoll:
		s.servePoll(w, r, kindReverse)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

// authorized checks the key in the apiKey query parameter or the x-api-key
// header, when the fake has a key configured.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.APIKey == "" {
		return true
	}
	if k := r.URL.Query().Get("apiKey"); k != "" {
		return k == s.opts.APIKey
	}
	return r.Header.Get("x-api-key") == s.opts.APIKey
}

// gatewayError is Geoapify's documented error body.
type gatewayError struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message,omitempty"`
}

// writeError answers with the GatewayError body; an empty message is left
// out, as in the documented 404 {"statusCode":404,"error":"Not Found"}.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, gatewayError{StatusCode: status, Error: http.StatusText(status), Message: message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Request failed, please try again later")
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
