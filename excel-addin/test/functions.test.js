import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { makeHandler, startAddin, webSocketUrl, loadMetadata } from '../web/functions.js';
import { XlbatchClient } from '../web/xlbatch-client.js';
import { FakeWebSocket, fakeCustomFunctions, CFError, flush } from './fakes.js';

beforeEach(() => FakeWebSocket.reset());

const GEOLOCATE = {
  id: 'GEOLOCATE',
  name: 'GEOLOCATE',
  parameters: [{ name: 'address' }, { name: 'country', optional: true }],
  result: { dimensionality: 'matrix' },
  options: { cancelable: true },
};
const GEOCODE = {
  id: 'GEOCODE',
  name: 'GEOCODE',
  parameters: [{ name: 'address' }, { name: 'field' }, { name: 'country', optional: true }],
  result: { dimensionality: 'scalar' },
};

/** readyClient returns a client whose fake socket has been welcomed. */
function readyClient() {
  const client = new XlbatchClient('ws://localhost/v1/ws', { WebSocket: /** @type {any} */ (FakeWebSocket) });
  client.start();
  const ws = FakeWebSocket.last();
  ws.welcome();
  return { client, ws };
}

/** @param {Promise<any>} p */
async function settled(p) {
  const marker = Symbol('pending');
  return (await Promise.race([p.then(() => 1, () => 1), flush().then(() => marker)])) !== marker;
}

/** invocation fakes what Excel passes as the last argument. */
function invocation(extra = {}) {
  return { address: 'Sheet1!B2', isInValuePreview: false, onCanceled: undefined, ...extra };
}

test('a cell invocation becomes a call with its arguments; omitted trailing optionals are left out', async () => {
  const { client, ws } = readyClient();
  const CF = fakeCustomFunctions();
  const geolocate = makeHandler(client, GEOLOCATE, CF);
  const p = geolocate('221B Baker St, London', null, invocation());
  await flush();
  const [m] = ws.calls();
  assert.deepEqual(m, { type: 'call', id: m.id, fn: 'GEOLOCATE', args: ['221B Baker St, London'], caller: 'Sheet1!B2' });
  ws.receive({ type: 'result', id: m.id, value: [[51.5237, -0.1585]] });
  assert.deepEqual(await p, [[51.5237, -0.1585]]);
});

test('formula value preview is passed through', async () => {
  const { client, ws } = readyClient();
  const geolocate = makeHandler(client, GEOLOCATE, fakeCustomFunctions());
  geolocate('Oslo', 'NO', invocation({ isInValuePreview: true }));
  geolocate('Oslo', 'NO', invocation());
  await flush();
  const [preview, normal] = ws.calls();
  assert.equal(preview.preview, true);
  assert.deepEqual(preview.args, ['Oslo', 'NO']);
  assert.equal(normal.preview, undefined);
});

test('an error result rejects with CustomFunctions.Error carrying the message', async () => {
  const { client, ws } = readyClient();
  const geocode = makeHandler(client, GEOCODE, fakeCustomFunctions());
  const bad = geocode('Paris', 'colour', null, invocation());
  const none = geocode('Nowhere', 'lat', null, invocation());
  await flush();
  const [a, b] = ws.calls();
  ws.receive([
    { type: 'result', id: a.id, error: '#VALUE!', message: 'unknown field "colour"; valid fields: lat, lon' },
    { type: 'result', id: b.id, error: '#N/A', message: 'no match for "Nowhere"' },
  ]);
  await assert.rejects(bad, (e) => e instanceof CFError && e.code === '#VALUE!' && /unknown field/.test(e.message));
  await assert.rejects(none, (e) => e instanceof CFError && e.code === '#N/A' && e.message === 'no match for "Nowhere"');
});

test('Excel cancelling a cell sends cancel, and the cell gets no result', async () => {
  const { client, ws } = readyClient();
  const geolocate = makeHandler(client, GEOLOCATE, fakeCustomFunctions());
  const inv = invocation();
  const p = geolocate('Lima', null, inv);
  await flush();
  assert.equal(typeof inv.onCanceled, 'function', 'the handler gives Excel a cancel hook');
  inv.onCanceled();
  await flush();
  const [call, cancel] = ws.messages().filter((m) => m.type !== 'hello');
  assert.deepEqual(cancel, { type: 'cancel', id: call.id });
  ws.receive({ type: 'result', id: call.id, value: [[1, 2]] });
  assert.equal(await settled(p), false);
});

