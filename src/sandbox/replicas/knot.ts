/**
 * A local replica of Knot's API (TransactionLink), built from Knot's documentation
 * (CONNECTORS.md §4, docs/knot.md "The replica") — not from what orderlink's connector sends.
 * One HTTP server on 127.0.0.1:
 *
 * - HTTP Basic auth on every API call (401 `INVALID_API_KEYS` otherwise); errors as
 *   `{ error_type, error_code, error_message }` (Knot's documented code, shape assumed);
 * - `POST /session/create` (30-minute sessions), `POST /merchant/list`, `POST /transactions/sync`
 *   (opaque cursors, `limit` 1–100 default 5, `next_cursor: null` at the end, transactions not in
 *   date order), `POST /accounts/unlink`, and in development `POST /development/accounts/link`
 *   and `POST /development/accounts/disconnect` (the login-required state);
 * - a stand-in for the web SDK: `GET /sdk/knotapi.js` defines `KnotapiJS` whose `open()` logs in
 *   with the documented development login (`POST /sdk/authenticate`, CORS-enabled) and calls
 *   `onSuccess` — so a page served by orderlink runs exactly as it would with Knot's SDK;
 * - faults: 429 with Retry-After, 5xx, latency; deterministic data by seed, generated lazily.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MERCHANTS, makeTransaction, transactionId, transactionKey, type ReplicaMerchant } from './knot-data.js';
import { FAKE_SDK } from './knot-sdk.js';

export interface KnotFaults {
  /** Every Nth API request (counting from 1) is answered 429 with Retry-After. */
  rateLimitEvery?: number;
  retryAfterSeconds?: number;
  /** Every Nth API request is answered 503. */
  serverErrorEvery?: number;
  latencyMs?: number;
}

export interface KnotReplicaOptions {
  port?: number;
  /** Same seed → same transactions. Default 42. */
  seed?: number;
  /** Transactions a newly linked account gets (Knot's development login: 205). */
  transactions?: number;
  faults?: KnotFaults;
  clientId?: string;
  secret?: string;
  /** 'production' has no /development endpoints. Default 'development'. */
  environment?: 'development' | 'production';
}

export interface KnotAccountState {
  external_user_id: string;
  merchant: ReplicaMerchant;
  status: 'connected' | 'disconnected';
  count: number;
}

export interface KnotReplicaHandle {
  url: string;
  port: number;
  clientId: string;
  accounts(): KnotAccountState[];
  /** Every transaction id the replica holds for one linked account. */
  transactionIds(externalUserId: string, merchantId: number): string[];
  /** The Nth transaction exactly as the replica sends it (payment fields included). */
  transaction(externalUserId: string, merchantId: number, index: number): Record<string, unknown>;
  addTransactions(externalUserId: string, merchantId: number, n: number): void;
  /** The login-required state for one account, or every account. */
  disconnect(externalUserId?: string, merchantId?: number): void;
  setFaults(f: KnotFaults): void;
  stats(): { requests: number; byPath: Record<string, number>; rateLimited: number };
  close(): Promise<void>;
}

const SESSION_TTL_MS = 30 * 60_000;
const DEV_LOGIN = { username: 'user_good_transactions', passwords: ['pass_good', 'pass_good_updates'] };

class KnotHttpError extends Error {
  constructor(readonly status: number, readonly type: string, readonly code: string, message: string) {
    super(message);
  }
}
const invalid = (message: string) => new KnotHttpError(400, 'INVALID_INPUT', 'INVALID_FIELD', message);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw invalid('request body too large');
    chunks.push(c as Buffer);
  }
  try {
    const j = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) return j as Record<string, unknown>;
  } catch {
    /* below */
  }
  throw invalid('the request body must be a JSON object');
}

const str = (b: Record<string, unknown>, k: string): string => {
  const v = b[k];
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw invalid(`${k} is required`);
  return v;
};
const int = (b: Record<string, unknown>, k: string): number => {
  const v = b[k];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(`${k} must be an integer`);
  return v;
};

export function encodeCursor(id: number): string {
  return Buffer.from(JSON.stringify({ id, _pointsToNextItems: true })).toString('base64url');
}
function decodeCursor(c: string): number {
  try {
    const j = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { id?: unknown };
    if (typeof j.id === 'number' && Number.isInteger(j.id) && j.id >= 0) return j.id;
  } catch {
    /* below */
  }
  throw invalid('cursor is invalid');
}

