// The xlbatch wire-protocol client: one WebSocket to the server, shared by
// every cell of every open workbook in this add-in runtime.
//
// This file holds the connection: hello and welcome, reconnecting with
// backoff, the handshake and offline deadlines, and the events the task pane
// listens to. The unanswered calls and the per-tick frames are kept by
// call-book.js; what the protocol itself says is in wire-protocol.js.
//
// It knows nothing of Excel; functions.js turns cell invocations into calls
// and results into cell values. Everything it needs from its environment
// (the WebSocket class, timers, the clock, the scheduler) can be passed in, so
// node --test can drive it with a fake socket and a fake clock.

import { CallBook } from './call-book.js';
import {
  CLIENT_NAME,
  CLOSE_POLICY,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOO_BIG,
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  State,
  closeText,
} from './wire-protocol.js';

/** @typedef {import('./wire-protocol.js').WireValue} WireValue */
/** @typedef {import('./wire-protocol.js').CallResult} CallResult */
/** @typedef {import('./wire-protocol.js').ServerStats} ServerStats */
/** @typedef {import('./wire-protocol.js').ClientEvent} ClientEvent */
/** @typedef {import('./call-book.js').PendingCall} PendingCall */

/**
 * @typedef {object} Call A call made with XlbatchClient.call.
 * @property {number} id
 * @property {Promise<CallResult>} promise settles with the result; never settles once cancelled
 * @property {() => void} cancel tells the server the result is no longer wanted
 */

/**
 * @typedef {object} ClientOptions
 * @property {typeof WebSocket} [WebSocket] the WebSocket class (a fake in tests)
 * @property {string} [token] sent in hello when the server was started with --token
 * @property {string} [clientName]
 * @property {(fn: () => void) => void} [schedule] runs the frame flush after the current tick
 * @property {(fn: () => void, ms: number) => any} [setTimeout]
 * @property {(handle: any) => void} [clearTimeout]
 * @property {() => number} [now] milliseconds, for the offline deadline
 * @property {() => number} [random] in [0, 1), for backoff jitter
 * @property {number} [initialBackoffMs] first reconnect delay (before jitter)
 * @property {number} [maxBackoffMs] cap of the reconnect delay
 * @property {number} [handshakeTimeoutMs] how long to wait for the welcome after connecting
 * @property {number} [offlineTimeoutMs] how long a call waits for a connection before failing
 */

/**
 * XlbatchClient keeps one WebSocket to an xlbatch server: it says hello,
 * reconnects with exponential backoff, re-sends calls that were not answered
 * when a connection dropped, and sends all calls made in one tick in one frame.
 */
export class XlbatchClient {
  /**
   * @param {string} url the WebSocket URL, e.g. wss://localhost:8765/v1/ws
   * @param {ClientOptions} [options]
   */
  constructor(url, options = {}) {
    /** @readonly */
    this.url = url;
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this._token = options.token ?? '';
    this._clientName = options.clientName ?? CLIENT_NAME;
    this._schedule = options.schedule ?? ((fn) => queueMicrotask(fn));
    this._setTimeout = options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this._clearTimeout = options.clearTimeout ?? ((h) => globalThis.clearTimeout(h));
    this._now = options.now ?? (() => Date.now());
    this._random = options.random ?? Math.random;
    this._initialBackoffMs = options.initialBackoffMs ?? 250;
    this._maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this._handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this._offlineTimeoutMs = options.offlineTimeoutMs ?? 30_000;

    /** @type {string} */
    this._state = State.WAITING;
    this._started = false;
    /** @type {WebSocket | null} */
    this._ws = null;
    this._connSeq = 0; // number of the current connection; entries remember which one they were sent on
    this._attempt = 0; // failed connection attempts since the last welcome
    this._reconnectTimer = null;
    this._reconnectAt = 0;
    this._handshakeTimer = null;
    this._offlineTimer = null;
    this._maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;

    /** @type {Set<(event: ClientEvent) => void>} */
    this._listeners = new Set();

    /** Server facts from the last welcome. */
    this.server = { name: '', protocol: 0, functions: /** @type {string[]} */ ([]) };
    /** @type {ServerStats | null} the last stats message */
    this.stats = null;
    /** Counters of this add-in session, shown next to the server's. */
    this.counters = { calls: 0, answered: 0, errors: 0, cancelled: 0, frames: 0, reconnects: 0 };
    /** Why the last connection ended, for the task pane. */
    this.lastClose = { code: 0, reason: '' };
    /** The last `error` message the server sent. */
    this.lastServerError = '';

    // The call book asks for the connection's state when it flushes, not
    // when a call is made, so a call made offline goes out after the welcome.
    this._calls = new CallBook({
      link: {
        ready: () => this._state === State.READY,
        socket: () => this._ws,
        seq: () => this._connSeq,
        maxFrameBytes: () => this._maxFrameBytes,
      },
      counters: this.counters,
      schedule: this._schedule,
      now: this._now,
    });
  }

