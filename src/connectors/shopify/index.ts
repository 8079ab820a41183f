/**
 * Shopify Customer Account API: a buyer's own orders at one shop (../shared/CONNECTORS.md §2).
 *
 * - Auth: a public client (PKCE S256, a nonce checked in the ID token) whose client id the shop
 *   configures (`link shopify --shop DOMAIN --client-id ID`). OpenID discovery starts at the
 *   storefront domain, whose document names the issuer (`https://shopify.com/authentication/{id}`);
 *   `/.well-known/customer-account-api` names the GraphQL endpoint. Shopify allows no http or
 *   localhost redirect, so linking is paste-the-URL with an https redirect URI registered in the
 *   shop (default `https://orderlink.invalid/callback/shopify`: a name that can never resolve, so
 *   the code stays in the address bar), every check kept. Refresh tokens rotate.
 * - API: GraphQL `customer.orders` with Relay cursors, sorted by UPDATED_AT and filtered with
 *   `updated_at:>=…` for incremental runs; nested `lineItems` are paged through `order(id:)`.
 *   `Authorization: <token>` without "Bearer", as Shopify's own client sends it.
 * - Errors: 401 → refresh once; 429 / `THROTTLED` → wait Retry-After.
 * - Never stored: transactions (payment details, gift cards), addresses, email, phone,
 *   statusPageUrl — they are not queried, and the allow-list would drop them if they came.
 */
import { z } from 'zod';
import { OrderlinkError } from '../../errors.js';
import { ProviderHttpError, ProviderNotJsonError, providerMessage } from '../http.js';
import { MoneyError, toMinorUnits } from '../money.js';
import { defineConnector, type ConnectionConfig, type HttpFunction, type NormalizedOrder, type OrderStatus, type Session, type Verdict } from '../types.js';

export const API_VERSION = '2026-04';
const PAGE = 50;
const LINES = 50;

const LINE_FIELDS = 'id name title sku quantity productType price { amount currencyCode }';
const ORDER_FIELDS = `id name processedAt updatedAt cancelledAt currencyCode financialStatus fulfillmentStatus
  subtotal { amount currencyCode } totalTax { amount currencyCode } totalShipping { amount currencyCode }
  totalPrice { amount currencyCode } totalRefunded { amount currencyCode }
  lineItems(first: ${LINES}) { pageInfo { hasNextPage endCursor } nodes { ${LINE_FIELDS} } }`;
export const ORDERS_QUERY = `query Orders($first: Int!, $after: String, $query: String) {
  shop { name }
  customer { orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) { pageInfo { hasNextPage endCursor } nodes { ${ORDER_FIELDS} } } }
}`;
export const LINE_ITEMS_QUERY = `query LineItems($id: ID!, $after: String) {
  order(id: $id) { lineItems(first: ${LINES}, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${LINE_FIELDS} } } }
}`;
export const PROFILE_QUERY = 'query Profile { customer { id displayName } }';

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal amount');
const moneyV2 = z.object({ amount: decimal, currencyCode: z.string().regex(/^[A-Z]{3}$/) });
const iso = z.string().refine((s) => /^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(Date.parse(s)), 'an ISO 8601 date-time');
const lineItem = z.object({
  name: z.string().min(1).optional(),
  title: z.string().min(1),
  sku: z.string().nullable().optional(),
  quantity: z.number().int().nonnegative(),
  productType: z.string().nullable().optional(),
  price: moneyV2.nullable().optional(),
});
export const shopifyOrder = z.object({
  id: z.string().min(1),
  name: z.string().optional(),
  processedAt: iso,
  updatedAt: iso.optional(),
  cancelledAt: iso.nullable().optional(),
  currencyCode: z.string().regex(/^[A-Z]{3}$/),
  financialStatus: z.string().nullable().optional(),
  fulfillmentStatus: z.string().nullable().optional(),
  subtotal: moneyV2.nullable().optional(),
  totalTax: moneyV2.nullable().optional(),
  totalShipping: moneyV2,
  totalPrice: moneyV2,
  totalRefunded: moneyV2.nullable().optional(),
  shop: z.object({ name: z.string().min(1) }).optional(),
  lineItems: z.object({ nodes: z.array(lineItem) }).optional(),
});
export type ShopifyRecord = z.infer<typeof shopifyOrder>;

