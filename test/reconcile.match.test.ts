/**
 * The matcher on hand-made cases: exact match, split shipments, refunds, ambiguity never guessed,
 * merchant aliases and token similarity, the edges of the date window, currencies.
 */
import { describe, expect, it } from 'vitest';
import { match, splitSets, DEFAULT_OPTIONS, edgeKey, type MatchCharge, type MatchOrder } from '../src/reconcile/match.js';
import { brandOf, merchantMatch, tokens } from '../src/reconcile/merchant.js';

let nextId = 1;
const order = (o: Partial<MatchOrder> & Pick<MatchOrder, 'total' | 'date'>): MatchOrder => ({ id: nextId++, connectionId: 1, retailer: 'Amazon.com', currency: 'USD', refunded: 0, ...o });
const charge = (c: Partial<MatchCharge> & Pick<MatchCharge, 'amount' | 'date'>): MatchCharge => ({ id: nextId++, connectionId: 2, merchant: 'AMAZON.COM*AB12C', currency: 'USD', ...c });

describe('merchant names', () => {
  it.each([
    ['AMAZON.COM*AB12C', 'Amazon.com'],
    ['Amazon Mktp', 'Amazon.com'],
    ['AMZN Mktp US', 'Amazon.com'],
    ['AMAZON MKTPL*2K4LR7', 'Amazon.it'],
    ['WAL-MART #1234', 'Walmart'],
    ['PURCHASE WM SUPERCENTER #1700', 'Walmart'],
    ['Walmart.com', 'Walmart'],
    ['TARGET 00023481', 'Target'],
    ["MACY'S #123", "Macy's"],
    ['WHOLEFDS MKT 10234', 'Whole Foods Market'],
  ])('%s is %s (alias table)', (a, b) => {
    expect(merchantMatch(a, b)).toEqual({ similarity: 1, via: 'alias' });
  });

  it('two different known brands never match, whatever words they share', () => {
    expect(merchantMatch('AMAZON.COM', 'Walmart')).toBeUndefined();
    expect(merchantMatch('TARGET 123', 'Amazon.com')).toBeUndefined();
    expect(merchantMatch('Walmart', 'Costco')).toBeUndefined();
  });

  it('unknown merchants match by their meaningful words; store numbers and bank noise are ignored', () => {
    expect(tokens('POS PURCHASE BLUE BOTTLE COFFEE #0042')).toEqual(['blue', 'bottle', 'coffee']);
    expect(merchantMatch('POS BLUE BOTTLE COFFEE #0042', 'Blue Bottle Coffee')).toEqual({ similarity: 1, via: 'tokens' });
    expect(merchantMatch('SQ *JOES BIKES 99', "Joe's Bikes")).toEqual({ similarity: 1, via: 'tokens' });
    expect(merchantMatch('HOME GOODS 55', 'Home Goods Outlet')?.similarity).toBeCloseTo(0.67, 2);
    expect(merchantMatch('Office Supplies Co', 'Home Goods')).toBeUndefined();
    expect(merchantMatch('1234 5678', 'Anything')).toBeUndefined();
    // A known brand on one side and an unknown name on the other is no match.
    expect(merchantMatch('AMAZON.COM', 'Blue Bottle Coffee')).toBeUndefined();
    expect(brandOf('Amazonas Grill')).toBeUndefined();
  });
});

