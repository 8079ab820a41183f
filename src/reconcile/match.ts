/**
 * The matcher: card charges ↔ orders, a pure function of its input (no database, no clock).
 *
 * A candidate ("edge") pairs one order with a set of charges that paid for it (`payment`: positive
 * charges summing exactly to the order's `total`) or gave money back (`refund`: negative charges
 * whose absolute amounts sum exactly to its `refunded`). Every charge of a candidate is in the
 * order's currency, within the date window after the order's date, and from a merchant that names
 * the order's retailer (merchant.ts). A set of several charges is a split shipment, found by a
 * bounded search (at most `maxSplit` charges, at most `budget` steps per order).
 *
 * A candidate is matched only when it is the ONLY candidate of its order and the only candidate
 * of each of its charges. Everything else is a question for the person: the matcher never picks
 * between two orders or two charge sets, whatever their scores say.
 */
import { merchantMatch } from './merchant.js';

export type Kind = 'payment' | 'refund';

export interface MatchOrder {
  id: number;
  connectionId: number;
  retailer: string;
  /** The order's calendar date (UTC), YYYY-MM-DD. */
  date: string;
  currency: string;
  /** Minor units. */
  total: number;
  refunded: number;
}

export interface MatchCharge {
  id: number;
  connectionId: number;
  merchant: string;
  /** The bank's calendar date, YYYY-MM-DD. */
  date: string;
  currency: string;
  /** Minor units; positive = money out. */
  amount: number;
}

/** Days after the order's date a charge may carry, inclusive (from may be negative). */
export interface DayWindow {
  from: number;
  to: number;
}

export interface MatchOptions {
  window: DayWindow;
  refundWindow: DayWindow;
  /** The most charges one order may settle as. */
  maxSplit: number;
  /** Search steps per order before giving up on finding every split (the order is then reviewed). */
  budget: number;
}

export const DEFAULT_OPTIONS: MatchOptions = { window: { from: 0, to: 10 }, refundWindow: { from: 0, to: 90 }, maxSplit: 4, budget: 100_000 };

export interface Edge {
  kind: Kind;
  order: number;
  /** Charge ids, ascending. */
  charges: number[];
  method: 'exact' | 'split';
  /** 0–100: merchant likeness and date closeness. Shown to people, never used to choose. */
  score: number;
}

export interface Question {
  kind: Kind;
  candidates: Edge[];
}

export interface MatchInput {
  orders: readonly MatchOrder[];
  charges: readonly MatchCharge[];
  /** `${kind}:${orderId}` already settled by a decision (confirmed) or out of scope. */
  takenOrders?: ReadonlySet<string>;
  takenCharges?: ReadonlySet<number>;
  /** Edge keys (edgeKey) a person rejected: never proposed again. */
  excluded?: ReadonlySet<string>;
}

export interface MatchResult {
  matched: Edge[];
  questions: Question[];
  /** Orders whose split search hit the budget: never matched automatically. */
  bounded: Array<{ kind: Kind; order: number }>;
}

export const edgeKey = (e: Pick<Edge, 'kind' | 'order' | 'charges'>): string => `${e.kind}:${e.order}:${[...e.charges].sort((a, b) => a - b).join(',')}`;
export const orderKey = (kind: Kind, order: number): string => `${kind}:${order}`;

export function dayNumber(date: string): number {
  return Math.floor(Date.parse(`${date.slice(0, 10)}T00:00:00Z`) / 86_400_000);
}

interface Indexed extends MatchCharge {
  day: number;
  abs: number;
}

/** Charges by currency and sign, then by merchant text, each list by day, for window scans. */
function index(charges: readonly MatchCharge[], taken: ReadonlySet<number>): Map<string, Map<string, Indexed[]>> {
  const m = new Map<string, Map<string, Indexed[]>>();
  for (const c of charges) {
    if (c.amount === 0 || taken.has(c.id)) continue;
    const k = `${c.currency}:${c.amount > 0 ? 'payment' : 'refund'}`;
    let byMerchant = m.get(k);
    if (!byMerchant) m.set(k, (byMerchant = new Map()));
    let list = byMerchant.get(c.merchant);
    if (!list) byMerchant.set(c.merchant, (list = []));
    list.push({ ...c, day: dayNumber(c.date), abs: Math.abs(c.amount) });
  }
  for (const byMerchant of m.values()) for (const list of byMerchant.values()) list.sort((a, b) => a.day - b.day || a.id - b.id);
  return m;
}

