/**
 * Amazon Selling Partner API: a **seller's** orders (the orders their shop received), through
 * Login with Amazon as a confidential client and the Orders API — `2026-01-01` `searchOrders`
 * (items embedded) by default, `v0` `getOrders` + `getOrderItems` for sellers still on it until
 * its retirement (27 March 2027). Facts: ../shared/CONNECTORS.md §1; user docs: docs/amazon-seller.md.
 *
 * The usage plans are tiny (`searchOrders` 0.0056 requests/s, burst 20): they are declared here
 * as data and the engine paces every operation with them (src/sync/ratelimit.ts), corrected by
 * the `x-amzn-RateLimit-Limit` header the API returns.
 */
import { z } from 'zod';
import { bearerToken, ProviderHttpError, ProviderNotJsonError, providerMessage } from '../http.js';
import { defineConnector, type Classifier, type FetchPageArgs, type HttpFunction, type Page } from '../types.js';
import { ALLOW_LIST, FREE_TEXT, sellerRecord, toOrder, type SellerRecord } from './mapping.js';
import { completeConfig, ENVIRONMENTS, LWA_TOKEN_ENDPOINT, parseBoundary } from './regions.js';

export const ENDPOINTS = {
  searchOrders: '/orders/2026-01-01/orders',
  getOrders: '/orders/v0/orders',
  getOrderItems: '/orders/v0/orders/{orderId}/orderItems',
} as const;

/** Documented default usage plans [V: the model files' operation descriptions]. */
export const RATE_PLANS = {
  searchOrders: { requestsPerSecond: 0.0056, burst: 20 },
  getOrders: { requestsPerSecond: 0.0167, burst: 20 },
  getOrderItems: { requestsPerSecond: 0.5, burst: 30 },
};

/** What searchOrders is asked to include: the money and the status, nothing about people or payment. */
const INCLUDED_DATA = 'PROCEEDS,FULFILLMENT';
/**
 * Where a full sync starts: before any order the API can return (it serves the last two years,
 * JP/AU/SG from 2016 [V]; no lower bound on lastUpdatedAfter is documented). A fixed date rather
 * than "two years ago" keeps the first pass's filters identical on every page and every retry.
 */
const FULL_SYNC_START = '2015-01-01T00:00:00Z';
const MAX_ITEM_PAGES = 50;
/**
 * Pagination tokens expire after 24 hours [V migration guide]: a stored one from a pass older than
 * this (a sync interrupted yesterday) is not sent; the pass restarts from its lastUpdatedAfter
 * (pages already stored are upserted again, unchanged).
 */
const TOKEN_MAX_AGE_MS = 23 * 3_600_000;

const cursor = z.object({
  api: z.enum(['2026-01-01', 'v0']),
  /** The provider's pagination token while paging, null once drained. */
  next: z.string().nullable(),
  /** The lastUpdatedAfter of this pass (repeated with every page), then the watermark for the next run. */
  after: z.string().nullable(),
  /** The pass's upper bound as the API reported it: the next run's watermark. */
  before: z.string().nullable().optional(),
});
export type SellerCursor = z.infer<typeof cursor>;

const page2026 = z.object({ orders: z.array(z.unknown()), pagination: z.object({ nextToken: z.string().optional() }).optional(), lastUpdatedBefore: z.unknown().optional() });
const pageV0 = z.object({ payload: z.object({ Orders: z.array(z.unknown()), NextToken: z.string().optional(), LastUpdatedBefore: z.unknown().optional(), CreatedBefore: z.unknown().optional() }) });
const itemsV0 = z.object({ payload: z.object({ OrderItems: z.array(z.unknown()), NextToken: z.string().optional() }) });

const headersFor = (token: string) => ({ 'x-amz-access-token': token, accept: 'application/json', 'user-agent': 'orderlink/0.1 (Language=TypeScript)' });

/** An operation's URL under the API base (which may carry a path prefix, e.g. a proxy). */
function apiUrl(baseUrl: string, path: string): URL {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
  return u;
}

async function getSpApi(http: HttpFunction, url: string, token: string): Promise<unknown> {
  const res = await http(url, { headers: headersFor(token) });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new ProviderHttpError(res.status, providerMessage(text));
  try {
    return JSON.parse(text);
  } catch {
    throw new ProviderNotJsonError(url, res.status, res.headers.get('content-type'), text);
  }
}

