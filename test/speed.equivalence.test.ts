/**
 * The fast paths of docs/performance.md produce exactly what the plain code produces. Each test
 * runs both on the same data, including hostile data (quotes, backslashes, controls, bidi and C1
 * characters, emoji, lone surrogates, every currency exponent, negative and huge amounts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NormalizedOrder } from '../src/connectors/types.js';
import { connectionHandle, Store } from '../src/store/index.js';
import { captureIO } from '../src/ui/io.js';
import { escapedBytes, orderRecord, streamOrders } from '../src/ui/orders-view.js';
import { exportRecord, streamExport, type ItemsByOrder } from '../src/ui/export-view.js';
import { csvEscape } from '../src/ui/render.js';
import { jsonEscapeRaw, safeJson } from '../src/ui/safe-text.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmpDb = () => {
  const d = mkdtempSync(join(tmpdir(), 'ol-speed-'));
  dirs.push(d);
  return join(d, 'o.db');
};

const HOSTILE = ['plain', 'quote " here', 'back\\slash', 'tab\there', 'nl\nline', 'ctrl\x01\x1f', 'del\x7f', 'c1\x85\x9b', 'bidi\u202eevil', 'ls\u2028ps\u2029', 'emoji 😀', 'lone \ud800 surrogate', 'ünïcödé', '', '\u061c\u200e'];
const CURRENCIES = ['USD', 'JPY', 'KWD', 'CLF', 'EUR', 'VND', 'BHD'];
const AMOUNTS = [0, 1, -1, 5, -5, 99, 100, 12345, -12345, 10 ** 15, -(10 ** 15), 7, 1000, 10001];

function orders(n: number): NormalizedOrder[] {
  return Array.from({ length: n }, (_, k) => {
    const s = (j: number) => HOSTILE[(k + j) % HOSTILE.length]!;
    const a = (j: number) => AMOUNTS[(k * 7 + j) % AMOUNTS.length]!;
    return {
      orderId: `${s(0)}-${k}`, retailer: s(1) || 'r', orderDate: new Date(Date.UTC(2025, k % 12, 1 + (k % 27), k % 24)).toISOString(), status: ['delivered', 'shipped', 'refunded'][k % 3]!,
      currency: CURRENCIES[k % CURRENCIES.length]!, subtotal: a(0), tax: a(1), shipping: a(2), discount: a(3), total: a(4), refunded: a(5), providerUpdatedAt: null,
      items: [{ lineNo: 1, name: s(2) || 'n', sku: null, unitPrice: a(6), quantity: 1 + (k % 3), category: s(3) || null }],
    };
  });
}

/** `export --format ndjson|json` of these records, the plain way (export-view.ts's own loop). */
function exportText(format: 'ndjson' | 'json', records: unknown[]): string {
  if (format === 'ndjson') return records.map((r) => safeJson(r) + '\n').join('');
  return `[${records.map((r, k) => `${k === 0 ? '\n' : ',\n'}${safeJson(r, 2).replace(/^/gm, '  ')}`).join('')}${records.length === 0 ? ']\n' : '\n]\n'}`;
}

