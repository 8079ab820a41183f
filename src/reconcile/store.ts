/**
 * The reconciliations table (migration 5): reading what the matcher needs, and writing its answers
 * and people's decisions. `charge_refs` (JSON, for people and SQL) and `reconciliation_charges`
 * (for SQLite's cascades) are always written together, here and nowhere else; so are the orders a
 * row names and `reconciliation_orders`.
 */
import type { DB } from '../store/db.js';
import type { Edge, Kind, MatchCharge, MatchOrder } from './match.js';

export type RecStatus = 'matched' | 'confirmed' | 'rejected' | 'ambiguous';

export interface RecRow {
  id: number;
  kind: Kind;
  order_ref: number | null;
  charge_refs: string;
  status: RecStatus;
  method: 'exact' | 'split';
  score: number;
  candidates: string;
  provenance: string;
  created_at: string;
  decided_at: string | null;
}

export interface Rec extends Omit<RecRow, 'charge_refs' | 'candidates'> {
  charges: number[];
  candidates: Edge[];
}

export const parseRow = (r: RecRow): Rec => {
  const { charge_refs, candidates, ...rest } = r;
  return { ...rest, charges: JSON.parse(charge_refs) as number[], candidates: JSON.parse(candidates) as Edge[] };
};

export interface NewRec {
  kind: Kind;
  orderRef: number | null;
  charges: number[];
  status: RecStatus;
  method: 'exact' | 'split';
  score: number;
  candidates: Edge[];
  provenance: Record<string, unknown>;
  decidedAt: string | null;
}

export interface OrderFacts {
  id: number;
  connection_id: number;
  order_id: string;
  retailer: string;
  order_date: string;
  currency: string;
  total: number;
  refunded: number;
  item_count: number;
  deleted_at: string | null;
}

export interface ChargeFacts {
  id: number;
  connection_id: number;
  transaction_id: string;
  date: string;
  merchant: string;
  amount: number;
  currency: string;
  pending: number;
  deleted_at: string | null;
}

export interface LoadedOrder extends MatchOrder {
  orderId: string;
  itemCount: number;
}

export interface LoadedCharge extends MatchCharge {
  transactionId: string;
  pending: boolean;
}

export class ReconcileStore {
  constructor(readonly db: DB) {}

  /** Live orders that can be paid for or refunded by a charge (cancelled and zero orders cannot). */
  orders(since?: string): LoadedOrder[] {
    return this.db
      .prepare(
        `SELECT id, connection_id AS connectionId, order_id AS orderId, item_count AS itemCount, retailer, substr(order_date, 1, 10) AS date, currency, total, refunded FROM orders
         WHERE deleted_at IS NULL AND status != 'cancelled' AND (total > 0 OR refunded > 0)${since ? ' AND order_date >= ?' : ''} ORDER BY id`,
      )
      .all(...(since ? [since] : [])) as LoadedOrder[];
  }

  charges(since?: string): LoadedCharge[] {
    const rows = this.db
      .prepare(`SELECT id, connection_id AS connectionId, transaction_id AS transactionId, pending, merchant, date, currency, amount FROM charges WHERE deleted_at IS NULL AND amount != 0${since ? ' AND date >= ?' : ''} ORDER BY id`)
      .all(...(since ? [since] : [])) as Array<Omit<LoadedCharge, 'pending'> & { pending: number }>;
    return rows.map((r) => ({ ...r, pending: r.pending === 1 }));
  }

  /** Ids of orders dated before `since` (their matches are outside a --since run). */
  orderIdsBefore(since: string): Set<number> {
    return new Set((this.db.prepare('SELECT id FROM orders WHERE order_date < ?').all(since) as Array<{ id: number }>).map((r) => r.id));
  }

  /** Of these order ids, the live ones. */
  liveAmong(ids: readonly number[]): Set<number> {
    const rows = this.db.prepare('SELECT o.id FROM json_each(?) j JOIN orders o ON o.id = j.value WHERE o.deleted_at IS NULL').pluck().all(JSON.stringify(ids)) as number[];
    return new Set(rows);
  }

  /** Changes to orders or charges since this was last read (counts and last update times). */
  fingerprint(): string {
    const o = this.db.prepare('SELECT count(*) AS n, max(updated_at) AS u FROM orders').get() as { n: number; u: string | null };
    const c = this.db.prepare('SELECT count(*) AS n, max(updated_at) AS u FROM charges').get() as { n: number; u: string | null };
    return `${o.n}:${o.u ?? ''}|${c.n}:${c.u ?? ''}`;
  }

  all(): Rec[] {
    return (this.db.prepare('SELECT * FROM reconciliations ORDER BY id').all() as RecRow[]).map(parseRow);
  }

