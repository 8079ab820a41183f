/**
 * Plaid faults through the binary against the replica: TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION
 * restarts the update from its FIRST cursor and ends with exactly the replica's transactions;
 * `kill -9` in the middle of an update, then a rerun, gives exactly the replica's transactions
 * (nothing of an unfinished update is ever committed); 429 RATE_LIMIT_EXCEEDED and 500 wait and
 * retry; the replica itself answers like Plaid (auth, versions, error shapes, cursors, tokens).
 * No assertion depends on timing: kills are triggered by what the child prints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlaidReplica } from '../src/sandbox/replicas/plaid.js';
import { linkedPlaid, plaidReplica } from './helpers/plaid.js';

describe('Plaid: updates that change, crash or get throttled', () => {
  let replica: PlaidReplica;
  beforeAll(async () => {
    replica = await plaidReplica({ transactions: 400, notReadyPolls: 0 });
  });
  afterAll(async () => {
    await replica.close();
  });

  it('mutation during pagination: the update restarts from its first cursor; exactly the replica\'s transactions', async () => {
    const p = await linkedPlaid(replica);
    try {
      expect((await p.h.cli(['sync', '--page-size', '100'])).code).toBe(0);
      const committed = JSON.parse(p.h.query<{ sync_cursor: string }>('SELECT sync_cursor FROM connections')[0]!.sync_cursor) as string;
      replica.addTransactions(p.itemId, 250);
      replica.postPending(p.itemId);
      replica.faults.mutateDuringPagination = 1;
      const from = replica.requests.length;
      const r = await p.h.cli(['--verbose', 'sync', '--page-size', '100']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/restarting from the first cursor/);
      const syncs = replica.requests.slice(from).filter((q) => q.path === '/transactions/sync');
      const failed = syncs.findIndex((q) => q.status === 400);
      expect(failed).toBeGreaterThan(0);
      // The first request of the update and the one after the error both start at the committed cursor.
      expect(syncs[0]!.cursor).toBe(committed);
      expect(syncs[failed + 1]!.cursor).toBe(committed);
      expect(await p.mine()).toEqual(p.truth());
      const audit = JSON.parse((await p.h.cli(['--json', 'audit'])).stdout) as Array<{ action: string }>;
      expect(audit.some((a) => a.action === 'sync.restart')).toBe(true);
    } finally {
      p.h.cleanup();
    }
  });

  it('kill -9 during an update, then a rerun: exactly the replica\'s transactions, never a partial update', async () => {
    const p = await linkedPlaid(replica);
    replica.faults.latencyMs = 25;
    try {
      for (const round of [0, 1]) {
        if (round === 1) {
          // A second update on top of a committed one: new purchases, posted pendings, a changed amount.
          replica.addTransactions(p.itemId, 300);
          replica.postPending(p.itemId);
        }
        const before = await p.mine();
        let pages = 0;
        const killed = await p.h.cli(['--verbose', 'sync', '--page-size', '40'], {
          onSpawn: (child) => {
            let err = '';
            child.stderr!.on('data', (d: Buffer) => {
              err += d.toString();
              pages = err.split('POST /transactions/sync → 200').length - 1;
              if (pages >= 3) child.kill('SIGKILL');
            });
          },
        });
        expect(killed.signal === 'SIGKILL' || killed.code === 0).toBe(true);
        if (killed.signal === 'SIGKILL') expect(pages).toBeGreaterThanOrEqual(3);
        const after = await p.mine();
        // Either the update committed whole before the kill landed, or nothing of it did.
        expect([JSON.stringify(before), JSON.stringify(p.truth())]).toContain(JSON.stringify(after));
        const rerun = await p.h.cli(['sync', '--page-size', '40']);
        expect(rerun.code, rerun.stderr).toBe(0);
        expect(await p.mine()).toEqual(p.truth());
      }
    } finally {
      replica.faults.latencyMs = 0;
      p.h.cleanup();
    }
  });

  it('429 RATE_LIMIT_EXCEEDED and 500 INTERNAL_SERVER_ERROR: waits, retries, completes', async () => {
    const p = await linkedPlaid(replica);
    try {
      replica.faults.rateLimit = 2;
      replica.faults.internalError = 1;
      const r = await p.h.cli(['--verbose', 'sync']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/rate limited; waiting/);
      expect(r.stderr).toMatch(/server error 500/);
      expect(await p.mine()).toEqual(p.truth());
      // Throttled for longer than the retry budget: a clear failure, nothing committed, rerun works.
      replica.faults.rateLimit = 100;
      replica.addTransactions(p.itemId, 3);
      const limited = await p.h.cli(['sync'], { env: { ORDERLINK_RETRY_MAX_ATTEMPTS: '2' } });
      expect(limited.code).toBe(1);
      expect(limited.stderr).toMatch(/rate limited/i);
      expect(limited.stderr).toMatch(/again later/);
      replica.faults.rateLimit = 0;
      expect((await p.h.cli(['sync'])).code).toBe(0);
      expect(await p.mine()).toEqual(p.truth());
    } finally {
      replica.faults.rateLimit = 0;
      p.h.cleanup();
    }
  });
  it('an Item removed at Plaid: sync exits 4, and --reconnect says to disconnect and link again', async () => {
    const p = await linkedPlaid(replica);
    try {
      expect((await p.h.cli(['sync'])).code).toBe(0);
      // The person removed the connection at my.plaid.com: the Item is gone at Plaid.
      await fetch(`${replica.url}/item/remove`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: replica.clientId, secret: replica.secret, access_token: p.accessToken }) });
      const r = await p.h.cli(['sync']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/ITEM_NOT_FOUND/);
      const fix = await p.h.cli(['link', '--reconnect', 'plaid:default', '--no-browser', '--timeout', '5']);
      expect(fix.code).toBe(2);
      expect(fix.stderr).toMatch(/no longer exists at Plaid/);
      expect(fix.stderr).toMatch(/orderlink disconnect/);
    } finally {
      p.h.cleanup();
    }
  });
});

describe('the replica answers like the documented API', () => {
  let replica: PlaidReplica;
  beforeAll(async () => {
    replica = await plaidReplica({ transactions: 50, notReadyPolls: 1 });
  });
  afterAll(async () => {
    await replica.close();
  });
  const post = async (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${replica.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const creds = () => ({ client_id: replica.clientId, secret: replica.secret });

  it('auth in the body or in headers; errors in Plaid\'s shape; unknown versions refused', async () => {
    const missing = await post('/item/get', { access_token: 'x' });
    expect(missing).toMatchObject({ status: 400, body: { error_type: 'INVALID_REQUEST', error_code: 'MISSING_FIELDS' } });
    expect(Object.keys(missing.body)).toEqual(expect.arrayContaining(['error_type', 'error_code', 'error_message', 'display_message', 'request_id']));
    expect(await post('/item/get', { client_id: replica.clientId, secret: 'nope', access_token: 'x' })).toMatchObject({ status: 400, body: { error_code: 'INVALID_API_KEYS' } });
    const viaHeaders = await post('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['transactions'] }, { 'PLAID-CLIENT-ID': replica.clientId, 'PLAID-SECRET': replica.secret, 'Plaid-Version': '2020-09-14' });
    expect(viaHeaders.status).toBe(200);
    expect(await post('/item/get', { ...creds(), access_token: 'x' }, { 'Plaid-Version': '1999-01-01' })).toMatchObject({ status: 400, body: { error_type: 'INVALID_REQUEST' } });
    expect(await post('/item/get', { ...creds(), access_token: 'access-sandbox-unknown' })).toMatchObject({ status: 400, body: { error_code: 'INVALID_ACCESS_TOKEN' } });
    expect(await post('/no/such', creds())).toMatchObject({ status: 404 });
    const badUser = await post('/sandbox/public_token/create', { ...creds(), institution_id: 'ins_109508', initial_products: ['transactions'], options: { override_username: 'user_bad', override_password: 'pass_good' } });
    expect(badUser).toMatchObject({ status: 400, body: { error_code: 'INVALID_CREDENTIALS' } });
  });

  it('public tokens exchange once; cursors are checked; count is bounded; NOT_READY first', async () => {
    const pt = (await post('/sandbox/public_token/create', { ...creds(), institution_id: 'ins_109508', initial_products: ['transactions'] })).body.public_token as string;
    const ex = await post('/item/public_token/exchange', { ...creds(), public_token: pt });
    expect(ex.status).toBe(200);
    expect(await post('/item/public_token/exchange', { ...creds(), public_token: pt })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PUBLIC_TOKEN' } });
    const access_token = ex.body.access_token as string;
    const first = await post('/transactions/sync', { ...creds(), access_token });
    expect(first.body).toMatchObject({ next_cursor: '', has_more: false, transactions_update_status: 'NOT_READY', added: [] });
    expect(await post('/transactions/sync', { ...creds(), access_token, count: 501 })).toMatchObject({ status: 400, body: { error_code: 'INVALID_FIELD' } });
    const page = await post('/transactions/sync', { ...creds(), access_token, count: 20 });
    expect(page.body).toMatchObject({ has_more: true });
    expect((page.body.added as unknown[]).length).toBe(20);
    const tx = (page.body.added as Array<Record<string, unknown>>)[0]!;
    for (const k of ['payment_meta', 'location', 'account_owner', 'counterparties']) expect(tx).toHaveProperty(k);
    expect((page.body.accounts as Array<Record<string, unknown>>)[0]).toHaveProperty('mask');
    const cursor = page.body.next_cursor as string;
    expect(cursor.length).toBeLessThanOrEqual(256);
    const forged = Buffer.from(Buffer.from(cursor, 'base64').toString().replace(/\.20\./, '.0.')).toString('base64');
    expect((await post('/transactions/sync', { ...creds(), access_token, cursor: forged })).status).toBe(400);
    const rest = await post('/transactions/sync', { ...creds(), access_token, cursor, count: 500 });
    expect(rest.body).toMatchObject({ has_more: false });
    expect((rest.body.added as unknown[]).length).toBe(30);
    // No changes since the final cursor: an empty page, the same cursor back.
    const none = await post('/transactions/sync', { ...creds(), access_token, cursor: rest.body.next_cursor });
    expect(none.body).toMatchObject({ added: [], modified: [], removed: [], has_more: false, next_cursor: rest.body.next_cursor });
    // reset_login → ITEM_LOGIN_REQUIRED (HTTP 400, ITEM_ERROR); /item/remove → ITEM_NOT_FOUND.
    expect((await post('/sandbox/item/reset_login', { ...creds(), access_token })).status).toBe(200);
    expect(await post('/transactions/sync', { ...creds(), access_token })).toMatchObject({ status: 400, body: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED' } });
    expect((await post('/item/remove', { ...creds(), access_token })).status).toBe(200);
    expect(await post('/item/get', { ...creds(), access_token })).toMatchObject({ status: 400, body: { error_code: 'ITEM_NOT_FOUND' } });
  });

  it('generates the same data for the same seed, lazily for large counts', async () => {
    const big = await plaidReplica({ transactions: 1_000_000, seed: 9, notReadyPolls: 0 });
    const again = await plaidReplica({ transactions: 1_000_000, seed: 9, notReadyPolls: 0 });
    try {
      const one = async (r: PlaidReplica) => {
        const c = { client_id: r.clientId, secret: r.secret };
        const call = async (path: string, body: Record<string, unknown>) => (await (await fetch(`${r.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...c, ...body }) })).json()) as Record<string, unknown>;
        const pt = (await call('/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['transactions'] })).public_token;
        const { access_token } = await call('/item/public_token/exchange', { public_token: pt });
        return ((await call('/transactions/sync', { access_token, count: 5 })).added as Array<{ transaction_id: string; amount: number }>).map((t) => [t.transaction_id, t.amount]);
      };
      const [a, b] = [await one(big), await one(again)];
      expect(a).toEqual(b);
      expect(a).toHaveLength(5);
    } finally {
      await big.close();
      await again.close();
    }
  });
});
