/**
 * Syncing through the real binary against the in-process sandbox: crash safety (H15), retries and
 * rate limits (H16), malformed records (H17), payment data (H18), currency exponents, provider
 * updates between runs, and two syncs on one home (rule 25).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { TEST_CARDS } from '../src/sandbox/catalog.js';
import { e2eHome, linkSandbox, readAllBytes, sandbox, type E2EHome } from './helpers/e2e.js';

const FAST_RETRY = { ORDERLINK_RETRY_BASE_MS: '20' };

interface Counts { n: number; uniq: number }
const counts = (h: E2EHome, conn: number): Counts =>
  h.query<Counts>('SELECT count(*) AS n, count(DISTINCT order_id) AS uniq FROM orders WHERE connection_id = ? AND deleted_at IS NULL', conn)[0]!;

describe('a sync against the sandbox', () => {
  let sb: SandboxHandle;
  let h: E2EHome;
  let conn: number;
  beforeAll(async () => {
    sb = await sandbox({ orders: 400, accounts: 2 });
    h = e2eHome(FAST_RETRY);
    conn = await linkSandbox(h, sb, 'alice');
  });
  afterAll(async () => {
    await sb.close();
    h.cleanup();
  });

  it('fetches every order, page by page, and records the run', async () => {
    const r = await h.cli(['--json', 'sync', '--page-size', '50']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as { ok: boolean; connections: Array<{ status: string; pages: number; added: number }> };
    expect(rep.ok).toBe(true);
    expect(rep.connections[0]).toMatchObject({ status: 'success', added: sb.orderCount('alice') });
    expect(rep.connections[0]!.pages).toBeGreaterThanOrEqual(8);
    expect(counts(h, conn)).toEqual({ n: sb.orderCount('alice'), uniq: sb.orderCount('alice') });
    const run = h.query<{ status: string; added: number; pages: number }>('SELECT status, added, pages FROM sync_runs ORDER BY id DESC LIMIT 1')[0]!;
    expect(run).toMatchObject({ status: 'success', added: sb.orderCount('alice'), pages: rep.connections[0]!.pages });
  });

  it('a no-op incremental sync makes one orders request and changes nothing', async () => {
    const before = sb.stats().requests['api.orders'] ?? 0;
    const r = await h.cli(['--json', 'sync']);
    expect(r.code, r.stderr).toBe(0);
    expect((sb.stats().requests['api.orders'] ?? 0) - before).toBe(1);
    expect(JSON.parse(r.stdout).connections[0]).toMatchObject({ added: 0, updated: 0 });
  });

  it('applies provider updates, refunds and deletions in place on the next run', async () => {
    const { changed } = sb.advance(3);
    expect(changed.length).toBeGreaterThan(0);
    const r = await h.cli(['--json', 'sync']);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout).connections[0] as { updated: number; added: number; deleted: number };
    expect(c.updated + c.added + c.deleted).toBeGreaterThan(0);
    expect(counts(h, conn)).toEqual({ n: sb.orderCount('alice'), uniq: sb.orderCount('alice') });
  });

  it('stores money in each currency\'s ISO 4217 minor units (JPY 0 decimals, KWD 3)', async () => {
    const byCur = h.query<{ currency: string; n: number }>('SELECT currency, count(*) AS n FROM orders GROUP BY currency');
    expect(byCur.map((r) => r.currency)).toEqual(expect.arrayContaining(['USD', 'JPY', 'KWD']));
    // Totals are integers and add up from their parts (subtotal + tax + shipping - discount).
    const bad = h.query<{ n: number }>('SELECT count(*) AS n FROM orders WHERE total != subtotal + tax + shipping - discount')[0]!;
    expect(bad.n).toBe(0);
    const r = await h.cli(['--json', 'orders', '--limit', '500']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    const jpy = rows.find((o) => o.currency === 'JPY');
    const kwd = rows.find((o) => o.currency === 'KWD');
    expect(JSON.stringify(jpy)).not.toMatch(/"total":"[0-9]+\.[0-9]/);
    expect(JSON.stringify(kwd)).toMatch(/\.[0-9]{3}\b/);
  });

  it('H18: no payment field and no card number reaches the database, the logs or an export', async () => {
    const outs = [
      await h.cli(['--verbose', 'sync', '--full']),
      await h.cli(['orders', '--csv', '--limit', '1000']),
      await h.cli(['--json', 'orders', '--limit', '1000']),
      await h.cli(['orders', '--ndjson']),
      await h.cli(['--json', 'audit']),
    ];
    for (const o of outs) expect(o.code, o.stderr).toBe(0);
    const everything = outs.map((o) => o.stdout + o.stderr).join('\n') + readAllBytes([h.db, `${h.db}-wal`, h.vault]);
    for (const card of TEST_CARDS) expect(everything).not.toContain(card.number);
    expect(everything).not.toMatch(/card_brand|last4|billing_zip|postal_code|shipping_address/);
  });
});

describe('H15: kill -9 at random points of a large sync', () => {
  it('a rerun ends with exactly the provider\'s orders, no duplicates', async () => {
    // Slow enough (≈ 63 pages × 12 ms) that most random kills land mid-sync even on a fast machine.
    const sb = await sandbox({ orders: 2500, accounts: 1, faults: 'latency=12ms' });
    const h = e2eHome(FAST_RETRY);
    try {
      const conn = await linkSandbox(h, sb, 'alice');
      let killedMidway = 0;
      for (let i = 0; i < 8; i++) {
        const delay = 250 + Math.floor(Math.random() * 900);
        const r = await h.cli(['sync', '--page-size', '40', '--full'], {
          onSpawn: (child) => setTimeout(() => child.kill('SIGKILL'), delay),
        });
        if (r.signal === 'SIGKILL') killedMidway++;
        const c = counts(h, conn);
        expect(c.n).toBe(c.uniq);
        expect(c.n).toBeLessThanOrEqual(sb.orderCount('alice'));
      }
      expect(killedMidway).toBeGreaterThanOrEqual(3);
      const last = await h.cli(['sync'], { timeoutMs: 120_000 });
      expect(last.code, last.stderr).toBe(0);
      expect(counts(h, conn)).toEqual({ n: sb.orderCount('alice'), uniq: sb.orderCount('alice') });
      const integrity = await h.cli(['--json', 'doctor']);
      expect(JSON.parse(integrity.stdout).checks.find((c: { name: string }) => c.name === 'database').status).toBe('ok');
    } finally {
      await sb.close();
      h.cleanup();
    }
  }, 240_000);
});

describe('H16/H17: faults', () => {
  let sb: SandboxHandle;
  let h: E2EHome;
  let conn: number;
  beforeAll(async () => {
    sb = await sandbox({ orders: 150, accounts: 1 });
    h = e2eHome(FAST_RETRY);
    conn = await linkSandbox(h, sb, 'alice');
  });
  afterAll(async () => {
    await sb.close();
    h.cleanup();
  });

  it('429 with Retry-After: waits as told and completes', async () => {
    sb.setFaults('rate429=every:3:retry-after=1');
    const t = Date.now();
    const r = await h.cli(['--json', 'sync', '--full', '--page-size', '25']);
    sb.setFaults('none');
    expect(r.code, r.stderr).toBe(0);
    expect(sb.stats().faults.rate429).toBeGreaterThan(0);
    expect(Date.now() - t).toBeGreaterThanOrEqual(1000);
    expect(counts(h, conn).n).toBe(sb.orderCount('alice'));
  });

  it('429 with an HTTP-date Retry-After is honoured too', async () => {
    sb.setFaults('rate429=every:4:retry-after=1:http-date');
    const r = await h.cli(['--json', 'sync', '--full', '--page-size', '50']);
    sb.setFaults('none');
    expect(r.code, r.stderr).toBe(0);
  });

  it('503 three times, then 200: recovers', async () => {
    sb.setFaults('burst5xx=3');
    const r = await h.cli(['--json', 'sync', '--full']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).connections[0].status).toBe('success');
  });

  it('500 forever: gives up after the cap, run status failure, exit 1, nothing lost', async () => {
    const before = counts(h, conn).n;
    sb.setFaults('fail500');
    const r = await h.cli(['--json', 'sync', '--full'], { env: { ORDERLINK_RETRY_MAX_ATTEMPTS: '3' } });
    sb.setFaults('none');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).connections[0]).toMatchObject({ status: 'failure' });
    expect(h.query<{ status: string }>('SELECT status FROM sync_runs ORDER BY id DESC LIMIT 1')[0]!.status).toBe('failure');
    expect(counts(h, conn).n).toBe(before);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('H17: a malformed record makes the run partial, names the record, writes no half order', async () => {
    sb.setFaults('malformed=0.05');
    const junit = join(h.home, 'report.xml');
    const r = await h.cli(['sync', '--full', '--junit', junit]);
    const j = await h.cli(['--json', 'sync', '--full']);
    sb.setFaults('none');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/record \S+ skipped/);
    const rep = JSON.parse(j.stdout).connections[0] as { status: string; invalid_records: Array<{ orderId: string | null; field: string }> };
    expect(rep.status).toBe('partial');
    expect(rep.invalid_records.length).toBeGreaterThan(0);
    expect(rep.invalid_records[0]!.field).toMatch(/\w/);
    const run = h.query<{ status: string; errors: number }>('SELECT status, errors FROM sync_runs ORDER BY id DESC LIMIT 1')[0]!;
    expect(run.status).toBe('partial');
    expect(run.errors).toBeGreaterThan(0);
    // The CI report says the same, escaped, one testcase per connection.
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="orderlink sync"[^>]* tests="1" failures="1"/);
    expect(xml).toMatch(/<failure type="PARTIAL" message="\d+ invalid record\(s\) skipped">record /);
    // Every stored order is whole: its item count (units) matches its item rows.
    const torn = h.query<{ n: number }>('SELECT count(*) AS n FROM orders o WHERE item_count != (SELECT coalesce(sum(quantity), 0) FROM order_items WHERE order_ref = o.id)')[0]!;
    expect(torn.n).toBe(0);
  });
});

describe('rule 25: two syncs on one home', () => {
  it('the second exits 7 with a clear message, or waits with --wait', async () => {
    const sb = await sandbox({ orders: 600, accounts: 1, faults: 'latency=15ms' });
    const h = e2eHome(FAST_RETRY);
    try {
      await linkSandbox(h, sb, 'alice');
      let first: Promise<{ code: number | null }> | undefined;
      const started = new Promise<void>((resolve) => {
        first = h.cli(['sync', '--page-size', '20'], { onSpawn: (c) => c.stderr?.once('data', () => resolve()) });
      });
      await started;
      await new Promise((r) => setTimeout(r, 300));
      const second = await h.cli(['sync']);
      expect(second.code).toBe(7);
      expect(second.stderr).toMatch(/another .*sync/i);
      const waited = await h.cli(['--json', 'sync', '--wait', '120'], { timeoutMs: 150_000 });
      expect(waited.code, waited.stderr).toBe(0);
      expect((await first!).code).toBe(0);
    } finally {
      await sb.close();
      h.cleanup();
    }
  }, 180_000);
});
