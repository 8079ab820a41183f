/**
 * `orders`, `orders show` and `orders stats` against a real SQLite file in a temp home, filled
 * through the same writer the sync engine uses (OrderWriter.commitPage). The story: two sandbox
 * accounts, six currencies' worth of shopping, one order id that exists in both accounts, and a
 * provider-side deletion that must never show up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import type { NormalizedOrder } from '../src/connectors/types.js';
import { runOrders, runOrdersShow, runOrdersStats, type OrdersOptions, type OrdersStatsOptions } from '../src/commands/orders.js';
import { main, type App } from '../src/cli.js';
import { OrderlinkError } from '../src/errors.js';
import { captureIO, createIO, type IO } from '../src/ui/io.js';
import { testContext, type TestContext } from './helpers/context.js';

const NOW = new Date('2026-05-01T12:00:00.000Z');
let open: TestContext[] = [];
afterEach(() => {
  for (const t of open) t.cleanup();
  open = [];
});

type Item = NormalizedOrder['items'][number];
const item = (name: string, unitPrice: number, category: string | null, quantity = 1, lineNo = 1): Item => ({ lineNo, name, sku: `SKU-${lineNo}`, unitPrice, quantity, category });

function order(orderId: string, o: Partial<NormalizedOrder> & Pick<NormalizedOrder, 'retailer' | 'orderDate' | 'currency' | 'total'>): NormalizedOrder {
  return { orderId, status: 'delivered', subtotal: o.total, tax: 0, shipping: 0, discount: 0, refunded: 0, providerUpdatedAt: null, items: [], ...o };
}

/** The fixture, newest first: what `orders` prints with no flags. */
const PERSONAL: NormalizedOrder[] = [
  order('SB-7', { retailer: 'IKEA', orderDate: '2026-04-20T08:00:00.000Z', currency: 'EUR', total: 4999, items: [item('=HYPERLINK("http://x")', 4999, 'Home')] }),
  order('SB-4', { retailer: 'Alshaya', orderDate: '2026-03-01T00:00:00.000Z', currency: 'KWD', total: 12345, status: 'refunded', refunded: 12345, items: [item('Scarf, "wool"', 12345, 'Apparel')] }),
  order('SB-3', { retailer: 'Rakuten', orderDate: '2026-02-20T23:30:00.000Z', currency: 'JPY', total: 1200, items: [item('Green Tea', 600, 'Grocery', 2)] }),
  order('SB-2', {
    retailer: 'Amazon', orderDate: '2026-02-10T15:00:00.000Z', currency: 'USD', total: 4550, status: 'shipped', tax: 350, subtotal: 4200,
    items: [item('USB-C Cable', 1150, 'Electronics', 1, 1), item('Coffee Grinder', 3050, 'Home', 1, 2)],
  }),
  order('SB-1', { retailer: 'Target', orderDate: '2026-01-05T10:00:00.000Z', currency: 'USD', total: 1299, items: [item('Organic Coffee Beans 2lb', 1299, 'Grocery')] }),
  order('SB-GONE', { retailer: 'Target', orderDate: '2026-01-02T10:00:00.000Z', currency: 'USD', total: 999, items: [item('Coffee filter', 999, null)] }),
];
const WORK: NormalizedOrder[] = [
  order('SB-1', { retailer: 'Target', orderDate: '2026-03-15T12:00:00.000Z', currency: 'USD', total: 9950, items: [item('Coffee beans, decaf', 9950, 'Grocery')] }),
  order('W-9', { retailer: 'Best Buy', orderDate: '2025-12-24T18:00:00.000Z', currency: 'USD', total: 32999, items: [item('27" 4K Monitor', 32999, null)] }),
];

