/**
 * `orderlink export` through the real binary: every format checked against values computed here,
 * independently, from the database; items; filters; the SQLite copy opened and compared; CSV
 * injection in item names; and -o written exclusively (a planted symlink is never followed).
 */
import { existsSync, lstatSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import type { NormalizedOrder } from '../src/domain.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';
import { childEnv, runCli } from './helpers/cli.js';
import { tempHome, testContext } from './helpers/context.js';

const EXP: Record<string, number> = { JPY: 0, KWD: 3, BHD: 3 };
/** Minor units → decimal text, written here without the product's money code. */
function dec(minor: number, currency: string): string {
  const e = EXP[currency] ?? 2;
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(e + 1, '0');
  return (neg ? '-' : '') + (e ? `${s.slice(0, -e)}.${s.slice(-e)}` : s);
}

/** RFC 4180 parser (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') q = false;
      else cell += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += ch;
  }
  return rows;
}

interface DbOrder { id: number; order_id: string; connection_id: number; order_date: string; retailer: string; status: string; currency: string; subtotal: number; tax: number; shipping: number; discount: number; total: number; refunded: number; item_count: number }
interface DbItem { order_ref: number; line_no: number; name: string; sku: string | null; unit_price: number; quantity: number; category: string | null }

let sb: SandboxHandle;
let h: E2EHome;
let orders: DbOrder[];
let items: Map<number, DbItem[]>;

beforeAll(async () => {
  sb = await sandbox({ accounts: 2, orders: 150 });
  h = e2eHome();
  await linkSandbox(h, sb, 'alice');
  await linkSandbox(h, sb, 'bob');
  const s = await h.cli(['sync']);
  expect(s.code, s.stderr).toBe(0);
  orders = h.query<DbOrder>('SELECT * FROM orders WHERE deleted_at IS NULL ORDER BY order_date, id');
  items = new Map();
  for (const i of h.query<DbItem>('SELECT * FROM order_items ORDER BY order_ref, line_no')) items.set(i.order_ref, [...(items.get(i.order_ref) ?? []), i]);
}, 120_000);
afterAll(async () => {
  await sb.close();
  h.cleanup();
});

function expectRecord(rec: Record<string, unknown>, o: DbOrder, withItems: boolean): void {
  expect(rec).toMatchObject({
    id: o.id, order_id: o.order_id, connection_id: o.connection_id, order_date: o.order_date, retailer: o.retailer, status: o.status, currency: o.currency,
    subtotal: dec(o.subtotal, o.currency), subtotal_minor: o.subtotal, tax: dec(o.tax, o.currency), tax_minor: o.tax,
    shipping: dec(o.shipping, o.currency), shipping_minor: o.shipping, discount: dec(o.discount, o.currency), discount_minor: o.discount,
    total: dec(o.total, o.currency), total_minor: o.total, refunded: dec(o.refunded, o.currency), refunded_minor: o.refunded, item_count: o.item_count, deleted_at: null,
  });
  if (!withItems) return expect(rec.items).toBeUndefined();
  const want = (items.get(o.id) ?? []).map((i) => ({
    line_no: i.line_no, name: i.name, sku: i.sku, quantity: i.quantity, unit_price: dec(i.unit_price, o.currency), unit_price_minor: i.unit_price,
    amount: dec(i.unit_price * i.quantity, o.currency), amount_minor: i.unit_price * i.quantity, category: i.category,
  }));
  expect(rec.items).toEqual(want);
}

describe('export formats against the database', () => {
  it('ndjson --items: every order, oldest first, exact amounts and nested items', async () => {
    expect(orders.length).toBeGreaterThan(200);
    const r = await h.cli(['export', '--format', 'ndjson', '--items']);
    expect(r.code, r.stderr).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(recs.map((x) => x.id)).toEqual(orders.map((o) => o.id));
    recs.forEach((rec, i) => expectRecord(rec, orders[i]!, true));
    expect(recs.some((x) => (x.items as unknown[]).length > 1)).toBe(true);
  });

  it('json: an array of the same records; without --items no items', async () => {
    const r = await h.cli(['export', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const recs = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(recs).toHaveLength(orders.length);
    recs.forEach((rec, i) => expectRecord(rec, orders[i]!, false));
  });

  it('csv --items: one row per item with the order columns repeated, documented column order', async () => {
    const r = await h.cli(['export', '--format', 'csv', '--items']);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = parseCsv(r.stdout);
    expect(header).toEqual(['id', 'connection', 'order_id', 'order_date', 'retailer', 'status', 'currency', 'subtotal', 'subtotal_minor', 'tax', 'tax_minor', 'shipping', 'shipping_minor', 'discount', 'discount_minor', 'total', 'total_minor', 'refunded', 'refunded_minor', 'item_count', 'deleted_at', 'line_no', 'item_name', 'sku', 'quantity', 'unit_price', 'unit_price_minor', 'amount', 'amount_minor', 'category']);
    const expected = orders.flatMap((o) => {
      const its = items.get(o.id) ?? [];
      const head = [String(o.id), o.order_id, dec(o.total, o.currency)];
      return its.length ? its.map((i) => [...head, i.name, String(i.unit_price * i.quantity)]) : [[...head, '', '']];
    });
    const col = (n: string) => header!.indexOf(n);
    const got = rows.map((row) => [row[col('id')], row[col('order_id')], row[col('total')], row[col('item_name')], row[col('amount_minor')]]);
    expect(got).toEqual(expected);
  });

  it('filters are those of orders: --connection, --since, --min', async () => {
    const alice = h.query<{ id: number }>("SELECT id FROM connections WHERE alias = 'alice'")[0]!.id;
    const since = orders[Math.floor(orders.length / 2)]!.order_date.slice(0, 10);
    const want = orders.filter((o) => o.connection_id === alice && o.order_date >= `${since}T00:00:00.000Z` && o.total >= 2000 * 10 ** ((EXP[o.currency] ?? 2) - 2));
    const r = await h.cli(['export', '--connection', 'sandbox:alice', '--since', since, '--min', '20']);
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual(want.map((o) => o.id));
    expect(ids.length).toBeGreaterThan(0);
  });

  it('--format sqlite -o: a standalone copy with the same orders and items, no vault reference, no audit trail', async () => {
    const file = join(h.home, 'copy.db');
    const r = await h.cli(['--json', 'export', '--format', 'sqlite', '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file, format: 'sqlite', orders: orders.length });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}-wal`)).toBe(false);
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const src = new Database(h.db, { readonly: true });
      const tables = (d: Database.Database) => d.prepare("SELECT name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all();
      expect(tables(db)).toEqual(tables(src));
      expect(db.pragma('user_version', { simple: true })).toBe(src.pragma('user_version', { simple: true }));
      src.close();
      expect(db.prepare('SELECT * FROM orders ORDER BY order_date, id').all()).toEqual(h.query('SELECT * FROM orders WHERE deleted_at IS NULL ORDER BY order_date, id'));
      expect(db.prepare('SELECT * FROM order_items ORDER BY order_ref, line_no').all()).toEqual(h.query('SELECT i.* FROM order_items i JOIN orders o ON o.id = i.order_ref WHERE o.deleted_at IS NULL ORDER BY order_ref, line_no'));
      expect(db.prepare('SELECT count(*) AS n FROM connections WHERE token_ref IS NOT NULL OR sync_cursor IS NOT NULL').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT count(*) AS n FROM connections').get()).toEqual({ n: 2 });
      expect(db.prepare('SELECT count(*) AS n FROM audit_log').get()).toEqual({ n: 0 });
      // Search works in the copy, and the rollups agree with the orders.
      const word = items.get(orders[0]!.id)![0]!.name.split(' ')[0]!;
      const hits = db.prepare('SELECT count(*) AS n FROM orders_fts WHERE orders_fts MATCH ?').get(`"${word}"`) as { n: number };
      expect(hits.n).toBeGreaterThan(0);
      const roll = db.prepare("SELECT currency, sum(total) AS t FROM order_rollup WHERE grain = 'm' GROUP BY currency ORDER BY currency").all();
      expect(roll).toEqual(db.prepare('SELECT currency, sum(total) AS t FROM orders GROUP BY currency ORDER BY currency').all());
    } finally {
      db.close();
    }
    // The live database's vault references are untouched.
    expect(h.query<{ n: number }>('SELECT count(*) AS n FROM connections WHERE token_ref IS NOT NULL')[0]!.n).toBe(2);
  });

  it('sqlite with filters keeps exactly the matching orders and their connection', async () => {
    const file = join(h.home, 'bob.db');
    const r = await h.cli(['export', '--format', 'sqlite', '-o', file, '--connection', 'bob', '--status', 'delivered']);
    expect(r.code, r.stderr).toBe(0);
    const bob = h.query<{ id: number }>("SELECT id FROM connections WHERE alias = 'bob'")[0]!.id;
    const db = new Database(file, { readonly: true });
    try {
      const got = (db.prepare('SELECT id FROM orders ORDER BY id').all() as Array<{ id: number }>).map((x) => x.id);
      expect(got).toEqual(orders.filter((o) => o.connection_id === bob && o.status === 'delivered').map((o) => o.id).sort((a, b) => a - b));
      expect(db.prepare('SELECT id FROM connections').all()).toEqual([{ id: bob }]);
      expect(db.prepare('SELECT count(*) AS n FROM order_items WHERE order_ref NOT IN (SELECT id FROM orders)').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });

  it('-o refuses an existing file and never follows a planted symlink; --force replaces the link itself', async () => {
    const victim = join(h.home, 'victim.txt');
    writeFileSync(victim, 'precious');
    const link = join(h.home, 'out.csv');
    symlinkSync(victim, link);
    const r = await h.cli(['export', '-o', link]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/symbolic link.*nothing was written/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    const f = await h.cli(['export', '-o', link, '--force']);
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    expect(parseCsv(readFileSync(link, 'utf8'))).toHaveLength(orders.length + 1); // .csv → csv
    expect(statSync(link).mode & 0o777).toBe(0o600);
    const again = await h.cli(['export', '-o', link]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('usage errors: sqlite to stdout, an unknown format', async () => {
    const a = await h.cli(['export', '--format', 'sqlite']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/-o FILE/);
    const b = await h.cli(['export', '--format', 'xml']);
    expect(b.code).toBe(2);
  });
});

describe('export of hostile item names', () => {
  const NOW = new Date('2026-05-01T12:00:00.000Z');
  const PAYLOADS = [`=cmd|' /C calc'!A0`, `+1+1`, `-2+3+cmd|' /C calc'!A0`, `@SUM(1+1)`, `\t=1+1`, `=HYPERLINK("http://evil.example")`];
  let home: string;
  const env = childEnv({ ORDERLINK_VAULT_KEY: Buffer.alloc(32, 9).toString('base64') });
  const order = (orderId: string, retailer: string, names: string[]): NormalizedOrder => ({
    orderId, retailer, orderDate: '2026-04-01T10:00:00.000Z', status: 'delivered', currency: 'USD', subtotal: 100 * names.length, tax: 0, shipping: 0, discount: 0, total: 100 * names.length, refunded: 0, providerUpdatedAt: null,
    items: names.map((name, i) => ({ lineNo: i + 1, name, sku: null, unitPrice: 100, quantity: 1, category: null })),
  });
  beforeAll(() => {
    home = tempHome('orderlink-export-');
    const t = testContext({ home, now: () => NOW });
    const store = t.ctx.store();
    const c = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'x', providerType: 'direct', tokenRef: 'ref-x', scopes: '', accountLabel: null, baseUrl: null }, NOW);
    const os = [order('EVIL-1', 'Good', PAYLOADS), order('SECRET-2', 'Other', ['Zqxcanaryword gift'])];
    store.orderWriter().commitPage({ connectionId: c.id, orders: os, tombstones: [], cursor: null, runRowId: null, fetched: 2, errors: 0, now: NOW.toISOString() });
    t.ctx.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('CSV item names that look like formulas are neutralised', async () => {
    const r = await runCli(['--home', home, 'export', '--format', 'csv', '--items', '--retailer', 'Good'], { env });
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = parseCsv(r.stdout);
    const names = rows.map((row) => row[header!.indexOf('item_name')]!);
    expect(names).toHaveLength(PAYLOADS.length);
    for (const n of names) expect(n.startsWith("'"), n).toBe(true);
    expect(rows.map((row) => row[header!.indexOf('amount_minor')])).toEqual(PAYLOADS.map(() => '100'));
  });

  it('a filtered SQLite copy holds nothing of the orders left out, not even in the search index', async () => {
    const file = join(home, 'good.db');
    const r = await runCli(['--home', home, 'export', '--format', 'sqlite', '--retailer', 'Good', '-o', file], { env });
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(file).toString('latin1');
    expect(bytes).not.toContain('Zqxcanaryword');
    expect(bytes).not.toContain('SECRET-2');
    expect(bytes).not.toContain('ref-x');
    expect(bytes).toContain('EVIL-1');
  });
});