  /** state is one of State's values. */
  get state() {
    return this._state;
  }

  /** retryInMs is how long until the next reconnect attempt (0 when none is scheduled). */
  get retryInMs() {
    return this._reconnectTimer === null ? 0 : Math.max(0, this._reconnectAt - this._now());
  }

  /** pendingCount is the number of calls waiting for a result. */
  get pendingCount() {
    return this._calls.size;
  }

  /** start opens the connection. Calls made before start wait for it. */
  start() {
    if (this._started) return;
    this._started = true;
    this._connect();
  }

  /**
   * stop closes the connection for good and fails every unanswered call, so
   * no cell is left waiting.
   */
  stop() {
    this._started = false;
    this._clearTimers();
    this._detach(this._ws, 1000, 'add-in stopped');
    this._ws = null;
    this._setState(State.STOPPED);
    this._failAll('#N/A', 'the xlbatch add-in was stopped');
  }

  /**
   * setToken changes the token sent in hello and reconnects at once; the task
   * pane calls it when the server asks for a token.
   * @param {string} token
   */
  setToken(token) {
    this._token = token;
    if (!this._started) return;
    this._clearTimers();
    this._detach(this._ws, 1000, 'new token');
    this._ws = null;
    this._attempt = 0;
    this._connect();
  }

  /**
   * call sends one function call. Calls made in the same tick leave in one
   * frame. The promise settles with the server's result message; a call that
   * cannot reach a server for offlineTimeoutMs settles with #N/A saying so.
   * @param {string} fn function name, e.g. "GEOLOCATE"
   * @param {WireValue[]} args arguments in parameter order
   * @param {{preview?: boolean, caller?: string}} [options]
   * @returns {Call}
   */
  call(fn, args, options = {}) {
    const { entry, promise } = this._calls.add(fn, args, options);
    const id = entry.id;
    if (this._state === State.STOPPED) {
      this._calls.settle(entry, { id, error: '#N/A', message: 'the xlbatch add-in was stopped' });
    } else if (this._state === State.READY) {
      this._calls.enqueue(entry);
    } else {
      this._armOfflineTimer();
    }
    return { id, promise, cancel: () => this._calls.cancel(entry) };
  }

  /**
   * subscribe registers a listener for state changes, stats and answered
   * results; it returns a function that removes it.
   * @param {(event: ClientEvent) => void} listener
   * @returns {() => void}
   */
  subscribe(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  // ---- the connection ----

  _connect() {
    this._reconnectTimer = null;
    const seq = ++this._connSeq;
    this._setState(State.CONNECTING);
    let ws;
    try {
      ws = new this._WebSocket(this.url);
    } catch (err) {
      // A malformed URL or a blocked scheme throws at once; treat it as a failed attempt.
      this._onClosed(seq, 1006, String(err && /** @type {Error} */ (err).message || err));
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      if (seq !== this._connSeq) return;
      /** @type {{type: 'hello', protocol: number, client: string, token?: string}} */
      const hello = { type: 'hello', protocol: PROTOCOL_VERSION, client: this._clientName };
      if (this._token) hello.token = this._token;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (seq === this._connSeq) this._onFrame(ev.data);
    };
    ws.onclose = (ev) => {
      if (seq === this._connSeq) this._onClosed(seq, ev.code, ev.reason);
    };
    // Errors are always followed by close; the close carries what we need.
    ws.onerror = () => {};
    this._handshakeTimer = this._setTimeout(() => {
      this._handshakeTimer = null;
      if (seq !== this._connSeq || this._state === State.READY) return;
      this._detach(ws, 1000, 'no welcome');
      this._onClosed(seq, 1006, `no welcome from the server within ${this._handshakeTimeoutMs} ms`);
    }, this._handshakeTimeoutMs);
  }

  /**
   * _detach stops listening to a socket and closes it.
   * @param {WebSocket | null} ws
   * @param {number} code
   * @param {string} reason
   */
  _detach(ws, code, reason) {
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      // Already closed: nothing to do.
    }
  }

  /** @param {unknown} data */
  _onFrame(data) {
    let parsed;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      return; // The server only sends JSON; a bad frame is not worth a reconnect.
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    let answered = 0;
    for (const m of messages) {
      if (m === null || typeof m !== 'object') continue;
      switch (m.type) {
        case 'result': {
          const entry = this._calls.get(m.id);
          if (entry !== undefined) {
            this._calls.settle(entry, m);
            answered++;
          }
          break;
        }
        case 'welcome':
          this._onWelcome(m);
          break;
        case 'stats':
          this.stats = m;
          this._emit({ type: 'stats', stats: m });
          break;
        case 'error':
          this.lastServerError = String(m.message ?? '');
          this._emit({ type: 'server-error', message: this.lastServerError });
          break;
      }
    }
    if (answered > 0) this._emit({ type: 'results', count: answered });
  }