const cursor = z.object({ after: z.string().nullable(), since: z.string().nullable(), high: z.string().nullable() });
export type ShopifyCursor = z.infer<typeof cursor>;

const utc = (s: string): string => new Date(s).toISOString();

function status(r: ShopifyRecord): OrderStatus {
  if (r.cancelledAt) return 'cancelled';
  if (r.financialStatus === 'REFUNDED') return 'refunded';
  if (r.financialStatus === 'PARTIALLY_REFUNDED') return 'partially_refunded';
  if (r.fulfillmentStatus === 'FULFILLED' || r.fulfillmentStatus === 'PARTIALLY_FULFILLED') return 'shipped';
  return 'placed';
}

/** A MoneyV2 in the order's currency (a line priced in another presentment currency is refused, not converted). */
function minor(m: { amount: string; currencyCode: string } | null | undefined, cur: string, what: string): number | null {
  if (!m) return null;
  if (m.currencyCode !== cur) throw new MoneyError(`${what} is in ${m.currencyCode}, the order in ${cur}; orderlink does not convert currencies`);
  return toMinorUnits(m.amount, cur);
}

export function toOrder(r: ShopifyRecord): NormalizedOrder {
  const cur = r.currencyCode;
  const total = minor(r.totalPrice, cur, 'totalPrice')!;
  const tax = minor(r.totalTax, cur, 'totalTax') ?? 0;
  const shipping = minor(r.totalShipping, cur, 'totalShipping')!;
  return {
    orderId: r.id,
    retailer: r.shop?.name ?? 'Shopify',
    orderDate: utc(r.processedAt),
    status: status(r),
    currency: cur,
    // "Price of the order before duties, shipping, and taxes" (CONNECTORS.md §2.4); nullable.
    subtotal: minor(r.subtotal, cur, 'subtotal') ?? total - tax - shipping,
    tax,
    shipping,
    discount: 0,
    total,
    refunded: minor(r.totalRefunded, cur, 'totalRefunded') ?? 0,
    providerUpdatedAt: r.updatedAt ? utc(r.updatedAt) : null,
    items: (r.lineItems?.nodes ?? []).map((l, i) => ({
      lineNo: i + 1,
      name: l.name ?? l.title,
      sku: l.sku || null,
      unitPrice: minor(l.price, cur, `line ${i + 1} price`) ?? 0,
      quantity: l.quantity,
      category: l.productType || null,
    })),
  };
}

type Gql = { data?: Record<string, any> | null; errors?: Array<{ message?: string; extensions?: { code?: string } }> }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One GraphQL request with Shopify's header: the bare access token (Hydrogen sends no "Bearer"). */
async function gql(http: HttpFunction, url: string, session: Session, query: string, variables: Record<string, unknown>): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (session.type !== 'bearer') throw new OrderlinkError('SESSION_KIND', 'this connector needs an OAuth session', { hint: 'Re-link the connection.' });
  const res = await http(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: session.accessToken }, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new ProviderHttpError(res.status, providerMessage(text));
  let body: Gql;
  try {
    body = JSON.parse(text) as Gql;
  } catch {
    throw new ProviderNotJsonError(url, res.status, res.headers.get('content-type'), text);
  }
  const errors = body.errors ?? [];
  if (errors.some((e) => e.extensions?.code === 'THROTTLED')) {
    throw new OrderlinkError('RATE_LIMITED', 'the shop is throttling requests (THROTTLED)', { hint: 'Run sync again in a minute; nothing committed so far is lost.' });
  }
  if (!body.data || errors.length) {
    const msg = (errors[0]?.message ?? 'no data').replace(/[^\x20-\x7e]/g, ' ').slice(0, 160);
    throw new OrderlinkError('PROVIDER_REJECTED', `the shop's Customer Account API refused the query: ${msg}`, { hint: `The API version ${API_VERSION} may have changed; run with --verbose and report it.` });
  }
  return body.data;
}