function firstAtOrAfter(list: readonly Indexed[], day: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.day < day) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function score(similarity: number, days: number[], w: DayWindow, split: boolean): number {
  const late = Math.max(...days) - w.from;
  const closeness = 1 - late / (w.to - w.from + 1);
  return Math.max(0, Math.min(100, Math.round(60 * similarity + 30 * closeness + (split ? 5 : 10))));
}

/** Every subset of 2..max charges summing exactly to target (amounts all below it), within budget. */
export function splitSets(pool: readonly { id: number; abs: number }[], target: number, max: number, budget: number): { sets: number[][]; bounded: boolean } {
  const a = [...pool].sort((x, y) => y.abs - x.abs || x.id - y.id);
  const prefix = [0];
  for (const c of a) prefix.push(prefix[prefix.length - 1]! + c.abs);
  // The last charge of a set is looked up by its amount rather than tried one by one.
  const at = new Map<number, number[]>();
  a.forEach((c, i) => at.set(c.abs, [...(at.get(c.abs) ?? []), i]));
  const sets: number[][] = [];
  const chosen: number[] = [];
  let steps = 0;
  let bounded = false;
  const record = (last: number) => sets.push([...chosen, last].map((i) => a[i]!.id).sort((x, y) => x - y));
  const dfs = (start: number, remaining: number): void => {
    const slots = max - chosen.length;
    if (chosen.length >= 1) {
      if (++steps > budget) return void (bounded = true);
      for (const i of at.get(remaining) ?? []) if (i >= start) record(i);
    }
    if (slots <= 1) return;
    for (let i = start; i < a.length; i++) {
      // The largest sum still reachable from here with the slots left (amounts are descending).
      if (prefix[Math.min(a.length, i + slots)]! - prefix[i]! < remaining) return;
      if (a[i]!.abs >= remaining) continue;
      if (++steps > budget) return void (bounded = true);
      chosen.push(i);
      dfs(i + 1, remaining - a[i]!.abs);
      chosen.pop();
      if (bounded) return;
    }
  };
  dfs(0, target);
  return { sets, bounded };
}

export function match(input: MatchInput, opts: MatchOptions = DEFAULT_OPTIONS): MatchResult {
  const takenOrders = input.takenOrders ?? new Set<string>();
  const excluded = input.excluded ?? new Set<string>();
  const byKey = index(input.charges, input.takenCharges ?? new Set<number>());
  const edges: Edge[] = [];
  const bounded: MatchResult['bounded'] = [];
  // Merchant texts repeat (one card, a few shops): which of them name a retailer is decided once
  // per (currency and sign, retailer), and only those merchants' charges are scanned.
  const compatible = new Map<string, Array<{ list: Indexed[]; similarity: number }>>();
  const listsFor = (key: string, retailer: string) => {
    const k = `${key}\u0000${retailer}`;
    let lists = compatible.get(k);
    if (!lists) {
      lists = [];
      for (const [merchant, list] of byKey.get(key) ?? []) {
        const m = merchantMatch(merchant, retailer);
        if (m) lists.push({ list, similarity: m.similarity });
      }
      compatible.set(k, lists);
    }
    return lists;
  };
  // Pass 1: exact single charges. A charge that exactly equals an order in its window is explained
  // by that order (or is a question about it): it is not offered as part of ANOTHER order's split,
  // which would otherwise drown a busy card in coincidental sums. Once a person settles such a
  // question, the charges it did not take are free for splits again (the re-run sees them).
  const work: Array<{ o: MatchOrder; kind: Kind; target: number; pool: Array<Indexed & { similarity: number }>; add: (ids: number[], method: Edge['method']) => void }> = [];
  const exact = new Set<number>();
  for (const o of input.orders) {
    const day = dayNumber(o.date);
    for (const kind of ['payment', 'refund'] as const) {
      const target = kind === 'payment' ? o.total : o.refunded;
      if (target <= 0 || takenOrders.has(orderKey(kind, o.id))) continue;
      const lists = listsFor(`${o.currency}:${kind}`, o.retailer);
      if (!lists.length) continue;
      const w = kind === 'payment' ? opts.window : opts.refundWindow;
      const pool: Array<Indexed & { similarity: number }> = [];
      for (const { list, similarity } of lists) {
        for (let i = firstAtOrAfter(list, day + w.from); i < list.length && list[i]!.day <= day + w.to; i++) {
          if (list[i]!.abs <= target) pool.push({ ...list[i]!, similarity });
        }
      }
      const byId = new Map(pool.map((c) => [c.id, c]));
      const add = (ids: number[], method: Edge['method']) => {
        const e: Edge = { kind, order: o.id, charges: ids, method, score: 0 };
        if (excluded.has(edgeKey(e))) return;
        const cs = ids.map((id) => byId.get(id)!);
        e.score = score(Math.min(...cs.map((c) => c.similarity)), cs.map((c) => c.day - day), w, method === 'split');
        edges.push(e);
      };
      for (const c of pool) {
        if (c.abs !== target) continue;
        exact.add(c.id);
        add([c.id], 'exact');
      }
      work.push({ o, kind, target, pool, add });
    }
  }
  // Pass 2: split shipments, from the charges no order explains exactly.
  for (const { o, kind, target, pool, add } of work) {
    const smaller = pool.filter((c) => c.abs < target && !exact.has(c.id));
    if (smaller.length < 2 || opts.maxSplit < 2) continue;
    const found = splitSets(smaller, target, opts.maxSplit, opts.budget);
    for (const set of found.sets) add(set, 'split');
    if (found.bounded) bounded.push({ kind, order: o.id });
  }
  return resolve(edges, bounded);
}

