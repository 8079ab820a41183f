/**
 * The read side of the store: the rollups kept by migration 2's triggers must always equal what
 * the orders say, however the orders change (sync pages, updates, tombstones, purges, a deleted
 * connection); stats answered from them must equal a plain count over the orders for any range;
 * and the indexes the queries were written for must really be the ones SQLite uses.
 */
import { describe, expect, it } from 'vitest';
import { currencyExponent } from '../src/connectors/money.js';
import type { NormalizedOrder } from '../src/connectors/types.js';
import { migrate, openDatabase } from '../src/store/db.js';
import { Store } from '../src/store/index.js';
import { AMOUNT_4DP_FACTORS, MIGRATIONS } from '../src/store/migrations.js';
import Database from 'better-sqlite3';
import { ftsQuery, OrderQueries, rollupRanges, type OrderFilter, type OrderRow, type StatRow } from '../src/store/queries.js';
import { OrderWriter } from '../src/store/orders.js';
import { pick, rng, tempDbFiles } from './helpers/seeded.js';

const tmpFile = tempDbFiles('ol-queries-');

const RETAILERS = ['Target', 'Amazon', 'Rakuten', 'Alshaya', 'IKEA'] as const;
const CURRENCY: Record<string, string> = { Target: 'USD', Amazon: 'USD', Rakuten: 'JPY', Alshaya: 'KWD', IKEA: 'EUR' };
const CATEGORIES = ['Grocery', 'Home', 'Toys', null] as const;
const STATUSES = ['delivered', 'shipped', 'refunded'] as const;

/** A random order; dates cluster around month and day boundaries, where the rollups split. */
function randomOrder(r: () => number, id: string): NormalizedOrder {
  const retailer = pick(r, RETAILERS);
  const base = Date.UTC(2025, Math.floor(r() * 14), 1) + (r() < 0.5 ? 1 : -1) * Math.floor(r() * 3 * 86_400_000);
  const items = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, i) => ({
    lineNo: i + 1,
    name: pick(r, ['Coffee beans', 'Green tea', 'Lamp', 'Blocks']),
    sku: null,
    unitPrice: 100 + Math.floor(r() * 5000),
    quantity: 1 + Math.floor(r() * 3),
    category: pick(r, CATEGORIES),
  }));
  const total = items.reduce((n, i) => n + i.unitPrice * i.quantity, 0);
  const status = pick(r, STATUSES);
  return {
    orderId: id, retailer, orderDate: new Date(base).toISOString(), status, currency: CURRENCY[retailer]!,
    subtotal: total, tax: 0, shipping: 0, discount: 0, total, refunded: status === 'refunded' ? total : 0, providerUpdatedAt: null, items,
  };
}

function setup(path = tmpFile()) {
  const store = Store.open(path, 'default');
  const conn = (alias: string) => store.connections.insert({ connector: 'sandbox', retailer: '*', alias, providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null });
  const page = (w: OrderWriter, connectionId: number, orders: NormalizedOrder[], tombstones: Array<{ orderId: string; deletedAt: string | null }> = []) =>
    w.commitPage({ connectionId, orders, tombstones, cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: '2026-05-01T00:00:00.000Z' });
  return { store, conn, page };
}

/** The rollups recomputed from scratch, in the tables' own shape. */
const GRAINS = `(SELECT 'm' AS grain, 7 AS len UNION ALL SELECT 'd', 10) g`;

function expectedRollups(db: Store['db']) {
  const orders = db
    .prepare(
      `SELECT g.grain, substr(o.order_date, 1, g.len) AS period, o.connection_id, o.retailer, o.currency, o.status, count(*) AS orders, sum(o.total) AS total, sum(o.refunded) AS refunded
       FROM orders o, ${GRAINS} WHERE o.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
    )
    .all();
  // Categories per month only (migration 6).
  const categories = db
    .prepare(
      `SELECT o.connection_id, substr(o.order_date, 1, 7) AS month, o.retailer, o.currency, o.status, coalesce(i.category, '') AS category,
         count(DISTINCT o.id) AS orders, sum(i.unit_price * i.quantity) AS total
       FROM orders o JOIN order_items i ON i.order_ref = o.id WHERE o.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
    )
    .all();
  return { orders, categories };
}

