/**
 * The descriptor's field mapping, applied to one allow-listed record: dotted paths, money in the
 * declared format (never through a float: numbers are re-read as their shortest decimal text),
 * dates in the declared format to UTC ISO 8601, the status map. Pure. A problem is a MappingError
 * naming the field, which the raw schema turns into an invalid record (named, skipped, rule 23).
 */
import { OversizedField } from '../../policy/index.js';
import { currencyExponent, isCurrencyCode, MoneyError, toMinorUnits } from '../money.js';
import type { NormalizedItem, NormalizedOrder, OrderStatus, Tombstone } from '../types.js';
import type { Descriptor } from './schema.js';

export class MappingError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

type Mapping = Descriptor['mapping'];

/** The value at a dotted path; undefined when any step is missing. */
export function getPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined;
      cur = cur[Number(part)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  if (cur instanceof OversizedField) throw new MappingError(path, cur.message);
  return cur;
}

function str(record: unknown, path: string, what: string): string {
  const v = getPath(record, path);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.length === 0) throw new MappingError(path, `${what}: expected text, got ${describe(v)}`);
  return v;
}

function optStr(record: unknown, path: string | undefined): string | null {
  if (path === undefined) return null;
  const v = getPath(record, path);
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new MappingError(path, `expected text or nothing, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

const CANONICAL_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ISO = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d))?$/;

/** A date in the declared format → UTC ISO 8601 (canonical text is kept as it is). */
export function toUtc(record: unknown, path: string, format: Mapping['dateFormat']): string {
  const v = getPath(record, path);
  let ms: number;
  if (format === 'iso8601') {
    if (typeof v !== 'string' || !ISO.test(v)) throw new MappingError(path, `expected an ISO 8601 date-time with Z or an offset, got ${typeof v === 'string' ? `"${v.slice(0, 40)}"` : describe(v)}`);
    if (CANONICAL_UTC.test(v)) return v;
    ms = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
  } else {
    const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new MappingError(path, `expected epoch ${format === 'unix-seconds' ? 'seconds' : 'milliseconds'}, got ${describe(v)}`);
    ms = format === 'unix-seconds' ? n * 1000 : n;
  }
  if (Number.isNaN(ms) || Math.abs(ms) > 8.64e15) throw new MappingError(path, 'not a valid date');
  return new Date(ms).toISOString();
}

/** Money in the declared format → exact integer minor units of `currency`. */
export function toMinor(record: unknown, path: string, m: Mapping['money'], currency: string): number {
  const v = getPath(record, path);
  try {
    if (m.format === 'decimal-string') {
      if (typeof v !== 'string') throw new MappingError(path, `expected a decimal string such as "27.35", got ${describe(v)}`);
      return toMinorUnits(v, currency);
    }
    if (m.format === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new MappingError(path, `expected a number such as 27.35, got ${describe(v)}`);
      // The shortest text that reads back as this double ("27.35"), then exact decimal parsing.
      const text = String(v);
      if (/e/i.test(text)) throw new MappingError(path, `the number ${text} is too large or too small to be an amount`);
      return toMinorUnits(text, currency);
    }
    const n = typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new MappingError(path, `expected an integer amount in minor units, got ${describe(v)}`);
    const own = currencyExponent(currency);
    const given = m.exponent ?? own;
    if (given === own) return n;
    if (given < own) return n * 10 ** (own - given);
    const div = 10 ** (given - own);
    if (n % div !== 0) throw new MappingError(path, `${n} (${given} decimals) has more decimals than ${currency} allows (${own}); refusing to round`);
    return n / div;
  } catch (err) {
    if (err instanceof MoneyError) throw new MappingError(path, err.message);
    throw err;
  }
}

function money(record: unknown, path: string | undefined, m: Mapping['money'], currency: string): number | null {
  if (path === undefined) return null;
  const v = getPath(record, path);
  if (v === null || v === undefined) return null;
  return toMinor(record, path, m, currency);
}

function valueOf(record: unknown, spec: string | { value: string }, what: string): string {
  return typeof spec === 'string' ? str(record, spec, what) : spec.value;
}

/** One allow-listed raw record → a normalized order or a tombstone (pure). */
export function mapRecord(record: unknown, m: Mapping): NormalizedOrder | Tombstone {
  const orderId = str(record, m.orderId, 'order id');
  if (m.deleted && getPath(record, m.deleted.path) === m.deleted.equals) {
    return { orderId, deletedAt: toUtc(record, m.updatedAt ?? m.orderDate, m.dateFormat) };
  }
  const currency = valueOf(record, m.currency, 'currency').toUpperCase();
  if (!isCurrencyCode(currency)) throw new MappingError(typeof m.currency === 'string' ? m.currency : 'currency', `"${currency.slice(0, 10)}" is not an ISO 4217 currency code`);
  const rawStatus = str(record, m.status.path, 'status');
  const status = (Object.prototype.hasOwnProperty.call(m.status.map, rawStatus) ? m.status.map[rawStatus] : m.status.default) as OrderStatus | undefined;
  if (!status) throw new MappingError(m.status.path, `the status "${rawStatus.slice(0, 40)}" is not in the descriptor's status map (add it, or a default)`);
  const a = m.amounts;
  const total = toMinor(record, a.total, m.money, currency);
  const tax = money(record, a.tax, m.money, currency) ?? 0;
  const shipping = money(record, a.shipping, m.money, currency) ?? 0;
  const discount = money(record, a.discount, m.money, currency) ?? 0;
  const subtotal = money(record, a.subtotal, m.money, currency) ?? total - tax - shipping + discount;
  const order: NormalizedOrder = {
    orderId,
    retailer: valueOf(record, m.retailer, 'retailer'),
    orderDate: toUtc(record, m.orderDate, m.dateFormat),
    status,
    currency,
    subtotal,
    tax,
    shipping,
    discount,
    total,
    refunded: money(record, a.refunded, m.money, currency) ?? 0,
    providerUpdatedAt: m.updatedAt === undefined || getPath(record, m.updatedAt) == null ? null : toUtc(record, m.updatedAt, m.dateFormat),
    items: [],
  };
  if (m.items) order.items = mapItems(record, m.items, m, currency);
  return order;
}

function mapItems(record: unknown, spec: NonNullable<Mapping['items']>, m: Mapping, currency: string): NormalizedItem[] {
  const list = getPath(record, spec.path);
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new MappingError(spec.path, `expected a list of items, got ${describe(list)}`);
  return list.map((it, i) => {
    const at = (p: string) => `${spec.path}.${i}.${p}`;
    try {
      const q = getPath(it, spec.quantity);
      const quantity = typeof q === 'string' && /^\d{1,9}$/.test(q) ? Number(q) : q;
      if (typeof quantity !== 'number' || !Number.isInteger(quantity)) throw new MappingError(spec.quantity, `expected a whole quantity, got ${describe(q)}`);
      const ln = spec.lineNo === undefined ? i + 1 : getPath(it, spec.lineNo);
      if (typeof ln !== 'number' || !Number.isSafeInteger(ln)) throw new MappingError(spec.lineNo ?? 'line', `expected a line number, got ${describe(ln)}`);
      return {
        lineNo: ln,
        name: str(it, spec.name, 'item name'),
        sku: optStr(it, spec.sku),
        unitPrice: toMinor(it, spec.unitPrice, m.money, currency),
        quantity,
        category: optStr(it, spec.category),
      };
    } catch (err) {
      if (err instanceof MappingError) throw new MappingError(at(err.field), err.message);
      throw err;
    }
  });
}