function seeded(opts: { tty?: boolean; json?: boolean; columns?: number } = {}) {
  const t = testContext({ ...opts, now: () => NOW });
  open.push(t);
  const store = t.ctx.store();
  const conn = (alias: string) =>
    store.connections.insert({ connector: 'sandbox', retailer: '*', alias, providerType: 'direct', tokenRef: `ref-${alias}`, scopes: '', accountLabel: null, baseUrl: null }, NOW);
  const personal = conn('personal');
  const work = conn('work');
  const w = store.orderWriter();
  const page = (connectionId: number, orders: NormalizedOrder[]) =>
    w.commitPage({ connectionId, orders, tombstones: [], cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: '2026-04-30T00:00:00.000Z' });
  page(personal.id, PERSONAL);
  page(work.id, WORK);
  // The provider deleted SB-GONE: a tombstone, exactly as a sync page records it.
  w.commitPage({ connectionId: personal.id, orders: [], tombstones: [{ orderId: 'SB-GONE', deletedAt: '2026-04-01T00:00:00.000Z' }], cursor: null, runRowId: null, fetched: 1, errors: 0, now: '2026-04-30T00:00:00.000Z' });
  return { ...t, personal, work };
}

function empty(opts: { tty?: boolean; json?: boolean } = {}) {
  const t = testContext({ ...opts, now: () => NOW });
  open.push(t);
  return t;
}

/** Order ids of piped (tab-separated) output, in order. */
async function ids(o: OrdersOptions): Promise<string[]> {
  const t = seeded();
  expect(await runOrders(t.ctx, o)).toBe(0);
  return t.io
    .stdoutText()
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => `${l.split('\t')[1]!.replace('sandbox:', '')}/${l.split('\t')[2]}`);
}

async function usage(fn: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OrderlinkError);
  expect((err as OrderlinkError).code).toBe(code);
  expect((err as OrderlinkError).message).toMatch(message);
}

