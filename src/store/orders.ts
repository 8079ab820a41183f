/**
 * The write side of orders: one page of normalized orders, its deletions, the cursor after it and
 * the run's running totals, committed in ONE transaction (SECURITY.md rule 20). Upserts are keyed
 * on (connection, provider order id) and compare a content hash, so a rerun of a page is a no-op
 * and a provider update (refund, status, total) is applied in place (rule 21).
 */
import { nodeCrypto } from '../lazy-crypto.js';
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

type OneShot = (alg: string, data: string, enc: 'base64') => string;
// crypto.hash (Node ≥ 20.12) hashes in one call without a Hash object per order; same digest.
// Looked up on the first hash (lazy-crypto.ts): reading orders never loads node:crypto.
let oneShot: OneShot | null | undefined;

/** A change detector for upserts (not a security boundary): sha1 of the fields we store. */
export function orderHash(o: NormalizedOrder): string {
  const text = JSON.stringify([o.retailer, o.orderDate, o.status, o.currency, o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded, o.items.map((i) => [i.lineNo, i.name, i.sku, i.unitPrice, i.quantity, i.category])]);
  const crypto = nodeCrypto();
  oneShot ??= (crypto as { hash?: OneShot }).hash ?? null;
  return oneShot ? oneShot('sha1', text, 'base64') : crypto.createHash('sha1').update(text).digest('base64');
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
  private readonly tx: Transaction<(w: PageWrite) => PageCounts>;
  /**
   * Insert first, look up only on a conflict: set while a first sync fills an empty store
   * (bulk-load mode, store/bulk-load.ts), where nearly every order is new and the lookup before
   * each insert would find nothing. Same results either way; only the cost moves.
   */
  insertFirst = false;

  constructor(private readonly db: DB) {
    this.find = db.prepare('SELECT id, content_hash, deleted_at, order_date FROM orders WHERE connection_id = ? AND order_id = ?');
    // Positional parameters: better-sqlite3 binds an array faster than it looks up named keys.
    this.insert = db.prepare(
      `INSERT INTO orders (connection_id, order_id, retailer, order_date, status, currency, subtotal, tax, shipping, discount, total, refunded, item_count, provider_updated_at, content_hash, first_seen_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id, order_id) DO NOTHING`,
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
    for (const o of w.orders) {
      const hash = orderHash(o);
      let row = this.insertFirst ? undefined : this.find.get(w.connectionId, o.orderId);
      const itemCount = o.items.reduce((n, i) => n + i.quantity, 0);
      let id = 0;
      let inserted = 0;
      if (!row) {
        const r = this.insert.run(
          w.connectionId, o.orderId, o.retailer, o.orderDate, o.status, o.currency, o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded,
          itemCount, o.providerUpdatedAt, hash, w.now, w.now,
        );
        inserted = r.changes;
        id = Number(r.lastInsertRowid);
        // A conflict (insert-first mode only: an order seen earlier in this sync) takes the lookup path.
        if (!inserted) row = this.find.get(w.connectionId, o.orderId);
      }
      if (inserted) {
        c.added++;
      } else if (row!.content_hash === hash && row!.deleted_at === null) {
        c.unchanged++;
        continue;
      } else {
        id = row!.id;
        months.add(row!.order_date.slice(0, 7));
        this.update.run({
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
          itemCount,
          providerUpdatedAt: o.providerUpdatedAt,
          hash,
          now: w.now,
          id,
        });
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
      }
    }
    for (const m of months) for (const st of this.stale) st.run(w.connectionId, m);
    if (w.cursor !== null) this.cursor.run(w.cursor, w.connectionId);
    if (w.runRowId !== null) this.run.run(w.fetched, c.added, c.updated, c.unchanged, c.deleted, w.errors, w.runRowId);
    return c;
  }
}
