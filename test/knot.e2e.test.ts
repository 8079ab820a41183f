/**
 * Knot end to end, through the real binary, a real SQLite file and the replica on 127.0.0.1:
 * setup → link (--sandbox, and the browser path through the served SDK page) → sync → orders;
 * the secret canary and every payment field absent from the database, WAL, audit, exports and
 * traces; login-required → exit 4 → `link --reconnect` with a new Knot session; 429; kill -9
 * mid-sync; disconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KnotReplicaHandle } from '../src/sandbox/replicas/knot.js';
import { e2eHome, readAllBytes, type E2EHome } from './helpers/e2e.js';
import { KNOT_SECRET_CANARY, knotReplica, onPageUrl, setupKnot, visitKnotPage, type PageVisit } from './helpers/knot.js';

const FAST = { ORDERLINK_RETRY_BASE_MS: '20' };
type Conn = { id: number; status: string; account_label: string | null; connector: string };
type Order = { order_id: string; retailer: string; subtotal: string; tax: string; discount: string; shipping: string; total: string; status: string; item_count: number; order_date: string };
type Detail = Order & { items: Array<{ line_no: number; name: string; sku: string | null; quantity: number; unit_price: string }> };

/** Strings from the replica's payment, address and URL fields: none may be stored or shown. */
const PAYMENT_MARKERS = ["Ada's credit card", 'last_four', 'payment_methods', 'GIFT_CARD', 'Lovelace', '123 Main St', 'Los Angeles', '94105', 'postal_code', 'www.example.com', 'txn-product-images', 'Marketplace Seller', '4111 1111 1111 1111', '4111111111111111'];

async function linkSandbox(h: E2EHome, merchant = 'walmart'): Promise<Conn> {
  const r = await h.cli(['--json', 'link', 'knot', '--merchant', merchant, '--sandbox']);
  if (r.code !== 0) throw new Error(`link failed (${r.code}): ${r.stderr}${r.stdout}`);
  return (JSON.parse(r.stdout) as { connection: Conn }).connection;
}
const ordersOf = async (h: E2EHome): Promise<Order[]> => JSON.parse((await h.cli(['--json', 'orders'])).stdout) as Order[];
const userOf = (replica: KnotReplicaHandle, merchant: string) => replica.accounts().find((a) => a.merchant.name === merchant)!;

