/**
 * A local replica of the Plaid API (plaid-openapi 2020-09-14, ../shared/CONNECTORS.md §3) on
 * 127.0.0.1, for tests, benchmarks and `orderlink sandbox serve --provider plaid`. Built from the
 * documented API, not from what orderlink sends: every endpoint is a POST with a JSON body;
 * `client_id` + `secret` in the body or the PLAID-CLIENT-ID / PLAID-SECRET headers; the
 * `Plaid-Version` header (absent = the account default; unknown values refused); errors in Plaid's
 * shape `{error_type, error_code, error_message, display_message, request_id}`.
 *
 * Endpoints: /link/token/create (Hosted Link, update mode), /link/token/get, the hosted Link page,
 * /sandbox/public_token/create, /item/public_token/exchange, /item/get, /item/remove,
 * /transactions/sync, /transactions/refresh, /sandbox/item/reset_login.
 * Behaviour: real cursors (positions in an append-only update log, signed), `count` 1–500,
 * NOT_READY (next_cursor "") for the first polls of a new Item, TRANSACTIONS_SYNC_MUTATION_DURING_
 * PAGINATION when the log grows under a paginating client, pending → posted as removed + added,
 * ITEM_LOGIN_REQUIRED after reset_login until update mode, 429 RATE_LIMIT_EXCEEDED, and a removed
 * Item's token answered with ITEM_NOT_FOUND. Unverified details are marked where they are used.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, sendJson } from '../http.js';
import { ItemData, type ReplicaTx } from './plaid-data.js';
import { handleLinkPage, type LinkSessionState } from './plaid-link.js';

export const PLAID_VERSIONS = ['2020-09-14'];
const SANDBOX_INSTITUTIONS: Record<string, string> = {
  ins_109508: 'First Platypus Bank', ins_109509: 'First Gingham Credit Union', ins_109510: 'Tattersall Federal Credit Union',
  ins_109511: 'Tartan Bank', ins_109512: 'Houndstooth Bank', ins_130016: 'First Platypus Balance Bank',
};
const TEST_USERS = new Set(['user_good', 'user_transactions_dynamic']);

export interface PlaidReplicaOptions {
  port?: number;
  seed?: number;
  /** Transactions in each new Item's initial history (generated lazily). */
  transactions?: number;
  /** How many of the newest are pending. */
  pending?: number;
  clientId?: string;
  secret?: string;
  /** /transactions/sync calls answered NOT_READY for a new Item before its data is ready. */
  notReadyPolls?: number;
  asOf?: string;
}

/** Fault switches, read on every request (tests flip them between commands). */
export interface PlaidFaults {
  /** The next N /transactions/sync calls answer 429 RATE_LIMIT_EXCEEDED. */
  rateLimit: number;
  /** The next N page requests in the middle of an update first append a new transaction (→ the documented error). */
  mutateDuringPagination: number;
  /** The next N /transactions/sync calls answer 500 INTERNAL_SERVER_ERROR. */
  internalError: number;
  /** Delay before each /transactions/sync answer. */
  latencyMs: number;
}

interface Item {
  id: string;
  accessToken: string;
  institutionId: string;
  data: ItemData;
  loginRequired: boolean;
  notReady: number;
}

export interface PlaidReplica {
  url: string;
  clientId: string;
  secret: string;
  faults: PlaidFaults;
  /** Requests seen: path, the Plaid-Version header, how credentials came. Never the secret. */
  requests: Array<{ path: string; version: string | null; auth: 'body' | 'headers'; cursor?: string | null; status?: number }>;
  /** For tests: the Items, with their access tokens (to prove they never reach orderlink's files). */
  items(): Array<{ itemId: string; accessToken: string; loginRequired: boolean }>;
  /** The Item's transactions as they stand (the truth to compare a sync with). */
  live(itemId: string): ReplicaTx[];
  postPending(itemId: string): number;
  addTransactions(itemId: string, n: number, pending?: boolean): ReplicaTx[];
  resetLogin(itemId: string): void;
  close(): Promise<void>;
}

