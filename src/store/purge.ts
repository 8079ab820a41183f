/**
 * Deleting what a person no longer wants kept: orders (with their items, by the foreign key's
 * cascade, and their full-text rows) and charges, by age, by connection, or all of them. The
 * rollup slices they touched are marked stale by the `orders_stale_delete` trigger (migration 2),
 * so totals stay right. Counts first (the dry run), then one transaction that deletes and writes
 * its audit row together, then VACUUM so the file really shrinks.
 *
 * The retention setting (`orderlink purge --set-retention 2y`) is a span kept in `meta`; sync
 * applies it after each run (src/sync/index.ts), under the sync lock.
 */
import { lstatSync } from 'node:fs';
import { usageError } from '../errors.js';
import type { DB } from './db.js';
import { marks } from './rollups.js';
import type { Store } from './index.js';

export interface PurgeSelection {
  /** Orders placed before this UTC ISO time; charges dated before its day. Absent: any age. */
  before?: string;
  /** Only these connections. Absent: every connection. */
  connectionIds?: number[];
}

export interface PurgeCount {
  connectionId: number;
  orders: number;
  items: number;
  charges: number;
}

export interface PurgeTotals {
  orders: number;
  items: number;
  charges: number;
}

/** The `meta` key of the retention span ("2y", "18mo", "90d"); absent means keep everything. */
export const RETENTION_KEY = 'retention';

const SPAN = /^(\d{1,4})\s*(d|w|mo|y)$/;

/**
 * An age for --older-than / --set-retention: 90d, 2w, 18mo, 2y. "m" alone is refused (months or
 * minutes? a purge must not guess), and so is zero.
 */
export function parseSpan(v: string, flag: string): string {
  const t = v.trim().toLowerCase();
  const m = SPAN.exec(t);
  if (!m || Number(m[1]) === 0) {
    const months = /^\d+\s*m$/.test(t) ? ' ("m" is ambiguous: write 6mo for months)' : '';
    throw usageError('BAD_AGE', `${flag} expects an age like 90d, 2w, 18mo or 2y${flag === '--older-than' ? ', or a date (2024-01-01)' : ''}, got "${v.slice(0, 20)}"${months}`);
  }
  return `${Number(m[1])}${m[2]}`;
}

/** The moment `span` before `now`, as UTC ISO text (months and years are calendar months back). */
export function spanCutoff(span: string, now: Date): string {
  const m = SPAN.exec(span)!;
  const n = Number(m[1]);
  if (m[2] === 'd' || m[2] === 'w') return new Date(now.getTime() - n * (m[2] === 'w' ? 7 : 1) * 86_400_000).toISOString();
  const d = new Date(now);
  d.setUTCMonth(d.getUTCMonth() - n * (m[2] === 'y' ? 12 : 1));
  return d.toISOString();
}

function where(sel: PurgeSelection, dateCol: string, cutoff: string | undefined): { sql: string; args: unknown[] } {
  const w: string[] = [];
  const args: unknown[] = [];
  if (cutoff !== undefined) {
    w.push(`${dateCol} < ?`);
    args.push(cutoff);
  }
  if (sel.connectionIds) {
    w.push(`connection_id IN (${marks(sel.connectionIds.length) || 'NULL'})`);
    args.push(...sel.connectionIds);
  }
  return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', args };
}

/** What a purge would delete, per connection (only connections with something to delete). */
export function purgePlan(db: DB, sel: PurgeSelection): PurgeCount[] {
  const o = where(sel, 'order_date', sel.before);
  const c = where(sel, 'date', sel.before?.slice(0, 10));
  const byConn = new Map<number, PurgeCount>();
  const get = (id: number) => byConn.get(id) ?? byConn.set(id, { connectionId: id, orders: 0, items: 0, charges: 0 }).get(id)!;
  const rows = db.prepare(`SELECT connection_id AS id, count(*) AS orders, coalesce(sum((SELECT count(*) FROM order_items i WHERE i.order_ref = orders.id)), 0) AS items FROM orders ${o.sql} GROUP BY connection_id`).all(...o.args) as Array<{ id: number; orders: number; items: number }>;
  for (const r of rows) Object.assign(get(r.id), { orders: r.orders, items: r.items });
  for (const r of db.prepare(`SELECT connection_id AS id, count(*) AS n FROM charges ${c.sql} GROUP BY connection_id`).all(...c.args) as Array<{ id: number; n: number }>) get(r.id).charges = r.n;
  return [...byConn.values()].sort((a, b) => a.connectionId - b.connectionId);
}

