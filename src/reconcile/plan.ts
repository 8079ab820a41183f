/**
 * One reconcile run: read the orders, the charges and the decisions people made; run the matcher
 * around those decisions; turn its answer into rows (matches and open questions); and replace the
 * matcher's rows of the last run with them — keeping, with their ids, the rows that did not change,
 * so `reconcile --confirm ID` from an earlier listing still names the same thing. People's
 * decisions (confirmed, rejected) are never replaced by the matcher.
 */
import { dayNumber, DEFAULT_OPTIONS, edgeKey, match, orderKey, type Edge, type MatchOptions, type Question } from './match.js';
import { provenance } from './provenance.js';
import type { LoadedCharge, LoadedOrder, NewRec, Rec, ReconcileStore } from './store.js';

export interface PlanOptions {
  /** YYYY-MM-DD: only orders from this day on (and the charges that could pay for them). */
  since?: string;
  match?: MatchOptions;
}

export interface Counts {
  matched: number;
  confirmed: number;
  ambiguous: number;
  rejected: number;
  unmatched_charges: number;
  unmatched_orders: number;
  /** Orders whose split search hit its bound: not matched automatically. */
  bounded: number;
}

export interface Plan {
  counts: Counts;
  changes: { added: number; removed: number; kept: number };
  /** Rows to insert and row ids to delete. */
  insert: NewRec[];
  remove: number[];
  remapped: number;
}

const isAuto = (r: Pick<Rec, 'status'>) => r.status === 'matched' || r.status === 'ambiguous';

/** The identity of a row for "did it change": what it says, not its score. */
const signature = (status: string, kind: string, candidates: readonly Edge[]) => `${status}|${kind}|${candidates.map(edgeKey).sort().join(';')}`;

export function makePlan(rs: ReconcileStore, handles: ReadonlyMap<number, string>, opts: PlanOptions = {}): Plan {
  const mo = opts.match ?? DEFAULT_OPTIONS;
  const successors = rs.successors();
  const mapId = (c: number) => successors.get(c) ?? c;
  const existing = rs.all().map((r) => ({ ...r, charges: r.charges.map(mapId), candidates: r.candidates.map((e) => ({ ...e, charges: e.charges.map(mapId).sort((a, b) => a - b) })) }));
  const remapped = [...successors.keys()].length;

  // --since: rows about older orders are outside this run; they stand as they are.
  const before = opts.since ? rs.orderIdsBefore(opts.since) : new Set<number>();
  const outside = (r: Rec) => (r.order_ref !== null ? before.has(r.order_ref) : r.candidates.some((e) => before.has(e.order)));
  const fixed = existing.filter((r) => !isAuto(r) || outside(r));
  const previous = existing.filter((r) => isAuto(r) && !outside(r));

  const takenOrders = new Set<string>();
  const takenCharges = new Set<number>();
  const excluded = new Set<string>();
  for (const r of fixed) {
    if (r.status === 'rejected') {
      for (const e of r.candidates) excluded.add(edgeKey(e));
      if (r.order_ref !== null) excluded.add(edgeKey({ kind: r.kind, order: r.order_ref, charges: r.charges }));
      continue;
    }
    if (r.order_ref !== null) takenOrders.add(orderKey(r.kind, r.order_ref));
    for (const e of r.candidates) takenOrders.add(orderKey(e.kind, e.order));
    for (const c of r.charges) takenCharges.add(c);
  }

  const lead = Math.min(0, mo.window.from, mo.refundWindow.from);
  const chargesSince = opts.since ? new Date((dayNumber(opts.since) + lead) * 86_400_000).toISOString().slice(0, 10) : undefined;
  const orders = rs.orders(opts.since);
  const charges = rs.charges(chargesSince);
  const result = match({ orders, charges, takenOrders, takenCharges, excluded }, mo);

  const orderById = new Map(orders.map((o) => [o.id, o]));
  const chargeById = new Map(charges.map((c) => [c.id, c]));
  const wanted: NewRec[] = [
    ...result.matched.map((e): NewRec => matchedRec(e, orderById.get(e.order)!, e.charges.map((c) => chargeById.get(c)!), handles)),
    ...result.questions.map(questionRec),
  ];

  const prev = new Map(previous.map((r) => [signature(r.status, r.kind, r.candidates), r]));
  const insert: NewRec[] = [];
  const keep = new Set<number>();
  for (const w of wanted) {
    const same = prev.get(signature(w.status, w.kind, w.candidates));
    if (same && !keep.has(same.id)) keep.add(same.id);
    else insert.push(w);
  }
  const remove = previous.filter((r) => !keep.has(r.id)).map((r) => r.id);

  // The state after this run, counted without writing it (so --dry-run counts the same way).
  const after = [...fixed, ...previous.filter((r) => keep.has(r.id)), ...insert.map((n) => ({ ...n, order_ref: n.orderRef }))];
  const live = rs.liveAmong(after.filter((r) => r.status === 'confirmed' && r.order_ref !== null).map((r) => r.order_ref!));
  const settled = new Set<number>();
  const waiting = new Set<number>();
  const paid = new Set<number>();
  const asked = new Set<number>();
  for (const r of after) {
    if (r.status === 'matched' || (r.status === 'confirmed' && live.has(r.order_ref!))) {
      for (const c of r.charges) settled.add(c);
      if (r.kind === 'payment') paid.add(r.order_ref!);
    } else if (r.status === 'ambiguous') {
      for (const c of r.charges) waiting.add(c);
      for (const e of r.candidates) if (e.kind === 'payment') asked.add(e.order);
    }
  }
  const count = (s: string) => after.filter((r) => r.status === s).length;
  const inScope = (c: LoadedCharge) => !opts.since || c.date >= opts.since;
  return {
    counts: {
      matched: count('matched'),
      confirmed: count('confirmed'),
      ambiguous: count('ambiguous'),
      rejected: count('rejected'),
      unmatched_charges: charges.filter((c) => inScope(c) && !settled.has(c.id) && !waiting.has(c.id)).length,
      unmatched_orders: orders.filter((o) => o.total > 0 && !paid.has(o.id) && !asked.has(o.id)).length,
      bounded: result.bounded.length,
    },
    changes: { added: insert.length, removed: remove.length, kept: keep.size },
    insert,
    remove,
    remapped,
  };
}

