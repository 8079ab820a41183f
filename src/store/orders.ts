/**
 * The write side of orders: one page of normalized orders, its deletions, the cursor after it and
 * the run's running totals, committed in ONE transaction (SECURITY.md rule 20). Upserts are keyed
 * on (connection, provider order id) and compare a content hash, so a rerun of a page is a no-op
 * and a provider update (refund, status, total) is applied in place (rule 21).
 */
import * as crypto from 'node:crypto';
import type { Statement, Transaction } from 'better-sqlite3';
import type { NormalizedOrder, Tombstone } from '../domain.js';
import type { DB } from './db.js';

export interface PageCounts {
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
}

export interface PageWrite {
  connectionId: number;
  orders: readonly NormalizedOrder[];
  tombstones: readonly Tombstone[];
  /** JSON of the connector's cursor after this page, or null to leave it. */
  cursor: string | null;
  /** The sync_runs row to bump, if any. */
  runRowId: number | null;
  fetched: number;
  errors: number;
  now: string;
}

// crypto.hash (Node ≥ 20.12) hashes in one call without a Hash object per order; same digest.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64') => string }).hash;

/** A change detector for upserts (not a security boundary): sha1 of the fields we store. */
export function orderHash(o: NormalizedOrder): string {
  const text = JSON.stringify([o.retailer, o.orderDate, o.status, o.currency, o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded, o.items.map((i) => [i.lineNo, i.name, i.sku, i.unitPrice, i.quantity, i.category])]);
  return oneShot ? oneShot('sha1', text, 'base64') : crypto.createHash('sha1').update(text).digest('base64');
}

/** Sums kept in a category rollup row stay within ±2^62 when added to: their sum fits 64 bits. */
const HALF_INT64 = '4611686018427387904';

interface CategoryDelta {
  grain: 'd' | 'm';
  period: string;
  retailer: string;
  currency: string;
  status: string;
  category: string;
  orders: number;
  total: number;
}

/** Strings whose SQLite value could group differently from the JS string (NUL, lone surrogates). */
const UNSAFE_KEY = /[\u0000\ud800-\udfff]/;

/**
 * Add a new (live) order to the category totals of its day and month, grouped as the rebuild in
 * rollups.ts groups them: per category (NULL as ''), the order counted once, its lines' unit
 * price × quantity summed. Returns false, adding nothing, when that cannot be done exactly in JS
 * (a product or sum beyond 2^53, a key string SQLite might compare differently): the caller
 * marks the month stale instead, and the rebuild does it in SQL.
 */
function addCategoryTotals(o: NormalizedOrder, into: Map<string, CategoryDelta>): boolean {
  if (UNSAFE_KEY.test(o.retailer) || UNSAFE_KEY.test(o.currency) || UNSAFE_KEY.test(o.status) || UNSAFE_KEY.test(o.orderDate)) return false;
  const mine = new Map<string, number>();
  for (const i of o.items) {
    const category = i.category ?? '';
    if (UNSAFE_KEY.test(category)) return false;
    const line = i.unitPrice * i.quantity;
    const sum = (mine.get(category) ?? 0) + line;
    if (!Number.isSafeInteger(line) || !Number.isSafeInteger(sum)) return false;
    mine.set(category, sum);
  }
  const day = o.orderDate.slice(0, 10);
  const month = o.orderDate.slice(0, 7);
  const deltas: Array<[string, CategoryDelta]> = [];
  for (const [category, total] of mine) {
    for (const [grain, period] of [['d', day], ['m', month]] as const) {
      const key = `${grain}\u0000${period}\u0000${o.retailer}\u0000${o.currency}\u0000${o.status}\u0000${category}`;
      const d = into.get(key);
      const next = (d?.total ?? 0) + total;
      if (!Number.isSafeInteger(next)) return false;
      deltas.push([key, d ?? { grain, period, retailer: o.retailer, currency: o.currency, status: o.status, category, orders: 0, total: 0 }]);
    }
  }
  for (const [key, d] of deltas) {
    d.orders++;
    d.total += mine.get(d.category)!;
    into.set(key, d);
  }
  return true;
}

