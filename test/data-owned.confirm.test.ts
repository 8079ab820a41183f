/**
 * The questions `purge` and `profiles delete` ask on a terminal, answered by a scripted prompter
 * over a real home and a real SQLite file: "no" (or a mistyped name) deletes nothing.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Prompter } from '../src/context.js';
import { runProfiles } from '../src/commands/profiles.js';
import { runPurge } from '../src/commands/purge.js';
import { tempHome, testContext } from './helpers/context.js';

const NOW = new Date('2026-05-01T12:00:00.000Z');
const homes: string[] = [];
afterEach(() => homes.splice(0).forEach((h) => rmSync(h, { recursive: true, force: true })));

function prompter(answers: { confirm?: boolean; input?: string }, asked: string[]): Prompter {
  return {
    password: async () => '',
    confirm: async (m) => (asked.push(m), answers.confirm ?? false),
    input: async (m) => (asked.push(m), answers.input ?? ''),
    search: async () => '' as never,
  };
}

function seeded(profile = 'default', answers: { confirm?: boolean; input?: string } = {}, seed = true) {
  const home = homes[homes.length - 1] ?? (homes.push(tempHome()), homes[0]!);
  const asked: string[] = [];
  const t = testContext({ home, tty: true, profile, now: () => NOW, prompter: prompter(answers, asked) });
  if (!seed) return { ...t, asked, home };
  const store = t.ctx.store();
  const c = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'a', providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null }, NOW);
  const order = (id: string, date: string) => ({ orderId: id, retailer: 'R', orderDate: date, status: 'delivered' as const, currency: 'USD', subtotal: 100, tax: 0, shipping: 0, discount: 0, total: 100, refunded: 0, providerUpdatedAt: null, items: [{ lineNo: 1, name: 'Thing', sku: null, unitPrice: 100, quantity: 1, category: null }] });
  store.orderWriter().commitPage({ connectionId: c.id, orders: [order('OLD', '2020-01-01T00:00:00.000Z'), order('NEW', '2026-04-01T00:00:00.000Z')], tombstones: [], cursor: null, runRowId: null, fetched: 2, errors: 0, now: NOW.toISOString() });
  return { ...t, asked, home };
}

describe('confirmation on a terminal', () => {
  it('purge: "no" deletes nothing; "yes" deletes what the table showed', async () => {
    const no = seeded('default', { confirm: false });
    expect(await runPurge(no.ctx, { olderThan: '2y', all: false, dryRun: false, yes: false })).toBe(0);
    expect(no.asked[0]).toMatch(/Delete 1 order \(1 item\) from profile "default"\? This cannot be undone/);
    expect(no.io.stderrText()).toMatch(/Nothing was deleted/);
    expect(no.ctx.store().orders.count({})).toBe(2);
    no.ctx.close();
    const yes = seeded('other', { confirm: true });
    expect(await runPurge(yes.ctx, { olderThan: '2y', all: false, dryRun: false, yes: false })).toBe(0);
    expect(yes.ctx.store().orders.count({})).toBe(1);
    expect(yes.ctx.store().audit.list({ action: 'purge' })).toHaveLength(1);
    yes.cleanup();
  });

  it('profiles delete: the name must be typed exactly', async () => {
    const a = seeded('old');
    a.ctx.close();
    const wrong = seeded('default', { input: 'olde' }, false);
    expect(await runProfiles(wrong.ctx, { kind: 'delete', name: 'old' })).toBe(0);
    expect(wrong.asked[0]).toMatch(/Type the profile name \(old\)/);
    expect(existsSync(join(wrong.home, 'profiles', 'old'))).toBe(true);
    wrong.ctx.close();
    const right = seeded('default', { input: 'old' }, false);
    expect(await runProfiles(right.ctx, { kind: 'delete', name: 'old' })).toBe(0);
    expect(existsSync(join(right.home, 'profiles', 'old'))).toBe(false);
    expect(right.io.stderrText()).toMatch(/Access at the providers is NOT revoked/);
    right.cleanup();
  });
});
