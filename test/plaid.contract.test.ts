/**
 * Plaid's mapper against the official `/transactions/sync` examples (six dated versions of
 * plaid-openapi, copied into src/connectors/plaid/fixtures/ with the normalized charges each must
 * become in expected/), the classifier on Plaid's documented error bodies, and the charge writer's
 * "one purchase, never two" rule whatever order a pending→posted pair arrives in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { plaid } from '../src/connectors/plaid/index.js';
import { pageRecords } from '../src/connectors/plaid/records.js';
import { isRemovedCharge, type ChargeChange, type NormalizedCharge } from '../src/domain.js';
import { applyPolicy } from '../src/policy/index.js';
import { mapRecords } from '../src/sync/pipeline.js';
import { migrate } from '../src/store/db.js';
import { ChargeWriter } from '../src/store/charges.js';

const dir = (p: string) => fileURLToPath(new URL(`../src/connectors/plaid/${p}`, import.meta.url));
const MUTATION_ERROR = `{
 "error_type": "TRANSACTIONS_ERROR",
 "error_code": "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
 "error_message": "Underlying transaction data changed since last page was fetched. Please restart pagination from last update.",
 "display_message": null,
 "request_id": "HNTDNrA8F1shFEW"
}`;
const fixtures = readdirSync(dir('fixtures')).filter((f) => f.endsWith('.json') && f !== 'credential.json' && !f.includes('documented-shape'));
const read = (p: string) => JSON.parse(readFileSync(dir(p), 'utf8')) as Record<string, unknown>;
/** Names of fields that carry payment or address data in Plaid's schema (CONNECTORS.md §3.7). */
const DROPPED = ['payment_meta', 'location', 'account_owner', 'account_numbers', 'mask', 'official_name', 'balances', 'original_description', 'address', 'postal_code', 'store_number', 'lat', 'lon'];

