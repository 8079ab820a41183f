/**
 * The sandbox orders API (the contract is docs/sandbox.md, "Orders API"):
 *   GET /api/v1/me
 *   GET /api/v1/orders?limit=N&cursor=C&updated_since=ISO
 * Bearer tokens must be access tokens issued by this server (RFC 6750). Faults apply here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthServer } from './auth.js';
import { renderOrder, type RawOrder, type RawTombstone } from './data.js';
import type { FaultState } from './faults.js';
import { sendJson } from './http.js';
import type { StatsCollector } from './stats.js';
import type { AccountFeed, FeedPosition } from './store.js';

export interface ApiDeps {
  auth: AuthServer;
  feeds: Map<string, AccountFeed>;
  faults: FaultState;
  stats: StatsCollector;
  pageSizeMax: number;
}

export const DEFAULT_LIMIT = 100;

interface Cursor extends FeedPosition {
  /** The updated_since filter the listing started with (ms), or null. */
  s: number | null;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ v: 1, t: c.t, i: c.i, s: c.s })).toString('base64url');
}

function decodeCursor(text: string): Cursor | null {
  if (text.length > 200 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  try {
    const o = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
    const okInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (o.v !== 1 || !okInt(o.t) || !okInt(o.i) || !(o.s === null || okInt(o.s))) return null;
    return { t: o.t, i: o.i, s: o.s };
  } catch {
    return null;
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function badRequest(res: ServerResponse, description: string): void {
  sendJson(res, 400, { error: 'invalid_request', error_description: description });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, d: ApiDeps): Promise<void> {
  const delay = d.faults.latencyMs();
  if (delay > 0) await sleep(delay);
  const route = url.pathname;
  if (route !== '/api/v1/me' && route !== '/api/v1/orders') {
    return sendJson(res, 404, { error: 'not_found', error_description: 'No such API endpoint.' });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, { error: 'invalid_request', error_description: 'Only GET is supported.' }, { Allow: 'GET' });
  }

  // RFC 6750 §2.1 / §3.1: no credentials → challenge without an error code; bad ones → invalid_token.
  const header = req.headers.authorization ?? '';
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (!m) {
    d.stats.unauthorized++;
    const challenge = header ? 'Bearer realm="orderlink-sandbox", error="invalid_request"' : 'Bearer realm="orderlink-sandbox"';
    return sendJson(res, 401, { error: header ? 'invalid_request' : 'unauthorized', error_description: 'A Bearer access token is required.' }, { 'WWW-Authenticate': challenge });
  }
  const token = await d.auth.verifyAccessToken(m[1]!);
  if (!token) {
    d.stats.unauthorized++;
    return sendJson(
      res,
      401,
      { error: 'invalid_token', error_description: 'The access token is unknown, expired or revoked.' },
      { 'WWW-Authenticate': 'Bearer realm="orderlink-sandbox", error="invalid_token", error_description="The access token is unknown, expired or revoked"' },
    );
  }
  const { account } = token;

  if (route === '/api/v1/me') {
    return sendJson(res, 200, { account_id: account.accountId, label: account.label, name: account.displayName });
  }

  if (!token.scopes.has('orders:read')) {
    d.stats.unauthorized++;
    return sendJson(
      res,
      403,
      { error: 'insufficient_scope', error_description: 'The orders:read scope is required.' },
      { 'WWW-Authenticate': 'Bearer realm="orderlink-sandbox", error="insufficient_scope", scope="orders:read"' },
    );
  }

  // Parameters.
  const q = url.searchParams;
  for (const name of ['limit', 'cursor', 'updated_since']) {
    if (q.getAll(name).length > 1) return badRequest(res, `${name} is given more than once`);
  }
  let limit = DEFAULT_LIMIT;
  const limitText = q.get('limit');
  if (limitText !== null) {
    if (!/^\d{1,6}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > d.pageSizeMax) {
      return badRequest(res, `limit must be an integer from 1 to ${d.pageSizeMax}`);
    }
    limit = Number(limitText);
  }
  let since: number | null = null;
  const sinceText = q.get('updated_since');
  if (sinceText !== null) {
    const t = ISO.test(sinceText) ? Date.parse(sinceText) : NaN;
    if (!Number.isFinite(t)) return badRequest(res, 'updated_since must be an ISO 8601 date or date-time, e.g. 2025-01-31T00:00:00Z');
    since = Math.max(0, t);
  }
  let pos: FeedPosition | null = null;
  const cursorText = q.get('cursor');
  if (cursorText !== null) {
    const c = decodeCursor(cursorText);
    if (!c) return badRequest(res, 'cursor is not valid (pass next_cursor back unchanged)');
    if (sinceText !== null && c.s !== since) return badRequest(res, 'cursor was issued for a different updated_since');
    since = c.s;
    pos = { t: c.t, i: c.i };
  }

  const fault = d.faults.ordersFault(Date.now());
  if (fault) return sendJson(res, fault.status, fault.body, fault.headers);

  const feed = d.feeds.get(account.name);
  if (!feed) return sendJson(res, 500, { error: 'server_error', error_description: 'No data for this account.' });
  const page = feed.page(pos, since, limit);
  const orders: (RawOrder | RawTombstone | Record<string, unknown>)[] = [];
  for (const o of page.entries) {
    const raw = renderOrder(o);
    const kind = 'deleted' in raw ? null : d.faults.malformKind(o.id);
    if (kind) d.faults.counters.malformed++;
    const served = kind ? malform(raw as RawOrder, kind) : raw;
    orders.push(d.faults.spec.drift && !('deleted' in raw && raw.deleted) ? drift(served as Record<string, unknown>, d.faults.spec.drift) : served);
  }
  const last = page.entries[page.entries.length - 1];
  const next = last ? encodeCursor({ t: last.updatedMs, i: last.index, s: since }) : pos ? encodeCursor({ ...pos, s: since }) : null;
  d.stats.pagesServed++;
  d.stats.ordersServed += orders.length;
  return sendJson(res, 200, { orders, next_cursor: next, has_more: page.hasMore });
}

/** The orders API after a schema change (`--faults drift=KIND`), as `orderlink smoke` must notice. */
function drift(raw: Record<string, unknown>, kind: 'add' | 'remove' | 'rename' | 'retype'): Record<string, unknown> {
  const o: Record<string, unknown> = { ...raw, amounts: { ...(raw.amounts as object) }, items: (raw.items as Record<string, unknown>[]).map((i) => ({ ...i })) };
  if (kind === 'add') o.gift_wrap = false;
  else if (kind === 'remove') for (const i of o.items as Record<string, unknown>[]) delete i.category;
  else if (kind === 'rename') {
    o.customer_note = o.note;
    delete o.note;
  } else {
    const a = o.amounts as Record<string, unknown>;
    a.total = Number(a.total);
  }
  return o;
}

/** A schema-breaking copy of an order (deterministic kind; see FaultState.malformKind). */
function malform(raw: RawOrder, kind: 'total' | 'id' | 'placed_at' | 'quantity'): Record<string, unknown> {
  const o: Record<string, unknown> = { ...raw, amounts: { ...raw.amounts }, items: raw.items.map((i) => ({ ...i })) };
  if (kind === 'total') (o.amounts as Record<string, unknown>).total = 'abc';
  else if (kind === 'id') delete o.id;
  else if (kind === 'placed_at') o.placed_at = 'not-a-date';
  else (o.items as Record<string, unknown>[])[0]!.quantity = 'three';
  return o;
}
