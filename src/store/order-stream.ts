/**
 * The rows of an order listing as a stream: objects, arrays or NDJSON lines built by SQLite, for
 * `orders` and its exports of any size (OrderQueries.iterate builds the query).
 */
import type { Statement } from 'better-sqlite3';
import type { DB } from './db.js';
import { orderLineSql, type LineOptions } from './order-lines.js';
import type { OrderRow } from './query-types.js';

export const ORDER_COLUMNS = `o.id, o.connection_id AS connectionId, o.order_id AS orderId, o.retailer, o.order_date AS orderDate, o.status, o.currency,
  o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded, o.item_count AS itemCount, o.first_seen_at AS firstSeenAt,
  o.updated_at AS updatedAt, o.deleted_at AS deletedAt`;
export const SELECT_ORDER = `SELECT ${ORDER_COLUMNS} FROM orders o`;

/** Positions of the columns in a raw row of OrderRowStream.raw() (the order of SELECT_ORDER). */
export const RAW = {
  id: 0, connectionId: 1, orderId: 2, retailer: 3, orderDate: 4, status: 5, currency: 6, subtotal: 7, tax: 8, shipping: 9,
  discount: 10, total: 11, refunded: 12, itemCount: 13, firstSeenAt: 14, updatedAt: 15, deletedAt: 16,
} as const;

/** A raw row (RAW's positions) as the OrderRow object `iterate` gives. */
export function rowFromRaw(r: readonly unknown[]): OrderRow {
  const row = {} as Record<keyof typeof RAW, unknown>;
  for (const [k, i] of Object.entries(RAW)) row[k as keyof typeof RAW] = r[i];
  return row as unknown as OrderRow;
}

/**
 * What `iterate` returns: the matching rows as OrderRow objects, one at a time (the statement
 * starts on the first `next()`), the same rows as plain arrays (`raw()`, columns at RAW's
 * positions: better-sqlite3 builds an array per row about a third faster than an object with
 * named keys), or as `orders --ndjson` lines built by SQLite (`lines()`, src/store/order-lines.ts).
 */
export class OrderRowStream implements IterableIterator<OrderRow> {
  private it: IterableIterator<OrderRow> | undefined;
  private byId: Statement | undefined;
  /** `from`: the query after its column list (FROM, WHERE, ORDER BY, LIMIT). */
  constructor(
    private readonly db: DB,
    private readonly from: string,
    private readonly args: unknown[],
  ) {}
  next(): IteratorResult<OrderRow> {
    return (this.it ??= this.db.prepare(`SELECT ${ORDER_COLUMNS} ${this.from}`).iterate(...this.args) as IterableIterator<OrderRow>).next();
  }
  return(value?: unknown): IteratorResult<OrderRow> {
    this.it?.return?.();
    return { done: true, value: value as OrderRow };
  }
  [Symbol.iterator](): this {
    return this;
  }
  /** The rows as arrays (use instead of, not after, iterating the objects). */
  raw(): IterableIterator<unknown[]> {
    return this.db.prepare(`SELECT ${ORDER_COLUMNS} ${this.from}`).raw(true).iterate(...this.args) as IterableIterator<unknown[]>;
  }
  /**
   * The rows as NDJSON lines (`handles` as orderRecord takes them), each a string ending in '\n',
   * before safeJson's escapes; a row SQLite does not format comes as its id (a bigint: read it
   * with `rawRow`, while iterating). null when the lines cannot be built in SQL.
   */
  lines(handles: ReadonlyMap<number, string>, opts: Omit<LineOptions, 'open'> = {}): IterableIterator<string | bigint> | null {
    const line = orderLineSql(handles, opts);
    if (!line) return null;
    const stmt = this.db.prepare(`SELECT ${line.expr} ${this.from}`).pluck().safeIntegers(true);
    return stmt.iterate(...this.withParams(line.params)) as IterableIterator<string | bigint>;
  }
  /**
   * `export --items` lines: the export record left open for its items, with the order's row id
   * and currency (to read and format the items): `[line or id, id, currency]`, as lines() says.
   */
  openLines(handles: ReadonlyMap<number, string>, opts: Omit<LineOptions, 'open' | 'exportFields'> = {}): IterableIterator<[string | bigint, bigint, string]> | null {
    const line = orderLineSql(handles, { exportFields: true, open: true, ...opts });
    if (!line) return null;
    const stmt = this.db.prepare(`SELECT ${line.expr}, o.id, o.currency ${this.from}`).raw(true).safeIntegers(true);
    return stmt.iterate(...this.withParams(line.params)) as IterableIterator<[string | bigint, bigint, string]>;
  }
  private withParams(params: Record<string, string | number>): unknown[] {
    return Object.keys(params).length ? [...this.args, params] : this.args;
  }
  /** One row as `raw()` gives it, by id (inside `lines()`'s iteration: the same snapshot). */
  rawRow(id: bigint): unknown[] {
    this.byId ??= this.db.prepare(`${SELECT_ORDER} WHERE o.id = ?`).raw(true);
    const row = this.byId.get(id) as unknown[] | undefined;
    if (!row) throw new Error(`order row ${id} vanished during an export`);
    return row;
  }
}
