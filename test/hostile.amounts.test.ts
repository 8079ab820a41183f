/**
 * Hostile tests H43–H44: amounts that used to brick the store (SECURITY.md rule 29, issue 9
 * item 6). Totals each within the safe-integer range overflowed SQLite's sum() ("integer
 * overflow"), and unit_price × quantity became a REAL that the STRICT rollup column refused; the
 * rollup refresh at the end of every sync then failed, so every later sync and `orders stats`
 * exited 70. Seeded here through the real page writer (as data from before the door check, or a
 * connector that forgot it), then read through the real binary.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMinor, formatMinor, inMoneyRange, lineAmount, MAX_MINOR_UNITS, MoneyError, toMinorUnits } from '../src/connectors/money.js';
import type { NormalizedOrder } from '../src/connectors/types.js';
import { Store } from '../src/store/index.js';
import { childEnv, runCli } from './helpers/cli.js';
import { tempHome, testContext } from './helpers/context.js';

const NOW = new Date('2026-05-01T12:00:00.000Z');
const ROWS = 20_000; // × 10^15 = 2×10^19: past 2^63 (9.2×10^18), in one day and one retailer
const order = (orderId: string, o: Partial<NormalizedOrder>): NormalizedOrder => ({
  orderId, retailer: 'Whale', orderDate: '2026-04-20T08:00:00.000Z', status: 'delivered', currency: 'USD', subtotal: 0, tax: 0, shipping: 0, discount: 0, total: 0, refunded: 0, providerUpdatedAt: null, items: [], ...o,
});

describe('H43 — amounts are bounded at the door: MAX_MINOR_UNITS', () => {
  it('toMinorUnits refuses anything beyond 10^15 minor units, in every currency', () => {
    expect(MAX_MINOR_UNITS).toBe(10 ** 15);
    expect(toMinorUnits('10000000000000.00', 'USD')).toBe(MAX_MINOR_UNITS);
    expect(toMinorUnits('-10000000000000', 'USD')).toBe(-MAX_MINOR_UNITS);
    expect(toMinorUnits('1000000000000000', 'JPY')).toBe(MAX_MINOR_UNITS);
    for (const [v, c] of [['10000000000000.01', 'USD'], ['1000000000000001', 'JPY'], ['-1000000000000.001', 'KWD'], [9007199254740991, 'JPY']] as const) {
      expect(() => toMinorUnits(v, c), `${v} ${c}`).toThrow(MoneyError);
    }
    expect(inMoneyRange(MAX_MINOR_UNITS)).toBe(true);
    expect(inMoneyRange(-MAX_MINOR_UNITS)).toBe(true);
    expect(inMoneyRange(MAX_MINOR_UNITS + 1)).toBe(false);
    expect(inMoneyRange(1.5)).toBe(false);
    expect(inMoneyRange(Number.NaN)).toBe(false);
  });

  it('sums stay exact past 2^53: numbers while safe, bigints beyond, formatted exactly', () => {
    expect(addMinor(1, 2)).toBe(3);
    expect(addMinor(Number.MAX_SAFE_INTEGER, 2)).toBe(9007199254740993n);
    expect(formatMinor(9007199254740993n, 'USD')).toBe('90071992547409.93');
    expect(formatMinor(-12345n, 'KWD')).toBe('-12.345');
    expect(lineAmount(MAX_MINOR_UNITS, 10_000)).toBe(10n ** 19n);
  });
});

describe('H44 — no stored amount can make the rollups, a sync or `orders stats` fail', () => {
  let home: string;
  const env = childEnv({ ORDERLINK_VAULT_KEY: Buffer.alloc(32, 9).toString('base64') });
  beforeAll(() => {
    home = tempHome('orderlink-h44-');
    const t = testContext({ home, now: () => NOW });
    const store = t.ctx.store();
    const conn = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'whale', providerType: 'direct', tokenRef: 'ref-whale', scopes: '', accountLabel: null, baseUrl: null }, NOW);
    const orders: NormalizedOrder[] = [];
    for (let i = 0; i < ROWS; i++) orders.push(order(`W-${i}`, { total: MAX_MINOR_UNITS, subtotal: MAX_MINOR_UNITS, refunded: i === 0 ? MAX_MINOR_UNITS : 0 }));
    // One line whose unit price × quantity (10^19) does not fit 64 bits; and ten yen orders whose
    // sum (10^16) is past 2^53 but well within SQLite's integers.
    orders.push(order('LINE', { retailer: 'Bulk', total: 1, items: [{ lineNo: 1, name: 'bolts', sku: null, unitPrice: MAX_MINOR_UNITS, quantity: 10_000, category: 'Hardware' }] }));
    for (let i = 0; i < 10; i++) orders.push(order(`Y-${i}`, { retailer: 'Yen', currency: 'JPY', total: MAX_MINOR_UNITS, orderDate: '2026-03-02T08:00:00.000Z' }));
    store.orderWriter().commitPage({ connectionId: conn.id, orders, tombstones: [], cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: NOW.toISOString() });
    t.ctx.close();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('the rollup refresh (what every sync ends with) does not throw; it leaves such months to exact reads', () => {
    const t = testContext({ home, now: () => NOW });
    try {
      const orders = (t.ctx.store() as Store).orders;
      expect(() => orders.refreshRollups('orders')).not.toThrow();
      expect(() => orders.refreshRollups('categories')).not.toThrow();
      // A second refresh (the next sync) is just as calm.
      expect(() => orders.refreshRollups('orders')).not.toThrow();
    } finally {
      t.ctx.close();
    }
  });

  it('orders stats by retailer, month and category answer exactly through the binary (JSON)', async () => {
    const byRetailer = await runCli(['--home', home, '--json', 'orders', 'stats', '--by', 'retailer'], { env });
    expect(byRetailer.code, byRetailer.stdout + byRetailer.stderr).toBe(0);
    const r = JSON.parse(byRetailer.stdout) as { currencies: Array<{ currency: string; total_minor: unknown; total: string; groups: Array<{ key: string; total_minor: unknown; refunded_minor: unknown }> }> };
    const usd = r.currencies.find((c) => c.currency === 'USD')!;
    const whale = usd.groups.find((g) => g.key === 'Whale')!;
    expect(whale.total_minor).toBe(String(BigInt(ROWS) * 10n ** 15n)); // 2×10^19, exact, as digits
    expect(whale.refunded_minor).toBe(MAX_MINOR_UNITS);
    expect(usd.total_minor).toBe(String(BigInt(ROWS) * 10n ** 15n + 1n));
    expect(usd.total).toBe('200000000000000000.01');
    const jpy = r.currencies.find((c) => c.currency === 'JPY')!;
    expect(jpy.total_minor).toBe('10000000000000000');

    const byMonth = await runCli(['--home', home, '--json', 'orders', 'stats', '--by', 'month', '--since', '2026-04-20T00:00:00Z'], { env });
    expect(byMonth.code, byMonth.stderr).toBe(0);
    expect(byMonth.stdout).toContain('"total_minor": "20000000000000000001"');

    const byCategory = await runCli(['--home', home, '--json', 'orders', 'stats', '--by', 'category'], { env });
    expect(byCategory.code, byCategory.stderr).toBe(0);
    expect(byCategory.stdout).toContain('"total_minor": "10000000000000000000"');

    const show = await runCli(['--home', home, '--json', 'orders', 'show', 'LINE'], { env });
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout).items[0].amount_minor).toBe('10000000000000000000');
  });

  it('piped stats, the listing footer and the amount filters work too (exit 0, exact)', async () => {
    const tsv = await runCli(['--home', home, 'orders', 'stats', '--by', 'retailer'], { env });
    expect(tsv.code, tsv.stderr).toBe(0);
    expect(tsv.stdout).toContain('USD\tWhale\t20000\t200000000000000000.00\t10000000000000.00');
    for (const args of [['orders', 'stats'], ['orders', 'stats', '--min', '1'], ['orders', 'stats', '--by', 'category', '--search', 'bolts'], ['orders', '--limit', '5'], ['orders', '--sort', 'total', '--currency', 'USD', '--limit', '3']]) {
      const r = await runCli(['--home', home, ...args], { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });
});