/** RFC 9110 §10.2.3 Retry-After in seconds (Shopify sends seconds), in ms; null when absent. */
function retryAfterMs(h: Headers): number | null {
  const v = h.get('retry-after');
  return v && /^\d{1,6}$/.test(v.trim()) ? Number(v.trim()) * 1000 : null;
}

export function classify(res: { status: number; headers: Headers; body: string }): Verdict {
  if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
  if (res.status === 401) return { kind: 'unauthorized' };
  if (res.status === 429 || /"THROTTLED"/.test(res.body)) return { kind: 'rate_limited', waitMs: retryAfterMs(res.headers) };
  if (res.status >= 500) return { kind: 'retry', message: `HTTP ${res.status}` };
  return { kind: 'ok' };
}

/** https://shop.example → the API document at /.well-known/customer-account-api (CONNECTORS.md §2.1). */
async function prepare({ config, http }: { config: ConnectionConfig; http: HttpFunction }): Promise<ConnectionConfig> {
  const site = config.issuer;
  if (!site) throw new OrderlinkError('SHOP_REQUIRED', 'Shopify needs the shop\'s storefront domain', { kind: 'usage', hint: 'Pass --shop DOMAIN (the domain customers visit).' });
  const url = `${site.replace(/\/+$/, '')}/.well-known/customer-account-api`;
  const res = await http(url, { headers: { accept: 'application/json' } });
  const text = await res.text();
  let doc: { graphql_api?: unknown } = {};
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    /* below */
  }
  if (res.status !== 200 || typeof doc.graphql_api !== 'string') {
    throw new OrderlinkError('SHOPIFY_NOT_CUSTOMER_ACCOUNTS', `${new URL(site).host} does not publish the Customer Account API (HTTP ${res.status} at /.well-known/customer-account-api)`, {
      hint: 'Check --shop: it must be the storefront domain, and the shop must use (new) customer accounts.',
    });
  }
  const api = new URL(doc.graphql_api);
  const loopback = api.hostname === '127.0.0.1' && new URL(site).hostname === '127.0.0.1';
  if (api.protocol !== 'https:' && !(api.protocol === 'http:' && loopback)) {
    throw new OrderlinkError('INSECURE_BASE_URL', `refusing the shop's API at ${api.protocol}//${api.host}: only https is allowed`);
  }
  return { ...config, apiBase: api.href };
}

