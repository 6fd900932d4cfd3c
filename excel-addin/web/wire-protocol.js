// What the xlbatch wire protocol says, independent of any connection: the
// message shapes, the protocol version, the connection states the task pane
// shows, the close codes and their meaning, and how big a message is on the
// wire. The call book and the client both build on it.

/** @typedef {null | number | string | boolean | {error: string}} WireScalar */
/** @typedef {WireScalar | WireScalar[][]} WireValue a cell value or a range (rows of cells) */

/**
 * @typedef {object} CallResult A `result` message, as the server sent it.
 * @property {number} id
 * @property {WireValue} [value]
 * @property {string} [error] one of the seven Excel error codes
 * @property {string} [message] why, for people
 */

/**
 * @typedef {object} ServerStats A `stats` message: counters of the whole server.
 * @property {number} calls
 * @property {number} batches
 * @property {number} upstreamRequests
 * @property {number} cacheHits
 * @property {number} pending
 * @property {number} [errors]
 */

/**
 * @typedef {{type: 'state', state: string} | {type: 'stats', stats: ServerStats} |
 *   {type: 'results', count: number} | {type: 'server-error', message: string}} ClientEvent
 */

/** PROTOCOL_VERSION is the wire-protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;

/** CLIENT_NAME is sent in hello; the server logs it. */
export const CLIENT_NAME = 'xlbatch-addin/0.1.0';

/** State names the connection states a user sees in the task pane. */
export const State = Object.freeze({
  CONNECTING: 'connecting', // socket opening or hello sent, no welcome yet
  READY: 'ready', // welcome received; calls flow
  WAITING: 'waiting', // disconnected, a reconnect is scheduled
  UNAUTHORIZED: 'unauthorized', // the server refused our token (close 1008)
  STOPPED: 'stopped', // stop() was called
});

// Close codes of the wire protocol that mean "something we sent was wrong".

/** CLOSE_PROTOCOL_ERROR is the close code of a malformed message. */
export const CLOSE_PROTOCOL_ERROR = 1002;
/** CLOSE_TOO_BIG is the close code of a message over the server's frame limit. */
export const CLOSE_TOO_BIG = 1009;
/** CLOSE_POLICY is the close code of a missing or wrong token. */
export const CLOSE_POLICY = 1008;

/** DEFAULT_MAX_FRAME_BYTES is the smallest frame limit we know of, assumed until the welcome says otherwise. */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

/**
 * utf8Length returns the UTF-8 size of a string without encoding it.
 * @param {string} s
 * @returns {number}
 */
export function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4; // a surrogate pair is one 4-byte character
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * closeText explains a WebSocket close code for people.
 * @param {number} code
 * @returns {string}
 */
export function closeText(code) {
  switch (code) {
    case 1000:
      return 'closed';
    case 1001:
      return 'the server is shutting down';
    case 1002:
      return 'protocol error';
    case 1006:
      return 'connection lost or refused';
    case 1008:
      return 'token missing or wrong';
    case 1009:
      return 'message too large';
    default:
      return `closed with code ${code}`;
  }
}