describe('orders: filters', () => {
  it('lists every live order newest first, never the deleted one', async () => {
    expect(await ids({})).toEqual(['personal/SB-7', 'work/SB-1', 'personal/SB-4', 'personal/SB-3', 'personal/SB-2', 'personal/SB-1', 'work/W-9']);
  });

  it('--retailer matches any case; --connection takes a handle, an alias or a number', async () => {
    expect(await ids({ retailer: 'target' })).toEqual(['work/SB-1', 'personal/SB-1']);
    expect(await ids({ connection: ['sandbox:work'] })).toEqual(['work/SB-1', 'work/W-9']);
    expect(await ids({ connection: ['work', '1'] })).toHaveLength(7);
    await usage(() => runOrders(seeded().ctx, { connection: ['nosuch'] }), 'CONNECTION_NOT_FOUND', /nosuch/);
  });

  it('--since / --until take dates, months and spans; a bare --until day or month is inclusive', async () => {
    expect(await ids({ since: '2026-03-01' })).toEqual(['personal/SB-7', 'work/SB-1', 'personal/SB-4']);
    expect(await ids({ until: '2026-02-20' })).toEqual(['personal/SB-3', 'personal/SB-2', 'personal/SB-1', 'work/W-9']);
    expect(await ids({ since: '2026-02', until: '2026-02' })).toEqual(['personal/SB-3', 'personal/SB-2']);
    expect(await ids({ since: '30d' })).toEqual(['personal/SB-7']);
    expect(await ids({ since: '3mo', until: '2026-03-01T00:00:00Z' })).toEqual(['personal/SB-3', 'personal/SB-2']);
    await usage(() => runOrders(seeded().ctx, { since: 'yesterday' }), 'BAD_DATE', /--since/);
    await usage(() => runOrders(seeded().ctx, { since: '2026-04-01', until: '2026-03-01' }), 'BAD_OPTION', /before --until/);
  });

  it('--status, --category (any case) and --currency', async () => {
    expect(await ids({ status: ['shipped', 'refunded'] })).toEqual(['personal/SB-4', 'personal/SB-2']);
    expect(await ids({ category: 'grocery' })).toEqual(['work/SB-1', 'personal/SB-3', 'personal/SB-1']);
    expect(await ids({ currency: 'JPY' })).toEqual(['personal/SB-3']);
  });

  it('--min / --max are major units in each order’s own currency (JPY 0, USD 2, KWD 3 decimals)', async () => {
    // 12.345 KWD, 12.99 USD and 45.50 USD are between 12.345 and 45.5; ¥1,200 is far above.
    expect(await ids({ min: 12.345, max: 45.5 })).toEqual(['personal/SB-4', 'personal/SB-2', 'personal/SB-1']);
    expect(await ids({ min: 1000 })).toEqual(['personal/SB-3']);
    expect(await ids({ max: 12.99 })).toEqual(['personal/SB-4', 'personal/SB-1']);
    await usage(() => runOrders(seeded().ctx, { min: 50, max: 10 }), 'BAD_OPTION', /--min/);
  });

  it('--search finds words in item names, a prefix for the last word, several words all required', async () => {
    expect(await ids({ search: 'coffee' })).toEqual(['work/SB-1', 'personal/SB-2', 'personal/SB-1']);
    expect(await ids({ search: 'COFF' })).toEqual(['work/SB-1', 'personal/SB-2', 'personal/SB-1']);
    expect(await ids({ search: 'coffee beans' })).toEqual(['work/SB-1', 'personal/SB-1']);
    expect(await ids({ search: 'beans coffee', retailer: 'target', connection: ['personal'] })).toEqual(['personal/SB-1']);
    expect(await ids({ search: 'filter' })).toEqual([]); // only in the deleted order
  });

  it('--search treats FTS5 syntax as text: no syntax error, no stack trace', async () => {
    // Quotes, stars, carets and column filters are punctuation between words...
    for (const hostile of ['coffee"', '"coffee', '*coffee', 'coffee*', '^coffee', '(coffee)', 'coffee:grinder', '-coffee grinder', '{coffee} + grinder']) {
      expect(await ids({ search: hostile }), hostile).toContain('personal/SB-2');
    }
    // ...and operators are words like any other (all required), so these match nothing, quietly.
    for (const hostile of ['AND(', 'coffee AND(', 'NEAR(coffee, beans)', '"coffee" NOT beans', 'coffee OR tea', '); DROP TABLE orders; --']) {
      expect(await ids({ search: hostile }), hostile).toEqual([]);
    }
    expect(await ids({ search: 'coffee OR' })).toEqual(['personal/SB-1']); // "or" is a prefix of "Organic"
    // Only punctuation: nothing to search for, said plainly (exit 2 through the CLI).
    for (const hostile of ['"', '*', '()', ' ', '"*"']) {
      await usage(() => runOrders(seeded().ctx, { search: hostile }), 'BAD_SEARCH', /at least one word/);
    }
  });

  it('--sort total compares within one currency; --sort retailer is A→Z; --reverse flips; --limit cuts', async () => {
    // ¥1,200 is not "more" than $329.99: across currencies the sort would mislead, so it is refused.
    await usage(() => runOrders(seeded().ctx, { sort: 'total' }), 'SORT_ACROSS_CURRENCIES', /different currencies \(these orders are in EUR, JPY, KWD, USD\)/);
    expect(await ids({ sort: 'total', currency: 'USD' })).toEqual(['work/W-9', 'work/SB-1', 'personal/SB-2', 'personal/SB-1']);
    expect(await ids({ sort: 'total', currency: 'USD', reverse: true, limit: 2 })).toEqual(['personal/SB-1', 'personal/SB-2']);
    // Every matching order in one currency: no --currency needed.
    expect(await ids({ sort: 'total', retailer: ['target', 'BEST BUY'] })).toEqual(['work/W-9', 'work/SB-1', 'personal/SB-1']);
    expect(await ids({ sort: 'retailer', limit: 3 })).toEqual(['personal/SB-4', 'personal/SB-2', 'work/W-9']);
    expect(await ids({ reverse: true, limit: 1 })).toEqual(['work/W-9']);
  });
});

