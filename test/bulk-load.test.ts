/**
 * Bulk-load mode (src/store/bulk-load.ts): a first sync into an empty store defers the secondary
 * indexes and builds them once at the end. Proven here: the indexes come back exactly as the
 * migrations made them, after a sync that succeeds, fails, or is killed with SIGKILL (the next
 * command that opens the store rebuilds them), a later sync does not use the mode, and the
 * writer's insert-first path counts and writes exactly what the lookup-first path does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../src/store/db.js';
import { BULK_LOAD_KEY, beginBulkLoad, bulkLoadPending, finishBulkLoad } from '../src/store/bulk-load.js';
import { OrderWriter, type PageWrite } from '../src/store/orders.js';
import type { NormalizedOrder } from '../src/domain.js';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';
import { oneItemOrder } from './helpers/orders.js';

const FAST_RETRY = { ORDERLINK_RETRY_BASE_MS: '5', ORDERLINK_RETRY_MAX_ATTEMPTS: '2' };

/** The index definitions of orders and order_items, as sqlite_schema holds them. */
const indexesOf = (db: DB): Array<{ name: string; sql: string }> =>
  db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('orders', 'order_items') ORDER BY name").all() as Array<{ name: string; sql: string }>;

const fresh = (): DB => openDatabase(':memory:');
const EXPECTED = indexesOf(fresh());

const homeIndexes = (h: E2EHome) => h.query<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('orders', 'order_items') ORDER BY name");
const pendingIn = (h: E2EHome) => h.query<{ n: number }>('SELECT count(*) AS n FROM meta WHERE key = ?', BULK_LOAD_KEY)[0]!.n > 0;
/** Run `act` once the sync has committed its first page (polling the database), whatever the machine's speed. */
function afterFirstPage(h: E2EHome, act: () => void): void {
  const timer = setInterval(() => {
    let n = 0;
    try {
      n = orderCount(h).n;
    } catch {
      return; // the database is not there yet
    }
    if (n > 0) {
      clearInterval(timer);
      act();
    }
  }, 20);
  setTimeout(() => clearInterval(timer), 60_000).unref();
}
const orderCount = (h: E2EHome) => h.query<{ n: number; uniq: number }>('SELECT count(*) AS n, count(DISTINCT order_id) AS uniq FROM orders WHERE deleted_at IS NULL')[0]!;

describe('bulk load, in the store', () => {
  it('drops the secondary indexes with their SQL saved in the same transaction, and rebuilds them exactly', () => {
    const db = fresh();
    expect(EXPECTED.length).toBeGreaterThanOrEqual(4);
    expect(beginBulkLoad(db)).toBe(true);
    expect(indexesOf(db)).toEqual([]);
    expect(bulkLoadPending(db)).toBe(true);
    // Entering twice is refused: the saved SQL is never overwritten by an empty list.
    expect(beginBulkLoad(db)).toBe(false);
    expect(finishBulkLoad(db)).toBe(EXPECTED.length);
    expect(indexesOf(db)).toEqual(EXPECTED);
    expect(bulkLoadPending(db)).toBe(false);
    expect(finishBulkLoad(db)).toBe(0);
  });

  it('is idempotent: an index someone already rebuilt is kept, the rest are built', () => {
    const db = fresh();
    beginBulkLoad(db);
    db.exec(EXPECTED[0]!.sql);
    expect(finishBulkLoad(db)).toBe(EXPECTED.length);
    expect(indexesOf(db)).toEqual(EXPECTED);
  });

  it('is not used when the store already holds orders', () => {
    const db = fresh();
    db.prepare("INSERT INTO connections (profile, connector, retailer, alias, provider_type, status, connected_at) VALUES ('default', 'sandbox', 'Shop', 'a', 'direct', 'active', '2026-01-01T00:00:00Z')").run();
    const w = new OrderWriter(db);
    w.commitPage(page([order('A-1', '2026-01-02T00:00:00.000Z', 100)]));
    expect(beginBulkLoad(db)).toBe(false);
    expect(indexesOf(db)).toEqual(EXPECTED);
  });

  it('insert-first writes and counts exactly what lookup-first does, with repeats within and across pages', () => {
    const pages = [
      [order('A-1', '2026-01-02T00:00:00.000Z', 100), order('A-2', '2026-01-03T00:00:00.000Z', 200), order('A-1', '2026-01-02T00:00:00.000Z', 100)],
      [order('A-2', '2026-02-03T00:00:00.000Z', 250), order('A-3', '2026-01-04T00:00:00.000Z', 300), order('A-1', '2026-01-02T00:00:00.000Z', 100)],
    ];
    const runWith = (insertFirst: boolean) => {
      const db = fresh();
      db.prepare("INSERT INTO connections (profile, connector, retailer, alias, provider_type, status, connected_at) VALUES ('default', 'sandbox', 'Shop', 'a', 'direct', 'active', '2026-01-01T00:00:00Z')").run();
      const w = new OrderWriter(db);
      w.insertFirst = insertFirst;
      const counts = pages.map((p) => w.commitPage(page(p)));
      const rows = db.prepare('SELECT order_id, order_date, total, content_hash FROM orders ORDER BY order_id').all();
      const items = db.prepare('SELECT order_ref, line_no, name FROM order_items ORDER BY order_ref, line_no').all();
      const fts = db.prepare('SELECT rowid FROM orders_fts ORDER BY rowid').all();
      const stale = db.prepare('SELECT month FROM order_rollup_stale ORDER BY month').all();
      return { counts, rows, items, fts, stale };
    };
    const a = runWith(false);
    const b = runWith(true);
    expect(b).toEqual(a);
    expect(a.counts).toEqual([
      { added: 2, updated: 0, unchanged: 1, deleted: 0 },
      { added: 1, updated: 1, unchanged: 1, deleted: 0 },
    ]);
  });
});

