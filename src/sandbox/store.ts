/**
 * The order feed of one sandbox account, ordered by (updated_at, id).
 *
 * Generated orders never change, so their order is computed once (a sorted index of updated_at
 * times, built lazily on first use: a few PRNG draws per order, no full records). Every change made
 * by advance() gets an updated_at later than anything before it, so changed orders go to an
 * append-only "tail" that is already sorted. A page is a binary search to the cursor, then a walk
 * that skips entries superseded by a later change — O(log n + page), never a scan of the feed.
 */
import { mix32, mulberry32, OrderGenerator, SANDBOX_EPOCH_MS, type OrderState, type SandboxAccount } from './data.js';

/** Position in the feed: strictly after (t, index). */
export interface FeedPosition {
  t: number;
  i: number;
}

export interface FeedPage {
  entries: OrderState[];
  hasMore: boolean;
}

export class AccountFeed {
  readonly gen: OrderGenerator;
  private times: Float64Array | null = null;
  private sorted: Int32Array | null = null;
  /** Current state of every changed (or added, or deleted) order. */
  private readonly overrides = new Map<number, OrderState>();
  private readonly tailT: number[] = [];
  private readonly tailI: number[] = [];
  private added = 0;
  private deleted = 0;

  constructor(readonly account: SandboxAccount, seed: number, readonly baseCount: number) {
    this.gen = new OrderGenerator(seed, account);
  }

  /** Build the sorted index (lazily; ~10 ms per 100k orders). */
  private index(): { times: Float64Array; sorted: Int32Array } {
    if (!this.times || !this.sorted) {
      const n = this.baseCount;
      const times = new Float64Array(n);
      for (let i = 0; i < n; i++) times[i] = this.gen.updatedMs(i);
      const idx = new Int32Array(n);
      for (let i = 0; i < n; i++) idx[i] = i;
      idx.sort((a, b) => times[a]! - times[b]! || a - b);
      this.times = times;
      this.sorted = idx;
    }
    return { times: this.times, sorted: this.sorted };
  }

  warm(): void {
    this.index();
  }

  get liveCount(): number {
    return this.baseCount + this.added - this.deleted;
  }

  get totalIndices(): number {
    return this.baseCount + this.added;
  }

  /** The order's current state (generated, or as changed by advance()). */
  get(index: number): OrderState {
    return this.overrides.get(index) ?? this.gen.order(index);
  }