/** The newest lastUpdated time among raw records (a fallback watermark). */
function newest(records: unknown[], key: string): string | null {
  let best: string | null = null;
  for (const r of records) {
    const v = parseBoundary((r as Record<string, unknown> | null)?.[key]);
    if (v && (best === null || v > best)) best = v;
  }
  return best;
}

function startOf(c: SellerCursor | null, since: string | null): string {
  return c?.after ?? since ?? FULL_SYNC_START;
}

async function fetch2026(a: FetchPageArgs<SellerCursor>, token: string): Promise<Page<SellerCursor>> {
  const after = a.cursor?.next ? a.cursor.after! : startOf(a.cursor, a.since);
  const url = apiUrl(a.baseUrl, ENDPOINTS.searchOrders);
  url.searchParams.set('lastUpdatedAfter', after);
  if (a.config.marketplace) url.searchParams.set('marketplaceIds', a.config.marketplace);
  url.searchParams.set('includedData', INCLUDED_DATA);
  url.searchParams.set('maxResultsPerPage', String(Math.min(100, Math.max(1, a.limit))));
  if (a.cursor?.next) url.searchParams.set('paginationToken', a.cursor.next);
  const body = page2026.parse(await getSpApi(a.http, url.toString(), token));
  const before = a.cursor?.before ?? parseBoundary(body.lastUpdatedBefore);
  const next = body.pagination?.nextToken || null;
  const watermark = before ?? newest(body.orders, 'lastUpdatedTime') ?? after;
  return {
    records: body.orders,
    hasMore: next !== null,
    nextCursor: next !== null ? { api: '2026-01-01', next, after, before } : { api: '2026-01-01', next: null, after: watermark, before: null },
  };
}

async function fetchV0(a: FetchPageArgs<SellerCursor>, token: string): Promise<Page<SellerCursor>> {
  const after = a.cursor?.next ? a.cursor.after! : startOf(a.cursor, a.since);
  const url = apiUrl(a.baseUrl, ENDPOINTS.getOrders);
  url.searchParams.set('MarketplaceIds', a.config.marketplace ?? '');
  url.searchParams.set('LastUpdatedAfter', after);
  url.searchParams.set('MaxResultsPerPage', String(Math.min(100, Math.max(1, a.limit))));
  if (a.cursor?.next) url.searchParams.set('NextToken', a.cursor.next);
  const body = pageV0.parse(await getSpApi(a.http, url.toString(), token));
  // v0 has no embedded items: one more paginated call per order (CONNECTORS.md §1.2, trap 23).
  const records: unknown[] = [];
  for (const o of body.payload.Orders) {
    const id = (o as { AmazonOrderId?: unknown } | null)?.AmazonOrderId;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      records.push(o); // named as invalid by the pipeline; no request built from it
      continue;
    }
    const items: unknown[] = [];
    let next: string | undefined;
    const seen = new Set<string>();
    for (let p = 0; p < MAX_ITEM_PAGES; p++) {
      const iu = apiUrl(a.baseUrl, ENDPOINTS.getOrderItems.replace('{orderId}', encodeURIComponent(id)));
      if (next) iu.searchParams.set('NextToken', next);
      const ib = itemsV0.parse(await getSpApi(a.http, iu.toString(), token));
      items.push(...ib.payload.OrderItems);
      next = ib.payload.NextToken || undefined;
      if (!next || seen.has(next)) break;
      seen.add(next);
    }
    // An item listed twice across pages (a provider repeating a page) is one line, not two.
    const unique = [...new Map(items.map((it, k) => [String((it as { OrderItemId?: unknown } | null)?.OrderItemId ?? `#${k}`), it])).values()];
    records.push({ ...(o as object), OrderItems: unique });
  }
  const next = body.payload.NextToken || null;
  const before = a.cursor?.before ?? parseBoundary(body.payload.LastUpdatedBefore);
  const watermark = before ?? newest(body.payload.Orders, 'LastUpdateDate') ?? after;
  return {
    records,
    hasMore: next !== null,
    nextCursor: next !== null ? { api: 'v0', next, after, before } : { api: 'v0', next: null, after: watermark, before: null },
  };
}