test('2,000 invocations in one tick travel in one frame and each gets its own answer', async () => {
  const { client, ws } = readyClient();
  const geolocate = makeHandler(client, GEOLOCATE, fakeCustomFunctions());
  const results = [];
  for (let i = 0; i < 2000; i++) results.push(geolocate(`addr ${i}`, null, invocation({ address: `Sheet1!B${i + 1}` })));
  await flush();
  assert.equal(ws.sent.length, 2, 'hello and one frame');
  const calls = ws.calls();
  assert.equal(calls.length, 2000);
  ws.receive(calls.map((m) => ({ type: 'result', id: m.id, value: [[Number(m.args[0].slice(5)), m.id]] })));
  const got = await Promise.all(results);
  got.forEach((v, i) => assert.equal(v[0][0], i));
});

test('startAddin associates every function in functions.json and connects to /v1/ws', async () => {
  const CF = fakeCustomFunctions();
  const requested = [];
  const fakeFetch = async (/** @type {string} */ url) => {
    requested.push(url);
    return { ok: true, status: 200, json: async () => ({ functions: [GEOLOCATE, GEOCODE] }) };
  };
  const { client, ready } = startAddin({
    baseUrl: 'https://localhost:8765/',
    CustomFunctions: CF,
    fetch: /** @type {any} */ (fakeFetch),
    clientOptions: { WebSocket: /** @type {any} */ (FakeWebSocket) },
  });
  const { functions } = await ready;
  assert.deepEqual(requested, ['https://localhost:8765/functions.json']);
  assert.deepEqual([...CF.associated.keys()], ['GEOLOCATE', 'GEOCODE']);
  assert.equal(functions.length, 2);
  assert.equal(FakeWebSocket.last().url, 'wss://localhost:8765/v1/ws');
  client.stop();
});

test('functions known from the last session are associated before functions.json arrives', async () => {
  const CF = fakeCustomFunctions();
  /** @type {Map<string, string>} */
  const store = new Map([['xlbatch.functions', JSON.stringify([{ ...GEOCODE, parameters: [{ name: 'address' }] }])]]);
  const storage = { getItem: (/** @type {string} */ k) => store.get(k) ?? null, setItem: (/** @type {string} */ k, /** @type {string} */ v) => void store.set(k, v) };
  /** @type {(v: any) => void} */
  let respond = () => {};
  const slowFetch = () => new Promise((r) => (respond = r));
  const { client, ready } = startAddin({
    baseUrl: 'http://localhost:8765/',
    CustomFunctions: CF,
    fetch: /** @type {any} */ (slowFetch),
    storage,
    clientOptions: { WebSocket: /** @type {any} */ (FakeWebSocket) },
  });
  assert.deepEqual([...CF.associated.keys()], ['GEOCODE'], 'associated synchronously from storage');
  respond({ ok: true, status: 200, json: async () => ({ functions: [GEOCODE, GEOLOCATE] }) });
  await ready;
  assert.deepEqual([...CF.associated.keys()], ['GEOCODE', 'GEOLOCATE'], 'each id associated once');
  assert.deepEqual(JSON.parse(store.get('xlbatch.functions') ?? '[]').map((/** @type {any} */ f) => f.id), ['GEOCODE', 'GEOLOCATE']);

  // The early handler now uses the fresh metadata: three parameters, not one.
  FakeWebSocket.last().welcome();
  const geocode = /** @type {Function} */ (CF.associated.get('GEOCODE'));
  geocode('Paris', 'lat', 'FR', invocation()).catch(() => {}); // fails with #N/A when the client stops below
  await flush();
  assert.deepEqual(FakeWebSocket.last().calls()[0].args, ['Paris', 'lat', 'FR']);
  client.stop();
});

test('webSocketUrl follows the page scheme', () => {
  assert.equal(webSocketUrl('https://localhost:8765/taskpane.html'), 'wss://localhost:8765/v1/ws');
  assert.equal(webSocketUrl('http://127.0.0.1:9000/'), 'ws://127.0.0.1:9000/v1/ws');
});

test('loadMetadata retries a failed fetch and reports a bad body', async () => {
  let n = 0;
  const flaky = async () => {
    n++;
    if (n === 1) throw new Error('connection reset');
    return { ok: true, status: 200, json: async () => ({ functions: [GEOCODE] }) };
  };
  assert.deepEqual(await loadMetadata(/** @type {any} */ (flaky), 'http://x/functions.json'), [GEOCODE]);
  assert.equal(n, 2);
});