export const shopify = defineConnector<ShopifyRecord, ShopifyCursor>({
  id: 'shopify',
  displayName: 'Shopify (customer account)',
  kind: 'direct',
  retailers: ['*'],
  auth: {
    type: 'oauth',
    clientId: null,
    confidential: false,
    scopes: ['openid', 'email', 'customer-account-api:full'],
    redirectPath: '/callback/shopify',
    loopback: false,
    pasteRedirectUri: 'https://orderlink.invalid/callback/shopify',
    discovery: 'site',
    prepare,
  },
  capabilities: { incremental: true, items: true, refunds: true, deletions: false, revocation: false },
  descriptor: {
    endpoints: { graphql: `/{shop_id}/account/customer/api/${API_VERSION}/graphql (from /.well-known/customer-account-api)` },
    pagination: { style: 'cursor', pageSize: { default: PAGE, max: 250 } },
    // 3000 requests per minute per customer, shared across apps (CONNECTORS.md §2.6).
    rateLimit: { requestsPerSecond: 50, burst: 50 },
  },
  checkpoint: 'page',
  baseUrl: { default: null, env: 'ORDERLINK_SHOPIFY_URL' },
  docs: 'docs/shopify.md',
  rawSchema: shopifyOrder,
  cursorSchema: cursor,
  allowList: [
    'id', 'name', 'processedAt', 'updatedAt', 'cancelledAt', 'currencyCode', 'financialStatus', 'fulfillmentStatus',
    'subtotal.amount', 'subtotal.currencyCode', 'totalTax.amount', 'totalTax.currencyCode', 'totalShipping.amount', 'totalShipping.currencyCode',
    'totalPrice.amount', 'totalPrice.currencyCode', 'totalRefunded.amount', 'totalRefunded.currencyCode', 'shop.name',
    'lineItems.nodes[].name', 'lineItems.nodes[].title', 'lineItems.nodes[].sku', 'lineItems.nodes[].quantity', 'lineItems.nodes[].productType',
    'lineItems.nodes[].price.amount', 'lineItems.nodes[].price.currencyCode',
  ],
  freeText: ['shop.name', 'lineItems.nodes[].name', 'lineItems.nodes[].title', 'lineItems.nodes[].sku', 'lineItems.nodes[].productType'],
  classify,
  async fetchOrders({ baseUrl, session, cursor: c, since, limit, http }) {
    const filter = c?.after ? c.since : (c?.since ?? since);
    const data = await gql(http, baseUrl, session, ORDERS_QUERY, {
      first: Math.min(limit, 250),
      after: c?.after ?? null,
      query: filter ? `updated_at:>='${filter}'` : null,
    });
    const conn = data.customer?.orders as { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: Array<Record<string, any>> } | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!conn || !Array.isArray(conn.nodes)) throw new OrderlinkError('PROVIDER_BAD_PAGE', 'the shop answered without customer.orders', { hint: 'Run with --verbose; the API may have changed.' });
    const shop = typeof data.shop?.name === 'string' ? { name: data.shop.name as string } : undefined;
    for (const node of conn.nodes) {
      // Nested pagination: an order with more line items than one page gets the rest from order(id:).
      let li = node.lineItems as { pageInfo?: { hasNextPage: boolean; endCursor: string | null }; nodes: unknown[] } | undefined;
      while (li?.pageInfo?.hasNextPage && li.pageInfo.endCursor && typeof node.id === 'string') {
        const more = (await gql(http, baseUrl, session, LINE_ITEMS_QUERY, { id: node.id, after: li.pageInfo.endCursor })).order?.lineItems as typeof li;
        if (!more || !Array.isArray(more.nodes) || more.pageInfo?.endCursor === li.pageInfo.endCursor) break;
        li = { pageInfo: more.pageInfo!, nodes: [...li.nodes, ...more.nodes] };
      }
      if (li) node.lineItems = { nodes: li.nodes };
      if (shop) node.shop = shop;
    }
    const seen = conn.nodes.map((n) => n.updatedAt).filter((u): u is string => typeof u === 'string');
    const high = [c?.high ?? null, ...seen].filter((x): x is string => x !== null).reduce<string | null>((a, b) => (a === null || Date.parse(b) > Date.parse(a) ? b : a), null);
    const more = conn.pageInfo?.hasNextPage === true;
    return {
      records: conn.nodes,
      hasMore: more,
      nextCursor: more ? (conn.pageInfo.endCursor ? { after: conn.pageInfo.endCursor, since: filter ?? null, high } : null) : { after: null, since: high ?? filter ?? null, high },
    };
  },
  toOrder,
  async fetchProfile({ baseUrl, session, http }) {
    const data = await gql(http, baseUrl, session, PROFILE_QUERY, {});
    const id = data.customer?.id;
    if (typeof id !== 'string') throw new OrderlinkError('PROVIDER_BAD_PROFILE', 'the shop did not say which customer this is');
    return { accountId: id, label: typeof data.customer.displayName === 'string' ? data.customer.displayName : id };
  },
});
