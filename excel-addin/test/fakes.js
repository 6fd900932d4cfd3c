// Stand-ins for the browser and Office pieces the add-in uses, for node --test.

/** FakeWebSocket records what the client sends and lets a test play the server. */
export class FakeWebSocket {
  /** @type {FakeWebSocket[]} every socket made, newest last */
  static instances = [];

  /** @param {string} url */
  constructor(url) {
    this.url = url;
    /** @type {string[]} frames the client sent */
    this.sent = [];
    this.closed = false;
    /** @type {((ev?: any) => void) | null} */
    this.onopen = null;
    /** @type {((ev: {data: string}) => void) | null} */
    this.onmessage = null;
    /** @type {((ev: {code: number, reason: string}) => void) | null} */
    this.onclose = null;
    /** @type {((ev?: any) => void) | null} */
    this.onerror = null;
    FakeWebSocket.instances.push(this);
  }

  /** @param {string} data */
  send(data) {
    if (this.closed) throw new Error('send on a closed socket');
    this.sent.push(data);
  }

  close() {
    this.closed = true;
  }

  // ---- the server's side ----

  open() {
    this.onopen?.();
  }

  /** @param {any} msg an object, or an array for a multi-message frame */
  receive(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  /** open and answer the hello with a welcome */
  welcome(extra = {}) {
    this.open();
    this.receive({ type: 'welcome', protocol: 1, server: 'xlbatch/test', functions: ['GEOLOCATE'], maxFrameBytes: 1 << 20, ...extra });
  }

  /**
   * @param {number} code
   * @param {string} [reason]
   */
  drop(code = 1006, reason = '') {
    this.closed = true;
    this.onclose?.({ code, reason });
  }

  /** @returns {any[]} every message sent, frames flattened */
  messages() {
    return this.sent.flatMap((f) => {
      const m = JSON.parse(f);
      return Array.isArray(m) ? m : [m];
    });
  }

  /** @returns {any[]} the call messages sent */
  calls() {
    return this.messages().filter((m) => m.type === 'call');
  }

  static last() {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
  }

  static reset() {
    FakeWebSocket.instances = [];
  }
}

/**
 * FakeClock is a manual clock with setTimeout/clearTimeout for the client.
 */
export class FakeClock {
  constructor() {
    this.t = 0;
    /** @type {Map<number, {at: number, fn: () => void}>} */
    this.timers = new Map();
    this.nextHandle = 1;
    this.setTimeout = (/** @type {() => void} */ fn, /** @type {number} */ ms) => {
      const h = this.nextHandle++;
      this.timers.set(h, { at: this.t + ms, fn });
      return h;
    };
    this.clearTimeout = (/** @type {number} */ h) => {
      this.timers.delete(h);
    };
    this.now = () => this.t;
  }

  /** advance moves time forward, firing due timers in order. @param {number} ms */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [h, tm] of this.timers) if (tm.at <= end && (next === null || tm.at < next[1].at)) next = [h, tm];
      if (next === null) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }

  /** @returns {number[]} delays of pending timers from now */
  pending() {
    return [...this.timers.values()].map((tm) => tm.at - this.t);
  }
}

/** CFError stands in for CustomFunctions.Error. */
export class CFError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   */
  constructor(code, message) {
    super(message ?? '');
    this.code = code;
    this.hasMessage = message !== undefined;
  }
}

/** fakeCustomFunctions returns a CustomFunctions stand-in that records associations. */
export function fakeCustomFunctions() {
  /** @type {Map<string, Function>} */
  const associated = new Map();
  return {
    associated,
    Error: CFError,
    ErrorCode: {
      invalidValue: '#VALUE!',
      notAvailable: '#N/A',
      divisionByZero: '#DIV/0!',
      invalidNumber: '#NUM!',
      nullReference: '#NULL!',
      invalidName: '#NAME?',
      invalidReference: '#REF!',
    },
    /** @param {string} id @param {Function} fn */
    associate(id, fn) {
      associated.set(id, fn);
    },
  };
}

/** flush waits for queued microtasks (the client's frame flush) to run. */
export function flush() {
  return new Promise((r) => setImmediate(r));
}
