/**
 * Knot linking failures through the real binary: every one says what happened and what to do,
 * saves nothing, and never shows the secret. Plus the connector's unlink (auth.revoke) against
 * the replica, which `disconnect` does not call yet for aggregators.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knot } from '../src/connectors/knot/index.js';
import type { HostedLinkStrategy, HttpFunction } from '../src/connectors/types.js';
import type { KnotReplicaHandle } from '../src/sandbox/replicas/knot.js';
import { e2eHome, type E2EHome } from './helpers/e2e.js';
import { KNOT_CLIENT_ID, KNOT_SECRET_CANARY, knotReplica, onPageUrl, setupKnot } from './helpers/knot.js';

const FAST = { ORDERLINK_RETRY_BASE_MS: '20' };
const conns = async (h: E2EHome) => JSON.parse((await h.cli(['--json', 'connections', '--all'])).stdout) as unknown[];

/** Post a result to the served page the way its script would, without the SDK having logged in. */
async function answer(pageUrl: string, result: Record<string, string>): Promise<number> {
  const page = await fetch(pageUrl);
  expect(page.status).toBe(200);
  const res = await fetch(`${pageUrl}/result`, { method: 'POST', headers: { 'content-type': 'application/json', origin: new URL(pageUrl).origin }, body: JSON.stringify(result) });
  return res.status;
}

describe('knot linking failures', () => {
  let replica: KnotReplicaHandle;
  beforeAll(async () => {
    replica = await knotReplica({ transactions: 10 });
  });
  afterAll(async () => {
    await replica.close();
  });

  it('not set up: says which command sets it up', async () => {
    const h = e2eHome(FAST);
    try {
      const r = await h.cli(['link', 'knot', '--merchant', 'walmart', '--sandbox']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not set up[\s\S]*orderlink connector setup knot/);
    } finally {
      h.cleanup();
    }
  });

  it('an unknown merchant (exit 2, with Knot’s suggestions), a missing --merchant, and --sandbox outside development', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      const unknown = await h.cli(['link', 'knot', '--merchant', 'uber', '--sandbox']);
      expect(unknown.code).toBe(0); // "uber" matches Uber exactly, not Uber Eats
      const bad = await h.cli(['link', 'knot', '--merchant', 'nosuchshop', '--sandbox', '--alias', 'n']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/no TransactionLink merchant called "nosuchshop"/);
      const none = await h.cli(['link', 'knot', '--sandbox', '--alias', 'x']);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/--merchant/);
      const prod = await h.cli(['connector', 'setup', 'knot', '--env', 'production', '--base-url', replica.url, '--credentials-stdin'], { stdin: `${KNOT_CLIENT_ID}\n${KNOT_SECRET_CANARY}\n` });
      expect(prod.code).toBe(0);
      const sb = await h.cli(['link', 'knot', '--env', 'production', '--merchant', 'target', '--sandbox', '--alias', 'p']);
      expect(sb.code).toBe(2);
      expect(sb.stderr).toMatch(/development/);
      for (const r of [unknown, bad, none, prod, sb]) expect(r.stdout + r.stderr).not.toContain(KNOT_SECRET_CANARY);
    } finally {
      h.cleanup();
    }
  });

  it('wrong keys: Knot’s INVALID_API_KEYS and the setup command, without the secret', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica, 'WRONG-secret-123');
      const r = await h.cli(['--verbose', 'link', 'knot', '--merchant', 'walmart', '--sandbox']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/INVALID_API_KEYS[\s\S]*connector setup knot/);
      expect(r.stderr).not.toContain('WRONG-secret-123');
    } finally {
      h.cleanup();
    }
  });

  it('the Knot window closed, an SDK error, or a forged success: nothing is linked', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      for (const [result, code, text] of [
        [{ event: 'exit' }, 'LINK_CANCELLED', /closed before Target was linked/],
        [{ event: 'error', error_code: 'CREDENTIALS_FAILED' }, 'LINK_FAILED', /could not link Target \(CREDENTIALS_FAILED\)/],
        // The page says success, but nobody logged in at Knot: the check with /transactions/sync refuses it.
        [{ event: 'success', merchant: 'Target' }, 'LINK_FAILED', /MERCHANT_ACCOUNT_NOT_FOUND/],
      ] as const) {
        let answered: Promise<number> | undefined;
        const r = await h.cli(['--json', 'link', 'knot', '--merchant', 'target', '--no-browser', '--timeout', '30'], { onSpawn: (c) => onPageUrl(c, (u) => (answered = answer(u, result))) });
        expect(await answered!).toBe(200);
        expect(r.code).toBe(1);
        const err = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
        expect(err.error.code).toBe(code);
        expect(err.error.message).toMatch(text);
        expect(err.error.hint.length).toBeGreaterThan(10);
        expect(await conns(h)).toEqual([]);
      }
    } finally {
      h.cleanup();
    }
  });

  it('no answer before --timeout: a clear error, the port closed, nothing saved', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      let url = '';
      const r = await h.cli(['link', 'knot', '--merchant', 'target', '--no-browser', '--timeout', '1'], { onSpawn: (c) => onPageUrl(c, (u) => (url = u)) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no answer from the login page within 1 s[\s\S]*--timeout/);
      await expect(fetch(url)).rejects.toThrow();
      expect(await conns(h)).toEqual([]);
    } finally {
      h.cleanup();
    }
  });

  it('auth.revoke unlinks the account at Knot; its syncs are refused afterwards', async () => {
    const h = e2eHome(FAST);
    try {
      await setupKnot(h, replica);
      expect((await h.cli(['link', 'knot', '--merchant', 'gopuff', '--sandbox'])).code).toBe(0);
      const acct = replica.accounts().find((a) => a.merchant.name === 'Gopuff')!;
      const http: HttpFunction = async (url, init) => fetch(url, init);
      const app = { clientId: KNOT_CLIENT_ID, secret: KNOT_SECRET_CANARY };
      const credential = { external_user_id: acct.external_user_id, merchant_id: acct.merchant.id, merchant_name: 'Gopuff' };
      await (knot.auth as HostedLinkStrategy<typeof credential>).revoke!({ credential, app, config: { apiBase: replica.url }, http, signal: new AbortController().signal });
      expect(replica.accounts().some((a) => a.external_user_id === acct.external_user_id)).toBe(false);
      const s = await h.cli(['sync']);
      expect(s.code).toBe(4); // the grant is gone: reauth required
      expect(s.stderr).toMatch(/MERCHANT_ACCOUNT_NOT_FOUND[\s\S]*link --reconnect/);
    } finally {
      h.cleanup();
    }
  });
});
