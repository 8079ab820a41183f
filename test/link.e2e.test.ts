/**
 * Linking and the token lifecycle through the real binary: a browser link through the real
 * loopback listener, CI linking, refresh rotation (H8), concurrent refresh (H9), a crash right
 * after a rotation (H10), invalid_grant (H11), reconnect, disconnect (H19), and the rule that no
 * token ever shows up in output, the database, the audit log or a --verbose trace (rule 15).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitWithRedirects } from '../src/demo/browser.js';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { runCli } from './helpers/cli.js';
import { e2eHome, linkSandbox, readAllBytes, sandbox, type E2EHome } from './helpers/e2e.js';

const DIST = (p: string) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url));
const FAST = { ORDERLINK_RETRY_BASE_MS: '20' };
type Conn = { id: number; status: string; account_label: string | null; connector: string; alias: string };
const connections = async (h: E2EHome): Promise<Conn[]> => JSON.parse((await h.cli(['--json', 'connections', '--all'])).stdout) as Conn[];

describe('linking', () => {
  let sb: SandboxHandle;
  beforeAll(async () => {
    sb = await sandbox({ autoConsent: true, orders: 60, accounts: 3 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('through the loopback listener, with an HTTP client playing the browser', async () => {
    const h = e2eHome();
    try {
      let visited: Promise<unknown> | undefined;
      const r = await h.cli(['link', 'sandbox', '--no-browser', '--base-url', sb.issuer, '--login-hint', 'bob', '--timeout', '30'], {
        onSpawn: (child) => {
          let err = '';
          child.stderr!.on('data', (d: Buffer) => {
            err += d.toString();
            const m = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(err);
            if (m && !visited) visited = visitWithRedirects(m[1]!);
          });
        },
      });
      expect(r.code, r.stderr).toBe(0);
      const v = (await visited) as { finalStatus: number; visited: string[] };
      expect(v.finalStatus).toBe(200);
      // The redirect went to the IP literal, an OS-assigned port, a path naming the provider (rule 1).
      expect(v.visited.at(-1)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\/sandbox\?/);
      const [c] = await connections(h);
      expect(c).toMatchObject({ connector: 'sandbox', status: 'active' });
      expect(c!.account_label).toMatch(/bob/i);
      const audit = JSON.parse((await h.cli(['--json', 'audit'])).stdout) as Array<{ action: string }>;
      expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['link.start', 'link.success']));
      // The printed URL carries state and the PKCE challenge (it must be printed, rule 7's
      // fallback), but the authorization code is nowhere, and nothing of the flow is stored.
      const shown = r.stdout + r.stderr;
      const stored = readAllBytes([h.db, `${h.db}-wal`]);
      const code = new URL(v.visited.at(-1)!).searchParams.get('code')!;
      expect(code.length).toBeGreaterThan(10);
      expect(shown + stored).not.toContain(code);
      const auth = new URL(v.visited.find((u) => u.includes('code_challenge='))!).searchParams;
      for (const k of ['code_challenge', 'state']) expect(stored).not.toContain(auth.get(k)!);
    } finally {
      h.cleanup();
    }
  });

  it('refuses a refresh token in argv, without echoing it', async () => {
    const h = e2eHome();
    try {
      const r = await h.cli(['link', 'sandbox', '--base-url', sb.issuer, '--refresh-token', 'SECRET-IN-ARGV']);
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).not.toContain('SECRET-IN-ARGV');
      const eq = await h.cli(['link', 'sandbox', '--base-url', sb.issuer, '--refresh-token=SECRET-IN-ARGV']);
      expect(eq.code).toBe(2);
      expect(eq.stdout + eq.stderr).not.toContain('SECRET-IN-ARGV');
    } finally {
      h.cleanup();
    }
  });

  it('CI: from stdin, validated by one refresh before anything is saved; a bad token saves nothing', async () => {
    const h = e2eHome();
    try {
      const bad = await h.cli(['link', 'sandbox', '--base-url', sb.issuer, '--refresh-token-stdin'], { stdin: 'not-a-real-token' });
      expect(bad.code).toBe(2); // a bad input, not "reauth required" for a connection that does not exist
      expect(bad.stderr).toMatch(/refused this refresh token/);
      expect(bad.stderr).not.toMatch(/--reconnect/);
      expect(await connections(h)).toEqual([]);
      const rt = await sb.mintRefreshToken('carol');
      const ok = await h.cli(['link', 'sandbox', '--base-url', sb.issuer, '--refresh-token-stdin'], { stdin: rt });
      expect(ok.code, ok.stderr).toBe(0);
      expect((await connections(h))[0]!.account_label).toMatch(/carol/i);
      expect(ok.stdout + ok.stderr + readAllBytes([h.db, `${h.db}-wal`, h.vault])).not.toContain(rt);
    } finally {
      h.cleanup();
    }
  });
});

describe('the token lifecycle', () => {
  let sb: SandboxHandle;
  let h: E2EHome;
  let conn: number;
  let minted: string;
  beforeAll(async () => {
    sb = await sandbox({ orders: 80, accounts: 2 });
    h = e2eHome(FAST);
    minted = await sb.mintRefreshToken('alice');
    const r = await h.cli(['--json', 'link', 'sandbox', '--base-url', sb.issuer, '--refresh-token-env', 'RT'], { env: { RT: minted } });
    expect(r.code, r.stderr).toBe(0);
    conn = JSON.parse(r.stdout).connection.id as number;
  });
  afterAll(async () => {
    await sb.close();
    h.cleanup();
  });

  /**
   * Leave the connection holding an access token that is as good as expired: it lives 3 s, far
   * inside the 60 s refresh-before-expiry margin, so the next use must refresh (a fresh grant).
   */
  async function expiredAccessToken(): Promise<void> {
    sb.setFaults('access-ttl=3s');
    const r = await h.cli(['link', '--reconnect', String(conn), '--refresh-token-env', 'RT'], { env: { RT: await sb.mintRefreshToken('alice') } });
    expect(r.code, r.stderr).toBe(0);
  }

  it('H8: five syncs with short-lived access tokens always use the latest refresh token', async () => {
    await expiredAccessToken(); // the fault stays on: every token issued below lives 3 s
    const before = sb.stats();
    for (let i = 0; i < 5; i++) {
      const r = await h.cli(['sync', '--full']);
      expect(r.code, r.stderr).toBe(0);
    }
    sb.setFaults('none');
    const after = sb.stats();
    expect(after.grants.refresh_token - before.grants.refresh_token).toBeGreaterThanOrEqual(5);
    // Reuse detection would have answered invalid_grant and revoked the grant.
    expect(after.grantErrors.invalid_grant ?? 0).toBe(before.grantErrors.invalid_grant ?? 0);
    const audit = JSON.parse((await h.cli(['--json', 'audit', '--action', 'token'])).stdout) as Array<{ action: string; detail: Record<string, unknown> }>;
    expect(audit.length).toBeGreaterThan(0);
    for (const a of audit) expect(JSON.stringify(a.detail)).not.toMatch(/token":"[A-Za-z0-9_-]{20,}/);
  }, 60_000);

  it('H9: two processes refreshing the same connection at once send exactly one refresh request', async () => {
    await expiredAccessToken();
    sb.setFaults('none');
    // Two processes that need the token at the same moment (not `sync`: its own lock would
    // serialise them before they ever reach the token). Each asks the TokenManager from dist/.
    const script = join(h.home, 'need-token.mjs');
    writeFileSync(
      script,
      `import { createContext } from ${JSON.stringify(DIST('context.js'))};
       import { captureIO } from ${JSON.stringify(DIST('ui/io.js'))};
       import { createTokenManager } from ${JSON.stringify(DIST('tokens/oauth.js'))};
       const ctx = createContext(captureIO(), { home: process.argv[2], profile: 'default', json: false, verbose: false });
       const conn = ctx.store().connections.get(Number(process.argv[3]));
       await new Promise((r) => setTimeout(r, Number(process.argv[4]) - Date.now()));
       const t = await createTokenManager(ctx).accessToken(conn, 'h9 test');
       ctx.close();
       process.stdout.write(t.token ? 'ok' : 'none');`,
    );
    const before = sb.stats().grants.refresh_token;
    const at = String(Date.now() + 800);
    const [a, b] = await Promise.all([0, 1].map(() => runCli([script, h.home, String(conn), at], { env: h.env, node: true })));
    expect(a!.stdout, a!.stderr).toBe('ok');
    expect(b!.stdout, b!.stderr).toBe('ok');
    expect(sb.stats().grants.refresh_token - before).toBe(1);
  }, 60_000);

  it('H10: a crash right after a rotated refresh token arrives: the next sync still works', async () => {
    await expiredAccessToken();
    // Kill the process as soon as the sandbox has answered a refresh (before it can finish).
    const grants = sb.stats().grants.refresh_token;
    await h.cli(['sync', '--full'], {
      onSpawn: (child) => {
        const t = setInterval(() => {
          if (sb.stats().grants.refresh_token > grants) {
            child.kill('SIGKILL');
            clearInterval(t);
          }
        }, 1);
        child.on('exit', () => clearInterval(t));
      },
    });
    sb.setFaults('none');
    await new Promise((r) => setTimeout(r, 1100));
    const next = await h.cli(['--json', 'sync']);
    // Write-ahead rotation (rule 16): either the new refresh token was sealed before use, or the
    // connection is cleanly reauth_required — never a silent failure.
    if (next.code === 0) expect(JSON.parse(next.stdout).connections[0].status).toBe('success');
    else {
      expect(next.code).toBe(4);
      expect((await connections(h)).find((c) => c.id === conn)!.status).toBe('reauth_required');
    }
    expect((await connections(h)).find((c) => c.id === conn)!.status).toMatch(/active|reauth_required/);
  }, 60_000);

  it('H11: invalid_grant on refresh — one attempt, reauth_required, exit 4, an audit entry; reconnect repairs it in place', async () => {
    const ordersBefore = h.query<{ n: number }>('SELECT count(*) AS n FROM orders')[0]!.n;
    await expiredAccessToken();
    sb.setFaults('revoke-refresh');
    const before = sb.stats().grantErrors.invalid_grant ?? 0;
    const r = await h.cli(['sync']);
    sb.setFaults('none');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/link --reconnect/);
    expect((sb.stats().grantErrors.invalid_grant ?? 0) - before).toBe(1);
    expect((await connections(h)).find((c) => c.id === conn)!.status).toBe('reauth_required');
    const audit = JSON.parse((await h.cli(['--json', 'audit', '--connection', String(conn)])).stdout) as Array<{ action: string }>;
    expect(audit.some((a) => /reauth/.test(a.action))).toBe(true);

    const rt = await sb.mintRefreshToken('alice');
    const fix = await h.cli(['--json', 'link', '--reconnect', String(conn), '--refresh-token-env', 'RT'], { env: { RT: rt } });
    expect(fix.code, fix.stderr).toBe(0);
    const c = (await connections(h)).find((x) => x.id === conn)!;
    expect(c.status).toBe('active');
    expect(h.query<{ n: number }>('SELECT count(*) AS n FROM orders')[0]!.n).toBe(ordersBefore);
    expect((await h.cli(['sync'])).code).toBe(0);
  }, 60_000);

  it('H19: disconnect revokes at the provider, deletes the secret, proves the old token dead, audits it', async () => {
    const other = await linkSandbox(h, sb, 'bob', 'second');
    await h.cli(['sync', 'second']);
    const revBefore = sb.stats().revocations;
    const r = await h.cli(['--json', 'disconnect', String(other), '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'revoked', revocation: 'done', old_token_check: 'rejected', secret_deleted: true });
    expect(sb.stats().revocations).toBeGreaterThan(revBefore);
    expect((await connections(h)).find((c) => c.id === other)!.status).toBe('revoked');
    expect(h.query<{ n: number }>('SELECT count(*) AS n FROM orders WHERE connection_id = ?', other)[0]!.n).toBeGreaterThan(0);
    const vs = JSON.parse((await h.cli(['--json', 'vault', 'status'])).stdout) as { secrets: number };
    expect(vs.secrets).toBe(1);
    const audit = JSON.parse((await h.cli(['--json', 'audit', '--action', 'disconnect'])).stdout) as Array<{ detail: Record<string, unknown> }>;
    expect(audit[0]!.detail).toMatchObject({ revocation: 'done', old_token_check: 'rejected', secret_deleted: true });
    const purge = await h.cli(['--json', 'disconnect', String(conn), '--yes', '--purge']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(h.query<{ n: number }>('SELECT count(*) AS n FROM orders WHERE connection_id = ?', conn)[0]!.n).toBe(0);
    expect((await h.cli(['audit', '--verify'])).code).toBe(0);
  }, 60_000);

  it('rule 15: no refresh token in the database, the audit log, the vault file in the clear, or a --verbose trace', async () => {
    const v = await h.cli(['--verbose', 'connections']);
    const everything = v.stdout + v.stderr + readAllBytes([h.db, `${h.db}-wal`, h.vault]);
    expect(everything).not.toContain(minted);
  });
});