describe('orders --ndjson: the SQL-built lines and the raw-row writer equal safeJson(orderRecord(row))', () => {
  const seed = (store: Store, connections: number) => {
    const ids = Array.from({ length: connections }, (_, i) => ['a', 'quo"te', 'c'][i] ?? `x${i}`).map(
      (alias) => store.connections.insert({ connector: 'sandbox', retailer: '*', alias, providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null }).id,
    );
    const w = store.orderWriter();
    ids.slice(0, 3).forEach((id, i) => w.commitPage({ connectionId: id, orders: orders(150 + i), tombstones: [], cursor: null, runRowId: null, fetched: 0, errors: 0, now: '2026-05-01T00:00:00.000Z' }));
    return ids;
  };
  /** Every listing of the store as the plain path writes it, and as streamOrders writes it. */
  async function expectSame(store: Store, handles: Map<number, string>) {
    for (const sort of ['-date', 'total', 'retailer'] as const) {
      const expected = store.orders.list({}, sort).map((o) => safeJson(orderRecord(o, handles)) + '\n').join('');
      const io = captureIO();
      const result = await streamOrders(io, store.orders.iterate({}, sort), 'ndjson', handles);
      expect(io.stdoutText()).toBe(expected);
      const plain = captureIO();
      const slow = await streamOrders(plain, store.orders.list({}, sort), 'ndjson', handles);
      expect(plain.stdoutText()).toBe(expected);
      expect(result).toEqual(slow);
    }
    // `export --format ndjson`, with and without items: the same, as safeJson(exportRecord(row)).
    // A row id past 2^53 reaches JavaScript rounded, so only the SQL path (which keeps it exact)
    // finds that order's items: the expectation looks them up by the exact id too.
    const byOrder = store.orders.itemsByOrder();
    const itemsOf = (id: number | bigint) => byOrder([id]).get(String(id)) ?? [];
    const exact = new Map((store.db.prepare('SELECT id FROM orders').pluck().safeIntegers(true).all() as bigint[]).map((id) => [Number(id), id]));
    const lossy = [...exact.values()].some((id) => id > BigInt(Number.MAX_SAFE_INTEGER));
    // The plain writer looks items up by the rounded id: handed the exact ids' items under it.
    const rounded: ItemsByOrder = (ids) => new Map([...byOrder(ids.map((id) => exact.get(Number(id)) ?? id))].map(([k, v]) => [String(Number(k)), v]));
    for (const format of ['ndjson', 'json', 'csv'] as const) for (const withItems of [false, true]) {
      const plainRows = store.orders.list({}, 'date');
      const its = (o: { id: number }) => (withItems ? itemsOf(exact.get(o.id) ?? o.id) : undefined);
      let expected = '';
      if (format === 'csv') await streamExport(async (c) => ((expected += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')), true), plainRows, 'csv', handles, withItems ? rounded : undefined);
      else expected = exportText(format, plainRows.map((o) => exportRecord(o, handles, its(o))));
      for (const rows of [store.orders.iterate({}, 'date'), ...(withItems && lossy ? [] : [plainRows])]) {
        if (format === 'csv' && rows === plainRows) continue; // the expectation itself
        let text = '';
        const counts = await streamExport(async (c) => ((text += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')), true), rows, format, handles, withItems ? byOrder : undefined);
        expect(text).toBe(expected);
        expect(counts).toEqual({ orders: plainRows.length, items: plainRows.reduce((n, o) => n + (its(o)?.length ?? 0), 0), stopped: false });
      }
    }
  }
  /** How many rows SQLite formats (strings) and how many it hands back to JavaScript (ids). */
  const paths = (store: Store, handles: Map<number, string>) => {
    const out = { sql: 0, js: 0 };
    for (const v of store.orders.iterate({}, '-date').lines(handles)!) out[typeof v === 'string' ? 'sql' : 'js']++;
    return out;
  };

  it('byte for byte, with hostile strings, every exponent, and a connection without a handle', async () => {
    const store = Store.open(tmpDb(), 'default');
    const ids = seed(store, 3);
    // A handle with characters safeJson escapes; the third connection has none (null).
    const handles = new Map([[ids[0]!, 'sandbox:a'], [ids[1]!, 'sandbox:quo"te\u2028']]);
    await expectSame(store, handles);
    // SQLite really builds these lines (hostile text included): none goes back to JavaScript.
    expect(paths(store, handles)).toEqual({ sql: 453, js: 0 });
    for (const v of store.orders.iterate({}, 'date').lines(handles, { exportFields: true })!) expect(typeof v).toBe('string');
    for (const [v] of store.orders.iterate({}, 'date').openLines(handles)!) expect(typeof v).toBe('string');
    // CSV builds in SQL only the rows csvEscape would leave alone: none of this hostile data.
    const csv = { csv: { handleText: (h: string | null) => csvEscape(h ?? '') } };
    expect([...store.orders.iterate({}, 'date').lines(handles, csv)!].every((v) => typeof v === 'bigint')).toBe(true);
    store.close();
  });

  it('rows only a raw database could hold: bytes that are not UTF-8, NUL, odd currency codes, integers past 2^53', async () => {
    const store = Store.open(tmpDb(), 'default');
    const ids = seed(store, 3);
    const handles = new Map([[ids[0]!, 'sandbox:a'], [ids[2]!, 'sandbox:\u202ec\x85']]);
    const rowIds = store.db.prepare('SELECT id FROM orders ORDER BY id').pluck().all() as number[];
    const set = (sql: string, k: number, ...v: unknown[]) => store.db.prepare(`UPDATE orders SET ${sql} WHERE id = ?`).run(...v, rowIds[k]);
    // Text written around better-sqlite3 (a hand-edited file): invalid UTF-8, NUL, DEL, C1, bidi.
    set(`retailer = CAST(x'41ff42c3' AS TEXT)`, 0);
    set(`order_id = CAST(x'eda080e280a8c285' AS TEXT)`, 1);
    set(`status = 'a' || char(0) || 'b' || char(127) || char(8233)`, 2);
    set(`first_seen_at = CAST(x'c3' AS TEXT), updated_at = CAST(x'80' AS TEXT)`, 3);
    // Currency codes JavaScript upper-cases its own way ("ı" → "I": IQD has 3 decimals) or not at all.
    for (const [k, c] of ['jpy', 'kWd', 'clf', 'ıqd', 'ſek', 'é€$', 'US\x7f', 'a"b', 'x\\y', 'ISK'].entries()) set('currency = ?', 10 + k, c);
    // Integers JavaScript cannot print as SQLite does (beyond 2^53 − 1), and the edges of the range.
    const big = [2n ** 53n - 1n, -(2n ** 53n - 1n), 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (const [k, v] of big.entries()) {
      for (const [j, col] of ['subtotal', 'tax', 'shipping', 'discount', 'total', 'refunded', 'item_count'].entries()) set(`${col} = ?`, 30 + k * 7 + j, v);
    }
    store.db.pragma('foreign_keys = OFF');
    for (const t of ['orders SET id', 'order_items SET order_ref']) store.db.prepare(`UPDATE ${t} = ? WHERE ${t.endsWith('id') ? 'id' : 'order_ref'} = ?`).run(2n ** 53n + 7n, rowIds[100]);
    store.db.pragma('foreign_keys = ON');
    await expectSame(store, handles);
    const p = paths(store, handles);
    // The odd currencies (ı, ſ, é€$) and every integer past 2^53 − 1 (the id included) go to JavaScript.
    expect(p.js).toBe(3 + big.filter((v) => v > 2n ** 53n - 1n || v < -(2n ** 53n - 1n)).length * 7 + 1);
    expect(p.sql + p.js).toBe(453);
    store.close();
  });

  it('export --items, NDJSON, JSON and CSV, across several item batches (1,234 orders): the same bytes and counts', async () => {
    const store = Store.open(tmpDb(), 'default');
    const id = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'a', providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null }).id;
    for (const itemsOf of [undefined, store.orders.itemsByOrder()]) {
      let empty = '';
      await streamExport(async (c) => ((empty += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')), true), store.orders.iterate({}, 'date'), 'json', new Map(), itemsOf);
      expect(empty).toBe('[]\n');
    }
    // Some orders without items, some with two, and line amounts past 2^53 (written as digit strings).
    const many = orders(1_234).map((o, k) =>
      k % 5 === 0 ? { ...o, items: [] }
      : k % 7 === 0 ? { ...o, items: [...o.items, { ...o.items[0]!, lineNo: 2, name: 'second' }] }
      : k % 11 === 0 ? { ...o, items: [{ ...o.items[0]!, unitPrice: 2 ** 52 + k, quantity: 3 }] }
      : k % 3 === 0 ? { ...o, orderId: `A${k}-0001`, retailer: "Macy's Shop" } // cells CSV leaves alone: built in SQL
      : o,
    );
    store.orderWriter().commitPage({ connectionId: id, orders: many, tombstones: [], cursor: null, runRowId: null, fetched: 0, errors: 0, now: '2026-05-01T00:00:00.000Z' });
    const handles = new Map([[id, 'sandbox:a']]);
    const byOrder = store.orders.itemsByOrder();
    const all = store.orders.list({}, 'date');
    const csv = { csv: { handleText: (h: string | null) => csvEscape(h ?? '') } };
    const kinds = [...store.orders.iterate({}, 'date').lines(handles, csv)!].map((v) => typeof v);
    expect(kinds.filter((k) => k === 'string').length).toBeGreaterThan(200);
    expect(kinds.filter((k) => k === 'bigint').length).toBeGreaterThan(200);
    for (const format of ['ndjson', 'json', 'csv'] as const) {
      let expected = '';
      if (format === 'csv') await streamExport(async (c) => ((expected += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')), true), all, 'csv', handles, byOrder);
      else expected = exportText(format, all.map((o) => exportRecord(o, handles, store.orders.items(o.id))));
      let text = '';
      const counts = await streamExport(async (c) => ((text += typeof c === 'string' ? c : Buffer.from(c).toString('utf8')), true), store.orders.iterate({}, 'date'), format, handles, byOrder);
      expect(text).toBe(expected);
      expect(text).toMatch(format === 'json' ? /"amount_minor": "\d{16,}"/ : format === 'csv' ? /,\d{16,},/ : /"amount_minor":"\d{16,}"/);
      expect(counts).toEqual({ orders: 1_234, items: all.reduce((n, o) => n + store.orders.items(o.id).length, 0), stopped: false });
    }
    store.close();
  });

  it('too many connections for the SQL line: every row is written from raw rows, alike', async () => {
    const store = Store.open(tmpDb(), 'default');
    const ids = seed(store, 70);
    const handles = new Map(ids.map((id, i) => [id, `sandbox:x${i}`]));
    expect(store.orders.iterate({}, '-date').lines(handles)).toBeNull();
    await expectSame(store, handles);
    store.close();
  });

  it('the byte search for what safeJson escapes agrees with jsonEscapeRaw on every character', () => {
    const disagree: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 0x101) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      // Alone, and between bytes that could be mistaken for part of it.
      for (const text of [ch, `\u00e2${ch}\u00c2`, `a${ch}\u0080`.slice(0, 2)]) {
        if (escapedBytes(Buffer.from(text, 'utf8')) !== (jsonEscapeRaw(text) !== text)) disagree.push(cp);
      }
    }
    expect(disagree).toEqual([]);
  });

  it('a terminal gets the same text as a pipe', async () => {
    const store = Store.open(tmpDb(), 'default');
    const ids = seed(store, 3);
    const handles = new Map([[ids[0]!, 'sandbox:a']]);
    const piped = captureIO();
    await streamOrders(piped, store.orders.iterate({}, '-date'), 'ndjson', handles);
    const tty = captureIO({ tty: true });
    await streamOrders(tty, store.orders.iterate({}, '-date'), 'ndjson', handles);
    // On a terminal io.write also sanitises; JSON with safeJson's escapes has nothing left for it.
    expect(tty.stdoutText()).toBe(piped.stdoutText());
    store.close();
  });

  it('through the binary (process.stdout, whose chunk buffer is reused): a pipe, a slow pipe and a file get the same bytes', async () => {
    const { spawn } = await import('node:child_process');
    const { openSync, closeSync, readFileSync } = await import('node:fs');
    const { profilePaths, ensureProfileDirs } = await import('../src/paths.js');
    const home = mkdtempSync(join(tmpdir(), 'ol-speed-home-'));
    dirs.push(home);
    const paths = profilePaths(home, 'default');
    ensureProfileDirs(paths);
    const store = Store.open(paths.db, 'default');
    const ids = seed(store, 3);
    // Enough orders for dozens of 64 KB chunks, hostile ones among them.
    const w = store.orderWriter();
    for (let p = 0; p < 8; p++) w.commitPage({ connectionId: ids[0]!, orders: orders(1000).map((o, k) => ({ ...o, orderId: `${o.orderId}-${p}-${k}` })), tombstones: [], cursor: null, runRowId: null, fetched: 0, errors: 0, now: '2026-05-01T00:00:00.000Z' });
    const handles = new Map(store.connections.list().map((c) => [c.id, connectionHandle(c)]));
    const expected = store.orders.list({}, '-date').map((o) => safeJson(orderRecord(o, handles)) + '\n').join('');
    store.close();
    const bin = fileURLToPath(new URL('../bin/orderlink', import.meta.url));
    const run = (stdout: 'pipe' | number, slow: boolean) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [bin, 'orders', '--ndjson'], { env: { ...process.env, ORDERLINK_HOME: home, NO_COLOR: '1' }, stdio: ['ignore', stdout, 'pipe'] });
        const parts: Buffer[] = [];
        child.stdout?.on('data', (d: Buffer) => {
          parts.push(d);
          // A slow reader: the pipe fills, writes go pending, and the buffer must not be reused.
          if (slow) {
            child.stdout!.pause();
            setTimeout(() => child.stdout!.resume(), 2);
          }
        });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(parts).toString('utf8')) : reject(new Error(`exit ${code}`))));
      });
    expect(await run('pipe', false)).toBe(expected);
    expect(await run('pipe', true)).toBe(expected);
    const file = join(home, 'out.ndjson');
    const fd = openSync(file, 'w');
    await run(fd, false);
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe(expected);
  }, 60_000);

  it('stops quietly when the reader leaves, and writes nothing for no rows', async () => {
    const store = Store.open(tmpDb(), 'default');
    const ids = seed(store, 3);
    const handles = new Map([[ids[0]!, 'sandbox:a']]);
    const none = captureIO();
    expect(await streamOrders(none, store.orders.iterate({ since: '2099-01-01' }, '-date'), 'ndjson', handles)).toEqual({ rows: 0, stopped: false });
    expect(none.stdoutText()).toBe('');
    store.close();
  });
});

describe('the sandbox fast path (src/sync/fast-paths.ts) equals policy → zod → toOrder', async () => {
  const { readFileSync } = await import('node:fs');
  const { sandbox } = await import('../src/connectors/sandbox/index.js');
  const { FAST_PATHS } = await import('../src/sync/fast-paths.js');
  const { mapRecords } = await import('../src/sync/pipeline.js');
  const { applyPolicy } = await import('../src/policy/index.js');
  const fixture = JSON.parse(readFileSync(new URL('../src/connectors/sandbox/fixtures/page-mixed.json', import.meta.url), 'utf8')) as { orders: unknown[] };
  const plain = (raw: unknown) => {
    const parsed = sandbox.rawSchema.safeParse(applyPolicy(raw, sandbox.allowList, sandbox.freeText));
    if (!parsed.success) return 'invalid';
    try {
      return sandbox.toOrder(parsed.data);
    } catch (err) {
      return `throws ${(err as Error).name}`;
    }
  };
  const fast = (raw: unknown) => FAST_PATHS.sandbox!(structuredClone(raw), sandbox, 4096);
  const clone = <T>(v: T): T => structuredClone(v);
  /** Mutations that a provider could send: each field removed, retyped, emptied, lengthened, carded. */
  const CARD = '4111 1111 1111 1111';
  const odd: unknown[] = [undefined, null, '', 0, -1, 1.5, 2 ** 60, true, false, 'x'.repeat(5000), CARD, `Shop ${CARD}`, '12.345', '-0.50', '1e3', ' 12.00', 'NaN', [], {}, 'JPY', 'usd', 'delivered', '2026-02-30T00:00:00Z', 'not a date', '2026-05-05T19:57:00-05:00'];
  function* mutants(base: Record<string, unknown>): Generator<unknown> {
    yield base;
    const paths: string[][] = [];
    for (const k of Object.keys(base)) paths.push([k]);
    for (const k of ['subtotal', 'tax', 'shipping', 'discount', 'total', 'refunded']) paths.push(['amounts', k]);
    for (const k of ['line', 'name', 'sku', 'unit_price', 'quantity', 'category']) paths.push(['items', '0', k]);
    paths.push(['deleted'], ['note'], ['extra'], ['items', '0'], ['items']);
    for (const p of paths) {
      for (const v of odd) {
        const m = clone(base) as Record<string, unknown>;
        let o: Record<string, unknown> = m;
        for (const k of p.slice(0, -1)) o = (o?.[k] ?? {}) as Record<string, unknown>;
        if (v === undefined) delete o[p.at(-1)!];
        else o[p.at(-1)!] = clone(v);
        yield m;
      }
    }
  }

  it('accepts the ordinary records (the fast path is really taken)', () => {
    const live = fixture.orders.filter((r) => !(r as { deleted?: boolean }).deleted);
    expect(live.length).toBeGreaterThan(0);
    for (const r of live) expect(fast(r), JSON.stringify(r).slice(0, 80)).toEqual(plain(r));
  });

  it('never accepts what the plain steps refuse, and never maps differently (fixture mutations)', () => {
    let checked = 0;
    let taken = 0;
    for (const base of fixture.orders) {
      for (const m of mutants(base as Record<string, unknown>)) {
        const f = fast(m);
        checked++;
        if (f === undefined) continue;
        taken++;
        expect(f, JSON.stringify(m).slice(0, 200)).toEqual(plain(m));
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(taken).toBeGreaterThan(50);
  });

  it('mapRecords gives the same page with and without the fast path (errors worded alike)', () => {
    const page: unknown[] = [];
    for (const base of fixture.orders) for (const m of mutants(base as Record<string, unknown>)) page.push(m);
    const withFast = mapRecords(sandbox, page.map(clone), 3);
    const without = mapRecords({ ...sandbox, id: 'sandbox-without-fast-path' }, page.map(clone), 3);
    expect(withFast).toEqual(without);
    expect(withFast.errors.length).toBeGreaterThan(100);
  });
});
