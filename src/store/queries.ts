/**
 * The read side of orders: filtered lists, one order with its items, and totals grouped by month,
 * retailer or category. Money stays in minor units with its currency; amounts are never summed
 * across currencies. Queries are built from fixed fragments and bound parameters only.
 *
 * Speed on a large history (1,000,000 orders) comes from three things, all from migration 2:
 * - a covering date index, so newest-first listings test most filters without reading rows;
 * - a bounded "how many match?" probe for the filters that can be rare (a connection, a retailer,
 *   an amount range, a category, a search): the rarest one under a budget drives the query
 *   through its own index, the others are tested while scanning in date order (the unary `+`
 *   below is SQLite's documented way to keep the planner off an index);
 * - rollups of totals per month and per day, so stats and footers read thousands of rows, not
 *   millions (src/store/rollups.ts).
 */
import type { DB } from './db.js';
import { amount4dp } from './migrations.js';
import { addMinor } from '../connectors/money.js';
import { anyOf, nocaseMatch } from './filter.js';
import { ORDER_COLUMNS, OrderRowStream, SELECT_ORDER } from './order-stream.js';
import { byTotalDesc, categoryStatsExact, isOverflow, LINE_AMOUNT, marks, Rollups, rollupable, splitSum, statRows, type RollupKind } from './rollups.js';

export { rollupRanges, type RollupRanges } from './rollups.js';
export { OrderRowStream, RAW } from './order-stream.js';
export type { CurrencyTotal, ItemRow, OrderFilter, OrderRow, OrderSummary, SortKey, StatRow } from './query-types.js';
import type { CurrencyTotal, ItemRow, OrderFilter, OrderRow, OrderSummary, SortKey, StatRow } from './query-types.js';


/** Written exactly as migration 2 indexed it, or SQLite will not use orders_by_amount. */
const AMOUNT = amount4dp('o.');

/** An amount a person typed, in major units, on the scale of AMOUNT (four decimals, integer). */
export function toAmount4dp(major: number): number {
  return Math.round(major * 10_000);
}

/**
 * Turn user text into a safe FTS5 query: every word quoted (so AND, OR, NOT, NEAR, `*`, `"`,
 * `(` and column filters are just text), the last one a prefix so "coff" finds "coffee". Returns
 * null when the text has no word at all.
 */
export function ftsQuery(text: string): string | null {
  // Letters, digits and combining marks, so words in scripts with marks (Devanagari, Thai) stay whole.
  const words = text.match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
  if (words.length === 0) return null;
  // Sixteen words is plenty for item names and keeps a pasted paragraph from becoming a huge query.
  return words
    .slice(0, 16)
    .map((w, i, all) => `"${w}"${i === all.length - 1 ? '*' : ''}`)
    .join(' ');
}

/** One filter that can be rare, in the form that drives the query and the form that only tests. */
interface Selective {
  probe: { sql: string; args: unknown[] } | null;
  drive: string;
  test: string;
  args: unknown[];
}

interface Plan {
  sql: string;
  args: unknown[];
}

const ORDER_BY: Record<SortKey, string> = {
  date: 'o.order_date ASC, o.id ASC',
  '-date': 'o.order_date DESC, o.id DESC',
  total: `${AMOUNT} ASC, o.id ASC`,
  '-total': `${AMOUNT} DESC, o.id DESC`,
  retailer: 'o.retailer COLLATE NOCASE ASC, o.order_date DESC, o.id DESC',
  '-retailer': 'o.retailer COLLATE NOCASE DESC, o.order_date ASC, o.id ASC',
};

/** How many matches a rare filter may have and still drive the query through its index. */
function budgetFor(limit: number | undefined): number {
  // A scan in date order reads about limit × (orders / matches) rows before it has `limit`; an
  // index lookup per match costs several times one scanned row. 20× the limit balances the two.
  if (limit === undefined) return 30_000;
  return Math.min(30_000, Math.max(1_000, limit * 20));
}

/** Currencies with the most orders first (amounts in different currencies do not compare). */
const byOrders = (t: CurrencyTotal[]): CurrencyTotal[] => t.sort((a, b) => b.orders - a.orders || a.currency.localeCompare(b.currency));


const ITEM_COLUMNS = 'line_no AS lineNo, name, sku, unit_price AS unitPrice, quantity, category';
const SELECT_ITEMS = `SELECT ${ITEM_COLUMNS} FROM order_items`;
/** Orders whose items one query of itemsByOrder reads. */
export const ITEM_BATCH = 500;

export class OrderQueries {
  private readonly rollups: Rollups;