describe('the matcher', () => {
  it('exact: same merchant, same amount in minor units, within the window', () => {
    const o = order({ total: 2159, date: '2026-03-02' });
    const c = charge({ amount: 2159, date: '2026-03-04' });
    const r = match({ orders: [o], charges: [c, charge({ amount: 2158, date: '2026-03-04' })] });
    expect(r.matched).toEqual([expect.objectContaining({ kind: 'payment', order: o.id, charges: [c.id], method: 'exact' })]);
    expect(r.questions).toEqual([]);
    expect(r.matched[0]!.score).toBeGreaterThan(80);
  });

  it('a split shipment: the one subset of charges that sums exactly to the order total', () => {
    const o = order({ total: 10000, date: '2026-03-01' });
    const a = charge({ amount: 3999, date: '2026-03-02' });
    const b = charge({ amount: 6001, date: '2026-03-05' });
    const noise = charge({ amount: 1234, date: '2026-03-03' });
    const r = match({ orders: [o], charges: [a, b, noise] });
    expect(r.matched).toEqual([expect.objectContaining({ order: o.id, charges: [a.id, b.id].sort((x, y) => x - y), method: 'split' })]);
    expect(r.questions).toEqual([]);
  });

  it('a split into three, and the search stays bounded', () => {
    const o = order({ total: 6000, date: '2026-03-01' });
    const cs = [1000, 2000, 3000].map((amount, i) => charge({ amount, date: `2026-03-0${i + 2}` }));
    expect(match({ orders: [o], charges: cs }).matched[0]!.charges).toEqual(cs.map((c) => c.id));
    // With --max-split 2, no set of two sums to 60.00: nothing matches.
    expect(match({ orders: [o], charges: cs }, { ...DEFAULT_OPTIONS, maxSplit: 2 }).matched).toEqual([]);
    // Forty equal charges: C(40,4) ways to make 4 × 25.00 — the budget stops it, and the order is never guessed.
    const many = Array.from({ length: 40 }, () => charge({ amount: 2500, date: '2026-03-03' }));
    const big = order({ total: 10000, date: '2026-03-01' });
    const r = match({ orders: [big], charges: many }, { ...DEFAULT_OPTIONS, budget: 1000 });
    expect(r.matched).toEqual([]);
    expect(r.bounded).toEqual([{ kind: 'payment', order: big.id }]);
    expect(splitSets([{ id: 1, abs: 5 }, { id: 2, abs: 5 }, { id: 3, abs: 5 }], 10, 4, 100)).toEqual({ sets: [[1, 2], [1, 3], [2, 3]], bounded: false });
  });

  it('a refund is a negative charge matched to the order\'s refunded amount, in its own (wider) window', () => {
    const o = order({ total: 4000, refunded: 1500, date: '2026-01-02' });
    const pay = charge({ amount: 4000, date: '2026-01-03' });
    const back = charge({ amount: -1500, date: '2026-02-20' });
    const r = match({ orders: [o], charges: [pay, back] });
    expect(r.matched.map((e) => [e.kind, e.charges])).toEqual([
      ['payment', [pay.id]],
      ['refund', [back.id]],
    ]);
    // A refund never settles a payment, and a purchase never a refund.
    expect(match({ orders: [order({ total: 1500, date: '2026-01-02' })], charges: [charge({ amount: -1500, date: '2026-01-03' })] }).matched).toEqual([]);
  });

  it('two orders of the same amount for one charge: never guessed, listed with both', () => {
    const o1 = order({ total: 2500, date: '2026-03-01' });
    const o2 = order({ total: 2500, date: '2026-03-03' });
    const c = charge({ amount: 2500, date: '2026-03-04' });
    const r = match({ orders: [o1, o2], charges: [c] });
    expect(r.matched).toEqual([]);
    expect(r.questions).toHaveLength(1);
    expect(r.questions[0]!.candidates.map((e) => e.order)).toEqual([o1.id, o2.id]);
    // Even when one order is much closer in time (its score higher), it is not picked.
    expect(r.questions[0]!.candidates[1]!.score).toBeGreaterThan(r.questions[0]!.candidates[0]!.score);
  });

  it('two charges and two orders of the same amount: one question per charge', () => {
    const o1 = order({ total: 999, date: '2026-03-01' });
    const o2 = order({ total: 999, date: '2026-03-02' });
    const c1 = charge({ amount: 999, date: '2026-03-03' });
    const c2 = charge({ amount: 999, date: '2026-03-04' });
    const r = match({ orders: [o1, o2], charges: [c1, c2] });
    expect(r.matched).toEqual([]);
    expect(r.questions.map((q) => q.candidates.map((e) => [e.charges[0], e.order]))).toEqual([
      [[c1.id, o1.id], [c1.id, o2.id]],
      [[c2.id, o1.id], [c2.id, o2.id]],
    ]);
    // Once a person settles c1 → o1, c2 → o2 is the only possibility left: a deduction, not a guess.
    const after = match({ orders: [o1, o2], charges: [c1, c2], takenOrders: new Set([`payment:${o1.id}`]), takenCharges: new Set([c1.id]) });
    expect(after.matched.map((e) => [e.order, e.charges])).toEqual([[o2.id, [c2.id]]]);
  });

  it('two candidate charge sets for one order (one charge, or two that sum to it): listed, not chosen', () => {
    const o = order({ total: 5000, date: '2026-03-01' });
    const whole = charge({ amount: 5000, date: '2026-03-02' });
    const a = charge({ amount: 2000, date: '2026-03-02' });
    const b = charge({ amount: 3000, date: '2026-03-03' });
    const r = match({ orders: [o], charges: [whole, a, b] });
    expect(r.matched).toEqual([]);
    expect(r.questions).toHaveLength(1);
    expect(r.questions[0]!.candidates.map((e) => e.charges)).toEqual([[whole.id], [a.id, b.id]]);
  });

  it('a charge that exactly equals an order is not offered to another order\'s split, until its question is settled', () => {
    const o2 = order({ total: 2000, date: '2026-03-01' });
    const o1 = order({ total: 5000, date: '2026-03-01' });
    const c20a = charge({ amount: 2000, date: '2026-03-02' });
    const c20b = charge({ amount: 2000, date: '2026-03-03' });
    const c30 = charge({ amount: 3000, date: '2026-03-03' });
    const r = match({ orders: [o2, o1], charges: [c20a, c20b, c30] });
    expect(r.matched).toEqual([]);
    expect(r.questions.map((q) => q.candidates.map((e) => [e.order, e.charges]))).toEqual([[[o2.id, [c20a.id]]], [[o2.id, [c20b.id]]]]);
    // The person says c20a paid for o2: c20b is free again, and o1 = c20b + c30 is the only set left.
    const after = match({ orders: [o2, o1], charges: [c20a, c20b, c30], takenOrders: new Set([`payment:${o2.id}`]), takenCharges: new Set([c20a.id]) });
    expect(after.matched.map((e) => [e.order, e.charges, e.method])).toEqual([[o1.id, [c20b.id, c30.id], 'split']]);
    expect(after.questions).toEqual([]);
  });

  it('a rejected pairing is never proposed again; a confirmed one takes its order and charges', () => {
    const o1 = order({ total: 2500, date: '2026-03-01' });
    const o2 = order({ total: 2500, date: '2026-03-03' });
    const c = charge({ amount: 2500, date: '2026-03-04' });
    const r = match({ orders: [o1, o2], charges: [c], excluded: new Set([edgeKey({ kind: 'payment', order: o1.id, charges: [c.id] })]) });
    expect(r.matched.map((e) => e.order)).toEqual([o2.id]);
  });

  it('the date window: 0 to 10 days after the order by default, both edges included; configurable', () => {
    const o = order({ total: 100, date: '2026-03-01' });
    const at = (date: string) => match({ orders: [o], charges: [charge({ amount: 100, date })] }).matched.length;
    expect(at('2026-03-01')).toBe(1);
    expect(at('2026-03-11')).toBe(1);
    expect(at('2026-03-12')).toBe(0);
    expect(at('2026-02-28')).toBe(0);
    const early = { ...DEFAULT_OPTIONS, window: { from: -1, to: 3 } };
    expect(match({ orders: [o], charges: [charge({ amount: 100, date: '2026-02-28' })] }, early).matched).toHaveLength(1);
    expect(match({ orders: [o], charges: [charge({ amount: 100, date: '2026-03-05' })] }, early).matched).toHaveLength(0);
    // Across a month and a year end.
    const dec = order({ total: 100, date: '2026-12-30' });
    expect(match({ orders: [dec], charges: [charge({ amount: 100, date: '2027-01-09' })] }).matched).toHaveLength(1);
  });

  it('a different currency never matches, even with the same digits', () => {
    const o = order({ total: 1200, date: '2026-03-01', currency: 'JPY' });
    expect(match({ orders: [o], charges: [charge({ amount: 1200, date: '2026-03-02', currency: 'USD' })] }).matched).toEqual([]);
    expect(match({ orders: [o], charges: [charge({ amount: 1200, date: '2026-03-02', currency: 'JPY' })] }).matched).toHaveLength(1);
  });

  it('another merchant never matches; an amount one minor unit off never matches', () => {
    const o = order({ total: 4999, date: '2026-03-01', retailer: 'Walmart' });
    expect(match({ orders: [o], charges: [charge({ amount: 4999, date: '2026-03-02', merchant: 'TARGET 00023481' })] }).matched).toEqual([]);
    expect(match({ orders: [o], charges: [charge({ amount: 4998, date: '2026-03-02', merchant: 'WAL-MART #1234' })] }).matched).toEqual([]);
    expect(match({ orders: [o], charges: [charge({ amount: 4999, date: '2026-03-02', merchant: 'WAL-MART #1234' })] }).matched).toHaveLength(1);
  });
});
