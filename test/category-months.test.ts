/**
 * Category totals are kept per month only (migration 6): whole months come from
 * order_category_month, the partial months at the two ends of a range from the orders. These
 * tests hold the answers to a direct computation from the orders and their items — ranges that
 * start and end mid-month and mid-day, several connections and currencies, deleted orders,
 * orders spanning categories — for both ways of rebuilding the months (one pass over everything,
 * or a GROUP BY per month), across a sum past 2^53, and after an upgrade from schema version 5.
 */
import { describe, expect, it } from 'vitest';
import type { NormalizedOrder } from '../src/connectors/types.js';
import { migrate, openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/index.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import type { OrderFilter, StatRow } from '../src/store/queries.js';
import { monthRanges, Rollups, type CategoryRebuild } from '../src/store/rollups.js';
import { scanPays } from '../src/store/category-months.js';
import { pick, rng, tempDbFiles } from './helpers/seeded.js';

const tmpFile = tempDbFiles('ol-catmonths-');
const CURRENCY: Record<string, string> = { Target: 'USD', Rakuten: 'JPY', Alshaya: 'KWD', IKEA: 'EUR' };

/** Dates cluster around month ends; items mix categories, repeat one within an order, or have none. */
function randomOrder(r: () => number, id: string): NormalizedOrder {
  const retailer = pick(r, Object.keys(CURRENCY));
  const date = Date.UTC(2025, Math.floor(r() * 14), 1) + (r() < 0.5 ? 1 : -1) * Math.floor(r() * 4 * 86_400_000);
  const items = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, i) => ({
    lineNo: i + 1, name: 'thing', sku: null, unitPrice: 1 + Math.floor(r() * 9000), quantity: 1 + Math.floor(r() * 3), category: pick(r, ['Grocery', 'Home', 'home', 'Toys', null]),
  }));
  const total = items.reduce((n, i) => n + i.unitPrice * i.quantity, 0);
  return {
    orderId: id, retailer, orderDate: new Date(date).toISOString(), status: pick(r, ['delivered', 'shipped', 'refunded']), currency: CURRENCY[retailer]!,
    subtotal: total, tax: 0, shipping: 0, discount: 0, total, refunded: 0, providerUpdatedAt: null, items,
  };
}

function setup(path = tmpFile(), store = Store.open(path, 'default')) {
  const conn = (alias: string) => store.connections.insert({ connector: 'sandbox', retailer: '*', alias, providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null }).id;
  const w = store.orderWriter();
  const page = (connectionId: number, orders: NormalizedOrder[], tombstones: Array<{ orderId: string; deletedAt: string | null }> = []) =>
    w.commitPage({ connectionId, orders, tombstones, cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: '2026-05-01T00:00:00.000Z' });
  return { store, conn, page };
}

