/**
 * Bulk-load mode for the first sync into an empty store: the secondary indexes of `orders` and
 * `order_items` (date, retailer, amount, category: everything the page writer does not look up
 * by) are dropped before the first page and built once, by one sort each, when the sync ends.
 * Keeping five b-trees in step one random insert at a time is a large share of a first sync's
 * write time; building them at the end is cheaper than any of those inserts.
 *
 * Crash safety. The indexes' own `CREATE INDEX` text is read from sqlite_schema and saved in the
 * `meta` table IN THE SAME TRANSACTION that drops them, so the database is never without either
 * its indexes or the statements that rebuild them, whatever kills the process. `finishBulkLoad`
 * rebuilds them in one transaction that also clears the record. It runs when the sync ends (also
 * on an error or Ctrl-C), at the start of the next sync, and when any command opens the store
 * while no sync holds the lock (context.ts): a `kill -9` mid-sync costs one rebuild on the next
 * run, never an index. Meanwhile every query stays correct, only unindexed; the writer itself
 * needs none of these indexes (its lookups use the primary and unique keys, which stay).
 */
import type { DB } from './db.js';

/** The meta key holding the dropped indexes' names and SQL while a bulk load is under way. */
export const BULK_LOAD_KEY = 'bulk_load_indexes';

/** Tables whose secondary indexes a bulk load defers. */
const TABLES = ['orders', 'order_items'] as const;

interface SavedIndex {
  name: string;
  sql: string;
}

/** True when a bulk load's indexes are still to be rebuilt (a sync under way, or one that crashed). */
export function bulkLoadPending(db: DB): boolean {
  return db.prepare('SELECT 1 FROM meta WHERE key = ?').get(BULK_LOAD_KEY) !== undefined;
}

/**
 * Enter bulk-load mode if the store holds no orders at all (a first sync: rebuilding the indexes
 * costs a sort of what this sync adds, never of data that was already there). Returns whether it
 * did. Call under the sync lock.
 */
export function beginBulkLoad(db: DB): boolean {
  return db
    .transaction(() => {
      if (db.prepare('SELECT 1 FROM orders LIMIT 1').get() !== undefined) return false;
      if (bulkLoadPending(db)) return false;
      const indexes = db
        .prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${TABLES.map(() => '?').join(',')}) ORDER BY name`)
        .all(...TABLES) as SavedIndex[];
      if (!indexes.length) return false;
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(BULK_LOAD_KEY, JSON.stringify(indexes));
      for (const ix of indexes) db.exec(`DROP INDEX ${quoteId(ix.name)}`);
      return true;
    })
    .immediate();
}

/**
 * Rebuild the indexes a bulk load dropped and clear its record, in one transaction. A no-op when
 * none is pending; idempotent (an index that already exists is kept). Returns how many it built.
 */
export function finishBulkLoad(db: DB): number {
  return db
    .transaction(() => {
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(BULK_LOAD_KEY) as { value: string } | undefined;
      if (!row) return 0;
      let built = 0;
      for (const ix of parseSaved(row.value)) {
        db.exec(ifNotExists(ix.sql));
        built++;
      }
      db.prepare('DELETE FROM meta WHERE key = ?').run(BULK_LOAD_KEY);
      return built;
    })
    .immediate();
}

function parseSaved(value: string): SavedIndex[] {
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x?.name === 'string' && typeof x?.sql === 'string')) {
    throw new Error(`meta ${BULK_LOAD_KEY} does not hold a list of indexes`);
  }
  return parsed as SavedIndex[];
}

/** `CREATE [UNIQUE] INDEX name …` as sqlite_schema holds it, made idempotent. */
function ifNotExists(sql: string): string {
  const m = /^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?!IF\s+NOT\s+EXISTS\b)/i.exec(sql);
  if (!m) return sql;
  return `CREATE ${m[1] ?? ''}INDEX IF NOT EXISTS ${sql.slice(m[0].length)}`;
}

const quoteId = (name: string): string => `"${name.replace(/"/g, '""')}"`;
