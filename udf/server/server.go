package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/xlbatch/xlbatch/udf"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxFrameBytes = 1 << 20
	DefaultMaxPending    = 10000
	DefaultPongWait      = 60 * time.Second
	DefaultWriteWait     = 10 * time.Second
	DefaultStatsInterval = time.Second
)

// Options configure a Server. Registry is required; zero values of the
// others take the defaults above.
type Options struct {
	Registry *udf.Registry
	Logger   zerolog.Logger
	Version  string // reported in welcome and /healthz

	// TLS, when set, makes the server speak HTTPS and WSS; nil means plain
	// HTTP and ws://, for scripts and tests.
	TLS *tls.Config

	Token        string   // required in hello (and on POST /v1/calls) when set
	AllowOrigins []string // origins allowed besides the server's own

	// Files are the add-in's static files (taskpane.html, functions.js,
	// manifest.xml as a template, styles). Nil serves none.
	Files fs.FS

	MaxFrameBytes int64         // largest frame read; larger ends the connection with 1009
	MaxPending    int           // unanswered calls per connection before the server stops reading
	PongWait      time.Duration // a connection that answers no ping for this long is closed
	PingInterval  time.Duration // default 9/10 of PongWait
	WriteWait     time.Duration // a write that takes longer ends the connection
	StatsInterval time.Duration // stats messages at most this often
	// LingerTimeout bounds how long the server waits for the client's
	// closing handshake after sending a close frame; default 2s.
	LingerTimeout time.Duration
}

