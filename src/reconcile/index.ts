/**
 * Reconciliation: card charges (Plaid) matched to the orders they paid for or refunded (Amazon's
 * export, Knot, any order connector), so a purchase seen from both sides counts once. The matcher
 * (match.ts) is pure; plan.ts turns its answer into rows; this module is what commands call: a run,
 * a person's decision, and the views of what is open. Every write is audited.
 */
import { formatMinor } from '../connectors/money.js';
import { OrderlinkError, usageError } from '../errors.js';
import { connectionHandle, type Store } from '../store/index.js';
import { DEFAULT_OPTIONS, edgeKey, orderKey, type Edge, type MatchOptions } from './match.js';
import { applyPlan, isStale, makePlan, type Counts } from './plan.js';
import { provenance } from './provenance.js';
import { ReconcileStore, type Rec } from './store.js';

export { DEFAULT_OPTIONS, type MatchOptions } from './match.js';
export type { Counts } from './plan.js';

export type Audit = (action: string, detail: Record<string, unknown>) => void;

export interface RunOptions {
  since?: string;
  dryRun?: boolean;
  match?: MatchOptions;
  now: Date;
}

export interface RunResult extends Counts {
  dry_run: boolean;
  since: string | null;
  changes: { added: number; removed: number; kept: number };
}

export function handlesOf(store: Store): Map<number, string> {
  return new Map(store.connections.list().map((c) => [c.id, connectionHandle(c)]));
}

export function runReconcile(store: Store, o: RunOptions, audit: Audit): RunResult {
  const rs = new ReconcileStore(store.db);
  const handles = handlesOf(store);
  // The window and split settings of the last saved run stay this profile's settings, so a
  // decision's re-run (or stats' catch-up run) matches the way the person last asked for.
  const match = o.match ?? savedOptions(store);
  const planned = () => makePlan(rs, handles, { ...(o.since ? { since: o.since } : {}), match });
  // Read and write in one IMMEDIATE transaction: two runs at once (cron and a person) never both
  // apply a plan made from the same starting point.
  const plan = o.dryRun
    ? planned()
    : rs.transaction(() => {
        const p = planned();
        applyPlan(rs, p, o.now.toISOString());
        if (o.match) store.setMeta(OPTIONS_KEY, JSON.stringify(o.match));
        return p;
      });
  if (!o.dryRun) audit('reconcile.run', { ...plan.counts, ...plan.changes, since: o.since ?? null });
  return { ...plan.counts, dry_run: Boolean(o.dryRun), since: o.since ?? null, changes: plan.changes };
}

const OPTIONS_KEY = 'reconcile_options';

/** The matcher settings saved by the last run that was given some, else the defaults. */
export function savedOptions(store: Store): MatchOptions {
  try {
    const saved = JSON.parse(store.getMeta(OPTIONS_KEY) ?? 'null') as Partial<MatchOptions> | null;
    return { ...DEFAULT_OPTIONS, ...(saved ?? {}) };
  } catch {
    return DEFAULT_OPTIONS;
  }
}

/** Run the matcher when orders or charges changed since the last saved run (stats need it current). */
export function ensureReconciled(store: Store, now: Date, audit: Audit): RunResult | undefined {
  return isStale(new ReconcileStore(store.db)) ? runReconcile(store, { now }, audit) : undefined;
}

const notFound = (id: number) =>
  new OrderlinkError('RECONCILIATION_NOT_FOUND', `no reconciliation #${id} in this profile`, { hint: 'List them with `orderlink reconcile --list` (ids change only when the matcher\'s answer does).' });

export interface Choice {
  /** An order among the candidates: its id, CONNECTION:ORDER_ID, or its row id. */
  order?: string;
  /** 1-based position among the candidates. */
  choice?: number;
}