  constructor(private readonly db: DB) {
    this.rollups = new Rollups(db);
  }

  /**
   * The WHERE clause for a filter. `budget` bounds the probe of each rare filter; `amountDrives`
   * keeps the amount index in play when the listing is sorted by amount (it then gives the order).
   */
  private where(f: OrderFilter, budget: number, amountDrives = false): Plan & { driven: boolean } {
    const w: string[] = [];
    const args: unknown[] = [];
    if (!f.includeDeleted) w.push('o.deleted_at IS NULL');
    if (f.since) {
      w.push('o.order_date >= ?');
      args.push(f.since);
    }
    if (f.until) {
      w.push('o.order_date < ?');
      args.push(f.until);
    }
    if (f.status?.length) {
      w.push(`o.status IN (${marks(f.status.length)})`);
      args.push(...f.status);
    }
    if (f.currency) {
      w.push('o.currency = ?');
      args.push(f.currency);
    }

    const rare: Selective[] = [];
    if (f.connectionIds?.length) {
      const ids = f.connectionIds;
      rare.push({
        probe: { sql: `SELECT 1 FROM orders WHERE connection_id IN (${marks(ids.length)})`, args: ids },
        drive: `o.connection_id IN (${marks(ids.length)})`,
        test: `+o.connection_id IN (${marks(ids.length)})`,
        args: ids,
      });
    }
    const retailers = anyOf(f.retailer);
    if (retailers.length) {
      rare.push({
        probe: { sql: `SELECT 1 FROM orders WHERE ${nocaseMatch('retailer', retailers.length)}`, args: retailers },
        drive: nocaseMatch('o.retailer', retailers.length),
        test: nocaseMatch('o.retailer', retailers.length, true),
        args: retailers,
      });
    }
    if (f.min !== undefined || f.max !== undefined) {
      const bounds: Array<[string, number]> = [];
      if (f.min !== undefined) bounds.push(['>=', toAmount4dp(f.min)]);
      if (f.max !== undefined) bounds.push(['<=', toAmount4dp(f.max)]);
      const drive = bounds.map(([op]) => `${AMOUNT} ${op} ?`).join(' AND ');
      rare.push({
        // Sorted by amount, the amount index gives the order and the range: no need to probe.
        probe: amountDrives ? null : { sql: `SELECT 1 FROM orders o WHERE ${drive}`, args: bounds.map(([, v]) => v) },
        drive,
        test: bounds.map(([op]) => `+(${AMOUNT}) ${op} ?`).join(' AND '),
        args: bounds.map(([, v]) => v),
      });
    }
    const categories = anyOf(f.category);
    if (categories.length) {
      const match = nocaseMatch('category', categories.length);
      rare.push({
        probe: { sql: `SELECT 1 FROM order_items WHERE ${match}`, args: categories },
        drive: `o.id IN (SELECT order_ref FROM order_items WHERE ${match})`,
        test: `EXISTS (SELECT 1 FROM order_items i WHERE i.order_ref = o.id AND ${nocaseMatch('i.category', categories.length)})`,
        args: categories,
      });
    }
    if (f.search !== undefined) {
      const q = ftsQuery(f.search);
      if (q === null) {
        // A search with no words matches nothing rather than everything.
        w.push('0');
      } else {
        rare.push({
          probe: { sql: 'SELECT 1 FROM orders_fts WHERE orders_fts MATCH ?', args: [q] },
          drive: 'o.id IN (SELECT rowid FROM orders_fts WHERE orders_fts MATCH ?)',
          test: '+o.id IN (SELECT rowid FROM orders_fts WHERE orders_fts MATCH ?)',
          args: [q],
        });
      }
    }

    // The rarest filter under the budget drives; with none, the scan order (date or amount) does.
    let driver: Selective | undefined;
    let fewest = budget;
    for (const r of rare) {
      if (r.probe === null) {
        driver = r;
        break;
      }
      const n = this.boundedCount(r.probe.sql, r.probe.args, budget);
      if (n < fewest) {
        fewest = n;
        driver = r;
      }
    }
    for (const r of rare) {
      w.push(r === driver ? r.drive : r.test);
      args.push(...r.args);
    }
    return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', args, driven: driver !== undefined && !amountDrives };
  }

