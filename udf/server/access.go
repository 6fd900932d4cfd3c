package server

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// access decides who may talk to the server. Browsers do not apply the
// same-origin policy to WebSockets and any web page can reach loopback, so the
// server checks the Host header (against DNS rebinding), the Origin header
// (against cross-site WebSocket hijacking) and the token itself.
type access struct {
	scheme  string          // "https" or "http"
	port    string          // the port the server listens on
	network bool            // listening on a non-loopback address with a token: any Host
	allow   map[string]bool // extra origins, normalised by normOrigin
	token   string
}

func newAccess(scheme, port string, network bool, allowOrigins []string, token string) (*access, error) {
	a := &access{scheme: scheme, port: port, network: network, allow: map[string]bool{}, token: token}
	for _, o := range allowOrigins {
		n, ok := normOrigin(o)
		if !ok {
			return nil, fmt.Errorf("allowed origin %q is not an origin like https://example.com", o)
		}
		a.allow[n] = true
	}
	return a, nil
}

// normOrigin lower-cases an origin and writes its port explicitly, so that
// "https://Example.com" and "https://example.com:443" compare equal.
func normOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}

// isLoopbackName reports whether host (without port or brackets) names this machine.
func isLoopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostAllowed checks the Host header. On loopback only loopback names are
// accepted: a DNS-rebinding page reaches 127.0.0.1 under its own name.
func (a *access) hostAllowed(hostport string) bool {
	if a.network {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return isLoopbackName(host)
}

// originAllowed checks an Origin header. An absent Origin (scripts, curl) is
// allowed; the caller has already checked Host and will check the token.
func (a *access) originAllowed(origin, requestHost string) bool {
	if origin == "" {
		return true
	}
	n, ok := normOrigin(origin)
	if !ok {
		return false // includes "null", sent by sandboxed frames and file pages
	}
	if a.allow[n] {
		return true
	}
	u, _ := url.Parse(n)
	if u.Scheme != a.scheme {
		return false
	}
	if u.Port() == a.port && isLoopbackName(u.Hostname()) {
		return true
	}
	if a.network {
		// The server's own origin as the client reached it.
		own, ok := normOrigin(a.scheme + "://" + requestHost)
		return ok && own == n
	}
	return false
}

// tokenOK compares a presented token in constant time.
func (a *access) tokenOK(got string) bool {
	if a.token == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) == 1
}

// requestToken reads a token from an HTTP request: "Authorization: Bearer …"
// or the X-Xlbatch-Token header.
func requestToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return r.Header.Get("X-Xlbatch-Token")
}

// guard refuses requests with a foreign Host or Origin with 403 before any
// handler (and before a WebSocket upgrade) runs. Allowed cross-origin callers
// get CORS headers so a page on an --allow-origin site can POST calls.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.access.hostAllowed(r.Host) {
			s.metrics.rejected.WithLabelValues("host").Inc()
			s.log.Warn().Str("host", r.Host).Str("path", r.URL.Path).Msg("refused request: Host is not a loopback name")
			http.Error(w, "forbidden: Host must be localhost, 127.0.0.1 or [::1]", http.StatusForbidden)
			return
		}
		origin := r.Header.Get("Origin")
		if !s.access.originAllowed(origin, r.Host) {
			s.metrics.rejected.WithLabelValues("origin").Inc()
			s.log.Warn().Str("origin", origin).Str("path", r.URL.Path).Msg("refused request from a foreign origin (add it with --allow-origin if it is yours)")
			http.Error(w, "forbidden: origin not allowed", http.StatusForbidden)
			return
		}
		if origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Xlbatch-Token")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
