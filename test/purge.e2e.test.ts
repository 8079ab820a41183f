/**
 * `orderlink purge` and the retention setting through the real binary: a dry-run count per
 * connection computed independently, confirmation rules, the deletion itself (items, search rows,
 * rollups), its audit row (counts, never order data), VACUUM shrinking the file, and retention
 * applied by the next sync.
 */
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';

let sb: SandboxHandle;
let h: E2EHome;
let alice: number;
let bob: number;

const count = (sql: string, ...args: unknown[]): number => h.query<{ n: number }>(sql, ...args)[0]!.n;

beforeAll(async () => {
  sb = await sandbox({ accounts: 2, orders: 400 });
  h = e2eHome();
  alice = await linkSandbox(h, sb, 'alice');
  bob = await linkSandbox(h, sb, 'bob');
  const s = await h.cli(['sync']);
  expect(s.code, s.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await sb.close();
  h.cleanup();
});

describe('purge', () => {
  let cutoff: string;

  it('--dry-run counts what would go, per connection, and deletes nothing', async () => {
    const dates = h.query<{ d: string }>('SELECT order_date AS d FROM orders ORDER BY order_date').map((r) => r.d);
    cutoff = dates[Math.floor(dates.length / 2)]!.slice(0, 10);
    const before = count('SELECT count(*) AS n FROM orders');
    const r = await h.cli(['--json', 'purge', '--older-than', cutoff, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { dry_run: boolean; orders: number; items: number; per_connection: Array<{ connection: string; id: number; orders: number; items: number }> };
    const iso = `${cutoff}T00:00:00.000Z`;
    const want = (id: number) => ({
      orders: count('SELECT count(*) AS n FROM orders WHERE connection_id = ? AND order_date < ?', id, iso),
      items: count('SELECT count(*) AS n FROM order_items i JOIN orders o ON o.id = i.order_ref WHERE o.connection_id = ? AND o.order_date < ?', id, iso),
    });
    expect(out.dry_run).toBe(true);
    expect(out.per_connection).toEqual([
      { connection: 'sandbox:alice', id: alice, charges: 0, ...want(alice) },
      { connection: 'sandbox:bob', id: bob, charges: 0, ...want(bob) },
    ]);
    expect(out.orders).toBe(want(alice).orders + want(bob).orders);
    expect(out.orders).toBeGreaterThan(100);
    expect(count('SELECT count(*) AS n FROM orders')).toBe(before);
    // In text: a table on stdout (tab-separated when piped), the sentence on stderr.
    const t = await h.cli(['purge', '--older-than', cutoff, '--dry-run']);
    expect(t.stdout).toContain(`sandbox:alice\t${want(alice).orders}\t`);
    expect(t.stderr).toMatch(/Would delete .* Nothing was deleted \(dry run\)/);
  });

  it('without a terminal and without --yes: a usage error, nothing deleted', async () => {
    const before = count('SELECT count(*) AS n FROM orders');
    const r = await h.cli(['purge', '--older-than', cutoff]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --yes when not in a terminal; nothing was deleted/);
    expect(count('SELECT count(*) AS n FROM orders')).toBe(before);
    const none = await h.cli(['purge']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--older-than AGE, --connection C, or --all/);
    const ambiguous = await h.cli(['purge', '--older-than', '6m', '--dry-run']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/write 6mo for months/);
  });

  it('--yes deletes the orders, their items and search rows, audits the counts, and VACUUM shrinks the file', async () => {
    const iso = `${cutoff}T00:00:00.000Z`;
    const doomed = count('SELECT count(*) AS n FROM orders WHERE order_date < ?', iso);
    const keptOrders = h.query<{ id: number; order_id: string }>('SELECT id, order_id FROM orders WHERE order_date >= ? ORDER BY id', iso);
    const goneIds = h.query<{ order_id: string }>('SELECT order_id FROM orders WHERE order_date < ?', iso).map((r) => r.order_id);
    const sizeBefore = statSync(h.db).size;
    const r = await h.cli(['--json', 'purge', '--older-than', cutoff, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { orders: number; bytes_before: number; bytes_after: number; freed_bytes: number };
    expect(out.orders).toBe(doomed);
    expect(out.freed_bytes).toBeGreaterThan(0);
    expect(out.bytes_after).toBeLessThan(out.bytes_before);
    expect(statSync(h.db).size).toBeLessThan(sizeBefore);
    expect(count('SELECT count(*) AS n FROM orders WHERE order_date < ?', iso)).toBe(0);
    expect(h.query<{ id: number; order_id: string }>('SELECT id, order_id FROM orders ORDER BY id')).toEqual(keptOrders);
    expect(count('SELECT count(*) AS n FROM order_items WHERE order_ref NOT IN (SELECT id FROM orders)')).toBe(0);
    expect(count('SELECT count(*) AS n FROM orders_fts')).toBe(keptOrders.length);
    // The audit row: counts and ids, never order data.
    const audit = h.query<{ detail: string; action: string }>("SELECT action, detail FROM audit_log WHERE action = 'purge'");
    expect(audit).toHaveLength(1);
    const detail = JSON.parse(audit[0]!.detail) as { orders: number; reason: string; per_connection: unknown[] };
    expect(detail).toMatchObject({ reason: 'purge', orders: doomed });
    for (const id of goneIds.slice(0, 20)) expect(audit[0]!.detail).not.toContain(id);
    const verify = await h.cli(['audit', '--verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // Totals read from the rollups agree with the orders left.
    const stats = await h.cli(['--json', 'orders', 'stats', '--by', 'month']);
    const st = JSON.parse(stats.stdout) as { currencies: Array<{ currency: string; orders: number; total_minor: number }> };
    for (const c of st.currencies) {
      expect(c.orders).toBe(count('SELECT count(*) AS n FROM orders WHERE currency = ? AND deleted_at IS NULL', c.currency));
      expect(c.total_minor).toBe(count('SELECT sum(total) AS n FROM orders WHERE currency = ? AND deleted_at IS NULL', c.currency));
    }
    // Nothing of a purged order is left in the file (the search index was merged, then VACUUM).
    const bytes = readFileSync(h.db).toString('latin1');
    for (const id of goneIds.slice(0, 20)) expect(bytes).not.toContain(id);
  });

  it('--connection purges one connection only', async () => {
    const aliceBefore = count('SELECT count(*) AS n FROM orders WHERE connection_id = ?', alice);
    const r = await h.cli(['purge', '--connection', 'bob', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/deleted \d+ orders .* freed/);
    expect(count('SELECT count(*) AS n FROM orders WHERE connection_id = ?', bob)).toBe(0);
    expect(count('SELECT count(*) AS n FROM orders WHERE connection_id = ?', alice)).toBe(aliceBefore);
    expect(count('SELECT count(*) AS n FROM connections')).toBe(2);
  });
});

describe('retention', () => {
  it('--set-retention is stored per profile, audited, and applied after the next sync', async () => {
    const r = await h.cli(['purge', '--set-retention', '1y']);
    expect(r.code, r.stderr).toBe(0);
    expect(h.query<{ value: string }>("SELECT value FROM meta WHERE key = 'retention'")).toEqual([{ value: '1y' }]);
    // A full sync brings every order back; retention then removes those older than a year.
    const s = await h.cli(['sync', '--full']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/Retention \(1y\): deleted \d+ orders/);
    const yearAgo = new Date();
    yearAgo.setUTCFullYear(yearAgo.getUTCFullYear() - 1);
    // A minute of slack for the time between the sync and this check.
    expect(count('SELECT count(*) AS n FROM orders WHERE order_date < ?', new Date(yearAgo.getTime() - 60_000).toISOString())).toBe(0);
    expect(count('SELECT count(*) AS n FROM orders WHERE order_date >= ?', yearAgo.toISOString())).toBeGreaterThan(0);
    const rows = h.query<{ action: string; detail: string }>("SELECT action, detail FROM audit_log WHERE action IN ('purge', 'purge.retention') ORDER BY seq");
    expect(rows.map((x) => x.action)).toEqual(['purge', 'purge', 'purge.retention', 'purge']);
    expect(JSON.parse(rows[3]!.detail)).toMatchObject({ reason: 'retention', older_than: '1y' });
    // A sync with nothing old to delete writes no purge row.
    const again = await h.cli(['sync']);
    expect(again.code, again.stderr).toBe(0);
    expect(count("SELECT count(*) AS n FROM audit_log WHERE action = 'purge'")).toBe(3);
  });

  it('--set-retention off keeps everything again', async () => {
    const r = await h.cli(['--json', 'purge', '--set-retention', 'off']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ retention: null, previous: '1y' });
    expect(h.query("SELECT value FROM meta WHERE key = 'retention'")).toEqual([]);
    const bad = await h.cli(['purge', '--set-retention', '1y', '--all']);
    expect(bad.code).toBe(2);
  });

  it('--all empties the profile but keeps its connections', async () => {
    const r = await h.cli(['--json', 'purge', '--all', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(count('SELECT count(*) AS n FROM orders')).toBe(0);
    expect(count('SELECT count(*) AS n FROM connections')).toBe(2);
    const nothing = await h.cli(['purge', '--all', '--yes']);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).toMatch(/Nothing to delete/);
  });
});