export async function startKnotReplica(o: KnotReplicaOptions = {}): Promise<KnotReplicaHandle> {
  const seed = o.seed ?? 42;
  const perAccount = o.transactions ?? 205;
  const clientId = o.clientId ?? 'knot-replica-client';
  const secret = o.secret ?? 'knot-replica-secret';
  const dev = (o.environment ?? 'development') === 'development';
  let faults: KnotFaults = { ...(o.faults ?? {}) };
  const accounts = new Map<string, KnotAccountState>();
  const sessions = new Map<string, { external_user_id: string; type: string; expires: number }>();
  const byPath: Record<string, number> = {};
  let requests = 0;
  let apiRequests = 0;
  let rateLimited = 0;
  const expectedAuth = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
  const accKey = (u: string, m: number) => `${u}\u0000${m}`;
  const merchantById = (id: number) => {
    const m = MERCHANTS.find((x) => x.id === id);
    if (!m) throw new KnotHttpError(400, 'INVALID_INPUT', 'INVALID_MERCHANT', `merchant ${id} does not exist`);
    return m;
  };
  const link = (user: string, merchant: ReplicaMerchant, fresh: boolean) => {
    const a = accounts.get(accKey(user, merchant.id));
    if (a) a.status = 'connected';
    else accounts.set(accKey(user, merchant.id), { external_user_id: user, merchant, status: 'connected', count: fresh ? perAccount : 0 });
  };
  const account = (b: Record<string, unknown>) => {
    const a = accounts.get(accKey(str(b, 'external_user_id'), int(b, 'merchant_id')));
    if (!a) throw new KnotHttpError(400, 'INVALID_INPUT', 'MERCHANT_ACCOUNT_NOT_FOUND', 'no merchant account is linked for this user and merchant');
    return a;
  };

  async function api(path: string, b: Record<string, unknown>): Promise<unknown> {
    switch (path) {
      case '/session/create': {
        const type = str(b, 'type');
        if (!['card_switcher', 'transaction_link', 'link', 'vault'].includes(type)) throw invalid('type is invalid');
        const session = randomUUID();
        sessions.set(session, { external_user_id: str(b, 'external_user_id'), type, expires: Date.now() + SESSION_TTL_MS });
        return { session };
      }
      case '/merchant/list': {
        const q = typeof b.search === 'string' ? b.search.toLowerCase().replace(/[^a-z0-9]/g, '') : '';
        return MERCHANTS.filter((m) => !q || m.name.toLowerCase().replace(/[^a-z0-9]/g, '').includes(q)).map((m) => ({ id: m.id, name: m.name, category: m.category, logo: `https://knot.example/logos/${m.id}.png` }));
      }
      case '/transactions/sync': {
        const a = account(b);
        if (a.status === 'disconnected') throw new KnotHttpError(400, 'ACCOUNT_ERROR', 'ACCOUNT_LOGIN_REQUIRED', 'the merchant account is disconnected: the user must log in again');
        const limit = b.limit === undefined || b.limit === null ? 5 : int(b, 'limit');
        if (limit < 1 || limit > 100) throw invalid('limit must be between 1 and 100');
        const from = b.cursor === undefined || b.cursor === null ? 0 : decodeCursor(str(b, 'cursor'));
        const to = Math.min(a.count, from + limit);
        const txs = [];
        for (let i = from; i < to; i++) txs.push(makeTransaction(seed, a.external_user_id, a.merchant, i));
        // Not in any guaranteed order (CONNECTORS.md §4.3): the page is served rotated.
        const k = txs.length ? from % txs.length : 0;
        return { merchant: { id: a.merchant.id, name: a.merchant.name }, transactions: [...txs.slice(k), ...txs.slice(0, k)], next_cursor: to < a.count ? encodeCursor(to) : null, limit };
      }
      case '/accounts/unlink':
        accounts.delete(accKey(account(b).external_user_id, int(b, 'merchant_id')));
        return { message: 'Success' };
      case '/development/accounts/link': {
        const t = b.transactions as { new?: unknown } | undefined;
        link(str(b, 'external_user_id'), merchantById(int(b, 'merchant_id')), t?.new === true);
        return { message: 'Success' };
      }
      case '/development/accounts/disconnect':
        account(b).status = 'disconnected';
        return { message: 'Success' };
      default:
        throw new KnotHttpError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'no such endpoint');
    }
  }

  function authenticate(b: Record<string, unknown>): unknown {
    const s = sessions.get(str(b, 'session_id'));
    if (!s || s.expires < Date.now()) throw new KnotHttpError(400, 'SESSION_ERROR', 'INVALID_SESSION', 'the session is invalid or expired');
    if (str(b, 'client_id') !== clientId) throw new KnotHttpError(401, 'INVALID_INPUT', 'INVALID_CLIENT_ID', 'client id does not match the session');
    const merchant = merchantById(int(b, 'merchant_id'));
    if (b.username !== DEV_LOGIN.username || !DEV_LOGIN.passwords.includes(String(b.password))) {
      throw new KnotHttpError(400, 'AUTHENTICATION_ERROR', 'CREDENTIALS_FAILED', 'the merchant login failed');
    }
    link(s.external_user_id, merchant, true);
    return { merchant: { id: merchant.id, name: merchant.name } };
  }

  const CORS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': 'content-type' };
  const server = createServer((req, res) => {
    void (async () => {
      requests++;
      const path = (req.url ?? '/').split('?')[0]!;
      byPath[path] = (byPath[path] ?? 0) + 1;
      try {
        if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
        if (path === '/sdk/knotapi.js' && req.method === 'GET') {
          res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store', ...CORS });
          return res.end(FAKE_SDK);
        }
        if (path === '/sdk/authenticate') {
          if (req.method === 'OPTIONS') return res.writeHead(204, CORS), res.end();
          if (req.method !== 'POST') throw new KnotHttpError(405, 'INVALID_REQUEST', 'METHOD_NOT_ALLOWED', 'use POST');
          return send(res, 200, authenticate(await readJson(req)), CORS);
        }
        if (req.method !== 'POST') throw new KnotHttpError(405, 'INVALID_REQUEST', 'METHOD_NOT_ALLOWED', 'use POST');
        if (path.startsWith('/development/') && !dev) throw new KnotHttpError(404, 'INVALID_REQUEST', 'NOT_FOUND', 'no such endpoint');
        if (req.headers.authorization !== expectedAuth) {
          req.resume();
          throw new KnotHttpError(401, 'INVALID_INPUT', 'INVALID_API_KEYS', 'Invalid client_id or secret provided.');
        }
        apiRequests++;
        if (faults.rateLimitEvery && apiRequests % faults.rateLimitEvery === 0) {
          rateLimited++;
          req.resume();
          return send(res, 429, { error_type: 'RATE_LIMIT', error_code: 'RATE_LIMIT_EXCEEDED', error_message: 'Too many requests.' }, { 'Retry-After': String(faults.retryAfterSeconds ?? 1) });
        }
        if (faults.serverErrorEvery && apiRequests % faults.serverErrorEvery === 0) {
          req.resume();
          return send(res, 503, { error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR', error_message: 'Please try again later.' });
        }
        send(res, 200, await api(path, await readJson(req)));
      } catch (err) {
        const e = err instanceof KnotHttpError ? err : new KnotHttpError(500, 'API_ERROR', 'INTERNAL_SERVER_ERROR', 'internal error');
        if (!res.headersSent) send(res, e.status, { error_type: e.type, error_code: e.code, error_message: e.message }, path.startsWith('/sdk/') ? CORS : {});
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: o.port ?? 0 }, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const get = (u: string, m: number) => {
    const a = accounts.get(accKey(u, m));
    if (!a) throw new Error(`no linked account for ${u} at merchant ${m}`);
    return a;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    clientId,
    accounts: () => [...accounts.values()].map((a) => ({ ...a })),
    transactionIds: (u, m) => Array.from({ length: get(u, m).count }, (_, i) => transactionId(transactionKey(seed, u, m, i))),
    transaction: (u, m, i) => makeTransaction(seed, u, get(u, m).merchant, i),
    addTransactions: (u, m, n) => void (get(u, m).count += n),
    disconnect(u, m) {
      for (const a of accounts.values()) if ((u === undefined || a.external_user_id === u) && (m === undefined || a.merchant.id === m)) a.status = 'disconnected';
    },
    setFaults: (f) => void (faults = { ...f }),
    stats: () => ({ requests, byPath: { ...byPath }, rateLimited }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