describe('Plaid contract fixtures', () => {
  it('has all six official examples', () => expect(fixtures.length).toBe(6));

  it.each(fixtures)('%s maps to its expected charges, purely', (f) => {
    const body = read(`fixtures/${f}`) as { added: unknown[]; modified: unknown[]; removed: unknown[] };
    const mapped = pageRecords(body).map((r) => plaid.toCharge!(plaid.rawSchema.parse(applyPolicy(r, plaid.allowList, plaid.freeText))));
    expect(mapped).toEqual(read(`expected/${f}`).charges);
    // The pipeline gives the same (no record fails), and twice the same input gives the same output.
    const page = mapRecords(plaid, pageRecords(body), 1);
    expect(page.errors).toEqual([]);
    expect(page.charges).toEqual(mapped);
    expect(page.orders).toEqual([]);
    expect(mapRecords(plaid, pageRecords(body), 1).charges).toEqual(mapped);
  });

  it.each(fixtures)('%s: nothing of the payment, address or account fields survives the allow-list', (f) => {
    const body = read(`fixtures/${f}`) as { added: unknown[]; modified: unknown[]; removed: unknown[] };
    for (const r of pageRecords(body)) {
      const clean = JSON.stringify(applyPolicy(r, plaid.allowList, plaid.freeText));
      for (const k of DROPPED) expect(clean).not.toContain(`"${k}"`);
    }
    for (const k of plaid.allowList) expect(k).not.toMatch(/payment|location|address|mask|owner|account_numbers|balance/);
  });

  it('money: JSON numbers in major units become exact minor units; positive = money out, negative = money in', () => {
    const base = { transaction_id: 't1', account_id: 'a', date: '2026-01-31', pending: false, iso_currency_code: 'USD', merchant_name: 'X' };
    const m = (amount: number, extra: Record<string, unknown> = {}) => plaid.toCharge!(plaid.rawSchema.parse(applyPolicy({ ...base, amount, ...extra }, plaid.allowList, plaid.freeText))) as NormalizedCharge;
    expect(m(72.1).amount).toBe(7210);
    expect(m(0.1 + 0.2).amount).toBe(30);
    expect(m(-500).amount).toBe(-50000);
    expect(m(1200, { iso_currency_code: 'JPY' }).amount).toBe(1200);
    expect(m(12.345, { iso_currency_code: null, unofficial_currency_code: 'KWD' })).toMatchObject({ amount: 12345, currency: 'KWD' });
    expect(() => m(12.345)).toThrow(/more decimals/);
    // A bare calendar date is kept as it is (never shifted through a time zone); a null datetime stays null.
    expect(m(1, { date: '2026-03-01', datetime: null })).toMatchObject({ date: '2026-03-01', datetime: null });
    // No merchant_name: the merchant counterparty, then the bank text (scrubbed of card numbers).
    expect(m(1, { merchant_name: null, counterparties: [{ name: 'Shop', type: 'merchant' }] }).merchant).toBe('Shop');
    expect(m(1, { merchant_name: null, name: 'CARD 4111 1111 1111 1111 DELI' }).merchant).toBe('CARD [card number removed] DELI');
    // Neither currency set: an invalid record, named, not a guess.
    const bad = mapRecords(plaid, [{ ...base, amount: 1, iso_currency_code: null }], 1);
    expect(bad.errors[0]).toMatchObject({ orderId: 't1', field: 'iso_currency_code' });
  });

  it('classifies Plaid errors by their code, not the HTTP status', () => {
    // The documented body (../shared/fixtures/realworld/plaid/errors/), byte for byte.
    const mutation = MUTATION_ERROR;
    const h = new Headers();
    const c = (status: number, body: unknown) => plaid.classify!({ status, headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
    expect(c(400, mutation).kind).toBe('restart');
    expect(c(400, { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'login', display_message: null })).toMatchObject({ kind: 'reauth' });
    expect(c(429, { error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'TRANSACTIONS_SYNC_LIMIT', error_message: 'x', display_message: null }).kind).toBe('rate_limited');
    expect(c(500, { error_type: 'API_ERROR', error_code: 'INTERNAL_SERVER_ERROR', error_message: 'x', display_message: null }).kind).toBe('retry');
    expect(c(400, { error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND', error_message: 'gone', display_message: null }).kind).toBe('reauth');
    const fatal = c(400, { error_type: 'INVALID_INPUT', error_code: 'INVALID_API_KEYS', error_message: 'invalid client_id or secret provided', display_message: null });
    expect(fatal).toMatchObject({ kind: 'fatal', message: expect.stringContaining('INVALID_API_KEYS') });
    expect(c(404, '<html>not plaid</html>')).toMatchObject({ kind: 'fatal', hint: expect.stringContaining('base URL') });
  });
});

describe('the charge writer: one purchase, never two', () => {
  const charge = (id: string, pending: boolean, pendingId: string | null = null): NormalizedCharge => ({
    transactionId: id, accountId: 'a', date: '2026-11-30', datetime: null, merchant: 'Walmart', amount: 7210, currency: 'USD', pending, category: null, pendingTransactionId: pendingId,
  });
  const removed = (id: string): ChargeChange => ({ transactionId: id, removed: true });
  function store() {
    const db = new Database(':memory:');
    migrate(db);
    db.prepare("INSERT INTO connections (id, profile, connector, retailer, alias, provider_type, status, connected_at) VALUES (1, 'default', 'plaid', '*', 'default', 'aggregator', 'active', '2026-01-01')").run();
    const w = new ChargeWriter(db);
    const write = (charges: ChargeChange[]) => w.commitPage({ connectionId: 1, orders: [], tombstones: [], charges, cursor: null, runRowId: null, fetched: charges.length, errors: 0, now: '2026-12-01T00:00:00.000Z' });
    const live = () => (db.prepare('SELECT transaction_id AS id FROM charges WHERE deleted_at IS NULL ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
    return { write, live };
  }

  it.each([
    ['removed then added, one page', [[removed('P'), charge('Q', false, 'P')]]],
    ['added then removed, one page', [[charge('Q', false, 'P'), removed('P')]]],
    ['posted arrives an update before the removal', [[charge('Q', false, 'P')], [removed('P')]]],
    ['posted only (the removal never comes)', [[charge('Q', false, 'P')]]],
  ] as const)('%s', (_name, pages) => {
    const s = store();
    s.write([charge('P', true)]);
    for (const p of pages) s.write([...p]);
    expect(s.live()).toEqual(['Q']);
  });

  it('a pending charge whose posted successor is already stored (a full resync) is stored retired', () => {
    const s = store();
    s.write([charge('Q', false, 'P')]);
    s.write([charge('P', true)]);
    expect(s.live()).toEqual(['Q']);
  });

  it('reruns are no-ops and modifications update in place', () => {
    const s = store();
    expect(s.write([charge('A', false), charge('B', false)])).toMatchObject({ added: 2 });
    expect(s.write([charge('A', false), charge('B', false)])).toMatchObject({ added: 0, unchanged: 2 });
    expect(s.write([{ ...charge('A', false), amount: 9000 }])).toMatchObject({ updated: 1 });
    expect(s.write([removed('B'), removed('B')])).toMatchObject({ deleted: 1 });
    expect(s.live()).toEqual(['A']);
    expect(isRemovedCharge(removed('B'))).toBe(true);
  });
});
