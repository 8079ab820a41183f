/**
 * The read side of orders: filtered lists, one order with its items, and totals grouped by month,
 * retailer or category. Money stays in minor units with its currency; amounts are never summed
 * across currencies. Queries are built from fixed fragments and bound parameters only.
 */
import { currencyExponent } from '../connectors/money.js';
import type { DB } from './db.js';

export interface OrderFilter {
  connectionIds?: number[];
  retailer?: string;
  since?: string;
  until?: string;
  status?: string[];
  category?: string;
  /** Major units, compared in each order's own currency. */
  min?: number;
  max?: number;
  search?: string;
  includeDeleted?: boolean;
}

export type SortKey = 'date' | '-date' | 'total' | '-total' | 'retailer' | '-retailer';

export interface OrderRow {
  id: number;
  connectionId: number;
  orderId: string;
  retailer: string;
  orderDate: string;
  status: string;
  currency: string;
  subtotal: number;
  tax: number;
  shipping: number;
  discount: number;
  total: number;
  refunded: number;
  itemCount: number;
  firstSeenAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

export interface ItemRow {
  lineNo: number;
  name: string;
  sku: string | null;
  unitPrice: number;
  quantity: number;
  category: string | null;
}

export interface StatRow {
  key: string;
  currency: string;
  orders: number;
  total: number;
  refunded: number;
}

const SELECT_ORDER = `SELECT o.id, o.connection_id AS connectionId, o.order_id AS orderId, o.retailer, o.order_date AS orderDate, o.status, o.currency,
  o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded, o.item_count AS itemCount, o.first_seen_at AS firstSeenAt,
  o.updated_at AS updatedAt, o.deleted_at AS deletedAt FROM orders o`;

/** SQL for 10^exponent of o.currency, from the ISO 4217 table (no per-row function calls). */
function scaleSql(): string {
  const odd = ['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'KWD', 'BHD', 'JOD', 'OMR', 'TND', 'IQD', 'LYD', 'UGX', 'PYG', 'XAF', 'XOF', 'XPF', 'BIF', 'DJF', 'GNF', 'KMF', 'RWF', 'VUV', 'UYI', 'CLF', 'UYW'];
  return `(CASE o.currency ${odd.map((c) => `WHEN '${c}' THEN ${10 ** currencyExponent(c)}`).join(' ')} ELSE 100 END)`;
}

/** Turn user text into a safe FTS5 query: every word quoted, the last one a prefix. */
export function ftsQuery(text: string): string | null {
  const words = text.match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) return null;
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ');
}

function where(f: OrderFilter): { sql: string; args: unknown[] } {
  const w: string[] = [];
  const args: unknown[] = [];
  if (!f.includeDeleted) w.push('o.deleted_at IS NULL');
  if (f.connectionIds?.length) {
    w.push(`o.connection_id IN (${f.connectionIds.map(() => '?').join(',')})`);
    args.push(...f.connectionIds);
  }
  if (f.retailer) {
    w.push('o.retailer = ? COLLATE NOCASE');
    args.push(f.retailer);
  }
  if (f.since) {
    w.push('o.order_date >= ?');
    args.push(f.since);
  }
  if (f.until) {
    w.push('o.order_date < ?');
    args.push(f.until);
  }
  if (f.status?.length) {
    w.push(`o.status IN (${f.status.map(() => '?').join(',')})`);
    args.push(...f.status);
  }
  if (f.category) {
    w.push('EXISTS (SELECT 1 FROM order_items i WHERE i.order_ref = o.id AND i.category = ? COLLATE NOCASE)');
    args.push(f.category);
  }
  if (f.min !== undefined) {
    w.push(`o.total >= ? * ${scaleSql()}`);
    args.push(f.min);
  }
  if (f.max !== undefined) {
    w.push(`o.total <= ? * ${scaleSql()}`);
    args.push(f.max);
  }
  if (f.search !== undefined) {
    const q = ftsQuery(f.search);
    // A search with no words matches nothing rather than everything.
    w.push(q === null ? '0' : 'o.id IN (SELECT rowid FROM orders_fts WHERE orders_fts MATCH ?)');
    if (q !== null) args.push(q);
  }
  return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', args };
}

const ORDER_BY: Record<SortKey, string> = {
  date: 'o.order_date ASC, o.id ASC',
  '-date': 'o.order_date DESC, o.id DESC',
  total: 'o.total ASC, o.id ASC',
  '-total': 'o.total DESC, o.id DESC',
  retailer: 'o.retailer COLLATE NOCASE ASC, o.order_date DESC',
  '-retailer': 'o.retailer COLLATE NOCASE DESC, o.order_date DESC',
};

export class OrderQueries {
  constructor(private readonly db: DB) {}

