/**
 * The shared contract suite every registered connector must pass (rclone's backend tests,
 * STYLE.md #14): facts and docs, an allow-list that drops payment data, a pure mapper that
 * yields exact minor units, and cursors that round-trip through JSON as the store keeps them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pageRecords } from '../src/connectors/plaid/records.js';
import { describe, expect, it } from 'vitest';
import { listConnectors, getConnector } from '../src/connectors/registry.js';
import { isTombstone } from '../src/connectors/types.js';
import { currencyExponent } from '../src/connectors/money.js';
import { applyPolicy } from '../src/policy/index.js';
import { makeAccounts, OrderGenerator, renderOrder } from '../src/sandbox/data.js';

/** Recorded raw records per connector: the sandbox's are generated deterministically (seed 42). */
function fixtures(id: string): unknown[] {
  if (id === 'sandbox') {
    const gen = new OrderGenerator(42, makeAccounts(1)[0]!);
    return Array.from({ length: 300 }, (_, i) => renderOrder(gen.order(i)));
  }
  // Charge connectors keep recorded provider pages in src/connectors/<id>/fixtures (Plaid: /transactions/sync responses).
  if (id === 'plaid') return readdirSync(fileURLToPath(new URL('../src/connectors/plaid/fixtures/', import.meta.url))).flatMap((f) => pageRecords(JSON.parse(readFileSync(fileURLToPath(new URL(`../src/connectors/plaid/fixtures/${f}`, import.meta.url)), 'utf8'))));
  throw new Error(`no fixtures for connector ${id}: add them here`);
}

const PAYMENT = /card|last4|billing|payment|address|postal/i;

describe.each(listConnectors().map((c) => [c.id, c] as const))('connector %s', (id, c) => {
  it('declares its facts and has a docs page', () => {
    expect(getConnector(id)).toBe(c);
    expect(c.displayName.length).toBeGreaterThan(0);
    expect(existsSync(new URL(`../${c.docs}`, import.meta.url))).toBe(true);
    expect(c.baseUrl.env).toMatch(/^ORDERLINK_[A-Z0-9_]+$/);
    if (c.auth.type === 'oauth') {
      expect(c.auth.redirectPath).toMatch(new RegExp(`^/callback/${id}`)); // names the provider (rule 1)
      expect(c.auth.scopes.length).toBeGreaterThan(0);
    }
  });

  it('allow-lists no payment or address field, and the policy drops them from every fixture', () => {
    for (const f of c.allowList) expect(f).not.toMatch(PAYMENT);
    for (const raw of fixtures(id)) expect(JSON.stringify(applyPolicy(raw, c.allowList, c.freeText))).not.toMatch(/"(card_number|last4|card_brand|billing_zip)"/);
  });

  it('maps every fixture purely into exact minor units and UTC dates', () => {
    for (const raw of fixtures(id)) {
      const clean = applyPolicy(raw, c.allowList, c.freeText);
      const parsed = c.rawSchema.parse(clean);
      if (c.records === 'charges') {
        const ch = c.toCharge!(parsed);
        expect(c.toCharge!(c.rawSchema.parse(clean))).toEqual(ch); // pure
        if ('amount' in ch) expect(Number.isSafeInteger(ch.amount) && /^\d{4}-\d\d-\d\d$/.test(ch.date)).toBe(true);
        continue;
      }
      const a = c.toOrder(parsed);
      expect(c.toOrder(c.rawSchema.parse(clean))).toEqual(a); // pure: same input, same output
      if (isTombstone(a)) continue;
      for (const v of [a.subtotal, a.tax, a.shipping, a.discount, a.total, a.refunded]) expect(Number.isSafeInteger(v)).toBe(true);
      expect(a.orderDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(currencyExponent(a.currency)).toBeGreaterThanOrEqual(0);
      for (const it of a.items) {
        expect(Number.isSafeInteger(it.unitPrice)).toBe(true);
        expect(Number.isInteger(it.quantity)).toBe(true);
      }
    }
  });

  it('keeps its cursor shape through JSON, as the store does', () => {
    const sample = id === 'sandbox' ? { next: 'abc', since: '2026-01-01T00:00:00.000Z' } : null;
    if (sample) expect(c.cursorSchema.parse(JSON.parse(JSON.stringify(sample)))).toEqual(sample);
  });
});
