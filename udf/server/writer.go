package server

import (
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// writeLoop is the connection's only writer. Everything that is ready when
// it wakes leaves in one frame (an array of messages), so a burst of results
// costs one write instead of one per result.
func (ss *session) writeLoop() {
	defer close(ss.writerOut)
	s := ss.srv
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	// A timer re-armed once a stats message has been written, not a ticker:
	// a tick that waited while the writer was stuck in a slow write would be
	// followed by the next one sooner than StatsInterval, and the wire protocol (README, "Call it from scripts")
	// promises stats at most once a second.
	stats := time.NewTimer(s.opts.StatsInterval)
	defer stats.Stop()
	var enc encoder
	var last statsMessage
	for {
		select {
		case <-ss.wake:
			if !ss.flushOrClose(&enc) {
				return
			}
		case <-ping.C:
			if err := ss.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.opts.WriteWait)); err != nil {
				ss.conn.Close()
				return
			}
		case <-stats.C:
			if ss.welcomed.Load() {
				if st := newStatsMessage(s.reg.Stats()); st != last {
					last = st
					b, _ := jsonMarshal(st)
					ss.send(b)
					if !ss.flushOrClose(&enc) {
						return
					}
				}
			}
			stats.Reset(s.opts.StatsInterval)
		case <-ss.closeReq:
			ss.mu.Lock()
			code, reason, msg := ss.closeCode, ss.closeReason, ss.closeMsg
			ss.mu.Unlock()
			if err := ss.flush(&enc); err != nil {
				return
			}
			if msg != nil {
				ss.conn.SetWriteDeadline(time.Now().Add(s.opts.WriteWait))
				if ss.conn.WriteMessage(websocket.TextMessage, msg) != nil {
					return
				}
			}
			if code > 0 {
				s.metrics.closes.WithLabelValues(strconv.Itoa(code)).Inc()
				ss.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
					time.Now().Add(s.opts.WriteWait))
			}
			return
		}
	}
}

// flushOrClose flushes the outbox; if writing fails it closes the
// connection, which unblocks the reader, and reports false.
func (ss *session) flushOrClose(enc *encoder) bool {
	if err := ss.flush(enc); err != nil {
		ss.log.Debug().Err(err).Msg("write failed")
		ss.conn.Close()
		return false
	}
	return true
}

// encoder holds the writer's reusable buffers.
type encoder struct {
	buf  []byte // every item of a flush, encoded back to back
	ends []int  // ends[i] is where item i ends in buf
}

// flush sends everything in the outbox, in frames of at most MaxFrameBytes
// (a single message larger than that still goes alone), then frees the
// sent results' places under the cap.
func (ss *session) flush(enc *encoder) error {
	s := ss.srv
	ss.mu.Lock()
	items := ss.out
	ss.out, ss.spare = ss.spare[:0], nil
	ss.mu.Unlock()
	if len(items) == 0 {
		ss.putSpare(items, 0)
		return nil
	}
	enc.buf, enc.ends = enc.buf[:0], enc.ends[:0]
	results := 0
	for _, it := range items {
		if it.raw != nil {
			enc.buf = append(enc.buf, it.raw...)
		} else {
			enc.buf = appendResult(enc.buf, it.id, it.v)
			results++
		}
		enc.ends = append(enc.ends, len(enc.buf))
	}
	max := int(s.opts.MaxFrameBytes)
	start, first := 0, 0 // byte offset and index of the frame's first item
	for i := range enc.ends {
		last := i == len(enc.ends)-1
		if !last && enc.ends[i+1]-start+(i+2-first)+1 <= max {
			continue // the next item still fits in this frame
		}
		if err := ss.writeFrame(enc, first, i, start); err != nil {
			ss.putSpare(items, 0)
			return err
		}
		s.metrics.framesOut.Inc()
		start, first = enc.ends[i], i+1
	}
	ss.putSpare(items, results)
	return nil
}

// writeFrame writes items first..last (inclusive) as one message: the item
// itself when alone, else a JSON array.
func (ss *session) writeFrame(enc *encoder, first, last, start int) error {
	ss.conn.SetWriteDeadline(time.Now().Add(ss.srv.opts.WriteWait))
	w, err := ss.conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	if first == last {
		w.Write(enc.buf[start:enc.ends[last]])
		return w.Close()
	}
	w.Write([]byte{'['})
	from := start
	for i := first; i <= last; i++ {
		if i > first {
			w.Write([]byte{','})
		}
		w.Write(enc.buf[from:enc.ends[i]])
		from = enc.ends[i]
	}
	w.Write([]byte{']'})
	return w.Close()
}

// putSpare returns the writer's slice for reuse and releases the places of
// the results just written.
func (ss *session) putSpare(items []outItem, results int) {
	clear(items) // drop references to values already sent
	ss.mu.Lock()
	if ss.spare == nil {
		ss.spare = items[:0]
	}
	ss.releaseLocked(results)
	ss.mu.Unlock()
}