/** `--confirm ID [--order ORDER | --choice N]`: a person says which order (and charges) belong together. */
export function confirm(store: Store, id: number, c: Choice, now: Date, audit: Audit): { id: number; already: boolean; run: RunResult } {
  const rs = new ReconcileStore(store.db);
  const row = rs.get(id);
  if (!row) throw notFound(id);
  const handles = handlesOf(store);
  if (row.status === 'confirmed' && c.order === undefined && c.choice === undefined) return { id, already: true, run: runReconcile(store, { now }, audit) };
  const single = row.order_ref !== null && (row.status === 'matched' || row.status === 'rejected' || row.status === 'confirmed');
  const edge = single && c.order === undefined && c.choice === undefined ? row.candidates[0] ?? { kind: row.kind, order: row.order_ref!, charges: row.charges, method: row.method, score: row.score } : pick(rs, row, c, handles);
  const order = rs.order(edge.order);
  const charges = edge.charges.map((x) => rs.charge(x));
  if (!order || order.deleted_at !== null || charges.some((x) => !x || x.deleted_at !== null)) {
    throw new OrderlinkError('RECONCILIATION_STALE', `reconciliation #${id} names an order or charge that is gone`, { hint: 'Run `orderlink reconcile` to refresh the list, then decide again.' });
  }
  for (const other of rs.all()) {
    if (other.id === id || other.status !== 'confirmed') continue;
    const clash = (other.order_ref === edge.order && other.kind === edge.kind) || other.charges.some((x) => edge.charges.includes(x));
    if (clash) {
      throw new OrderlinkError('RECONCILIATION_CONFLICT', `reconciliation #${other.id} already settles this ${other.order_ref === edge.order ? 'order' : 'charge'}`, {
        hint: `Undo that first: \`orderlink reconcile --reject ${other.id}\`, then confirm #${id} again.`,
      });
    }
  }
  const at = now.toISOString();
  const newId = rs.transaction(() => {
    if (row.status === 'matched' && edgeKey(edge) === edgeKey({ kind: row.kind, order: row.order_ref ?? -1, charges: row.charges })) {
      rs.decide(id, 'confirmed', at);
      return id;
    }
    rs.delete(id);
    const loadedOrder = { id: order.id, connectionId: order.connection_id, orderId: order.order_id, itemCount: order.item_count, retailer: order.retailer, date: order.order_date.slice(0, 10), currency: order.currency, total: order.total, refunded: order.refunded };
    const loadedCharges = charges.map((x) => ({ id: x!.id, connectionId: x!.connection_id, transactionId: x!.transaction_id, pending: x!.pending === 1, merchant: x!.merchant, date: x!.date, currency: x!.currency, amount: x!.amount }));
    return rs.insert({ kind: edge.kind, orderRef: edge.order, charges: edge.charges, status: 'confirmed', method: edge.method, score: edge.score, candidates: [edge], provenance: provenance(edge, loadedOrder, loadedCharges, handles), decidedAt: at }, at);
  });
  audit('reconcile.confirm', { id: newId, ...(newId !== id ? { replaces: id } : {}), kind: edge.kind, order_ref: edge.order, charge_refs: edge.charges });
  return { id: newId, already: false, run: runReconcile(store, { now }, audit) };
}

function pick(rs: ReconcileStore, row: Rec, c: Choice, handles: ReadonlyMap<number, string>): Edge {
  const cands = row.candidates;
  if (c.choice !== undefined) {
    const e = cands[c.choice - 1];
    if (!e) throw usageError('BAD_CHOICE', `reconciliation #${row.id} has ${cands.length} candidate${cands.length === 1 ? '' : 's'}; --choice ${c.choice} is not one of them`);
    return e;
  }
  if (c.order === undefined) {
    if (cands.length === 1) return cands[0]!;
    throw usageError('CHOICE_NEEDED', `reconciliation #${row.id} is a question with ${cands.length} candidates: say which`, `Add --order ORDER (one of: ${describeOrders(rs, cands, handles)}) or --choice N (1–${cands.length}).`);
  }
  const ref = c.order;
  const hits = cands.filter((e) => {
    const o = rs.order(e.order);
    return o !== undefined && (ref === o.order_id || ref === String(o.id) || ref === `${handles.get(o.connection_id)}:${o.order_id}`);
  });
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) throw usageError('NOT_A_CANDIDATE', `order "${ref.slice(0, 80)}" is not a candidate of reconciliation #${row.id}`, `Candidates: ${describeOrders(rs, cands, handles)}.`);
  throw usageError('CHOICE_NEEDED', `order "${ref.slice(0, 80)}" is in ${hits.length} candidates of #${row.id} (different charge sets)`, `Use --choice N: ${hits.map((h) => cands.indexOf(h) + 1).join(' or ')}.`);
}

