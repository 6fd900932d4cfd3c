import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { XlbatchClient } from '../web/xlbatch-client.js';
import { State, utf8Length } from '../web/wire-protocol.js';
import { FakeWebSocket, FakeClock, flush } from './fakes.js';

/** @type {FakeClock} */
let clock;

beforeEach(() => {
  FakeWebSocket.reset();
  clock = new FakeClock();
});

/**
 * newClient returns a started client on a fake socket and clock.
 * @param {object} [options]
 */
function newClient(options = {}) {
  const c = new XlbatchClient('ws://127.0.0.1:8765/v1/ws', {
    WebSocket: /** @type {any} */ (FakeWebSocket),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 0.5,
    ...options,
  });
  c.start();
  return c;
}

/**
 * settled reports whether a promise has settled, without waiting for it.
 * @param {Promise<any>} p
 */
async function settled(p) {
  const marker = Symbol('pending');
  const v = await Promise.race([p, flush().then(() => marker)]);
  return v !== marker;
}

test('hello is the first message, with protocol 1 and the token', async () => {
  const c = newClient({ token: 's3cret' });
  const ws = FakeWebSocket.last();
  assert.equal(ws.url, 'ws://127.0.0.1:8765/v1/ws');
  c.call('GEOLOCATE', ['Paris']);
  ws.open();
  await flush();
  assert.equal(ws.sent.length, 1, 'nothing but hello before the welcome');
  assert.deepEqual(JSON.parse(ws.sent[0]), { type: 'hello', protocol: 1, client: 'xlbatch-addin/0.1.0', token: 's3cret' });
  ws.receive({ type: 'welcome', protocol: 1, server: 'xlbatch/test', functions: ['GEOLOCATE'], maxFrameBytes: 1 << 20 });
  await flush();
  assert.equal(c.state, State.READY);
  assert.deepEqual(c.server.functions, ['GEOLOCATE']);
  assert.deepEqual(ws.calls().map((m) => m.args), [['Paris']]);
});

test('hello has no token field when none is set', () => {
  newClient();
  const ws = FakeWebSocket.last();
  ws.open();
  assert.equal('token' in JSON.parse(ws.sent[0]), false);
});

test('calls made in one tick leave in one frame', async () => {
  const c = newClient();
  const ws = FakeWebSocket.last();
  ws.welcome();
  const calls = [];
  for (let i = 0; i < 500; i++) calls.push(c.call('GEOLOCATE', [`addr ${i}`]));
  assert.equal(ws.sent.length, 1, 'nothing is sent before the tick ends');
  await flush();
  assert.equal(ws.sent.length, 2, 'hello, then one frame');
  const frame = JSON.parse(ws.sent[1]);
  assert.ok(Array.isArray(frame));
  assert.equal(frame.length, 500);
  assert.deepEqual(frame.map((m) => m.id), calls.map((x) => x.id));
  assert.equal(new Set(frame.map((m) => m.id)).size, 500, 'ids are unique');
  assert.deepEqual(frame[7], { type: 'call', id: calls[7].id, fn: 'GEOLOCATE', args: ['addr 7'] });

  // The next tick's calls make the next frame; a lone call is a bare object.
  c.call('GEOCODE', ['Rome', 'lat']);
  await flush();
  assert.equal(ws.sent.length, 3);
  assert.equal(JSON.parse(ws.sent[2]).type, 'call');
});

test('a frame never exceeds the server limit; a call too big for any frame fails with #VALUE!', async () => {
  const c = newClient();
  const ws = FakeWebSocket.last();
  ws.welcome({ maxFrameBytes: 300 });
  const small = [];
  for (let i = 0; i < 20; i++) small.push(c.call('GEOLOCATE', [`Straße ${i}`]));
  const huge = c.call('GEOLOCATE', ['x'.repeat(400)]);
  await flush();
  const frames = ws.sent.slice(1);
  assert.ok(frames.length > 1, 'split into several frames');
  for (const f of frames) assert.ok(utf8Length(f) <= 300, `frame of ${utf8Length(f)} bytes`);
  assert.deepEqual(ws.calls().map((m) => m.id), small.map((x) => x.id));
  const r = await huge.promise;
  assert.equal(r.error, '#VALUE!');
  assert.match(r.message, /too large/);
});

test('preview is passed through only when set', async () => {
  const c = newClient();
  const ws = FakeWebSocket.last();
  ws.welcome();
  c.call('GEOLOCATE', ['Oslo'], { preview: true, caller: 'Sheet1!B2' });
  c.call('GEOLOCATE', ['Bergen']);
  await flush();
  const [a, b] = ws.calls();
  assert.equal(a.preview, true);
  assert.equal(a.caller, 'Sheet1!B2');
  assert.equal('preview' in b, false);
});

