/**
 * Interoperability with authorization servers as they are (issue 11): a real oidc-provider
 * configured strictly (test/helpers/strict-oidc.ts) — a path issuer, RFC 8414's location missing
 * or answered by a website, redirect URIs matched exactly, a nonce required, `iss` sent without
 * being advertised — and small hostile servers whose error bodies are not JSON: a refresh refused
 * with an empty 400 (a dead grant: reauth_required, exit 4) and a revocation refused for a public
 * client ("not supported"; the local secret is removed all the same).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitWithRedirects } from '../src/demo/browser.js';
import { OrderlinkError } from '../src/errors.js';
import { authorizeWithLoopback, discover, refreshTokens, revokeToken, type AuthServer } from '../src/oauth/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStrictOidc, type StrictOidc } from './helpers/strict-oidc.js';
import { e2eHome, readAllBytes } from './helpers/e2e.js';

const ufetch = undiciFetch as unknown as typeof fetch;
const CONF_SECRET = 'canary-client-secret-7f3e9a1c';
/** RFC 6749 §2.3.1: client id and secret are form-urlencoded inside HTTP Basic (Appendix B). */
const basicPair = (h: string | undefined): string | null => {
  const m = /^Basic (.+)$/.exec(h ?? '');
  if (!m) return null;
  const [id = '', secret = ''] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
  const dec = (x: string) => decodeURIComponent(x.replace(/\+/g, ' '));
  return `${dec(id)}:${dec(secret)}`;
};
const SCOPES = ['openid', 'offline_access', 'orders:read'];
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as OrderlinkError);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A browser that keeps cookies and stops at (without requesting) the first URL under `stop`. */
async function landOn(start: string, stop: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {} });
    for (const sc of res.headers.getSetCookie()) {
      const [pair = ''] = sc.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const loc = res.headers.get('location');
    if (!loc) throw new Error(`stopped at ${res.status}`);
    url = new URL(loc, url).href;
    if (url.startsWith(stop)) return url;
  }
  throw new Error('too many redirects');
}

