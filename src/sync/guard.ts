/**
 * Watching over the data (seed 000's monitoring, for one person): a run that would delete more
 * than a set share of a connection's records (default 10 %) holds those deletions until the person
 * says `--accept-deletions` (like rclone's `--max-delete`), and a full sync that returns far fewer
 * records than the connection holds says so. A pending card charge that posts is not a deletion.
 */
import type { RecordKind } from '../domain.js';
import { isRemovedCharge, isTombstone } from '../domain.js';
import { OrderlinkError } from '../errors.js';
import type { PageWrite, Store } from '../store/index.js';

export const DEFAULT_MAX_DELETE_PERCENT = 10;
/** A full sync returning less than this share of the records held is reported as abnormal. */
export const FEWER_RECORDS_SHARE = 0.5;
/** …when the connection holds at least this many (small histories vary naturally). */
export const FEWER_RECORDS_MIN_HELD = 20;

export class DeletionGuard {
  private live: number | null = null;
  /** Deletions this run has committed so far. */
  committed = 0;

  constructor(
    private readonly store: Store,
    private readonly connectionId: number,
    private readonly records: RecordKind,
    /** Percent of the connection's records one run may delete; null = accept any. */
    private readonly maxPercent: number | null,
  ) {}

  /** Records the connection holds now (not deleted; charges: posted ones). */
  held(): number {
    if (this.live === null) {
      const sql = this.records === 'charges'
        ? 'SELECT count(*) AS n FROM charges WHERE connection_id = ? AND deleted_at IS NULL AND pending = 0'
        : 'SELECT count(*) AS n FROM orders WHERE connection_id = ? AND deleted_at IS NULL';
      this.live = (this.store.db.prepare(sql).get(this.connectionId) as { n: number }).n;
    }
    return this.live;
  }

  /** How many records these pages would really delete (charges: posted ones only). */
  deletions(pages: readonly PageWrite[]): number {
    let n = 0;
    if (this.records === 'charges') {
      const q = this.store.db.prepare('SELECT 1 FROM charges WHERE connection_id = ? AND transaction_id = ? AND deleted_at IS NULL AND pending = 0');
      for (const p of pages) for (const ch of p.charges ?? []) if (isRemovedCharge(ch) && q.get(this.connectionId, ch.transactionId)) n++;
    } else {
      const q = this.store.db.prepare('SELECT 1 FROM orders WHERE connection_id = ? AND order_id = ? AND deleted_at IS NULL');
      for (const p of pages) for (const t of p.tombstones) if (isTombstone(t) && q.get(this.connectionId, t.orderId)) n++;
    }
    return n;
  }

  /** Throws DELETIONS_HELD when committing these pages would delete more than the allowed share. */
  check(pages: readonly PageWrite[], handle: string): void {
    if (this.maxPercent === null) return;
    if (!pages.some((p) => p.tombstones.length > 0 || (p.charges ?? []).some(isRemovedCharge))) return;
    const pending = this.deletions(pages);
    if (pending === 0) return;
    const held = this.held();
    const total = this.committed + pending;
    if (total * 100 <= this.maxPercent * held) return;
    const share = held === 0 ? 100 : Math.round((total * 1000) / held) / 10;
    throw new OrderlinkError('DELETIONS_HELD', `${handle}: the provider would delete ${total} of ${held} records (${share} %, more than ${this.maxPercent} %); those deletions are held, nothing of them was applied`, {
      kind: 'partial',
      hint: `If the provider really deleted them, run: orderlink sync ${handle} --accept-deletions (or raise --max-delete). Everything else synced so far is kept.`,
      details: { would_delete: total, held_records: held, share_percent: share, max_delete_percent: this.maxPercent },
    });
  }
}