  get(id: number): Rec | undefined {
    const r = this.db.prepare('SELECT * FROM reconciliations WHERE id = ?').get(id) as RecRow | undefined;
    return r ? parseRow(r) : undefined;
  }

  order(id: number): OrderFacts | undefined {
    return this.db.prepare('SELECT id, connection_id, order_id, retailer, order_date, currency, total, refunded, item_count, deleted_at FROM orders WHERE id = ?').get(id) as OrderFacts | undefined;
  }

  charge(id: number): ChargeFacts | undefined {
    return this.db.prepare('SELECT id, connection_id, transaction_id, date, merchant, amount, currency, pending, deleted_at FROM charges WHERE id = ?').get(id) as ChargeFacts | undefined;
  }

  /**
   * Pending charges that posted since a decision was made: Plaid retires the pending transaction
   * and adds a posted one naming it. Returns old id → live successor id for every referenced
   * charge that has one.
   */
  successors(): Map<number, number> {
    const rows = this.db
      .prepare(
        `SELECT old.id AS old, new.id AS new FROM charges old
         JOIN charges new ON new.connection_id = old.connection_id AND new.pending_transaction_id = old.transaction_id AND new.deleted_at IS NULL
         WHERE old.deleted_at IS NOT NULL AND old.id IN (SELECT charge_ref FROM reconciliation_charges)`,
      )
      .all() as Array<{ old: number; new: number }>;
    return new Map(rows.map((r) => [r.old, r.new]));
  }

  /** Point a decision at the posted successors of its pending charges. */
  remap(rec: Rec, map: ReadonlyMap<number, number>): void {
    const next = rec.charges.map((c) => map.get(c) ?? c);
    if (next.every((c, i) => c === rec.charges[i])) return;
    const candidates = rec.candidates.map((e) => ({ ...e, charges: e.charges.map((c) => map.get(c) ?? c).sort((a, b) => a - b) }));
    const move = this.db.prepare('UPDATE OR IGNORE reconciliation_charges SET charge_ref = ? WHERE charge_ref = ? AND reconciliation_id = ?');
    for (const [i, c] of rec.charges.entries()) if (next[i] !== c) move.run(next[i], c, rec.id);
    this.db.prepare('UPDATE reconciliations SET charge_refs = ?, candidates = ? WHERE id = ?').run(JSON.stringify([...new Set(next)].sort((a, b) => a - b)), JSON.stringify(candidates), rec.id);
  }

  insert(r: NewRec, now: string): number {
    const id = Number(
      this.db
        .prepare(
          `INSERT INTO reconciliations (kind, order_ref, charge_refs, status, method, score, candidates, provenance, created_at, decided_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(r.kind, r.orderRef, JSON.stringify(r.charges), r.status, r.method, r.score, JSON.stringify(r.candidates), JSON.stringify(r.provenance), now, r.decidedAt).lastInsertRowid,
    );
    const link = this.db.prepare('INSERT OR IGNORE INTO reconciliation_charges (charge_ref, reconciliation_id) VALUES (?, ?)');
    for (const c of r.charges) link.run(c, id);
    const linkOrder = this.db.prepare('INSERT OR IGNORE INTO reconciliation_orders (order_ref, reconciliation_id) VALUES (?, ?)');
    for (const o of new Set([...(r.orderRef === null ? [] : [r.orderRef]), ...r.candidates.map((e) => e.order)])) linkOrder.run(o, id);
    return id;
  }

  delete(id: number): void {
    this.db.prepare('DELETE FROM reconciliations WHERE id = ?').run(id);
  }

  decide(id: number, status: 'confirmed' | 'rejected', now: string): void {
    this.db.prepare('UPDATE reconciliations SET status = ?, decided_at = ? WHERE id = ?').run(status, now, id);
  }

  /** Charges whose purchase is already counted as an order: in a live match whose order is live. */
  settledChargeIds(): Set<number> {
    const rows = this.db
      .prepare(
        `SELECT rc.charge_ref AS id FROM reconciliation_charges rc JOIN reconciliations r ON r.id = rc.reconciliation_id
         JOIN orders o ON o.id = r.order_ref WHERE r.status IN ('matched', 'confirmed') AND o.deleted_at IS NULL`,
      )
      .all() as Array<{ id: number }>;
    return new Set(rows.map((r) => r.id));
  }

  /** Charges waiting in an open question. */
  waitingChargeIds(): Set<number> {
    const rows = this.db
      .prepare(`SELECT rc.charge_ref AS id FROM reconciliation_charges rc JOIN reconciliations r ON r.id = rc.reconciliation_id WHERE r.status = 'ambiguous'`)
      .all() as Array<{ id: number }>;
    return new Set(rows.map((r) => r.id));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
