// The task pane: what a user looks at to know the sheet is working. It shows
// the connection to the local server and the server's live counters, which
// arrive as `stats` messages on the same WebSocket the cells use.

import { addin } from './functions.js';
import { State } from './wire-protocol.js';

/**
 * @typedef {object} View Everything the task pane shows, as text.
 * @property {string} status short connection state
 * @property {string} statusClass CSS modifier of the status pill
 * @property {string} detail why it is not connected and what to do ('' when fine)
 * @property {string} calls
 * @property {string} saved
 * @property {string} savedPct
 * @property {string} batches
 * @property {string} upstream
 * @property {string} cacheHits
 * @property {string} errors
 * @property {string} pending
 * @property {string} session
 */

const numberFormat = new Intl.NumberFormat();
/** @param {number | undefined} n */
const fmt = (n) => (typeof n === 'number' && Number.isFinite(n) ? numberFormat.format(n) : '–');

/**
 * view computes the task pane's text from the client's state; it is pure so
 * node --test can check it.
 * @param {import('./xlbatch-client.js').XlbatchClient} client
 * @returns {View}
 */
export function view(client) {
  const s = client.stats;
  const c = client.counters;
  /** @type {View} */
  const v = {
    status: '',
    statusClass: client.state,
    detail: '',
    calls: fmt(s?.calls),
    saved: '–',
    savedPct: '',
    batches: fmt(s?.batches),
    upstream: fmt(s?.upstreamRequests),
    cacheHits: fmt(s?.cacheHits),
    // Servers that count errors say so; otherwise show this add-in's own count.
    errors: typeof s?.errors === 'number' ? fmt(s.errors) : s || c.calls > 0 ? fmt(c.errors) : '–',
    pending: fmt(s ? s.pending : client.pendingCount),
    session:
      c.calls === 0
        ? 'no calls yet'
        : `${fmt(c.calls)} calls, ${fmt(c.answered)} answered` + (c.cancelled ? `, ${fmt(c.cancelled)} cancelled` : ''),
  };
  if (s && typeof s.calls === 'number' && typeof s.upstreamRequests === 'number') {
    // Every call would have been a request without batching, caching and merging.
    const saved = Math.max(0, s.calls - s.upstreamRequests);
    v.saved = fmt(saved);
    // One decimal, but only a perfect score reads 100 %.
    const pct = Math.min(Math.round((1000 * saved) / Math.max(1, s.calls)) / 10, saved === s.calls ? 100 : 99.9);
    v.savedPct = s.calls > 0 ? (pct === 100 ? '100 %' : `${pct.toFixed(1)} %`) : '';
  }
  const why = client.lastClose.reason;
  switch (client.state) {
    case State.READY:
      v.status = 'Connected';
      break;
    case State.CONNECTING:
      v.status = 'Connecting…';
      break;
    case State.WAITING: {
      const secs = Math.ceil(client.retryInMs / 1000);
      v.status = secs > 0 ? `Retrying in ${secs} s` : 'Reconnecting…';
      v.detail =
        `No connection to the xlbatch server${why ? ` (${why})` : ''}. ` +
        'Is "xlbatch serve" still running? Cells wait and are sent again once it is back.';
      break;
    }
    case State.UNAUTHORIZED:
      v.status = 'Token needed';
      v.detail = `The server refused the connection${why ? ` (${why})` : ''}.`;
      break;
    default:
      v.status = 'Stopped';
  }
  return v;
}

/**
 * render writes a View into the page.
 * @param {Document} doc
 * @param {View} v
 */
function render(doc, v) {
  /** @param {string} id @param {string} text */
  const set = (id, text) => {
    const el = doc.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  };
  const status = /** @type {HTMLElement} */ (doc.getElementById('status'));
  status.className = `status status-${v.statusClass}`;
  set('status', v.status);
  const detail = /** @type {HTMLElement} */ (doc.getElementById('status-detail'));
  detail.hidden = v.detail === '';
  set('status-detail', v.detail);
  /** @type {HTMLElement} */ (doc.getElementById('token-form')).hidden = v.statusClass !== State.UNAUTHORIZED;
  set('calls', v.calls);
  set('saved', v.saved);
  set('saved-pct', v.savedPct);
  set('batches', v.batches);
  set('upstream', v.upstream);
  set('cache-hits', v.cacheHits);
  set('errors', v.errors);
  set('pending', v.pending);
  set('session-counts', v.session);
}

/** @param {Document} doc */
function startTaskpane(doc) {
  if (!addin) return;
  const { client, ready } = addin;
  const origin = new URL(client.url).host;
  let scheduled = false;
  let updated = '';
  const update = () => {
    if (scheduled) return;
    scheduled = true;
    // Results can arrive thousands at a time: draw at most once a frame.
    requestAnimationFrame(() => {
      scheduled = false;
      render(doc, view(client));
      const el = doc.getElementById('updated');
      if (el) el.textContent = updated;
    });
  };
  client.subscribe((e) => {
    if (e.type === 'stats') updated = `Updated ${new Date().toLocaleTimeString()}`;
    if (e.type === 'state' && e.state === State.READY) {
      const server = doc.getElementById('server');
      if (server) server.textContent = `Server ${origin} · ${client.server.name || 'xlbatch'}`;
    }
    update();
  });
  // The retry countdown moves while nothing else happens.
  setInterval(() => {
    if (client.state === State.WAITING) update();
  }, 1000);

  const serverEl = doc.getElementById('server');
  if (serverEl) serverEl.textContent = `Server ${origin}`;
  /** @type {HTMLElement} */ (doc.getElementById('not-excel')).hidden = Boolean(/** @type {any} */ (globalThis).CustomFunctions);

  ready
    .then(({ functions }) => {
      const el = doc.getElementById('functions');
      if (el) el.textContent = 'Functions: ' + functions.map((f) => `XLB.${f.name || f.id}`).join(', ');
    })
    .catch((err) => {
      const el = doc.getElementById('functions');
      if (el) el.textContent = `Could not load the function list: ${err.message}`;
    });

  const form = /** @type {HTMLFormElement} */ (doc.getElementById('token-form'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = /** @type {HTMLInputElement} */ (doc.getElementById('token')).value.trim();
    try {
      localStorage.setItem('xlbatch.token', token);
    } catch {
      // Storage may be off; the token still works until the page reloads.
    }
    client.setToken(token);
  });

  render(doc, view(client));
}

if (typeof document !== 'undefined') {
  // Office.onReady resolves at once outside Office; inside, it says the host is ready.
  const office = /** @type {any} */ (globalThis).Office;
  if (office && typeof office.onReady === 'function') office.onReady(() => {});
  startTaskpane(document);
}
