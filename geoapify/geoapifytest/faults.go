package geoapifytest

import (
	"net/http"
	"strconv"
	"time"
)

// Fault is one scripted misbehaviour, handed to the next request that
// matches its Endpoint (see Inject). Exactly one of Status, Malformed and
// Drop should be set.
type Fault struct {
	Endpoint string // an Endpoint… constant; "" matches any request

	// Status answers with this HTTP status (500 when unset) and Geoapify's
	// GatewayError body for it, or Body when set.
	Status     int
	Body       string
	RetryAfter string // Retry-After header value, sent when not empty

	Malformed bool // 200 (202 on a submit) with a JSON body cut short
	Drop      bool // close the connection without answering
}

// Inject queues faults. Each request takes the first queued fault whose
// Endpoint matches it, before any random fault is drawn.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripted = append(s.scripted, faults...)
}

// takeFault returns the fault for a request to endpoint: a scripted one, or
// one drawn at the configured rates.
func (s *Server) takeFault(endpoint string) (Fault, bool) {
	s.mu.Lock()
	for i, f := range s.scripted {
		if f.Endpoint == "" || f.Endpoint == endpoint {
			s.scripted = append(s.scripted[:i], s.scripted[i+1:]...)
			kind := "status"
			switch {
			case f.Malformed:
				kind = "malformed"
			case f.Drop:
				kind = "drop"
			}
			s.counters.Faults[kind]++
			s.mu.Unlock()
			return f, true
		}
	}
	s.mu.Unlock()

	o := &s.opts
	if o.ErrorRate+o.RateLimitRate+o.MalformedRate+o.DropRate <= 0 {
		return Fault{}, false
	}
	u := s.float64n()
	var f Fault
	var kind string
	switch {
	case u < o.ErrorRate:
		kind = "5xx"
		f.Status = []int{500, 502, 503}[s.int64n(3)]
	case u < o.ErrorRate+o.RateLimitRate:
		kind = "429"
		f.Status = http.StatusTooManyRequests
		f.RetryAfter = retryAfterHeader(o.RetryAfter)
	case u < o.ErrorRate+o.RateLimitRate+o.MalformedRate:
		kind = "malformed"
		f.Malformed = true
	case u < o.ErrorRate+o.RateLimitRate+o.MalformedRate+o.DropRate:
		kind = "drop"
		f.Drop = true
	default:
		return Fault{}, false
	}
	s.mu.Lock()
	s.counters.Faults[kind]++
	s.mu.Unlock()
	return f, true
}

// serveFault answers a request with f.
func (s *Server) serveFault(w http.ResponseWriter, endpoint string, f Fault) {
	switch {
	case f.Drop:
		// The server closes the connection without writing a response.
		panic(http.ErrAbortHandler)
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch endpoint {
		case EndpointBatchSearchSubmit, EndpointBatchReverseSubmit:
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"id":"`))
		case EndpointBatchSearchPoll, EndpointBatchReversePoll:
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`[{"query":{"text":"`))
		default:
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"results":[{"lat":51.5,"lon":`))
		}
	default:
		if f.Status < 100 || f.Status > 999 {
			f.Status = http.StatusInternalServerError // a fault with no valid status still fails
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Body != "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(f.Status)
			w.Write([]byte(f.Body))
			return
		}
		if f.Status == http.StatusBadGateway {
			// A gateway in front of the API answers in HTML, not JSON.
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
			return
		}
		writeError(w, f.Status, defaultMessage(f.Status))
	}
}

// defaultMessage is Geoapify's message for a status, where documented.
func defaultMessage(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Invalid apiKey"
	case http.StatusTooManyRequests:
		return "Quota exceeded"
	case http.StatusInternalServerError:
		return "Request failed, please try again later"
	case http.StatusNotFound:
		return ""
	}
	return http.StatusText(status)
}

// retryAfterHeader renders d as whole seconds, rounded up; "" for d ≤ 0.
func retryAfterHeader(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// wait sleeps the configured latency, or less if the request or the server ends.
func (s *Server) wait(r *http.Request) {
	d := s.opts.Latency
	if j := s.opts.LatencyJitter; j > 0 {
		d += time.Duration(s.int64n(int64(j)))
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-s.closed:
	}
}
