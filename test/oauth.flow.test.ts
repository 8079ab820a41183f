/**
 * The OAuth client end to end against the real in-process sandbox (oidc-provider) over loopback
 * HTTP: discovery (H4, H5), the authorization code flow with a scripted browser (H2, H3, H4, H6),
 * paste mode (rule 9), refresh with rotation and invalid_grant, revocation (RFC 7009), and that no
 * secret reaches a trace or an error.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import * as oauth from 'oauth4webapi';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { visitWithRedirects } from '../src/demo/browser.js';
import { OrderlinkError } from '../src/errors.js';
import { authorizeWithLoopback, discover, refreshTokens, revokeToken, type AuthorizeOptions, type AuthServer, type Tokens } from '../src/oauth/index.js';
import { startSandbox, type SandboxHandle } from '../src/sandbox/index.js';

const PATH = '/callback/sandbox';
const SCOPES = ['openid', 'offline_access', 'profile', 'orders:read'];
const ufetch = undiciFetch as unknown as typeof fetch;

let sb: SandboxHandle;
let as: AuthServer;
const traces: string[] = [];
const client = { clientId: 'orderlink-cli' };

beforeAll(async () => {
  sb = await startSandbox({ autoConsent: true, orders: 10, seed: 3 });
  as = await discover(sb.issuer, { allowLoopbackHttp: true, fetch: ufetch, trace: (l) => traces.push(l) });
});
afterAll(async () => {
  await sb?.close();
});
afterEach(() => sb.setAutoConsent(true));

/** A throwaway HTTP server on 127.0.0.1 (fake metadata, proxies, bad endpoints). */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, origin: string) => void): Promise<{ origin: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handler(req, res, origin);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, paths, close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())) };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** With auto-consent the sandbox answers the authorization request with one redirect: the callback. */
async function approve(authUrl: string): Promise<URL> {
  const res = await fetch(authUrl, { redirect: 'manual' });
  await res.arrayBuffer();
  expect([302, 303]).toContain(res.status);
  return new URL(res.headers.get('location')!);
}

type Browser = (url: string) => Promise<void>;

/**
 * Run a flow whose "browser" is a script. `result` is the flow's outcome; `browsed` settles when
 * the script has finished (it may still be reading the listener's page after the flow returned).
 */
function flow(browser: Browser | undefined, o: Partial<AuthorizeOptions> = {}) {
  const printed: string[] = [];
  let browsed: Promise<void> = Promise.resolve();
  const result = authorizeWithLoopback({
    as,
    client,
    scopes: SCOPES,
    redirectPath: PATH,
    timeoutMs: 15_000,
    printUrl: (u) => printed.push(u),
    ...(browser ? { openBrowser: (u: string) => (browsed = browser(u)) } : {}),
    ...o,
  });
  result.catch(() => {});
  return { result, printed, browsed: () => browsed };
}

async function failure(p: Promise<unknown>): Promise<OrderlinkError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(OrderlinkError);
  return err as OrderlinkError;
}

async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

const codeGrants = () => sb.stats().grants.authorization_code;
const tokenRequests = () => sb.stats().requests.token ?? 0;

