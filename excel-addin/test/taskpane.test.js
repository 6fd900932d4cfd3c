import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { view } from '../web/taskpane.js';
import { XlbatchClient } from '../web/xlbatch-client.js';
import { FakeWebSocket } from './fakes.js';

beforeEach(() => FakeWebSocket.reset());

function client() {
  const c = new XlbatchClient('ws://localhost/v1/ws', { WebSocket: /** @type {any} */ (FakeWebSocket), random: () => 0 });
  c.start();
  return c;
}

test('the task pane shows the server counters and what batching saved', () => {
  const c = client();
  FakeWebSocket.last().welcome();
  FakeWebSocket.last().receive({ type: 'stats', calls: 10000, batches: 11, upstreamRequests: 11, cacheHits: 4200, pending: 3, errors: 2 });
  const v = view(c);
  assert.equal(v.status, 'Connected');
  assert.equal(v.detail, '');
  assert.equal(v.calls, (10000).toLocaleString());
  assert.equal(v.saved, (9989).toLocaleString());
  assert.equal(v.savedPct, '99.9 %');
  assert.equal(v.batches, '11');
  assert.equal(v.upstream, '11');
  assert.equal(v.cacheHits, (4200).toLocaleString());
  assert.equal(v.errors, '2');
  assert.equal(v.pending, '3');
  FakeWebSocket.last().receive({ type: 'stats', calls: 4001, batches: 1, upstreamRequests: 2, cacheHits: 0, pending: 0 });
  assert.equal(view(c).savedPct, '99.9 %', 'rounded down: 100 % only when nothing went upstream');
  assert.equal(view(c).errors, '0', "without a server count, the add-in's own");
  c.stop();
});

test('before any stats the counters are dashes; disconnected says what to do', () => {
  const c = client();
  FakeWebSocket.last().drop(1006);
  const v = view(c);
  assert.equal(v.calls, '–');
  assert.equal(v.saved, '–');
  assert.equal(v.errors, '–');
  assert.equal(v.statusClass, 'waiting');
  assert.match(v.detail, /xlbatch serve/);
  c.stop();
});

test('a refused token shows the token state', () => {
  const c = client();
  FakeWebSocket.last().open();
  FakeWebSocket.last().drop(1008, 'missing or wrong token');
  const v = view(c);
  assert.equal(v.status, 'Token needed');
  assert.match(v.detail, /wrong token/);
  c.stop();
});