/**
 * What SP-API answers mean. Errors are `{"errors":[{"code","message","details"}]}` [V].
 * - 429: throttled; the pacer (fed the same response) already emptied the operation's bucket.
 * - 401, and a 403 about the token (expired, invalid): refresh once, then retry.
 * - 403 otherwise ("Access to requested resource is denied"): the seller's authorization does not
 *   cover this (revoked, the yearly re-authorization due, or a role or region the app lacks).
 * - 400 InvalidInput and other 4xx: fatal, with Amazon's message.
 */
export const classify: Classifier = (res) => {
  if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
  let code = '';
  let text = '';
  try {
    const e = (JSON.parse(res.body) as { errors?: Array<{ code?: unknown; message?: unknown; details?: unknown }> }).errors?.[0];
    code = typeof e?.code === 'string' ? e.code : '';
    text = [e?.message, e?.details].filter((x) => typeof x === 'string' && x).join(': ');
  } catch {
    /* not JSON: the status decides */
  }
  const msg = providerMessage(JSON.stringify({ message: text || code || `HTTP ${res.status}` }));
  if (res.status === 429) {
    const rate = Number(res.headers.get('x-amzn-ratelimit-limit'));
    return { kind: 'rate_limited', waitMs: rate > 0 ? Math.ceil(1000 / rate) : null };
  }
  if (res.status === 401) return { kind: 'unauthorized' };
  if (res.status === 403) {
    if (/expired|invalid.*token|token.*invalid/i.test(text)) return { kind: 'unauthorized' };
    return { kind: 'reauth', message: `HTTP 403 ${code || 'Unauthorized'}: ${msg}. The seller's authorization no longer covers this app, region or role; authorize the app again in Seller Central and re-link` };
  }
  if (res.status >= 500) return { kind: 'retry', message: `HTTP ${res.status}${code ? ` ${code}` : ''}` };
  return {
    kind: 'fatal',
    message: `HTTP ${res.status} ${code || ''}`.trim() + `: ${msg}`,
    hint: code === 'InvalidInput' ? 'Amazon refused the request parameters: check the marketplace id (orderlink connections) and the region it belongs to; run with --verbose to see the request.' : 'Run again with --verbose to see each request.',
  };
};

export const amazonSeller = defineConnector<SellerRecord, SellerCursor>({
  id: 'amazon-seller',
  displayName: 'Amazon seller (SP-API)',
  kind: 'direct',
  retailers: ['Amazon'],
  auth: {
    type: 'oauth',
    clientId: null,
    confidential: true,
    // No scopes in the seller flow: access is governed by the app's roles [V].
    scopes: [],
    redirectPath: '/callback/amazon-seller',
    // LWA's consent page redirects only to registered https addresses: self-authorization instead.
    loopback: false,
    tokenEndpoint: LWA_TOKEN_ENDPOINT,
    completeConfig,
  },
  capabilities: { incremental: true, items: true, refunds: false, deletions: false, revocation: false },
  // An AmazonOrderId names one order of one seller. LWA tells a self-authorized app nothing about
  // which seller a refresh token is for, so a seller linked twice is caught at its first sync.
  globalOrderIds: true,
  descriptor: {
    endpoints: { ...ENDPOINTS },
    pagination: { style: 'cursor', pageSize: { default: 100, max: 100 } },
    rateLimit: null,
    rateLimits: RATE_PLANS,
    rateLimitHeader: 'x-amzn-RateLimit-Limit',
  },
  checkpoint: 'page',
  baseUrl: { default: null, env: 'ORDERLINK_AMAZON_SELLER_URL' },
  environments: ENVIRONMENTS,
  docs: 'docs/amazon-seller.md',
  rawSchema: sellerRecord,
  cursorSchema: cursor,
  allowList: ALLOW_LIST,
  freeText: FREE_TEXT,
  classify,
  async fetchOrders(a) {
    const token = bearerToken(a.session);
    const api: SellerCursor['api'] = a.config.api === 'v0' ? 'v0' : '2026-01-01';
    // A connection moved to the other API version (link --reconnect --api) continues from its watermark.
    // The pass's upper bound is about when its first token was issued (now − 2 min at Amazon).
    const stale = a.cursor?.next && a.cursor.before && Date.now() - Date.parse(a.cursor.before) > TOKEN_MAX_AGE_MS;
    const c = a.cursor && (a.cursor.api !== api || stale) ? { api, next: null, after: a.cursor.after, before: null } : a.cursor;
    const args = { ...a, cursor: c };
    return api === 'v0' ? fetchV0(args, token) : fetch2026(args, token);
  },
  toOrder,
});