export function totals(counts: readonly PurgeCount[]): PurgeTotals {
  return counts.reduce((t, c) => ({ orders: t.orders + c.orders, items: t.items + c.items, charges: t.charges + c.charges }), { orders: 0, items: 0, charges: 0 });
}

/**
 * Delete what `sel` selects in ONE write transaction, and call `audit` inside it with the counts
 * (a purge and its audit row commit together or not at all). Returns the counts.
 */
export function purgeExecute(db: DB, sel: PurgeSelection, audit: (counts: PurgeCount[]) => void): PurgeCount[] {
  return db
    .transaction(() => {
      const counts = purgePlan(db, sel);
      if (counts.length === 0) return counts;
      const o = where(sel, 'order_date', sel.before);
      const c = where(sel, 'date', sel.before?.slice(0, 10));
      // The FTS table is contentless: its rows go by rowid, before the orders they index.
      db.prepare(`DELETE FROM orders_fts WHERE rowid IN (SELECT id FROM orders ${o.sql})`).run(...o.args);
      // order_items go with their order (ON DELETE CASCADE); the trigger marks rollups stale.
      db.prepare(`DELETE FROM orders ${o.sql}`).run(...o.args);
      db.prepare(`DELETE FROM charges ${c.sql}`).run(...c.args);
      audit(counts);
      return counts;
    })
    .immediate();
}

const fileSize = (p: string): number => {
  try {
    return lstatSync(p).size;
  } catch {
    return 0;
  }
};

/** The database's size on disk: the file and its write-ahead log. */
export function dbBytes(path: string): number {
  return fileSize(path) + fileSize(`${path}-wal`);
}

/**
 * VACUUM rewrites the file without the freed pages (so no deleted row lingers in a free page); in WAL mode the rewrite goes through the log,
 * so a TRUNCATE checkpoint afterwards is what shrinks the files on disk. Returns the sizes.
 */
export function vacuum(db: DB, path: string): { before: number; after: number } {
  const before = dbBytes(path);
  // The search index is contentless: a deleted order's words stay in its segments (only marked
  // deleted) until they are merged. 'optimize' merges them all, so the words really go.
  db.exec("INSERT INTO orders_fts (orders_fts) VALUES ('optimize')");
  db.exec('VACUUM');
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    /* a reader holds an old snapshot: SQLite checkpoints later */
  }
  return { before, after: dbBytes(path) };
}

/** Share of the file that is free pages (after deletes, before VACUUM). */
export function freeShare(db: DB): number {
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  return pages > 0 ? free / pages : 0;
}

export interface RetentionResult {
  span: string;
  before: string;
  counts: PurgeCount[];
  vacuumed: boolean;
}

/**
 * Apply the profile's retention setting, if any: delete orders older than the span, audited as
 * `purge` with reason "retention". VACUUM only when a fifth of the file or more is free, so a
 * daily sync that trims a few old orders does not rewrite a large file every time.
 */
export function applyRetention(store: Store, now: Date, audit: (detail: Record<string, unknown>) => void): RetentionResult | null {
  const span = store.getMeta(RETENTION_KEY);
  if (!span || !SPAN.test(span)) return null;
  const before = spanCutoff(span, now);
  const counts = purgeExecute(store.db, { before }, (cs) => audit({ reason: 'retention', older_than: span, before, selected: 'all', ...totals(cs), per_connection: cs.map((c) => ({ connection_id: c.connectionId, orders: c.orders, items: c.items, charges: c.charges })) }));
  let vacuumed = false;
  if (counts.length && freeShare(store.db) >= 0.2) {
    vacuum(store.db, store.path);
    vacuumed = true;
  }
  return { span, before, counts, vacuumed };
}