describe('a strict OpenID Provider (path issuer, exact redirect URIs, nonce required)', () => {
  let port: number;
  let op: StrictOidc;
  let as: AuthServer;
  const traces: string[] = [];
  beforeAll(async () => {
    port = await freePort();
    op = await startStrictOidc({ redirectUris: [`http://127.0.0.1:${port}/callback/strict`], website: true, hideIss: true });
    as = await discover(op.issuer, { allowLoopbackHttp: true, fetch: ufetch, trace: (l) => traces.push(l) });
  });
  afterAll(() => op.close());

  it('discovers an issuer with a path, past a website answering RFC 8414\'s location with HTML', () => {
    expect(as.metadata.issuer).toBe(op.issuer);
    expect(as.metadata.token_endpoint).toBe(`${op.issuer}/token`);
    expect(traces.join('\n')).toMatch(/RFC 8414 location did not give usable metadata; trying OpenID discovery/);
    expect(as.metadata.authorization_response_iss_parameter_supported).toBeUndefined(); // hidden, but sent
  });

  it('links on the registered fixed port, with a nonce checked in the ID token', async () => {
    const r = await authorizeWithLoopback({
      as, client: { clientId: op.clientId }, scopes: SCOPES, redirectPath: '/callback/strict', timeoutMs: 20_000, redirectPort: port, probeRedirect: true,
      printUrl: () => undefined,
      openBrowser: async (url) => {
        expect(new URL(url).searchParams.get('nonce')).toMatch(/^[\w-]{43}$/);
        await visitWithRedirects(url);
      },
    });
    expect(r.tokens.accessToken.length).toBeGreaterThan(10);
    expect(r.tokens.refreshToken).toBeTruthy();
    expect(op.refusedWithoutNonce()).toBe(0);
  });

  it('this server does refuse an OIDC request without a nonce (why orderlink always sends one)', async () => {
    const url = new URL(as.metadata.authorization_endpoint!);
    for (const [k, v] of Object.entries({ client_id: op.clientId, response_type: 'code', scope: 'openid', redirect_uri: `http://127.0.0.1:${port}/callback/strict`, state: 'x'.repeat(43), code_challenge: 'y'.repeat(43), code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(400);
    expect(op.refusedWithoutNonce()).toBe(1);
  });

  it('says at once that the redirect URI was refused (an OS-assigned port), instead of waiting for the timeout', async () => {
    // An hour's timeout: the refusal can only come from the redirect check, never from waiting.
    const err = await failure(authorizeWithLoopback({ as, client: { clientId: op.clientId }, scopes: SCOPES, redirectPath: '/callback/strict', timeoutMs: 3_600_000, probeRedirect: true, printUrl: () => undefined }));
    expect(err.code).toBe('OAUTH_REDIRECT_URI_REFUSED');
    expect(err.hint).toMatch(/--redirect-port PORT/);
  });

  it('a timeout still says what to do about a refused redirect URI', async () => {
    const err = await failure(authorizeWithLoopback({ as, client: { clientId: op.clientId }, scopes: SCOPES, redirectPath: '/callback/strict', timeoutMs: 300, printUrl: () => undefined }));
    expect(err.code).toBe('OAUTH_TIMEOUT');
    expect(err.hint).toMatch(/register http:\/\/127\.0\.0\.1:PORT\/callback\/strict/i);
  });

  it('through the binary: a descriptor with the path issuer and redirectPort links where the old client could not', async () => {
    const h = e2eHome();
    try {
      const d = JSON.parse(readFileSync(new URL('../examples/connectors/sandbox.json', import.meta.url), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      d.auth = { issuer: op.issuer, clientId: op.clientId, scopes: SCOPES, redirectPort: port };
      delete d.api.profile;
      const file = join(h.home, 'strict.json');
      writeFileSync(file, JSON.stringify(d));
      expect((await h.cli(['connector', 'add', 'strict', '--from', file])).code).toBe(0);
      let visit: Promise<unknown> | undefined;
      const r = await h.cli(['link', 'strict', '--no-browser', '--timeout', '30'], {
        onSpawn: (child) => {
          let err = '';
          child.stderr!.on('data', (b: Buffer) => {
            err += b.toString();
            const m = /(http:\/\/127\.0\.0\.1:\d+\/api\/oidc\/auth\?\S+)/.exec(err);
            if (m && !visit) visit = visitWithRedirects(m[1]!);
          });
        },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`redirect_uri=http%3A%2F%2F127.0.0.1%3A${port}%2Fcallback%2Fstrict`);
      await visit;
    } finally {
      h.cleanup();
    }
  });

  it('checks iss when it is sent without being advertised: a wrong one is a mix-up, the right one links', async () => {
    const stop = `http://127.0.0.1:${port}/callback/strict`;
    const run = (tamper: (u: URL) => void) => {
      let auth = '';
      return authorizeWithLoopback({
        as, client: { clientId: op.clientId }, scopes: SCOPES, redirectPath: '/callback/strict', timeoutMs: 20_000, redirectPort: port,
        printUrl: (u) => (auth = u),
        manual: {
          readRedirectUrl: async () => {
            const landed = new URL(await landOn(auth, stop));
            expect(landed.searchParams.get('iss')).toBe(op.issuer);
            tamper(landed);
            return landed.href;
          },
        },
      });
    };
    expect((await failure(run((u) => u.searchParams.set('iss', 'http://127.0.0.1:1/evil')))).code).toBe('OAUTH_ISSUER_MISMATCH');
    expect((await run(() => undefined)).tokens.accessToken).toBeTruthy();
  });
});

/** An authorization server whose refusals are not JSON: an empty 400 to refreshes, text/plain 401 to revocations. */
async function hostileAs() {
  let refresh: 'ok' | 'empty400' = 'ok';
  const seen: Array<{ path: string; authorization: string | undefined; body: string }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      seen.push({ path, authorization: req.headers.authorization, body });
      const json = (status: number, v: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      if (path === '/.well-known/openid-configuration') {
        return json(200, { issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token`, revocation_endpoint: `${origin}/revoke`, code_challenge_methods_supported: ['S256'], response_types_supported: ['code'] });
      }
      // The provider's own error redirect about the redirect URI (its description is looked at, not shown).
      if (path === '/authorize') {
        const q = new URL(req.url ?? '/', origin).searchParams;
        const to = new URL(q.get('redirect_uri')!);
        to.searchParams.set('error', 'invalid_request');
        to.searchParams.set('error_description', 'The redirect_uri does not match the registered one <script>');
        to.searchParams.set('state', q.get('state')!);
        return res.writeHead(302, { location: to.href }).end();
      }
      if (path === '/token') {
        if (refresh === 'empty400') return res.writeHead(400, { 'content-length': '0' }).end();
        return json(200, { access_token: `at-${Math.random().toString(36).slice(2)}-xxxxxxxxxxxx`, token_type: 'Bearer', expires_in: 30, refresh_token: `rt-${Math.random().toString(36).slice(2)}-xxxxxxxx` });
      }
      // Only authenticated (confidential) clients may revoke here, as RFC 7009 §2.1 allows.
      if (path === '/revoke') return basicPair(req.headers.authorization) === `conf-client:${CONF_SECRET}` ? res.writeHead(200).end() : res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
      if (path === '/api/v1/me') return json(200, { account_id: 'acct_1', label: 'one@example' });
      if (path === '/api/v1/orders') return json(200, { orders: [], next_cursor: null, has_more: false });
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, seen, setRefresh: (m: typeof refresh) => (refresh = m), close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('error bodies that are not JSON', () => {
  let hs: Awaited<ReturnType<typeof hostileAs>>;
  beforeAll(async () => {
    hs = await hostileAs();
  });
  afterAll(() => hs.close());

  it('a refresh refused with an empty 400 is a dead grant (reauth), not a "not JSON" error', async () => {
    const as = await discover(hs.origin, { allowLoopbackHttp: true, fetch: ufetch });
    hs.setRefresh('empty400');
    const err = await failure(refreshTokens(as, { clientId: 'c' }, 'rt-anything'));
    expect(err.code).toBe('OAUTH_INVALID_GRANT');
    expect(err.kind).toBe('reauth');
    hs.setRefresh('ok');
  });

  it('the provider\'s error redirect about the redirect URI is said as such (its text is never shown)', async () => {
    const as = await discover(hs.origin, { allowLoopbackHttp: true, fetch: ufetch });
    const err = await failure(authorizeWithLoopback({ as, client: { clientId: 'c' }, scopes: ['orders:read'], redirectPath: '/callback/x', timeoutMs: 20_000, probeRedirect: true, printUrl: () => undefined, openBrowser: async (u) => void (await visitWithRedirects(u)) }));
    expect(err.code).toBe('OAUTH_REDIRECT_URI_REFUSED');
    expect(`${err.message} ${err.hint}`).not.toContain('<script>');
  });

  it('a revocation refused for a public client is "unsupported"', async () => {
    const as = await discover(hs.origin, { allowLoopbackHttp: true, fetch: ufetch });
    expect(await revokeToken(as, { clientId: 'c' }, 'rt-anything', 'refresh_token')).toBe('unsupported');
    // A confidential client refused the same way did fail: that is not "unsupported".
    expect(await revokeToken(as, { clientId: 'c', clientSecret: 'shh-secret' }, 'rt-anything', 'refresh_token')).toBe('failed');
  });

  it('through the binary: sync exits 4 (reauth_required); disconnect says unsupported and still removes the secret', async () => {
    const h = e2eHome({ ORDERLINK_RETRY_BASE_MS: '20' });
    try {
      hs.setRefresh('ok');
      expect((await h.cli(['connector', 'add', 'plain-errors', '--from', new URL('../examples/connectors/sandbox.json', import.meta.url).pathname])).code).toBe(0);
      const link = await h.cli(['link', 'plain-errors', '--issuer', hs.origin, '--refresh-token-env', 'RT'], { env: { RT: 'rt-initial-xxxxxxxxxxxx' } });
      expect(link.code, link.stderr).toBe(0);
      hs.setRefresh('empty400');
      const sync = await h.cli(['sync']);
      expect(sync.code, sync.stderr).toBe(4);
      expect(sync.stderr).toMatch(/invalid_grant|no longer accepts/);
      expect(sync.stderr).not.toMatch(/not JSON|internal/i);
      const conns = JSON.parse((await h.cli(['--json', 'connections', '--all'])).stdout) as Array<{ status: string }>;
      expect(conns[0]!.status).toBe('reauth_required');
      const d = await h.cli(['--json', 'disconnect', 'plain-errors', '--yes']);
      expect(d.code, d.stderr).toBe(0);
      expect(JSON.parse(d.stdout)).toMatchObject({ revocation: 'unsupported', secret_deleted: true });
    } finally {
      h.cleanup();
      hs.setRefresh('ok');
    }
  });

  it('a confidential client with written-down endpoints: the secret from stdin to the vault, Basic auth, never in a file or an output', async () => {
    const h = e2eHome({ ORDERLINK_RETRY_BASE_MS: '20' });
    const SECRET = CONF_SECRET;
    try {
      const d = JSON.parse(readFileSync(new URL('../examples/connectors/sandbox.json', import.meta.url), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      d.auth = { clientId: 'conf-client', clientSecret: 'required', scopes: ['orders:read'], endpoints: { authorization: `${hs.origin}/authorize`, token: `${hs.origin}/token`, revocation: `${hs.origin}/revoke` } };
      const file = join(h.home, 'conf.json');
      writeFileSync(file, JSON.stringify(d));
      const noSecret = await h.cli(['connector', 'add', 'conf', '--from', file]);
      expect(noSecret.code).toBe(2);
      expect(noSecret.stderr).toMatch(/--client-secret-stdin/);
      const add = await h.cli(['connector', 'add', 'conf', '--from', file, '--client-secret-stdin'], { stdin: `${SECRET}\n` });
      expect(add.code, add.stderr).toBe(0);
      hs.seen.length = 0;
      const link = await h.cli(['--verbose', 'link', 'conf', '--refresh-token-env', 'RT'], { env: { RT: 'rt-conf-xxxxxxxxxxxxxxxx' } });
      expect(link.code, link.stderr).toBe(0);
      const tokenCall = hs.seen.find((r) => r.path === '/token')!;
      expect(basicPair(tokenCall.authorization)).toBe(`conf-client:${SECRET}`);
      expect(hs.seen.some((r) => r.path.startsWith('/.well-known'))).toBe(false); // no discovery: the endpoints are written down
      const sync = await h.cli(['--verbose', 'sync']);
      expect(sync.code, sync.stderr).toBe(0);
      const d2 = await h.cli(['--json', 'disconnect', 'conf', '--yes']);
      expect(JSON.parse(d2.stdout)).toMatchObject({ revocation: 'done', secret_deleted: true });
      const files = readAllBytes([file, h.db, `${h.db}-wal`, join(h.home, 'profiles', 'default', 'connectors', 'conf.json')]);
      for (const out of [add, link, sync, d2]) expect(out.stdout + out.stderr).not.toContain(SECRET);
      expect(files).not.toContain(SECRET);
      expect(readAllBytes([h.vault])).not.toContain(SECRET); // sealed
      expect((await h.cli(['connector', 'remove', 'conf'])).code).toBe(0);
    } finally {
      h.cleanup();
    }
  });
});