function matchedRec(e: Edge, order: LoadedOrder, charges: LoadedCharge[], handles: ReadonlyMap<number, string>): NewRec {
  return { kind: e.kind, orderRef: e.order, charges: e.charges, status: 'matched', method: e.method, score: e.score, candidates: [e], provenance: provenance(e, order, charges, handles), decidedAt: null };
}

function questionRec(q: Question): NewRec {
  const charges = [...new Set(q.candidates.flatMap((e) => e.charges))].sort((a, b) => a - b);
  return {
    kind: q.kind,
    orderRef: null,
    charges,
    status: 'ambiguous',
    method: q.candidates.some((e) => e.method === 'split') ? 'split' : 'exact',
    score: Math.max(...q.candidates.map((e) => e.score)),
    candidates: q.candidates,
    provenance: {},
    decidedAt: null,
  };
}

/** Write a plan: decisions first follow their posted charges, then old matcher rows go and new ones come. */
export function applyPlan(rs: ReconcileStore, plan: Plan, now: string): number[] {
  return rs.transaction(() => {
    const successors = rs.successors();
    if (successors.size) for (const r of rs.all()) rs.remap(r, successors);
    for (const id of plan.remove) rs.delete(id);
    const ids = plan.insert.map((n) => rs.insert(n, now));
    rs.db.prepare("INSERT INTO meta (key, value) VALUES ('reconcile_fingerprint', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(rs.fingerprint());
    return ids;
  });
}

/** Whether orders or charges changed since the last saved run (or there never was one). */
export function isStale(rs: ReconcileStore): boolean {
  const saved = rs.db.prepare("SELECT value FROM meta WHERE key = 'reconcile_fingerprint'").pluck().get() as string | undefined;
  return saved !== rs.fingerprint();
}
