/**
 * Rollups: order totals per (connection, month) and per day, per retailer, currency and status,
 * and item totals per category per month, so `orders stats` and the footer under a listing read
 * thousands of rows instead of every order. The page writer marks the months it touches stale
 * (src/store/orders.ts; a trigger does it for deletes); the first read that needs a stale month
 * rebuilds it (`refresh`), and a read whose filter the rollups cannot answer goes to the orders
 * instead (see `rollupable`). Ranges are exact: whole months and days come from here, and the
 * partial days at the two ends of a --since/--until range from the orders (`rollupRanges`); for
 * categories, which have no day rows, the partial months (`monthRanges`).
 */
import type { Statement } from 'better-sqlite3';
import { compareMinor, minorSum } from '../connectors/money.js';
import type { DB } from './db.js';
import type { OrderFilter, StatRow } from './queries.js';
import { anyOf, nocaseMatch } from './filter.js';
import { scanPays, scanSlices, type Slice } from './category-months.js';

export type RollupKind = 'orders' | 'categories';

/** Placeholders for a list of bound parameters: `?,?,?`. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(',');

/**
 * Overflow-safe sums. SQLite's sum() fails with "integer overflow" past 2^63 and a product that
 * overflows silently becomes a REAL, which a STRICT INTEGER column refuses: either used to brick
 * the rollup refresh at the end of every sync, and `orders stats` with it. Every sum read into JS
 * is therefore taken in two halves that cannot overflow — sum(x / 10^9) and sum(x % 10^9), each
 * bounded by 10^10 per row for any 64-bit x, so exact for up to ~9×10^8 rows — and joined exactly
 * as a bigint (`joinSum`). Amounts are bounded at the door (MAX_MINOR_UNITS in money.ts), so an
 * order total is always a safe JS number; sums beyond 2^53 stay exact as bigints (MinorSum).
 */
const SPLIT = 1_000_000_000n;
export const splitSum = (expr: string, as: string): string => `sum((${expr}) / ${SPLIT}) AS ${as}_hi, sum((${expr}) % ${SPLIT}) AS ${as}_lo`;
/** The halves of one value, for a row that is summed later (rollup rows in a UNION). */
export const splitValue = (expr: string, as: string): string => `(${expr}) / ${SPLIT} AS ${as}_hi, (${expr}) % ${SPLIT} AS ${as}_lo`;
export const joinSum = (hi: unknown, lo: unknown) => minorSum(BigInt((hi as bigint | null) ?? 0n) * SPLIT + BigInt((lo as bigint | null) ?? 0n));

/**
 * unit_price × quantity, or an "integer overflow" error when the product does not fit 64 bits
 * (abs() of the smallest integer is SQLite's documented overflow error), never a silent REAL.
 * Callers catch it (isOverflow) and sum those lines exactly in JS instead.
 */
export const LINE_AMOUNT = (i: string) =>
  `CASE WHEN abs(${i}.quantity) <= 1 OR abs(${i}.unit_price) <= 9223372036854775807 / abs(${i}.quantity) THEN ${i}.unit_price * ${i}.quantity ELSE abs(-9223372036854775807 - 1) END`;

/** An error from SQLite arithmetic that cannot be held in its 64-bit integers. */
export function isOverflow(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return (typeof e?.message === 'string' && /integer overflow/i.test(e.message)) || e?.code === 'SQLITE_CONSTRAINT_DATATYPE' || e?.code === 'SQLITE_TOOBIG';
}

/** Run a grouped statement whose amounts were taken with splitSum, into StatRows. */
export function statRows(stmt: Statement, args: unknown[]): StatRow[] {
  const rows = stmt.safeIntegers(true).all(...args) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    key: String(r.key),
    currency: String(r.currency),
    orders: Number(r.orders),
    total: joinSum(r.total_hi, r.total_lo),
    refunded: joinSum(r.refunded_hi, r.refunded_lo),
  }));
}