// Server serves one registry over HTTP and WebSocket. Create it with New,
// start it with Serve, stop it with Shutdown.
type Server struct {
	opts    Options
	reg     *udf.Registry
	log     zerolog.Logger
	metrics *metrics
	upg     websocket.Upgrader

	access  *access // set by Serve before the first request
	baseURL string  // set by Serve
	http    *http.Server

	calls sync.WaitGroup // goroutines running groups of calls

	mu       sync.Mutex // protects sessions, http, baseURL and access (written once)
	sessions map[*session]struct{}
	nextID   uint64

	shutting atomic.Bool
	// draining is closed when Shutdown starts: readers stop, pending calls
	// may still finish. force is closed when Shutdown's context ends: what
	// is still pending is failed with a message.
	draining chan struct{}
	force    chan struct{}
	sessWG   sync.WaitGroup // sessions still running
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if opts.Registry == nil {
		return nil, errors.New("server: no registry")
	}
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.PongWait <= 0 {
		opts.PongWait = DefaultPongWait
	}
	if opts.PingInterval <= 0 || opts.PingInterval >= opts.PongWait {
		opts.PingInterval = opts.PongWait * 9 / 10
	}
	if opts.WriteWait <= 0 {
		opts.WriteWait = DefaultWriteWait
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = DefaultStatsInterval
	}
	if opts.LingerTimeout <= 0 {
		opts.LingerTimeout = 2 * time.Second
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &Server{
		opts:     opts,
		reg:      opts.Registry,
		log:      opts.Logger.With().Str("component", "server").Logger(),
		metrics:  newMetrics(opts.Registry),
		sessions: map[*session]struct{}{},
		draining: make(chan struct{}),
		force:    make(chan struct{}),
	}
	s.upg = websocket.Upgrader{
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 32 << 10,
		// guard has already refused foreign origins with 403; this repeats
		// the check so the upgrader can never be reached without it.
		CheckOrigin: func(r *http.Request) bool { return s.access.originAllowed(r.Header.Get("Origin"), r.Host) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			http.Error(w, reason.Error(), status)
		},
	}
	return s, nil
}

// Serve answers requests on l until Shutdown. It returns http.ErrServerClosed
// after a Shutdown. Serve may run on several listeners at once (127.0.0.1 and
// [::1], since "localhost" may resolve to either) if they share one port. A non-loopback listener needs a token: without one any
// machine on the network could spend the API key's credits.
func (s *Server) Serve(l net.Listener) error {
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("server: listener %s is not TCP", l.Addr())
	}
	network := !addr.IP.IsLoopback()
	if network && s.opts.Token == "" {
		return fmt.Errorf("server: listening on %s (not loopback) needs --token", addr)
	}
	scheme := "http"
	if s.opts.TLS != nil {
		scheme = "https"
	}
	port := fmt.Sprint(addr.Port)
	acc, err := newAccess(scheme, port, network, s.opts.AllowOrigins, s.opts.Token)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	if s.http == nil {
		s.access = acc
		s.baseURL = URLFor(addr, s.opts.TLS != nil)
		s.http = &http.Server{
			Handler:           s.handler(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			// TLS handshake failures land here: usually a browser that
			// does not trust the certificate yet.
			ErrorLog: log.New(zerologWriter{s.log}, "", 0),
		}
	} else if s.access.port != port || s.access.network != network {
		s.mu.Unlock()
		return fmt.Errorf("server: listener %s differs in port or scope from the first one", addr)
	}
	hs := s.http
	s.mu.Unlock()
	if s.opts.TLS != nil {
		l = tls.NewListener(l, s.opts.TLS)
	}
	return hs.Serve(l)
}

// zerologWriter turns net/http's error log lines into warnings.
type zerologWriter struct{ log zerolog.Logger }

func (w zerologWriter) Write(p []byte) (int, error) {
	w.log.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// URLFor returns the base URL a server listening on addr is reached at:
// https://localhost:PORT for loopback and any-address listeners (the name
// the certificate and the add-in's origin use), the address itself otherwise.
func URLFor(addr net.Addr, useTLS bool) string {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	host, port := "localhost", ""
	if a, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprint(a.Port)
		if !a.IP.IsLoopback() && !a.IP.IsUnspecified() {
			host = a.IP.String()
		}
	} else if _, p, err := net.SplitHostPort(addr.String()); err == nil {
		port = p
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// URL returns the server's base URL, such as https://localhost:8765, once
// Serve has started.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// handler returns the server's routes behind the Host and Origin checks.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ws", s.serveWS)
	mux.HandleFunc("POST /v1/calls", s.serveCalls)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /functions.json", s.serveFunctionsJSON)
	mux.HandleFunc("GET /manifest.xml", s.serveManifest)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /", s.serveFile)
	return s.guard(mux)
}

// Shutdown stops the server: it stops taking connections and reading calls,
// lets pending calls finish while ctx lasts, then fails what is left with
// #N/A and a message, and closes every connection with 1001. It returns when
// every connection is closed and every call goroutine has ended.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.shutting.Swap(true)
	hs := s.http
	if first {
		close(s.draining)
	}
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	if !first {
		return errors.New("server: Shutdown called twice")
	}
	s.log.Info().Int("connections", len(sessions)).Msg("shutting down: answering pending calls")
	for _, ss := range sessions {
		ss.stopReading()
	}

	// Plain HTTP requests (POST /v1/calls) end with their calls; the
	// listener closes now so no new connection arrives.
	httpDone := make(chan error, 1)
	go func() {
		if hs == nil {
			httpDone <- nil
			return
		}
		httpDone <- hs.Shutdown(ctx)
	}()

	sessDone := make(chan struct{})
	go func() { s.sessWG.Wait(); close(sessDone) }()
	var err error
	select {
	case <-sessDone:
	case <-ctx.Done():
		close(s.force)
		err = ctx.Err()
		<-sessDone
	}
	if herr := <-httpDone; herr != nil && err == nil {
		err = herr
	}
	if hs != nil {
		hs.Close() // whatever is still open after ctx ended
	}
	// Calls whose results were no longer wanted may still be returning;
	// functions must honour their context, so this wait is short.
	callsDone := make(chan struct{})
	go func() { s.calls.Wait(); close(callsDone) }()
	select {
	case <-callsDone:
	case <-time.After(10 * time.Second):
		s.log.Warn().Msg("shutdown: some function calls ignore cancellation and are still running")
	}
	s.log.Info().Msg("shut down")
	return err
}

// addSession registers a connection unless the server is shutting down.
func (s *Server) addSession(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.nextID++
	ss.id = s.nextID
	s.sessions[ss] = struct{}{}
	s.sessWG.Add(1)
	return true
}

func (s *Server) removeSession(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
	s.sessWG.Done()
}

// functionNames lists the registry's functions for welcome.
func (s *Server) functionNames() []string {
	specs := s.reg.Specs()
	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = strings.ToUpper(sp.Name)
	}
	return names
}
