/**
 * The sandbox as an authorization server, driven by a real client (oauth4webapi) over loopback:
 * discovery, authorization code + PKCE S256 with auto-consent, `iss` (RFC 9207), the code
 * exchange, the orders API, refresh rotation with reuse detection, revocation, and the consent
 * pages a person uses in a browser.
 */
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type SandboxHandle } from '../src/sandbox/index.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const client: oauth.Client = { client_id: 'orderlink-cli' };
const SCOPE = 'openid offline_access profile orders:read';

let sb: SandboxHandle;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  sb = await startSandbox({ autoConsent: true, orders: 120, seed: 7 });
  const res = await oauth.discoveryRequest(new URL(sb.issuer), { algorithm: 'oidc', ...insecure });
  as = await oauth.processDiscoveryResponse(new URL(sb.issuer), res);
});
afterAll(async () => {
  await sb?.close();
});

interface Started {
  url: URL;
  state: string;
  verifier: string;
  redirectUri: string;
}

async function authorizationUrl(opts: { port?: number; loginHint?: string; method?: string; path?: string } = {}): Promise<Started> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const redirectUri = `http://127.0.0.1:${opts.port ?? 49152 + Math.floor(Math.random() * 10000)}${opts.path ?? '/callback/sandbox'}`;
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', SCOPE);
  url.searchParams.set('state', state);
  if (opts.method === 'plain') {
    url.searchParams.set('code_challenge', verifier);
    url.searchParams.set('code_challenge_method', 'plain');
  } else if (opts.method !== 'none') {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  if (opts.loginHint) url.searchParams.set('login_hint', opts.loginHint);
  return { url, state, verifier, redirectUri };
}

/** With auto-consent the authorization endpoint redirects straight to the client: one hop. */
async function authorizeAuto(opts: Parameters<typeof authorizationUrl>[0] = {}): Promise<Started & { callback: URL }> {
  const started = await authorizationUrl(opts);
  const res = await fetch(started.url, { redirect: 'manual' });
  await res.arrayBuffer();
  expect([302, 303]).toContain(res.status);
  const location = res.headers.get('location')!;
  expect(location.startsWith(`${started.redirectUri}?`)).toBe(true);
  return { ...started, callback: new URL(location) };
}

async function exchange(s: Started & { callback: URL }): Promise<oauth.TokenEndpointResponse> {
  const params = oauth.validateAuthResponse(as, client, s.callback, s.state);
  const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, s.redirectUri, s.verifier, insecure);
  return oauth.processAuthorizationCodeResponse(as, client, res);
}

async function refresh(rt: string): Promise<oauth.TokenEndpointResponse> {
  const res = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), rt, insecure);
  return oauth.processRefreshTokenResponse(as, client, res);
}

async function expectInvalidGrant(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(oauth.ResponseBodyError);
  expect((err as oauth.ResponseBodyError).error).toBe('invalid_grant');
}