test('results resolve their own calls, in any order and in frames of many', async () => {
  const c = newClient();
  const ws = FakeWebSocket.last();
  ws.welcome();
  const a = c.call('GEOLOCATE', ['a']);
  const b = c.call('GEOLOCATE', ['b']);
  await flush();
  ws.receive([
    { type: 'result', id: b.id, value: [[2, 2]] },
    { type: 'result', id: 999, value: 1 }, // unknown ids are ignored
    { type: 'result', id: a.id, error: '#N/A', message: 'no match for "a"' },
  ]);
  assert.deepEqual(await b.promise, { type: 'result', id: b.id, value: [[2, 2]] });
  assert.equal((await a.promise).message, 'no match for "a"');
  assert.equal(c.pendingCount, 0);
  assert.equal(c.counters.errors, 1);
});

test('cancel after sending sends a cancel and the call never settles', async () => {
  const c = newClient();
  const ws = FakeWebSocket.last();
  ws.welcome();
  const a = c.call('GEOLOCATE', ['a']);
  await flush();
  a.cancel();
  a.cancel(); // twice is harmless
  await flush();
  assert.deepEqual(ws.messages().filter((m) => m.type === 'cancel'), [{ type: 'cancel', id: a.id }]);
  ws.receive({ type: 'result', id: a.id, value: 1 }); // a late result is dropped
  assert.equal(await settled(a.promise), false);
  assert.equal(c.pendingCount, 0);
});

test('cancel before the frame leaves: the call is not sent at all', async () => {
  const c = newClient();
  const ws = FakeWebSocket.last();
  ws.welcome();
  const a = c.call('GEOLOCATE', ['a']);
  const b = c.call('GEOLOCATE', ['b']);
  a.cancel();
  await flush();
  assert.deepEqual(ws.messages().filter((m) => m.type !== 'hello').map((m) => [m.type, m.id]), [['call', b.id]]);
});

test('a cancelled call is not re-sent after a reconnect', async () => {
  const c = newClient();
  let ws = FakeWebSocket.last();
  ws.welcome();
  const a = c.call('GEOLOCATE', ['a']);
  const b = c.call('GEOLOCATE', ['b']);
  await flush();
  ws.drop(1006);
  a.cancel(); // while disconnected: nothing to send, nothing to re-send
  clock.advance(1000);
  ws = FakeWebSocket.last();
  ws.welcome();
  await flush();
  assert.deepEqual(ws.messages().filter((m) => m.type !== 'hello').map((m) => [m.type, m.id]), [['call', b.id]]);
});

test('reconnect re-sends exactly the unanswered calls, with their ids', async () => {
  const c = newClient();
  const first = FakeWebSocket.last();
  first.welcome();
  const calls = [0, 1, 2, 3].map((i) => c.call('GEOLOCATE', [`a${i}`]));
  await flush();
  first.receive({ type: 'result', id: calls[1].id, value: 1 });
  first.drop(1001, 'shutting down');
  assert.equal(c.state, State.WAITING);
  assert.equal(c.lastClose.reason, 'shutting down');
  const late = c.call('GEOLOCATE', ['made while offline']);
  await flush();
  assert.equal(FakeWebSocket.instances.length, 1, 'no reconnect before the backoff');

  clock.advance(250);
  assert.equal(FakeWebSocket.instances.length, 2, 'reconnected after the first backoff');
  const second = FakeWebSocket.last();
  second.welcome();
  await flush();
  const resent = second.calls();
  assert.deepEqual(
    resent.map((m) => m.id),
    [calls[0].id, calls[2].id, calls[3].id, late.id],
  );
  assert.deepEqual(resent[0].args, ['a0']);
  assert.equal(second.sent.length, 2, 'hello, then the re-sent calls in one frame');
  second.receive(resent.map((m) => ({ type: 'result', id: m.id, value: m.id * 10 })));
  for (const x of [calls[0], calls[2], calls[3], late]) assert.equal((await x.promise).value, x.id * 10);
  assert.equal(c.counters.reconnects, 1);
});