describe('orders: output formats', () => {
  it('piped: tab-separated, stable columns, no header, no colour', async () => {
    const t = seeded();
    await runOrders(t.ctx, { currency: 'KWD' });
    expect(t.io.stdoutText()).toBe('2026-03-01T00:00:00.000Z\tsandbox:personal\tSB-4\tAlshaya\trefunded\tKWD\t12.345\t1\n');
    expect(t.io.stderrText()).toBe('');
  });

  it('terminal: a table with amounts in their currency and a footer of counts and totals per currency', async () => {
    const t = seeded({ tty: true });
    await runOrders(t.ctx, { limit: 4 });
    expect(t.io.stdoutText()).toBe(
      [
        '┌────────────┬───────┬──────────────────┬──────────┬───────────┬───────┬────────────┐',
        '│ date       │ order │ connection       │ retailer │ status    │ items │      total │',
        '│ 2026-04-20 │ SB-7  │ sandbox:personal │ IKEA     │ delivered │     1 │     €49.99 │',
        '│ 2026-03-15 │ SB-1  │ sandbox:work     │ Target   │ delivered │     1 │     $99.50 │',
        '│ 2026-03-01 │ SB-4  │ sandbox:personal │ Alshaya  │ refunded  │     1 │ KWD 12.345 │',
        '│ 2026-02-20 │ SB-3  │ sandbox:personal │ Rakuten  │ delivered │     2 │     ¥1,200 │',
        '└────────────┴───────┴──────────────────┴──────────┴───────────┴───────┴────────────┘',
        '4 of 7 orders · $487.98 · €49.99 · ¥1,200 · KWD 12.345 (--limit 7 for more)',
        '',
      ].join('\n'),
    );
  });

  it('terminal: one connection hides the connection column; all rows shown means no --limit hint', async () => {
    const t = seeded({ tty: true });
    await runOrders(t.ctx, { connection: ['work'] });
    const out = t.io.stdoutText();
    expect(out).not.toContain('connection');
    expect(out).toContain('│ 2025-12-24 │ W-9   │ Best Buy │ delivered │     1 │ $329.99 │');
    expect(out.trim().split('\n').at(-1)).toBe('2 orders · $429.49');
  });

  it('terminal footer counts all matches of a search too (not only the rows shown)', async () => {
    const t = seeded({ tty: true });
    await runOrders(t.ctx, { search: 'coffee', limit: 1 });
    expect(t.io.stdoutText().trim().split('\n').at(-1)).toBe('1 of 3 orders · $157.99 (--limit 3 for more)');
  });

  it('--json: an array of records with the declared fields, amounts as exact decimal strings', async () => {
    const t = seeded({ json: true });
    await runOrders(t.ctx, { currency: 'KWD' });
    const rows = JSON.parse(t.io.stdoutText()) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      {
        id: expect.any(Number), connection_id: 1, connection: 'sandbox:personal', order_id: 'SB-4', retailer: 'Alshaya',
        order_date: '2026-03-01T00:00:00.000Z', status: 'refunded', currency: 'KWD',
        subtotal: '12.345', tax: '0.000', shipping: '0.000', discount: '0.000', total: '12.345', refunded: '12.345', total_minor: 12345,
        item_count: 1, first_seen_at: '2026-04-30T00:00:00.000Z', updated_at: '2026-04-30T00:00:00.000Z',
      },
    ]);
    const all = seeded({ json: true });
    await runOrders(all.ctx, {});
    const totals = (JSON.parse(all.io.stdoutText()) as Array<{ currency: string; total: string }>).map((r) => `${r.total} ${r.currency}`);
    expect(totals).toEqual(['49.99 EUR', '99.50 USD', '12.345 KWD', '1200 JPY', '45.50 USD', '12.99 USD', '329.99 USD']);
    // Pretty-printed like every other --json, though streamed.
    expect(all.io.stdoutText()).toBe(JSON.stringify(JSON.parse(all.io.stdoutText()), null, 2) + '\n');
  });

  it('--json with nothing to show is [] and says nothing else', async () => {
    const t = empty({ json: true });
    expect(await runOrders(t.ctx, {})).toBe(0);
    expect(t.io.stdoutText()).toBe('[]\n');
    expect(t.io.stderrText()).toBe('');
  });

  it('--ndjson: one parseable record per line', async () => {
    const t = seeded();
    await runOrders(t.ctx, { ndjson: true });
    const lines = t.io.stdoutText().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(7);
    expect(lines.map((l) => (JSON.parse(l) as { order_id: string }).order_id)).toEqual(['SB-7', 'SB-1', 'SB-4', 'SB-3', 'SB-2', 'SB-1', 'W-9']);
  });

  it('--csv: RFC 4180 (header, CRLF, quotes doubled), formula-looking text neutralised', async () => {
    const t = seeded();
    await runOrders(t.ctx, { csv: true, limit: 2 });
    expect(t.io.stdoutText()).toBe(
      'id,connection,order_id,order_date,retailer,status,currency,subtotal,tax,shipping,discount,total,refunded,item_count\r\n' +
        '1,sandbox:personal,SB-7,2026-04-20T08:00:00.000Z,IKEA,delivered,EUR,49.99,0.00,0.00,0.00,49.99,0.00,1\r\n' +
        '7,sandbox:work,SB-1,2026-03-15T12:00:00.000Z,Target,delivered,USD,99.50,0.00,0.00,0.00,99.50,0.00,1\r\n',
    );
    // Provider-controlled text with commas, quotes and a leading "=": quoted and defused.
    const { csvEscape } = await import('../src/ui/render.js');
    expect(csvEscape('Scarf, "wool"')).toBe('"Scarf, ""wool"""');
    expect(csvEscape('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvEscape('-12.50')).toBe('-12.50');
  });

  it('one format at a time', async () => {
    await usage(() => runOrders(seeded({ json: true }).ctx, { csv: true }), 'BAD_OPTION', /one output format/);
    await usage(() => runOrders(seeded().ctx, { csv: true, ndjson: true }), 'BAD_OPTION', /one output format/);
  });
});

