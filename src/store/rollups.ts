/**
 * Rollups: totals per (connection, month) and per day, per retailer, currency and status (and per
 * category), so `orders stats` and the footer under a listing read thousands of rows instead of
 * every order. The page writer marks the months it touches stale (src/store/orders.ts; a trigger
 * does it for deletes); the first read that needs a stale month rebuilds it (`refresh`), and a
 * read whose filter the rollups cannot answer goes to the orders instead (see `rollupable`).
 * Ranges are exact: whole months and days come from here, the partial days at the two ends of a
 * --since/--until range from the orders (`rollupRanges`).
 */
import type { DB } from './db.js';
import type { OrderFilter, StatRow } from './queries.js';

export type RollupKind = 'orders' | 'categories';

/** Placeholders for a list of bound parameters: `?,?,?`. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(',');

/** Filters the rollup tables can answer: nothing that needs an order's items, amount or text. */
export function rollupable(f: OrderFilter, allowCategory: boolean): boolean {
  return !f.includeDeleted && f.min === undefined && f.max === undefined && f.search === undefined && (allowCategory || f.category === undefined);
}

/**
 * Rebuilding one (connection, month) slice of a rollup. Parameters: connection id, month, the
 * month's upper prefix bound, month again. `+connection_id` keeps SQLite on the date index (the
 * (connection_id, order_id) index would walk every order of the connection).
 */
const SLICES = {
  orders: {
    stale: 'order_rollup_stale',
    clear: `DELETE FROM order_rollup WHERE connection_id = ? AND ((grain = 'm' AND period = ?) OR (grain = 'd' AND period >= ? AND period < ? AND substr(period, 1, 7) = ?))`,
    rebuild: [
      `INSERT INTO order_rollup
        SELECT 'd', substr(order_date, 1, 10), connection_id, retailer, currency, status, count(*), sum(total), sum(refunded)
        FROM orders WHERE +connection_id = ? AND order_date >= ? AND order_date < ? AND substr(order_date, 1, 7) = ? AND deleted_at IS NULL
        GROUP BY 2, 3, 4, 5, 6`,
      // The month from its days: a few hundred rows instead of the month's orders again.
      `INSERT INTO order_rollup
        SELECT 'm', substr(period, 1, 7), connection_id, retailer, currency, status, sum(orders), sum(total), sum(refunded)
        FROM order_rollup WHERE grain = 'd' AND connection_id = ? AND period >= ? AND period < ? AND substr(period, 1, 7) = ?
        GROUP BY 2, 3, 4, 5, 6`,
    ],
  },
  categories: {
    stale: 'order_category_rollup_stale',
    clear: `DELETE FROM order_category_rollup WHERE connection_id = ? AND ((grain = 'm' AND period = ?) OR (grain = 'd' AND period >= ? AND period < ? AND substr(period, 1, 7) = ?))`,
    rebuild: [
      `INSERT INTO order_category_rollup
        SELECT 'd', substr(o.order_date, 1, 10), o.connection_id, o.retailer, o.currency, o.status, coalesce(i.category, ''),
          count(DISTINCT o.id), sum(i.unit_price * i.quantity)
        FROM orders o JOIN order_items i ON i.order_ref = o.id
        WHERE +o.connection_id = ? AND o.order_date >= ? AND o.order_date < ? AND substr(o.order_date, 1, 7) = ? AND o.deleted_at IS NULL
        GROUP BY 2, 3, 4, 5, 6, 7`,
      // An order lies in one day, so a month's distinct orders per category are the sum of its days'.
      `INSERT INTO order_category_rollup
        SELECT 'm', substr(period, 1, 7), connection_id, retailer, currency, status, category, sum(orders), sum(total)
        FROM order_category_rollup WHERE grain = 'd' AND connection_id = ? AND period >= ? AND period < ? AND substr(period, 1, 7) = ?
        GROUP BY 2, 3, 4, 5, 6, 7`,
    ],
  },
} as const;

export class Rollups {
  constructor(private readonly db: DB) {}