/** Largest total first, then by key: the order of retailer and category groups. */
export const byTotalDesc = (a: StatRow, b: StatRow): number => compareMinor(b.total, a.total) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Category totals when some line amount (unit price × quantity) does not fit 64 bits: every
 * line is read and multiplied exactly as a bigint. Slow, and only for data from before amounts
 * were bounded at the door (MAX_MINOR_UNITS): the answer is right rather than an error.
 * `from` is the FROM … WHERE … of the category query (orders o JOIN order_items i).
 */
export function categoryStatsExact(db: DB, from: string, args: unknown[]): StatRow[] {
  const lines = db.prepare(`SELECT coalesce(i.category, '') AS key, o.currency, o.id, i.unit_price AS u, i.quantity AS q ${from}`).safeIntegers(true).iterate(...args) as IterableIterator<{ key: string; currency: string; id: bigint; u: bigint; q: bigint }>;
  const groups = new Map<string, { row: StatRow; ids: Set<bigint>; sum: bigint }>();
  for (const l of lines) {
    const k = `${l.currency}\u0000${l.key}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { row: { key: l.key, currency: l.currency, orders: 0, total: 0, refunded: 0 }, ids: new Set(), sum: 0n }));
    g.ids.add(l.id);
    g.sum += l.u * l.q;
  }
  return [...groups.values()].map((g) => ({ ...g.row, orders: g.ids.size, total: minorSum(g.sum) })).sort(byTotalDesc);
}

/** Filters the rollup tables can answer: nothing that needs an order's items, amount or text. */
export function rollupable(f: OrderFilter, allowCategory: boolean): boolean {
  return !f.includeDeleted && f.min === undefined && f.max === undefined && f.search === undefined && (allowCategory || f.category === undefined);
}

/**
 * Rebuilding one (connection, month) slice of a rollup: `clear` deletes its rows, then each of
 * `rebuild` runs with the parameters connection id, month, the month's upper prefix bound, month
 * again (prefix bounds keep the scans on the date-ordered indexes; the substr() makes them exact).
 * `+connection_id` keeps SQLite on the date index (the (connection_id, order_id) index would walk
 * every order of the connection).
 */
const SLICES = {
  orders: {
    stale: 'order_rollup_stale',
    clear: {
      sql: `DELETE FROM order_rollup WHERE connection_id = ? AND ((grain = 'm' AND period = ?) OR (grain = 'd' AND period >= ? AND period < ? AND substr(period, 1, 7) = ?))`,
      args: (connectionId: number, month: string, hi: string) => [connectionId, month, month, hi, month],
    },
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
  // Months only (migration 6). Many stale months at once are rebuilt by one pass instead
  // (category-months.ts); this GROUP BY takes the few after an incremental sync.
  categories: {
    stale: 'order_category_rollup_stale',
    clear: {
      sql: 'DELETE FROM order_category_month WHERE connection_id = ? AND month = ?',
      args: (connectionId: number, month: string) => [connectionId, month],
    },
    rebuild: [
      `INSERT INTO order_category_month
        SELECT o.connection_id, substr(o.order_date, 1, 7), o.retailer, o.currency, o.status, coalesce(i.category, ''), count(DISTINCT o.id), sum(${LINE_AMOUNT('i')})
        FROM orders o JOIN order_items i ON i.order_ref = o.id
        WHERE +o.connection_id = ? AND o.order_date >= ? AND o.order_date < ? AND substr(o.order_date, 1, 7) = ? AND o.deleted_at IS NULL
        GROUP BY 2, 3, 4, 5, 6`,
    ],
  },
} as const;

/** How `refresh('categories')` rebuilds many stale months: chosen by size, or forced (tests). */
export type CategoryRebuild = 'auto' | 'scan' | 'slices';

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
  refresh(kind: RollupKind = 'orders', categories: CategoryRebuild = 'auto'): boolean {
    const s = SLICES[kind];
    if (this.db.prepare(`SELECT 1 FROM ${s.stale} LIMIT 1`).get() === undefined) return true;
    let unrollable = 0;
    try {
      this.db
        .transaction(() => {
          let stale = this.db.prepare(`SELECT connection_id AS connectionId, month FROM ${s.stale}`).all() as Slice[];
          // Many category months at once (a first sync): one pass over everything; what it cannot
          // hold exactly is left to the GROUP BY below.
          if (kind === 'categories' && categories !== 'slices' && (categories === 'scan' || scanPays(this.db, stale))) stale = scanSlices(this.db, stale);
          const clear = this.db.prepare(s.clear.sql);
          const rebuild = s.rebuild.map((sql) => this.db.prepare(sql));
          const done = this.db.prepare(`DELETE FROM ${s.stale} WHERE connection_id = ? AND month = ?`);
          // Each slice in its own savepoint: one that cannot be held exactly is undone alone.
          const slice = this.db.transaction((connectionId: number, month: string) => {
            const hi = `${month}\uffff`;
            clear.run(...s.clear.args(connectionId, month, hi));
            for (const r of rebuild) r.run(connectionId, month, hi, month);
            done.run(connectionId, month);
          });
          for (const { connectionId, month } of stale) {
            try {
              slice(connectionId, month);
            } catch (err) {
              // A (connection, month) whose totals exceed a 64-bit rollup row stays stale: reads
              // then go to the orders, whose sums are split (splitSum) and exact. Nothing fails.
              if (!isOverflow(err)) throw err;
              unrollable++;
            }
          }
        })
        .immediate();
      return unrollable === 0;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_READONLY'))) return false;
      throw err;
    }
  }

  /**
   * Grouped totals from the rollups: whole months from 'm' rows, whole days from 'd' rows, and
   * the partial days at the ends of [since, until) from the orders themselves, so the answer is
   * exact for any instant while reading at most two days of orders. Categories have month rows
   * only: the partial months at the ends are read from the orders and their items.
   */
  query(by: 'month' | 'retailer' | 'category' | 'none', f: OrderFilter): StatRow[] {
    const cat = by === 'category';
    const ranges = cat ? monthRanges(f.since, f.until) : rollupRanges(f.since, f.until);
    const parts: string[] = [];
    const args: unknown[] = [];

    const rollupFilter = this.filter(f, 'r', cat);
    const spans: Array<{ grain: 'm' | 'd'; from: string | null; to: string | null }> = [
      ...(ranges.monthsEmpty ? [] : [{ grain: 'm' as const, from: ranges.months[0], to: ranges.months[1] }]),
      ...ranges.days.map(([from, to]) => ({ grain: 'd' as const, from, to })),
    ];
    for (const { grain, from, to } of spans) {
      const period = cat ? 'r.month' : 'r.period';
      const w = [cat ? 'true' : `r.grain = '${grain}'`];
      if (from !== null) {
        w.push(`${period} >= ?`);
        args.push(from);
      }
      if (to !== null) {
        w.push(`${period} < ?`);
        args.push(to);
      }
      const key = { month: grain === 'm' ? 'r.period' : 'substr(r.period, 1, 7)', retailer: 'r.retailer', category: 'r.category', none: "''" }[by];
      parts.push(
        `SELECT ${key} AS key, r.currency, r.orders, ${splitValue('r.total', 'total')}, ${splitValue(cat ? '0' : 'r.refunded', 'refunded')}
         FROM ${cat ? 'order_category_month' : 'order_rollup'} r WHERE ${w.join(' AND ')}${rollupFilter.sql}`,
      );
      args.push(...rollupFilter.args);
    }

    const orderFilter = this.filter(f, 'o', cat);
    const key = { month: 'substr(o.order_date, 1, 7)', retailer: 'o.retailer', category: "coalesce(i.category, '')", none: "''" }[by];
    for (const [from, to] of ranges.exact) {
      parts.push(
        cat
          ? `SELECT ${key} AS key, o.currency, count(DISTINCT o.id) AS orders, ${splitSum(LINE_AMOUNT('i'), 'total')}, 0 AS refunded_hi, 0 AS refunded_lo
             FROM orders o JOIN order_items i ON i.order_ref = o.id
             WHERE o.deleted_at IS NULL AND o.order_date >= ? AND o.order_date < ?${orderFilter.sql} GROUP BY 1, 2`
          : `SELECT ${key} AS key, o.currency, count(*) AS orders, ${splitSum('o.total', 'total')}, ${splitSum('o.refunded', 'refunded')}
             FROM orders o WHERE o.deleted_at IS NULL AND o.order_date >= ? AND o.order_date < ?${orderFilter.sql} GROUP BY 1, 2`,
      );
      args.push(from, to, ...orderFilter.args);
    }
    if (parts.length === 0) return [];
    const rows = statRows(
      this.db.prepare(
        `SELECT key, currency, sum(orders) AS orders, sum(total_hi) AS total_hi, sum(total_lo) AS total_lo, sum(refunded_hi) AS refunded_hi, sum(refunded_lo) AS refunded_lo
         FROM (${parts.join(' UNION ALL ')}) GROUP BY 1, 2 HAVING sum(orders) > 0 ORDER BY 1, 2`,
      ),
      args,
    );
    // Months in time order; retailers and categories largest first (exact: compared as sums).
    return by === 'month' ? rows : rows.sort(byTotalDesc);
  }

  /** The rollup-able filters as " AND ..." terms over a rollup table (r) or orders (o, items i). */
  private filter(f: OrderFilter, t: 'r' | 'o', category: boolean): { sql: string; args: unknown[] } {
    const w: string[] = [];
    const args: unknown[] = [];
    if (f.connectionIds?.length) {
      w.push(`${t}.connection_id IN (${marks(f.connectionIds.length)})`);
      args.push(...f.connectionIds);
    }
    const retailers = anyOf(f.retailer);
    if (retailers.length) {
      w.push(nocaseMatch(`${t}.retailer`, retailers.length));
      args.push(...retailers);
    }
    if (f.currency) {
      w.push(`${t}.currency = ?`);
      args.push(f.currency);
    }
    if (f.status?.length) {
      w.push(`${t}.status IN (${marks(f.status.length)})`);
      args.push(...f.status);
    }
    const categories = category ? anyOf(f.category) : [];
    if (categories.length) {
      w.push(nocaseMatch(`${t === 'r' ? 'r' : 'i'}.category`, categories.length));
      args.push(...categories);
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

/**
 * Split [since, until) into whole months and the partial months at its ends, for the category
 * totals, which are kept per month only. Pure, like rollupRanges (whose shape it returns, with no
 * day spans): the partial ends are instants read from the orders.
 */
export function monthRanges(since: string | undefined, until: string | undefined): RollupRanges {
  const s = since ? Date.parse(since) : -Infinity;
  const u = until ? Date.parse(until) : Infinity;
  const empty: RollupRanges = { months: [null, null], monthsEmpty: true, days: [], exact: [] };
  if (Number.isNaN(s) || Number.isNaN(u) || s >= u) return empty;
  const sMonth = Number.isFinite(s) ? ceilMonth(s) : -Infinity;
  const uMonth = Number.isFinite(u) ? floorMonth(u) : Infinity;
  // No whole month inside (both ends are then finite): all of it from the orders.
  if (sMonth >= uMonth) return { ...empty, exact: [[since!, until!]] };
  const exact: Array<[string, string]> = [];
  if (s < sMonth) exact.push([since!, new Date(sMonth).toISOString()]);
  if (uMonth < u) exact.push([new Date(uMonth).toISOString(), until!]);
  return {
    months: [Number.isFinite(sMonth) ? monthOf(sMonth) : null, Number.isFinite(uMonth) ? monthOf(uMonth) : null],
    monthsEmpty: false,
    days: [],
    exact,
  };
}