export class OrderWriter {
  private readonly find: Statement<[number, string], { id: number; content_hash: string; deleted_at: string | null; order_date: string }>;
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly delItems: Statement;
  private readonly insItem: Statement;
  private readonly ftsDel: Statement;
  private readonly ftsIns: Statement;
  private readonly tomb: Statement;
  private readonly cursor: Statement;
  private readonly run: Statement;
  /** Marks a (connection, month) rollup slice stale: rebuilt by the next read that needs it. */
  private readonly stale: Statement[];
  /** Adds a new order's category totals to a category rollup row (see addCategoryTotals). */
  private readonly catAdd: Statement;
  private readonly tx: Transaction<(w: PageWrite) => PageCounts>;

  constructor(private readonly db: DB) {
    this.find = db.prepare('SELECT id, content_hash, deleted_at, order_date FROM orders WHERE connection_id = ? AND order_id = ?');
    this.insert = db.prepare(
      `INSERT INTO orders (connection_id, order_id, retailer, order_date, status, currency, subtotal, tax, shipping, discount, total, refunded, item_count, provider_updated_at, content_hash, first_seen_at, updated_at)
       VALUES (@connectionId, @orderId, @retailer, @orderDate, @status, @currency, @subtotal, @tax, @shipping, @discount, @total, @refunded, @itemCount, @providerUpdatedAt, @hash, @now, @now)`,
    );
    this.update = db.prepare(
      `UPDATE orders SET retailer = @retailer, order_date = @orderDate, status = @status, currency = @currency, subtotal = @subtotal, tax = @tax,
         shipping = @shipping, discount = @discount, total = @total, refunded = @refunded, item_count = @itemCount,
         provider_updated_at = @providerUpdatedAt, content_hash = @hash, deleted_at = NULL, updated_at = @now
       WHERE id = @id`,
    );
    this.delItems = db.prepare('DELETE FROM order_items WHERE order_ref = ?');
    this.insItem = db.prepare('INSERT INTO order_items (order_ref, line_no, name, sku, unit_price, quantity, category) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.ftsDel = db.prepare('DELETE FROM orders_fts WHERE rowid = ?');
    this.ftsIns = db.prepare('INSERT INTO orders_fts (rowid, items) VALUES (?, ?)');
    this.tomb = db.prepare('UPDATE orders SET deleted_at = ?, updated_at = ? WHERE connection_id = ? AND order_id = ? AND deleted_at IS NULL RETURNING order_date');
    this.stale = ['order_rollup_stale', 'order_category_rollup_stale'].map((t) => db.prepare(`INSERT OR IGNORE INTO ${t} (connection_id, month) VALUES (?, ?)`));
    // Adds, or leaves the row alone (0 changes) when the sum could leave 64 bits: the caller then
    // marks the month stale and the rebuild decides (rollups.ts keeps an unrollable month stale).
    this.catAdd = db.prepare(
      `INSERT INTO order_category_rollup (grain, period, connection_id, retailer, currency, status, category, orders, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (grain, period, connection_id, retailer, currency, status, category) DO UPDATE SET orders = orders + excluded.orders, total = total + excluded.total
       WHERE total BETWEEN -${HALF_INT64} AND ${HALF_INT64} AND excluded.total BETWEEN -${HALF_INT64} AND ${HALF_INT64}`,
    );
    this.cursor = db.prepare('UPDATE connections SET sync_cursor = ? WHERE id = ?');
    this.run = db.prepare(
      `UPDATE sync_runs SET pages = pages + 1, fetched = fetched + ?, added = added + ?, updated = updated + ?, unchanged = unchanged + ?,
         deleted = deleted + ?, errors = errors + ? WHERE id = ?`,
    );
    this.tx = db.transaction((w: PageWrite) => this.writePage(w));
  }

  /** Commit a page atomically. */
  commitPage(w: PageWrite): PageCounts {
    return this.tx.immediate(w);
  }

  /**
   * Commit several pages as ONE transaction (checkpoint 'stream': an update becomes visible
   * whole, with its final cursor, or not at all).
   */
  commitPages(ws: readonly PageWrite[]): PageCounts[] {
    return this.db.transaction((all: readonly PageWrite[]) => all.map((w) => this.writePage(w))).immediate(ws);
  }

  /** Count what a page would do, without writing (sync --dry-run). */
  preview(connectionId: number, orders: readonly NormalizedOrder[], tombstones: readonly Tombstone[]): PageCounts {
    const c: PageCounts = { added: 0, updated: 0, unchanged: 0, deleted: 0 };
    for (const o of orders) {
      const row = this.find.get(connectionId, o.orderId);
      if (!row) c.added++;
      else if (row.content_hash === orderHash(o) && row.deleted_at === null) c.unchanged++;
      else c.updated++;
    }
    for (const t of tombstones) {
      const row = this.find.get(connectionId, t.orderId);
      if (row && row.deleted_at === null) c.deleted++;
    }
    return c;
  }

  private writePage(w: PageWrite): PageCounts {
    const c: PageCounts = { added: 0, updated: 0, unchanged: 0, deleted: 0 };
    // Months whose rollups this page changes (old and new month of a moved order), marked once each.
    const months = new Set<string>();
    // Category totals of the orders this page adds, kept up to date here instead of marking their
    // months stale: rebuilding the category rollups of a big first sync took the first
    // `stats --by category` seconds (docs/performance.md). Changed and deleted orders still
    // mark their months stale, as do additions this cannot add exactly (see addCategoryTotals).
    const catMonths = new Set<string>();
    const added = new Map<string, CategoryDelta>();
    for (const o of w.orders) {
      const hash = orderHash(o);
      const row = this.find.get(w.connectionId, o.orderId);
      const params = {
        connectionId: w.connectionId,
        orderId: o.orderId,
        retailer: o.retailer,
        orderDate: o.orderDate,
        status: o.status,
        currency: o.currency,
        subtotal: o.subtotal,
        tax: o.tax,
        shipping: o.shipping,
        discount: o.discount,
        total: o.total,
        refunded: o.refunded,
        itemCount: o.items.reduce((n, i) => n + i.quantity, 0),
        providerUpdatedAt: o.providerUpdatedAt,
        hash,
        now: w.now,
      };
      let id: number;
      if (!row) {
        id = Number(this.insert.run(params).lastInsertRowid);
        c.added++;
        if (!addCategoryTotals(o, added)) catMonths.add(o.orderDate.slice(0, 7));
      } else if (row.content_hash === hash && row.deleted_at === null) {
        c.unchanged++;
        continue;
      } else {
        id = row.id;
        months.add(row.order_date.slice(0, 7));
        catMonths.add(row.order_date.slice(0, 7));
        catMonths.add(o.orderDate.slice(0, 7));
        this.update.run({ ...params, id });
        this.delItems.run(id);
        this.ftsDel.run(id);
        c.updated++;
      }
      months.add(o.orderDate.slice(0, 7));
      for (const i of o.items) this.insItem.run(id, i.lineNo, i.name, i.sku, i.unitPrice, i.quantity, i.category);
      this.ftsIns.run(id, o.items.map((i) => i.name).join('\n'));
    }
    for (const t of w.tombstones) {
      for (const r of this.tomb.all(t.deletedAt ?? w.now, w.now, w.connectionId, t.orderId) as Array<{ order_date: string }>) {
        c.deleted++;
        months.add(r.order_date.slice(0, 7));
        catMonths.add(r.order_date.slice(0, 7));
      }
    }
    // The additions, day and month rows alike, except in months marked stale anyway.
    for (const d of added.values()) {
      const month = d.period.slice(0, 7);
      if (catMonths.has(month)) continue;
      if (this.catAdd.run(d.grain, d.period, w.connectionId, d.retailer, d.currency, d.status, d.category, d.orders, d.total).changes === 0) catMonths.add(month);
    }
    const [orderStale, categoryStale] = this.stale as [Statement, Statement];
    for (const m of months) orderStale.run(w.connectionId, m);
    for (const m of catMonths) categoryStale.run(w.connectionId, m);
    if (w.cursor !== null) this.cursor.run(w.cursor, w.connectionId);
    if (w.runRowId !== null) this.run.run(w.fetched, c.added, c.updated, c.unchanged, c.deleted, w.errors, w.runRowId);
    return c;
  }
}
