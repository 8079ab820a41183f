/**
 * A local replica of Login with Amazon's token endpoint and the SP-API Orders API (both
 * versions), on 127.0.0.1, built from ../shared/CONNECTORS.md §1 and the official model files:
 *
 * - `POST /auth/o2/token` (form body): `refresh_token` with `client_id` and `client_secret` in
 *   the body (client_secret_post); no rotation (the refresh token submitted is the one returned);
 *   `invalid_client` (401), `invalid_grant`, `invalid_request`, `unsupported_grant_type` (400).
 * - `x-amz-access-token` on every API call; missing, unknown or expired → 403 `Unauthorized`.
 * - `GET /orders/2026-01-01/orders` (searchOrders): exactly one of createdAfter/lastUpdatedAfter,
 *   `includedData` blocks only when asked, `paginationToken` (opaque, tied to its filters, 24 h),
 *   `lastUpdatedBefore` defaulting to now − 2 min (`settleMs`), echoed in the answer.
 * - `GET /orders/v0/orders` (getOrders) with `NextToken`, `GET /orders/v0/orders/{id}/orderItems`.
 * - The static sandbox cases (`TEST_CASE_*`, the JP/UK/BR searches) answered as recorded.
 * - Usage plans enforced per operation with a token bucket: a request over the plan gets 429
 *   `QuotaExceeded` (+ `x-amzn-RateLimit-Limit`); answers carry `x-amzn-RateLimit-Limit`.
 * Deterministic by seed; orders are generated lazily.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { order2026, orderItemsV0, orderV0, SellerShop, type Status } from './amazon-seller-data.js';
import { STATIC_CASES } from './amazon-seller-static.js';
import { MINT_PATH, refuseMint, sendRefusal, sendToken } from './replica-admin.js';

type Op = 'searchOrders' | 'getOrders' | 'getOrderItems';
export interface Plan { rate: number; burst: number }

/** The documented default usage plans; the sandbox hosts use 5/s burst 15 (CONNECTORS.md §1.8). */
export const DEFAULT_PLANS: Record<Op, Plan> = { searchOrders: { rate: 0.0056, burst: 20 }, getOrders: { rate: 0.0167, burst: 20 }, getOrderItems: { rate: 0.5, burst: 30 } };

export interface SpApiReplicaOptions {
  seed?: number;
  orders?: number;
  marketplace?: string;
  clientId?: string;
  clientSecret?: string;
  plans?: Partial<Record<Op, Plan>>;
  /** lastUpdatedBefore / createdBefore default to now minus this (Amazon: two minutes). */
  settleMs?: number;
  accessTokenTtl?: number;
  /** Send every includedData block whatever was asked (a server that over-shares: allow-list tests). */
  alwaysIncludeAll?: boolean;
  epochMs?: number;
  stepMs?: number;
  /** 127.0.0.1 port (default: any free one). */
  port?: number;
  /** `sandbox serve`: answer POST /__replica/refresh-token with a fresh refresh token (replica-admin.ts). */
  mintRoute?: boolean;
}

export interface SpApiReplica {
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  marketplace: string;
  mintRefreshToken(): string;
  revokeRefreshToken(token: string): void;
  expireAccessTokens(): void;
  /** New orders, updated now. */
  addOrders(n: number): void;
  /** Order i changes status (and its lastUpdatedTime becomes now). */
  updateOrder(i: number, status: Status): void;
  /** Empty an operation's bucket, as a previous run would have. */
  drain(op: Op): void;
  stats(): { requests: Record<Op, number>; throttled: Record<Op, number>; tokenRequests: number; unauthorized: number };
  orderId(i: number): string;
  close(): Promise<void>;
}

const ALL_INCLUDED = ['BUYER', 'RECIPIENT', 'PROCEEDS', 'EXPENSE', 'PROMOTION', 'CANCELLATION', 'FULFILLMENT', 'PACKAGES', 'TAX', 'PAYMENT', 'FULFILLMENT_ORDERS'];
const TOKEN_LIFETIME_MS = 24 * 3_600_000;

class Bucket {
  tokens: number;
  last = Date.now();
  constructor(readonly plan: Plan) {
    this.tokens = plan.burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.plan.burst, this.tokens + ((now - this.last) / 1000) * this.plan.rate);
    this.last = now;
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens -= 1;
    return true;
  }
}

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: string) {
    super(message);
  }
}
const invalid = (message: string, details?: string) => new ApiError(400, 'InvalidInput', message, details);

