/**
 * The built-in sandbox provider (src/sandbox): direct OAuth (authorization code + PKCE on a
 * loopback redirect), a profile endpoint and a cursor-paginated orders feed with
 * `updated_since`. The reference connector: every other direct connector looks like this one.
 * API contract: docs/sandbox.md.
 */
import { z } from 'zod';
import { toMinorUnits } from '../money.js';
import { defineConnector, type NormalizedOrder, type OrderStatus, type Tombstone } from '../types.js';
import { bearerToken, getJson } from '../http.js';

const money = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal amount');
/** Already UTC ISO 8601 with milliseconds (what the sandbox sends): no need to parse it again. */
const CANONICAL_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date-time');
/** For a value `iso` accepted: canonical text stays as it is, anything else is normalized to UTC. */
const utc = (s: string): string => (CANONICAL_UTC.test(s) ? s : new Date(s).toISOString());

const item = z.object({
  line: z.number().int().positive(),
  name: z.string().min(1),
  sku: z.string().nullable().optional(),
  unit_price: money,
  quantity: z.number().int().nonnegative(),
  category: z.string().nullable().optional(),
});

const liveOrder = z.object({
  id: z.string().min(1),
  retailer: z.string().min(1),
  placed_at: iso,
  updated_at: iso,
  status: z.enum(['placed', 'shipped', 'delivered', 'cancelled', 'refunded', 'partially_refunded']),
  currency: z.string().regex(/^[A-Z]{3}$/),
  amounts: z.object({ subtotal: money, tax: money, shipping: money, discount: money, total: money, refunded: money.optional() }),
  items: z.array(item),
  note: z.string().nullable().optional(),
  deleted: z.literal(false).optional(),
});

const tombstone = z.object({ id: z.string().min(1), deleted: z.literal(true), updated_at: iso });

export const sandboxRecord = z.union([tombstone, liveOrder]);
export type SandboxRecord = z.infer<typeof sandboxRecord>;

const cursor = z.object({ next: z.string().nullable(), since: z.string().nullable() });
export type SandboxCursor = z.infer<typeof cursor>;

const pageSchema = z.object({ orders: z.array(z.unknown()), next_cursor: z.string().nullable(), has_more: z.boolean() });
const meSchema = z.object({ account_id: z.string(), label: z.string() });

export function toOrder(raw: SandboxRecord): NormalizedOrder | Tombstone {
  if (raw.deleted === true) return { orderId: raw.id, deletedAt: utc(raw.updated_at) };
  const cur = raw.currency;
  return {
    orderId: raw.id,
    retailer: raw.retailer,
    orderDate: utc(raw.placed_at),
    status: raw.status as OrderStatus,
    currency: cur,
    subtotal: toMinorUnits(raw.amounts.subtotal, cur),
    tax: toMinorUnits(raw.amounts.tax, cur),
    shipping: toMinorUnits(raw.amounts.shipping, cur),
    discount: toMinorUnits(raw.amounts.discount, cur),
    total: toMinorUnits(raw.amounts.total, cur),
    refunded: raw.amounts.refunded === undefined ? 0 : toMinorUnits(raw.amounts.refunded, cur),
    providerUpdatedAt: utc(raw.updated_at),
    items: raw.items.map((i) => ({
      lineNo: i.line,
      name: i.name,
      sku: i.sku ?? null,
      unitPrice: toMinorUnits(i.unit_price, cur),
      quantity: i.quantity,
      category: i.category ?? null,
    })),
  };
}

export const sandbox = defineConnector<SandboxRecord, SandboxCursor>({
  id: 'sandbox',
  displayName: 'orderlink sandbox',
  kind: 'direct',
  retailers: ['*'],
  auth: {
    type: 'oauth',
    clientId: 'orderlink-cli',
    confidential: false,
    scopes: ['openid', 'offline_access', 'profile', 'orders:read'],
    redirectPath: '/callback/sandbox',
    loopback: true,
  },
  capabilities: { incremental: true, items: true, refunds: true, deletions: true, revocation: true },
  descriptor: {
    endpoints: { orders: '/api/v1/orders', profile: '/api/v1/me' },
    pagination: { style: 'cursor', pageSize: { default: 100, max: 500 } },
    rateLimit: null,
  },
  checkpoint: 'page',
  // The sandbox's refresh tokens live 30 days (src/sandbox/auth.ts); each sync rotates them.
  credentialLifetime: { idleDays: 30 },
  baseUrl: { default: null, env: 'ORDERLINK_SANDBOX_URL' },
  docs: 'docs/sandbox.md',
  rawSchema: sandboxRecord,
  cursorSchema: cursor,
  allowList: [
    'id', 'deleted', 'retailer', 'placed_at', 'updated_at', 'status', 'currency',
    'amounts.subtotal', 'amounts.tax', 'amounts.shipping', 'amounts.discount', 'amounts.total', 'amounts.refunded',
    'items[].line', 'items[].name', 'items[].sku', 'items[].unit_price', 'items[].quantity', 'items[].category',
  ],
  freeText: ['retailer', 'items[].name', 'items[].sku', 'items[].category'],
  async fetchOrders({ baseUrl, session, cursor: c, since, limit, http, signal }) {
    const url = new URL('/api/v1/orders', baseUrl);
    url.searchParams.set('limit', String(limit));
    if (c?.next) url.searchParams.set('cursor', c.next);
    else if (c?.since ?? since) url.searchParams.set('updated_since', (c?.since ?? since)!);
    const body = pageSchema.parse(await getJson(http, url.toString(), bearerToken(session), signal));
    const last = body.orders.at(-1) as { updated_at?: unknown } | undefined;
    // The cursor we store: the provider's opaque page cursor while paging; once the feed is
    // drained, a high-water mark (the newest updated_at seen) for the next incremental run.
    const watermark = typeof last?.updated_at === 'string' ? last.updated_at : (c?.since ?? since);
    return {
      records: body.orders,
      hasMore: body.has_more,
      // "More" without a cursor is the provider's contradiction: report no cursor and let the
      // engine stop, rather than restart from the watermark forever.
      nextCursor: body.has_more ? (body.next_cursor === null ? null : { next: body.next_cursor, since: watermark ?? null }) : { next: null, since: watermark ?? null },
    };
  },
  toOrder,
  async fetchProfile({ baseUrl, session, http, signal }) {
    const me = meSchema.parse(await getJson(http, new URL('/api/v1/me', baseUrl).toString(), bearerToken(session), signal));
    return { accountId: me.account_id, label: me.label };
  },
});
