/**
 * The record pipeline every way in shares (API sync and file import): allow-list and scrub
 * (policy) → validate against the connector's raw schema → map purely to the vocabulary → check
 * the store's invariants (domain.checkOrder). A record that fails any step is an invalid record:
 * named (order id, where, which field) and skipped, never written, never fatal to its page.
 */
import { MoneyError } from '../connectors/money.js';
import type { Connector } from '../connectors/types.js';
import { checkCharge, checkOrder, isRemovedCharge, isTombstone, type ChargeChange, type NormalizedOrder, type Tombstone } from '../domain.js';
import { applyPolicy } from '../policy/index.js';
import { fastPathFor } from './fast-paths.js';

export interface RecordError {
  /** Provider order id when we could read one. */
  orderId: string | null;
  page: number;
  index: number;
  /** Dotted path of the failing field. */
  field: string;
  message: string;
  /** For file imports: where the record came from. */
  file?: string;
}

export interface MappedPage {
  orders: NormalizedOrder[];
  tombstones: Tombstone[];
  /** Charge connectors only (connector.records === 'charges'): charges and removals, in page order. */
  charges?: ChargeChange[];
  errors: RecordError[];
}

/** Name the first failing field of a zod error as a dotted path. */
type Issue = { path: PropertyKey[]; message: string; code?: string; errors?: Issue[][] };

export function describeIssue(err: { issues: Issue[] }): { field: string; message: string } {
  let issue: Issue | undefined = err.issues[0];
  let prefix: PropertyKey[] = [];
  // A union (an order or a deletion, say) reports "invalid input" at the record: name the field
  // of the branch that got furthest (its first problem is deepest; then the fewest problems).
  const depth = (b: Issue[]) => b[0]?.path.length ?? -1;
  while (issue?.code === 'invalid_union' && issue.errors?.length) {
    const closest: Issue[] = issue.errors.reduce((a, b) => (depth(b) > depth(a) || (depth(b) === depth(a) && b.length < a.length) ? b : a));
    if (!closest[0]) break;
    prefix = [...prefix, ...issue.path];
    issue = closest[0];
  }
  const path = issue ? [...prefix, ...issue.path] : [];
  return { field: path.map(String).join('.') || '(record)', message: issue?.message ?? 'invalid' };
}

function recordId(clean: unknown): string | null {
  if (!clean || typeof clean !== 'object') return null;
  const r = clean as Record<string, unknown>;
  for (const k of ['id', 'order_id', 'orderId', 'transaction_id', 'AmazonOrderId']) if (typeof r[k] === 'string') return (r[k] as string).slice(0, 80);
  return null;
}

export function mapRecords(connector: Connector, records: readonly unknown[], page: number): MappedPage {
  if (connector.records === 'charges') return mapCharges(connector, records, page);
  const out: MappedPage = { orders: [], tombstones: [], errors: [] };
  // One pass for the records a connector's fast path recognises (src/sync/fast-paths.ts); the
  // plain steps below for the rest, which also word every error exactly as before.
  const fast = fastPathFor(connector);
  records.forEach((raw, index) => {
    const quick = fast?.(raw);
    if (quick !== undefined) {
      const problem = checkOrder(quick);
      if (problem) out.errors.push({ orderId: quick.orderId.slice(0, 80), page, index, ...problem });
      else out.orders.push(quick);
      return;
    }
    const clean = applyPolicy(raw, connector.allowList, connector.freeText);
    const id = recordId(clean);
    const parsed = connector.rawSchema.safeParse(clean);
    if (!parsed.success) {
      out.errors.push({ orderId: id, page, index, ...describeIssue(parsed.error) });
      return;
    }
    let mapped: NormalizedOrder | Tombstone;
    try {
      mapped = connector.toOrder(parsed.data);
    } catch (err) {
      if (!(err instanceof MoneyError)) throw err;
      out.errors.push({ orderId: id, page, index, field: 'amounts', message: err.message });
      return;
    }
    if (isTombstone(mapped)) {
      out.tombstones.push(mapped);
      return;
    }
    const problem = checkOrder(mapped);
    if (problem) {
      out.errors.push({ orderId: mapped.orderId.slice(0, 80), page, index, ...problem });
      return;
    }
    out.orders.push(mapped);
  });
  return out;
}

/** The same steps for charge connectors: policy → rawSchema → toCharge → checkCharge. */
function mapCharges(connector: Connector, records: readonly unknown[], page: number): MappedPage {
  const out: MappedPage = { orders: [], tombstones: [], charges: [], errors: [] };
  records.forEach((raw, index) => {
    const clean = applyPolicy(raw, connector.allowList, connector.freeText);
    const id = recordId(clean);
    const parsed = connector.rawSchema.safeParse(clean);
    if (!parsed.success) {
      out.errors.push({ orderId: id, page, index, ...describeIssue(parsed.error) });
      return;
    }
    let mapped: ChargeChange;
    try {
      mapped = connector.toCharge!(parsed.data);
    } catch (err) {
      if (!(err instanceof MoneyError)) throw err;
      out.errors.push({ orderId: id, page, index, field: 'amount', message: err.message });
      return;
    }
    const problem = isRemovedCharge(mapped) ? null : checkCharge(mapped);
    if (problem) out.errors.push({ orderId: mapped.transactionId.slice(0, 80), page, index, ...problem });
    else out.charges!.push(mapped);
  });
  return out;
}