/** The rollups as the next read sees them (it refreshes the stale slices first). */
function actualRollups(store: Store) {
  expect(store.orders.refreshRollups('orders')).toBe(true);
  expect(store.orders.refreshRollups('categories')).toBe(true);
  const db = store.db;
  expect(db.prepare('SELECT (SELECT count(*) FROM order_rollup_stale) + (SELECT count(*) FROM order_category_rollup_stale) AS n').get()).toEqual({ n: 0 });
  return {
    orders: db.prepare('SELECT * FROM order_rollup ORDER BY 1, 2, 3, 4, 5, 6').all(),
    categories: db.prepare('SELECT * FROM order_category_month ORDER BY 1, 2, 3, 4, 5, 6').all(),
  };
}

describe('rollups equal the orders at every read', () => {
  it('through inserts, changed orders, changed items, tombstones, undeletes, purges and a deleted connection', () => {
    const r = rng(7);
    const { store, conn, page } = setup();
    const a = conn('a');
    const b = conn('b');
    const w = store.orderWriter();
    const live = new Map<string, NormalizedOrder>();
    const check = (when: string) => expect(actualRollups(store), when).toEqual(expectedRollups(store.db));

    page(w, a.id, Array.from({ length: 120 }, (_, i) => randomOrder(r, `A-${i}`)));
    page(w, b.id, Array.from({ length: 80 }, (_, i) => randomOrder(r, `B-${i}`)));
    check('after the first pages');
    for (let round = 0; round < 6; round++) {
      const changed: NormalizedOrder[] = [];
      for (let i = 0; i < 40; i++) {
        const id = `A-${Math.floor(r() * 140)}`;
        const fresh = randomOrder(r, id);
        // Sometimes only the status (a refund), sometimes everything (date, retailer, items).
        changed.push(r() < 0.5 && live.has(id) ? { ...live.get(id)!, status: 'refunded', refunded: live.get(id)!.total } : fresh);
      }
      const unique = [...new Map(changed.map((o) => [o.orderId, o])).values()];
      for (const o of unique) live.set(o.orderId, o);
      const gone = Array.from({ length: 5 }, () => ({ orderId: `A-${Math.floor(r() * 140)}`, deletedAt: '2026-04-01T00:00:00.000Z' }));
      page(w, a.id, unique, gone);
      check(`after round ${round}`);
    }
    store.db.prepare('DELETE FROM orders WHERE id IN (SELECT id FROM orders WHERE connection_id = ? LIMIT 10)').run(b.id);
    check('after deleting orders directly');
    store.purgeOrders(a.id);
    check('after purging a connection’s orders');
    store.db.prepare('DELETE FROM connections WHERE id = ?').run(b.id);
    check('after deleting a connection (ON DELETE CASCADE)');
    expect(store.db.prepare('SELECT count(*) AS n FROM order_rollup').get()).toEqual({ n: 0 });
    store.close();
  });

  it('stay right with the page writer marking months itself (no insert/update trigger on orders)', () => {
    const r = rng(17);
    const { store, conn, page } = setup();
    const triggers = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orders'").all() as Array<{ name: string }>;
    expect(triggers.map((t) => t.name)).toEqual(['orders_stale_delete']);
    const a = conn('a');
    const w = store.orderWriter();
    page(w, a.id, Array.from({ length: 100 }, (_, i) => randomOrder(r, `A-${i}`)), []);
    expect(actualRollups(store)).toEqual(expectedRollups(store.db));
    // Updates that move orders to other months, and a tombstone: both the old and new months.
    page(w, a.id, Array.from({ length: 30 }, (_, i) => randomOrder(r, `A-${i * 3}`)), [{ orderId: 'A-1', deletedAt: null }]);
    expect(actualRollups(store)).toEqual(expectedRollups(store.db));
    store.close();
  });

  it('are backfilled when a version-1 database with orders is migrated', () => {
    const path = tmpFile();
    const v1 = openDatabase(path, { migrations: MIGRATIONS.filter((m) => m.version === 1) });
    const store1 = new Store(v1, 'default', path);
    // A connection as a version-1 orderlink wrote it (today's insert needs migration 3's columns).
    const c = { id: Number(v1.prepare("INSERT INTO connections (profile, connector, retailer, alias, provider_type, status, connected_at) VALUES ('default', 'sandbox', '*', 'a', 'direct', 'active', '2026-05-01T00:00:00.000Z')").run().lastInsertRowid) };
    const r = rng(11);
    // Rows as a version-1 orderlink wrote them (today's writer needs migration 2's tables).
    const ins = v1.prepare(`INSERT INTO orders (connection_id, order_id, retailer, order_date, status, currency, subtotal, tax, shipping, discount, total, refunded, item_count, content_hash, first_seen_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'h', '2026-05-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z')`);
    const item = v1.prepare('INSERT INTO order_items (order_ref, line_no, name, sku, unit_price, quantity, category) VALUES (?, ?, ?, ?, ?, ?, ?)');
    v1.transaction(() => {
      for (const o of Array.from({ length: 150 }, (_, i) => randomOrder(r, `O-${i}`))) {
        const id = Number(ins.run(c.id, o.orderId, o.retailer, o.orderDate, o.status, o.currency, o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded, o.items.reduce((n, x) => n + x.quantity, 0)).lastInsertRowid);
        for (const x of o.items) item.run(id, x.lineNo, x.name, x.sku, x.unitPrice, x.quantity, x.category);
      }
      v1.prepare("UPDATE orders SET deleted_at = '2026-05-01T00:00:00.000Z' WHERE order_id = 'O-3'").run();
    })();
    expect(migrate(v1)).toEqual(MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version));
    expect(actualRollups(store1)).toEqual(expectedRollups(v1));
    expect(store1.orders.count({})).toBe(149);
    store1.close();
  });
});

