/**
 * `orderlink export --format sqlite -o FILE`: a standalone SQLite file of the person's purchase
 * data, in the schema of docs/schema.md, for sqlite3, Datasette and sqlite-utils.
 *
 * 1. SQLite's online backup API (better-sqlite3 `db.backup`) copies the live database into `path`
 *    — consistent even while a sync writes.
 * 2. In the COPY only: orders that do not match the filters are deleted (with their items); the
 *    full-text index is rebuilt from the kept items (a contentless FTS5 index would otherwise keep
 *    the words of deleted orders in its segments); connections lose their vault reference
 *    (`token_ref`) and sync cursor; connections outside --connection go; charges are kept for the
 *    selected connections and --since/--until days, and dropped when an order-only filter
 *    (retailer, status, currency, category, amount, search) is given; the audit trail, sync runs
 *    and `meta` (vault generation, retention, audit head) are emptied — operational records, not
 *    purchases (`orderlink backup` keeps everything); the rollups are rebuilt for what is left.
 * 3. VACUUM, so no deleted row survives in a free page, then a quick_check.
 */
import Database from 'better-sqlite3';
import type { DB } from './db.js';
import { OrderQueries, type OrderFilter } from './queries.js';

export interface SqliteExportResult {
  orders: number;
  items: number;
  charges: number;
  connections: number;
}

const ORDER_ONLY: ReadonlyArray<keyof OrderFilter> = ['retailer', 'status', 'currency', 'category', 'min', 'max', 'search'];

export async function exportSqlite(source: DB, path: string, filter: OrderFilter, meta: Record<string, string>): Promise<SqliteExportResult> {
  await source.backup(path);
  const copy = new Database(path);
  try {
    copy.pragma('journal_mode = DELETE');
    copy.pragma('foreign_keys = ON');
    // The same query `orders` runs, on the copy: what is kept is exactly what `orders` would list.
    const keep: number[] = [];
    for (const o of new OrderQueries(copy).iterate(filter, 'date')) keep.push(o.id);
    copy
      .transaction(() => {
        copy.exec('CREATE TEMP TABLE keep (id INTEGER PRIMARY KEY)');
        const ins = copy.prepare('INSERT INTO temp.keep (id) VALUES (?)');
        for (const id of keep) ins.run(id);
        copy.exec('DELETE FROM orders WHERE id NOT IN (SELECT id FROM temp.keep)');
        // Rebuilt rather than deleted from: nothing of a removed order's item names remains.
        copy.exec("INSERT INTO orders_fts (orders_fts) VALUES ('delete-all')");
        copy.exec(`INSERT INTO orders_fts (rowid, items)
          SELECT o.id, coalesce((SELECT group_concat(name, char(10)) FROM (SELECT name FROM order_items WHERE order_ref = o.id ORDER BY line_no)), '') FROM orders o`);
        copy.exec('DROP TABLE temp.keep');

        if (filter.connectionIds?.length) {
          copy.prepare(`DELETE FROM connections WHERE id NOT IN (${filter.connectionIds.map(() => '?').join(',')})`).run(...filter.connectionIds);
        }
        if (ORDER_ONLY.some((k) => filter[k] !== undefined)) copy.exec('DELETE FROM charges');
        else {
          if (!filter.includeDeleted) copy.exec('DELETE FROM charges WHERE deleted_at IS NOT NULL');
          if (filter.since) copy.prepare('DELETE FROM charges WHERE date < ?').run(filter.since.slice(0, 10));
          if (filter.until) copy.prepare('DELETE FROM charges WHERE date >= ?').run(untilDay(filter.until));
        }
        copy.exec('UPDATE connections SET token_ref = NULL, sync_cursor = NULL');
        copy.exec('DELETE FROM audit_log; DELETE FROM sync_runs; DELETE FROM meta;');
        const put = copy.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        for (const [k, v] of Object.entries(meta)) put.run(k, v);
      })
      .immediate();
    const q = new OrderQueries(copy);
    q.refreshRollups('orders');
    q.refreshRollups('categories');
    copy.exec('VACUUM');
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`quick_check: ${String(check).slice(0, 80)}`);
    const n = (sql: string) => (copy.prepare(sql).get() as { n: number }).n;
    return {
      orders: n('SELECT count(*) AS n FROM orders'),
      items: n('SELECT count(*) AS n FROM order_items'),
      charges: n('SELECT count(*) AS n FROM charges'),
      connections: n('SELECT count(*) AS n FROM connections'),
    };
  } finally {
    copy.close();
  }
}

/** The first charge day NOT included by an exclusive --until instant: its day, or the next one when the instant falls inside a day. */
function untilDay(until: string): string {
  const day = until.slice(0, 10);
  return until.slice(10) === 'T00:00:00.000Z' ? day : new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
