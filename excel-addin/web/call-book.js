// The bookkeeping of calls: which calls are unanswered, which connection each
// was sent on, and the outbox that sends all calls made in one tick in as few
// frames as the server's limit allows. It does not open sockets; the client
// tells it, through a CallLink, whether a connection is ready and which one.

import { utf8Length } from './wire-protocol.js';

/** @typedef {import('./wire-protocol.js').WireValue} WireValue */
/** @typedef {import('./wire-protocol.js').CallResult} CallResult */

/**
 * @typedef {object} PendingCall
 * @property {number} id
 * @property {{type: 'call', id: number, fn: string, args: WireValue[], caller?: string, preview?: boolean}} msg
 * @property {(r: CallResult) => void} resolve
 * @property {number} sentOn the connection it was sent on; 0 while unsent
 * @property {number} waitingSince when it last became unsent (ms)
 * @property {number} strikes connections that ended in a protocol error after it was sent
 */

/**
 * @typedef {object} CallLink What the call book asks of the connection, at the moment it needs it.
 * @property {() => boolean} ready whether the welcome of the current connection has arrived
 * @property {() => {send: (text: string) => void} | null} socket the current socket, if any
 * @property {() => number} seq the number of the current connection
 * @property {() => number} maxFrameBytes the server's limit on one message
 */

/**
 * @typedef {object} CallCounters Counters of this add-in session; the call book
 * updates calls, answered, errors, cancelled and frames.
 * @property {number} calls
 * @property {number} answered
 * @property {number} errors
 * @property {number} cancelled
 * @property {number} frames
 * @property {number} reconnects
 */

// A call sent on this many connections that the server then closed for a
// protocol error is failed instead of re-sent: it is probably the cause, and
// re-sending it forever would keep the whole add-in reconnecting.
const MAX_STRIKES = 3;

/**
 * CallBook keeps the unanswered calls in the order they were made and sends
 * them, coalesced per tick, on the connection its CallLink names.
 */
export class CallBook {
  /**
   * @param {object} options
   * @param {CallLink} options.link
   * @param {CallCounters} options.counters shared with the client, which shows them
   * @param {(fn: () => void) => void} options.schedule runs the frame flush after the current tick
   * @param {() => number} options.now milliseconds
   */
  constructor({ link, counters, schedule, now }) {
    this._link = link;
    this._counters = counters;
    this._schedule = schedule;
    this._now = now;

    this._nextId = 1;
    // Unanswered calls by id, in the order they were made (Map keeps insertion order).
    /** @type {Map<number, PendingCall>} */
    this._pending = new Map();
    // Messages waiting for the end of the tick: calls (by entry, so a call
    // cancelled before the flush is dropped) and cancels.
    /** @type {Array<PendingCall | {type: 'cancel', id: number}>} */
    this._outbox = [];
    this._flushScheduled = false;
  }

  /** size is the number of calls waiting for a result. */
  get size() {
    return this._pending.size;
  }

  /**
   * add records a new call, unsent, and returns its entry and the promise
   * that settles with its result.
   * @param {string} fn
   * @param {WireValue[]} args
   * @param {{preview?: boolean, caller?: string}} options
   * @returns {{entry: PendingCall, promise: Promise<CallResult>}}
   */
  add(fn, args, options) {
    const id = this._nextId++;
    /** @type {{type: 'call', id: number, fn: string, args: WireValue[], caller?: string, preview?: boolean}} */
    const msg = { type: 'call', id, fn, args };
    if (options.caller) msg.caller = options.caller;
    if (options.preview) msg.preview = true;
    let resolve = /** @type {(r: CallResult) => void} */ (() => {});
    const promise = new Promise((r) => (resolve = r));
    /** @type {PendingCall} */
    const entry = { id, msg, resolve, sentOn: 0, waitingSince: this._now(), strikes: 0 };
    this._pending.set(id, entry);
    this._counters.calls++;
    return { entry, promise };
  }

  /**
   * get returns the unanswered call with this id, if any.
   * @param {number} id
   */
  get(id) {
    return this._pending.get(id);
  }

  /** entries returns a snapshot of the unanswered calls, oldest first. */
  entries() {
    return [...this._pending.values()];
  }

