/**
 * Pacing: a token bucket per provider operation, so a sync never asks faster than the provider's
 * usage plan allows instead of learning it from 429s (SP-API: `searchOrders` 0.0056 requests/s
 * with a burst of 20 — one request every three minutes once the burst is spent).
 *
 * - Seeded from the connector's documented plan (`descriptor.rateLimits`, per operation, or
 *   `descriptor.rateLimit` for everything), or from ORDERLINK_RATE_PLAN (`op=rate:burst,…`).
 * - Corrected by the provider: the rate header (`x-amzn-RateLimit-Limit`, requests per second)
 *   replaces the seeded rate as soon as a response carries it; a 429 empties the bucket, because
 *   the provider's bucket is emptier than ours (another process, an earlier run). After that one
 *   429 the bucket matches the provider's and no further 429 should come.
 * - Reservations, not polling: each request takes a token at once (the count may go below zero)
 *   and sleeps exactly until that token exists, so concurrent requests (the engine reads one page
 *   ahead) queue in order and a long sync takes (requests − burst) / rate, no more.
 * - Every wait is abortable (Ctrl-C stops at the last committed page) and reported (`onWait`) so
 *   the progress display can say how long and until when.
 */
import type { Descriptor } from '../connectors/types.js';
import { OrderlinkError } from '../errors.js';
import { abortableSleep } from '../sleep.js';

export interface RatePlan {
  requestsPerSecond: number;
  burst: number;
}

/**
 * A token bucket that never believes it has more tokens than the provider's. The provider's
 * bucket, full until our first request *arrives*, starts refilling at that arrival; ours would
 * start at the moment we sent it, one network latency earlier, and that head start is exactly
 * enough for a 429 once the burst is spent. So refilling starts at the first answer (`anchor`),
 * which comes after the arrival: from then on our count is a lower bound of the provider's.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private anchored = false;
  constructor(public rate: number, readonly burst: number, private readonly created: number) {
    this.tokens = burst;
    this.last = created;
  }

  private refill(now: number): void {
    // Never answered (the first request keeps failing at the network level): refill after a minute anyway.
    if (!this.anchored && now - this.created > 60_000) this.anchor(now);
    if (!this.anchored) return;
    if (now > this.last) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = Math.max(this.last, now);
  }

  /** The first answer arrived: refilling starts now (see the class comment). */
  anchor(now: number): void {
    if (this.anchored) return;
    this.anchored = true;
    this.last = now;
  }

  /** Takes a token; returns how many ms to wait until it exists (0: now). */
  reserve(now: number): number {
    this.refill(now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }

  /** The provider throttled us: its bucket is empty, whatever ours believed. */
  drain(now: number): void {
    this.anchor(now);
    this.refill(now);
    this.tokens = Math.min(this.tokens, 0);
  }

  /** The provider reported the rate it applies (its header): refill at the old rate up to now, then use the new one. */
  setRate(rate: number, now: number): void {
    this.refill(now);
    this.rate = rate;
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }
}

export interface WaitInfo {
  operation: string;
  waitMs: number;
  /** When the request will be sent (epoch ms). */
  until: number;
  plan: RatePlan;
}

export interface Pacer {
  /** Waits (abortably) until the operation this URL belongs to may be called. */
  before(url: string, signal: AbortSignal): Promise<void>;
  /** Learns from the answer: the rate header, and a 429. */
  after(url: string, status: number, headers: Headers): void;
}