  /** How many (connection, month) slices the next read of these rollups will rebuild. */
  staleMonths(kind: RollupKind): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM ${SLICES[kind].stale}`).get() as { n: number }).n;
  }

  /**
   * Bring the rollups up to date: rebuild every (connection, month) slice that writes marked stale
   * since the last read (see migration 2), in one write transaction. Cheap when nothing changed
   * (one lookup); after a sync, proportional to the months it touched. Returns false when the
   * database cannot be written just now (read-only, or locked past the busy timeout): callers then
   * read the orders directly, slower but still right.
   */
  refresh(kind: RollupKind = 'orders'): boolean {
    const s = SLICES[kind];
    if (this.db.prepare(`SELECT 1 FROM ${s.stale} LIMIT 1`).get() === undefined) return true;
    try {
      this.db
        .transaction(() => {
          const stale = this.db.prepare(`SELECT connection_id AS connectionId, month FROM ${s.stale}`).all() as Array<{ connectionId: number; month: string }>;
          const clear = this.db.prepare(s.clear);
          const rebuild = s.rebuild.map((sql) => this.db.prepare(sql));
          const done = this.db.prepare(`DELETE FROM ${s.stale} WHERE connection_id = ? AND month = ?`);
          for (const { connectionId, month } of stale) {
            // Prefix bounds keep the scans on the date-ordered indexes; the substr() makes them exact.
            const hi = `${month}\uffff`;
            clear.run(connectionId, month, month, hi, month);
            for (const r of rebuild) r.run(connectionId, month, hi, month);
            done.run(connectionId, month);
          }
        })
        .immediate();
      return true;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_READONLY'))) return false;
      throw err;
    }
  }

  /**
   * Grouped totals from the rollups: whole months from 'm' rows, whole days from 'd' rows, and
   * the partial days at the ends of [since, until) from the orders themselves, so the answer is
   * exact for any instant while reading at most two days of orders.
   */
  query(by: 'month' | 'retailer' | 'category' | 'none', f: OrderFilter): StatRow[] {
    const ranges = rollupRanges(f.since, f.until);
    const cat = by === 'category';
    const parts: string[] = [];
    const args: unknown[] = [];

    const rollupFilter = this.filter(f, 'r', cat);
    const spans: Array<{ grain: 'm' | 'd'; from: string | null; to: string | null }> = [
      ...(ranges.monthsEmpty ? [] : [{ grain: 'm' as const, from: ranges.months[0], to: ranges.months[1] }]),
      ...ranges.days.map(([from, to]) => ({ grain: 'd' as const, from, to })),
    ];
    for (const { grain, from, to } of spans) {
      const w = [`r.grain = '${grain}'`];
      if (from !== null) {
        w.push('r.period >= ?');
        args.push(from);
      }
      if (to !== null) {
        w.push('r.period < ?');
        args.push(to);
      }
      const key = { month: grain === 'm' ? 'r.period' : 'substr(r.period, 1, 7)', retailer: 'r.retailer', category: 'r.category', none: "''" }[by];
      parts.push(
        `SELECT ${key} AS key, r.currency, r.orders, r.total, ${cat ? '0' : 'r.refunded'} AS refunded
         FROM ${cat ? 'order_category_rollup' : 'order_rollup'} r WHERE ${w.join(' AND ')}${rollupFilter.sql}`,
      );
      args.push(...rollupFilter.args);
    }

    const orderFilter = this.filter(f, 'o', cat);
    const key = { month: 'substr(o.order_date, 1, 7)', retailer: 'o.retailer', category: "coalesce(i.category, '')", none: "''" }[by];
    for (const [from, to] of ranges.exact) {
      parts.push(
        cat
          ? `SELECT ${key} AS key, o.currency, count(DISTINCT o.id) AS orders, sum(i.unit_price * i.quantity) AS total, 0 AS refunded
             FROM orders o JOIN order_items i ON i.order_ref = o.id
             WHERE o.deleted_at IS NULL AND o.order_date >= ? AND o.order_date < ?${orderFilter.sql} GROUP BY 1, 2`
          : `SELECT ${key} AS key, o.currency, count(*) AS orders, sum(o.total) AS total, sum(o.refunded) AS refunded
             FROM orders o WHERE o.deleted_at IS NULL AND o.order_date >= ? AND o.order_date < ?${orderFilter.sql} GROUP BY 1, 2`,
      );
      args.push(from, to, ...orderFilter.args);
    }
    if (parts.length === 0) return [];
    const order = by === 'month' ? '1 ASC, 2' : '4 DESC, 1';
    return this.db
      .prepare(
        `SELECT key, currency, sum(orders) AS orders, sum(total) AS total, sum(refunded) AS refunded
         FROM (${parts.join(' UNION ALL ')}) GROUP BY 1, 2 HAVING sum(orders) > 0 ORDER BY ${order}`,
      )
      .all(...args) as StatRow[];
  }

  /** The rollup-able filters as " AND ..." terms over a rollup table (r) or orders (o, items i). */
  private filter(f: OrderFilter, t: 'r' | 'o', category: boolean): { sql: string; args: unknown[] } {
    const w: string[] = [];
    const args: unknown[] = [];
    if (f.connectionIds?.length) {
      w.push(`${t}.connection_id IN (${marks(f.connectionIds.length)})`);
      args.push(...f.connectionIds);
    }
    if (f.retailer) {
      w.push(`${t}.retailer = ? COLLATE NOCASE`);
      args.push(f.retailer);
    }
    if (f.currency) {
      w.push(`${t}.currency = ?`);
      args.push(f.currency);
    }
    if (f.status?.length) {
      w.push(`${t}.status IN (${marks(f.status.length)})`);
      args.push(...f.status);
    }
    if (category && f.category) {
      w.push(`${t === 'r' ? 'r' : 'i'}.category = ? COLLATE NOCASE`);
      args.push(f.category);
    }
    return { sql: w.map((s) => ` AND ${s}`).join(''), args };
  }
}

export interface RollupRanges {
  /** [from, to) of whole months as 'YYYY-MM' (null = unbounded). */
  months: [string | null, string | null];
  /** No whole month lies inside the range. */
  monthsEmpty: boolean;
  /** [from, to) of whole days as 'YYYY-MM-DD', outside the whole months. */
  days: Array<[string, string]>;
  /** [from, to) instants (UTC ISO) of the partial days at the ends, read from the orders. */
  exact: Array<[string, string]>;
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);
const floorDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;
const ceilDay = (ms: number): number => Math.ceil(ms / DAY_MS) * DAY_MS;
const floorMonth = (ms: number): number => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const ceilMonth = (ms: number): number => {
  const f = floorMonth(ms);
  if (f === ms) return ms;
  const d = new Date(f);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};

/**
 * Split [since, until) into whole months, whole days and partial days (see rollupQuery). Pure,
 * so the arithmetic at month and year ends is unit-tested on its own.
 */
export function rollupRanges(since: string | undefined, until: string | undefined): RollupRanges {
  const s = since ? Date.parse(since) : -Infinity;
  const u = until ? Date.parse(until) : Infinity;
  const empty: RollupRanges = { months: [null, null], monthsEmpty: true, days: [], exact: [] };
  if (Number.isNaN(s) || Number.isNaN(u) || s >= u) return empty;
  const sDay = Number.isFinite(s) ? ceilDay(s) : -Infinity;
  const uDay = Number.isFinite(u) ? floorDay(u) : Infinity;
  if (sDay >= uDay) {
    // Within one day (or across one midnight with no whole day): read the orders.
    return { ...empty, exact: [[since!, until!]] };
  }
  const exact: Array<[string, string]> = [];
  if (Number.isFinite(s) && s < sDay) exact.push([since!, new Date(sDay).toISOString()]);
  if (Number.isFinite(u) && uDay < u) exact.push([new Date(uDay).toISOString(), until!]);
  const sMonth = Number.isFinite(sDay) ? ceilMonth(sDay) : -Infinity;
  const uMonth = Number.isFinite(uDay) ? floorMonth(uDay) : Infinity;
  if (sMonth >= uMonth) {
    return { months: [null, null], monthsEmpty: true, days: [[dayOf(sDay), dayOf(uDay)]], exact };
  }
  const days: Array<[string, string]> = [];
  if (sDay < sMonth) days.push([dayOf(sDay), dayOf(sMonth)]);
  if (uMonth < uDay) days.push([dayOf(uMonth), dayOf(uDay)]);
  return {
    months: [Number.isFinite(sMonth) ? monthOf(sMonth) : null, Number.isFinite(uMonth) ? monthOf(uMonth) : null],
    monthsEmpty: false,
    days,
    exact,
  };
}
