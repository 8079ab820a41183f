/**
 * Reconciliation on a real SQLite file, through the command's run function: what is saved, stable
 * ids across runs, decisions (confirm / reject / review) that stick and are audited, pending →
 * posted, purges that take their matches with them, and `orders stats --include-charges`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NormalizedCharge, NormalizedOrder } from '../src/domain.js';
import { runReconcileCommand, type ReconcileOptions } from '../src/commands/reconcile.js';
import { runOrdersStats } from '../src/commands/orders.js';
import type { Prompter } from '../src/context.js';
import type { Store } from '../src/store/index.js';
import { testContext, type TestContext } from './helpers/context.js';

const NOW = new Date('2026-04-01T12:00:00Z');
const open: TestContext[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.cleanup();
});

function order(orderId: string, date: string, total: number, patch: Partial<NormalizedOrder> = {}): NormalizedOrder {
  return {
    orderId, retailer: 'Amazon.com', orderDate: `${date}T15:00:00.000Z`, status: 'delivered', currency: 'USD', subtotal: total, tax: 0, shipping: 0, discount: 0, total, refunded: 0,
    providerUpdatedAt: null, items: [{ lineNo: 1, name: `Thing ${orderId}`, sku: null, unitPrice: total, quantity: 1, category: 'Home' }], ...patch,
  };
}
function charge(transactionId: string, date: string, amount: number, patch: Partial<NormalizedCharge> = {}): NormalizedCharge {
  return { transactionId, accountId: 'acc', date, datetime: null, merchant: 'AMAZON MKTPL*2K4LR7', amount, currency: 'USD', pending: false, category: 'GENERAL_MERCHANDISE', pendingTransactionId: null, ...patch };
}

function world(opts: { tty?: boolean; answers?: string[] } = {}) {
  const answers = [...(opts.answers ?? [])];
  const prompter: Prompter = {
    password: async () => '',
    confirm: async () => true,
    input: async () => '',
    search: async <T extends string>(_m: string, choices: Array<{ value: T }>) => {
      const a = answers.shift() ?? 'quit';
      const hit = choices.find((c) => c.value === a);
      if (!hit) throw new Error(`no choice ${a} in ${choices.map((c) => c.value).join(',')}`);
      return hit.value;
    },
  };
  const t = testContext({ tty: opts.tty ?? false, json: !opts.tty, now: () => NOW, prompter });
  open.push(t);
  const store: Store = t.ctx.store();
  const amazon = store.connections.insert({ connector: 'amazon', retailer: 'amazon', alias: 'default', providerType: 'file', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null });
  const plaid = store.connections.insert({ connector: 'plaid', retailer: '*', alias: 'default', providerType: 'aggregator', tokenRef: 'v', scopes: '', accountLabel: null, baseUrl: null });
  const at = '2026-04-01T00:00:00.000Z';
  const base = { tombstones: [], cursor: null, runRowId: null, fetched: 0, errors: 0, now: at };
  return {
    t, store, amazon, plaid,
    orders: (os: NormalizedOrder[]) => store.orderWriter().commitPage({ ...base, connectionId: amazon.id, orders: os }),
    charges: (cs: NormalizedCharge[], now = at) => store.pageWriter('charges').commitPage({ ...base, now, connectionId: plaid.id, orders: [], charges: cs }),
    async reconcile(o: ReconcileOptions = {}) {
      const before = t.io.stdoutText().length;
      const code = await runReconcileCommand(t.ctx, o);
      const text = t.io.stdoutText().slice(before);
      return { code, out: t.ctx.json ? JSON.parse(text) : text };
    },
    rows: () => store.db.prepare('SELECT * FROM reconciliations ORDER BY id').all() as Array<{ id: number; status: string; kind: string; order_ref: number | null; charge_refs: string; provenance: string; candidates: string }>,
    orderRef: (id: string) => (store.db.prepare('SELECT id FROM orders WHERE order_id = ?').get(id) as { id: number }).id,
    chargeRef: (id: string) => (store.db.prepare('SELECT id FROM charges WHERE transaction_id = ?').get(id) as { id: number }).id,
    audit: () => store.db.prepare("SELECT action, detail FROM audit_log WHERE action LIKE 'reconcile.%' ORDER BY seq").all() as Array<{ action: string; detail: string }>,
  };
}

describe('reconcile: saved matches', () => {
  it('matches, saves provenance, and keeps ids stable when nothing changed', async () => {
    const w = world();
    w.orders([order('A-1', '2026-03-02', 2159), order('A-2', '2026-03-05', 10000), order('A-3', '2026-03-10', 4000, { refunded: 1500, status: 'partially_refunded' })]);
    w.charges([charge('t1', '2026-03-04', 2159), charge('t2a', '2026-03-06', 3999), charge('t2b', '2026-03-09', 6001), charge('t3', '2026-03-11', 4000), charge('t3r', '2026-03-25', -1500), charge('coffee', '2026-03-03', 450, { merchant: 'STARBUCKS' })]);
    const { code, out } = await w.reconcile();
    expect(code).toBe(0);
    expect(out).toMatchObject({ matched: 4, ambiguous: 0, confirmed: 0, unmatched_charges: 1, unmatched_orders: 0, dry_run: false, questions: [] });
    const split = w.rows().find((r) => r.order_ref === w.orderRef('A-2'))!;
    expect(JSON.parse(split.charge_refs)).toEqual([w.chargeRef('t2a'), w.chargeRef('t2b')]);
    const prov = JSON.parse(split.provenance);
    expect(prov.fields).toMatchObject({ items: 'amazon:default', order_date: 'amazon:default', total: 'amazon:default', settled_amount: 'plaid:default', settled_date: 'plaid:default' });
    expect(prov.settled).toEqual({ amount: '100.00', amount_minor: 10000, currency: 'USD', date: '2026-03-09', charges: 2 });
    const refund = w.rows().find((r) => r.kind === 'refund')!;
    expect(JSON.parse(refund.provenance).fields).toMatchObject({ refunded: 'amazon:default', refund_settled_amount: 'plaid:default' });
    const ids = w.rows().map((r) => r.id);
    const again = await w.reconcile();
    expect(again.out.changes).toEqual({ added: 0, removed: 0, kept: 4 });
    expect(w.rows().map((r) => r.id)).toEqual(ids);
    // --dry-run counts the same way and writes nothing.
    w.orders([order('A-4', '2026-03-20', 777)]);
    w.charges([charge('t4', '2026-03-21', 777)]);
    const dry = await w.reconcile({ dryRun: true });
    expect(dry.out).toMatchObject({ matched: 5, dry_run: true, changes: { added: 1 } });
    expect(w.rows()).toHaveLength(4);
    expect(w.audit().map((a) => a.action)).toEqual(['reconcile.run', 'reconcile.run']);
  });

  it('--since re-examines only newer orders; matches of older ones stand', async () => {
    const w = world();
    w.orders([order('O-1', '2026-01-05', 1111), order('N-1', '2026-03-05', 2222)]);
    w.charges([charge('o1', '2026-01-06', 1111), charge('n1', '2026-03-06', 2222)]);
    await w.reconcile();
    const old = w.rows().find((r) => r.order_ref === w.orderRef('O-1'))!;
    w.orders([order('N-2', '2026-03-05', 2222)]); // now n1 could be N-1 or N-2
    const r = await w.reconcile({ since: '2026-03-01' });
    expect(r.out).toMatchObject({ since: '2026-03-01', matched: 1, ambiguous: 1, unmatched_charges: 0 });
    expect(w.rows().find((x) => x.id === old.id)).toMatchObject({ status: 'matched', order_ref: w.orderRef('O-1') });
  });

  it('window settings given to a run are kept for later runs (decisions, stats catch-up)', async () => {
    const w = world();
    w.orders([order('W-1', '2026-03-01', 3333), order('W-2', '2026-03-01', 500), order('W-3', '2026-03-02', 500)]);
    w.charges([charge('late', '2026-03-16', 3333), charge('w2', '2026-03-03', 500)]);
    expect((await w.reconcile()).out).toMatchObject({ matched: 0, ambiguous: 1 });
    const wide = await w.reconcile({ window: { from: 0, to: 20 } });
    expect(wide.out).toMatchObject({ matched: 1, ambiguous: 1 });
    const done = await w.reconcile({ confirm: wide.out.questions[0].id, choice: 1 });
    expect(done.out.run).toMatchObject({ matched: 1, confirmed: 1 });
    await expect(runReconcileCommand(w.t.ctx, { list: true, window: { from: 0, to: 3 } })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('an ambiguous charge is never guessed: confirmed by a script, the next one follows by deduction; reject sticks', async () => {
    const w = world();
    w.orders([order('B-1', '2026-03-01', 2500), order('B-2', '2026-03-02', 2500)]);
    w.charges([charge('c1', '2026-03-03', 2500), charge('c2', '2026-03-04', 2500)]);
    const { out } = await w.reconcile();
    expect(out).toMatchObject({ matched: 0, ambiguous: 2, unmatched_charges: 0, unmatched_orders: 0 });
    const q = out.questions[0];
    expect(q.candidates.map((c: { order: { ref: string } }) => c.order.ref)).toEqual(['amazon:default:B-1', 'amazon:default:B-2']);
    // Scripts: a wrong order, a missing choice, an unknown id.
    await expect(runReconcileCommand(w.t.ctx, { confirm: q.id, order: 'B-9' })).rejects.toMatchObject({ code: 'NOT_A_CANDIDATE', exitCode: 2 });
    await expect(runReconcileCommand(w.t.ctx, { confirm: q.id })).rejects.toMatchObject({ code: 'CHOICE_NEEDED', exitCode: 2 });
    await expect(runReconcileCommand(w.t.ctx, { confirm: 999 })).rejects.toMatchObject({ code: 'RECONCILIATION_NOT_FOUND', exitCode: 1 });
    const done = await w.reconcile({ confirm: q.id, order: 'amazon:default:B-1' });
    expect(done.out.run).toMatchObject({ confirmed: 1, matched: 1, ambiguous: 0 });
    const byStatus = Object.fromEntries(w.rows().map((r) => [r.status, r]));
    expect(byStatus.confirmed).toMatchObject({ order_ref: w.orderRef('B-1'), charge_refs: `[${w.chargeRef(q.charges[0].transaction_id)}]` });
    expect(byStatus.matched!.order_ref).toBe(w.orderRef('B-2'));
    // Rejecting the deduced match: it is never proposed again, and its charge is unmatched.
    const rej = await w.reconcile({ reject: byStatus.matched!.id });
    expect(rej.out.run).toMatchObject({ confirmed: 1, matched: 0, rejected: 1, unmatched_charges: 1, unmatched_orders: 1 });
    expect((await w.reconcile()).out).toMatchObject({ matched: 0, rejected: 1 });
    // A confirmed match clashes with a second confirmation of its order.
    await expect(runReconcileCommand(w.t.ctx, { confirm: byStatus.matched!.id })).resolves.toBe(0);
    expect(w.audit().map((a) => a.action)).toEqual(expect.arrayContaining(['reconcile.confirm', 'reconcile.reject']));
    expect(JSON.parse(w.audit().find((a) => a.action === 'reconcile.confirm')!.detail)).toMatchObject({ kind: 'payment', order_ref: w.orderRef('B-1') });
  });

  it('--review on a terminal: choose an order, "none", skip; non-terminals are told how to script it', async () => {
    const w = world({ tty: true, answers: ['2', 'none'] });
    w.orders([order('R-1', '2026-03-01', 1000), order('R-2', '2026-03-02', 1000), order('R-3', '2026-03-05', 3000), order('R-4', '2026-03-06', 3000)]);
    w.charges([charge('r1', '2026-03-03', 1000), charge('r3', '2026-03-07', 3000)]);
    expect(await runReconcileCommand(w.t.ctx, { review: true })).toBe(0);
    const text = w.t.io.stdoutText();
    expect(text).toMatch(/Which order|2 candidates/);
    expect(text).toMatch(/2 decided, nothing left to review/);
    const rows = w.rows();
    expect(rows.find((r) => r.status === 'confirmed')!.order_ref).toBe(w.orderRef('R-2'));
    expect(rows.find((r) => r.status === 'rejected')!.order_ref).toBeNull();
    const plain = world();
    await expect(runReconcileCommand(plain.t.ctx, { review: true })).rejects.toMatchObject({ code: 'NOT_A_TERMINAL', exitCode: 2 });
    await expect(runReconcileCommand(plain.t.ctx, { order: 'x' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(runReconcileCommand(plain.t.ctx, { list: true, review: true })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('a confirmed pending charge follows it when it posts; purging charges or orders takes their matches along', async () => {
    const w = world();
    w.orders([order('P-1', '2026-03-01', 1000), order('P-2', '2026-03-02', 1000)]);
    w.charges([charge('pend', '2026-03-03', 1000, { pending: true })]);
    const { out } = await w.reconcile();
    await w.reconcile({ confirm: out.questions[0].id, order: 'P-2' });
    w.charges([charge('posted', '2026-03-04', 1000, { pendingTransactionId: 'pend' })], '2026-04-02T00:00:00.000Z');
    const after = await w.reconcile();
    expect(after.out).toMatchObject({ confirmed: 1, ambiguous: 0, unmatched_charges: 0 });
    expect(w.rows().find((r) => r.status === 'confirmed')!.charge_refs).toBe(`[${w.chargeRef('posted')}]`);
    w.store.charges.purge(w.plaid.id);
    expect(w.rows()).toEqual([]);
    w.charges([charge('again', '2026-03-03', 1000)]);
    await w.reconcile();
    expect(w.rows()).toHaveLength(1);
    w.store.purgeOrders(w.amazon.id);
    expect(w.rows()).toEqual([]);
  });
});

describe('orders stats --include-charges', () => {
  it('counts each purchase once: orders, plus only the charges no order accounts for', async () => {
    const w = world();
    w.orders([order('S-1', '2026-03-02', 2000), order('S-2', '2026-03-05', 5000), order('S-3', '2026-03-06', 700), order('S-4', '2026-03-07', 700)]);
    w.charges([
      charge('s1', '2026-03-03', 2000), charge('s2a', '2026-03-06', 2500), charge('s2b', '2026-03-07', 2500), // matched: never added
      charge('s3', '2026-03-08', 700), // ambiguous (S-3 or S-4): left out, reported
      charge('gas', '2026-03-09', 4500, { merchant: 'SHELL OIL 123', category: 'TRANSPORTATION' }), // unmatched: added
      charge('back', '2026-03-10', -300, { merchant: 'CORNER SHOP' }), // unmatched refund: added to refunded
      charge('pay', '2026-03-11', -90000, { merchant: 'CARD PAYMENT', category: 'LOAN_PAYMENTS' }), // not spending
    ]);
    // Never reconciled: stats runs the matcher first.
    const stats = async (extra: Record<string, unknown> = {}) => {
      const before = w.t.io.stdoutText().length;
      expect(await runOrdersStats(w.t.ctx, { by: 'month', includeCharges: true, ...extra })).toBe(0);
      return JSON.parse(w.t.io.stdoutText().slice(before));
    };
    const s = await stats();
    const usd = s.currencies.find((c: { currency: string }) => c.currency === 'USD');
    expect(usd).toMatchObject({ orders: 5, total: '129.00', total_minor: 12900, refunded_minor: 300 });
    expect(s.include_charges).toEqual({ waiting: 1, currencies: [{ currency: 'USD', charges: 1, total: '45.00', total_minor: 4500, refunds: 1, refunded: '3.00', refunded_minor: 300 }] });
    expect(w.audit().map((a) => a.action)).toEqual(['reconcile.run']);
    // Without the flag: orders only, as before.
    const before = w.t.io.stdoutText().length;
    await runOrdersStats(w.t.ctx, { by: 'month' });
    expect(JSON.parse(w.t.io.stdoutText().slice(before)).currencies[0]).toMatchObject({ orders: 4, total_minor: 8400 });
    // By retailer: an unmatched Amazon charge groups with the Amazon.com orders.
    w.charges([charge('lonely', '2026-03-28', 1234)]);
    const r = await stats({ by: 'retailer' });
    expect(r.currencies[0].groups.find((g: { key: string }) => g.key === 'Amazon.com')).toMatchObject({ orders: 5, total_minor: 8400 + 1234 });
    expect(w.audit().map((a) => a.action)).toEqual(['reconcile.run', 'reconcile.run']);
    await expect(runOrdersStats(w.t.ctx, { includeCharges: true, search: 'thing' })).rejects.toMatchObject({ exitCode: 2 });
  });
});