describe('orders: big outputs', () => {
  /** Many small orders through the real writer. */
  function many(n: number) {
    const t = seeded();
    const w = t.ctx.store().orderWriter();
    const orders = Array.from({ length: n }, (_, i) =>
      order(`BULK-${String(i).padStart(6, '0')}`, { retailer: 'Amazon', orderDate: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(), currency: 'USD', total: 100 + i, items: [item('Thing', 100 + i, 'Home')] }),
    );
    w.commitPage({ connectionId: t.personal.id, orders, tombstones: [], cursor: null, runRowId: null, fetched: n, errors: 0, now: '2026-04-30T00:00:00.000Z' });
    return t;
  }

  function ioOver(stdout: Writable): IO {
    return createIO({ stdout, stderr: { write: () => true }, stdoutIsTTY: false, stderrIsTTY: false, env: {} });
  }

  it('--ndjson | head: stops early and exits 0 quietly when the reader goes away (EPIPE)', async () => {
    const t = many(5_000);
    const head = spawn('head', ['-n', '3'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let got = '';
    head.stdout.setEncoding('utf8').on('data', (d: string) => (got += d));
    const closed = new Promise((resolve) => head.on('close', resolve));
    const io = ioOver(head.stdin);
    const ctx = { ...t.ctx, io };
    expect(await runOrders(ctx, { ndjson: true })).toBe(0);
    await closed;
    expect(got.trim().split('\n')).toHaveLength(3);
    expect(io.stdoutClosed).toBe(true);
  });

  it('waits for a slow reader instead of buffering the whole export (backpressure)', async () => {
    const t = many(5_000);
    let peak = 0;
    let bytes = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        setImmediate(done);
      },
    });
    const watch = setInterval(() => (peak = Math.max(peak, slow.writableLength)), 0);
    const io = ioOver(slow);
    expect(await runOrders({ ...t.ctx, io }, { ndjson: true })).toBe(0);
    clearInterval(watch);
    await new Promise((resolve) => slow.end(resolve));
    expect(bytes).toBeGreaterThan(5_000 * 200);
    // At most about one chunk (64 KB) is ever waiting, whatever the size of the export.
    expect(peak).toBeLessThan(200 * 1024);
  });

  it('Ctrl-C during an export stops it and exits as interrupted', async () => {
    const t = many(5_000);
    const abort = new AbortController();
    let writes = 0;
    const io = ioOver(
      new Writable({
        write(_chunk, _enc, done) {
          if (++writes === 2) abort.abort();
          done();
        },
      }),
    );
    await expect(runOrders({ ...t.ctx, io, signal: abort.signal }, { ndjson: true })).rejects.toMatchObject({ code: 'INTERRUPTED', exitCode: 130 });
    expect(writes).toBeLessThan(5);
  });

  it('a write failure other than a closed pipe is an error, not silent data loss', async () => {
    const t = many(2_000);
    const full = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
      },
    });
    await usage(() => runOrders({ ...t.ctx, io: ioOver(full) }, { csv: true }), 'OUTPUT_FAILED', /ENOSPC/);
  });
});

