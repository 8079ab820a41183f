/**
 * amazon-seller pieces without a network: the mapping's money rules (JPY with and without
 * decimals, mixed currencies, an ItemPrice that does not divide), classification of SP-API and
 * LWA answers, boundaries as Amazon writes them, the region rules, and a stale pagination token.
 */
import { describe, expect, it } from 'vitest';
import { amazonSeller, classify } from '../src/connectors/amazon-seller/index.js';
import { sellerRecord, toOrder } from '../src/connectors/amazon-seller/mapping.js';
import { completeConfig, parseBoundary } from '../src/connectors/amazon-seller/regions.js';
import { mapRecords } from '../src/sync/pipeline.js';
import type { HttpFunction } from '../src/connectors/types.js';

const v0 = (items: unknown[], extra: Record<string, unknown> = {}) => ({ AmazonOrderId: '250-0000000-0000001', PurchaseDate: '2026-01-02T03:04:05Z', LastUpdateDate: '2026-01-02T04:04:05Z', OrderStatus: 'Shipped', MarketplaceId: 'A1VC38T7YXB528', OrderItems: items, ...extra });
const item = (price: string, qty: number | string, cur = 'JPY') => ({ ASIN: 'B0TEST', OrderItemId: `i${price}`, Title: 'Tea', QuantityOrdered: qty, ItemPrice: { CurrencyCode: cur, Amount: price } });

describe('mapping', () => {
  it('JPY without and with ".00" decimals is the same yen; real decimals make the record invalid, never rounded', () => {
    const ok = mapRecords(amazonSeller, [v0([item('1980', 1), item('3960.00', '2')])], 1);
    expect(ok.errors).toEqual([]);
    expect(ok.orders[0]).toMatchObject({ currency: 'JPY', subtotal: 5940, items: [{ unitPrice: 1980, quantity: 1 }, { unitPrice: 1980, quantity: 2 }] });
    const bad = mapRecords(amazonSeller, [v0([item('25.99', 1)])], 1);
    expect(bad.orders).toEqual([]);
    expect(bad.errors[0]).toMatchObject({ orderId: '250-0000000-0000001', field: 'amounts', message: expect.stringMatching(/more decimals than JPY/) });
  });

  it('an ItemPrice that is not a whole number of minor units per item, or mixed currencies, is an invalid record', () => {
    expect(mapRecords(amazonSeller, [v0([item('10.01', 2, 'USD')], { MarketplaceId: 'ATVPDKIKX0DER' })], 1).errors[0]!.message).toMatch(/not divisible by quantity 2/);
    expect(mapRecords(amazonSeller, [v0([item('10.00', 1, 'USD')], { OrderTotal: { CurrencyCode: 'EUR', Amount: '10.00' } })], 1).errors[0]!.message).toMatch(/mixes EUR and USD/);
  });

  it('a pending v0 order without prices takes its currency from the marketplace', () => {
    const r = mapRecords(amazonSeller, [v0([{ ASIN: 'B0X', OrderItemId: '1', QuantityOrdered: 1 }], { OrderStatus: 'Pending', MarketplaceId: 'ATVPDKIKX0DER' })], 1);
    expect(r.orders[0]).toMatchObject({ currency: 'USD', total: 0, status: 'placed' });
  });

  it('2026: total is the seller proceeds; DISCOUNT is a positive discount; unknown statuses are unknown', () => {
    const raw = sellerRecord.parse({
      orderId: '1', createdTime: '2026-01-01T00:00:00Z', lastUpdatedTime: '2026-01-01T00:00:00Z',
      proceeds: { grandTotal: { amount: '90.00', currencyCode: 'EUR' }, breakdowns: [{ type: 'ITEM', subtotal: { amount: '100.00', currencyCode: 'EUR' } }, { type: 'DISCOUNT', subtotal: { amount: '-10.00', currencyCode: 'EUR' } }] },
      fulfillment: { fulfillmentStatus: 'SOMETHING_NEW' },
      orderItems: [{ orderItemId: 'a', quantityOrdered: 1, product: { asin: 'B0', price: { unitPrice: { amount: 100, currencyCode: 'EUR' } } } }],
    });
    expect(toOrder(raw)).toMatchObject({ total: 9000, subtotal: 10000, discount: 1000, status: 'unknown', retailer: 'Amazon', items: [{ name: 'B0', sku: 'B0', unitPrice: 10000 }] });
  });
});