describe('knot end to end', () => {
  let replica: KnotReplicaHandle;
  beforeAll(async () => {
    replica = await knotReplica({ transactions: 205 });
  });
  afterAll(async () => {
    await replica.close();
  });

  it('setup → link --sandbox → sync → orders: exactly the replica’s transactions, with items, SKUs, tax and discount', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      const conn = await linkSandbox(h, 'walmart');
      expect(conn).toMatchObject({ connector: 'knot', status: 'active', account_label: 'Walmart (Knot)' });
      const s = await h.cli(['--json', 'sync']);
      expect(s.code, s.stderr).toBe(0);
      const acct = userOf(replica, 'Walmart');
      const orders = await ordersOf(h);
      expect(orders.map((o) => o.order_id).sort()).toEqual(replica.transactionIds(acct.external_user_id, 45).sort());
      expect(new Set(orders.map((o) => o.retailer))).toEqual(new Set(['Walmart']));
      // Amounts are exact: the parts add up to the total on every order.
      const minor = (s: string) => Math.round(Number(s) * 100);
      for (const o of orders) expect(minor(o.subtotal) + minor(o.tax) + minor(o.shipping) - minor(o.discount)).toBe(minor(o.total));
      expect(orders.some((o) => Number(o.discount) > 0)).toBe(true);
      expect(orders.some((o) => o.status === 'unknown')).toBe(true); // ON_HOLD, UNRECOGNIZED accepted
      // One order in detail, against the replica's own payload.
      const raw = replica.transaction(acct.external_user_id, 45, 0) as { id: string; products: Array<{ name: string; external_id: string; quantity: number }>; price: { adjustments: Array<{ type: string; amount: string | number }> } };
      const d = JSON.parse((await h.cli(['--json', 'orders', 'show', raw.id])).stdout) as Detail;
      expect(d.items.map((i) => [i.sku, i.quantity])).toEqual(raw.products.map((p) => [p.external_id, p.quantity]));
      expect(d.tax).toBe(String(raw.price.adjustments.find((a) => a.type === 'TAX')!.amount));
      // A second sync re-reads at most the last page and adds nothing.
      const again = JSON.parse((await h.cli(['--json', 'sync'])).stdout) as { connections: Array<{ added: number; fetched: number }> };
      expect(again.connections[0]!.added).toBe(0);
      expect(again.connections[0]!.fetched).toBeLessThanOrEqual(100);
      // New transactions at Knot arrive on the next incremental sync.
      replica.addTransactions(acct.external_user_id, 45, 7);
      const more = JSON.parse((await h.cli(['--json', 'sync'])).stdout) as { connections: Array<{ added: number }> };
      expect(more.connections[0]!.added).toBe(7);
    } finally {
      h.cleanup();
    }
  });

  it('links through the served SDK page (the browser path), and nothing secret or payment-related is stored or shown', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      let visit: Promise<PageVisit> | undefined;
      const r = await h.cli(['--verbose', 'link', 'knot', '--merchant', 'target', '--no-browser', '--timeout', '30'], { onSpawn: (c) => onPageUrl(c, (u) => (visit = visitKnotPage(u))) });
      expect(r.code, r.stderr).toBe(0);
      const v = await visit!;
      expect(v.resultStatus).toBe(200);
      expect(v.sdkUrl).toBe(`${replica.url}/sdk/knotapi.js`);
      expect(v.html).not.toContain(KNOT_SECRET_CANARY);
      expect(v.headers.get('cache-control')).toBe('no-store');
      expect(v.headers.get('referrer-policy')).toBe('no-referrer');
      const [c] = JSON.parse((await h.cli(['--json', 'connections'])).stdout) as Conn[];
      expect(c).toMatchObject({ connector: 'knot', status: 'active', account_label: 'Target (Knot)' });
      const s = await h.cli(['--verbose', 'sync']);
      expect(s.code, s.stderr).toBe(0);
      const exports = await Promise.all([['--json', 'orders'], ['orders', '--csv'], ['orders', '--ndjson'], ['--json', 'audit'], ['--json', 'connections', '--all'], ['--json', 'connector', 'show', 'knot']].map((a) => h.cli(a)));
      const shown = [r, s, ...exports].map((x) => x.stdout + x.stderr).join('\n');
      const stored = readAllBytes([h.db, `${h.db}-wal`, `${h.db}-shm`, h.vault]);
      for (const text of [shown, stored]) {
        expect(text).not.toContain(KNOT_SECRET_CANARY);
        expect(text).not.toContain(Buffer.from(`knot-client-e2e:${KNOT_SECRET_CANARY}`).toString('base64'));
        for (const m of PAYMENT_MARKERS) expect(text, m).not.toContain(m);
      }
      expect(JSON.parse(exports[0]!.stdout).length).toBe(205);
    } finally {
      h.cleanup();
    }
  });

  it('a merchant account that needs its login again: exit 4, reauth_required, and link --reconnect (a new Knot session) repairs it', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      const conn = await linkSandbox(h, 'macys');
      expect((await h.cli(['sync'])).code).toBe(0);
      const acct = userOf(replica, "Macy's");
      replica.disconnect(acct.external_user_id, acct.merchant.id);
      const s = await h.cli(['sync']);
      expect(s.code).toBe(4);
      expect(s.stdout + s.stderr).toMatch(/link --reconnect/);
      expect(s.stdout + s.stderr).not.toContain(KNOT_SECRET_CANARY);
      expect((JSON.parse((await h.cli(['--json', 'connections', '--all'])).stdout) as Conn[])[0]!.status).toBe('reauth_required');
      const sessionsBefore = replica.stats().byPath['/session/create'] ?? 0;
      let visit: Promise<PageVisit> | undefined;
      const re = await h.cli(['link', '--reconnect', String(conn.id), '--no-browser', '--timeout', '30'], { onSpawn: (c) => onPageUrl(c, (u) => (visit = visitKnotPage(u))) });
      expect(re.code, re.stderr).toBe(0);
      expect((await visit!).resultStatus).toBe(200);
      expect(replica.stats().byPath['/session/create']).toBe(sessionsBefore + 1);
      expect(replica.accounts().filter((a) => a.external_user_id === acct.external_user_id)).toHaveLength(1); // the same Knot user, not a new one
      const after = await h.cli(['--json', 'sync']);
      expect(after.code, after.stderr).toBe(0);
      expect((JSON.parse((await h.cli(['--json', 'connections'])).stdout) as Conn[])[0]!.status).toBe('active');
    } finally {
      h.cleanup();
    }
  });

  it('429 with Retry-After: waits and finishes', async () => {
    const h = e2eHome(FAST);
    const r2 = await knotReplica({ transactions: 120 });
    try {
      await setupKnot(h, r2);
      await linkSandbox(h, 'doordash');
      r2.setFaults({ rateLimitEvery: 3, retryAfterSeconds: 1 });
      const s = await h.cli(['--json', 'sync', '--page-size', '40']);
      expect(s.code, s.stderr).toBe(0);
      expect(r2.stats().rateLimited).toBeGreaterThan(0);
      expect((await ordersOf(h)).length).toBe(120);
    } finally {
      await r2.close();
      h.cleanup();
    }
  });

  it('kill -9 in the middle of a sync, then a rerun: exactly the replica’s orders, no duplicates', async () => {
    const h = e2eHome(FAST);
    const big = await knotReplica({ transactions: 3000, seed: 7 });
    try {
      await setupKnot(h, big);
      await linkSandbox(h, 'amazon');
      big.setFaults({ latencyMs: 15 });
      const before = big.stats().byPath['/transactions/sync'] ?? 0;
      const killed = await h.cli(['sync', '--page-size', '20'], {
        onSpawn: (child) => {
          const poll = setInterval(() => {
            if ((big.stats().byPath['/transactions/sync'] ?? 0) - before >= 8) {
              clearInterval(poll);
              child.kill('SIGKILL');
            }
          }, 5);
          child.on('exit', () => clearInterval(poll));
        },
      });
      expect(killed.signal).toBe('SIGKILL');
      big.setFaults({});
      const partial = h.query<{ n: number }>('SELECT count(*) AS n FROM orders')[0]!.n;
      expect(partial).toBeLessThan(3000);
      const s = await h.cli(['sync', '--page-size', '100']);
      expect(s.code, s.stderr).toBe(0);
      const acct = userOf(big, 'Amazon');
      const ids = h.query<{ order_id: string }>('SELECT order_id FROM orders').map((r) => r.order_id);
      expect(ids.length).toBe(3000);
      expect(new Set(ids)).toEqual(new Set(big.transactionIds(acct.external_user_id, 44)));
    } finally {
      await big.close();
      h.cleanup();
    }
  });

  it('disconnect deletes the secret and marks the connection revoked, without showing the secret', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      const conn = await linkSandbox(h, 'uber');
      const d = await h.cli(['--json', 'disconnect', String(conn.id), '--yes']);
      expect(d.stdout + d.stderr).not.toContain(KNOT_SECRET_CANARY);
      expect(JSON.parse(d.stdout)).toMatchObject({ status: 'revoked', secret_deleted: true });
      expect((JSON.parse((await h.cli(['--json', 'connections', '--all'])).stdout) as Conn[])[0]!.status).toBe('revoked');
    } finally {
      h.cleanup();
    }
  });

  it('disconnect unlinks the merchant account at Knot (auth.revoke), then proves the old credential is refused', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      const conn = await linkSandbox(h, 'doordash');
      const before = replica.stats().byPath['/accounts/unlink'] ?? 0;
      const d = await h.cli(['--json', 'disconnect', String(conn.id), '--yes']);
      expect(d.code, d.stderr).toBe(0);
      expect(replica.stats().byPath['/accounts/unlink'] ?? 0).toBe(before + 1);
      expect(JSON.parse(d.stdout)).toMatchObject({ status: 'revoked', revocation: 'done', old_token_check: 'rejected', secret_deleted: true });
      expect(d.stdout + d.stderr).not.toContain(KNOT_SECRET_CANARY);
      expect((await h.cli(['--json', 'audit', '--action', 'disconnect'])).stdout).toContain('"revocation": "done"');
    } finally {
      h.cleanup();
    }
  });
});
