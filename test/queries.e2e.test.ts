/**
 * Issue 12, "Queries that never mislead", through the real binary: repeatable --retailer and
 * --category, --sort total only within one currency, impossible dates and unknown currencies as
 * usage errors, tables that fit the terminal, long output through $PAGER on a terminal only, and
 * piped TSV with a documented column order and an optional header.
 */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedOrder } from '../src/connectors/types.js';
import { fitWidths } from '../src/ui/render.js';
import { DEFAULT_PAGER, pagerEnv, pagerFor } from '../src/ui/pager.js';
import { TSV_COLUMNS } from '../src/ui/orders-view.js';
import { displayWidth } from '../src/ui/safe-text.js';
import { childEnv, runCli } from './helpers/cli.js';
import { tempHome, testContext } from './helpers/context.js';
import { onTerminal } from './helpers/pty.js';
import { oneItemOrder } from './helpers/orders.js';

const NOW = new Date('2026-05-01T00:00:00.000Z');
const LONG = 'An extraordinarily long retailer name that would wrap any table on a narrow terminal';

function order(orderId: string, retailer: string, currency: string, total: number, category: string, day: number): NormalizedOrder {
  return oneItemOrder({ orderId, retailer, currency, total, category, orderDate: `2026-03-${String(day).padStart(2, '0')}T10:00:00.000Z` });
}

let home: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(['--home', home, ...args], { env: { ...env, ...extra } });

beforeAll(() => {
  home = tempHome('orderlink-queries-');
  const t = testContext({ home, now: () => NOW });
  const store = t.ctx.store();
  const conn = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'main', providerType: 'direct', tokenRef: 'ref-main', scopes: '', accountLabel: null, baseUrl: null }, NOW);
  const orders = [
    order('T-1', 'Target', 'USD', 1299, 'Grocery', 1),
    order('T-2', 'target', 'USD', 9950, 'Home', 2),
    order('W-1', 'Walmart', 'USD', 4550, 'Electronics', 3),
    order('R-1', 'Rakuten', 'JPY', 120000, 'Grocery', 4),
    order('L-1', LONG, 'EUR', 4999, 'Home', 5),
  ];
  // Enough rows to fill any small screen, for the pager.
  for (let i = 0; i < 60; i++) orders.push(order(`BULK-${i}`, 'Bulk Store', 'USD', 100 + i, 'Bulk', 6 + (i % 20)));
  store.orderWriter().commitPage({ connectionId: conn.id, orders, tombstones: [], cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: NOW.toISOString() });
  t.ctx.close();
  env = childEnv();
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const ids = (tsv: string): string[] => tsv.trim().split('\n').filter(Boolean).map((l) => l.split('\t')[2]!);

describe('repeatable filters', () => {
  it('--retailer and --category repeat: any of the values (any case), every flag must match', async () => {
    const r = await cli(['orders', '--retailer', 'TARGET', '--retailer', 'walmart', '--sort', 'date', '--reverse']);
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout)).toEqual(['T-1', 'T-2', 'W-1']);
    const both = await cli(['orders', '--retailer', 'target', '--retailer', 'Walmart', '--category', 'home', '--category', 'ELECTRONICS']);
    expect(ids(both.stdout).sort()).toEqual(['T-2', 'W-1']);
    const stats = await cli(['--json', 'orders', 'stats', '--by', 'retailer', '--retailer', 'Target', '--retailer', 'Rakuten']);
    const groups = (JSON.parse(stats.stdout) as { currencies: Array<{ currency: string; groups: Array<{ key: string; orders: number }> }> }).currencies;
    expect(groups.map((c) => c.currency).sort()).toEqual(['JPY', 'USD']);
    expect(groups.find((c) => c.currency === 'USD')!.groups.reduce((n, g) => n + g.orders, 0)).toBe(2);
  });
});

describe('--sort total within one currency', () => {
  it('across currencies it is a usage error with a hint; with --currency or one currency it sorts', async () => {
    const mixed = await cli(['orders', '--sort', 'total']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--sort total cannot compare amounts in different currencies \(these orders are in EUR, JPY, USD\)/);
    expect(mixed.stderr).toMatch(/hint:.*--currency EUR/);
    const json = await cli(['--json', 'orders', '--sort', 'total']);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'SORT_ACROSS_CURRENCIES', exitCode: 2 } });
    const usd = await cli(['orders', '--sort', 'total', '--currency', 'usd', '--limit', '3']);
    expect(ids(usd.stdout)).toEqual(['T-2', 'W-1', 'T-1']);
    const oneCurrency = await cli(['orders', '--sort', 'total', '--retailer', 'target']);
    expect(ids(oneCurrency.stdout)).toEqual(['T-2', 'T-1']);
  });

  it('--help says so', async () => {
    const r = await runCli(['orders', '--help'], { env });
    expect(r.stdout).toMatch(/--sort total compares amounts, which only makes sense\s+in one currency/);
  });
});

