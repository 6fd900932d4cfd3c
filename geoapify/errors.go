package geoapify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinels callers branch on with errors.Is. An *APIError matches
// ErrUnauthorized for a 401 and ErrRateLimited for a 429.
var (
	// ErrUnauthorized reports a missing or invalid API key (HTTP 401).
	ErrUnauthorized = errors.New("geoapify: unauthorized")
	// ErrRateLimited reports HTTP 429: too many requests per second or the daily quota.
	ErrRateLimited = errors.New("geoapify: rate limited")
	// ErrJobExpired reports a batch job the server no longer knows (HTTP 404 on a poll):
	// its results outlived their retention. The client resubmits such a job once.
	ErrJobExpired = errors.New("geoapify: batch job expired")
	// ErrJobTimeout reports a batch job still pending when Options.JobTimeout ran out.
	ErrJobTimeout = errors.New("geoapify: batch job did not finish in time")
	// ErrNoAPIKey is returned by New when Options.APIKey is empty.
	ErrNoAPIKey = errors.New("geoapify: no API key")
)

// APIError is an HTTP error status from Geoapify. Its fields come from the
// JSON error body {"statusCode","error","message"} when there is one.
type APIError struct {
	Op      string // what the client was doing: "search", "submit batch job", …
	Status  int    // HTTP status code
	Reason  string // the body's "error" field, an HTTP reason phrase such as "Bad Request"
	Message string // the body's "message" field; may be empty

	retryAfter time.Duration
}

// Error describes the failure without the API key.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("geoapify: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if e.Reason != "" {
		b.WriteByte(' ')
		b.WriteString(e.Reason)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.retryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.retryAfter)
	}
	return b.String()
}

// Is lets errors.Is match ErrUnauthorized and ErrRateLimited.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// RetryAfter is the server's Retry-After hint, or 0 when it sent none.
// Batchers that honour retry-after hints find it through this method.
func (e *APIError) RetryAfter() time.Duration { return e.retryAfter }

// TransportError is a failure to get any HTTP answer: connection refused or
// dropped, a request timeout, a body cut short. Its text and its wrapped
// error carry the request URL with the API key removed.
type TransportError struct {
	Op     string
	Method string
	URL    string // redacted
	Err    error
}

// Error describes the failure without the API key.
func (e *TransportError) Error() string {
	return fmt.Sprintf("geoapify: %s: %s %s: %v", e.Op, e.Method, e.URL, e.Err)
}

// Unwrap returns the redacted underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// MalformedError is an answer whose body could not be understood: invalid
// JSON, or a batch result whose length does not match the request.
type MalformedError struct {
	Op     string
	Status int
	Err    error
}

// Error describes the failure.
func (e *MalformedError) Error() string {
	return fmt.Sprintf("geoapify: %s: malformed response (HTTP %d): %v", e.Op, e.Status, e.Err)
}

// Unwrap returns the decoding error.
func (e *MalformedError) Unwrap() error { return e.Err }

// Retryable reports whether err is transient, so that the same request may
// succeed later: rate limiting (429), server errors (500, 502, 503, 504),
// request timeouts (408), transport failures (but for an untrusted
// certificate or an unknown host), malformed bodies and expired batch jobs. It is false for nil, ErrNoMatch (a definite answer), bad
// requests, a bad key, and a cancelled or expired caller context.
//
// A batcher's classifier maps ErrNoMatch to "definite", Retryable errors to
// "retryable" and everything else to "fatal".
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return !permanentTransport(te.Err)
	}
	var me *MalformedError
	if errors.As(err, &me) {
		return true
	}
	if errors.Is(err, ErrJobExpired) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return false
}

// permanentTransport reports transport failures that no retry can mend: a
// certificate the client does not trust, or a host name that does not exist.
func permanentTransport(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// IsDefinite reports whether err is an answer rather than a failure: the
// provider looked and found nothing. Such errors may be cached.
func IsDefinite(err error) bool { return errors.Is(err, ErrNoMatch) }

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
