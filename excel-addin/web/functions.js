// The custom functions: every function the server lists in /functions.json is
// associated with a handler that sends its calls over the shared WebSocket.
//
// A function is added in Go once; nothing here names a function. In Office's
// shared runtime the task pane page loads this module, so the task pane and
// the cells share one connection and one set of counters.

import { XlbatchClient } from './xlbatch-client.js';
import { toExcelResult, toWire } from './excel-values.js';

/** @typedef {import('./excel-values.js').CustomFunctionsApi & {associate: (id: string, fn: Function) => void}} CustomFunctionsNamespace */

/**
 * @typedef {object} FunctionMetadata One entry of functions.json.
 * @property {string} id
 * @property {string} name
 * @property {Array<{name: string, optional?: boolean, repeating?: boolean}>} parameters
 * @property {{dimensionality?: string}} [result]
 */

/**
 * @typedef {object} Invocation What Excel passes as a custom function's last argument.
 * @property {string} [address]
 * @property {boolean} [isInValuePreview]
 * @property {() => void} [onCanceled]
 */

/**
 * makeHandler returns the function Excel calls for one custom function: it
 * sends the call (with the preview flag and the calling cell), hands Excel a
 * cancel hook, and turns the result into a cell value or a CustomFunctions.Error.
 * @param {XlbatchClient} client
 * @param {FunctionMetadata} meta
 * @param {CustomFunctionsNamespace} CF
 * @returns {(...argv: any[]) => Promise<any>}
 */
export function makeHandler(client, meta, CF) {
  return function handler(...argv) {
    // Read meta on every call: a newer functions.json may have updated it in place.
    const arity = meta.parameters.length;
    // Excel passes the invocation after the declared parameters, always.
    /** @type {Invocation | undefined} */
    const invocation = argv.length > arity && argv[arity] && typeof argv[arity] === 'object' ? argv[arity] : undefined;
    const args = argv.slice(0, arity).map(toWire);
    while (args.length > 0 && args[args.length - 1] === null && meta.parameters[args.length - 1]?.optional) args.pop();
    const call = client.call(meta.name || meta.id, args, {
      preview: Boolean(invocation?.isInValuePreview),
      caller: typeof invocation?.address === 'string' ? invocation.address : undefined,
    });
    if (invocation) invocation.onCanceled = call.cancel;
    const scalar = meta.result?.dimensionality !== 'matrix';
    return call.promise.then((result) => toExcelResult(CF, result, scalar));
  };
}

/**
 * loadMetadata fetches functions.json, retrying a few times: the page and the
 * metadata come from the same server, so a failure is a blip, not an outage.
 * @param {typeof fetch} fetchFn
 * @param {string} url
 * @returns {Promise<FunctionMetadata[]>}
 */
export async function loadMetadata(fetchFn, url) {
  let lastErr;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const res = await fetchFn(url, { cache: 'no-store' });
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
      const body = await res.json();
      if (!body || !Array.isArray(body.functions)) throw new Error(`GET ${url}: no "functions" list`);
      return body.functions;
    } catch (err) {
      lastErr = err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
  throw lastErr;
}

/**
 * @typedef {object} Addin
 * @property {XlbatchClient} client
 * @property {FunctionMetadata[]} functions the functions associated with Excel
 */

// METADATA_KEY is where the last functions.json is kept between sessions.
const METADATA_KEY = 'xlbatch.functions';

/**
 * startAddin connects to the server the page came from and associates every
 * function it serves. Without a CustomFunctions namespace (the page opened in
 * a plain browser) it only connects, so the task pane still shows the server.
 *
 * Excel may recalculate a workbook's cells as soon as the runtime starts,
 * before functions.json has been fetched; so the functions known from the
 * last session are associated at once, from storage, and the fetched list
 * then updates them and adds new ones.
 * @param {{baseUrl: string, CustomFunctions?: CustomFunctionsNamespace, fetch?: typeof fetch,
 *   storage?: Pick<Storage, 'getItem' | 'setItem'> | null, token?: string,
 *   clientOptions?: import('./xlbatch-client.js').ClientOptions}} options
 * @returns {{client: XlbatchClient, ready: Promise<Addin>}}
 */
export function startAddin({ baseUrl, CustomFunctions: CF, fetch: fetchFn = globalThis.fetch, storage = null, token, clientOptions }) {
  const client = new XlbatchClient(webSocketUrl(baseUrl), { ...clientOptions, token });
  client.start();
  /** @type {Map<string, FunctionMetadata>} */
  const associated = new Map();
  /** @param {FunctionMetadata[]} list */
  const associateAll = (list) => {
    if (!CF) return;
    for (const meta of list) {
      const known = associated.get(meta.id);
      if (known) {
        Object.assign(known, meta); // its handler reads the new parameters on the next call
        continue;
      }
      const own = { ...meta };
      associated.set(meta.id, own);
      CF.associate(meta.id, makeHandler(client, own, CF));
    }
  };
  associateAll(readStoredMetadata(storage));
  const ready = (async () => {
    const functions = await loadMetadata(fetchFn, new URL('/functions.json', baseUrl).href);
    associateAll(functions);
    try {
      storage?.setItem(METADATA_KEY, JSON.stringify(functions));
    } catch {
      // Storage full or disabled: the next session fetches before associating.
    }
    return { client, functions };
  })();
  return { client, ready };
}

/**
 * readStoredMetadata returns the functions.json list of the last session, or
 * an empty list.
 * @param {Pick<Storage, 'getItem'> | null} storage
 * @returns {FunctionMetadata[]}
 */
function readStoredMetadata(storage) {
  try {
    const list = JSON.parse(storage?.getItem(METADATA_KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((m) => m && typeof m.id === 'string' && Array.isArray(m.parameters)) : [];
  } catch {
    return [];
  }
}

/**
 * webSocketUrl is the protocol endpoint on the origin of baseUrl.
 * @param {string} baseUrl
 * @returns {string}
 */
export function webSocketUrl(baseUrl) {
  const u = new URL('/v1/ws', baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

/**
 * pageStorage is the page's localStorage, or null where storage is disabled.
 * @returns {Storage | null}
 */
function pageStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * tokenFromPage finds the server token: the page's ?token=, else what the
 * user typed into the task pane earlier.
 * @returns {string}
 */
function tokenFromPage() {
  const fromUrl = new URL(globalThis.location.href).searchParams.get('token');
  if (fromUrl) return fromUrl;
  try {
    return pageStorage()?.getItem('xlbatch.token') ?? '';
  } catch {
    return '';
  }
}

/**
 * addin is this page's add-in: started when the module loads in a page, null
 * under node (tests import the functions above instead).
 * @type {{client: XlbatchClient, ready: Promise<Addin>} | null}
 */
export const addin =
  typeof document === 'undefined'
    ? null
    : startAddin({
        baseUrl: new URL('/', import.meta.url).href,
        CustomFunctions: /** @type {any} */ (globalThis).CustomFunctions,
        storage: pageStorage(),
        token: tokenFromPage(),
      });

if (addin) {
  addin.ready.catch((err) => console.error('xlbatch: could not register the functions:', err));
}
