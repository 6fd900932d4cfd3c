import { test } from 'node:test';
import assert from 'node:assert/strict';

import { toExcelError, toExcelResult, fromWire, toWire } from '../web/excel-values.js';
import { fakeCustomFunctions, CFError } from './fakes.js';

const CF = fakeCustomFunctions();

test('every error code maps to its CustomFunctions.ErrorCode; messages only where Excel shows them', () => {
  const cases = [
    // code from the server, message, expected cell error, expected message (undefined: none given)
    ['#VALUE!', 'argument 1 (address) must be text', '#VALUE!', 'argument 1 (address) must be text'],
    ['#N/A', 'no match for "Nowhere"', '#N/A', 'no match for "Nowhere"'],
    ['#N/A', '', '#N/A', undefined],
    ['#DIV/0!', 'ignored', '#DIV/0!', undefined],
    ['#NUM!', 'ignored', '#NUM!', undefined],
    ['#NULL!', 'ignored', '#NULL!', undefined],
    // Excel takes #NAME? and #REF! only as inputs: they become #VALUE! and keep the code in the message.
    ['#NAME?', 'unknown function FOO', '#VALUE!', '#NAME? unknown function FOO'],
    ['#REF!', '', '#VALUE!', '#REF!'],
    ['#BOGUS', 'x', '#VALUE!', 'unexpected error value "#BOGUS" from the server: x'],
  ];
  for (const [code, message, wantCode, wantMessage] of cases) {
    const e = /** @type {CFError} */ (toExcelError(CF, code, message));
    assert.ok(e instanceof CFError, code);
    assert.equal(e.code, wantCode, code);
    assert.equal(e.hasMessage ? e.message : undefined, wantMessage, code);
  }
});

test('error results throw the cell error; values come back as cell values', () => {
  assert.throws(
    () => toExcelResult(CF, { error: '#N/A', message: 'no match for "x"' }, false),
    (e) => e instanceof CFError && e.code === '#N/A' && e.message === 'no match for "x"',
  );
  assert.deepEqual(toExcelResult(CF, { value: [[51.5, -0.15]] }, false), [[51.5, -0.15]]);
  assert.equal(toExcelResult(CF, { value: 48.85 }, true), 48.85);
  assert.equal(toExcelResult(CF, { value: 'Paris, France' }, true), 'Paris, France');
  assert.equal(toExcelResult(CF, { value: true }, true), true);
  assert.equal(toExcelResult(CF, { value: null }, true), '', 'empty shows as a blank cell');
  assert.deepEqual(toExcelResult(CF, { value: 7 }, false), [[7]], 'a matrix function always returns rows');
  assert.equal(toExcelResult(CF, { value: [[1, 2]] }, true), 1, 'a scalar function takes the top-left value');
  assert.throws(() => toExcelResult(CF, { value: { error: '#NUM!' } }, true), (e) => e instanceof CFError && e.code === '#NUM!');
});

test('arrays keep blanks and errors cell by cell', () => {
  const out = fromWire(CF, [
    [1, null],
    [{ error: '#N/A' }, 'x'],
  ]);
  assert.equal(out[0][0], 1);
  assert.equal(out[0][1], '');
  assert.ok(out[1][0] instanceof CFError);
  assert.equal(out[1][0].code, '#N/A');
  assert.equal(out[1][1], 'x');
});

test('arguments become protocol values', () => {
  const err = new CFError('#DIV/0!');
  const cases = [
    [undefined, null],
    [null, null],
    [3.5, 3.5],
    [NaN, { error: '#NUM!' }],
    ['Paris', 'Paris'],
    [false, false],
    [[[1, 'a'], [null, true]], [[1, 'a'], [null, true]]],
    [[1, 2, 3], [[1, 2, 3]]], // a repeating scalar parameter travels as one row
    [err, { error: '#DIV/0!' }],
    [{ type: 'Double', basicValue: 2 }, 2],
    [{ something: 'else' }, { error: '#VALUE!' }],
  ];
  for (const [input, want] of cases) assert.deepEqual(toWire(input), want, JSON.stringify(input));
});