const api = (path: string, token: string): Promise<Response> => fetch(`${sb.issuer}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('discovery', () => {
  it('advertises S256 only, iss in authorization responses, and the endpoints; RFC 8414 matches', async () => {
    expect(as.issuer).toBe(sb.issuer);
    expect(sb.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.revocation_endpoint).toBe(`${sb.issuer}/token/revocation`);
    expect(as.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access', 'profile', 'orders:read']));
    expect(as.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    const oidcDoc = await (await fetch(`${sb.issuer}/.well-known/openid-configuration`)).json();
    const rfc8414 = await fetch(`${sb.issuer}/.well-known/oauth-authorization-server`);
    expect(rfc8414.status).toBe(200);
    expect(await rfc8414.json()).toEqual(oidcDoc);
  });
});

describe('authorization code + PKCE with auto-consent', () => {
  it('runs the whole flow: callback with iss, exchange, /me, every order, rotation, reuse detection', async () => {
    const s = await authorizeAuto({ loginHint: 'bob' });
    expect(s.callback.searchParams.get('iss')).toBe(sb.issuer);
    expect(s.callback.searchParams.get('state')).toBe(s.state);
    const tokens = await exchange(s);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'orders:read']));
    expect(oauth.getValidatedIdTokenClaims(tokens)?.sub).toBe('acct_bob');

    const me = await api('/api/v1/me', tokens.access_token);
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ account_id: 'acct_bob', label: 'bob@sandbox.example', name: 'Bob Sandbox' });

    // Every order, page by page, in (updated_at, id) order.
    const seen: { id: string; updated_at: string }[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const res = await api(`/api/v1/orders?limit=25${cursor ? `&cursor=${cursor}` : ''}`, tokens.access_token);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { orders: { id: string; updated_at: string }[]; next_cursor: string | null; has_more: boolean };
      seen.push(...body.orders);
      cursor = body.next_cursor;
      if (!body.has_more) break;
    }
    expect(seen).toHaveLength(sb.orderCount('bob'));
    expect(new Set(seen.map((o) => o.id)).size).toBe(seen.length);
    expect(seen.every((o) => o.id.startsWith('SB-bob-'))).toBe(true);
    const sorted = [...seen].sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id < b.id ? -1 : 1));
    expect(seen).toEqual(sorted);

    // Rotation: a new refresh token each time; the new access token works.
    const r1 = await refresh(tokens.refresh_token!);
    expect(r1.refresh_token).toBeTruthy();
    expect(r1.refresh_token).not.toBe(tokens.refresh_token);
    expect((await api('/api/v1/me', r1.access_token)).status).toBe(200);
    const r2 = await refresh(r1.refresh_token!);
    expect(r2.refresh_token).not.toBe(r1.refresh_token);

    // Reuse of a consumed refresh token: invalid_grant, and the whole grant is revoked.
    await expectInvalidGrant(refresh(r1.refresh_token!));
    await expectInvalidGrant(refresh(r2.refresh_token!));
    const dead = await api('/api/v1/orders', r2.access_token);
    expect(dead.status).toBe(401);
    expect(dead.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const st = sb.stats();
    expect(st.grants.authorization_code).toBeGreaterThanOrEqual(1);
    expect(st.grants.refresh_token).toBeGreaterThanOrEqual(2);
    expect(st.grantErrors.invalid_grant).toBeGreaterThanOrEqual(2);
    expect(st.requests.authorization).toBeGreaterThanOrEqual(1);
    expect(st.ordersServed).toBeGreaterThanOrEqual(120);
    expect(st.serverErrors).toBe(0);
  });

  it('revocation (RFC 7009) of the refresh token kills the grant: refresh fails, the API answers 401', async () => {
    const tokens = await exchange(await authorizeAuto({ loginHint: 'carol' }));
    expect((await api('/api/v1/orders?limit=1', tokens.access_token)).status).toBe(200);
    const before = sb.stats().revocations;
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), tokens.refresh_token!, insecure));
    expect(sb.stats().revocations).toBe(before + 1);
    await expectInvalidGrant(refresh(tokens.refresh_token!));
    const res = await api('/api/v1/orders?limit=1', tokens.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it('revoking the access token revokes the whole grant too (oidc-provider policy)', async () => {
    const tokens = await exchange(await authorizeAuto());
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), tokens.access_token, insecure));
    expect((await api('/api/v1/me', tokens.access_token)).status).toBe(401);
    await expectInvalidGrant(refresh(tokens.refresh_token!));
    // Revoking an unknown token is still 200 (RFC 7009 §2.2).
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), 'not-a-token', insecure));
  });

  it('accepts the registered path on any loopback port, and nothing else', async () => {
    for (const port of [1024 + Math.floor(Math.random() * 60000), 65535]) {
      const s = await authorizeAuto({ port });
      expect((await exchange(s)).access_token).toBeTruthy();
    }
    const wrongPath = await authorizationUrl({ path: '/callback/other' });
    const res = await fetch(wrongPath.url, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('redirect_uri');
    const localhost = await authorizationUrl();
    localhost.url.searchParams.set('redirect_uri', localhost.redirectUri.replace('127.0.0.1', 'localhost'));
    expect((await fetch(localhost.url, { redirect: 'manual' })).status).toBe(400);
  });

  it('requires PKCE and rejects the plain method', async () => {
    for (const method of ['plain', 'none']) {
      const s = await authorizationUrl({ method });
      const res = await fetch(s.url, { redirect: 'manual' });
      const location = new URL(res.headers.get('location')!);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('code')).toBeNull();
      expect(location.searchParams.get('state')).toBe(s.state);
      expect(location.searchParams.get('iss')).toBe(sb.issuer);
    }
  });

  it('refuses an intercepted code redeemed without the verifier; the real exchange still works, once', async () => {
    const s = await authorizeAuto();
    const params = oauth.validateAuthResponse(as, client, s.callback, s.state);
    const stolen = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, s.redirectUri, oauth.generateRandomCodeVerifier(), insecure);
    await expectInvalidGrant(oauth.processAuthorizationCodeResponse(as, client, stolen));
    expect((await exchange(s)).access_token).toBeTruthy();
    await expectInvalidGrant(exchange(s));
  });

  it('picks the account from login_hint and falls back to the first account', async () => {
    const viaHint = await exchange(await authorizeAuto({ loginHint: 'carol@sandbox.example' }));
    expect(await (await api('/api/v1/me', viaHint.access_token)).json()).toMatchObject({ account_id: 'acct_carol' });
    const fallback = await exchange(await authorizeAuto({ loginHint: 'nobody' }));
    expect(await (await api('/api/v1/me', fallback.access_token)).json()).toMatchObject({ account_id: 'acct_alice' });
  });

  it("answers access_denied with state and iss when set to 'deny'", async () => {
    sb.setAutoConsent('deny');
    try {
      const s = await authorizeAuto();
      expect(s.callback.searchParams.get('error')).toBe('access_denied');
      expect(s.callback.searchParams.get('state')).toBe(s.state);
      expect(s.callback.searchParams.get('iss')).toBe(sb.issuer);
      expect(s.callback.searchParams.get('code')).toBeNull();
    } finally {
      sb.setAutoConsent(true);
    }
  });
});

describe('tokens without a browser', () => {
  it('mintRefreshToken issues a real refresh token; revokeAllFor kills every grant of the account', async () => {
    const rt = await sb.mintRefreshToken('alice');
    const t1 = await refresh(rt);
    expect(await (await api('/api/v1/me', t1.access_token)).json()).toMatchObject({ account_id: 'acct_alice' });
    const other = await refresh(await sb.mintRefreshToken('bob', 'offline_access orders:read'));
    await sb.revokeAllFor('alice');
    expect((await api('/api/v1/me', t1.access_token)).status).toBe(401);
    await expectInvalidGrant(refresh(t1.refresh_token!));
    // bob is untouched
    expect((await api('/api/v1/orders?limit=1', other.access_token)).status).toBe(200);
    await expect(sb.mintRefreshToken('mallory-not-here')).rejects.toThrow(/unknown sandbox account/);
  });

  it('the API refuses missing, foreign and under-scoped tokens', async () => {
    const none = await fetch(`${sb.issuer}/api/v1/orders`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="orderlink-sandbox"');
    const forged = await api('/api/v1/orders', 'x'.repeat(43));
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const profileOnly = await refresh(await sb.mintRefreshToken('bob', 'openid profile'));
    expect((await api('/api/v1/me', profileOnly.access_token)).status).toBe(200);
    const res = await api('/api/v1/orders', profileOnly.access_token);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });
});

/** A minimal browser: a cookie jar and manual redirects. */
class Browser {
  private jar = new Map<string, string>();
  async go(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }
  async post(url: string | URL, form: Record<string, string>): Promise<Response> {
    return this.go(url, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

describe('the consent pages (no auto-consent)', () => {
  let manual: SandboxHandle;
  let mas: oauth.AuthorizationServer;
  beforeAll(async () => {
    manual = await startSandbox({ orders: 5 });
    mas = await oauth.processDiscoveryResponse(new URL(manual.issuer), await oauth.discoveryRequest(new URL(manual.issuer), { ...insecure }));
  });
  afterAll(async () => {
    await manual?.close();
  });

  async function startFlow(b: Browser): Promise<{ state: string; verifier: string; redirectUri: string; loginPage: URL }> {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const redirectUri = 'http://127.0.0.1:51234/callback/sandbox';
    const url = new URL(mas.authorization_endpoint!);
    for (const [k, v] of Object.entries({ client_id: 'orderlink-cli', redirect_uri: redirectUri, response_type: 'code', scope: SCOPE, state, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })) {
      url.searchParams.set(k, v);
    }
    const res = await b.go(url);
    expect(res.status).toBe(303);
    return { state, verifier, redirectUri, loginPage: new URL(res.headers.get('location')!, manual.issuer) };
  }

  /** Follow same-origin redirects until the page or the client's redirect URI. */
  async function follow(b: Browser, res: Response): Promise<Response | URL> {
    while (res.status === 302 || res.status === 303) {
      const next = new URL(res.headers.get('location')!, manual.issuer);
      if (next.origin !== manual.issuer) return next;
      res = await b.go(next);
    }
    return res;
  }

  it('shows the login page, then the consent page; Approve returns a code that exchanges', async () => {
    const b = new Browser();
    const flow = await startFlow(b);
    const login = await b.go(flow.loginPage);
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(login.headers.get('cache-control')).toBe('no-store');
    const loginHtml = await login.text();
    expect(loginHtml).toContain('No password is needed');
    for (const name of ['alice@sandbox.example', 'bob@sandbox.example', 'carol@sandbox.example']) expect(loginHtml).toContain(name);

    const consent = await follow(b, await b.post(`${flow.loginPage.href}/login`, { account: 'bob' }));
    expect(consent).toBeInstanceOf(Response);
    const consentHtml = await (consent as Response).text();
    expect(consentHtml).toContain('We never access payment details');
    expect(consentHtml).toContain('Read your order history');
    expect(consentHtml).toContain('Bob Sandbox');
    expect(consentHtml).toMatch(/<button[^>]*>Approve<\/button>/);
    expect(consentHtml).toMatch(/<button[^>]*>Deny<\/button>/);
    const action = /action="(\/interaction\/[^"]+\/confirm)"/.exec(consentHtml)![1]!;

    const callback = await follow(b, await b.post(new URL(action, manual.issuer), {}));
    expect(callback).toBeInstanceOf(URL);
    const cb = callback as URL;
    expect(cb.href.startsWith(flow.redirectUri)).toBe(true);
    expect(cb.searchParams.get('iss')).toBe(manual.issuer);
    const params = oauth.validateAuthResponse(mas, client, cb, flow.state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      mas,
      client,
      await oauth.authorizationCodeGrantRequest(mas, client, oauth.None(), params, flow.redirectUri, flow.verifier, insecure),
    );
    const me = await fetch(`${manual.issuer}/api/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await me.json()).toMatchObject({ account_id: 'acct_bob' });
  });

  it('Deny returns access_denied with state and iss', async () => {
    const b = new Browser();
    const flow = await startFlow(b);
    const consent = (await follow(b, await b.post(`${flow.loginPage.href}/login`, { account: 'alice' }))) as Response;
    const html = await consent.text();
    const abort = /action="(\/interaction\/[^"]+\/abort)"/.exec(html)![1]!;
    const cb = (await follow(b, await b.post(new URL(abort, manual.issuer), {}))) as URL;
    expect(cb.searchParams.get('error')).toBe('access_denied');
    expect(cb.searchParams.get('state')).toBe(flow.state);
    expect(cb.searchParams.get('iss')).toBe(manual.issuer);
    expect(() => oauth.validateAuthResponse(mas, client, cb, flow.state)).toThrow(oauth.AuthorizationResponseError);
  });

  it('an interaction page without its cookie is a generic expired page', async () => {
    const b = new Browser();
    const flow = await startFlow(b);
    const stranger = await fetch(flow.loginPage);
    expect(stranger.status).toBe(400);
    expect(await stranger.text()).toContain('This sign-in has expired');
    const unknownAccount = await b.post(`${flow.loginPage.href}/login`, { account: '<script>alert(1)</script>' });
    expect(unknownAccount.status).toBe(400);
    const html = await unknownAccount.text();
    expect(html).not.toContain('<script>alert(1)');
  });
});