class PlaidHttpError extends Error {
  constructor(readonly status: number, readonly type: string, readonly code: string, message: string, readonly display: string | null = null) {
    super(message);
  }
}
const invalid = (code: string, msg: string) => new PlaidHttpError(400, 'INVALID_REQUEST', code, msg);
const input = (code: string, msg: string) => new PlaidHttpError(400, 'INVALID_INPUT', code, msg);

export async function startPlaidReplica(opts: PlaidReplicaOptions = {}): Promise<PlaidReplica> {
  const seed = opts.seed ?? 42;
  const clientId = opts.clientId ?? randomBytes(12).toString('hex');
  const secret = opts.secret ?? randomBytes(15).toString('hex');
  const hmacKey = randomBytes(32);
  const faults: PlaidFaults = { rateLimit: 0, mutateDuringPagination: 0, internalError: 0, latencyMs: 0 };
  const requests: PlaidReplica['requests'] = [];
  const items = new Map<string, Item>();
  const byToken = new Map<string, Item>();
  const removedTokens = new Set<string>();
  const publicTokens = new Map<string, { itemId: string; expires: number }>();
  const linkTokens = new Map<string, { created: string; expires: number; session: LinkSessionState; accessToken: string | null }>();
  const sessionsByPath = new Map<string, LinkSessionState>();
  let reqNo = 0;
  let base = '';

  function newItem(institutionId: string): Item {
    const id = `${randomBytes(4).toString('hex')}${randomUUID().replace(/-/g, '')}`.slice(0, 37);
    const it: Item = {
      id, accessToken: `access-sandbox-${randomUUID()}`, institutionId, loginRequired: false, notReady: opts.notReadyPolls ?? 1,
      data: new ItemData({ seed, index: items.size, count: opts.transactions ?? 300, pending: opts.pending ?? 3, asOf: opts.asOf ?? '2026-11-30' }),
    };
    items.set(id, it);
    byToken.set(it.accessToken, it);
    return it;
  }
  function mintPublicToken(itemId: string): string {
    const t = `public-sandbox-${randomUUID()}`;
    publicTokens.set(t, { itemId, expires: Date.now() + 30 * 60_000 });
    return t;
  }
  function itemFor(body: Record<string, unknown>): Item {
    const tok = body.access_token;
    if (typeof tok !== 'string' || tok === '') throw invalid('MISSING_FIELDS', 'the following required fields are missing: access_token');
    if (removedTokens.has(tok)) {
      throw new PlaidHttpError(400, 'ITEM_ERROR', 'ITEM_NOT_FOUND', 'The Item you requested cannot be found. This Item does not exist, has been previously removed via /item/remove, or has had access removed by the user.');
    }
    const it = byToken.get(tok);
    if (!it) throw input('INVALID_ACCESS_TOKEN', 'could not find matching access token');
    return it;
  }

  // Cursors: base64url of "item.pos.snapshot" + an HMAC, so a forged or foreign cursor is refused.
  // snapshot > 0 marks a cursor in the middle of an update (has_more was true).
  const sign = (s: string) => createHmac('sha256', hmacKey).update(s).digest('base64url').slice(0, 16);
  const encodeCursor = (it: Item, pos: number, snapshot: number) => {
    const s = `${it.id}.${pos}.${snapshot}`;
    return Buffer.from(`${s}.${sign(s)}`).toString('base64');
  };
  function decodeCursor(it: Item, c: string): { pos: number; snapshot: number } {
    const parts = Buffer.from(c, 'base64').toString('utf8').split('.');
    const s = parts.slice(0, 3).join('.');
    const sig = Buffer.from(parts[3] ?? '');
    const want = Buffer.from(sign(s));
    // Plaid's exact code for a bad cursor is unverified; INVALID_FIELD is its generic one.
    if (parts.length !== 4 || sig.length !== want.length || !timingSafeEqual(sig, want) || parts[0] !== it.id) throw invalid('INVALID_FIELD', 'cursor is not valid for this Item');
    return { pos: Number(parts[1]), snapshot: Number(parts[2]) };
  }

  async function transactionsSync(body: Record<string, unknown>): Promise<unknown> {
    const it = itemFor(body);
    if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (faults.internalError > 0) {
      faults.internalError--;
      throw new PlaidHttpError(500, 'API_ERROR', 'INTERNAL_SERVER_ERROR', 'an unexpected error occurred', 'Something went wrong. Try again later.');
    }
    if (faults.rateLimit > 0) {
      faults.rateLimit--;
      throw new PlaidHttpError(429, 'RATE_LIMIT_EXCEEDED', 'TRANSACTIONS_SYNC_LIMIT', 'rate limit exceeded for attempts to access this item. please try again later');
    }
    if (it.loginRequired) {
      throw new PlaidHttpError(400, 'ITEM_ERROR', 'ITEM_LOGIN_REQUIRED', "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state");
    }
    const count = body.count ?? 100;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 500) throw invalid('INVALID_FIELD', 'count must be an integer from 1 to 500');
    const cursor = body.cursor;
    if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') throw invalid('INVALID_FIELD', 'cursor must be a string');
    const accounts = it.data.accountsJson();
    if (it.notReady > 0) {
      it.notReady--;
      return { added: [], modified: [], removed: [], next_cursor: '', has_more: false, accounts, transactions_update_status: 'NOT_READY', request_id: rid() };
    }
    let pos = 0;
    let snapshot = it.data.length;
    if (typeof cursor === 'string' && cursor !== '' && cursor !== 'now') {
      const c = decodeCursor(it, cursor);
      pos = c.pos;
      if (c.snapshot > 0) {
        if (faults.mutateDuringPagination > 0) {
          faults.mutateDuringPagination--;
          it.data.addNew(1);
        }
        if (it.data.length !== c.snapshot) {
          throw new PlaidHttpError(400, 'TRANSACTIONS_ERROR', 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION', 'Underlying transaction data changed since last page was fetched. Please restart pagination from last update.');
        }
        snapshot = c.snapshot;
      }
    } else if (cursor === 'now') pos = snapshot;
    const end = Math.min(pos + count, snapshot);
    const added: unknown[] = [];
    const modified: unknown[] = [];
    const removed: unknown[] = [];
    for (let p = pos; p < end; p++) {
      const e = it.data.entry(p);
      if (e.kind === 'removed') removed.push({ account_id: it.data.accountIds[e.account], transaction_id: e.id });
      else (e.kind === 'added' ? added : modified).push(it.data.render(e.tx));
    }
    const hasMore = end < snapshot;
    return {
      accounts, added, modified, removed, has_more: hasMore, next_cursor: encodeCursor(it, end, hasMore ? snapshot : 0),
      transactions_update_status: 'HISTORICAL_UPDATE_COMPLETE', request_id: rid(),
    };
  }

  function linkTokenCreate(body: Record<string, unknown>): unknown {
    const missing = ['client_name', 'language', 'country_codes'].filter((k) => body[k] === undefined);
    const user = body.user as Record<string, unknown> | undefined;
    if (!user || typeof user.client_user_id !== 'string' || user.client_user_id === '') missing.push('user.client_user_id');
    let accessToken: string | null = null;
    if (body.access_token !== undefined) accessToken = itemFor(body).accessToken;
    else if (!Array.isArray(body.products) || body.products.length === 0) missing.push('products');
    if (missing.length) throw invalid('MISSING_FIELDS', `the following required fields are missing: ${missing.join(', ')}`);
    if (typeof body.client_name !== 'string' || body.client_name.length > 30) throw invalid('INVALID_FIELD', 'client_name must be a string of at most 30 characters');
    if (!Array.isArray(body.country_codes) || body.country_codes.some((c) => typeof c !== 'string')) throw invalid('INVALID_FIELD', 'country_codes must be an array of strings');
    const linkToken = `link-sandbox-${randomUUID()}`;
    const lifetime = accessToken ? 30 * 60_000 : 4 * 3600_000;
    const session: LinkSessionState = { id: randomUUID(), linkToken, formToken: randomBytes(16).toString('hex'), updateMode: accessToken !== null, startedAt: null, finishedAt: null, publicToken: null, exitStatus: null };
    linkTokens.set(linkToken, { created: new Date().toISOString(), expires: Date.now() + lifetime, session, accessToken });
    const out: Record<string, unknown> = { link_token: linkToken, expiration: new Date(Date.now() + lifetime).toISOString().replace(/\.\d+Z$/, 'Z'), request_id: rid() };
    if (body.hosted_link !== undefined) {
      const path = randomBytes(18).toString('base64url');
      sessionsByPath.set(path, session);
      out.hosted_link_url = `${base}/hl/${path}`;
    }
    return out;
  }

  function linkTokenGet(body: Record<string, unknown>): unknown {
    const lt = typeof body.link_token === 'string' ? linkTokens.get(body.link_token) : undefined;
    if (!lt) throw input('INVALID_LINK_TOKEN', 'provided link token is in an invalid format or has expired');
    const s = lt.session;
    const sessions = s.startedAt
      ? [{
          link_session_id: s.id,
          started_at: s.startedAt,
          finished_at: s.finishedAt,
          results: s.publicToken ? { item_add_results: [{ public_token: s.publicToken, accounts: [], institution: { name: 'First Platypus Bank', institution_id: 'ins_109508' } }] } : null,
          exit: s.exitStatus ? { error: null, metadata: { status: s.exitStatus, link_session_id: s.id } } : null,
        }]
      : [];
    return { link_token: s.linkToken, created_at: lt.created, expiration: new Date(lt.expires).toISOString(), link_sessions: sessions, request_id: rid() };
  }

  const routes: Record<string, (b: Record<string, unknown>) => unknown> = {
    '/link/token/create': linkTokenCreate,
    '/link/token/get': linkTokenGet,
    '/transactions/sync': transactionsSync,
    '/sandbox/public_token/create': (b) => {
      const inst = b.institution_id;
      if (typeof inst !== 'string' || !Array.isArray(b.initial_products)) throw invalid('MISSING_FIELDS', 'the following required fields are missing: institution_id, initial_products');
      if (!SANDBOX_INSTITUTIONS[inst]) throw input('INVALID_INSTITUTION', 'invalid institution_id provided');
      const o = (b.options ?? {}) as Record<string, unknown>;
      if (!TEST_USERS.has(String(o.override_username ?? 'user_good')) || String(o.override_password ?? 'pass_good') !== 'pass_good') {
        throw new PlaidHttpError(400, 'ITEM_ERROR', 'INVALID_CREDENTIALS', 'the provided credentials were not correct', 'The credentials were not correct. Please try again.');
      }
      return { public_token: mintPublicToken(newItem(inst).id), request_id: rid() };
    },
    '/item/public_token/exchange': (b) => {
      const p = typeof b.public_token === 'string' ? publicTokens.get(b.public_token) : undefined;
      if (!p || p.expires < Date.now()) throw input('INVALID_PUBLIC_TOKEN', 'provided public token is expired. Public tokens expire 30 minutes after creation at which point they can no longer be exchanged');
      publicTokens.delete(b.public_token as string);
      const it = items.get(p.itemId)!;
      return { access_token: it.accessToken, item_id: it.id, request_id: rid() };
    },
    '/item/get': (b) => {
      const it = itemFor(b);
      const error = it.loginRequired ? { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'the login details of this item have changed', display_message: null } : null;
      return {
        item: { item_id: it.id, institution_id: it.institutionId, institution_name: SANDBOX_INSTITUTIONS[it.institutionId], webhook: null, error, available_products: ['balance'], billed_products: ['transactions'], products: ['transactions'], consent_expiration_time: null, update_type: 'background' },
        request_id: rid(),
      };
    },
    '/item/remove': (b) => {
      const it = itemFor(b);
      byToken.delete(it.accessToken);
      removedTokens.add(it.accessToken);
      items.delete(it.id);
      return { request_id: rid() };
    },
    '/transactions/refresh': (b) => (itemFor(b), { request_id: rid() }),
    '/sandbox/item/reset_login': (b) => {
      itemFor(b).loginRequired = true;
      return { reset_login: true, request_id: rid() };
    },
  };

  function rid(): string {
    return `req${(++reqNo).toString(36).padStart(6, '0')}`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/hl/')) {
      return handleLinkPage(req, res, sessionsByPath.get(path.slice(4)), {
        now: () => new Date().toISOString(),
        complete(s, username, password) {
          if (!TEST_USERS.has(username) || password !== 'pass_good') return 'The credentials were not correct. Please try again.';
          const lt = linkTokens.get(s.linkToken)!;
          if (lt.accessToken) {
            const it = byToken.get(lt.accessToken);
            if (!it) return 'This connection no longer exists.';
            it.loginRequired = false;
          } else s.publicToken = mintPublicToken(newItem('ins_109508').id);
          s.finishedAt = new Date().toISOString();
          return null;
        },
      });
    }
    const version = header(req, 'plaid-version');
    let body: Record<string, unknown> = {};
    try {
      const route = routes[path];
      if (!route) throw new PlaidHttpError(404, 'INVALID_REQUEST', 'NOT_FOUND', `unknown endpoint ${path.slice(0, 80)}`);
      if (req.method !== 'POST') throw new PlaidHttpError(405, 'INVALID_REQUEST', 'INVALID_HTTP_METHOD', 'only POST is supported');
      const text = await readBody(req, 64 * 1024);
      try {
        const parsed = JSON.parse(text || '{}') as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        throw invalid('INVALID_BODY', 'body could not be parsed as JSON');
      }
      const auth = authenticate(req, body);
      const entry: PlaidReplica['requests'][number] = { path, version, auth, ...(path === '/transactions/sync' ? { cursor: typeof body.cursor === 'string' ? body.cursor : null } : {}) };
      requests.push(entry);
      res.once('finish', () => (entry.status = res.statusCode));
      // The exact error for an unknown version is unverified; refusing it is what the docs imply.
      if (version !== null && !PLAID_VERSIONS.includes(version)) throw invalid('INVALID_HEADERS', `Plaid-Version ${version.slice(0, 20)} is not a supported API version`);
      sendJson(res, 200, await route(body));
    } catch (err) {
      if (!(err instanceof PlaidHttpError)) throw err;
      sendJson(res, err.status, { display_message: err.display, documentation_url: `https://plaid.com/docs/?ref=error#${err.type.toLowerCase()}`, error_code: err.code, error_message: err.message, error_type: err.type, request_id: rid(), suggested_action: null });
    }
  }

  function authenticate(req: IncomingMessage, body: Record<string, unknown>): 'body' | 'headers' {
    const fromBody = typeof body.client_id === 'string' || typeof body.secret === 'string';
    const id = fromBody ? body.client_id : header(req, 'plaid-client-id');
    const sec = fromBody ? body.secret : header(req, 'plaid-secret');
    const missing = [typeof id === 'string' && id ? null : 'client_id', typeof sec === 'string' && sec ? null : 'secret'].filter(Boolean);
    if (missing.length) throw invalid('MISSING_FIELDS', `the following required fields are missing: ${missing.join(', ')}`);
    if (!safeEqual(String(id), clientId) || !safeEqual(String(sec), secret)) throw input('INVALID_API_KEYS', 'invalid client_id or secret provided');
    return fromBody ? 'body' : 'headers';
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR', error_message: 'an unexpected error occurred', display_message: null, request_id: rid() });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 2000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const need = (itemId: string) => {
    const it = items.get(itemId);
    if (!it) throw new Error(`no Item ${itemId}`);
    return it;
  };
  return {
    url: base, clientId, secret, faults, requests,
    items: () => [...items.values()].map((i) => ({ itemId: i.id, accessToken: i.accessToken, loginRequired: i.loginRequired })),
    live: (id) => [...need(id).data.live().values()],
    postPending: (id) => need(id).data.postPending(),
    addTransactions: (id, n, pending) => need(id).data.addNew(n, pending),
    resetLogin: (id) => void (need(id).loginRequired = true),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === 'string' ? v : null;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