  /** enqueueAll queues every unanswered call, oldest first; sent ones on this connection are skipped at the flush. */
  enqueueAll() {
    for (const entry of this._pending.values()) this.enqueue(entry);
  }

  /** dropOutbox forgets what was queued for a connection that is gone. */
  dropOutbox() {
    this._outbox = [];
  }

  /** @param {PendingCall | {type: 'cancel', id: number}} item */
  enqueue(item) {
    this._outbox.push(item);
    if (!this._flushScheduled) {
      this._flushScheduled = true;
      this._schedule(() => this._flush());
    }
  }

  /** _flush sends everything queued in this tick, in as few frames as the server's limit allows. */
  _flush() {
    this._flushScheduled = false;
    const items = this._outbox;
    this._outbox = [];
    const ws = this._link.socket();
    if (!this._link.ready() || ws === null) return; // unsent calls stay pending and go out after the next welcome
    /** @type {string[]} */
    let frame = [];
    let frameBytes = 2; // the brackets of an array frame
    /** @type {PendingCall[]} */
    let frameEntries = [];
    const seen = new Set(); // a call queued twice in one tick still goes once
    const send = () => {
      if (frame.length === 0) return;
      ws.send(frame.length === 1 ? frame[0] : '[' + frame.join(',') + ']');
      for (const e of frameEntries) e.sentOn = this._link.seq();
      this._counters.frames++;
      frame = [];
      frameBytes = 2;
      frameEntries = [];
    };
    for (const item of items) {
      let text;
      if ('msg' in item) {
        if (this._pending.get(item.id) !== item || item.sentOn === this._link.seq() || seen.has(item.id)) continue; // cancelled or already sent
        seen.add(item.id);
        text = JSON.stringify(item.msg);
      } else {
        text = JSON.stringify(item);
      }
      const bytes = utf8Length(text) + 1; // and its comma
      const maxFrameBytes = this._link.maxFrameBytes();
      if (bytes + 2 > maxFrameBytes) {
        if ('msg' in item) {
          this.settle(item, {
            id: item.id,
            error: '#VALUE!',
            message: `the arguments are too large to send (${bytes} bytes; the server takes at most ${maxFrameBytes} per message)`,
          });
        }
        continue;
      }
      if (frameBytes + bytes > maxFrameBytes) send();
      frame.push(text);
      frameBytes += bytes;
      if ('msg' in item) frameEntries.push(item);
    }
    send();
  }

  /**
   * cancel forgets a call; if the server has it, it is told so.
   * @param {PendingCall} entry
   */
  cancel(entry) {
    if (this._pending.get(entry.id) !== entry) return; // answered or cancelled already
    this._pending.delete(entry.id);
    this._counters.cancelled++;
    // A call still in the outbox is simply not sent; one the server has gets a cancel.
    if (entry.sentOn === this._link.seq() && this._link.ready()) {
      this.enqueue({ type: 'cancel', id: entry.id });
    }
  }

  /**
   * connectionEnded marks the calls sent on connection seq as unsent again,
   * so they go out after the next welcome. When the server closed for a
   * protocol error, each gets a strike, and a call with too many is failed.
   * @param {number} seq the connection that ended
   * @param {boolean} protocolError
   * @param {string} reason why the connection ended, for the failed cells
   */
  connectionEnded(seq, protocolError, reason) {
    const now = this._now();
    for (const entry of [...this._pending.values()]) {
      if (entry.sentOn !== seq) continue;
      entry.sentOn = 0;
      entry.waitingSince = now;
      if (protocolError && ++entry.strikes >= MAX_STRIKES) {
        this.settle(entry, {
          id: entry.id,
          error: '#N/A',
          message: `the xlbatch server rejected this call: ${reason}`,
        });
      }
    }
  }

  /**
   * settle answers a call and forgets it.
   * @param {PendingCall} entry
   * @param {CallResult} result
   */
  settle(entry, result) {
    this._pending.delete(entry.id);
    this._counters.answered++;
    if (result.error !== undefined) this._counters.errors++;
    entry.resolve(result);
  }

  /**
   * failAll answers every unanswered call with an error and returns how many there were.
   * @param {string} code
   * @param {string} message
   * @returns {number}
   */
  failAll(code, message) {
    const n = this._pending.size;
    for (const e of [...this._pending.values()]) this.settle(e, { id: e.id, error: code, message });
    return n;
  }
}