/** Stats computed the obvious way, from the listed orders and their items. */
function naiveStats(store: Store, by: 'month' | 'retailer' | 'category', f: OrderFilter): StatRow[] {
  const rows: OrderRow[] = store.orders.list(f, 'date');
  const m = new Map<string, StatRow & { ids?: Set<number> }>();
  const add = (key: string, o: OrderRow, total: number, refunded: number) => {
    const k = `${key}\u0000${o.currency}`;
    const s = m.get(k) ?? { key, currency: o.currency, orders: 0, total: 0, refunded: 0, ids: new Set<number>() };
    if (!s.ids!.has(o.id)) s.orders++;
    s.ids!.add(o.id);
    s.total += total;
    s.refunded += refunded;
    m.set(k, s);
  };
  for (const o of rows) {
    if (by === 'category') {
      for (const i of store.orders.items(o.id)) {
        if (f.category && (i.category ?? '').toLowerCase() !== f.category.toLowerCase()) continue;
        add(i.category ?? '', o, i.unitPrice * i.quantity, 0);
      }
    } else add(by === 'month' ? o.orderDate.slice(0, 7) : o.retailer, o, o.total, o.refunded);
  }
  return [...m.values()].map(({ ids: _ids, ...s }) => s).sort((x, y) => x.key.localeCompare(y.key) || x.currency.localeCompare(y.currency));
}

const sorted = (rows: StatRow[]) => [...rows].sort((x, y) => x.key.localeCompare(y.key) || x.currency.localeCompare(y.currency));

