package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/xlbatch/xlbatch/udf"
)

// ProtocolVersion is the wire protocol version this server speaks.
const ProtocolVersion = 1

// Close codes of the protocol (RFC 6455 numbers).
const (
	CloseGoingAway       = 1001 // server shutting down, after every pending call was answered or failed
	CloseProtocolError   = 1002 // malformed JSON, unknown message type, no hello first, bad protocol
	CloseUnsupportedData = 1003 // a binary frame: the protocol is text frames of JSON
	ClosePolicyViolation = 1008 // missing or wrong token
	CloseMessageTooBig   = 1009 // frame larger than maxFrameBytes
)

// inMessage is any client → server message; which fields matter depends on
// Type. decodeFrame fills it; unknown fields are ignored so that clients can
// extend the protocol compatibly.
type inMessage struct {
	Type string

	// hello
	Protocol *int
	Client   string
	Token    *string

	// call and cancel
	ID      int64
	HasID   bool
	Fn      string
	Values  []udf.Value // args
	Caller  string
	Preview bool
	// argErr, when set, is why an argument is not a protocol value: the
	// call is answered #VALUE! with it.
	argErr string
}

// protocolError ends a connection with a close code and a reason.
type protocolError struct {
	code   int
	reason string
}

func (e *protocolError) Error() string { return e.reason }

func malformed(format string, args ...any) *protocolError {
	return &protocolError{code: CloseProtocolError, reason: fmt.Sprintf(format, args...)}
}

// parseFrame decodes one text frame: a message object or an array of them.
func parseFrame(data []byte, names map[string]string) ([]inMessage, *protocolError) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return nil, malformed("malformed JSON: empty frame")
	}
	msgs, err := decodeFrame(data, names)
	if err != nil {
		return nil, malformed("malformed JSON: %s", shortErr(err))
	}
	return msgs, nil
}

// shortErr keeps a decoding error short enough for a close reason, which
// RFC 6455 limits to 123 bytes together with the "malformed JSON: " prefix.
func shortErr(err error) string {
	s := err.Error()
	if len(s) > 90 {
		s = s[:90]
	}
	return s
}

// decodeArgs turns a call's raw arguments into values. A bad value is
// answered with #VALUE! for that call alone, not by ending the connection:
// the frame itself was valid JSON.
func decodeArgs(raw []json.RawMessage) ([]udf.Value, udf.Value, bool) {
	if len(raw) == 0 {
		return nil, udf.Value{}, true
	}
	args := make([]udf.Value, len(raw))
	for i, r := range raw {
		if err := args[i].UnmarshalJSON(r); err != nil {
			return nil, udf.Errorf(udf.ErrValue, "argument %d: %v", i+1, err), false
		}
	}
	return args, udf.Value{}, true
}

// appendResult appends a result message for one call.
func appendResult(b []byte, id int64, v udf.Value) []byte {
	b = append(b, `{"type":"result","id":`...)
	b = strconv.AppendInt(b, id, 10)
	if v.IsError() {
		b = append(b, `,"error":`...)
		b = strconv.AppendQuote(b, string(v.Code()))
		if msg := v.Message(); msg != "" {
			b = append(b, `,"message":`...)
			b = appendJSONString(b, msg)
		}
		return append(b, '}')
	}
	b = append(b, `,"value":`...)
	out, err := v.AppendJSON(b)
	if err != nil {
		// Only an unknown kind fails, which no function can build; answer
		// with an error rather than a broken frame.
		b = b[:len(b)-len(`,"value":`)]
		b = append(b, `,"error":"#VALUE!","message":"result could not be encoded"`...)
		return append(b, '}')
	}
	return append(out, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // a Go string always marshals
		return append(b, `""`...)
	}
	return append(b, q...)
}

// welcomeMessage is the server's answer to hello.
type welcomeMessage struct {
	Type          string   `json:"type"`
	Protocol      int      `json:"protocol"`
	Server        string   `json:"server"`
	Functions     []string `json:"functions"`
	MaxFrameBytes int64    `json:"maxFrameBytes"`
}

// statsMessage carries the engine-wide counters the task pane shows.
// Errors is an addition to the documented fields; clients ignore what they
// do not know.
type statsMessage struct {
	Type             string `json:"type"`
	Calls            uint64 `json:"calls"`
	Batches          uint64 `json:"batches"`
	UpstreamRequests uint64 `json:"upstreamRequests"`
	CacheHits        uint64 `json:"cacheHits"`
	Pending          int64  `json:"pending"`
	Errors           uint64 `json:"errors"`
}

func newStatsMessage(s udf.Stats) statsMessage {
	return statsMessage{Type: "stats", Calls: s.Calls, Batches: s.Batches,
		UpstreamRequests: s.UpstreamRequests, CacheHits: s.CacheHits, Pending: s.Pending, Errors: s.Errors}
}

// errorMessage tells the client what went wrong, before a close or for a
// problem that does not end the connection.
type errorMessage struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func encodeError(msg string) []byte {
	b, _ := json.Marshal(errorMessage{Type: "error", Message: msg})
	return b
}
