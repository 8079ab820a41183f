/**
 * Rebuilding the category totals per month (order_category_month, migration 6): one row per
 * (connection, month, retailer, currency, status, category) with the distinct orders and the sum
 * of item lines (unit price × quantity). Writes only mark (connection, month) slices stale; the
 * first `stats --by category` after them rebuilds those slices here, in one of two ways:
 *
 * - a few slices: one GROUP BY per slice over that month's orders and items (Rollups.refresh);
 * - many slices (after a first sync): one pass over all orders and all items in id order
 *   (`scanSlices`). At 1M orders the GROUP BY way spends ~4 s sorting 2M item lines by a
 *   six-column key; SQLite has no hash aggregation, and a temp b-tree upsert per line is ~2 s.
 *   Here SQLite only scans (orders by rowid, then items by order_ref: both sequential, no join)
 *   and hands each row to a function registered on the connection, which adds it to a few
 *   thousand groups in a Map: ~1 s at 1M. Rows cross as function arguments, not result rows,
 *   because better-sqlite3 builds no row object for them (~0.1 µs a row, against ~0.5 µs).
 *
 * Sums stay exact: a line or group total that is not a safe integer sends its slice to the
 * GROUP BY way, whose SQL sum() stops with an "integer overflow" error rather than round (the
 * caller then leaves that slice stale and reads the orders: see Rollups.refresh).
 */
import type { DB } from './db.js';

export interface Slice {
  connectionId: number;
  month: string;
}

const sliceKey = (connectionId: number, month: string): string => `${connectionId}\u0000${month}`;

/**
 * Whether one pass over every order is cheaper than a GROUP BY per stale slice. Per order in the
 * slices the GROUP BY costs about four times what the pass costs per order in the database, so
 * the pass wins once the stale slices hold a quarter of the orders (a first sync, an import).
 */
export function scanPays(db: DB, stale: readonly Slice[]): boolean {
  const months = [...new Set(stale.map((s) => s.month))];
  if (months.length > 12) return true;
  const span = db.prepare('SELECT max(id) - min(id) + 1 AS n FROM orders').get() as { n: number | null };
  if (!span.n) return false;
  const inMonth = db.prepare('SELECT count(*) AS n FROM orders WHERE order_date >= ? AND order_date < ?').pluck();
  const staleOrders = months.reduce((n, m) => n + (inMonth.get(m, `${m}\uffff`) as number), 0);
  return staleOrders * 4 > span.n;
}

/** The totals of one (order group, category) while the pass runs. */
interface Acc {
  orders: number;
  total: number;
  /** The last order counted here: an order's lines arrive together, so it counts once. */
  last: number;
}

interface Group {
  slice: string;
  connectionId: number;
  month: string;
  retailer: string;
  currency: string;
  status: string;
  categories: Map<string, Acc>;
}

/** Nested maps, one level per part of an order's key: no string is built per row. */
type Node = Map<string | number, Node | number>;
const child = (m: Node, k: string | number): Node => {
  let n = m.get(k) as Node | undefined;
  if (n === undefined) m.set(k, (n = new Map()));
  return n;
};

/** Order ids per chunk: the group of each order in the chunk is held in one Int32Array. */
const CHUNK = 1 << 18;
const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Rebuild the given slices by one pass over all orders and items (see the top of this file).
 * Returns the slices it could not hold exactly (a line or a total beyond 2^53): their rows are
 * left as they were, for the GROUP BY (Rollups.refresh). Runs inside the caller's write transaction.
 */
export function scanSlices(db: DB, stale: readonly Slice[]): Slice[] {
  const wanted = new Set(stale.map((s) => sliceKey(s.connectionId, s.month)));
  const groups: Group[] = [];
  const unsafe = new Set<string>();
  const tree: Node = new Map();
  // grp[id - base] = 1 + the index in `groups` of order id's group; 0 = not in a stale slice.
  const grp = new Int32Array(CHUNK);
  let base = 0;

  db.function('orderlink_category_order', { directOnly: true }, (id, connectionId, retailer, currency, status, orderDate) => {
    const month = (orderDate as string).slice(0, 7);
    const leaf = child(child(child(child(tree, connectionId as number), month), retailer as string), currency as string);
    let g = leaf.get(status as string) as number | undefined;
    if (g === undefined) {
      const slice = sliceKey(connectionId as number, month);
      g = wanted.has(slice) ? groups.push({ slice, connectionId: connectionId as number, month, retailer: retailer as string, currency: currency as string, status: status as string, categories: new Map() }) : 0;
      leaf.set(status as string, g);
    }
    grp[(id as number) - base] = g;
    return null;
  });
  db.function('orderlink_category_line', { directOnly: true }, (orderRef, category, amount) => {
    const g = grp[(orderRef as number) - base]!;
    if (g === 0) return null;
    const group = groups[g - 1]!;
    const key = (category as string | null) ?? '';
    let acc = group.categories.get(key);
    if (acc === undefined) group.categories.set(key, (acc = { orders: 0, total: 0, last: -1 }));
    if (acc.last !== orderRef) {
      acc.last = orderRef as number;
      acc.orders++;
    }
    // A product beyond 64 bits arrives as a REAL; beyond 2^53 as an inexact number: either way
    // not a safe integer, and the slice goes to the exact GROUP BY.
    acc.total += amount as number;
    if (!Number.isSafeInteger(amount) || acc.total > SAFE || acc.total < -SAFE) unsafe.add(group.slice);
    return null;
  });
  const orders = db.prepare(
    'SELECT count(orderlink_category_order(id, connection_id, retailer, currency, status, order_date)) FROM orders WHERE id >= ? AND id < ? AND deleted_at IS NULL',
  );
  // An order's lines must arrive together: NOT INDEXED keeps SQLite on the table's own b-tree,
  // which is in primary-key order (order_ref, line_no). (An ORDER BY subquery costs ~20% more.)
  const lines = db.prepare('SELECT count(orderlink_category_line(order_ref, category, unit_price * quantity)) FROM order_items NOT INDEXED WHERE order_ref >= ? AND order_ref < ?');
  // From chunk to chunk by the next id that exists, so sparse ids cost no empty chunks.
  const next = db.prepare('SELECT min(id) FROM orders WHERE id >= ?').pluck();
  const first = db.prepare('SELECT min(id) FROM orders').pluck().get() as number | null;
  for (let id = first; id !== null; id = next.get(base + CHUNK) as number | null) {
    base = id;
    grp.fill(0);
    orders.get(base, base + CHUNK);
    lines.get(base, base + CHUNK);
  }

  const clear = db.prepare('DELETE FROM order_category_month WHERE connection_id = ? AND month = ?');
  const insert = db.prepare('INSERT INTO order_category_month VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const done = db.prepare('DELETE FROM order_category_rollup_stale WHERE connection_id = ? AND month = ?');
  const left: Slice[] = [];
  for (const s of stale) {
    if (unsafe.has(sliceKey(s.connectionId, s.month))) left.push(s);
    else {
      clear.run(s.connectionId, s.month);
      done.run(s.connectionId, s.month);
    }
  }
  for (const g of groups) {
    if (unsafe.has(g.slice)) continue;
    for (const [category, a] of g.categories) insert.run(g.connectionId, g.month, g.retailer, g.currency, g.status, category, a.orders, a.total);
  }
  // The functions stay registered on the connection until the next pass: let go of the groups.
  groups.length = 0;
  tree.clear();
  return left;
}
