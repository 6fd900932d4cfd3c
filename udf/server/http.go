package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xlbatch/xlbatch/udf"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// writeJSONError answers an HTTP request with {"error": msg}.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}

// httpCall is one call in a POST /v1/calls body.
type httpCall struct {
	ID      *int64            `json:"id"`
	Fn      string            `json:"fn"`
	Args    []json.RawMessage `json:"args"`
	Caller  string            `json:"caller"`
	Preview bool              `json:"preview"`
}

// serveCalls answers POST /v1/calls: all calls of the body run together, as
// one WebSocket frame's would, and the answer lists one result per call in
// the same order.
func (s *Server) serveCalls(w http.ResponseWriter, r *http.Request) {
	if !s.access.tokenOK(requestToken(r)) {
		s.metrics.rejected.WithLabelValues("token").Inc()
		writeJSONError(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer TOKEN")
		return
	}
	if s.shutting.Load() {
		writeJSONError(w, http.StatusServiceUnavailable, "server shutting down")
		return
	}
	var body struct {
		Calls []httpCall `json:"calls"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opts.MaxFrameBytes))
	err := dec.Decode(&body)
	if err == nil {
		// One JSON value and nothing after it, as in a WebSocket frame.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON body")
			if terr != nil && !errors.Is(terr, io.ErrUnexpectedEOF) {
				err = terr
			}
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "body larger than "+itoa(s.opts.MaxFrameBytes)+" bytes")
			return
		}
		writeJSONError(w, http.StatusBadRequest, "malformed JSON: "+shortErr(err))
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.force: // the shutdown deadline passed: stop waiting upstream
			cancel()
		case <-ctx.Done():
		}
	}()

	results := make([]udf.Value, len(body.Calls))
	var calls []udf.Call
	var idx []int
	for i, c := range body.Calls {
		args, bad, ok := decodeArgs(c.Args)
		if !ok {
			results[i] = bad
			continue
		}
		calls = append(calls, udf.Call{Fn: c.Fn, Args: args, Preview: c.Preview, Caller: c.Caller})
		idx = append(idx, i)
	}
	if len(calls) > 0 {
		for j, v := range s.reg.CallMany(ctx, calls) {
			results[idx[j]] = v
		}
	}

	b := append(make([]byte, 0, 64*len(results)+16), `{"results":[`...)
	for i, v := range results {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHTTPResult(b, body.Calls[i].ID, v)
		if v.IsError() {
			s.metrics.httpErrors.Inc()
		} else {
			s.metrics.httpValues.Inc()
		}
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// appendHTTPResult appends {"id":…,"value":…} or {"id":…,"error":…,"message":…}.
func appendHTTPResult(b []byte, id *int64, v udf.Value) []byte {
	var one []byte
	if id != nil {
		one = appendResult(nil, *id, v)
		one = one[len(`{"type":"result",`):] // keep "id":…
		return append(append(b, '{'), one...)
	}
	one = appendResult(nil, 0, v)
	one = one[len(`{"type":"result","id":0,`):]
	return append(append(b, '{'), one...)
}

// serveHealth answers GET /healthz.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status := "ok"
	if s.shutting.Load() {
		status = "shutting down"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	b, _ := json.Marshal(map[string]string{"status": status, "version": s.opts.Version})
	w.Write(append(b, '\n'))
}

// serveFunctionsJSON answers GET /functions.json from the registry, so a
// function added in Go appears in Excel without touching the add-in.
func (s *Server) serveFunctionsJSON(w http.ResponseWriter, r *http.Request) {
	b, err := s.reg.FunctionsJSON()
	if err != nil {
		s.log.Error().Err(err).Msg("functions.json")
		writeJSONError(w, http.StatusInternalServerError, "functions.json: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// serveManifest answers GET /manifest.xml: the template filled with this
// server's URL.
func (s *Server) serveManifest(w http.ResponseWriter, r *http.Request) {
	if s.opts.Files == nil {
		http.NotFound(w, r)
		return
	}
	b, err := Manifest(s.opts.Files, s.URL())
	if err != nil {
		s.log.Error().Err(err).Msg("manifest.xml")
		http.Error(w, "manifest.xml: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Disposition", `inline; filename="manifest.xml"`)
	w.Write(b)
}

// serveFile answers GET / with the task pane and other paths with the
// add-in's files.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	if s.opts.Files == nil {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "taskpane.html"
	}
	st, err := fs.Stat(s.opts.Files, name)
	if err != nil || st.IsDir() || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, s.opts.Files, name)
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}