function describeOrders(rs: ReconcileStore, cands: readonly Edge[], handles: ReadonlyMap<number, string>): string {
  return [...new Set(cands.map((e) => e.order))]
    .map((id) => {
      const o = rs.order(id);
      return o ? `${handles.get(o.connection_id) ?? o.connection_id}:${o.order_id}` : String(id);
    })
    .join(', ');
}

/** `--reject ID`: not this match (or, for a question, none of its candidates). Never proposed again. */
export function reject(store: Store, id: number, now: Date, audit: Audit): { id: number; already: boolean; run: RunResult } {
  const rs = new ReconcileStore(store.db);
  const row = rs.get(id);
  if (!row) throw notFound(id);
  if (row.status === 'rejected') return { id, already: true, run: runReconcile(store, { now }, audit) };
  rs.transaction(() => rs.decide(id, 'rejected', now.toISOString()));
  audit('reconcile.reject', { id, kind: row.kind, was: row.status, order_ref: row.order_ref, charge_refs: row.charges });
  return { id, already: false, run: runReconcile(store, { now }, audit) };
}

export interface ChargeView {
  id: number;
  transaction_id: string;
  connection: string;
  date: string;
  merchant: string;
  amount: string;
  amount_minor: number;
  currency: string;
  pending: boolean;
}

export interface OrderView {
  id: number;
  ref: string;
  order_id: string;
  retailer: string;
  date: string;
  total: string;
  total_minor: number;
  refunded: string;
  refunded_minor: number;
  currency: string;
}

export interface RecView {
  id: number;
  status: Rec['status'];
  kind: Rec['kind'];
  method: Rec['method'];
  score: number;
  decided_at: string | null;
  order: OrderView | null;
  charges: ChargeView[];
  candidates: Array<{ choice: number; order: OrderView | null; charges: string[]; method: Edge['method']; score: number }>;
  provenance: Record<string, unknown>;
}

/** Rows for people and scripts, newest questions last; `status` filters. */
export function views(store: Store, status?: readonly Rec['status'][]): RecView[] {
  const rs = new ReconcileStore(store.db);
  const handles = handlesOf(store);
  const orderView = (id: number): OrderView | null => {
    const o = rs.order(id);
    if (!o) return null;
    const ref = `${handles.get(o.connection_id) ?? o.connection_id}:${o.order_id}`;
    return { id: o.id, ref, order_id: o.order_id, retailer: o.retailer, date: o.order_date.slice(0, 10), total: formatMinor(o.total, o.currency), total_minor: o.total, refunded: formatMinor(o.refunded, o.currency), refunded_minor: o.refunded, currency: o.currency };
  };
  const chargeView = (id: number): ChargeView | null => {
    const c = rs.charge(id);
    if (!c) return null;
    return { id: c.id, transaction_id: c.transaction_id, connection: handles.get(c.connection_id) ?? String(c.connection_id), date: c.date, merchant: c.merchant, amount: formatMinor(c.amount, c.currency), amount_minor: c.amount, currency: c.currency, pending: c.pending === 1 };
  };
  return rs
    .all()
    .filter((r) => !status || status.includes(r.status))
    .map((r) => ({
      id: r.id,
      status: r.status,
      kind: r.kind,
      method: r.method,
      score: r.score,
      decided_at: r.decided_at,
      order: r.order_ref === null ? null : orderView(r.order_ref),
      charges: r.charges.map(chargeView).filter((c): c is ChargeView => c !== null),
      candidates: r.candidates.map((e, i) => ({ choice: i + 1, order: orderView(e.order), charges: e.charges.map((x) => rs.charge(x)?.transaction_id ?? String(x)), method: e.method, score: e.score })),
      provenance: JSON.parse(r.provenance) as Record<string, unknown>,
    }));
}

export { orderKey };
