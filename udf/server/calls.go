package server

import (
	"context"
	"time"

	"github.com/xlbatch/xlbatch/udf"
)

// A connection's calls run in groups: the calls of one frame go to the
// registry together (Registry.CallMany, on one goroutine), so the functions
// see them at once and cached calls cost no goroutine each. A cancelled call
// must still leave the engine on its own: when a cancel hits a running
// group, the group's context is cancelled and its remaining calls restart as
// a new group, so the cancelled call's key is the only one no longer wanted
// (keys the new group asks for again merge with those already on their way).

// group is calls that run together.
type group struct {
	// calls never changes once the group has started.
	calls []*call
	// ctx and cancel are set when the group starts, under session.mu.
	ctx    context.Context
	cancel context.CancelFunc
	// superseded is set (under session.mu) when the group's remaining
	// calls moved to a new group: its results are ignored.
	superseded bool
}

// call is one call read from the connection.
type call struct {
	id    int64
	g     *group // the group that answers it; protected by session.mu
	uc    udf.Call
	start time.Time
}

// frameBatch collects one frame's work: calls not yet started, and started
// groups that lost a call to a cancel in this frame.
type frameBatch struct {
	g        *group
	affected []*group
	read     time.Time // when the frame was read: its calls' start
	// slab holds the frame's calls, one allocation for all of them.
	slab []call
}

// addCall accepts a call into fb, first waiting for room under the cap
// (back-pressure). It returns false when the server began shutting down
// while it waited.
func (ss *session) addCall(fb *frameBatch, m *inMessage) bool {
	s := ss.srv
	id := m.ID
	ss.mu.Lock()
	if ss.unanswered >= s.opts.MaxPending {
		// Start what this frame has accepted so far: those calls are what
		// will free room.
		ss.mu.Unlock()
		ss.startGroup(fb.g)
		fb.g = &group{}
		ss.mu.Lock()
		for ss.unanswered >= s.opts.MaxPending {
			// Stop reading until calls complete. Pings are not read
			// meanwhile, so the read deadline restarts afterwards.
			ss.waiting = true
			ss.mu.Unlock()
			select {
			case <-ss.room:
			case <-ss.writerOut:
				return true // the connection is ending; the next read fails
			case <-s.draining:
				return false
			}
			ss.mu.Lock()
			ss.waiting = false
			if !ss.readingStopped {
				ss.conn.SetReadDeadline(time.Now().Add(s.opts.PongWait))
			}
		}
	}
	defer ss.mu.Unlock()
	if _, dup := ss.calls[id]; dup {
		ss.appendLocked(outItem{raw: encodeError("call id " + itoa(id) + " is already in use by an unanswered call; ignored")})
		return true
	}
	ss.unanswered++
	if m.argErr != "" {
		ss.appendLocked(outItem{id: id, v: udf.Error(udf.ErrValue, m.argErr)})
		s.metrics.wsErrors.Inc()
		return true
	}
	if len(fb.slab) == cap(fb.slab) {
		fb.slab = make([]call, 0, 16)
	}
	fb.slab = append(fb.slab, call{id: id, g: fb.g, start: fb.read,
		uc: udf.Call{Fn: m.Fn, Args: m.Values, Preview: m.Preview, Caller: m.Caller}})
	c := &fb.slab[len(fb.slab)-1]
	ss.calls[id] = c
	fb.g.calls = append(fb.g.calls, c)
	s.metrics.pending.Inc()
	return true
}

// cancelCall drops a call: its result is never sent, and the engine stops
// waiting for its key unless another call wants it too.
func (ss *session) cancelCall(fb *frameBatch, id int64) {
	ss.mu.Lock()
	c, ok := ss.calls[id]
	if ok {
		ss.removeLocked(id)
		ss.releaseLocked(1)
		if g := c.g; g != fb.g && !containsGroup(fb.affected, g) {
			fb.affected = append(fb.affected, g)
		}
	} else {
		// The result may be ready and not yet sent: take it back.
		for i := range ss.out {
			if ss.out[i].raw == nil && ss.out[i].id == id {
				ss.out = append(ss.out[:i], ss.out[i+1:]...)
				ss.releaseLocked(1)
				break
			}
		}
	}
	ss.mu.Unlock()
	if ok {
		ss.srv.metrics.pending.Dec()
		ss.srv.metrics.cancelled.Inc()
	}
}

func containsGroup(gs []*group, g *group) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// endFrame starts the frame's new calls and restarts the groups its
// cancels cut into.
func (ss *session) endFrame(fb *frameBatch) {
	ss.startGroup(fb.g)
	fb.g = &group{}
	for _, g := range fb.affected {
		ss.split(g)
	}
	fb.affected = nil
}

// startGroup starts g's calls that are still wanted.
func (ss *session) startGroup(g *group) {
	ss.mu.Lock()
	live := g.calls[:0]
	for _, c := range g.calls {
		if ss.calls[c.id] == c {
			live = append(live, c)
		}
	}
	g.calls = live
	if len(live) == 0 {
		ss.mu.Unlock()
		return
	}
	ss.startLocked(g)
	ss.mu.Unlock()
}

// startLocked gives g a context and runs it.
func (ss *session) startLocked(g *group) {
	g.ctx, g.cancel = context.WithCancel(context.Background())
	ss.srv.calls.Add(1)
	go ss.runGroup(g)
}

// split cancels a started group that lost calls, restarting the calls it
// still has as a new group first so that their keys stay wanted.
func (ss *session) split(g *group) {
	ss.mu.Lock()
	if g.superseded {
		ss.mu.Unlock()
		return
	}
	var live []*call
	for _, c := range g.calls {
		if ss.calls[c.id] == c {
			live = append(live, c)
		}
	}
	if len(live) == len(g.calls) {
		ss.mu.Unlock()
		return
	}
	if len(live) > 0 {
		g.superseded = true
		ng := &group{calls: live}
		for _, c := range live {
			c.g = ng
		}
		ss.startLocked(ng)
	}
	ss.mu.Unlock()
	g.cancel()
}