/** The month rows as a GROUP BY over the orders computes them. */
const expectedMonths = (db: Store['db']) =>
  db
    .prepare(
      `SELECT o.connection_id, substr(o.order_date, 1, 7) AS month, o.retailer, o.currency, o.status, coalesce(i.category, '') AS category, count(DISTINCT o.id) AS orders, sum(i.unit_price * i.quantity) AS total
       FROM orders o JOIN order_items i ON i.order_ref = o.id WHERE o.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
    )
    .all();
const actualMonths = (db: Store['db']) => db.prepare('SELECT * FROM order_category_month ORDER BY 1, 2, 3, 4, 5, 6').all();

/** Category stats the obvious way: every order in range, every item, in JS. */
function direct(store: Store, f: OrderFilter): StatRow[] {
  const m = new Map<string, StatRow & { ids: Set<number> }>();
  for (const o of store.orders.list(f, 'date')) {
    for (const i of store.orders.items(o.id)) {
      const want = f.category === undefined ? [] : [f.category].flat().map((c) => c.toLowerCase());
      if (want.length && !want.includes((i.category ?? '').toLowerCase())) continue;
      const key = i.category ?? '';
      const k = `${key}\u0000${o.currency}`;
      const s = m.get(k) ?? { key, currency: o.currency, orders: 0, total: 0, refunded: 0, ids: new Set<number>() };
      if (!s.ids.has(o.id)) s.orders++;
      s.ids.add(o.id);
      s.total = (s.total as number) + i.unitPrice * i.quantity;
      m.set(k, s);
    }
  }
  return sorted([...m.values()].map(({ ids: _ids, ...s }) => s));
}
const sorted = (rows: StatRow[]) => [...rows].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : x.currency < y.currency ? -1 : x.currency > y.currency ? 1 : 0));

describe('monthRanges', () => {
  it('splits a range into whole months and the partial months at its ends', () => {
    expect(monthRanges(undefined, undefined)).toEqual({ months: [null, null], monthsEmpty: false, days: [], exact: [] });
    expect(monthRanges('2026-01-01T00:00:00.000Z', undefined)).toEqual({ months: ['2026-01', null], monthsEmpty: false, days: [], exact: [] });
    expect(monthRanges(undefined, '2026-03-01T00:00:00.000Z')).toEqual({ months: [null, '2026-03'], monthsEmpty: false, days: [], exact: [] });
    // Mid-month and mid-day at both ends, across a year end.
    expect(monthRanges('2025-12-30T18:00:00.000Z', '2026-03-02T06:00:00.000Z')).toEqual({
      months: ['2026-01', '2026-03'],
      monthsEmpty: false,
      days: [],
      exact: [['2025-12-30T18:00:00.000Z', '2026-01-01T00:00:00.000Z'], ['2026-03-01T00:00:00.000Z', '2026-03-02T06:00:00.000Z']],
    });
    expect(monthRanges(undefined, '2026-02-14T12:00:00.000Z')).toEqual({ months: [null, '2026-02'], monthsEmpty: false, days: [], exact: [['2026-02-01T00:00:00.000Z', '2026-02-14T12:00:00.000Z']] });
    expect(monthRanges('2026-02-14T12:00:00.000Z', undefined)).toEqual({ months: ['2026-03', null], monthsEmpty: false, days: [], exact: [['2026-02-14T12:00:00.000Z', '2026-03-01T00:00:00.000Z']] });
    // No whole month inside: the orders only, even across a month end.
    expect(monthRanges('2026-01-20T00:00:00.000Z', '2026-02-10T00:00:00.000Z')).toEqual({ months: [null, null], monthsEmpty: true, days: [], exact: [['2026-01-20T00:00:00.000Z', '2026-02-10T00:00:00.000Z']] });
    expect(monthRanges('2026-02-04T00:00:00.000Z', '2026-02-01T00:00:00.000Z')).toEqual({ months: [null, null], monthsEmpty: true, days: [], exact: [] });
    expect(monthRanges('2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z').months).toEqual(['2024-02', '2024-03']);
  });
});

describe('category stats from month rows', () => {
  for (const how of ['scan', 'slices'] as const) {
    it(`equal the orders for mid-month and mid-day ranges, connections, currencies and deletions (rebuilt by ${how})`, () => {
      const r = rng(how === 'scan' ? 21 : 22);
      const { store, conn, page } = setup();
      const rollups = new Rollups(store.db);
      const refresh = (mode: CategoryRebuild) => expect(rollups.refresh('categories', mode)).toBe(true);
      const a = conn('a');
      const b = conn('b');
      page(a, Array.from({ length: 300 }, (_, i) => randomOrder(r, `A-${i}`)));
      page(b, Array.from({ length: 200 }, (_, i) => randomOrder(r, `B-${i}`)));
      refresh(how);
      expect(actualMonths(store.db)).toEqual(expectedMonths(store.db));
      // Tombstones, orders deleted for good, and changed orders (moved months, new items).
      page(a, Array.from({ length: 40 }, (_, i) => randomOrder(r, `A-${i * 7}`)), [{ orderId: 'A-1', deletedAt: null }, { orderId: 'A-2', deletedAt: '2026-04-01T00:00:00.000Z' }]);
      store.db.prepare("DELETE FROM orders WHERE order_id IN ('B-3', 'B-4', 'B-5')").run();
      refresh(how);
      expect(actualMonths(store.db)).toEqual(expectedMonths(store.db));

      const instant = () => new Date(Date.UTC(2024, 11, 1) + Math.floor(r() * 480 * 86_400_000) + (r() < 0.3 ? 0 : Math.floor(r() * 86_400_000))).toISOString();
      for (let i = 0; i < 60; i++) {
        const f: OrderFilter = {};
        const [x, y] = [instant(), instant()].sort();
        if (r() < 0.85) f.since = x;
        if (r() < 0.85 && x !== y) f.until = y;
        if (r() < 0.3) f.connectionIds = [pick(r, [a, b])];
        if (r() < 0.3) f.retailer = pick(r, ['target', 'RAKUTEN', 'Alshaya']);
        if (r() < 0.3) f.currency = pick(r, ['USD', 'JPY', 'KWD']);
        if (r() < 0.3) f.status = ['delivered', 'shipped'];
        if (r() < 0.3) f.category = pick(r, ['home', 'Toys']);
        expect(sorted(store.orders.stats('category', f)), JSON.stringify(f)).toEqual(direct(store, f));
      }
      store.close();
    });
  }

  it('both rebuilds write the same rows, and an order counts once per category however many lines it has there', () => {
    const r = rng(5);
    const orders = Array.from({ length: 200 }, (_, i) => randomOrder(r, `A-${i}`));
    const built = (['scan', 'slices'] as const).map((how) => {
      const { store, conn, page } = setup();
      page(conn('a'), orders);
      expect(new Rollups(store.db).refresh('categories', how)).toBe(true);
      const rows = actualMonths(store.db);
      store.close();
      return rows;
    });
    expect(built[0]).toEqual(built[1]);
    const { store, conn, page } = setup();
    const line = (lineNo: number, category: string | null, unitPrice: number) => ({ lineNo, name: 'x', sku: null, unitPrice, quantity: 1, category });
    const one: NormalizedOrder = { ...randomOrder(r, 'MIX'), retailer: 'Target', currency: 'USD', status: 'delivered', orderDate: '2025-06-15T10:00:00.000Z', items: [line(1, 'Home', 100), line(2, 'Toys', 20), line(3, 'Home', 5), line(4, null, 1)] };
    page(conn('a'), [one]);
    expect(new Rollups(store.db).refresh('categories', 'scan')).toBe(true);
    expect(store.db.prepare('SELECT category, orders, total FROM order_category_month ORDER BY 1').all()).toEqual([
      { category: '', orders: 1, total: 1 },
      { category: 'Home', orders: 1, total: 105 },
      { category: 'Toys', orders: 1, total: 20 },
    ]);
    store.close();
  });

  it('the pass walks ids far apart (chunk by chunk, from one existing id to the next)', () => {
    const { store, conn, page } = setup();
    page(conn('a'), Array.from({ length: 120 }, (_, i) => randomOrder(rng(60 + i), `A-${i}`)));
    store.db.pragma('foreign_keys = OFF');
    store.db.exec('UPDATE orders SET id = id * 3000000 WHERE id % 2 = 0; UPDATE order_items SET order_ref = order_ref * 3000000 WHERE order_ref % 2 = 0');
    store.db.pragma('foreign_keys = ON');
    expect(new Rollups(store.db).refresh('categories', 'scan')).toBe(true);
    expect(actualMonths(store.db)).toEqual(expectedMonths(store.db));
    store.close();
  });

  it('the pass is chosen for many stale months, the GROUP BY for a few', () => {
    const r = rng(9);
    const { store, conn, page } = setup();
    const a = conn('a');
    page(a, Array.from({ length: 400 }, (_, i) => randomOrder(r, `A-${i}`)));
    const stale = () => store.db.prepare('SELECT connection_id AS connectionId, month FROM order_category_rollup_stale').all() as Array<{ connectionId: number; month: string }>;
    expect(stale().length).toBeGreaterThan(12);
    expect(scanPays(store.db, stale())).toBe(true);
    expect(store.orders.refreshRollups('categories')).toBe(true);
    page(a, [{ ...randomOrder(r, 'NEW'), orderDate: '2025-06-15T10:00:00.000Z' }]);
    expect(scanPays(store.db, stale())).toBe(false);
    expect(store.orders.refreshRollups('categories')).toBe(true);
    expect(actualMonths(store.db)).toEqual(expectedMonths(store.db));
    store.close();
  });

  it('a month whose sum passes 2^53 stays exact: the pass leaves it to the GROUP BY', () => {
    // Odd amounts: their sum past 2^53 is not a double, so a rounded sum would show.
    const { store, conn, page } = setup();
    const a = conn('a');
    const big = (id: string, day: number): NormalizedOrder => ({
      ...randomOrder(rng(day), id), retailer: 'Target', currency: 'USD', status: 'delivered', orderDate: `2025-06-${String(day).padStart(2, '0')}T10:00:00.000Z`,
      items: [{ lineNo: 1, name: 'x', sku: null, unitPrice: 999_999_999_999_999, quantity: 3, category: 'Whale' }],
    });
    page(a, [...Array.from({ length: 5 }, (_, i) => big(`W-${i}`, i + 1)), { ...randomOrder(rng(3), 'small'), orderDate: '2025-07-02T00:00:00.000Z' }]);
    expect(new Rollups(store.db).refresh('categories', 'scan')).toBe(true);
    expect(store.db.prepare("SELECT orders, total FROM order_category_month WHERE category = 'Whale'").safeIntegers(true).get()).toEqual({ orders: 5n, total: 14_999_999_999_999_985n });
    expect(store.orders.stats('category', { category: 'whale' })).toEqual([{ key: 'Whale', currency: 'USD', orders: 5, total: 14_999_999_999_999_985n, refunded: 0 }]);
    expect(actualMonths(store.db)).toEqual(expectedMonths(store.db));
    store.close();
  });

  it('a line beyond 64 bits leaves its month stale (read from the orders, exactly), and the others built', () => {
    const { store, conn, page } = setup();
    const a = conn('a');
    const huge: NormalizedOrder = {
      ...randomOrder(rng(1), 'HUGE'), retailer: 'Target', currency: 'USD', orderDate: '2025-06-15T10:00:00.000Z',
      items: [{ lineNo: 1, name: 'bolts', sku: null, unitPrice: 1_000_000_000_000_000, quantity: 10_000, category: 'Hardware' }],
    };
    page(a, [huge, ...Array.from({ length: 50 }, (_, i) => randomOrder(rng(40 + i), `A-${i}`))]);
    expect(new Rollups(store.db).refresh('categories', 'scan')).toBe(false);
    expect(store.db.prepare('SELECT month FROM order_category_rollup_stale').pluck().all()).toEqual(['2025-06']);
    expect(store.orders.stats('category', { category: 'hardware' })).toEqual([{ key: 'Hardware', currency: 'USD', orders: 1, total: 10n ** 19n, refunded: 0 }]);
    expect(sorted(store.orders.stats('category', { since: '2025-07-01T00:00:00.000Z' }))).toEqual(direct(store, { since: '2025-07-01T00:00:00.000Z' }));
    store.close();
  });
});

describe('upgrade from schema version 5', () => {
  it('keeps the month rows already built, drops the day rows, and rebuilds the months still stale', () => {
    const path = tmpFile();
    const v5 = openDatabase(path, { migrations: MIGRATIONS.filter((m) => m.version <= 5) });
    const { store, conn, page } = setup(path, new Store(v5, 'default', path));
    const r = rng(31);
    const a = conn('a');
    const b = conn('b');
    page(a, Array.from({ length: 200 }, (_, i) => randomOrder(r, `A-${i}`)));
    page(b, Array.from({ length: 100 }, (_, i) => randomOrder(r, `B-${i}`)));
    // The category rollup as version 5 built it (days and months), for every month but two,
    // which stay stale; one of those has a wrong month row, which the rebuild must replace.
    v5.exec(`INSERT INTO order_category_rollup
      SELECT g.grain, substr(o.order_date, 1, g.len), o.connection_id, o.retailer, o.currency, o.status, coalesce(i.category, ''), count(DISTINCT o.id), sum(i.unit_price * i.quantity)
      FROM orders o JOIN order_items i ON i.order_ref = o.id, (SELECT 'm' AS grain, 7 AS len UNION ALL SELECT 'd', 10) g
      WHERE o.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5, 6, 7`);
    const staleLeft = v5.prepare('SELECT connection_id AS c, month AS m FROM order_category_rollup_stale ORDER BY month LIMIT 2').all() as Array<{ c: number; m: string }>;
    v5.prepare('DELETE FROM order_category_rollup_stale WHERE NOT ((connection_id = ? AND month = ?) OR (connection_id = ? AND month = ?))').run(staleLeft[0]!.c, staleLeft[0]!.m, staleLeft[1]!.c, staleLeft[1]!.m);
    v5.prepare("UPDATE order_category_rollup SET total = total + 1 WHERE grain = 'm' AND connection_id = ? AND period = ?").run(staleLeft[0]!.c, staleLeft[0]!.m);
    const kept = v5.prepare("SELECT count(*) AS n FROM order_category_rollup WHERE grain = 'm'").get();

    expect(migrate(v5)).toEqual([6]);
    expect(v5.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'order_category_rollup'").get()).toEqual({ n: 0 });
    expect(v5.prepare('SELECT count(*) AS n FROM order_category_month').get()).toEqual(kept);
    expect(store.orders.staleMonths('categories')).toBe(2);
    const f: OrderFilter = { since: '2025-02-11T07:00:00.000Z', until: '2025-11-20T13:30:00.000Z' };
    expect(sorted(store.orders.stats('category', f))).toEqual(direct(store, f));
    expect(sorted(store.orders.stats('category', {}))).toEqual(direct(store, {}));
    expect(actualMonths(v5)).toEqual(expectedMonths(v5));
    expect(store.orders.staleMonths('categories')).toBe(0);
    store.close();
  });
});