function parseIso(name: string, v: string | null): number | null {
  if (v === null) return null;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(v)) throw invalid(`Invalid Input`, `${name} must be an ISO 8601 date-time`);
  return Date.parse(v);
}

const csv = (v: string | null) => (v === null ? [] : v.split(',').map((s) => s.trim()).filter(Boolean));
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export async function startSpApiReplica(opts: SpApiReplicaOptions = {}): Promise<SpApiReplica> {
  const marketplace = opts.marketplace ?? 'ATVPDKIKX0DER';
  const shop = new SellerShop({ seed: opts.seed ?? 42, orders: opts.orders ?? 250, marketplace, epochMs: opts.epochMs ?? Date.UTC(2026, 5, 1), stepMs: opts.stepMs ?? 600_000 });
  const clientId = opts.clientId ?? `amzn1.application-oa2-client.${randomBytes(8).toString('hex')}`;
  const clientSecret = opts.clientSecret ?? `amzn1.oa2-cs.v1.${randomBytes(16).toString('hex')}`;
  const settleMs = opts.settleMs ?? 120_000;
  const ttl = opts.accessTokenTtl ?? 3600;
  const plans: Record<Op, Plan> = { ...DEFAULT_PLANS, ...(opts.plans ?? {}) };
  const buckets: Record<Op, Bucket> = { searchOrders: new Bucket(plans.searchOrders), getOrders: new Bucket(plans.getOrders), getOrderItems: new Bucket(plans.getOrderItems) };
  const refreshTokens = new Set<string>();
  const accessTokens = new Map<string, number>();
  const stats = { requests: { searchOrders: 0, getOrders: 0, getOrderItems: 0 }, throttled: { searchOrders: 0, getOrders: 0, getOrderItems: 0 }, tokenRequests: 0, unauthorized: 0 };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), ...headers });
    res.end(text);
  };
  const sendError = (res: ServerResponse, e: ApiError, headers: Record<string, string> = {}) => send(res, e.status, { errors: [{ code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) }] }, headers);

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.tokenRequests++;
    let body = '';
    for await (const chunk of req) {
      body += String(chunk);
      if (body.length > 16_384) return send(res, 400, { error: 'invalid_request', error_description: 'request too large' });
    }
    const oauthError = (status: number, error: string, description: string) => send(res, status, { error, error_description: description }, { 'cache-control': 'no-store' });
    if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    const f = new URLSearchParams(body);
    const grant = f.get('grant_type');
    if (!grant) return oauthError(400, 'invalid_request', 'The request is missing a required parameter : grant_type');
    if (grant !== 'refresh_token') return oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported');
    // LWA documents client credentials in the body only (client_secret_post).
    if (f.get('client_id') !== clientId || f.get('client_secret') !== clientSecret) return oauthError(401, 'invalid_client', 'Client authentication failed');
    const rt = f.get('refresh_token');
    if (!rt) return oauthError(400, 'invalid_request', 'The request is missing a required parameter : refresh_token');
    if (!refreshTokens.has(rt)) return oauthError(400, 'invalid_grant', 'The request has an invalid grant parameter : refresh_token');
    const at = `Atza|${randomBytes(24).toString('base64url')}`;
    accessTokens.set(at, Date.now() + ttl * 1000);
    send(res, 200, { access_token: at, refresh_token: rt, token_type: 'bearer', expires_in: ttl }, { 'cache-control': 'no-store' });
  }

  function checkAccess(req: IncomingMessage): void {
    const t = req.headers['x-amz-access-token'];
    const exp = typeof t === 'string' ? accessTokens.get(t) : undefined;
    if (exp === undefined || exp <= Date.now()) {
      stats.unauthorized++;
      throw new ApiError(403, 'Unauthorized', 'Access to requested resource is denied.', exp === undefined ? (t ? 'The access token you provided is invalid.' : 'Access token is missing in the request header.') : 'The access token you provided has expired.');
    }
  }

  function matchStatic(op: Op, q: URLSearchParams, orderId?: string) {
    const has = (k: string, v: string) => (k === 'orderId' ? orderId === v : q.has(k) && new Set(csv(q.get(k))).size === new Set(csv(v)).size && csv(v).every((x) => csv(q.get(k)).includes(x)));
    return STATIC_CASES.filter((c) => c.op === op).sort((a, b) => Object.keys(b.params).length - Object.keys(a.params).length).find((c) => Object.entries(c.params).every(([k, v]) => has(k, v)));
  }

  /** Opaque pagination tokens bound to the filters they were issued for. */
  const issue = (o: { off: number; f: string; b: number }) => Buffer.from(JSON.stringify({ ...o, t: Date.now() })).toString('base64url');
  function redeem(token: string, filters: string): { off: number; b: number } {
    let t: { off?: unknown; f?: unknown; b?: unknown; t?: unknown };
    try {
      t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof t;
    } catch {
      throw invalid('Invalid Input', 'The pagination token is invalid.');
    }
    if (typeof t.off !== 'number' || typeof t.b !== 'number' || typeof t.t !== 'number' || t.f !== filters) throw invalid('Invalid Input', 'The pagination token is invalid or does not match the request filters.');
    if (Date.now() - t.t > TOKEN_LIFETIME_MS) throw invalid('Invalid Input', 'The pagination token has expired.');
    return { off: t.off, b: t.b };
  }

  function window(q: URLSearchParams, names: { ca: string; cb: string; ua: string; ub: string }, token: string | null) {
    const ca = parseIso(names.ca, q.get(names.ca));
    const ua = parseIso(names.ua, q.get(names.ua));
    if ((ca === null) === (ua === null)) throw invalid('Invalid Input', `Exactly one of ${names.ca} and ${names.ua} must be specified.`);
    const field = ca !== null ? ('created' as const) : ('updated' as const);
    const latest = Date.now() - settleMs;
    const explicit = parseIso(field === 'created' ? names.cb : names.ub, q.get(field === 'created' ? names.cb : names.ub));
    if (explicit !== null && explicit > latest) throw invalid('Invalid Input', `${field === 'created' ? names.cb : names.ub} must be at least ${Math.round(settleMs / 1000)} seconds before the current time.`);
    const after = (ca ?? ua)!;
    const filters = `${field}:${after}:${q.get('marketplaceIds') ?? q.get('MarketplaceIds') ?? ''}`;
    const p = token ? redeem(token, filters) : { off: 0, b: explicit ?? latest };
    if (p.b < after) throw invalid('Invalid Input', 'The before date must be after the after date.');
    return { field, after, before: p.b, off: p.off, filters };
  }

  const page = (q: URLSearchParams, maxName: string) => {
    const raw = q.get(maxName);
    const n = raw === null ? 100 : Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw invalid('Invalid Input', `${maxName} must be between 1 and 100.`);
    return n;
  };
  const inMarketplace = (q: URLSearchParams, name: string) => { const ids = csv(q.get(name)); return ids.length === 0 || ids.includes(marketplace); };

  function searchOrders(q: URLSearchParams): unknown {
    const included = new Set(opts.alwaysIncludeAll ? ALL_INCLUDED : csv(q.get('includedData')));
    for (const x of included) if (!ALL_INCLUDED.includes(x)) throw invalid('Invalid Input', `Invalid includedData value: ${x.slice(0, 40)}`);
    const size = page(q, 'maxResultsPerPage');
    const w = window(q, { ca: 'createdAfter', cb: 'createdBefore', ua: 'lastUpdatedAfter', ub: 'lastUpdatedBefore' }, q.get('paginationToken'));
    const ids = inMarketplace(q, 'marketplaceIds') ? shop.select(w.field, w.after, w.before) : [];
    const slice = ids.slice(w.off, w.off + size);
    const more = w.off + size < ids.length;
    return {
      orders: slice.map((i) => order2026(shop.core(i), marketplace, included)),
      ...(more ? { pagination: { nextToken: issue({ off: w.off + size, f: w.filters, b: w.before }) } } : {}),
      [w.field === 'created' ? 'createdBefore' : 'lastUpdatedBefore']: iso(w.before),
    };
  }

  function getOrders(q: URLSearchParams): unknown {
    if (!q.get('MarketplaceIds')) throw invalid('Invalid Input', 'MarketplaceIds is required.');
    const size = page(q, 'MaxResultsPerPage');
    const w = window(q, { ca: 'CreatedAfter', cb: 'CreatedBefore', ua: 'LastUpdatedAfter', ub: 'LastUpdatedBefore' }, q.get('NextToken'));
    const ids = inMarketplace(q, 'MarketplaceIds') ? shop.select(w.field, w.after, w.before) : [];
    const slice = ids.slice(w.off, w.off + size);
    const more = w.off + size < ids.length;
    return {
      payload: {
        Orders: slice.map((i) => orderV0(shop.core(i), marketplace)),
        ...(more ? { NextToken: issue({ off: w.off + size, f: w.filters, b: w.before }) } : {}),
        [w.field === 'created' ? 'CreatedBefore' : 'LastUpdatedBefore']: iso(w.before),
      },
    };
  }

  const byOrderId = new Map<string, number>();
  function indexOf(orderId: string): number {
    const hit = byOrderId.get(orderId);
    if (hit !== undefined) return hit;
    const m = /^\d{3}-\d{7}-(\d{7})$/.exec(orderId);
    const i = m ? Number(m[1]) : -1;
    if (i < 0 || i >= shop.count || shop.core(i).orderId !== orderId) throw new ApiError(404, 'NotFound', 'The resource specified does not exist.', `Order ${orderId.slice(0, 40)} was not found.`);
    byOrderId.set(orderId, i);
    return i;
  }

  function getOrderItems(orderId: string, q: URLSearchParams): unknown {
    const c = shop.core(indexOf(orderId));
    const all = orderItemsV0(c);
    // Two items per page, so the second paginated call per order is exercised.
    const off = q.get('NextToken') ? redeem(q.get('NextToken')!, `items:${orderId}`).off : 0;
    const more = off + 2 < all.length;
    return { payload: { AmazonOrderId: orderId, OrderItems: all.slice(off, off + 2), ...(more ? { NextToken: issue({ off: off + 2, f: `items:${orderId}`, b: 0 }) } : {}) } };
  }

  function mintRefreshToken(): string {
    const rt = `Atzr|${randomBytes(32).toString('base64url')}`;
    refreshTokens.add(rt);
    return rt;
  }

  let origin = '';
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'POST' && url.pathname === '/auth/o2/token') return token(req, res);
      req.resume();
      if (opts.mintRoute && url.pathname === MINT_PATH) {
        const why = refuseMint(req, origin);
        return why ? sendRefusal(res, 403, why) : sendToken(res, mintRefreshToken());
      }
      const items = /^\/orders\/v0\/orders\/([^/]+)\/orderItems$/.exec(url.pathname);
      const op: Op | null = url.pathname === '/orders/2026-01-01/orders' ? 'searchOrders' : url.pathname === '/orders/v0/orders' ? 'getOrders' : items ? 'getOrderItems' : null;
      if (!op || req.method !== 'GET') return sendError(res, new ApiError(404, 'NotFound', 'The resource specified does not exist.'));
      const rateHeader = { 'x-amzn-ratelimit-limit': String(plans[op].rate) };
      try {
        checkAccess(req);
        stats.requests[op]++;
        if (!buckets[op].take()) {
          stats.throttled[op]++;
          return sendError(res, new ApiError(429, 'QuotaExceeded', 'You exceeded your quota for the requested resource.'), rateHeader);
        }
        const orderId = items ? decodeURIComponent(items[1]!) : undefined;
        const fixed = matchStatic(op, url.searchParams, orderId);
        if (fixed) return send(res, fixed.status, fixed.body, rateHeader);
        const body = op === 'searchOrders' ? searchOrders(url.searchParams) : op === 'getOrders' ? getOrders(url.searchParams) : getOrderItems(orderId!, url.searchParams);
        send(res, 200, body, rateHeader);
      } catch (err) {
        if (err instanceof ApiError) return sendError(res, err, err.status === 403 ? {} : rateHeader);
        sendError(res, new ApiError(500, 'InternalFailure', 'We encountered an internal error. Please try again.'));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  origin = url;
  return {
    url,
    tokenUrl: `${url}/auth/o2/token`,
    clientId,
    clientSecret,
    marketplace,
    mintRefreshToken,
    revokeRefreshToken: (t) => void refreshTokens.delete(t),
    expireAccessTokens: () => { for (const k of accessTokens.keys()) accessTokens.set(k, 0); },
    addOrders(n) {
      const first = shop.count;
      shop.count += n;
      const now = Date.now();
      for (let i = first; i < shop.count; i++) shop.overlays.set(i, { updatedMs: now, status: 'UNSHIPPED' });
    },
    updateOrder: (i, status) => void shop.overlays.set(i, { updatedMs: Date.now(), status }),
    drain: (op) => { buckets[op].take(); buckets[op].tokens = 0; buckets[op].last = Date.now(); },
    stats: () => JSON.parse(JSON.stringify(stats)) as ReturnType<SpApiReplica['stats']>,
    orderId: (i) => shop.core(i).orderId,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
