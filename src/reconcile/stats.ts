/**
 * `orders stats --include-charges`: the order totals plus the card charges that NO order accounts
 * for. A charge matched (or confirmed) to a live order is that order's payment and is not added
 * again; a charge waiting in an open question is not added either (it almost surely is one of its
 * candidate orders) and is reported so the person can review it. Transfers, loan and card
 * payments and income are not spending and are never added. Refund charges add to `refunded`.
 *
 * The matcher runs first when orders or charges changed since its last saved run, so the figures
 * never rest on stale matches.
 */
import { addMinor, currencyExponent, type MinorSum } from '../connectors/money.js';
import { usageError } from '../errors.js';
import type { OrderFilter, StatRow, Store } from '../store/index.js';
import { ensureReconciled, type Audit, type RunResult } from './index.js';
import { brandOf, chargeLabel } from './merchant.js';

/** Plaid personal-finance categories that move money without buying anything. */
export const NOT_SPENDING = ['TRANSFER_IN', 'TRANSFER_OUT', 'LOAN_PAYMENTS', 'INCOME'] as const;

export interface ChargeSummary {
  currency: string;
  /** Unmatched purchases added (positive charges). */
  charges: number;
  total: MinorSum;
  /** Unmatched refunds added to `refunded`. */
  refunds: number;
  refunded: MinorSum;
}

export interface WithCharges {
  rows: StatRow[];
  summary: ChargeSummary[];
  /** Charges not added because they wait in an open question (`orderlink reconcile --review`). */
  waiting: number;
  reconciled: RunResult | undefined;
}

interface ChargeStat {
  connection_id: number;
  date: string;
  merchant: string;
  amount: number;
  currency: string;
  category: string | null;
  waiting: number;
}

export function withUnmatchedCharges(store: Store, by: 'month' | 'retailer' | 'category', f: OrderFilter, rows: readonly StatRow[], now: Date, audit: Audit): WithCharges {
  if (f.status?.length) throw usageError('BAD_OPTION', '--include-charges cannot be combined with --status: charges have no order status');
  if (f.search !== undefined) throw usageError('BAD_OPTION', '--include-charges cannot be combined with --search: charges have no items');
  const reconciled = ensureReconciled(store, now, audit);

  const where: string[] = ['c.deleted_at IS NULL', 'c.amount != 0', `(c.category IS NULL OR c.category NOT IN (${NOT_SPENDING.map((x) => `'${x}'`).join(', ')}))`];
  const args: unknown[] = [];
  if (f.connectionIds?.length) where.push(`c.connection_id IN (${f.connectionIds.map(() => '?').join(', ')})`), args.push(...f.connectionIds);
  if (f.since) where.push("(c.date || 'T00:00:00.000Z') >= ?"), args.push(f.since);
  if (f.until) where.push("(c.date || 'T00:00:00.000Z') < ?"), args.push(f.until);
  if (f.currency) where.push('c.currency = ?'), args.push(f.currency);
  if (f.category) where.push('c.category = ? COLLATE NOCASE'), args.push(f.category);
  const charges = store.db
    .prepare(
      `SELECT c.connection_id, c.date, c.merchant, c.amount, c.currency, c.category,
         EXISTS (SELECT 1 FROM reconciliation_charges rc JOIN reconciliations r ON r.id = rc.reconciliation_id WHERE rc.charge_ref = c.id AND r.status = 'ambiguous') AS waiting
       FROM charges c
       WHERE ${where.join(' AND ')}
         AND NOT EXISTS (SELECT 1 FROM reconciliation_charges rc JOIN reconciliations r ON r.id = rc.reconciliation_id JOIN orders o ON o.id = r.order_ref
                         WHERE rc.charge_ref = c.id AND r.status IN ('matched', 'confirmed') AND o.deleted_at IS NULL)`,
    )
    .all(...args) as ChargeStat[];

  const retailers = new Map<string, string>();
  for (const r of store.db.prepare('SELECT retailer FROM orders WHERE deleted_at IS NULL GROUP BY retailer ORDER BY count(*) DESC').pluck().all() as string[]) {
    const b = brandOf(r);
    if (b && !retailers.has(b.key)) retailers.set(b.key, r);
  }
  const inRange = (c: ChargeStat): boolean => {
    const scaled = BigInt(Math.abs(c.amount)) * 10n ** BigInt(4 - currencyExponent(c.currency));
    if (f.min !== undefined && scaled < BigInt(Math.round(f.min * 10_000))) return false;
    if (f.max !== undefined && scaled > BigInt(Math.round(f.max * 10_000))) return false;
    return true;
  };

  const merged = new Map<string, StatRow>(rows.map((r) => [`${r.currency}\u0000${r.key}`, { ...r }]));
  const summary = new Map<string, ChargeSummary>();
  let waiting = 0;
  for (const c of charges) {
    if (c.waiting) {
      waiting++;
      continue;
    }
    if (!inRange(c)) continue;
    const label = chargeLabel(c.merchant, retailers);
    // --retailer may be repeated: any of its values (case-insensitive) matches.
    const wanted = f.retailer === undefined ? null : (Array.isArray(f.retailer) ? f.retailer : [f.retailer as string]).map((r) => r.toLowerCase());
    if (wanted && !wanted.includes(label.toLowerCase())) continue;
    const key = by === 'month' ? c.date.slice(0, 7) : by === 'retailer' ? label : (c.category ?? '');
    const k = `${c.currency}\u0000${key}`;
    const row = merged.get(k) ?? { key, currency: c.currency, orders: 0, total: 0, refunded: 0 };
    const s = summary.get(c.currency) ?? { currency: c.currency, charges: 0, total: 0, refunds: 0, refunded: 0 };
    if (c.amount > 0) {
      row.orders++;
      row.total = addMinor(row.total, c.amount);
      s.charges++;
      s.total = addMinor(s.total, c.amount);
    } else {
      row.refunded = addMinor(row.refunded, -c.amount);
      s.refunds++;
      s.refunded = addMinor(s.refunded, -c.amount);
    }
    merged.set(k, row);
    summary.set(c.currency, s);
  }
  const out = [...merged.values()].sort((a, b) => a.key.localeCompare(b.key) || a.currency.localeCompare(b.currency));
  return { rows: out, summary: [...summary.values()].sort((a, b) => a.currency.localeCompare(b.currency)), waiting, reconciled };
}
