/**
 * Reconciliation end to end through the real binary, real SQLite and real data paths: card charges
 * synced from the Plaid replica, and an Amazon "Your Orders" export generated for the purchases
 * the replica's card shows at Amazon (one order per charge, a split shipment paid by two charges,
 * a refund, and two same-amount orders for one charge). Then `reconcile` matches them, the
 * ambiguous one is listed and confirmed on a real terminal (`--review`) and by a script, and `orders stats --include-charges` counts
 * every purchase exactly once.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlaidReplica } from '../src/sandbox/replicas/plaid.js';
import { homeAt } from './helpers/e2e.js';
import { linkedPlaid, plaidReplica, type PlaidHome } from './helpers/plaid.js';
import { onTerminal } from './helpers/pty.js';

const RH = 'Website,Order ID,Order Date,Currency,Unit Price,Unit Price Tax,Shipping Charge,Total Discounts,Total Owed,Shipment Item Subtotal,ASIN,Quantity,Payment Instrument Type,Order Status,Shipment Status,Shipping Address,Product Name,Gift Message';
const dollars = (cents: number) => (cents / 100).toFixed(2);
const daysBefore = (date: string, n: number) => new Date(Date.parse(`${date}T12:00:00Z`) - n * 86_400_000).toISOString().replace('.000', '');
const dayDiff = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;

type Charge = Awaited<ReturnType<PlaidHome['charges']>>[number];

describe('reconcile: an Amazon export and a card, end to end', () => {
  let replica: PlaidReplica;
  let p: PlaidHome;
  const orders: Array<{ id: string; date: string; total: number; refunded?: number; paidBy: string[] }> = [];
  let charges: Charge[] = [];
  let ambiguous: Charge;
  let refund: Charge;

  beforeAll(async () => {
    replica = await plaidReplica({ transactions: 600, pending: 0 });
    p = await linkedPlaid(replica);
    const s = await p.h.cli(['sync']);
    expect(s.code, s.stderr).toBe(0);
    charges = await p.charges();
    const amazon = charges.filter((c) => c.merchant === 'Amazon').sort((a, b) => a.date.localeCompare(b.date) || a.transaction_id.localeCompare(b.transaction_id));
    const buys = amazon.filter((c) => c.amount_minor > 0);
    refund = amazon.find((c) => c.amount_minor < 0)!;
    expect(buys.length).toBeGreaterThan(30);
    expect(refund).toBeDefined();
    // A split shipment: two Amazon charges at most 8 days apart settle one order.
    const i = buys.findIndex((c, k) => k + 1 < buys.length && dayDiff(c.date, buys[k + 1]!.date) <= 8);
    expect(i).toBeGreaterThanOrEqual(0);
    const [a, b] = [buys[i]!, buys[i + 1]!];
    orders.push({ id: '114-0000000-0000001', date: daysBefore(a.date, 1), total: a.amount_minor + b.amount_minor, paidBy: [a.transaction_id, b.transaction_id] });
    // The last purchase: two orders of exactly its amount, both in its window. Never guessed.
    ambiguous = buys.at(-1)!;
    orders.push({ id: '114-0000000-0000002', date: daysBefore(ambiguous.date, 1), total: ambiguous.amount_minor, paidBy: [] });
    orders.push({ id: '114-0000000-0000003', date: daysBefore(ambiguous.date, 3), total: ambiguous.amount_minor, paidBy: [] });
    // A refund: an order paid elsewhere (a gift card), refunded to the card 20 days later.
    orders.push({ id: '114-0000000-0000004', date: daysBefore(refund.date, 20), total: -refund.amount_minor + 1000, refunded: -refund.amount_minor, paidBy: [] });
    // Every other Amazon purchase: its own order, placed 0–3 days before the charge.
    buys.forEach((c, k) => {
      if (k === i || k === i + 1 || c === ambiguous) return;
      orders.push({ id: `114-${String(k).padStart(7, '0')}-1000000`, date: daysBefore(c.date, k % 4), total: c.amount_minor, paidBy: [c.transaction_id] });
    });
    const dir = join(p.h.home, 'Your Orders');
    mkdirSync(join(dir, 'Retail.OrderHistory.1'), { recursive: true });
    const rows = orders.map((o) => `Amazon.com,${o.id},${o.date},USD,${dollars(o.total)},0,0,0,${dollars(o.total)},${dollars(o.total)},B0TEST,1,Visa - 0000,Closed,Shipped,FAKE ADDRESS,Item of ${o.id},x`);
    writeFileSync(join(dir, 'Retail.OrderHistory.1', 'Retail.OrderHistory.1.csv'), `${RH}\n${rows.join('\n')}\n`);
    writeFileSync(join(dir, 'Retail.OrdersReturned.Payments.1.csv'), `OrderID,ReversalID,RefundCompletionDate,Currency,AmountRefunded,Status,DisbursementType\n114-0000000-0000004,R1,${refund.date.slice(5, 7)}/${refund.date.slice(8, 10)}/${refund.date.slice(0, 4)} 10:00:00 UTC,USD,${dollars(-refund.amount_minor)},Completed,Refund\n`);
    const imp = await p.h.cli(['import', 'amazon', dir]);
    expect(imp.code, imp.stderr).toBe(0);
  });
  afterAll(async () => {
    p?.h.cleanup();
    await replica?.close();
  });

  const json = async (args: string[], code = 0) => {
    const r = await p.h.cli(['--json', ...args]);
    expect(r.code, r.stderr + r.stdout).toBe(code);
    return JSON.parse(r.stdout);
  };
  const paid = () => new Set(orders.flatMap((o) => o.paidBy));
  const ordersTotal = () => orders.reduce((s, o) => s + o.total, 0);

  it('--dry-run counts and saves nothing', async () => {
    const r = await json(['reconcile', '--dry-run']);
    expect(r).toMatchObject({ dry_run: true, ambiguous: 1, questions: [] });
    expect(p.h.query('SELECT count(*) AS n FROM reconciliations')).toEqual([{ n: 0 }]);
  });

  it('matches every order to its charges: one each, the split as two, the refund; the ambiguous one is listed', async () => {
    const r = await json(['reconcile']);
    const singles = orders.filter((o) => o.paidBy.length === 1).length;
    expect(r).toMatchObject({ matched: singles + 1 + 1, ambiguous: 1, confirmed: 0, bounded: 0, unmatched_orders: 1 /* the refunded order was paid by gift card */ });
    expect(r.unmatched_charges).toBe(charges.length - paid().size - 1 /* refund */ - 1 /* ambiguous */);
    const q = r.questions[0];
    expect(q.charges.map((c: { transaction_id: string }) => c.transaction_id)).toEqual([ambiguous.transaction_id]);
    expect(q.candidates.map((c: { order: { order_id: string } }) => c.order.order_id).sort()).toEqual(['114-0000000-0000002', '114-0000000-0000003']);
    // What was saved: each pairing exactly as built, with provenance.
    const saved = p.h.query<{ order_id: string; kind: string; charge_refs: string; provenance: string }>(
      "SELECT o.order_id, r.kind, r.charge_refs, r.provenance FROM reconciliations r JOIN orders o ON o.id = r.order_ref WHERE r.status = 'matched'",
    );
    const txOf = new Map(p.h.query<{ id: number; transaction_id: string }>('SELECT id, transaction_id FROM charges').map((c) => [c.id, c.transaction_id]));
    for (const o of orders.filter((x) => x.paidBy.length)) {
      const row = saved.find((s) => s.order_id === o.id && s.kind === 'payment')!;
      expect((JSON.parse(row.charge_refs) as number[]).map((id) => txOf.get(id)).sort()).toEqual([...o.paidBy].sort());
    }
    const split = JSON.parse(saved.find((s) => s.order_id === '114-0000000-0000001')!.provenance);
    expect(split.fields).toMatchObject({ items: 'amazon:default', total: 'amazon:default', settled_amount: 'plaid:default', settled_date: 'plaid:default' });
    expect(split.settled.charges).toBe(2);
    expect(saved.filter((s) => s.kind === 'refund').map((s) => s.order_id)).toEqual(['114-0000000-0000004']);
    // A second run changes nothing.
    expect((await json(['reconcile'])).changes).toMatchObject({ added: 0, removed: 0 });
  });

  it('orders stats --include-charges counts each purchase once; without it, orders only', async () => {
    const plain = await json(['orders', 'stats']);
    expect(plain.currencies[0]).toMatchObject({ currency: 'USD', total_minor: ordersTotal() });
    const spent = charges.filter((c) => c.amount_minor > 0 && !paid().has(c.transaction_id) && c !== ambiguous);
    const back = charges.filter((c) => c.amount_minor < 0 && c !== refund);
    const s = await json(['orders', 'stats', '--include-charges']);
    expect(s.currencies[0]).toMatchObject({ currency: 'USD', orders: orders.length + spent.length, total_minor: ordersTotal() + spent.reduce((n, c) => n + c.amount_minor, 0) });
    expect(s.include_charges).toMatchObject({ waiting: 1, currencies: [{ currency: 'USD', charges: spent.length, refunds: back.length }] });
    const text = await p.h.cli(['orders', 'stats', '--include-charges', '--by', 'retailer']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/1 charge left out: it waits for you/);
  });

  it('--review on a real terminal: the person types to find the order and picks it; the choice is saved and audited', async () => {
    // In a copy of the home: the next test decides the same question by script.
    const copy = join(tmpdir(), `orderlink-review-${process.pid}-${Date.now()}`);
    cpSync(p.h.home, copy, { recursive: true });
    const c = homeAt(copy, p.h.env);
    try {
      const r = await onTerminal(['--home', copy, 'reconcile', '--review'], {
        env: p.h.env,
        steps: [
          { when: /Which order did this pay for\?/, send: '0000002' },
          { when: /0000002/, send: '\r', delayMs: 200 },
        ],
      });
      expect(r.code, r.out).toBe(0);
      // The question showed the charge and both candidates before asking.
      expect(r.out).toMatch(/2 candidates:/);
      expect(r.out).toMatch(/114-0000000-0000003/);
      expect(r.out).toMatch(/confirmed\./);
      expect(r.out).toMatch(/1 decided, nothing left to review/);
      expect(r.out).not.toMatch(/internal error|at .*\.js:\d+/);
      const confirmed = JSON.parse((await c.cli(['--json', 'reconcile', '--list', '--status', 'confirmed'])).stdout);
      expect(confirmed.map((x: { order: { order_id: string } }) => x.order.order_id)).toEqual(['114-0000000-0000002']);
      const audit = JSON.parse((await c.cli(['--json', 'audit', '--action', 'reconcile'])).stdout);
      expect(audit.map((a: { action: string }) => a.action)).toContain('reconcile.confirm');
    } finally {
      c.cleanup();
    }
  });

  it('the ambiguous charge is decided by a script; review needs a terminal; everything is audited', async () => {
    const review = await p.h.cli(['reconcile', '--review']);
    expect(review.code).toBe(2);
    expect(review.stderr).toMatch(/--confirm ID --order ORDER/);
    const [q] = await json(['reconcile', '--list', '--status', 'ambiguous']);
    const bad = await p.h.cli(['reconcile', '--confirm', String(q.id), '--order', 'amazon:default:114-0000000-0000004']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a candidate/);
    const ok = await json(['reconcile', '--confirm', String(q.id), '--order', 'amazon:default:114-0000000-0000002']);
    expect(ok.run).toMatchObject({ confirmed: 1, ambiguous: 0 });
    const confirmed = await json(['reconcile', '--list', '--status', 'confirmed']);
    expect(confirmed).toHaveLength(1);
    expect(confirmed[0].order.order_id).toBe('114-0000000-0000002');
    expect(confirmed[0].provenance.fields.settled_amount).toBe('plaid:default');
    const s = await json(['orders', 'stats', '--include-charges']);
    expect(s.include_charges.waiting).toBe(0);
    const audit = await json(['audit', '--action', 'reconcile']);
    expect(audit.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(['reconcile.run', 'reconcile.confirm']));
    expect((await p.h.cli(['audit', '--verify'])).code).toBe(0);
    const text = await p.h.cli(['reconcile']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/matched\s+\d+\s+\(\+ 1 confirmed by you\)/);
  });
});
