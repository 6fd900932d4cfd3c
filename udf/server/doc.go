// Package server is the live front door of xlbatch: it serves the Excel
// add-in's files, functions.json and the manifest, and answers spreadsheet
// function calls over a WebSocket, all from one origin
// (https://localhost:8765 by default), over a udf.Registry.
//
// # The wire protocol, version 1
//
// A client opens a WebSocket at /v1/ws and exchanges text frames of JSON.
// A frame carries one message object or an array of them; clients put the
// calls of one tick in one frame, and the server answers with whatever
// results are ready in one frame too.
//
// The client's first message is hello, naming protocol 1 and, when the
// server was started with --token, the token. The server answers welcome
// with its version, the function names and the largest frame it reads.
// Then the client sends call messages, each with an integer id unique among
// its unanswered calls, a function name in any written form (GEOLOCATE,
// XLB.GEOLOCATE, _xldudf_XLB_GEOLOCATE), arguments in parameter order and,
// optionally, the calling cell and a preview flag (answer from the cache
// only). Each call gets exactly one result, in any order: a value, or an
// Excel error code with a message. A cancel message withdraws a call: no
// result follows, and the engine stops looking its key up unless another
// call wants it too.
//
// Values map to JSON as numbers, strings, booleans, null (a blank cell),
// {"error": "#N/A"} for the seven error codes, and arrays of rows (never
// ragged) for ranges.
//
// The server also sends stats (engine counters) at most once a second while
// they change, and error messages. It ends a connection with close code
// 1002 for malformed JSON, an unknown message type, a first message that is
// not hello or an unsupported protocol; 1003 for a binary frame; 1009 for a
// frame over maxFrameBytes; 1008 for a missing or wrong token; and 1001 when
// it shuts down, after answering or failing every pending call. A client
// that reaches the pending-call cap is not dropped: the server stops reading
// it until calls complete.
//
// Requests are refused with 403 before any upgrade when the Host header is
// not a loopback name (DNS rebinding) or when an Origin header names a
// site other than the server itself or an --allow-origin. POST /v1/calls
// takes {"calls": [...]} and answers {"results": [...]} under the same rules.
//
// # Inside
//
// Each connection has one reader (the HTTP handler goroutine) and one writer
// goroutine, the only one that writes to the socket. The calls of a frame
// run together through Registry.CallMany on one goroutine; see calls.go for
// how a single call among them is cancelled.
package server