test('backoff doubles up to the cap, with jitter, and resets after a welcome', () => {
  const delays = [];
  const c = newClient({ random: () => 1 - Number.EPSILON, initialBackoffMs: 100, maxBackoffMs: 1000 });
  for (let i = 0; i < 7; i++) {
    FakeWebSocket.last().drop(1006);
    delays.push(c.retryInMs);
    clock.advance(c.retryInMs);
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
  FakeWebSocket.last().welcome();
  FakeWebSocket.last().drop(1006);
  assert.equal(c.retryInMs, 100);

  // The jitter keeps at least half of the delay.
  const low = newClient({ random: () => 0, initialBackoffMs: 100 });
  FakeWebSocket.last().drop(1006);
  assert.equal(low.retryInMs, 50);
});

test('no welcome within the handshake timeout: drop and retry', () => {
  const c = newClient({ handshakeTimeoutMs: 5000 });
  const ws = FakeWebSocket.last();
  ws.open();
  clock.advance(5000);
  assert.equal(ws.closed, true);
  assert.equal(c.state, State.WAITING);
  assert.match(c.lastClose.reason, /no welcome/);
  clock.advance(c.retryInMs);
  assert.equal(FakeWebSocket.instances.length, 2);
});

test('calls fail with #N/A when no server answers for offlineTimeoutMs', async () => {
  const c = newClient({ offlineTimeoutMs: 30_000 });
  FakeWebSocket.last().drop(1006);
  const a = c.call('GEOLOCATE', ['a']);
  clock.advance(10_000);
  const b = c.call('GEOLOCATE', ['b']);
  // Keep failing to connect.
  for (let t = 0; t < 20_001; t += 250) {
    const ws = FakeWebSocket.last();
    if (!ws.closed) ws.drop(1006);
    clock.advance(250);
  }
  const ra = await a.promise;
  assert.equal(ra.error, '#N/A');
  assert.match(ra.message, /no connection to the xlbatch server/);
  assert.equal(await settled(b.promise), false, 'b has waited only 20 s');
  clock.advance(10_000);
  assert.equal((await b.promise).error, '#N/A');
});

test('a refused token fails waiting calls and says so', async () => {
  const c = newClient({ token: 'wrong' });
  const ws = FakeWebSocket.last();
  const a = c.call('GEOLOCATE', ['a']);
  ws.open();
  ws.drop(1008, 'missing or wrong token');
  assert.equal(c.state, State.UNAUTHORIZED);
  const r = await a.promise;
  assert.equal(r.error, '#N/A');
  assert.match(r.message, /wrong token/);

  // A new token reconnects at once and sends it.
  c.setToken('right');
  const next = FakeWebSocket.last();
  assert.notEqual(next, ws);
  next.open();
  assert.equal(JSON.parse(next.sent[0]).token, 'right');
});

test('a call the server keeps rejecting with a protocol error fails instead of looping', async () => {
  const c = newClient();
  const bad = c.call('GEOLOCATE', ['poison']);
  for (let i = 0; i < 3; i++) {
    const ws = FakeWebSocket.last();
    ws.welcome();
    await flush();
    assert.equal(ws.calls().length, 1);
    ws.drop(1002, 'bad args');
    clock.advance(c.retryInMs);
  }
  const r = await bad.promise;
  assert.equal(r.error, '#N/A');
  assert.match(r.message, /rejected this call: bad args/);
});

test('stats messages reach subscribers; a failing listener does not break the client', async () => {
  const c = newClient();
  const ws = FakeWebSocket.last();
  const seen = [];
  const origError = console.error;
  console.error = () => {};
  try {
    c.subscribe(() => {
      throw new Error('boom');
    });
    const unsubscribe = c.subscribe((e) => seen.push(e.type));
    ws.welcome();
    ws.receive({ type: 'stats', calls: 10, batches: 1, upstreamRequests: 1, cacheHits: 3, pending: 0 });
    unsubscribe();
    ws.receive({ type: 'stats', calls: 11, batches: 1, upstreamRequests: 1, cacheHits: 3, pending: 0 });
  } finally {
    console.error = origError;
  }
  assert.deepEqual(seen, ['state', 'stats']);
  assert.equal(c.stats?.calls, 11);
});

test('stop fails every waiting call and stops reconnecting', async () => {
  const c = newClient();
  const a = c.call('GEOLOCATE', ['a']);
  c.stop();
  assert.equal((await a.promise).error, '#N/A');
  assert.equal(c.state, State.STOPPED);
  assert.deepEqual(clock.pending(), []);
  assert.equal((await c.call('GEOLOCATE', ['b']).promise).error, '#N/A', 'a call after stop fails at once');
});

test('utf8Length counts UTF-8 bytes', () => {
  for (const s of ['', 'abc', 'Straße', 'Zürich', '東京', '😀', 'a😀b']) {
    assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'), s);
  }
});
