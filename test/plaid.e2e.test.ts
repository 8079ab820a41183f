/**
 * Plaid end to end through the real binary, real SQLite and the replica on 127.0.0.1:
 * setup → link --sandbox → sync → charges; charges never counted as orders; the client secret and
 * the access token nowhere but the vault; no payment or address field in the database, exports or
 * traces; pending → posted leaves one charge; ITEM_LOGIN_REQUIRED → exit 4 → link --reconnect
 * (update mode, through the Hosted Link page) repairs it; a browser link; disconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllBytes } from './helpers/e2e.js';
import { linkedPlaid, onHostedLinkUrl, plaidReplica, setupPlaid, FAST, type PlaidHome } from './helpers/plaid.js';
import { e2eHome } from './helpers/e2e.js';
import type { PlaidReplica } from '../src/sandbox/replicas/plaid.js';

/** Values the replica puts in payment, address and account fields: none may be stored or shown. */
const PAYMENT_VALUES = ['13425 Community Rd', 'Poway', '92064', 'REF-8675309-4111', 'Dwolla', '1234567890', 'GB33BUKB20201555555555', '31926819', '601613', 'BUKBGB22', 'Alberta', 'Plaid Gold Standard', 'Plaid Diamond', '4111 1111 1111 1111', '4111111111111111', 'future_field_2027'];

describe('Plaid: link, sync, charges', () => {
  let replica: PlaidReplica;
  let p: PlaidHome;
  const shown: string[] = [];
  beforeAll(async () => {
    replica = await plaidReplica();
    p = await linkedPlaid(replica);
  });
  afterAll(async () => {
    p.h.cleanup();
    await replica.close();
  });

  it('syncs exactly the replica\'s transactions as charges, after polling past NOT_READY', async () => {
    const r = await p.h.cli(['--verbose', 'sync']);
    shown.push(r.stdout, r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not ready yet/);
    expect(await p.mine()).toEqual(p.truth());
    expect(p.truth().length).toBe(300);
    // Every request carried the API version; credentials went in the body.
    expect(replica.requests.every((q) => q.version === '2020-09-14' && q.auth === 'body')).toBe(true);
  });

  it('charges --json has the documented fields; amounts are decimal strings, positive = money out', async () => {
    const all = await p.charges();
    const c = all[0]!;
    expect(Object.keys(c)).toEqual(expect.arrayContaining(['transaction_id', 'date', 'merchant', 'amount', 'currency', 'pending']));
    for (const x of all) {
      expect(x.amount).toMatch(/^-?\d+\.\d\d$/);
      expect(x.date).toMatch(/^\d{4}-\d\d-\d\d$/);
    }
    const truth = new Map(replica.live(p.itemId).map((t) => [t.id, t]));
    expect(all.every((x) => x.amount_minor === truth.get(x.transaction_id)!.cents)).toBe(true);
    expect(all.some((x) => x.amount.startsWith('-'))).toBe(true); // refunds are money in
    expect(all.filter((x) => x.pending).length).toBe(3);
    // Filters.
    const walmart = await p.charges(['--merchant', 'WALMART']);
    expect(walmart.length).toBeGreaterThan(0);
    expect(walmart.every((x) => x.merchant === 'Walmart')).toBe(true);
    expect((await p.charges(['--pending'])).length).toBe(3);
    expect((await p.charges(['--posted'])).length).toBe(297);
    const since = await p.charges(['--since', '2026-11', '--until', '2026-11-30']);
    expect(since.every((x) => x.date >= '2026-11-01' && x.date <= '2026-11-30')).toBe(true);
    const csv = await p.h.cli(['charges', '--csv']);
    const nd = await p.h.cli(['charges', '--ndjson']);
    shown.push(csv.stdout, nd.stdout);
    expect(csv.stdout.split('\n')[0]).toBe('transaction_id,date,datetime,merchant,amount,currency,pending,category,account_id,connection,pending_transaction_id');
    expect(nd.stdout.trim().split('\n').length).toBe(300);
    const bad = await p.h.cli(['charges', '--pending', '--posted']);
    expect(bad.code).toBe(2);
  });

  it('charges are never orders: orders and orders stats do not count them', async () => {
    expect(JSON.parse((await p.h.cli(['--json', 'orders'])).stdout)).toEqual([]);
    const stats = await p.h.cli(['--json', 'orders', 'stats']);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).not.toMatch(/Walmart|plaid/);
  });

  it('pending → posted (removed + added) leaves one charge per purchase', async () => {
    const before = await p.charges(['--pending']);
    expect(replica.postPending(p.itemId)).toBe(3);
    const r = await p.h.cli(['sync']);
    expect(r.code, r.stderr).toBe(0);
    expect(await p.mine()).toEqual(p.truth());
    expect(await p.charges(['--pending'])).toEqual([]);
    const all = await p.charges();
    expect(all.length).toBe(300);
    for (const pend of before) {
      const posted = all.filter((x) => x.pending_transaction_id === pend.transaction_id);
      expect(posted).toHaveLength(1);
      expect(posted[0]!.amount).toBe(pend.amount);
    }
  });

  it('the client secret and the access token appear nowhere but the vault; no payment field anywhere', async () => {
    const v = await p.h.cli(['--verbose', 'sync', '--full']);
    const audit = await p.h.cli(['--json', 'audit']);
    const conns = await p.h.cli(['--json', '--verbose', 'connections']);
    shown.push(v.stdout, v.stderr, audit.stdout, conns.stdout, conns.stderr);
    const stored = readAllBytes([p.h.db, `${p.h.db}-wal`]);
    const everything = shown.join('\n') + stored;
    expect(stored.length).toBeGreaterThan(1000);
    for (const secret of [replica.secret, p.accessToken, p.accessToken.slice(-12)]) expect(everything).not.toContain(secret);
    for (const v of PAYMENT_VALUES) expect(everything).not.toContain(v);
    // The vault file holds them only sealed.
    const vault = readAllBytes([p.h.vault]);
    expect(vault).not.toContain(replica.secret);
    expect(vault).not.toContain(p.accessToken);
  });

  it('a refused secret says what happened and what to do, without echoing it', async () => {
    const h = e2eHome(FAST);
    try {
      const wrong = await h.cli(['connector', 'setup', 'plaid', '--env', 'sandbox', '--base-url', replica.url, '--credentials-stdin'], { stdin: `${replica.clientId}\nwrong-secret-canary\n` });
      expect(wrong.code).toBe(0);
      const r = await h.cli(['--verbose', 'link', 'plaid', '--sandbox']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/INVALID_API_KEYS/);
      expect(r.stderr).toMatch(/connector setup plaid/);
      expect(r.stdout + r.stderr).not.toContain('wrong-secret-canary');
    } finally {
      h.cleanup();
    }
  });
});