describe('stats from the rollups', () => {
  it('equal a plain count over the orders for any range, grouping and filter', () => {
    const r = rng(3);
    const { store, conn, page } = setup();
    const a = conn('a');
    const b = conn('b');
    const w = store.orderWriter();
    page(w, a.id, Array.from({ length: 250 }, (_, i) => randomOrder(r, `A-${i}`)));
    page(w, b.id, Array.from({ length: 150 }, (_, i) => randomOrder(r, `B-${i}`)), []);
    page(w, a.id, [], [{ orderId: 'A-1', deletedAt: null }, { orderId: 'A-2', deletedAt: null }]);
    const instant = () => new Date(Date.UTC(2024, 11, 1) + Math.floor(r() * 520 * 86_400_000) + (r() < 0.3 ? 0 : Math.floor(r() * 86_400_000))).toISOString();
    for (let i = 0; i < 60; i++) {
      const f: OrderFilter = {};
      const x = instant();
      const y = instant();
      if (r() < 0.8) f.since = x < y ? x : y;
      if (r() < 0.8) f.until = x < y ? y : x;
      if (f.since && f.until && f.since >= f.until) delete f.until;
      if (r() < 0.3) f.connectionIds = [a.id];
      if (r() < 0.3) f.retailer = pick(r, ['target', 'RAKUTEN', 'IKEA']);
      if (r() < 0.3) f.status = ['delivered', 'shipped'];
      if (r() < 0.2) f.currency = 'USD';
      for (const by of ['month', 'retailer', 'category'] as const) {
        const g: OrderFilter = by === 'category' && r() < 0.3 ? { ...f, category: 'grocery' } : f;
        expect(sorted(store.orders.stats(by, g)), `${by} ${JSON.stringify(g)}`).toEqual(naiveStats(store, by, g));
      }
      expect(store.orders.summary(f).orders, JSON.stringify(f)).toBe(store.orders.count(f));
    }
    store.close();
  });

  it('a database that cannot be written (read-only) is answered from the orders, the same', () => {
    const path = tmpFile();
    const { store, conn, page } = setup(path);
    const a = conn('a');
    const r = rng(13);
    page(store.orderWriter(), a.id, Array.from({ length: 120 }, (_, i) => randomOrder(r, `A-${i}`)));
    store.close();
    const ro = new Database(path, { readonly: true });
    const q = new OrderQueries(ro);
    expect(q.refreshRollups('orders')).toBe(false);
    const writable = Store.open(path, 'default');
    for (const by of ['month', 'retailer', 'category'] as const) {
      const f: OrderFilter = { since: '2025-03-14T05:00:00.000Z', until: '2025-11-02T00:00:00.000Z' };
      expect(sorted(q.stats(by, f)), by).toEqual(sorted(writable.orders.stats(by, f)));
    }
    expect(q.summary({})).toEqual(writable.orders.summary({}));
    ro.close();
    writable.close();
  });

  it('split a range into whole months, whole days and partial days', () => {
    expect(rollupRanges(undefined, undefined)).toEqual({ months: [null, null], monthsEmpty: false, days: [], exact: [] });
    expect(rollupRanges('2026-01-01T00:00:00.000Z', undefined)).toEqual({ months: ['2026-01', null], monthsEmpty: false, days: [], exact: [] });
    expect(rollupRanges('2025-12-30T18:00:00.000Z', '2026-03-02T06:00:00.000Z')).toEqual({
      months: ['2026-01', '2026-03'],
      monthsEmpty: false,
      days: [['2025-12-31', '2026-01-01'], ['2026-03-01', '2026-03-02']],
      exact: [['2025-12-30T18:00:00.000Z', '2025-12-31T00:00:00.000Z'], ['2026-03-02T00:00:00.000Z', '2026-03-02T06:00:00.000Z']],
    });
    // Inside one month: days only. Inside one day: the orders only.
    expect(rollupRanges('2026-02-03T00:00:00.000Z', '2026-02-10T00:00:00.000Z')).toEqual({ months: [null, null], monthsEmpty: true, days: [['2026-02-03', '2026-02-10']], exact: [] });
    expect(rollupRanges('2026-02-03T01:00:00.000Z', '2026-02-03T05:00:00.000Z')).toEqual({ months: [null, null], monthsEmpty: true, days: [], exact: [['2026-02-03T01:00:00.000Z', '2026-02-03T05:00:00.000Z']] });
    // Across one midnight without a whole day in between.
    expect(rollupRanges('2026-02-03T22:00:00.000Z', '2026-02-04T02:00:00.000Z').exact).toEqual([['2026-02-03T22:00:00.000Z', '2026-02-04T02:00:00.000Z']]);
    expect(rollupRanges('2026-02-04T00:00:00.000Z', '2026-02-01T00:00:00.000Z')).toEqual({ months: [null, null], monthsEmpty: true, days: [], exact: [] });
  });
});

