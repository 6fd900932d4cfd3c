// Conversions between cell values as Office.js custom functions see them and
// the JSON values of the xlbatch wire protocol.
//
// The CustomFunctions namespace is a parameter, not a global, so node --test
// can pass a stand-in.

/**
 * @typedef {object} CustomFunctionsApi The part of Office's CustomFunctions namespace used here.
 * @property {new (code: string, message?: string) => Error} Error
 * @property {Record<string, string>} ErrorCode
 */

/**
 * ERROR_CODE_NAMES maps each Excel error value to its CustomFunctions.ErrorCode member.
 * @type {Readonly<Record<string, string>>}
 */
export const ERROR_CODE_NAMES = Object.freeze({
  '#VALUE!': 'invalidValue',
  '#N/A': 'notAvailable',
  '#DIV/0!': 'divisionByZero',
  '#NUM!': 'invalidNumber',
  '#NULL!': 'nullReference',
  '#NAME?': 'invalidName',
  '#REF!': 'invalidReference',
});

// Excel shows a custom message only with #VALUE! and #N/A.
const CODES_WITH_MESSAGE = new Set(['#VALUE!', '#N/A']);

// #NAME? and #REF! are accepted from custom functions only as inputs, so a
// result with one of them becomes #VALUE! and the message keeps the original
// code: the user still reads what went wrong.
const INPUT_ONLY_CODES = new Set(['#NAME?', '#REF!']);

/**
 * toExcelError builds the CustomFunctions.Error a cell shows for an error result.
 * @param {CustomFunctionsApi} CF
 * @param {string} code an Excel error value such as "#N/A"
 * @param {string} [message]
 * @returns {Error}
 */
export function toExcelError(CF, code, message = '') {
  if (!(code in ERROR_CODE_NAMES)) {
    message = `unexpected error value ${JSON.stringify(code)} from the server${message ? ': ' + message : ''}`;
    code = '#VALUE!';
  } else if (INPUT_ONLY_CODES.has(code)) {
    message = message ? `${code} ${message}` : code;
    code = '#VALUE!';
  }
  const errorCode = CF.ErrorCode[ERROR_CODE_NAMES[code]];
  if (CODES_WITH_MESSAGE.has(code) && message) return new CF.Error(errorCode, message);
  return new CF.Error(errorCode);
}

/**
 * fromWire turns a protocol value into what a custom function returns for a
 * cell: numbers, text and booleans as they are, errors as CustomFunctions.Error,
 * and empty as "" (an empty string shows as a blank cell, where null would
 * not reliably).
 * @param {CustomFunctionsApi} CF
 * @param {any} v
 * @returns {any}
 */
export function fromWire(CF, v) {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map((row) => (Array.isArray(row) ? row.map((c) => fromWire(CF, c)) : fromWire(CF, row)));
  if (typeof v === 'object') {
    if (typeof v.error === 'string') return toExcelError(CF, v.error, typeof v.message === 'string' ? v.message : '');
    return toExcelError(CF, '#VALUE!', 'unexpected value from the server');
  }
  return v;
}

/**
 * toExcelResult turns a result message into a cell's value, or throws the
 * CustomFunctions.Error the cell should show.
 * @param {CustomFunctionsApi} CF
 * @param {{value?: any, error?: string, message?: string}} result
 * @param {boolean} scalar the function's metadata declares a scalar result
 * @returns {any}
 */
export function toExcelResult(CF, result, scalar) {
  if (typeof result.error === 'string') throw toExcelError(CF, result.error, result.message ?? '');
  let v = result.value;
  // A scalar function given an array answers with its top-left value, as
  // Excel's implicit intersection would; an empty array is an empty cell.
  if (scalar && Array.isArray(v)) v = Array.isArray(v[0]) ? v[0][0] : v[0];
  const out = fromWire(CF, v);
  if (out instanceof CF.Error) throw out;
  // A matrix function must return rows even for one value.
  if (!scalar && !Array.isArray(out)) return [[out]];
  return out;
}

/**
 * toWire turns an argument as Excel passes it into a protocol value:
 * omitted optionals (null or undefined) become null, ranges stay arrays of
 * rows (a flat list becomes one row), error inputs become {"error": code}, and numbers JSON cannot carry
 * become #NUM!.
 * @param {any} v
 * @returns {any}
 */
export function toWire(v) {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) {
    // The protocol's arrays are rows; a repeating scalar parameter arrives as
    // a flat list, which travels as one row.
    if (v.every(Array.isArray)) return v.map((row) => row.map(toWire));
    return [v.map(toWire)];
  }
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? v : { error: '#NUM!' };
    case 'string':
    case 'boolean':
      return v;
    case 'object':
      // A CustomFunctions.Error input carries its code (the ErrorCode values are the "#…" strings).
      if (typeof v.code === 'string' && v.code in ERROR_CODE_NAMES) return { error: v.code };
      // Entity and formatted values carry the plain value in basicValue.
      if ('basicValue' in v) return toWire(v.basicValue);
      return { error: '#VALUE!' };
    default:
      return { error: '#VALUE!' };
  }
}