describe('impossible dates and unknown currencies are usage errors', () => {
  for (const [args, message] of [
    [['orders', '--since', '2026-02-30'], /--since: 2026-02-30 is not a date in the calendar/],
    [['orders', '--until', '2026-13-01'], /--until: 2026-13-01 is not a date in the calendar/],
    [['orders', 'stats', '--since', '2026-04-31T10:00:00Z'], /2026-04-31 is not a date in the calendar/],
    [['charges', '--until', '2026-02-29'], /--until expects a day like 2026-01-31/],
    [['orders', '--currency', 'XYZ'], /--currency XYZ is not an ISO 4217 currency code/],
  ] as Array<[string[], RegExp]>) {
    it(args.join(' '), async () => {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint:/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('the currency hint names the currencies the orders are in; a leap day is a real day', async () => {
    const r = await cli(['orders', '--currency', 'USS']);
    expect(r.stderr).toMatch(/Your orders are in EUR, JPY, USD/);
    expect((await cli(['orders', '--since', '2028-02-29'])).code).toBe(0);
    expect((await cli(['orders', '--currency', 'KWD'])).code).toBe(0); // ISO 4217, no orders: not an error
  });
});

describe('piped TSV', () => {
  it('has the documented column order, and a header only with --header', async () => {
    const help = await runCli(['orders', '--help'], { env });
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`columns, in this order: ${TSV_COLUMNS.join(', ')}`);
    const plain = await cli(['orders', '--retailer', 'walmart']);
    expect(plain.stdout).toBe('2026-03-03T10:00:00.000Z\tsandbox:main\tW-1\tWalmart\tdelivered\tUSD\t45.50\t1\n');
    const headed = await cli(['orders', '--retailer', 'walmart', '--header']);
    expect(headed.stdout.split('\n')[0]).toBe(TSV_COLUMNS.join('\t'));
    expect(headed.stdout.split('\n')[1]).toBe(plain.stdout.trim());
    const stats = await cli(['orders', 'stats', '--header']);
    expect(stats.stdout.split('\n')[0]).toBe('currency\tgroup\torders\ttotal\trefunded');
    const charges = await cli(['charges', '--header']);
    expect(charges.code).toBe(0);
    expect(charges.stdout).toBe('date\tmerchant\tamount\tcurrency\tstatus\tcategory\tconnection\n');
    const bad = await cli(['--json', 'orders', '--header']);
    expect(bad.code).toBe(2);
  });
});

/** The binary on a pseudo-terminal of a given size (script(1)), as a person runs it. */
function onTty(args: string[], size: { rows: number; cols: number }, extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return onTerminal(['--home', home, ...args], { env: { ...env, ...extra }, ...size });
}

describe('tables fit the terminal', () => {
  it('fitWidths cuts the widest text column first and never below its minimum', () => {
    expect(fitWidths([10, 80, 8], [6, 6, 6], [true, true, false], 60)).toEqual([10, 42, 8]);
    expect(fitWidths([10, 30, 30], [6, 6, 6], [true, true, true], 40)).toEqual([10, 15, 15]);
    expect(fitWidths([10, 10], [8, 8], [true, true], 5)).toEqual([8, 8]);
  });

  it('on a 70-column terminal every line fits and the long retailer ends with an ellipsis', async () => {
    const r = await onTty(['orders', '--currency', 'EUR', '--no-pager'], { rows: 40, cols: 70 });
    expect(r.code).toBe(0);
    const lines = r.out.split(/\r?\n/).filter(Boolean);
    expect(lines.some((l) => /An extraordinar\S*…/.test(l))).toBe(true);
    for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(70);
  });
});

describe('long output goes through the pager on a terminal only', () => {
  it('the decision: terminal, not --json, not --no-pager, longer than the screen; ORDERLINK_PAGER, then PAGER, then less -FRX', () => {
    const base = { stdoutIsTTY: true, json: false, pager: true, rows: 20, lines: 50, env: {} };
    expect(pagerFor(base)).toEqual({ command: 'less', args: ['-FRX'] });
    expect(DEFAULT_PAGER).toBe('less -FRX');
    expect(pagerFor({ ...base, stdoutIsTTY: false })).toBeNull();
    expect(pagerFor({ ...base, json: true })).toBeNull();
    expect(pagerFor({ ...base, pager: false })).toBeNull();
    expect(pagerFor({ ...base, lines: 19 })).toBeNull();
    expect(pagerFor({ ...base, rows: undefined })).toBeNull();
    expect(pagerFor({ ...base, env: { PAGER: 'more -d' } })).toEqual({ command: 'more', args: ['-d'] });
    expect(pagerFor({ ...base, env: { PAGER: 'more', ORDERLINK_PAGER: 'most' } })).toEqual({ command: 'most', args: [] });
    expect(pagerFor({ ...base, env: { PAGER: '' } })).toBeNull();
    expect(pagerFor({ ...base, env: { PAGER: 'less', ORDERLINK_PAGER: '' } })).toBeNull();
    expect(pagerFor({ ...base, env: { PAGER: 'cat' } })).toBeNull();
    const scrubbed = pagerEnv({ ORDERLINK_VAULT_KEY: 'k', GITHUB_TOKEN: 't', PATH: '/bin' });
    expect(scrubbed).toEqual({ PATH: '/bin', LESS: 'FRX', LV: '-c' });
  });

  it('the real binary pipes a long table into $PAGER on a pty, with a scrubbed environment; never when piped, with --json or --no-pager', async () => {
    const dir = tempHome('orderlink-pager-');
    try {
      const log = join(dir, 'paged.txt');
      const script = join(dir, 'pager.mjs');
      writeFileSync(
        script,
        `import { readFileSync, writeFileSync } from 'node:fs';
const input = readFileSync(0, 'utf8');
writeFileSync(process.env.PAGER_LOG, JSON.stringify({ input, args: process.argv.slice(2), key: process.env.ORDERLINK_VAULT_KEY ?? null, less: process.env.LESS ?? null }));
process.stdout.write('PAGER-RAN\\n');`,
      );
      chmodSync(script, 0o600);
      const pager = `${process.execPath} ${script} --flag`;
      const extra = { PAGER: pager, PAGER_LOG: log, ORDERLINK_VAULT_KEY: 'dGhpcyBpcyBub3QgYSByZWFsIGtleSBidXQgMzIgYnl0ZQ==' };
      const r = await onTty(['orders', '--limit', '40'], { rows: 20, cols: 120 }, extra);
      expect(r.code).toBe(0);
      expect(r.out).toContain('PAGER-RAN');
      const seen = JSON.parse(readFileSync(log, 'utf8')) as { input: string; args: string[]; key: string | null; less: string | null };
      expect(seen.args).toEqual(['--flag']);
      expect(seen.key).toBeNull();
      expect(seen.less).toBe('FRX');
      expect(seen.input).toMatch(/BULK-/);
      expect(seen.input).toMatch(/40 of 65 orders/);
      rmSync(log);

      // Short output, --no-pager, ORDERLINK_PAGER=, --json and a pipe: written directly.
      for (const [args, env2] of [
        [['orders', '--limit', '5'], {}],
        [['orders', '--limit', '40', '--no-pager'], {}],
        [['orders', '--limit', '40'], { ORDERLINK_PAGER: '' }],
        [['--json', 'orders', '--limit', '40'], {}],
      ] as Array<[string[], NodeJS.ProcessEnv]>) {
        const d = await onTty(args, { rows: 20, cols: 120 }, { ...extra, ...env2 });
        expect(d.code, args.join(' ')).toBe(0);
        expect(d.out, args.join(' ')).not.toContain('PAGER-RAN');
        expect(existsSync(log), args.join(' ')).toBe(false);
      }
      const piped = await cli(['orders', '--limit', '40'], extra);
      expect(piped.stdout.split('\n').filter(Boolean)).toHaveLength(40);
      expect(existsSync(log)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Ctrl-C while the pager is open is the pager\'s: orderlink waits for it to exit, then exits 0 (the terminal is never left to an orphaned pager)', async () => {
    const dir = tempHome('orderlink-pager-int-');
    try {
      // A pager that, like less, takes Ctrl-C itself: it counts SIGINTs and quits after the second.
      const script = join(dir, 'pager.mjs');
      writeFileSync(
        script,
        `let n = 0;
process.stdin.resume();
setInterval(() => {}, 1000); // alive after its input ends, as less is until q
process.on('SIGINT', () => {
  n++;
  process.stdout.write('PAGER-SIGINT-' + n + '\\n');
  if (n === 2) setTimeout(() => { process.stdout.write('PAGER-DONE\\n'); process.exit(0); }, 400);
});
process.stdout.write('PAGER-READY\\n');`,
      );
      // Ctrl-C twice once the pager is up, as a person would at less.
      const r = await onTerminal(['--home', home, 'orders', '--limit', '40'], {
        env: { ...env, PAGER: `${process.execPath} ${script}` },
        rows: 20,
        steps: [
          { when: /PAGER-READY/, send: '\x03' },
          { when: /PAGER-SIGINT-1/, send: '\x03', delayMs: 100 },
        ],
        timeoutMs: 20_000,
      });
      expect(r.out).toContain('PAGER-SIGINT-2');
      // orderlink was still there when the pager finished: the session lasted until PAGER-DONE.
      expect(r.out).toContain('PAGER-DONE');
      expect(r.code, r.out).toBe(0);
      expect(r.out).not.toMatch(/internal error|interrupted|at .*\.js:\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