async function api(path: string, token: string): Promise<Response> {
  return fetch(`${sb.issuer}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

describe('discovery (RFC 8414, rule 4, H4, H5)', () => {
  it('validates the issuer, requires S256 and keeps the metadata', () => {
    expect(as.metadata.issuer).toBe(sb.issuer);
    expect(as.metadata.code_challenge_methods_supported).toContain('S256');
    expect(as.allowLoopbackHttp).toBe(true);
    expect(traces.some((l) => l.includes('iss parameter (RFC 9207) advertised'))).toBe(true);
  });

  it('H4: metadata naming another issuer is refused before any endpoint is used', async () => {
    // A proxy that serves the sandbox's real metadata (issuer = the sandbox) under its own origin.
    const proxy = await serve((req, res) => {
      void fetch(`${sb.issuer}${req.url}`).then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()));
    });
    try {
      const err = await failure(discover(proxy.origin, { allowLoopbackHttp: true, fetch: ufetch }));
      expect(err.code).toBe('OAUTH_ISSUER_MISMATCH');
      expect(proxy.paths.every((p) => p.startsWith('/.well-known/'))).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('H5: metadata offering only plain PKCE (or none) is refused with a clear message', async () => {
    let methods: string[] | undefined = ['plain'];
    const fake = await serve((_req, res, origin) =>
      json(res, 200, { issuer: origin, authorization_endpoint: `${origin}/auth`, token_endpoint: `${origin}/token`, response_types_supported: ['code'], ...(methods ? { code_challenge_methods_supported: methods } : {}) }),
    );
    try {
      const err = await failure(discover(fake.origin, { allowLoopbackHttp: true, fetch: ufetch }));
      expect(err.code).toBe('OAUTH_PKCE_UNSUPPORTED');
      expect(err.message).toContain('S256');
      expect(err.message).toContain('plain');
      expect(err.hint).toMatch(/RFC 7636/);
      methods = undefined;
      expect((await failure(discover(fake.origin, { allowLoopbackHttp: true, fetch: ufetch }))).code).toBe('OAUTH_PKCE_UNSUPPORTED');
      methods = ['plain', 'S256'];
      expect((await discover(fake.origin, { allowLoopbackHttp: true, fetch: ufetch })).metadata.token_endpoint).toBe(`${fake.origin}/token`);
    } finally {
      await fake.close();
    }
  });

  it('rule 8: http is refused except on loopback, and endpoints must be https (or loopback for a loopback issuer)', async () => {
    expect((await failure(discover('http://example.com', { allowLoopbackHttp: true, fetch: ufetch }))).code).toBe('OAUTH_INSECURE_ISSUER');
    expect((await failure(discover(sb.issuer, { allowLoopbackHttp: false, fetch: ufetch }))).code).toBe('OAUTH_INSECURE_ISSUER');
    expect((await failure(discover(`${sb.issuer}/?x=1`, { allowLoopbackHttp: true, fetch: ufetch }))).code).toBe('OAUTH_BAD_ISSUER');
    for (const bad of ['http://example.com/token', 'file:///etc/passwd', 'http://user:pw@127.0.0.1/token']) {
      const fake = await serve((_req, res, origin) => json(res, 200, { issuer: origin, authorization_endpoint: `${origin}/auth`, token_endpoint: bad, code_challenge_methods_supported: ['S256'] }));
      try {
        expect((await failure(discover(fake.origin, { allowLoopbackHttp: true, fetch: ufetch }))).code, bad).toBe('OAUTH_INSECURE_ENDPOINT');
      } finally {
        await fake.close();
      }
    }
  });

  it('falls back to OpenID discovery when RFC 8414 metadata is absent; reports a dead issuer clearly', async () => {
    const oidcOnly = await serve((req, res, origin) => {
      if (req.url === '/.well-known/openid-configuration') json(res, 200, { issuer: origin, authorization_endpoint: `${origin}/auth`, token_endpoint: `${origin}/token`, code_challenge_methods_supported: ['S256'] });
      else json(res, 404, { error: 'not_found' });
    });
    try {
      expect((await discover(oidcOnly.origin, { allowLoopbackHttp: true, fetch: ufetch })).metadata.issuer).toBe(oidcOnly.origin);
      expect(oidcOnly.paths).toEqual(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);
    } finally {
      await oidcOnly.close();
    }
    const err = await failure(discover(oidcOnly.origin, { allowLoopbackHttp: true, fetch: ufetch }));
    expect(err.code).toBe('OAUTH_DISCOVERY_FAILED');
    expect(err.message).toMatch(/could not be reached/);
  });
});

describe('authorization code flow on loopback', () => {
  it('links with a real browser-like visit: PKCE S256, state, iss, exact redirect URI; the page says so; the port closes', async () => {
    let visit: Awaited<ReturnType<typeof visitWithRedirects>> | undefined;
    const before = codeGrants();
    const f = flow(async (u) => {
      visit = await visitWithRedirects(u);
    }, { extraParams: { login_hint: 'carol' } });
    const { tokens } = await f.result;
    expect(tokens.accessToken).toBeTruthy();
    expect(tokens.refreshToken).toBeTruthy();
    expect(tokens.tokenType).toBe('bearer');
    expect(tokens.expiresAt).toBeGreaterThan(Date.now());
    expect(codeGrants()).toBe(before + 1);
    expect(await (await api('/api/v1/me', tokens.accessToken)).json()).toMatchObject({ account_id: 'acct_carol' });

    expect(f.printed).toHaveLength(1);
    const auth = new URL(f.printed[0]!);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('response_type')).toBe('code');
    expect(auth.searchParams.get('state')!.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits of base64url
    const redirectUri = auth.searchParams.get('redirect_uri')!;
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\/sandbox$/);
    await f.browsed();
    expect(visit?.finalStatus).toBe(200);
    expect(visit?.finalBody).toContain('Linked');
    expect(visit!.visited.at(-1)!.startsWith(`${redirectUri}?`)).toBe(true);
    expect(await portClosed(Number(new URL(redirectUri).port))).toBe(true);
  });

  it('H2: a callback with the wrong state gets a generic 400 and nothing happens; the real one succeeds', async () => {
    const before = tokenRequests();
    let wrong: Response | undefined;
    let wrongBody = '';
    let realHeaders: Headers | undefined;
    const f = flow(async (u) => {
      const cb = await approve(u);
      const forged = new URL(cb);
      forged.searchParams.set('state', 'attacker-state');
      wrong = await fetch(forged);
      wrongBody = await wrong.text();
      expect(tokenRequests()).toBe(before);
      const real = await fetch(cb);
      realHeaders = real.headers;
      expect(real.status).toBe(200);
    });
    const { tokens } = await f.result;
    await f.browsed();
    expect(tokens.accessToken).toBeTruthy();
    expect(wrong?.status).toBe(400);
    expect(wrongBody).not.toContain('attacker-state');
    expect(wrong?.headers.get('cache-control')).toBe('no-store');
    expect(realHeaders?.get('cache-control')).toBe('no-store');
    expect(realHeaders?.get('referrer-policy')).toBe('no-referrer');
    expect(tokenRequests()).toBe(before + 1);
  });

  it('H3: no state and a forged access_denied are ignored; the flow continues and succeeds', async () => {
    const f = flow(async (u) => {
      const cb = await approve(u);
      const base = `${cb.origin}${cb.pathname}`;
      expect((await fetch(`${base}?code=${cb.searchParams.get('code')}`)).status).toBe(400);
      expect((await fetch(`${base}?error=access_denied&state=forged&iss=${encodeURIComponent(sb.issuer)}`)).status).toBe(400);
      expect((await fetch(`${base}?error=access_denied`)).status).toBe(400);
      await fetch(cb);
    });
    expect((await f.result).tokens.accessToken).toBeTruthy();
  });

  it('H3: with the right state, access_denied is a clean "denied" error; nothing is exchanged', async () => {
    sb.setAutoConsent('deny');
    const before = tokenRequests();
    let page: Response | undefined;
    const f = flow(async (u) => {
      page = await fetch(await approve(u));
    });
    const err = await failure(f.result);
    await f.browsed();
    expect(err).toMatchObject({ code: 'OAUTH_DENIED', kind: 'failure' });
    expect(err.message).toMatch(/denied/);
    expect(page?.status).toBe(200);
    expect(await page?.text()).toContain('not granted');
    expect(tokenRequests()).toBe(before);
  });

  it('H4: a missing or wrong iss (RFC 9207 advertised) aborts before any code exchange', async () => {
    for (const tamper of [(cb: URL) => cb.searchParams.delete('iss'), (cb: URL) => cb.searchParams.set('iss', 'https://evil.example')]) {
      const before = tokenRequests();
      let page: Response | undefined;
      const f = flow(async (u) => {
        const cb = await approve(u);
        tamper(cb);
        page = await fetch(cb);
      });
      const err = await failure(f.result);
      await f.browsed();
      expect(err.code).toBe('OAUTH_ISSUER_MISMATCH');
      expect(err.message).toMatch(/not exchanged/);
      expect(page?.status).toBe(400);
      expect(tokenRequests()).toBe(before);
    }
  });

  it('H6: another local process redeeming the intercepted code without the verifier is rejected; our exchange succeeds', async () => {
    const f = flow(async (u) => {
      const cb = await approve(u);
      const redirectUri = new URL(u).searchParams.get('redirect_uri')!;
      const stolen = await fetch(as.metadata.token_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'orderlink-cli', code: cb.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: oauth.generateRandomCodeVerifier() }),
      });
      expect(stolen.status).toBe(400);
      expect(await stolen.json()).toMatchObject({ error: 'invalid_grant' });
      await fetch(cb);
    });
    expect((await f.result).tokens.accessToken).toBeTruthy();
  });

  it('refuses tokens in the callback (implicit grant) even with the right state', async () => {
    const f = flow(async (u) => {
      const cb = await approve(u);
      cb.searchParams.set('access_token', 'front-channel-token');
      await fetch(cb);
    });
    expect((await failure(f.result)).code).toBe('OAUTH_IMPLICIT_REFUSED');
  });

  it('rule 7: an authorization endpoint that is not https or http://127.0.0.1 is never printed or opened', async () => {
    for (const authorization_endpoint of ['http://[::1]:9/auth', 'http://example.com/auth']) {
      const opened: string[] = [];
      const printed: string[] = [];
      const odd: AuthServer = { ...as, metadata: { ...as.metadata, authorization_endpoint } };
      const err = await failure(authorizeWithLoopback({ as: odd, client, scopes: SCOPES, redirectPath: PATH, timeoutMs: 5000, printUrl: (u) => printed.push(u), openBrowser: async (u) => void opened.push(u) }));
      expect(err.code).toBe('OAUTH_INSECURE_ENDPOINT');
      expect(opened).toEqual([]);
      expect(printed).toEqual([]);
    }
  });

  it('a launcher failure is not fatal: the URL was printed and the flow still waits', async () => {
    const f = flow(async () => {
      throw new Error('no display');
    }, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    expect(f.printed).toHaveLength(1);
    await fetch(await approve(f.printed[0]!));
    expect((await f.result).tokens.accessToken).toBeTruthy();
  });

  it('connector parameters cannot override the flow\'s own (state, PKCE, redirect_uri, …)', async () => {
    for (const k of ['state', 'code_challenge_method', 'redirect_uri', 'response_type', 'response_mode', 'nonce']) {
      expect((await failure(flow(undefined, { extraParams: { [k]: 'x' } }).result)).code, k).toBe('OAUTH_BAD_PARAM');
    }
  });
});

describe('paste-the-URL mode (rule 9)', () => {
  it('happy path: the pasted address is validated (state, iss, PKCE) and exchanged; no listener', async () => {
    let redirectUri = '';
    const f = flow(undefined, {
      manual: {
        readRedirectUrl: async () => {
          const u = f.printed[0]!;
          redirectUri = new URL(u).searchParams.get('redirect_uri')!;
          expect(await portClosed(Number(new URL(redirectUri).port))).toBe(true);
          return `  ${(await approve(u)).href}\n`;
        },
      },
    });
    const { tokens } = await f.result;
    expect(tokens.accessToken).toBeTruthy();
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\/sandbox$/);
  });

  it('a pasted address with the wrong state is rejected clearly, before any exchange', async () => {
    const before = tokenRequests();
    let code = '';
    const f = flow(undefined, {
      manual: {
        readRedirectUrl: async () => {
          const cb = await approve(f.printed[0]!);
          code = cb.searchParams.get('code')!;
          cb.searchParams.set('state', 'someone-elses-state');
          return cb.href;
        },
      },
    });
    const err = await failure(f.result);
    expect(err.code).toBe('OAUTH_STATE_MISMATCH');
    expect(err.message).toMatch(/does not belong to this sign-in/);
    expect(`${err.message} ${err.hint}`).not.toContain(code);
    expect(tokenRequests()).toBe(before);
  });

  it('a pasted address that is not our redirect URI, or not a URL, or missing iss, is rejected', async () => {
    const cases: [(cb: URL) => string, string][] = [
      [(cb) => cb.href.replace('/callback/sandbox', '/callback/other'), 'OAUTH_MANUAL_WRONG_ADDRESS'],
      [(cb) => cb.href.replace('127.0.0.1', 'localhost'), 'OAUTH_MANUAL_WRONG_ADDRESS'],
      [() => 'not a url', 'OAUTH_MANUAL_BAD_URL'],
      [(cb) => (cb.searchParams.delete('iss'), cb.href), 'OAUTH_ISSUER_MISMATCH'],
    ];
    for (const [paste, code] of cases) {
      const f = flow(undefined, { manual: { readRedirectUrl: async () => paste(await approve(f.printed[0]!)) } });
      expect((await failure(f.result)).code, code).toBe(code);
    }
  });

  it('times out and honours Ctrl-C while waiting for the paste', async () => {
    const never = { readRedirectUrl: () => new Promise<string>(() => {}) };
    expect((await failure(flow(undefined, { manual: never, timeoutMs: 200 }).result)).code).toBe('OAUTH_TIMEOUT');
    const ac = new AbortController();
    const f = flow(undefined, { manual: never, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect((await failure(f.result)).kind).toBe('interrupted');
    // A prompt cancelled with Ctrl-C (inquirer's ExitPromptError) is an interrupt; other read failures say so.
    const cancelled = Object.assign(new Error('User force closed the prompt'), { name: 'ExitPromptError' });
    expect((await failure(flow(undefined, { manual: { readRedirectUrl: () => Promise.reject(cancelled) } }).result)).kind).toBe('interrupted');
    expect((await failure(flow(undefined, { manual: { readRedirectUrl: () => Promise.reject(new Error('EOF')) } }).result)).code).toBe('OAUTH_MANUAL_NO_URL');
  });
});

describe('refresh (RFC 6749 §6) and revocation (RFC 7009)', () => {
  async function linked(): Promise<Tokens> {
    return (await flow(async (u) => void (await fetch(await approve(u)))).result).tokens;
  }

  it('rotates the refresh token; the old one is then invalid_grant → kind reauth', async () => {
    const t0 = await linked();
    const t1 = await refreshTokens(as, client, t0.refreshToken!, {});
    expect(t1.refreshToken).toBeTruthy();
    expect(t1.refreshToken).not.toBe(t0.refreshToken);
    expect(t1.accessToken).not.toBe(t0.accessToken);
    const t2 = await refreshTokens(as, client, t1.refreshToken!);
    expect((await api('/api/v1/orders?limit=1', t2.accessToken)).status).toBe(200);
    const err = await failure(refreshTokens(as, client, t0.refreshToken!));
    expect(err).toMatchObject({ code: 'OAUTH_INVALID_GRANT', kind: 'reauth' });
    expect(err.message).not.toContain(t0.refreshToken!);
  });

  it('an unknown refresh token is invalid_grant → kind reauth, once (no retry)', async () => {
    const before = sb.stats().grantErrors.invalid_grant ?? 0;
    const err = await failure(refreshTokens(as, client, 'x'.repeat(43)));
    expect(err).toMatchObject({ code: 'OAUTH_INVALID_GRANT', kind: 'reauth' });
    expect(err.exitCode).toBe(4);
    expect(sb.stats().grantErrors.invalid_grant).toBe(before + 1);
  });

  it('other failures are OAUTH_REFRESH_FAILED with the provider\'s error code, never a token', async () => {
    const rt = await sb.mintRefreshToken('bob');
    const err = await failure(refreshTokens(as, { clientId: 'no-such-client' }, rt));
    expect(err.code).toBe('OAUTH_REFRESH_FAILED');
    expect(err.message).toMatch(/invalid_client/);
    expect(err.message).not.toContain(rt);
  });

  it('rule 8: a redirect from the token endpoint is not followed', async () => {
    const redirector = await serve((_req, res) => res.writeHead(307, { location: as.metadata.token_endpoint! }).end());
    try {
      const moved: AuthServer = { ...as, metadata: { ...as.metadata, token_endpoint: `${redirector.origin}/token` } };
      const before = tokenRequests();
      expect((await failure(refreshTokens(moved, client, await sb.mintRefreshToken('alice')))).code).toBe('OAUTH_REDIRECT_REFUSED');
      expect(tokenRequests()).toBe(before);
    } finally {
      await redirector.close();
    }
  });

  it('revocation: done (the grant dies), unsupported without an endpoint, failed on a server error', async () => {
    const t = await linked();
    const before = sb.stats().revocations;
    expect(await revokeToken(as, client, t.refreshToken!, 'refresh_token')).toBe('done');
    expect(sb.stats().revocations).toBe(before + 1);
    expect((await failure(refreshTokens(as, client, t.refreshToken!))).kind).toBe('reauth');
    expect((await api('/api/v1/me', t.accessToken)).status).toBe(401);
    expect(await revokeToken(as, client, t.accessToken, 'access_token')).toBe('done'); // already dead: still 200 (§2.2)

    const { revocation_endpoint: _, ...noRevocation } = as.metadata;
    expect(await revokeToken({ ...as, metadata: noRevocation }, client, 'whatever', 'refresh_token')).toBe('unsupported');

    const broken = await serve((_req, res) => json(res, 500, { error: 'server_error' }));
    try {
      expect(await revokeToken({ ...as, metadata: { ...as.metadata, revocation_endpoint: `${broken.origin}/revoke` } }, client, 'whatever', 'refresh_token')).toBe('failed');
    } finally {
      await broken.close();
    }
  });
});

describe('secrets stay out of traces, errors and pages (rule 15)', () => {
  it('a full flow traces requests and masked tokens, never a code, state or token', async () => {
    const lines: string[] = [];
    const tokenBodies: URLSearchParams[] = [];
    const recording: typeof fetch = async (input, init) => {
      if (init?.method === 'POST' && init.body instanceof URLSearchParams) tokenBodies.push(new URLSearchParams(init.body));
      return ufetch(input, init);
    };
    const traced = await discover(sb.issuer, { allowLoopbackHttp: true, fetch: recording, trace: (l) => lines.push(l) });
    let cb: URL | undefined;
    const printed: string[] = [];
    const { tokens } = await authorizeWithLoopback({
      as: traced,
      client,
      scopes: SCOPES,
      redirectPath: PATH,
      timeoutMs: 10_000,
      printUrl: (u) => printed.push(u),
      openBrowser: async (u) => {
        cb = await approve(u);
        const wrong = new URL(cb);
        wrong.searchParams.set('state', 'x');
        await fetch(wrong);
        await fetch(cb);
      },
    });
    const fresh = await refreshTokens(traced, client, tokens.refreshToken!);
    await revokeToken(traced, client, fresh.refreshToken!, 'refresh_token');
    // Rule 1: the redirect URI of the authorization request, byte for byte, in the token request.
    const authRequest = new URL(printed[0]!);
    const exchange = tokenBodies.find((b) => b.get('grant_type') === 'authorization_code')!;
    expect(exchange.get('redirect_uri')).toBe(authRequest.searchParams.get('redirect_uri'));
    expect(exchange.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(exchange.has('client_secret')).toBe(false);
    const text = lines.join('\n');
    expect(text).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/token → 200/);
    expect(text).toContain(`access token ${tokens.accessToken.slice(0, 4)}…`);
    expect(text).toMatch(/missing or wrong state/);
    const secrets = [cb!.searchParams.get('code')!, new URL(printed[0]!).searchParams.get('state')!, new URL(printed[0]!).searchParams.get('code_challenge')!, tokens.accessToken, tokens.refreshToken!, fresh.accessToken, fresh.refreshToken!];
    for (const s of secrets) expect(text).not.toContain(s);
  });
});
