package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/xlbatch/xlbatch/udf"
)

// session is one WebSocket connection.
//
// Goroutines: the HTTP handler goroutine reads (readLoop) and, when reading
// ends, cleans up; writeLoop is the only goroutine that writes to conn (gorilla
// allows one writer); the calls of a frame run together on a goroutine of
// their own (calls.go) and hand their results to the outbox.
type session struct {
	srv  *Server
	conn *websocket.Conn
	log  zerolog.Logger
	id   uint64

	wake      chan struct{} // cap 1: the outbox went from empty to non-empty
	room      chan struct{} // cap 1: unanswered dropped below the cap
	closeReq  chan struct{} // closed when the writer must flush, send closeMsg and stop
	writerOut chan struct{} // closed when writeLoop has returned
	welcomed  atomic.Bool   // hello was accepted: stats may be sent

	mu sync.Mutex // protects the fields below
	// calls are the calls running for this connection, by id. A call leaves
	// the map exactly once: when its result enters the outbox, when the
	// client cancels it, or when the connection or the server fails it.
	calls map[int64]*call
	// out are messages waiting for the writer, in order. spare is the
	// writer's previous slice, reused to avoid an allocation per frame.
	out, spare []outItem
	// unanswered counts calls read and neither answered on the wire nor
	// cancelled: the number the back-pressure cap applies to.
	unanswered int
	waiting    bool // the reader waits for room
	// readingStopped is set by shutdown: the pong handler must no longer
	// push the read deadline forward.
	readingStopped bool
	// drained is closed when calls becomes empty while draining is set.
	draining bool
	drained  chan struct{}
	// closeCode, closeReason and closeMsg are what the writer sends after
	// closeReq: an error message (if any) and a close frame (if code > 0).
	closeCode   int
	closeReason string
	closeMsg    []byte
	closeOnce   bool
}

// outItem is a result (raw == nil) or an already encoded message.
type outItem struct {
	id  int64
	v   udf.Value
	raw []byte
}

// serveWS upgrades the request and runs the connection until it ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.shutting.Load() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := s.upg.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug().Err(err).Msg("websocket upgrade failed")
		return // the upgrader has answered with an HTTP error
	}
	ss := &session{
		srv:       s,
		conn:      conn,
		wake:      make(chan struct{}, 1),
		room:      make(chan struct{}, 1),
		closeReq:  make(chan struct{}),
		writerOut: make(chan struct{}),
		calls:     map[int64]*call{},
		drained:   make(chan struct{}),
	}
	if !s.addSession(ss) {
		conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	defer s.removeSession(ss)
	ss.log = s.log.With().Uint64("conn", ss.id).Str("remote", r.RemoteAddr).Logger()
	s.metrics.connections.Inc()
	s.metrics.connectionsAll.Inc()
	defer s.metrics.connections.Dec()
	ss.run()
}

// run reads until the connection ends, then settles every call and closes.
func (ss *session) run() {
	s := ss.srv
	ss.conn.SetReadLimit(s.opts.MaxFrameBytes)
	ss.mu.Lock()
	if !ss.readingStopped { // Shutdown may already have stopped reading
		ss.conn.SetReadDeadline(time.Now().Add(s.opts.PongWait))
	}
	ss.mu.Unlock()
	ss.conn.SetPongHandler(func(string) error {
		ss.mu.Lock()
		if !ss.readingStopped {
			ss.conn.SetReadDeadline(time.Now().Add(s.opts.PongWait))
		}
		ss.mu.Unlock()
		return nil
	})
	go ss.writeLoop()

	perr, readErr := ss.readLoop()
	switch {
	case perr != nil:
		ss.log.Warn().Int("code", perr.code).Str("reason", perr.reason).Msg("closing connection: protocol error")
		ss.abandonCalls()
		ss.requestClose(perr.code, perr.reason, encodeError(perr.reason))
	case s.shutting.Load():
		ss.drain()
		ss.requestClose(CloseGoingAway, "server shutting down", nil)
	default:
		// The client went away, closed, sent an oversized frame (gorilla
		// has already sent 1009) or stopped answering pings.
		if errors.Is(readErr, websocket.ErrReadLimit) {
			s.metrics.closes.WithLabelValues("1009").Inc()
			ss.log.Warn().Int64("limit", s.opts.MaxFrameBytes).Msg("closed connection: frame larger than maxFrameBytes")
		} else {
			ss.log.Debug().Err(readErr).Msg("connection ended")
		}
		ss.abandonCalls()
		ss.requestClose(0, "", nil)
	}
	<-ss.writerOut
	if ss.closeCode > 0 || errors.Is(readErr, websocket.ErrReadLimit) {
		ss.linger()
	}
	ss.conn.Close()
	ss.log.Debug().Msg("connection closed")
}