/** Unique candidates are matches; the rest become questions, one per charge where that is enough. */
function resolve(edges: Edge[], bounded: MatchResult['bounded']): MatchResult {
  const boundedKeys = new Set(bounded.map((b) => orderKey(b.kind, b.order)));
  const perOrder = new Map<string, number>();
  const perCharge = new Map<number, number>();
  for (const e of edges) {
    perOrder.set(orderKey(e.kind, e.order), (perOrder.get(orderKey(e.kind, e.order)) ?? 0) + 1);
    for (const c of e.charges) perCharge.set(c, (perCharge.get(c) ?? 0) + 1);
  }
  const matched: Edge[] = [];
  const open: Edge[] = [];
  for (const e of edges) {
    const unique = perOrder.get(orderKey(e.kind, e.order)) === 1 && e.charges.every((c) => perCharge.get(c) === 1) && !boundedKeys.has(orderKey(e.kind, e.order));
    (unique ? matched : open).push(e);
  }

  // Connected components of the open candidates (sharing an order or a charge).
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    while (parent.get(x) !== x) {
      const p = parent.get(parent.get(x)!)!;
      parent.set(x, p);
      x = p;
    }
    return x;
  };
  const union = (a: string, b: string) => {
    for (const k of [a, b]) if (!parent.has(k)) parent.set(k, k);
    parent.set(find(a), find(b));
  };
  for (const e of open) for (const c of e.charges) union(orderKey(e.kind, e.order), `c:${c}`);
  const groups = new Map<string, Edge[]>();
  for (const e of open) {
    const root = find(orderKey(e.kind, e.order));
    groups.set(root, [...(groups.get(root) ?? []), e]);
  }
  const questions: Question[] = [];
  for (const group of groups.values()) {
    if (group.every((e) => e.charges.length === 1)) {
      // Which order did this charge pay for? One question per charge: deciding one often settles the next.
      const byCharge = new Map<number, Edge[]>();
      for (const e of group) byCharge.set(e.charges[0]!, [...(byCharge.get(e.charges[0]!) ?? []), e]);
      for (const cands of byCharge.values()) questions.push({ kind: cands[0]!.kind, candidates: sortEdges(cands) });
    } else {
      questions.push({ kind: group[0]!.kind, candidates: sortEdges(group) });
    }
  }
  questions.sort((a, b) => edgeKey(a.candidates[0]!).localeCompare(edgeKey(b.candidates[0]!)));
  matched.sort((a, b) => a.order - b.order || a.kind.localeCompare(b.kind));
  return { matched, questions, bounded };
}

function sortEdges(es: Edge[]): Edge[] {
  return [...es].sort((a, b) => a.order - b.order || a.charges.length - b.charges.length || edgeKey(a).localeCompare(edgeKey(b)));
}
