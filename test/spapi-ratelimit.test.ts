/**
 * Pacing (src/sync/ratelimit.ts): the token bucket and the pacer with a fake clock, then through
 * the real binary against the SP-API replica with a fast usage plan (R requests/s, burst B):
 * N pages with no 429 on a fresh bucket, exactly one 429 when the provider's bucket starts empty,
 * the documented plan corrected by x-amzn-RateLimit-Limit, and Ctrl-C during a wait stopping at
 * a committed page. Timing ratios are printed; assertions on time are loose on purpose (a slow
 * machine must not fail them), assertions on 429 counts are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPacer, parseRatePlan, TokenBucket } from '../src/sync/ratelimit.js';
import type { Descriptor } from '../src/connectors/types.js';
import { startSpApiReplica, type SpApiReplica } from '../src/sandbox/replicas/amazon-seller.js';
import { e2eHome, type E2EHome } from './helpers/e2e.js';
import { linkSeller, setupApp, type SyncReport } from './helpers/spapi.js';

describe('the token bucket and the pacer', () => {
  it('spends the burst at once, then one token per 1/rate', () => {
    const b = new TokenBucket(2, 3, 0);
    expect([b.reserve(0), b.reserve(0), b.reserve(0)]).toEqual([0, 0, 0]);
    b.anchor(0); // the first answer: refilling starts
    expect(b.reserve(0)).toBe(500);
    expect(b.reserve(0)).toBe(1000); // reservations queue
    expect(b.reserve(10_000)).toBe(0); // refilled (capped at the burst)
  });

  it('does not refill before the first answer: the provider starts counting when our request arrives', () => {
    const b = new TokenBucket(10, 1, 0);
    expect(b.reserve(0)).toBe(0);
    expect(b.reserve(50)).toBe(100); // no credit for the 50 ms the first request was travelling
    b.anchor(80);
    expect(b.available(180)).toBeCloseTo(-1 + 1, 5);
  });

  it('a 429 empties the bucket; the rate header replaces the seeded rate', () => {
    const b = new TokenBucket(0.0056, 20, 0);
    b.drain(0);
    expect(b.reserve(0)).toBe(Math.ceil(1000 / 0.0056));
    b.setRate(5, 0);
    expect(b.reserve(0)).toBe(400);
  });

  const descriptor: Descriptor = {
    endpoints: { list: '/orders', items: '/orders/{id}/items' },
    pagination: { style: 'cursor', pageSize: { default: 10, max: 10 } },
    rateLimit: null,
    rateLimits: { list: { requestsPerSecond: 1, burst: 1 }, items: { requestsPerSecond: 10, burst: 1 } },
    rateLimitHeader: 'x-rate',
  };

  it('paces each operation with its own bucket, reports waits, and learns from the provider', async () => {
    let now = 0;
    const slept: number[] = [];
    const waits: string[] = [];
    const p = createPacer({ descriptor, now: () => now, sleep: async (ms) => void slept.push(ms), onWait: (w) => waits.push(`${w.operation}:${w.waitMs}`) })!;
    const sig = new AbortController().signal;
    await p.before('http://x/orders', sig);
    await p.before('http://x/orders/1/items', sig);
    await p.before('http://x/orders/2/items', sig);
    await p.before('http://x/orders', sig);
    expect(waits).toEqual(['items:100', 'list:1000']);
    p.after('http://x/orders', 200, new Headers({ 'x-rate': '4' }));
    p.after('http://x/orders/1/items', 200, new Headers());
    now = 1000;
    p.after('http://x/orders', 429, new Headers());
    await p.before('http://x/orders', sig);
    expect(waits.at(-1)).toBe('list:250');
    expect(slept).toEqual([100, 1000, 250]);
  });

  it('ORDERLINK_RATE_PLAN overrides the documented plan, and a malformed one is a usage error', () => {
    expect(parseRatePlan('searchOrders=5:20, getOrders=0.5:3')).toEqual({ searchOrders: { requestsPerSecond: 5, burst: 20 }, getOrders: { requestsPerSecond: 0.5, burst: 3 } });
    expect(() => parseRatePlan('searchOrders=fast')).toThrow(/ORDERLINK_RATE_PLAN/);
    expect(createPacer({ descriptor: { ...descriptor, rateLimits: {} } })).toBeNull();
  });

  it('an abort during a wait stops at once', async () => {
    const p = createPacer({ descriptor })!;
    const ac = new AbortController();
    await p.before('http://x/orders', ac.signal);
    const waiting = p.before('http://x/orders', ac.signal);
    setTimeout(() => ac.abort(), 20);
    await expect(waiting).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });
});

describe('a paced sync through the binary', () => {
  const R = 5;
  const B = 5;
  const N = 20; // pages of 5 orders
  let r: SpApiReplica;
  let h: E2EHome;
  beforeAll(async () => {
    r = await startSpApiReplica({ orders: N * 5, settleMs: 0, plans: { searchOrders: { rate: R, burst: B } } });
    h = e2eHome({ ORDERLINK_RATE_PLAN: `searchOrders=${R}:${B}` });
    await setupApp(h, r);
    await linkSeller(h, r);
  });
  afterAll(async () => {
    await r.close();
    h.cleanup();
  });

  it(`N=${N} pages, burst ${B}, ${R}/s on a fresh bucket: no 429, about (N − B) / R`, async () => {
    const res = await h.cli(['--json', 'sync', '--page-size', '5']);
    expect(res.code, res.stderr).toBe(0);
    const c = (JSON.parse(res.stdout) as SyncReport).connections[0]!;
    expect(c).toMatchObject({ status: 'success', pages: N, added: N * 5 });
    expect(r.stats().throttled.searchOrders).toBe(0);
    expect(c.throttled).toBe(0);
    // The report says how long it waited: most of the run (request latencies overlap the waits, so not all of it).
    expect(c.rate_limit_wait_ms).toBeGreaterThan(((N - B) / R) * 1000 * 0.5);
    expect(c.rate_limit_wait_ms).toBeLessThanOrEqual(c.duration_ms);
    const ideal = ((N - B) / R) * 1000;
    console.log(`[spapi pacing] fresh bucket: ${c.duration_ms} ms for ${N} pages, ideal ${ideal} ms, ratio ${(c.duration_ms / ideal).toFixed(3)}, 429s 0`);
    expect(c.duration_ms).toBeGreaterThanOrEqual(ideal * 0.9); // it really paced
    expect(c.duration_ms).toBeLessThan(ideal + 15_000); // and did not stall (loose: slow machines)
  });

  it('starting on an empty provider bucket: exactly one 429, then none', async () => {
    r.drain('searchOrders');
    const before = r.stats();
    const res = await h.cli(['--json', 'sync', '--full', '--page-size', '5']);
    expect(res.code, res.stderr).toBe(0);
    const c = (JSON.parse(res.stdout) as SyncReport).connections[0]!;
    expect(c).toMatchObject({ status: 'success', pages: N });
    const after = r.stats();
    expect(after.throttled.searchOrders - before.throttled.searchOrders).toBe(1);
    expect(c.throttled).toBe(1);
    expect(after.requests.searchOrders - before.requests.searchOrders).toBe(N + 1);
    const ideal = (N / R) * 1000; // the burst is gone: every page waits for its token
    console.log(`[spapi pacing] empty bucket: ${c.duration_ms} ms for ${N} pages, ideal ${ideal} ms, ratio ${(c.duration_ms / ideal).toFixed(3)}, 429s 1`);
    expect(c.duration_ms).toBeGreaterThanOrEqual(ideal * 0.85);
  });

  it('with the documented plan (0.0056/s) the rate header corrects the pacing at once', async () => {
    const r2 = await startSpApiReplica({ orders: 30 * 2, settleMs: 0, plans: { searchOrders: { rate: R, burst: 20 } } });
    const h2 = e2eHome();
    try {
      await setupApp(h2, r2);
      await linkSeller(h2, r2);
      const res = await h2.cli(['--json', 'sync', '--page-size', '2']);
      expect(res.code, res.stderr).toBe(0);
      const c = (JSON.parse(res.stdout) as SyncReport).connections[0]!;
      expect(c).toMatchObject({ status: 'success', pages: 30 });
      expect(r2.stats().throttled.searchOrders).toBe(0);
      const ideal = ((30 - 20) / R) * 1000;
      console.log(`[spapi pacing] documented plan + header: ${c.duration_ms} ms, ideal ${ideal} ms (without the header: ${Math.round(10 / 0.0056)} s)`);
      expect(c.duration_ms).toBeLessThan(ideal + 15_000);
    } finally {
      await r2.close();
      h2.cleanup();
    }
  });

  it('Ctrl-C during a rate-limit wait stops cleanly at a committed page; the rerun finishes without duplicates', async () => {
    const r3 = await startSpApiReplica({ orders: 20, settleMs: 0, plans: { searchOrders: { rate: 0.5, burst: 1 } } });
    const h3 = e2eHome({ ORDERLINK_RATE_PLAN: 'searchOrders=0.5:1' });
    try {
      await setupApp(h3, r3);
      await linkSeller(h3, r3);
      let stderr = '';
      let sent = false;
      const res = await h3.cli(['sync', '--page-size', '5'], {
        onSpawn: (child) => {
          child.stderr!.on('data', (d: Buffer) => {
            stderr += d.toString();
            // Once: a second Ctrl-C means "quit now" to the CLI.
            if (!sent && /rate limit: waiting/.test(stderr)) {
              sent = true;
              child.kill('SIGINT');
            }
          });
        },
      });
      expect(stderr).toMatch(/rate limit: waiting \d+s, until \d\d:\d\d:\d\d \(searchOrders, 0\.5\/s\)/);
      expect(res.code).toBe(130);
      const kept = h3.query<{ n: number }>('SELECT count(*) AS n FROM orders')[0]!.n;
      expect(kept).toBeGreaterThanOrEqual(5);
      expect(kept % 5).toBe(0); // whole pages only
      const cur = h3.query<{ sync_cursor: string | null }>('SELECT sync_cursor FROM connections')[0]!;
      expect(cur.sync_cursor).not.toBeNull();
      const again = await h3.cli(['--json', 'sync', '--page-size', '5']);
      expect(again.code, again.stderr).toBe(0);
      expect(h3.query<{ n: number; u: number }>('SELECT count(*) AS n, count(DISTINCT order_id) AS u FROM orders')[0]).toEqual({ n: 20, u: 20 });
    } finally {
      await r3.close();
      h3.cleanup();
    }
  });
});