  list(f: OrderFilter, sort: SortKey = '-date', limit?: number): OrderRow[] {
    const { sql, args } = where(f);
    const lim = limit === undefined ? '' : ` LIMIT ${Math.floor(limit)}`;
    return this.db.prepare(`${SELECT_ORDER} ${sql} ORDER BY ${ORDER_BY[sort]}${lim}`).all(...args) as OrderRow[];
  }

  /** Stream rows (for --ndjson / --csv of large result sets) without holding them all in memory. */
  iterate(f: OrderFilter, sort: SortKey = '-date', limit?: number): IterableIterator<OrderRow> {
    const { sql, args } = where(f);
    const lim = limit === undefined ? '' : ` LIMIT ${Math.floor(limit)}`;
    return this.db.prepare(`${SELECT_ORDER} ${sql} ORDER BY ${ORDER_BY[sort]}${lim}`).iterate(...args) as IterableIterator<OrderRow>;
  }

  count(f: OrderFilter): number {
    const { sql, args } = where(f);
    return (this.db.prepare(`SELECT count(*) AS n FROM orders o ${sql}`).get(...args) as { n: number }).n;
  }

  /** By row id, or by provider order id (unique per connection; the newest match wins). */
  find(ref: string): OrderRow | undefined {
    const byProvider = this.db.prepare(`${SELECT_ORDER} WHERE o.order_id = ? ORDER BY o.id DESC LIMIT 1`).get(ref) as OrderRow | undefined;
    if (byProvider || !/^\d+$/.test(ref)) return byProvider;
    return this.db.prepare(`${SELECT_ORDER} WHERE o.id = ?`).get(Number(ref)) as OrderRow | undefined;
  }

  items(orderRowId: number): ItemRow[] {
    return this.db
      .prepare('SELECT line_no AS lineNo, name, sku, unit_price AS unitPrice, quantity, category FROM order_items WHERE order_ref = ? ORDER BY line_no')
      .all(orderRowId) as ItemRow[];
  }

  /**
   * Totals per group and currency. For month and retailer the figure is the order total (net of
   * refunds in `refunded`); for category it is the sum of item lines (unit price × quantity),
   * because an order can span categories.
   */
  stats(by: 'month' | 'retailer' | 'category', f: OrderFilter): StatRow[] {
    const { sql, args } = where(f);
    if (by === 'category') {
      return this.db
        .prepare(
          `SELECT coalesce(i.category, '(none)') AS key, o.currency, count(DISTINCT o.id) AS orders, sum(i.unit_price * i.quantity) AS total, 0 AS refunded
           FROM orders o JOIN order_items i ON i.order_ref = o.id ${sql} GROUP BY 1, 2 ORDER BY 4 DESC`,
        )
        .all(...args) as StatRow[];
    }
    const key = by === 'month' ? 'substr(o.order_date, 1, 7)' : 'o.retailer';
    const order = by === 'month' ? '1 ASC, 2' : '4 DESC';
    return this.db
      .prepare(`SELECT ${key} AS key, o.currency, count(*) AS orders, sum(o.total) AS total, sum(o.refunded) AS refunded FROM orders o ${sql} GROUP BY 1, 2 ORDER BY ${order}`)
      .all(...args) as StatRow[];
  }
}