  private boundedCount(sql: string, args: unknown[], cap: number): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM (${sql} LIMIT ?)`).get(...args, cap) as { n: number }).n;
  }

  /** The listing query after its column list: FROM, WHERE, ORDER BY and LIMIT. */
  private listFrom(f: OrderFilter, sort: SortKey, limit: number | undefined): Plan {
    const { sql, args, driven } = this.where(f, budgetFor(limit), sort === 'total' || sort === '-total');
    const lim = limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(limit))}`;
    // With a rare filter driving, its few matches are sorted: an ORDER BY the date index could
    // serve would tempt SQLite (which does not know how rare they are) into scanning it instead.
    const order = driven ? ORDER_BY[sort].replace(/o\.order_date/g, '+o.order_date') : ORDER_BY[sort];
    return { sql: `FROM orders o ${sql} ORDER BY ${order}${lim}`, args };
  }

  list(f: OrderFilter, sort: SortKey = '-date', limit?: number): OrderRow[] {
    const { sql, args } = this.listFrom(f, sort, limit);
    return this.db.prepare(`SELECT ${ORDER_COLUMNS} ${sql}`).all(...args) as OrderRow[];
  }

  /** Stream rows (for --ndjson / --csv of large result sets) without holding them all in memory. */
  iterate(f: OrderFilter, sort: SortKey = '-date', limit?: number): OrderRowStream {
    const { sql, args } = this.listFrom(f, sort, limit);
    return new OrderRowStream(this.db, sql, args);
  }

  count(f: OrderFilter): number {
    const { sql, args } = this.where(f, budgetFor(undefined));
    return (this.db.prepare(`SELECT count(*) AS n FROM orders o ${sql}`).get(...args) as { n: number }).n;
  }

  /**
   * The distinct currencies of the orders matching `f`, at most `max` of them (enough to tell
   * "one currency" from "several" without reading every order).
   */
  currencies(f: OrderFilter, max = 2): string[] {
    const { sql, args } = this.where(f, budgetFor(undefined));
    const rows = this.db.prepare(`SELECT DISTINCT o.currency FROM orders o ${sql} LIMIT ?`).all(...args, max) as Array<{ currency: string }>;
    return rows.map((r) => r.currency).sort();
  }

  /** Whether there is any (not deleted) order at all: tells "nothing synced yet" from "no match". */
  hasAny(): boolean {
    return this.db.prepare('SELECT 1 FROM orders WHERE deleted_at IS NULL LIMIT 1').get() !== undefined;
  }

  /**
   * Count and totals per currency of every order matching `f`, for the footer under a listing.
   * Exact and cheap from the rollups when the filter allows. Otherwise the matching orders are
   * read, but only up to `cap` of them and for about `budgetMs`, so a broad search over a huge
   * history answers "at least N" in time instead of holding the prompt.
   */
  summary(f: OrderFilter, opts: { cap?: number; budgetMs?: number } = {}): OrderSummary {
    const cap = opts.cap ?? 10_000;
    if (rollupable(f, false) && this.refreshRollups('orders')) {
      const totals: CurrencyTotal[] = this.rollups.query('none', f).map(({ key: _key, ...t }) => t);
      return { orders: totals.reduce((n, t) => n + t.orders, 0), exact: true, totals: byOrders(totals) };
    }
    const { sql, args } = this.where(f, cap);
    const rows = this.db.prepare(`SELECT o.currency, o.total, o.refunded FROM orders o ${sql}`).iterate(...args) as IterableIterator<{ currency: string; total: number; refunded: number }>;
    const deadline = performance.now() + (opts.budgetMs ?? 20);
    const map = new Map<string, CurrencyTotal>();
    let n = 0;
    for (const r of rows) {
      if (n === cap || (n % 64 === 63 && performance.now() > deadline)) {
        // Leaving the loop resets the statement; partial totals would mislead, so none are given.
        return { orders: n, exact: false, totals: [] };
      }
      n++;
      let t = map.get(r.currency);
      if (!t) map.set(r.currency, (t = { currency: r.currency, orders: 0, total: 0, refunded: 0 }));
      t.orders++;
      t.total = addMinor(t.total, r.total);
      t.refunded = addMinor(t.refunded, r.refunded);
    }
    return { orders: n, exact: true, totals: byOrders([...map.values()]) };
  }

  /** Every live order with this provider order id, across connections (ids are unique per connection only). */
  findByOrderId(orderId: string, connectionId?: number): OrderRow[] {
    if (connectionId === undefined) {
      return this.db.prepare(`${SELECT_ORDER} WHERE o.order_id = ? ORDER BY o.deleted_at IS NOT NULL, o.id`).all(orderId) as OrderRow[];
    }
    return this.db.prepare(`${SELECT_ORDER} WHERE o.connection_id = ? AND o.order_id = ?`).all(connectionId, orderId) as OrderRow[];
  }

  byRowId(id: number): OrderRow | undefined {
    return this.db.prepare(`${SELECT_ORDER} WHERE o.id = ?`).get(id) as OrderRow | undefined;
  }

  /** By provider order id (the newest match wins), else by row id. */
  find(ref: string): OrderRow | undefined {
    const byProvider = this.db.prepare(`${SELECT_ORDER} WHERE o.order_id = ? ORDER BY o.id DESC LIMIT 1`).get(ref) as OrderRow | undefined;
    if (byProvider || !/^\d+$/.test(ref)) return byProvider;
    return this.byRowId(Number(ref));
  }

  items(orderRowId: number): ItemRow[] {
    return this.db.prepare(`${SELECT_ITEMS} WHERE order_ref = ? ORDER BY line_no`).all(orderRowId) as ItemRow[];
  }

  /**
   * The items of many orders at once, keyed by the order's row id as text (exact past 2^53), for
   * an export: one query per ITEM_BATCH orders (a statement prepared once) instead of one per
   * order, ~3× less time at 200k orders (docs/performance.md).
   */
  itemsByOrder(): (orderRowIds: readonly (number | bigint)[]) => Map<string, ItemRow[]> {
    const query = (n: number) => this.db.prepare(`SELECT CAST(order_ref AS TEXT) AS ref, ${ITEM_COLUMNS} FROM order_items WHERE order_ref IN (${Array(n).fill('?').join(', ')}) ORDER BY order_ref, line_no`);
    const full = query(ITEM_BATCH);
    return (ids) => {
      const byOrder = new Map<string, ItemRow[]>();
      for (let i = 0; i < ids.length; i += ITEM_BATCH) {
        const chunk = ids.slice(i, i + ITEM_BATCH);
        for (const { ref, ...item } of (chunk.length === ITEM_BATCH ? full : query(chunk.length)).all(...chunk) as Array<ItemRow & { ref: string }>) {
          const list = byOrder.get(ref);
          if (list) list.push(item);
          else byOrder.set(ref, [item]);
        }
      }
      return byOrder;
    };
  }

  /**
   * Totals per group and currency. For month and retailer the figure is the order total (refunds
   * reported beside it in `refunded`); for category it is the sum of item lines (unit price ×
   * quantity), because an order can span categories (it counts once in each).
   */
  stats(by: 'month' | 'retailer' | 'category', f: OrderFilter): StatRow[] {
    if (rollupable(f, by === 'category') && this.refreshRollups(by === 'category' ? 'categories' : 'orders')) {
      try {
        return this.rollups.query(by, f);
      } catch (err) {
        // A line amount beyond 64 bits in a partial day: the orders path below sums it exactly.
        if (!isOverflow(err)) throw err;
      }
    }
    // Filters the rollups cannot answer (amounts, search, a category for month/retailer): read
    // the orders. Correct but proportional to the matching orders. Sums are split (splitSum).
    const { sql, args } = this.where(f, budgetFor(undefined));
    if (by === 'category') {
      const cats = anyOf(f.category);
      const catArgs = [...args, ...cats];
      const from = `FROM orders o JOIN order_items i ON i.order_ref = o.id ${sql}${cats.length ? ` AND ${nocaseMatch('i.category', cats.length)}` : ''}`;
      try {
        return statRows(
          this.db.prepare(
            `SELECT coalesce(i.category, '') AS key, o.currency, count(DISTINCT o.id) AS orders, ${splitSum(LINE_AMOUNT('i'), 'total')}, 0 AS refunded_hi, 0 AS refunded_lo
             ${from} GROUP BY 1, 2`,
          ),
          catArgs,
        ).sort(byTotalDesc);
      } catch (err) {
        if (!isOverflow(err)) throw err;
        return categoryStatsExact(this.db, from, catArgs);
      }
    }
    const key = by === 'month' ? 'substr(o.order_date, 1, 7)' : 'o.retailer';
    const rows = statRows(
      this.db.prepare(`SELECT ${key} AS key, o.currency, count(*) AS orders, ${splitSum('o.total', 'total')}, ${splitSum('o.refunded', 'refunded')} FROM orders o ${sql} GROUP BY 1, 2 ORDER BY 1, 2`),
      args,
    );
    return by === 'month' ? rows : rows.sort(byTotalDesc);
  }

  /** How many (connection, month) slices the next read of these rollups will rebuild. */
  staleMonths(kind: RollupKind): number {
    return this.rollups.staleMonths(kind);
  }

  /** Bring the rollups up to date (see Rollups.refresh); false when the file cannot be written now. */
  refreshRollups(kind: RollupKind = 'orders'): boolean {
    return this.rollups.refresh(kind);
  }
}