describe('Plaid: login required, update mode, browser link, disconnect', () => {
  let replica: PlaidReplica;
  let p: PlaidHome;
  beforeAll(async () => {
    replica = await plaidReplica({ transactions: 120, notReadyPolls: 0 });
    p = await linkedPlaid(replica);
    expect((await p.h.cli(['sync'])).code).toBe(0);
  });
  afterAll(async () => {
    p.h.cleanup();
    await replica.close();
  });

  it('ITEM_LOGIN_REQUIRED: exit 4, reauth_required; link --reconnect (update mode) repairs the same Item', async () => {
    replica.resetLogin(p.itemId);
    const r = await p.h.cli(['sync']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/ITEM_LOGIN_REQUIRED/);
    expect(r.stderr).toMatch(/link --reconnect/);
    const conns = JSON.parse((await p.h.cli(['--json', 'connections', '--all'])).stdout) as Array<{ status: string; id: number }>;
    expect(conns[0]!.status).toBe('reauth_required');
    // --sandbox cannot do update mode: a clear usage error.
    const sb = await p.h.cli(['link', '--reconnect', 'plaid:default', '--sandbox']);
    expect(sb.code).toBe(2);
    expect(sb.stderr).toMatch(/without --sandbox/);
    const seen: { done?: Promise<number> } = {};
    const fix = await p.h.cli(['link', '--reconnect', 'plaid:default', '--no-browser', '--timeout', '60'], { onSpawn: onHostedLinkUrl(seen) });
    expect(fix.code, fix.stderr).toBe(0);
    expect(await seen.done).toBe(200);
    expect(replica.items().find((i) => i.itemId === p.itemId)!.loginRequired).toBe(false);
    const after = JSON.parse((await p.h.cli(['--json', 'connections', '--all'])).stdout) as Array<{ status: string }>;
    expect(after[0]!.status).toBe('active');
    replica.addTransactions(p.itemId, 5);
    expect((await p.h.cli(['sync'])).code).toBe(0);
    expect(await p.mine()).toEqual(p.truth());
  });

  it('links a new Item through the Hosted Link page (a client playing the browser)', async () => {
    const h = e2eHome(FAST);
    try {
      await setupPlaid(h, replica);
      const seen: { done?: Promise<number> } = {};
      const r = await h.cli(['--json', 'link', 'plaid', '--no-browser', '--timeout', '60'], { onSpawn: onHostedLinkUrl(seen) });
      expect(r.code, r.stderr).toBe(0);
      expect(await seen.done).toBe(200);
      expect(JSON.parse(r.stdout).connection.account_label).toMatch(/First Platypus Bank/);
      expect((await h.cli(['sync'])).code).toBe(0);
      expect(JSON.parse((await h.cli(['--json', 'charges'])).stdout)).toHaveLength(120);
    } finally {
      h.cleanup();
    }
  });

  it('disconnect: /item/remove, the secret deleted, the old token proven rejected, audited', async () => {
    const before = JSON.parse((await p.h.cli(['--json', 'vault', 'status'])).stdout) as { secrets: number };
    const r = await p.h.cli(['--json', 'disconnect', 'plaid:default', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ revocation: 'done', old_token_check: 'rejected', secret_deleted: true });
    expect(replica.items().some((i) => i.itemId === p.itemId)).toBe(false);
    const after = JSON.parse((await p.h.cli(['--json', 'vault', 'status'])).stdout) as { secrets: number };
    expect(after.secrets).toBe(before.secrets - 1);
    // The replica refuses the old token as Plaid documents for a removed Item.
    const res = await fetch(`${replica.url}/transactions/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: replica.clientId, secret: replica.secret, access_token: p.accessToken }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'ITEM_NOT_FOUND' });
    const audit = JSON.parse((await p.h.cli(['--json', 'audit'])).stdout) as Array<{ action: string; detail: Record<string, unknown> }>;
    expect(audit.find((a) => a.action === 'disconnect')!.detail).toMatchObject({ revocation: 'done', old_token_check: 'rejected' });
    // Charges are kept unless --purge; a purge removes them.
    expect(JSON.parse((await p.h.cli(['--json', 'charges'])).stdout).length).toBeGreaterThan(0);
  });
});