describe('bulk load, through the real binary', () => {
  let sb: SandboxHandle;
  beforeAll(async () => {
    sb = await sandbox({ orders: 2500, accounts: 1, faults: 'latency=12ms' });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('a first sync defers the indexes and ends with them exactly as migrated; a second sync does not defer', async () => {
    sb.setFaults('none');
    const h = e2eHome(FAST_RETRY);
    try {
      await linkSandbox(h, sb, 'alice');
      const first = await h.cli(['--verbose', 'sync', '--page-size', '500']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain('bulk load: secondary indexes deferred');
      expect(homeIndexes(h)).toEqual(EXPECTED);
      expect(pendingIn(h)).toBe(false);
      expect(orderCount(h)).toEqual({ n: sb.orderCount('alice'), uniq: sb.orderCount('alice') });
      // The sync's end brought both rollups up to date: the first stats of any kind reads them.
      for (const t of ['order_rollup_stale', 'order_category_rollup_stale']) expect(h.query<{ n: number }>(`SELECT count(*) AS n FROM ${t}`)[0]!.n, t).toBe(0);
      const second = await h.cli(['--verbose', 'sync', '--full', '--page-size', '500']);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).not.toContain('bulk load');
      expect(homeIndexes(h)).toEqual(EXPECTED);
    } finally {
      h.cleanup();
    }
  });

  it('a first sync that fails midway still rebuilds the indexes before it exits', async () => {
    sb.setFaults('latency=12ms');
    const h = e2eHome(FAST_RETRY);
    try {
      await linkSandbox(h, sb, 'alice');
      const r = await h.cli(['sync', '--page-size', '40'], { onSpawn: () => afterFirstPage(h, () => sb.setFaults('fail500')) });
      expect(r.code).not.toBe(0);
      expect(orderCount(h).n).toBeGreaterThan(0);
      expect(orderCount(h).n).toBeLessThan(sb.orderCount('alice'));
      expect(homeIndexes(h)).toEqual(EXPECTED);
      expect(pendingIn(h)).toBe(false);
    } finally {
      sb.setFaults('none');
      h.cleanup();
    }
  });

  it('SIGKILL mid-sync: the next command rebuilds the indexes (not while a sync runs), and a rerun is exact', async () => {
    sb.setFaults('latency=12ms');
    const h = e2eHome(FAST_RETRY);
    try {
      await linkSandbox(h, sb, 'alice');
      const r = await h.cli(['sync', '--page-size', '40'], { onSpawn: (child) => afterFirstPage(h, () => child.kill('SIGKILL')) });
      expect(r.signal, 'the sync was killed after its first page and before its end').toBe('SIGKILL');
      expect(orderCount(h).n).toBeLessThan(sb.orderCount('alice'));
      expect(pendingIn(h)).toBe(true);
      expect(homeIndexes(h)).toEqual([]);

      const list = await h.cli(['orders', '--limit', '3']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stderr).toContain('Rebuilding the indexes of a first sync that was interrupted');
      expect(homeIndexes(h)).toEqual(EXPECTED);
      expect(pendingIn(h)).toBe(false);

      const rerun = await h.cli(['sync', '--page-size', '500']);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(orderCount(h)).toEqual({ n: sb.orderCount('alice'), uniq: sb.orderCount('alice') });
      expect((await h.cli(['orders', '--limit', '3'])).stderr).not.toContain('Rebuilding');
    } finally {
      sb.setFaults('none');
      h.cleanup();
    }
  });

  it('a command run while a first sync is under way answers correctly and leaves the indexes to the sync', async () => {
    sb.setFaults('latency=12ms');
    const h = e2eHome(FAST_RETRY);
    try {
      await linkSandbox(h, sb, 'alice');
      let during: Awaited<ReturnType<E2EHome['cli']>> | undefined;
      let pendingDuring = false;
      const sync = h.cli(['sync', '--page-size', '40'], {
        onSpawn: () =>
          afterFirstPage(h, async () => {
            pendingDuring = pendingIn(h);
            during = await h.cli(['--json', 'orders', '--limit', '5']);
          }),
      });
      const r = await sync;
      expect(r.code, r.stderr).toBe(0);
      for (let i = 0; i < 100 && !during; i++) await new Promise((res) => setTimeout(res, 50));
      expect(during?.code, during?.stderr).toBe(0);
      expect(during!.stderr).not.toContain('Rebuilding');
      expect(pendingDuring, 'the reader ran during the bulk load').toBe(true);
      expect(homeIndexes(h)).toEqual(EXPECTED);
      expect(orderCount(h)).toEqual({ n: sb.orderCount('alice'), uniq: sb.orderCount('alice') });
    } finally {
      sb.setFaults('none');
      h.cleanup();
    }
  });
});

function order(orderId: string, orderDate: string, total: number): NormalizedOrder {
  return oneItemOrder({ orderId, orderDate, total, itemName: `thing ${orderId}` });
}

function page(orders: NormalizedOrder[]): PageWrite {
  return { connectionId: 1, orders, tombstones: [], cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: '2026-06-01T00:00:00.000Z' };
}
