import { describe, expect, it } from 'vitest';
import { statSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase, migrate, schemaVersion } from '../src/store/db.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { Store } from '../src/store/index.js';
import { ensureProfileDirs, profilePaths } from '../src/paths.js';
import type { NormalizedOrder } from '../src/connectors/types.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ol-store-'));
const mode = (p: string) => statSync(p).mode & 0o777;

function order(id: string, patch: Partial<NormalizedOrder> = {}): NormalizedOrder {
  return {
    orderId: id, retailer: 'Target', orderDate: '2026-01-02T03:04:05.000Z', status: 'delivered', currency: 'USD',
    subtotal: 1000, tax: 80, shipping: 0, discount: 0, total: 1080, refunded: 0, providerUpdatedAt: null,
    items: [{ lineNo: 1, name: 'Coffee beans', sku: 'X1', unitPrice: 1000, quantity: 1, category: 'Grocery' }],
    ...patch,
  };
}

describe('store: files and migrations', () => {
  it('creates a 0700 profile directory and a 0600 database with WAL and foreign keys', () => {
    const home = tmp();
    const p = profilePaths(join(home, 'h'), 'default');
    ensureProfileDirs(p);
    const store = Store.open(p.db, 'default');
    store.connections.list();
    expect(mode(p.dir)).toBe(0o700);
    expect(mode(join(home, 'h'))).toBe(0o700);
    expect(mode(p.db)).toBe(0o600);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    store.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('applies every migration from an empty file, records them, and is idempotent', () => {
    const dir = tmp();
    const path = join(dir, 'x.db');
    const db = openDatabase(path);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(migrate(db)).toEqual([]);
    const strict = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%STRICT%'").all() as Array<{ name: string }>;
    expect(strict.map((r) => r.name)).toEqual(expect.arrayContaining(['connections', 'orders', 'order_items', 'sync_runs', 'audit_log']));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a failing migration leaves the database at the previous version', () => {
    const dir = tmp();
    const db = new Database(join(dir, 'y.db'));
    const broken = [...MIGRATIONS, { version: 99, name: 'broken', sql: 'CREATE TABLE ok_table (x INTEGER); SELECT * FROM no_such_table;' }];
    expect(() => migrate(db, broken)).toThrow();
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'ok_table'").get()).toEqual({ n: 0 });
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a database newer than it understands, and a symlinked database path', () => {
    const dir = tmp();
    const path = join(dir, 'z.db');
    const db = new Database(path);
    db.pragma('user_version = 999');
    db.close();
    expect(() => openDatabase(path)).toThrow(/newer than this orderlink/);
    writeFileSync(join(dir, 'target.db'), '');
    symlinkSync(join(dir, 'target.db'), join(dir, 'link.db'));
    expect(() => openDatabase(join(dir, 'link.db'))).toThrow(/not a regular file/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('store: orders', () => {
  function setup() {
    const dir = tmp();
    const store = Store.open(join(dir, 'o.db'), 'default');
    const conn = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'a', providerType: 'direct', tokenRef: 'r', scopes: '', accountLabel: null, baseUrl: null });
    return { store, conn, done: () => (store.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  const page = (connectionId: number, orders: NormalizedOrder[], cursor: string | null = null) => ({
    connectionId, orders, tombstones: [], cursor, runRowId: null, fetched: orders.length, errors: 0, now: '2026-11-01T00:00:00.000Z',
  });

  it('upserts idempotently, updates in place, and records deletions', () => {
    const { store, conn, done } = setup();
    const w = store.orderWriter();
    expect(w.commitPage(page(conn.id, [order('A'), order('B')], '"c1"'))).toEqual({ added: 2, updated: 0, unchanged: 0, deleted: 0 });
    expect(w.commitPage(page(conn.id, [order('A'), order('B')], '"c2"'))).toEqual({ added: 0, updated: 0, unchanged: 2, deleted: 0 });
    expect(w.commitPage(page(conn.id, [order('A', { status: 'refunded', refunded: 1080 })]))).toMatchObject({ updated: 1 });
    expect(store.orders.find('A')).toMatchObject({ status: 'refunded', refunded: 1080 });
    expect(store.connections.get(conn.id)!.syncCursor).toBe('"c2"');
    const c = w.commitPage({ ...page(conn.id, []), tombstones: [{ orderId: 'B', deletedAt: '2026-10-01T00:00:00.000Z' }] });
    expect(c.deleted).toBe(1);
    expect(store.orders.count({})).toBe(1);
    expect(store.orders.count({ includeDeleted: true })).toBe(2);
    expect(store.db.prepare('SELECT count(*) AS n FROM orders').get()).toEqual({ n: 2 });
    done();
  });

  it('keeps full-text search in step with updates', () => {
    const { store, conn, done } = setup();
    const w = store.orderWriter();
    w.commitPage(page(conn.id, [order('A')]));
    expect(store.orders.count({ search: 'coff' })).toBe(1);
    w.commitPage(page(conn.id, [order('A', { items: [{ lineNo: 1, name: 'Green tea', sku: null, unitPrice: 1000, quantity: 1, category: null }] })]));
    expect(store.orders.count({ search: 'coffee' })).toBe(0);
    expect(store.orders.count({ search: 'green tea' })).toBe(1);
    expect(store.orders.count({ search: '"; DROP TABLE orders; --' })).toBe(0);
    done();
  });

  it('rolls back the whole page, cursor included, when one row fails', () => {
    const { store, conn, done } = setup();
    const w = store.orderWriter();
    const bad = order('BAD', { currency: 'TOOLONG' });
    expect(() => w.commitPage(page(conn.id, [order('A'), bad], '"after"'))).toThrow();
    expect(store.orders.count({ includeDeleted: true })).toBe(0);
    expect(store.connections.get(conn.id)!.syncCursor).toBeNull();
    done();
  });
});