  /** First base position whose (time, index) is > pos, or whose time is >= sinceMs. */
  private baseStart(pos: FeedPosition | null, sinceMs: number | null): number {
    const { times, sorted } = this.index();
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const i = sorted[mid]!;
      const t = times[i]!;
      const before = pos ? t < pos.t || (t === pos.t && i <= pos.i) : sinceMs !== null && t < sinceMs;
      if (before) lo = mid + 1;
      else hi = mid;
    }
    if (pos && sinceMs !== null) {
      // A cursor always sits at or after its own filter; keep the stricter bound anyway.
      return Math.max(lo, this.baseStart(null, sinceMs));
    }
    return lo;
  }

  private tailStart(pos: FeedPosition | null, sinceMs: number | null): number {
    let lo = 0;
    let hi = this.tailT.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.tailT[mid]!;
      const i = this.tailI[mid]!;
      const before = (pos !== null && (t < pos.t || (t === pos.t && i <= pos.i))) || (sinceMs !== null && t < sinceMs);
      if (before) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Up to `limit` entries strictly after `pos` (and at or after `sinceMs`), in feed order. */
  page(pos: FeedPosition | null, sinceMs: number | null, limit: number): FeedPage {
    const { sorted } = this.index();
    const entries: OrderState[] = [];
    let hasMore = false;
    // Every base time is before the epoch, every tail time after it: the feed is base ++ tail.
    const baseDone = pos !== null && pos.t > SANDBOX_EPOCH_MS;
    if (!baseDone) {
      for (let p = this.baseStart(pos, sinceMs); p < sorted.length; p++) {
        const i = sorted[p]!;
        if (this.overrides.has(i)) continue; // superseded: it reappears in the tail
        if (entries.length === limit) {
          hasMore = true;
          return { entries, hasMore };
        }
        entries.push(this.gen.order(i));
      }
    }
    for (let q = this.tailStart(pos, sinceMs); q < this.tailT.length; q++) {
      const i = this.tailI[q]!;
      const cur = this.overrides.get(i);
      if (!cur || cur.updatedMs !== this.tailT[q]) continue; // changed again later
      if (entries.length === limit) {
        hasMore = true;
        break;
      }
      entries.push(cur);
    }
    return { entries, hasMore };
  }

  private record(state: OrderState): void {
    const last = this.tailT.length ? this.tailT[this.tailT.length - 1]! : -Infinity;
    if (!(state.updatedMs > last)) throw new Error('feed changes must move forward in time');
    this.overrides.set(state.index, state);
    this.tailT.push(state.updatedMs);
    this.tailI.push(state.index);
  }

  /**
   * One deterministic round of provider-side changes at times from `nextTime()`. Returns the ids
   * changed: status progressions, a refund, a changed total, a deletion and two new orders.
   */
  advanceStep(step: number, seed: number, nextTime: () => number): string[] {
    const rng = mulberry32(mix32(seed, this.account.index + 1, 0xad7a, step));
    const touched = new Set<number>();
    const changed: string[] = [];
    const live = (i: number): OrderState | null => {
      if (touched.has(i) || i >= this.totalIndices) return null;
      const o = this.get(i);
      return o.deleted ? null : o;
    };
    const randomLive = (want: (o: OrderState) => boolean): OrderState | null => {
      for (let tries = 0; tries < 40; tries++) {
        const o = live(Math.floor(rng() * this.totalIndices));
        if (o && want(o)) return o;
      }
      return null;
    };
    const commit = (o: OrderState, patch: Partial<OrderState>): void => {
      const next: OrderState = { ...o, ...patch, items: o.items.map((it) => ({ ...it })), updatedMs: nextTime() };
      next.total = next.subtotal + next.tax + next.shipping - next.discount;
      touched.add(o.index);
      this.record(next);
      changed.push(o.id);
    };

    // 1. Status progressions: placed → shipped → delivered, among the newest orders.
    const { sorted } = this.index();
    const candidates: OrderState[] = [];
    for (let i = this.baseCount; i < this.totalIndices; i++) {
      const o = live(i);
      if (o && (o.status === 'placed' || o.status === 'shipped')) candidates.push(o);
    }
    for (let p = Math.max(0, sorted.length - 300); p < sorted.length; p++) {
      const o = live(sorted[p]!);
      if (o && (o.status === 'placed' || o.status === 'shipped')) candidates.push(o);
    }
    for (let k = 0; k < 2 && candidates.length; k++) {
      const o = candidates.splice(Math.floor(rng() * candidates.length), 1)[0]!;
      if (!touched.has(o.index)) commit(o, { status: o.status === 'placed' ? 'shipped' : 'delivered' });
    }
    // 2. A refund (full or partial) of a delivered order.
    const toRefund = randomLive((o) => o.status === 'delivered' && o.total > 1);
    if (toRefund) {
      const full = rng() < 0.5;
      const line = toRefund.items[0]!;
      const part = Math.max(1, Math.min(toRefund.total - 1, line.unit));
      commit(toRefund, full ? { status: 'refunded', refunded: toRefund.total } : { status: 'partially_refunded', refunded: part });
    }
    // 3. A changed total: a price adjustment arrives as an extra discount.
    const toAdjust = randomLive((o) => o.status !== 'cancelled' && o.refunded === 0 && o.discount < o.subtotal);
    if (toAdjust) {
      const extra = Math.max(1, Math.min(toAdjust.subtotal - toAdjust.discount, Math.round(toAdjust.subtotal * 0.1)));
      commit(toAdjust, { discount: toAdjust.discount + extra });
    }
    // 4. A deletion (served as a tombstone from now on).
    const toDelete = randomLive(() => true);
    if (toDelete) {
      commit(toDelete, { deleted: true });
      this.deleted++;
    }
    // 5. Two new orders, placed "now".
    for (let k = 0; k < 2; k++) {
      const index = this.totalIndices;
      this.added++;
      const fresh = this.gen.order(index);
      const t = nextTime();
      const o: OrderState = { ...fresh, placedMs: t - (t % 60_000), updatedMs: t, status: 'placed', refunded: 0 };
      touched.add(index);
      this.record(o);
      changed.push(o.id);
    }
    return changed;
  }
}