export interface PacerOptions {
  descriptor: Descriptor;
  /** ORDERLINK_RATE_PLAN: `op=rate:burst` pairs, comma separated (`*` = every other request). */
  override?: string | undefined;
  onWait?: (w: WaitInfo) => void;
  /** The provider answered 429 anyway (counted in the sync report). */
  onThrottled?: () => void;
  trace?: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** `searchOrders=5:20,getOrders=0.5:10` → plans. A malformed value is a usage error, never ignored silently. */
export function parseRatePlan(text: string): Record<string, RatePlan> {
  const out: Record<string, RatePlan> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_*-]{1,64})=(\d+(?:\.\d+)?):(\d{1,6})$/.exec(part);
    const rate = m ? Number(m[2]) : 0;
    const burst = m ? Number(m[3]) : 0;
    if (!m || !(rate > 0) || burst < 1) {
      throw new OrderlinkError('BAD_RATE_PLAN', `ORDERLINK_RATE_PLAN has an invalid entry "${part.slice(0, 40)}"`, {
        kind: 'usage',
        hint: 'Use operation=rate:burst pairs, e.g. ORDERLINK_RATE_PLAN="searchOrders=5:20,getOrders=5:20" (rate in requests per second).',
      });
    }
    out[m[1]!] = { requestsPerSecond: rate, burst };
  }
  return out;
}

/** A path template (`/orders/v0/orders/{orderId}/orderItems`) as a regular expression on the URL path's end. */
function templateRegex(template: string): RegExp {
  const body = template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+');
  return new RegExp(`${body}/?$`);
}

const defaultSleep = (ms: number, signal: AbortSignal) => abortableSleep(ms, signal, 'interrupted while waiting for the rate limit');

/** A pacer for one connection's sync, or null when neither the connector nor the environment names a plan. */
export function createPacer(o: PacerOptions): Pacer | null {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const overrides = o.override ? parseRatePlan(o.override) : {};
  const documented = o.descriptor.rateLimits ?? {};
  const fallback = overrides['*'] ?? o.descriptor.rateLimit ?? null;
  const ops = Object.entries(o.descriptor.endpoints)
    .filter(([name]) => overrides[name] ?? documented[name] ?? fallback)
    .map(([name, path]) => ({ name, re: templateRegex(path), plan: (overrides[name] ?? documented[name] ?? fallback)! }))
    // The most specific template first: /orders/{id}/orderItems before /orders.
    .sort((a, b) => b.re.source.length - a.re.source.length);
  if (ops.length === 0 && !fallback) return null;
  const header = o.descriptor.rateLimitHeader?.toLowerCase();
  const buckets = new Map<string, TokenBucket>();

  const opOf = (url: string): { name: string; plan: RatePlan } | null => {
    const path = new URL(url).pathname;
    return ops.find((x) => x.re.test(path)) ?? (fallback ? { name: '*', plan: fallback } : null);
  };
  const bucketOf = (op: { name: string; plan: RatePlan }): TokenBucket => {
    let b = buckets.get(op.name);
    if (!b) buckets.set(op.name, (b = new TokenBucket(op.plan.requestsPerSecond, op.plan.burst, now())));
    return b;
  };

  return {
    async before(url, signal) {
      const op = opOf(url);
      if (!op) return;
      const bucket = bucketOf(op);
      const waitMs = bucket.reserve(now());
      if (waitMs <= 0) return;
      const plan = { requestsPerSecond: bucket.rate, burst: bucket.burst };
      o.trace?.(`pacing ${op.name}: waiting ${(waitMs / 1000).toFixed(1)} s (${plan.requestsPerSecond}/s, burst ${plan.burst})`);
      o.onWait?.({ operation: op.name, waitMs, until: now() + waitMs, plan });
      await sleep(waitMs, signal);
    },
    after(url, status, headers) {
      const op = opOf(url);
      if (!op) return;
      const bucket = bucketOf(op);
      bucket.anchor(now());
      const reported = header ? Number(headers.get(header)) : NaN;
      if (Number.isFinite(reported) && reported > 0 && reported < 1e6 && reported !== bucket.rate) {
        o.trace?.(`pacing ${op.name}: the provider applies ${reported}/s (was ${bucket.rate}/s)`);
        bucket.setRate(reported, now());
      }
      if (status === 429) {
        o.onThrottled?.();
        o.trace?.(`pacing ${op.name}: throttled by the provider; its bucket is empty, pacing from now`);
        bucket.drain(now());
      }
    },
  };
}
