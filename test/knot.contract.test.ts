/**
 * Knot's recorded payloads (three doc versions) through the real pipeline — allow-list and
 * scrub, raw schema, mapper, store invariants — into the hand-written expected orders; plus the
 * traps the recordings do not show (fixtures README 8, 16, 17, 19, 22) and the classifier.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { knot } from '../src/connectors/knot/index.js';
import { classify } from '../src/connectors/knot/api.js';
import { knotCursor } from '../src/connectors/knot/schema.js';
import { applyPolicy } from '../src/policy/index.js';
import { mapRecords } from '../src/sync/pipeline.js';
import type { Connector } from '../src/connectors/types.js';
import { makeTransaction, MERCHANTS } from '../src/sandbox/replicas/knot-data.js';
import { knotFixtures } from './helpers/knot.js';

const c = knot as unknown as Connector;
const expected = (name: string) => JSON.parse(readFileSync(new URL(`../src/connectors/knot/expected/${name}`, import.meta.url), 'utf8')).orders as unknown[];
const DROPPED = /payment_methods|last_four|brand|transaction_amount|shipping|location|address|first_name|last_name|"url"|image_url|description|seller|eligibility|label/;

const base = {
  id: 't-1',
  datetime: '2024-11-10T00:00:00+00:00',
  order_status: 'COMPLETED',
  price: { sub_total: '10.00', total: '10.80', currency: 'USD', adjustments: [{ type: 'TAX', label: 'tax', amount: '0.80' }] },
  products: [{ name: 'Thing', external_id: 'SKU-1', quantity: 2, price: { unit_price: '5.00', sub_total: '10.00', total: '10.00' } }],
  merchant: { id: 45, name: 'Walmart' },
};
const one = (over: Record<string, unknown>) => mapRecords(c, [{ ...base, ...over }], 1);

describe('knot contract: recorded payloads', () => {
  it.each(knotFixtures().map((f) => [f.name, f.records] as const))('%s becomes the expected orders', (name, records) => {
    const page = mapRecords(c, records, 1);
    expect(page.errors).toEqual([]);
    expect(page.orders).toEqual(expected(name));
    for (const r of records) expect(JSON.stringify(applyPolicy(r, c.allowList, c.freeText))).not.toMatch(DROPPED);
  });

  it('the request example is what fetchOrders sends (merchant_id, external_user_id, cursor, limit)', () => {
    const req = JSON.parse(readFileSync(new URL('../src/connectors/knot/fixtures/sync_request.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(req).sort()).toEqual(['cursor', 'external_user_id', 'limit', 'merchant_id']);
  });
});

describe('knot contract: traps', () => {
  it('amounts as numbers, mixed with strings in one page (trap 8)', () => {
    const p = mapRecords(c, [base, { ...base, id: 't-2', price: { sub_total: 10, total: 10.8, currency: 'USD', adjustments: [{ type: 'TAX', amount: 0.8 }] } }], 1);
    expect(p.errors).toEqual([]);
    expect(p.orders.map((o) => [o.subtotal, o.tax, o.total])).toEqual([[1000, 80, 1080], [1000, 80, 1080]]);
  });

  it('dates with +00:00, Z, or no zone with microseconds are all UTC (trap 19)', () => {
    const d = (datetime: string) => one({ datetime }).orders[0]!.orderDate;
    expect(d('2024-11-10T23:59:59+00:00')).toBe('2024-11-10T23:59:59.000Z');
    expect(d('2024-11-10T23:59:59.123456')).toBe('2024-11-10T23:59:59.123Z');
    expect(d('2024-11-10T20:00:00-05:00')).toBe('2024-11-11T01:00:00.000Z');
    expect(one({ datetime: 'yesterday' }).errors[0]).toMatchObject({ orderId: 't-1', field: 'datetime' });
  });

  it('unknown and differently spelled statuses are accepted (trap 22)', () => {
    expect(['ON_HOLD', 'UNRECOGNIZED', 'RETURNED', 'PICKED_UP', null].map((s) => one({ order_status: s }).orders[0]!.status)).toEqual(['unknown', 'unknown', 'returned', 'delivered', 'unknown']);
  });

  it('product ids with suffixes stay as sent (trap 17); split tender is dropped whole (trap 16)', () => {
    const p = one({ products: [{ name: 'A', external_id: '10315643-2_B', quantity: 1, price: { unit_price: '1.00' } }], payment_methods: [{ type: 'CARD', last_four: '5690' }, { type: 'GIFT_CARD', last_four: '1802' }] });
    expect(p.orders[0]!.items[0]!.sku).toBe('10315643-2_B');
    expect(JSON.stringify(p.orders)).not.toMatch(/5690|1802|GIFT_CARD/);
  });

  it('FEE and TIP are shipping, REFUND is refunded, a missing currency is USD, a missing unit price comes from an exact line total', () => {
    const o = one({ price: { sub_total: '10.00', total: '13.29', currency: null, adjustments: [{ type: 'FEE', amount: '1.99' }, { type: 'TIP', amount: '1.30' }, { type: 'REFUND', amount: '-2.00' }, { type: 'SOMETHING_NEW', amount: '9.99' }] }, products: [{ name: 'X', quantity: 4, price: { total: '10.00' } }] }).orders[0]!;
    expect(o).toMatchObject({ currency: 'USD', shipping: 329, refunded: 200, tax: 0, total: 1329 });
    expect(o.items[0]).toMatchObject({ unitPrice: 250, quantity: 4, category: null });
    const bad = one({ products: [{ name: 'X', quantity: 3, price: { total: '10.00' } }] });
    expect(bad.errors[0]).toMatchObject({ orderId: 't-1', field: 'amounts' });
  });

  it('a Luhn-valid card number in a product name is redacted; unknown keys are ignored', () => {
    const o = one({ products: [{ name: 'Gift card 4111 1111 1111 1111', external_id: 'GC', quantity: 1, price: { unit_price: '25.00' } }], brand_new_field: { x: 1 } }).orders[0]!;
    expect(o.items[0]!.name).not.toMatch(/4111/);
  });

  it('every replica transaction maps cleanly, payment data dropped', () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ ...makeTransaction(42, 'u', MERCHANTS[1]!, i), merchant: { id: 44, name: 'Amazon' } }));
    const p = mapRecords(c, records, 1);
    expect(p.errors).toEqual([]);
    expect(p.orders).toHaveLength(300);
    for (const o of p.orders) expect(o.subtotal + o.tax + o.shipping - o.discount).toBe(o.total);
    for (const r of records) expect(JSON.stringify(applyPolicy(r, c.allowList, c.freeText))).not.toMatch(DROPPED);
  });

  it('the cursor keeps its shape through JSON', () => {
    const s = { next: 'eyJpZCI6MjI3ODF9', resume: null };
    expect(knotCursor.parse(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });
});

describe('knot classifier', () => {
  const res = (status: number, body: unknown, headers: Record<string, string> = {}) => classify({ status, headers: new Headers(headers), body: typeof body === 'string' ? body : JSON.stringify(body) });
  it('login required / disconnected → reauth; 429 → wait (Retry-After); 5xx → retry; keys → fatal with a setup hint', () => {
    expect(res(400, { error_type: 'ACCOUNT_ERROR', error_code: 'ACCOUNT_LOGIN_REQUIRED', error_message: 'x' }).kind).toBe('reauth');
    expect(res(400, { error_message: 'Merchant account is disconnected' }).kind).toBe('reauth');
    expect(res(429, '', { 'retry-after': '2' })).toEqual({ kind: 'rate_limited', waitMs: 2000 });
    expect(res(429, '')).toEqual({ kind: 'rate_limited', waitMs: null });
    expect(res(503, '').kind).toBe('retry');
    const keys = res(401, { error_code: 'INVALID_API_KEYS', error_message: 'Invalid client_id or secret provided.' });
    expect(keys).toMatchObject({ kind: 'fatal', message: expect.stringContaining('INVALID_API_KEYS') });
    expect(keys.kind === 'fatal' && keys.hint).toMatch(/connector setup knot/);
    const gone = res(400, { error_code: 'MERCHANT_ACCOUNT_NOT_FOUND', error_message: 'no account' });
    // No linked merchant account any more: the grant is gone (exit 4, link --reconnect).
    expect(gone).toMatchObject({ kind: 'reauth', message: expect.stringContaining('MERCHANT_ACCOUNT_NOT_FOUND') });
    expect(res(400, '<html>\u001b[31m oops').kind === 'fatal' && (res(400, '<html>\u001b[31m oops') as { message: string }).message).not.toContain('\u001b');
  });
});