// runGroup computes a group's calls and queues the results of those still
// wanted.
func (ss *session) runGroup(g *group) {
	s := ss.srv
	defer s.calls.Done()
	ucs := make([]udf.Call, len(g.calls))
	for i, c := range g.calls {
		ucs[i] = c.uc
	}
	vals := ss.callMany(g.ctx, ucs)
	now := time.Now()
	var values, errs int
	ss.mu.Lock()
	if !g.superseded {
		for i, c := range g.calls {
			if ss.calls[c.id] != c {
				continue // cancelled, or failed by shutdown
			}
			ss.removeLocked(c.id)
			ss.appendLocked(outItem{id: c.id, v: vals[i]})
			if vals[i].IsError() {
				errs++
			} else {
				values++
			}
			s.metrics.callSeconds.Observe(now.Sub(c.start).Seconds())
		}
	}
	ss.mu.Unlock()
	g.cancel()
	s.metrics.pending.Sub(float64(values + errs))
	s.metrics.wsValues.Add(float64(values))
	s.metrics.wsErrors.Add(float64(errs))
}

// callMany runs calls through the registry. A function that panics
// answers its calls with #N/A instead of taking the server down.
func (ss *session) callMany(ctx context.Context, ucs []udf.Call) (vals []udf.Value) {
	defer func() {
		if p := recover(); p != nil {
			ss.log.Error().Interface("panic", p).Msg("a function panicked")
			vals = make([]udf.Value, len(ucs))
			for i := range vals {
				vals[i] = udf.Error(udf.ErrNA, "internal error: the function failed; see the server log")
			}
		}
	}()
	return ss.srv.reg.CallMany(ctx, ucs)
}

// removeLocked deletes a call from the map and reports a finished drain.
func (ss *session) removeLocked(id int64) {
	delete(ss.calls, id)
	if ss.draining && len(ss.calls) == 0 {
		ss.draining = false
		close(ss.drained)
	}
}

// takeAllLocked removes every call and returns the started groups they
// belonged to, for the caller to cancel.
func (ss *session) takeAllLocked(each func(c *call)) []*group {
	var gs []*group
	for id, c := range ss.calls {
		if each != nil {
			each(c)
		}
		delete(ss.calls, id)
		if c.g.cancel != nil && !containsGroup(gs, c.g) {
			gs = append(gs, c.g)
		}
	}
	return gs
}

// abandonCalls cancels every call of a connection that is ending without a
// way to answer them.
func (ss *session) abandonCalls() {
	ss.mu.Lock()
	n := len(ss.calls)
	gs := ss.takeAllLocked(nil)
	ss.mu.Unlock()
	for _, g := range gs {
		g.cancel()
	}
	ss.srv.metrics.pending.Sub(float64(n))
	ss.srv.metrics.cancelled.Add(float64(n))
}

// failUnstarted answers calls that were read but not accepted because the
// server is shutting down.
func (ss *session) failUnstarted(msgs []inMessage) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i := range msgs {
		m := &msgs[i]
		if m.Type != "call" || !m.HasID {
			continue
		}
		ss.unanswered++
		ss.appendLocked(outItem{id: m.ID, v: udf.Error(udf.ErrNA, "server shutting down: call not started")})
		ss.srv.metrics.shutdownFailed.Inc()
	}
}

// stopReading makes a blocked read return at once; called by Shutdown.
func (ss *session) stopReading() {
	ss.mu.Lock()
	ss.readingStopped = true
	ss.conn.SetReadDeadline(time.Now())
	ss.mu.Unlock()
}

// drain waits for running calls to finish until the server's shutdown
// deadline, then fails the rest with #N/A and a message.
func (ss *session) drain() {
	s := ss.srv
	ss.mu.Lock()
	if len(ss.calls) == 0 {
		ss.mu.Unlock()
		return
	}
	ss.draining = true
	ss.mu.Unlock()
	select {
	case <-ss.drained:
		return
	case <-ss.writerOut:
		// Writing failed: the client is gone, nobody can be answered.
		ss.abandonCalls()
		return
	case <-s.force:
	}
	ss.mu.Lock()
	n := len(ss.calls)
	gs := ss.takeAllLocked(func(c *call) {
		ss.appendLocked(outItem{id: c.id, v: udf.Error(udf.ErrNA, "server shutting down before the result was ready")})
	})
	ss.draining = false
	ss.mu.Unlock()
	for _, g := range gs {
		g.cancel()
	}
	s.metrics.pending.Sub(float64(n))
	s.metrics.shutdownFailed.Add(float64(n))
	ss.log.Warn().Int("calls", n).Msg("shutdown deadline reached: failed unfinished calls")
}

// appendLocked queues a message and wakes the writer if the outbox was empty.
func (ss *session) appendLocked(it outItem) {
	ss.out = append(ss.out, it)
	if len(ss.out) == 1 {
		select {
		case ss.wake <- struct{}{}:
		default:
		}
	}
}

// releaseLocked frees n places under the cap and wakes a waiting reader.
func (ss *session) releaseLocked(n int) {
	ss.unanswered -= n
	if ss.waiting && ss.unanswered < ss.srv.opts.MaxPending {
		select {
		case ss.room <- struct{}{}:
		default:
		}
	}
}

// send queues an encoded message.
func (ss *session) send(b []byte) {
	ss.mu.Lock()
	ss.appendLocked(outItem{raw: b})
	ss.mu.Unlock()
}
