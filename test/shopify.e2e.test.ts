/**
 * `shopify` end to end against the replica of the Customer Account API (src/sandbox/replicas/
 * shopify.ts), through the real binary: the paste-the-URL link with an HTTP client playing the
 * browser (discovery from the storefront, PKCE S256, nonce in the ID token, an https redirect
 * URI), sync with nested line-item pages, incremental sync, a 401 that refreshes (rotation) and
 * retries with the bare token, a 429 THROTTLED with Retry-After, disconnect; the hostile pastes
 * (wrong state, missing iss where advertised, a replayed URL, an unregistered redirect URI); and
 * the secret canary: no token or code the replica issued appears in any output or file.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShopifyReplica, type ShopifyReplica } from '../src/sandbox/replicas/shopify.js';
import { BIN, type CliResult } from './helpers/cli.js';
import { e2eHome, readAllBytes, type E2EHome } from './helpers/e2e.js';

const CLIENT = 'shp_00000000-0000-4000-8000-000000000001';

/** The browser: GET the authorization URL, stop at the redirect to the (unreachable) https callback. */
async function approve(authUrl: string): Promise<string> {
  const res = await fetch(authUrl, { redirect: 'manual' });
  const to = res.headers.get('location');
  if (res.status !== 302 || !to) throw new Error(`authorization answered ${res.status}`);
  return to;
}

/**
 * Run `orderlink link …` in paste mode: when it prints the authorization URL, `paste(url)` decides
 * what the person pastes (normally the address the browser landed on).
 */