describe('classification', () => {
  const res = (status: number, body: unknown, headers: Record<string, string> = {}) => classify({ status, headers: new Headers(headers), body: JSON.stringify(body) });
  it('SP-API errors: 429, expired token, access denied, InvalidInput', () => {
    expect(res(429, { errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.' }] }, { 'x-amzn-RateLimit-Limit': '0.5' })).toEqual({ kind: 'rate_limited', waitMs: 2000 });
    expect(res(403, { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: 'The access token you provided has expired.' }] })).toEqual({ kind: 'unauthorized' });
    expect(res(403, { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: '' }] })).toMatchObject({ kind: 'reauth', message: expect.stringMatching(/Access to requested resource is denied/) });
    expect(res(400, { errors: [{ code: 'InvalidInput', message: 'Invalid Input', details: 'MarketplaceIds is required.' }] })).toMatchObject({ kind: 'fatal', message: 'HTTP 400 InvalidInput: Invalid Input: MarketplaceIds is required.', hint: expect.stringMatching(/marketplace/) });
    expect(res(503, '<html>')).toMatchObject({ kind: 'retry' });
  });
});

describe('boundaries and regions', () => {
  it('reads Amazon boundaries: ISO, and epoch seconds written as a number string ("1.569521782042E9")', () => {
    expect(parseBoundary('2024-12-25T15:00:00Z')).toBe('2024-12-25T15:00:00.000Z');
    expect(parseBoundary('1.569521782042E9')).toBe('2019-09-26T18:16:22.042Z');
    expect(parseBoundary('soon')).toBeNull();
    expect(parseBoundary(12)).toBeNull();
  });

  it('picks the region from the marketplace and the environment among those set up', () => {
    expect(completeConfig({ marketplace: 'A1PA6795UKMFR9' }, ['eu-sandbox'])).toMatchObject({ region: 'eu', environment: 'eu-sandbox', api: '2026-01-01' });
    expect(completeConfig({ marketplace: 'A1PA6795UKMFR9' }, ['eu', 'eu-sandbox'])).toMatchObject({ environment: 'eu' });
    expect(() => completeConfig({}, ['na'])).toThrow(/needs the marketplace/);
    expect(() => completeConfig({ marketplace: 'ATVPDKIKX0DER' }, ['eu'])).toThrow(/no app credentials for the NA region/);
    expect(() => completeConfig({ marketplace: 'ATVPDKIKX0DER', environment: 'fe' }, ['fe'])).toThrow(/served by the NA region/);
    expect(() => completeConfig({ marketplace: 'ZZZZZZZZZZ' }, ['na'])).toThrow(/which region/);
    expect(completeConfig({ marketplace: 'ZZZZZZZZZZ', environment: 'na' }, ['na'])).toMatchObject({ region: 'na' });
  });
});

describe('fetchOrders', () => {
  it('does not send a pagination token from a pass older than 23 hours: the pass restarts from its lastUpdatedAfter', async () => {
    const urls: string[] = [];
    const http: HttpFunction = async (url) => {
      urls.push(url);
      return { status: 200, headers: new Headers(), text: async () => '{"orders":[],"lastUpdatedBefore":"2026-01-01T00:00:00Z"}', json: async () => ({}) };
    };
    const base = { baseUrl: 'http://127.0.0.1:1', session: { type: 'bearer' as const, accessToken: 'x' }, config: { marketplace: 'ATVPDKIKX0DER' }, since: null, limit: 100, signal: new AbortController().signal, http };
    const old = new Date(Date.now() - 30 * 3_600_000).toISOString();
    await amazonSeller.fetchOrders!({ ...base, cursor: { api: '2026-01-01', next: 'TOKEN', after: '2026-01-01T00:00:00Z', before: old } });
    await amazonSeller.fetchOrders!({ ...base, cursor: { api: '2026-01-01', next: 'TOKEN', after: '2026-01-01T00:00:00Z', before: new Date().toISOString() } });
    expect(urls[0]).not.toContain('paginationToken');
    expect(urls[0]).toContain('lastUpdatedAfter=2026-01-01T00%3A00%3A00Z');
    expect(urls[1]).toContain('paginationToken=TOKEN');
    expect(urls[1]).toContain('includedData=PROCEEDS%2CFULFILLMENT');
  });
});