// readLoop reads frames and dispatches their messages. It returns a
// protocol error that must close the connection, or the read error that
// ended it.
func (ss *session) readLoop() (*protocolError, error) {
	var buf bytes.Buffer
	names := map[string]string{}
	hello := false
	for {
		mt, rd, err := ss.conn.NextReader()
		if err != nil {
			return nil, err
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return nil, err
		}
		ss.srv.metrics.framesIn.Inc()
		if mt != websocket.TextMessage {
			return &protocolError{code: CloseUnsupportedData, reason: "frames must be text (UTF-8 JSON)"}, nil
		}
		msgs, perr := parseFrame(buf.Bytes(), names)
		if perr != nil {
			return perr, nil
		}
		fb := frameBatch{g: &group{}, read: time.Now(), slab: make([]call, 0, len(msgs))}
		for i := range msgs {
			m := &msgs[i]
			if !hello {
				if perr := ss.hello(m); perr != nil {
					return perr, nil
				}
				hello = true
				continue
			}
			switch m.Type {
			case "call":
				if !m.HasID {
					return malformed("call without an integer id"), nil
				}
				if !ss.addCall(&fb, m) {
					// Shutting down while waiting for room: start what
					// was accepted, fail what was read and not
					// accepted, so that nothing is lost.
					ss.endFrame(&fb)
					ss.failUnstarted(msgs[i:])
					return nil, errShuttingDown
				}
			case "cancel":
				if !m.HasID {
					return malformed("cancel without an integer id"), nil
				}
				ss.cancelCall(&fb, m.ID)
			case "hello":
				ss.send(encodeError("hello was already received; ignored"))
			default:
				return malformed("unknown message type %q", truncate(m.Type, 40)), nil
			}
		}
		ss.endFrame(&fb)
	}
}

var errShuttingDown = errors.New("server shutting down")

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// hello checks the first message and queues welcome.
func (ss *session) hello(m *inMessage) *protocolError {
	s := ss.srv
	if m.Type != "hello" {
		return malformed("first message must be hello")
	}
	if m.Protocol == nil || *m.Protocol != ProtocolVersion {
		got := "none"
		if m.Protocol != nil {
			got = truncate(itoa(int64(*m.Protocol)), 20)
		}
		return malformed("unsupported protocol %s: this server speaks protocol %d", got, ProtocolVersion)
	}
	if s.access.token != "" {
		if m.Token == nil || *m.Token == "" {
			s.metrics.rejected.WithLabelValues("token").Inc()
			return &protocolError{code: ClosePolicyViolation, reason: "token required: start the add-in with the server's token"}
		}
		if !s.access.tokenOK(*m.Token) {
			s.metrics.rejected.WithLabelValues("token").Inc()
			return &protocolError{code: ClosePolicyViolation, reason: "wrong token"}
		}
	}
	// ss.log stays as it is: the writer goroutine reads it.
	ss.log.Info().Str("client", truncate(m.Client, 80)).Msg("client connected")
	b, _ := jsonMarshal(welcomeMessage{
		Type: "welcome", Protocol: ProtocolVersion, Server: "xlbatch/" + s.opts.Version,
		Functions: s.functionNames(), MaxFrameBytes: s.opts.MaxFrameBytes,
	})
	ss.send(b)
	ss.welcomed.Store(true)
	return nil
}

// requestClose asks the writer to flush the outbox, send msg (if any) and a
// close frame with code (if code > 0), and stop.
func (ss *session) requestClose(code int, reason string, msg []byte) {
	ss.mu.Lock()
	if !ss.closeOnce {
		ss.closeOnce = true
		ss.closeCode, ss.closeReason, ss.closeMsg = code, reason, msg
		close(ss.closeReq)
	}
	ss.mu.Unlock()
}

// linger waits briefly for the client's side of the closing handshake, so
// that closing the socket with unread data does not reset the connection
// and destroy the close frame before the client reads it.
func (ss *session) linger() {
	nc := ss.conn.NetConn()
	nc.SetReadDeadline(time.Now().Add(ss.srv.opts.LingerTimeout))
	io.Copy(io.Discard, io.LimitReader(nc, 4*ss.srv.opts.MaxFrameBytes))
}