describe('orders show', () => {
  it('shows an order with its items; amounts in its currency', async () => {
    const t = seeded({ tty: true });
    expect(await runOrdersShow(t.ctx, { order: 'SB-2' })).toBe(0);
    expect(t.io.stdoutText()).toBe(
      [
        'SB-2  Amazon  shipped',
        'connection  sandbox:personal',
        'placed      2026-02-10 15:00:00 UTC',
        'subtotal    $42.00',
        'tax         $3.50',
        'shipping    $0.00',
        'total       $45.50',
        'first seen  2026-04-30T00:00:00.000Z',
        'updated     2026-04-30T00:00:00.000Z',
        '',
        '┌───┬────────────────┬───────┬─────┬────────┬────────┬─────────────┐',
        '│ # │ item           │ sku   │ qty │   unit │ amount │ category    │',
        '│ 1 │ USB-C Cable    │ SKU-1 │   1 │ $11.50 │ $11.50 │ Electronics │',
        '│ 2 │ Coffee Grinder │ SKU-2 │   1 │ $30.50 │ $30.50 │ Home        │',
        '└───┴────────────────┴───────┴─────┴────────┴────────┴─────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('piped: the same facts as plain text; JPY with no decimals', async () => {
    const t = seeded();
    await runOrdersShow(t.ctx, { order: 'SB-3' });
    expect(t.io.stdoutText()).toContain('total       ¥1,200\n');
    expect(t.io.stdoutText()).toContain('\n1\tGreen Tea\tSKU-1\t2\t¥600\t¥1,200\tGrocery\n');
  });

  it('--json: the order record plus its items', async () => {
    const t = seeded({ json: true });
    await runOrdersShow(t.ctx, { order: 'SB-4' });
    const r = JSON.parse(t.io.stdoutText()) as Record<string, unknown>;
    expect(r).toMatchObject({ order_id: 'SB-4', connection: 'sandbox:personal', currency: 'KWD', total: '12.345', refunded: '12.345', deleted_at: null });
    expect(r.items).toEqual([{ line_no: 1, name: 'Scarf, "wool"', sku: 'SKU-1', quantity: 1, unit_price: '12.345', amount: '12.345', amount_minor: 12345, category: 'Apparel' }]);
  });

  it('an id in two connections must be named CONNECTION:ORDER_ID', async () => {
    const t = seeded({ json: true });
    const err = await runOrdersShow(t.ctx, { order: 'SB-1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ORDER_AMBIGUOUS', kind: 'usage' });
    expect((err as OrderlinkError).hint).toContain('sandbox:personal:SB-1, sandbox:work:SB-1');
    for (const ref of ['sandbox:work:SB-1', 'work:SB-1', '2:SB-1']) {
      const u = seeded({ json: true });
      await runOrdersShow(u.ctx, { order: ref });
      expect(JSON.parse(u.io.stdoutText()), ref).toMatchObject({ connection: 'sandbox:work', total: '99.50' });
    }
  });

  it('an unknown order is ORDER_NOT_FOUND with a hint (exit 1 through the CLI)', async () => {
    const err = await runOrdersShow(seeded().ctx, { order: 'SB-404' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OrderlinkError);
    expect(err).toMatchObject({ code: 'ORDER_NOT_FOUND', exitCode: 1 });
    expect((err as OrderlinkError).hint).toMatch(/orderlink orders --search/);
    await expect(runOrdersShow(seeded().ctx, { order: 'nosuch:SB-1' })).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });

  it('a deleted order can still be looked at, and says so', async () => {
    const t = seeded();
    await runOrdersShow(t.ctx, { order: 'SB-GONE' });
    expect(t.io.stdoutText().split('\n')[0]).toBe('SB-GONE  Target  delivered  deleted at the provider 2026-04-01T00:00:00.000Z');
  });
});

describe('orders stats', () => {
  async function statsJson(o: OrdersStatsOptions) {
    const t = seeded({ json: true });
    expect(await runOrdersStats(t.ctx, o)).toBe(0);
    return JSON.parse(t.io.stdoutText()) as {
      by: string;
      currencies: Array<{ currency: string; orders: number; total: string; total_minor: number; refunded: string; groups: Array<{ key: string | null; orders: number; total: string; gap?: boolean; folded?: number }> }>;
    };
  }

  it('per month: one series per currency, never added across currencies, on one shared timeline', async () => {
    const s = await statsJson({ by: 'month' });
    expect(s.currencies.map((c) => [c.currency, c.orders, c.total])).toEqual([
      ['USD', 4, '487.98'],
      ['EUR', 1, '49.99'],
      ['JPY', 1, '1200'],
      ['KWD', 1, '12.345'],
    ]);
    const usd = s.currencies[0]!;
    expect(usd.groups.map((g) => [g.key, g.orders, g.total, g.gap ?? false])).toEqual([
      ['2025-12', 1, '329.99', false],
      ['2026-01', 1, '12.99', false],
      ['2026-02', 1, '45.50', false],
      ['2026-03', 1, '99.50', false],
      ['2026-04', 0, '0.00', true], // EUR has an order in April: every currency runs to it
    ]);
    expect(s.currencies.find((c) => c.currency === 'KWD')!.groups.map((g) => g.key)).toEqual(['2025-12', '2026-01', '2026-02', '2026-03', '2026-04']);
    expect(s.currencies.find((c) => c.currency === 'KWD')).toMatchObject({ refunded: '12.345', total_minor: 12345 });
  });

  it('per retailer with --top folding the rest into "other"; per category from item lines', async () => {
    const r = await statsJson({ by: 'retailer', currency: 'USD', top: 2 });
    expect(r.currencies[0]!.groups.map((g) => [g.key, g.orders, g.total, g.folded ?? 0])).toEqual([
      ['Best Buy', 1, '329.99', 0],
      ['Target', 2, '112.49', 0],
      ['Amazon', 1, '45.50', 0], // one group left over is shown, not folded
    ]);
    const c = await statsJson({ by: 'category' });
    const usd = c.currencies.find((x) => x.currency === 'USD')!;
    expect(usd.groups.map((g) => [g.key, g.orders, g.total])).toEqual([
      [null, 1, '329.99'],
      ['Grocery', 2, '112.49'],
      ['Home', 1, '30.50'],
      ['Electronics', 1, '11.50'],
    ]);
    expect(c.currencies.find((x) => x.currency === 'JPY')!.groups).toEqual([{ key: 'Grocery', orders: 1, total: '1200', total_minor: 1200, refunded: '0', refunded_minor: 0 }]);
  });

  it('filters like `orders`: --since/--until at any instant, --connection, --search', async () => {
    const since = await statsJson({ by: 'retailer', since: '2026-02-20T23:00:00Z', until: '2026-03-15' });
    // From 23:00 on Feb 20 to the end of Mar 15: a partial day, whole days, an inclusive end day.
    expect(since.currencies.map((c) => [c.currency, c.groups.map((g) => g.key)])).toEqual([
      ['JPY', ['Rakuten']],
      ['KWD', ['Alshaya']],
      ['USD', ['Target']],
    ]);
    const work = await statsJson({ by: 'month', connection: ['work'] });
    expect(work.currencies.map((c) => c.orders)).toEqual([2]);
    const coffee = await statsJson({ by: 'retailer', search: 'coffee' });
    expect(coffee.currencies[0]!.groups.map((g) => g.key)).toEqual(['Target', 'Amazon']);
  });

  it('terminal: a bar chart per currency, scaled within it, labels and amounts aligned', async () => {
    const t = seeded({ tty: true, columns: 72 });
    await runOrdersStats(t.ctx, { by: 'retailer' });
    expect(t.io.stdoutText()).toMatchInlineSnapshot(`
      "Spending by retailer  · right column: orders
      4 currencies, each on its own scale (amounts are never converted or added across currencies)

      USD  $487.98 · 4 orders
        Best Buy  ████████████████████████████████████████████     $329.99  1
        Target    ███████████████                                  $112.49  2
        Amazon    ██████▏                                           $45.50  1

      EUR  €49.99 · 1 order
        IKEA      ████████████████████████████████████████████      €49.99  1

      JPY  ¥1,200 · 1 order
        Rakuten   ████████████████████████████████████████████      ¥1,200  1

      KWD  KWD 12.345 · 1 order · KWD 12.345 refunded
        Alshaya   ████████████████████████████████████████████  KWD 12.345  1
      "
    `);
  });

  it('terminal, by month: gaps drawn as empty months', async () => {
    const t = seeded({ tty: true, columns: 60 });
    await runOrdersStats(t.ctx, { by: 'month', currency: 'USD', connection: ['work'] });
    expect(t.io.stdoutText()).toMatchInlineSnapshot(`
      "Spending by month  · right column: orders

      USD  $429.49 · 2 orders
        2025-12  ████████████████████████████████████  $329.99  1
        2026-01  ·                                           —  0
        2026-02  ·                                           —  0
        2026-03  ██████████▉                            $99.50  1
      "
    `);
  });

  it('terminal, by category: items without a category are labelled, the tail folds into "other"', async () => {
    const t = seeded({ tty: true, columns: 70 });
    await runOrdersStats(t.ctx, { by: 'category', currency: 'USD', top: 2 });
    const lines = t.io.stdoutText().split('\n');
    expect(lines[0]).toBe('Item spending by category  · right column: orders');
    expect(lines[2]).toBe('USD  $484.48'); // no order count: an order spanning categories counts in each
    expect(lines.slice(3, 6).map((l) => l.replace(/[█▏▎▍▌▋▊▉ ]+\$/, ' $'))).toEqual(['  (no category) $329.99  1', '  Grocery $112.49  2', '  other (2) $42.00  2']);
  });

  it('the first read after a big sync says it is updating the totals (on a terminal)', async () => {
    const t = seeded({ tty: true });
    const w = t.ctx.store().orderWriter();
    const orders = Array.from({ length: 30 }, (_, i) => order(`M-${i}`, { retailer: 'Amazon', orderDate: new Date(Date.UTC(2023, i, 15)).toISOString(), currency: 'USD', total: 100 }));
    w.commitPage({ connectionId: t.work.id, orders, tombstones: [], cursor: null, runRowId: null, fetched: 30, errors: 0, now: '2026-04-30T00:00:00.000Z' });
    await runOrdersStats(t.ctx, { by: 'retailer' });
    await runOrdersStats(t.ctx, { by: 'retailer' });
    expect(t.io.stderrText()).toBe('Updating the monthly totals after the last sync (once)…\n');
  });

  it('piped: currency, group, orders, total, refunded as tab-separated text', async () => {
    const t = seeded();
    await runOrdersStats(t.ctx, { by: 'category', currency: 'KWD' });
    expect(t.io.stdoutText()).toBe('KWD\tApparel\t1\t12.345\t0.000\n');
  });

  it('demo’s calls work with only the options it passes', async () => {
    const t = seeded();
    expect(await runOrders(t.ctx, { limit: 8 } as OrdersOptions)).toBe(0);
    expect(await runOrdersStats(t.ctx, { by: 'month', since: '365d' } as OrdersStatsOptions)).toBe(0);
    expect(t.io.stdoutText()).toContain('USD\t2026-03\t1\t99.50\t0.00\n');
  });
});

describe('an empty database', () => {
  it('orders and stats say how to get data, on stderr, and exit 0', async () => {
    for (const tty of [true, false]) {
      const t = empty({ tty });
      expect(await runOrders(t.ctx, {})).toBe(0);
      expect(await runOrdersStats(t.ctx, {})).toBe(0);
      expect(t.io.stdoutText()).toBe('');
      const lines = t.io.stderrText().trim().split('\n');
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l).toMatch(/No orders yet.*`orderlink sync`.*`orderlink demo`/);
    }
  });

  it('filters that match nothing say so, differently', async () => {
    const t = seeded({ tty: true });
    await runOrders(t.ctx, { retailer: 'Nowhere' });
    expect(t.io.stderrText()).toBe('No orders match these filters.\n');
  });
});

describe('orders through the CLI (argv → exit code, stderr)', () => {
  async function cli(argv: string[]) {
    const io = captureIO();
    const app: App = { run: async (_name, options, fn) => void (await fn({} as never, options)) };
    const code = await main(argv, { io, app });
    return { code, stderr: io.stderrText() };
  }

  it('rejects list-only flags after `stats`, since commander hands them to `orders`', async () => {
    const r = await cli(['orders', 'stats', '--csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/orders stats does not take --csv/);
  });

  it('bad values are usage errors naming the flag, never stack traces', async () => {
    for (const [argv, message] of [
      [['orders', '--max', '1.23456'], /--max expects an amount/],
      [['orders', '--sort', 'price'], /--sort must be one of date, total, retailer/],
      [['orders', '--status', 'lost'], /--status takes/],
      [['orders', 'stats', '--by', 'week'], /--by must be one of month, retailer, category/],
      [['orders', 'stats', '--currency', 'dollars'], /--currency expects an ISO 4217 code/],
    ] as const) {
      const r = await cli([...argv]);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