describe('query plans', () => {
  /** 3,000 orders (SQLite sizes its plans by the table), with the SQL the store prepares recorded. */
  function planned() {
    const r = rng(5);
    const { store, conn, page } = setup();
    const a = conn('a');
    const orders = Array.from({ length: 3000 }, (_, i) => randomOrder(r, `A-${i}`));
    orders[17]!.items[0]!.name = 'Hand-thrown mug';
    page(store.orderWriter(), a.id, orders);
    const seen: string[] = [];
    const prepare = store.db.prepare.bind(store.db);
    (store.db as { prepare: typeof prepare }).prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof prepare;
    const lastList = () => seen.filter((s) => s.startsWith('SELECT o.id')).at(-1)!;
    const plan = (sql: string, args: unknown[] = []) => (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((p) => p.detail).join(' | ');
    return { store, lastList, plan };
  }

  it('listings use the indexes of migration 2, the amount expression included', () => {
    const { store, lastList, plan } = planned();
    store.orders.list({}, '-date', 10);
    expect(plan(lastList())).toMatch(/SCAN o USING INDEX orders_by_date_cover/);
    // The amount expression in the queries must be exactly the indexed one, or this falls back to a sort.
    store.orders.list({}, '-total', 10);
    expect(plan(lastList())).toBe('SCAN o USING INDEX orders_by_amount');
    store.orders.list({ min: 10, max: 20 }, 'total', 10);
    expect(plan(lastList(), [100_000, 200_000])).toMatch(/^SEARCH o USING INDEX orders_by_amount \(<expr>>\? AND <expr><\?\)/);
    store.orders.list({ retailer: 'nosuch' }, '-date', 10);
    expect(plan(lastList(), ['nosuch'])).toMatch(/SEARCH o USING INDEX orders_by_retailer_nocase \(retailer=\?\)/);
    store.close();
  });

  it('a rare search drives through the full-text index; a common one only tests while scanning by date', () => {
    const { store, lastList } = planned();
    expect(store.orders.list({ search: 'mug' }, '-date', 50)).toHaveLength(1);
    expect(lastList()).toMatch(/ o\.id IN \(SELECT rowid FROM orders_fts/);
    expect(store.orders.list({ search: 'coffee' }, '-date', 50)).toHaveLength(50);
    expect(lastList()).toMatch(/\+o\.id IN \(SELECT rowid FROM orders_fts/);
    store.close();
  });
});

describe('small pieces', () => {
  it('the frozen amount factors agree with the ISO 4217 exponents in money.ts', () => {
    for (const [code, factor] of Object.entries(AMOUNT_4DP_FACTORS)) expect(factor, code).toBe(10 ** (4 - currencyExponent(code)));
    for (const code of ['USD', 'EUR', 'GBP', 'CAD']) expect(AMOUNT_4DP_FACTORS[code]).toBeUndefined(); // the ELSE 100 branch
  });

  it('ftsQuery quotes every word and keeps only letters, digits and marks', () => {
    expect(ftsQuery('coffee beans')).toBe('"coffee" "beans"*');
    expect(ftsQuery('"; DROP TABLE orders; --')).toBe('"DROP" "TABLE" "orders"*');
    expect(ftsQuery('NEAR(a b) AND c*')).toBe('"NEAR" "a" "b" "AND" "c"*');
    expect(ftsQuery('हिन्दी')).toBe('"हिन्दी"*');
    expect(ftsQuery('"*()^:')).toBeNull();
  });

  it('summary stops early on a huge match and says so, instead of guessing totals', () => {
    const r = rng(9);
    const { store, conn, page } = setup();
    const a = conn('a');
    page(store.orderWriter(), a.id, Array.from({ length: 300 }, (_, i) => randomOrder(r, `A-${i}`)));
    expect(store.orders.summary({ search: 'coffee' }, { cap: 10 })).toEqual({ orders: 10, exact: false, totals: [] });
    const exact = store.orders.summary({ min: 0 });
    expect(exact.exact).toBe(true);
    expect(exact.orders).toBe(300);
    expect(exact.totals.map((t) => t.currency).sort()).toEqual(['EUR', 'JPY', 'KWD', 'USD']);
    store.close();
  });
});
