/**
 * The vocabulary: the domain types every layer speaks (connectors produce them, the engine checks
 * them, the store writes them, the UI renders them). One definition each; every other module
 * imports from here instead of restating them.
 *
 * Money is always an integer number of minor units of its own currency (see
 * src/connectors/money.ts); dates are UTC ISO 8601 strings.
 */

/** How a connector reaches the provider's data. */
export type ConnectorKind = 'direct' | 'aggregator' | 'file';
/** Stored on the connection row as `provider_type` (same values as ConnectorKind). */
export type ProviderType = ConnectorKind;

export type OrderStatus = 'placed' | 'shipped' | 'delivered' | 'cancelled' | 'refunded' | 'partially_refunded' | 'returned' | 'unknown';

export const ORDER_STATUSES: readonly OrderStatus[] = ['placed', 'shipped', 'delivered', 'cancelled', 'refunded', 'partially_refunded', 'returned', 'unknown'];

/** An amount in integer minor units of a currency (1234 USD = $12.34). Never a float. */
export type MinorUnits = number;

/** The normalized shape written to the store. */
export interface NormalizedOrder {
  orderId: string;
  retailer: string;
  /** UTC ISO 8601. */
  orderDate: string;
  status: OrderStatus;
  /** ISO 4217. */
  currency: string;
  subtotal: MinorUnits;
  tax: MinorUnits;
  shipping: MinorUnits;
  discount: MinorUnits;
  total: MinorUnits;
  refunded: MinorUnits;
  /** The provider's own last-modified time (UTC ISO 8601), when it has one. */
  providerUpdatedAt: string | null;
  items: NormalizedItem[];
}

export interface NormalizedItem {
  /** Unique within its order (the items' primary key). */
  lineNo: number;
  name: string;
  sku: string | null;
  unitPrice: MinorUnits;
  quantity: number;
  category: string | null;
}

/** A provider-side deletion: recorded, never silently dropped (SECURITY.md rule 21). */
export interface Tombstone {
  orderId: string;
  deletedAt: string | null;
}

export const isTombstone = (x: NormalizedOrder | Tombstone): x is Tombstone => !('items' in x);

export type ConnectionStatus = 'active' | 'reauth_required' | 'revoked' | 'error';

export type RunStatus = 'running' | 'success' | 'partial' | 'failure' | 'reauth_required';
export type RunMode = 'incremental' | 'full' | 'dry-run' | 'import';

/**
 * Per-connection configuration, stored as JSON with the connection (never a secret: client
 * secrets and credentials live in the vault). Which keys a connector reads is its own business.
 */
export interface ConnectionConfig {
  /** OAuth issuer (discovery). */
  issuer?: string;
  /** Where the orders API lives, when it is not at the issuer. */
  apiBase?: string;
  /** sandbox | development | production, for providers with environments. */
  environment?: string;
  region?: string;
  clientId?: string;
  /** The file an import read last (file connectors). */
  source?: string;
  [key: string]: string | undefined;
}

/**
 * Bounds at the door (issue 9 #6, #7): no stored amount may exceed ±10^15 minor units (a
 * quadrillion cents is far beyond any real order, and a million such orders still sum inside
 * SQLite's 64-bit integers), and quantities stay below a million per line.
 */
export const MAX_ABS_MINOR = 1_000_000_000_000_000; // = MAX_MINOR_UNITS in connectors/money.ts (a test checks)
export const MAX_QUANTITY = 1_000_000;

/**
 * Checks a mapped order against the store's invariants. Returns the first problem as
 * `{ field, message }`, or null. An order that fails is an invalid record: named, skipped, and
 * the run ends `partial` — it never reaches the database where it could break a whole page.
 */
export function checkOrder(o: NormalizedOrder): { field: string; message: string } | null {
  for (const k of ['subtotal', 'tax', 'shipping', 'discount', 'total', 'refunded'] as const) {
    const v = o[k];
    if (!Number.isSafeInteger(v) || Math.abs(v) > MAX_ABS_MINOR) return { field: `amounts.${k}`, message: `amount out of range (limit ±${MAX_ABS_MINOR} minor units)` };
  }
  const seen = new Set<number>();
  for (let i = 0; i < o.items.length; i++) {
    const it = o.items[i]!;
    if (seen.has(it.lineNo)) return { field: `items.${i}.line`, message: `line number ${it.lineNo} appears twice in one order` };
    seen.add(it.lineNo);
    if (!Number.isSafeInteger(it.unitPrice) || Math.abs(it.unitPrice) > MAX_ABS_MINOR) return { field: `items.${i}.unit_price`, message: 'amount out of range' };
    if (!Number.isSafeInteger(it.quantity) || it.quantity < 0 || it.quantity > MAX_QUANTITY) return { field: `items.${i}.quantity`, message: `quantity out of range (0 to ${MAX_QUANTITY})` };
    if (Math.abs(it.unitPrice * it.quantity) > MAX_ABS_MINOR) return { field: `items.${i}`, message: 'line amount (unit price × quantity) out of range' };
  }
  return null;
}

/**
 * A card or bank charge (Plaid transactions): where money went, without line items. Charges are
 * not orders — they live in their own table and never count in `orders` or `orders stats`, so a
 * purchase that is also an order (Amazon's export, Knot) is never counted twice.
 */
export interface NormalizedCharge {
  transactionId: string;
  accountId: string;
  /** The calendar date the provider gives (YYYY-MM-DD), never shifted by a time zone. */
  date: string;
  /** UTC ISO 8601 when the provider knows the time, else null. */
  datetime: string | null;
  merchant: string;
  /** Minor units; positive = money out (a purchase), negative = money in (a refund). */
  amount: MinorUnits;
  currency: string;
  pending: boolean;
  category: string | null;
  /** For a posted charge: the pending charge it replaces (one purchase, never two). */
  pendingTransactionId: string | null;
}

/** The provider removed a charge (e.g. a pending one that posted under a new id). */
export interface RemovedCharge {
  transactionId: string;
  removed: true;
}

export type ChargeChange = NormalizedCharge | RemovedCharge;

export const isRemovedCharge = (x: ChargeChange): x is RemovedCharge => 'removed' in x && x.removed === true;

/** What a connector's records are: orders (the default) or charges. */
export type RecordKind = 'orders' | 'charges';

/** The store's invariants for a charge, like checkOrder. */
export function checkCharge(c: NormalizedCharge): { field: string; message: string } | null {
  if (!Number.isSafeInteger(c.amount) || Math.abs(c.amount) > MAX_ABS_MINOR) return { field: 'amount', message: `amount out of range (limit ±${MAX_ABS_MINOR} minor units)` };
  if (!/^\d{4}-\d\d-\d\d$/.test(c.date)) return { field: 'date', message: 'not a calendar date (YYYY-MM-DD)' };
  if (c.transactionId.length === 0 || c.transactionId.length > 256) return { field: 'transaction_id', message: 'empty or longer than 256 characters' };
  if (c.merchant.length > 512) return { field: 'merchant', message: 'longer than 512 characters' };
  return null;
}