function linkWithPaste(h: E2EHome, args: string[], paste: (authUrl: string) => Promise<string>, transcript: string[]): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--home', h.home, ...args], { env: h.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pasted = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/authentication\/\S+)/.exec(stderr);
      if (m && !pasted) {
        pasted = true;
        paste(m[1]!).then((text) => child.stdin.end(`${text}\n`), (err: unknown) => { child.stdin.end('\n'); reject(err); });
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      transcript.push(stdout, stderr);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('shopify against the Customer Account API replica', () => {
  let shop: ShopifyReplica;
  let h: E2EHome;
  const transcript: string[] = [];
  const cli = async (args: string[]) => {
    const r = await h.cli(args);
    transcript.push(r.stdout, r.stderr);
    return r;
  };
  beforeAll(async () => {
    shop = await startShopifyReplica({ orders: 30, customers: 2 });
    h = e2eHome({ ORDERLINK_RETRY_BASE_MS: '20' });
  });
  afterAll(async () => {
    h.cleanup();
    await shop.close();
  });

  it('links in paste mode: storefront discovery, PKCE S256, nonce, an https redirect URI, the bare-token API', async () => {
    let landed = '';
    const r = await linkWithPaste(h, ['--json', '--verbose', 'link', 'shopify', '--shop', shop.url, '--client-id', CLIENT, '--login-hint', 'bob'], async (url) => {
      const u = new URL(url);
      expect(u.origin + u.pathname).toBe(`${shop.issuer}/oauth/authorize`);
      expect(u.searchParams.get('code_challenge_method')).toBe('S256');
      expect(u.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(u.searchParams.get('redirect_uri')).toBe('https://orderlink.invalid/callback/shopify');
      expect(u.searchParams.get('scope')).toBe('openid email customer-account-api:full');
      landed = await approve(url);
      return landed;
    }, transcript);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/does not allow redirects to this computer/);
    const out = JSON.parse(r.stdout) as { connection: { id: number; account_label: string; connector: string } };
    expect(out.connection).toMatchObject({ connector: 'shopify', account_label: 'Bob' });
    expect(landed).toMatch(/^https:\/\/orderlink\.invalid\/callback\/shopify\?code=/);
    const [conn] = h.query<{ config: string }>('SELECT config FROM connections');
    expect(JSON.parse(conn!.config)).toMatchObject({ apiBase: shop.graphqlUrl, clientId: CLIENT, shop: shop.url });
    expect(shop.stats.bearerRefused).toBe(0);
  });

  it('says what is missing before anything else: the shop, then the client id', async () => {
    const noShop = await cli(['link', 'shopify', '--client-id', CLIENT, '--alias', 'x']);
    expect(noShop.code).toBe(2);
    expect(noShop.stderr).toMatch(/--shop DOMAIN/);
    const noClient = await cli(['link', 'shopify', '--shop', shop.url, '--alias', 'x']);
    expect(noClient.code).toBe(2);
    expect(noClient.stderr).toMatch(/--client-id ID/);
    const badShop = await cli(['link', 'shopify', '--shop', 'http://shop.example.com', '--client-id', CLIENT, '--alias', 'x']);
    expect(badShop.code).toBe(2);
    expect(badShop.stderr).toMatch(/only https/);
  });

  it('syncs every order with nested line-item pages, exact money, and no payment or personal field', async () => {
    const r = await cli(['--json', 'sync']);
    expect(r.code, r.stderr).toBe(0);
    const orders = h.query<{ order_id: string; retailer: string; currency: string; total: number; item_count: number; status: string }>('SELECT order_id, retailer, currency, total, item_count, status FROM orders ORDER BY order_id');
    expect(orders).toHaveLength(30);
    expect(orders.every((o) => o.retailer === 'Replica Coffee Co.' && o.order_id.startsWith('gid://shopify/Order/'))).toBe(true);
    expect(h.query<{ n: number }>("SELECT count(*) AS n FROM order_items i JOIN orders o ON o.id = i.order_ref WHERE o.order_id = 'gid://shopify/Order/11003'")[0]!.n).toBe(60); // 50 in the first page, 10 through order(id:)
    expect(new Set(orders.map((o) => o.currency))).toEqual(new Set(['USD', 'JPY']));
    expect(orders.map((o) => o.status)).toEqual(expect.arrayContaining(['refunded', 'partially_refunded', 'cancelled', 'shipped', 'placed']));
    const stored = readAllBytes([h.db, `${h.db}-wal`]);
    for (const leak of ['4242', '6789', 'Private Lane', 'customers.example', '+1555010', 'private-status-key', 'Replica Bank']) expect(stored).not.toContain(leak);
  });

  it('syncs incrementally (updated_at filter), refreshes once on a 401 and retries with the bare token', async () => {
    shop.advance(1);
    shop.expireAccessTokens();
    const before = { refreshes: shop.stats.refreshes, unauthorized: shop.stats.unauthorized };
    const r = await cli(['--json', 'sync']);
    expect(r.code, r.stderr).toBe(0);
    const c = (JSON.parse(r.stdout) as { connections: Array<{ mode: string; fetched: number; added: number; updated: number }> }).connections[0]!;
    expect(c.mode).toBe('incremental');
    expect(c.fetched).toBeLessThanOrEqual(4); // the refunded one, the new one, and the boundary (>=)
    expect(c.added).toBe(1);
    expect(c.updated).toBe(1);
    expect(shop.stats.unauthorized).toBe(before.unauthorized + 1);
    expect(shop.stats.refreshes).toBe(before.refreshes + 1);
    expect(shop.stats.bearerRefused).toBe(0);
    // The rotated refresh token was stored before use: the next refresh works, no reuse detected.
    shop.expireAccessTokens();
    expect((await cli(['sync'])).code).toBe(0);
    expect(shop.stats.reuseDetected).toBe(0);
  });

  it('waits out a 429 THROTTLED with Retry-After and finishes', async () => {
    shop.throttleNext(1, 1);
    const r = await cli(['--json', '--verbose', 'sync', '--full']);
    expect(r.code, r.stderr).toBe(0);
    expect(shop.stats.throttled).toBe(1);
    expect(r.stderr).toMatch(/rate limited; waiting 1000 ms \(Retry-After\)/);
  });

  it('disconnects: no revocation at Shopify (said so), the secret deleted, orders kept', async () => {
    const r = await cli(['--json', 'disconnect', 'shopify', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ revocation: 'unsupported', secret_deleted: true, purged_orders: 0 });
  });

  it('the secret canary: no code or token the replica issued is in any output, the database or the audit log', async () => {
    transcript.push((await cli(['--json', 'audit'])).stdout, (await cli(['--json', 'connections', '--all'])).stdout);
    const everything = transcript.join('\n') + readAllBytes([h.db, `${h.db}-wal`]);
    const issued = shop.issued();
    expect(issued.length).toBeGreaterThan(5);
    for (const secret of issued) expect(everything).not.toContain(secret);
  });
});

describe('hostile pastes and refused redirects (every check kept in paste mode)', () => {
  let shop: ShopifyReplica;
  let h: E2EHome;
  const t: string[] = [];
  beforeAll(async () => {
    shop = await startShopifyReplica({ orders: 3, customers: 1, issParameter: true });
    h = e2eHome();
  });
  afterAll(async () => {
    h.cleanup();
    await shop.close();
  });
  const link = (paste: (u: string) => Promise<string>, extra: string[] = []) => linkWithPaste(h, ['--json', 'link', 'shopify', '--shop', shop.url, '--client-id', CLIENT, ...extra], paste, t);
  const error = (r: CliResult) => (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
  const connections = () => h.query<{ n: number }>('SELECT count(*) AS n FROM connections')[0]!.n;

  it('refuses a pasted address with the wrong state, and never exchanges its code', async () => {
    const tokens = shop.stats.tokens;
    const r = await link(async (url) => {
      const to = new URL(await approve(url));
      to.searchParams.set('state', 'forged-state-value');
      return to.href;
    });
    expect(r.code).toBe(1);
    expect(error(r).code).toBe('OAUTH_STATE_MISMATCH');
    expect(shop.stats.tokens).toBe(tokens);
    expect(connections()).toBe(0);
  });

  it('refuses a response without iss where the shop advertises it (RFC 9207), before any exchange', async () => {
    const tokens = shop.stats.tokens;
    const r = await link(async (url) => {
      const to = new URL(await approve(url));
      expect(to.searchParams.get('iss')).toBe(shop.issuer);
      to.searchParams.delete('iss');
      return to.href;
    });
    expect(error(r).code).toBe('OAUTH_ISSUER_MISMATCH');
    expect(shop.stats.tokens).toBe(tokens);
  });

  it('refuses a replayed address (a finished sign-in pasted again)', async () => {
    let first = '';
    const ok = await link(async (url) => (first = await approve(url)));
    expect(ok.code, ok.stderr).toBe(0);
    const tokens = shop.stats.tokens;
    const again = await link(async () => first, ['--alias', 'second']);
    expect(error(again).code).toBe('OAUTH_STATE_MISMATCH');
    expect(shop.stats.tokens).toBe(tokens);
    expect(connections()).toBe(1);
  });

  it('says at once when the shop refuses the redirect URI, instead of waiting for a paste', async () => {
    const r = await link(async () => new Promise<string>(() => {}), ['--redirect-uri', 'https://not-registered.example/callback', '--alias', 'third', '--timeout', '3600']);
    expect(r.code).toBe(1);
    const e = error(r);
    expect(e.code).toBe('OAUTH_REDIRECT_URI_REFUSED');
    expect(e.message).toContain('https://not-registered.example/callback');
    expect(e.hint).toMatch(/Register exactly|register/i);
  });

  it('refuses an ID token without our nonce (a replayed or injected token), storing nothing', async () => {
    for (const mode of ['wrong', 'missing'] as const) {
      const other = await startShopifyReplica({ orders: 1, customers: 1, idTokenNonce: mode });
      try {
        const r = await linkWithPaste(h, ['--json', 'link', 'shopify', '--shop', other.url, '--client-id', CLIENT, '--alias', `nonce-${mode}`], approve, t);
        expect(r.code).toBe(1);
        expect(error(r).code).toBe('OAUTH_ID_TOKEN_REJECTED');
        expect(connections()).toBe(1); // only the earlier good one
        for (const secret of other.issued()) expect(r.stdout + r.stderr).not.toContain(secret);
      } finally {
        await other.close();
      }
    }
  });

  it('leaks nothing it was handed', () => {
    const all = t.join('\n') + readAllBytes([h.db, `${h.db}-wal`]);
    for (const s of shop.issued()) expect(all).not.toContain(s);
  });
});
