/**
 * Fast paths of the record pipeline (docs/performance.md, "one compiled pass per connector"):
 * for a connector listed here, ONE function reads a raw record, applies the policy (allow-list,
 * field limit, card-number scrub) and the connector's raw schema checks in a single pass, and hands
 * the clean record to the connector's own `toOrder`. It never decides that a record is invalid:
 * anything it does not positively recognise (a tombstone, a missing or odd field, an over-long
 * string, an amount `toOrder` refuses) returns `undefined`, and the pipeline runs the plain steps
 * — policy, zod, toOrder — which accept or word the error exactly as before. So zod only runs to
 * explain a rejection, and a fast path can only be stricter than the schema, never looser.
 *
 * The contract each fast path keeps, tested against the plain steps on the connector's fixtures
 * and on mutations of them (test/speed.equivalence.test.ts): when it returns a value, that value
 * deep-equals what applyPolicy → rawSchema.safeParse → toOrder returns for the same raw record.
 * A connector whose schema changes must change its fast path with it (or drop it from FAST_PATHS):
 * the equivalence test fails until it does.
 */
import type { Connector, NormalizedOrder } from '../connectors/types.js';
import { fieldLimit, redactCardNumbers } from '../policy/index.js';

export type FastPath = (raw: unknown, connector: Connector, limit: number) => NormalizedOrder | undefined;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// The sandbox's raw schema (src/connectors/sandbox/index.ts), check for check.
const MONEY = /^-?\d+(\.\d+)?$/;
const CURRENCY = /^[A-Z]{3}$/;
const STATUSES = new Set(['placed', 'shipped', 'delivered', 'cancelled', 'refunded', 'partially_refunded']);

/** A string within the field limit (policy), or undefined. */
const str = (v: unknown, limit: number): string | undefined => (typeof v === 'string' && v.length <= limit ? v : undefined);
const money = (v: unknown, limit: number): string | undefined => {
  const s = str(v, limit);
  return s !== undefined && MONEY.test(s) ? s : undefined;
};
const isoDate = (v: unknown, limit: number): string | undefined => {
  const s = str(v, limit);
  return s !== undefined && !Number.isNaN(Date.parse(s)) ? s : undefined;
};
/** zod's `.int()` accepts safe integers only; requiring them here is never looser. */
const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * The sandbox feed: live orders only (a tombstone takes the plain steps). Builds the record that
 * applyPolicy + sandboxRecord.parse would produce: the allow-listed fields, free text scrubbed.
 */
function sandbox(raw: unknown, connector: Connector, limit: number): NormalizedOrder | undefined {
  if (!isObj(raw)) return undefined;
  const deleted = raw.deleted;
  if (deleted !== undefined && deleted !== false) return undefined;
  const id = str(raw.id, limit);
  const placedAt = isoDate(raw.placed_at, limit);
  const updatedAt = isoDate(raw.updated_at, limit);
  const status = str(raw.status, limit);
  const currency = str(raw.currency, limit);
  const r = str(raw.retailer, limit);
  if (!id || placedAt === undefined || updatedAt === undefined || status === undefined || !STATUSES.has(status) || currency === undefined || !CURRENCY.test(currency) || r === undefined) return undefined;
  const retailer = redactCardNumbers(r);
  if (retailer.length < 1) return undefined;
  const a = raw.amounts;
  if (!isObj(a)) return undefined;
  const subtotal = money(a.subtotal, limit);
  const tax = money(a.tax, limit);
  const shipping = money(a.shipping, limit);
  const discount = money(a.discount, limit);
  const total = money(a.total, limit);
  if (subtotal === undefined || tax === undefined || shipping === undefined || discount === undefined || total === undefined) return undefined;
  const amounts: Obj = { subtotal, tax, shipping, discount, total };
  if (a.refunded !== undefined) {
    const refunded = money(a.refunded, limit);
    if (refunded === undefined) return undefined;
    amounts.refunded = refunded;
  }
  const rawItems = raw.items;
  if (!Array.isArray(rawItems)) return undefined;
  const items: Obj[] = new Array(rawItems.length);
  for (let k = 0; k < rawItems.length; k++) {
    const it = rawItems[k];
    if (!isObj(it)) return undefined;
    const line = it.line;
    const quantity = it.quantity;
    const n = str(it.name, limit);
    const unitPrice = money(it.unit_price, limit);
    if (!int(line) || line <= 0 || !int(quantity) || quantity < 0 || n === undefined || unitPrice === undefined) return undefined;
    const name = redactCardNumbers(n);
    if (name.length < 1) return undefined;
    const item: Obj = { line, name };
    const sku = it.sku;
    if (sku !== undefined) {
      if (sku === null) item.sku = null;
      else {
        const s = str(sku, limit);
        if (s === undefined) return undefined;
        item.sku = redactCardNumbers(s);
      }
    }
    item.unit_price = unitPrice;
    item.quantity = quantity;
    const category = it.category;
    if (category !== undefined) {
      if (category === null) item.category = null;
      else {
        const c = str(category, limit);
        if (c === undefined) return undefined;
        item.category = redactCardNumbers(c);
      }
    }
    items[k] = item;
  }
  const clean: Obj = { id, retailer, placed_at: placedAt, updated_at: updatedAt, status, currency, amounts, items };
  if (deleted === false) clean.deleted = false;
  try {
    const mapped = connector.toOrder(clean as never);
    return 'items' in mapped ? mapped : undefined;
  } catch {
    // A MoneyError (too many decimals, out of range): the plain steps word it.
    return undefined;
  }
}

/** Connector id → its fast path. Connectors not listed take the plain steps only. */
export const FAST_PATHS: Readonly<Record<string, FastPath>> = { sandbox };

export function fastPathFor(connector: Connector): ((raw: unknown) => NormalizedOrder | undefined) | undefined {
  const f = connector.records === 'charges' ? undefined : FAST_PATHS[connector.id];
  if (!f) return undefined;
  const limit = fieldLimit();
  return (raw) => f(raw, connector, limit);
}