  /** @param {{protocol?: number, server?: string, functions?: string[], maxFrameBytes?: number}} m */
  _onWelcome(m) {
    if (this._handshakeTimer !== null) {
      this._clearTimeout(this._handshakeTimer);
      this._handshakeTimer = null;
    }
    this._clearOfflineTimer();
    if (this._connSeq > 1 || this._attempt > 0) this.counters.reconnects++;
    this._attempt = 0;
    this.server = {
      name: String(m.server ?? ''),
      protocol: Number(m.protocol ?? 0),
      functions: Array.isArray(m.functions) ? m.functions.map(String) : [],
    };
    if (typeof m.maxFrameBytes === 'number' && m.maxFrameBytes > 64) this._maxFrameBytes = m.maxFrameBytes;
    this._setState(State.READY);
    // Re-send what the last connection left unanswered, and send what was made while offline.
    this._calls.enqueueAll();
  }

  /**
   * @param {number} seq the connection that ended
   * @param {number} code
   * @param {string} reason
   */
  _onClosed(seq, code, reason) {
    if (seq !== this._connSeq || !this._started) return;
    if (this._handshakeTimer !== null) {
      this._clearTimeout(this._handshakeTimer);
      this._handshakeTimer = null;
    }
    this._ws = null;
    this._calls.dropOutbox();
    this.lastClose = { code, reason: reason || closeText(code) };
    const protocolError = code === CLOSE_PROTOCOL_ERROR || code === CLOSE_TOO_BIG;
    this._calls.connectionEnded(seq, protocolError, this.lastClose.reason);
    if (code === CLOSE_POLICY) {
      // A wrong or missing token will not fix itself: fail the waiting cells
      // with the reason, and retry slowly in case the server is restarted.
      this._failAll('#N/A', `the xlbatch server refused the connection: ${this.lastClose.reason}`);
      this._attempt = Math.max(this._attempt, 30);
      this._setState(State.UNAUTHORIZED);
    } else {
      this._setState(State.WAITING);
    }
    this._scheduleReconnect();
    this._armOfflineTimer();
  }

  _scheduleReconnect() {
    const base = Math.min(this._maxBackoffMs, this._initialBackoffMs * 2 ** Math.min(this._attempt, 30));
    this._attempt++;
    // "Equal jitter": at least half the delay, so a restarting server is not
    // hit by every client at once, and never more than the cap.
    const delay = Math.round(base / 2 + this._random() * (base / 2));
    this._reconnectAt = this._now() + delay;
    this._reconnectTimer = this._setTimeout(() => this._connect(), delay);
    this._emit({ type: 'state', state: this._state });
  }

  // ---- calls that cannot be sent ----

  _armOfflineTimer() {
    if (this._offlineTimer !== null || this._state === State.READY || !this._started) return;
    let oldest = Infinity;
    for (const e of this._calls.entries()) if (e.sentOn === 0) oldest = Math.min(oldest, e.waitingSince);
    if (oldest === Infinity) return;
    const wait = Math.max(0, oldest + this._offlineTimeoutMs - this._now());
    this._offlineTimer = this._setTimeout(() => {
      this._offlineTimer = null;
      if (this._state === State.READY) return;
      const deadline = this._now() - this._offlineTimeoutMs;
      for (const e of this._calls.entries()) {
        if (e.sentOn === 0 && e.waitingSince <= deadline) {
          this._calls.settle(e, {
            id: e.id,
            error: '#N/A',
            message: `no connection to the xlbatch server (${this.lastClose.reason || 'not reachable'}); is "xlbatch serve" running?`,
          });
        }
      }
      this._armOfflineTimer();
    }, wait);
  }

  _clearOfflineTimer() {
    if (this._offlineTimer !== null) {
      this._clearTimeout(this._offlineTimer);
      this._offlineTimer = null;
    }
  }

  _clearTimers() {
    for (const name of /** @type {const} */ (['_reconnectTimer', '_handshakeTimer', '_offlineTimer'])) {
      if (this[name] !== null) {
        this._clearTimeout(this[name]);
        this[name] = null;
      }
    }
  }

  // ---- events ----

  /**
   * @param {string} code
   * @param {string} message
   */
  _failAll(code, message) {
    const n = this._calls.failAll(code, message);
    if (n > 0) this._emit({ type: 'results', count: n });
  }

  /** @param {string} state */
  _setState(state) {
    if (this._state === state) return;
    this._state = state;
    this._emit({ type: 'state', state });
  }

  /** @param {ClientEvent} event */
  _emit(event) {
    for (const fn of this._listeners) {
      try {
        fn(event);
      } catch (err) {
        // A broken listener (the task pane) must not break the cells.
        console.error('xlbatch: listener failed', err);
      }
    }
  }
}
