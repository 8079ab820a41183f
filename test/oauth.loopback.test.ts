/**
 * The loopback listener on its own and inside a flow (SECURITY.md rules 1, 2, 5, 6; H1, H3, H7):
 * real sockets on 127.0.0.1, raw HTTP requests so Host headers and methods can be forged.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeWithLoopback, discover, type AuthServer } from '../src/oauth/index.js';
import { startLoopbackListener, stateMatches, type LoopbackListener } from '../src/oauth/loopback.js';
import { OrderlinkError } from '../src/errors.js';
import { startSandbox, type SandboxHandle } from '../src/sandbox/index.js';

const PATH = '/callback/sandbox';
const STATE = 'S'.repeat(43);

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP/1.1 request: any method, any Host header, any request target. */
function raw(port: number, path: string, opts: { method?: string; host?: string; host6?: boolean } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, headers: { host: opts.host ?? `127.0.0.1:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a TCP connection to host:port is accepted (ECONNREFUSED and friends → false). */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function otherLocalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

function expectSafeHeaders(r: Raw): void {
  expect(r.headers['cache-control']).toBe('no-store');
  expect(r.headers['referrer-policy']).toBe('no-referrer');
  expect(r.headers['content-security-policy']).toContain("default-src 'none'");
  expect(r.headers['location']).toBeUndefined();
}

describe('the listener', () => {
  let l: LoopbackListener;
  beforeAll(async () => {
    l = await startLoopbackListener({ redirectPath: PATH, expectedState: STATE });
  });
  afterAll(async () => {
    await l.close();
  });

  it('H1: binds 127.0.0.1 on an OS-assigned port; the redirect URI uses the IP literal', async () => {
    expect(l.port).toBeGreaterThan(1023);
    expect(l.redirectUri).toBe(`http://127.0.0.1:${l.port}${PATH}`);
    expect(await canConnect('127.0.0.1', l.port)).toBe(true);
    expect(await canConnect('::1', l.port)).toBe(false);
    // Not 0.0.0.0: another address of the loopback network is not served either.
    expect(await canConnect('127.0.0.2', l.port)).toBe(false);
    const lan = otherLocalAddress();
    if (lan) expect(await canConnect(lan, l.port), `reachable on ${lan}`).toBe(false);
  });

  it('rule 6: rejects a Host header that is not 127.0.0.1:{port} (DNS rebinding), with the safe headers', async () => {
    for (const host of [`localhost:${l.port}`, 'evil.example', `127.0.0.1:${l.port + 1}`, '127.0.0.1']) {
      const r = await raw(l.port, `${PATH}?state=${STATE}&code=c`, { host });
      expect(r.status, host).toBe(400);
      expectSafeHeaders(r);
    }
  });

  it('only GET on the exact callback path; other paths 404, other methods 405', async () => {
    const post = await raw(l.port, `${PATH}?state=${STATE}&code=c`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
    expectSafeHeaders(post);
    for (const p of [`${PATH}/x?state=${STATE}`, `/callback/SANDBOX?state=${STATE}`, `/callback/x/../sandbox?state=${STATE}`, '/favicon.ico', '/']) {
      const r = await raw(l.port, p);
      expect(r.status, p).toBe(404);
      expectSafeHeaders(r);
    }
    expect((await raw(l.port, `http://127.0.0.1:${l.port}${PATH}?state=${STATE}`)).status).toBe(400);
  });

  it('rule 6: pages never echo request input', async () => {
    const evil = '<script>alert(1)</script>';
    const q = new URLSearchParams({ state: evil, error: evil, error_description: 'PWNED-DESCRIPTION', code: 'PWNED-CODE' });
    const r = await raw(l.port, `${PATH}?${q}`);
    expect(r.status).toBe(400);
    for (const s of ['<script', 'alert(1)', 'PWNED', evil]) expect(r.body).not.toContain(s);
    expectSafeHeaders(r);
  });

  it('rule 5: missing, wrong and duplicated state are 400 and do not end the wait; the real callback is accepted once', async () => {
    for (const q of ['code=abc', `state=${STATE}x&code=abc`, `state=${STATE}&state=${STATE}&code=abc`, `state=&code=abc`, `error=access_denied&state=nope`]) {
      expect((await raw(l.port, `${PATH}?${q}`)).status, q).toBe(400);
    }
    const pending = raw(l.port, `${PATH}?code=real&state=${STATE}&iss=x`);
    const cb = await l.callback;
    expect(cb.url.searchParams.get('code')).toBe('real');
    // A second callback, even a correct one, gets the fixed "already answered" page.
    const again = await raw(l.port, `${PATH}?code=real&state=${STATE}`);
    expect(again.status).toBe(400);
    expect(again.body).toContain('already been answered');
    await cb.respond('success');
    const page = await pending;
    expect(page.status).toBe(200);
    expect(page.body).toContain('Linked');
    expect(page.body).not.toContain('real');
    expectSafeHeaders(page);
  });

  it('stateMatches wants exactly one equal value', () => {
    expect(stateMatches(new URLSearchParams(`state=${STATE}`), STATE)).toBe(true);
    expect(stateMatches(new URLSearchParams(`state=${STATE}&state=${STATE}`), STATE)).toBe(false);
    expect(stateMatches(new URLSearchParams(`state=${STATE.slice(1)}`), STATE)).toBe(false);
    expect(stateMatches(new URLSearchParams(''), STATE)).toBe(false);
  });
});

describe('listener lifecycle', () => {
  it('two listeners get different ports; close() is idempotent and frees the port at once', async () => {
    const [a, b] = await Promise.all([startLoopbackListener({ redirectPath: PATH, expectedState: STATE }), startLoopbackListener({ redirectPath: PATH, expectedState: STATE })]);
    expect(a.port).not.toBe(b.port);
    await Promise.all([a.close(), a.close(), b.close()]);
    expect(await canConnect('127.0.0.1', a.port)).toBe(false);
    expect(await canConnect('127.0.0.1', b.port)).toBe(false);
    await expect(a.callback).rejects.toMatchObject({ code: 'OAUTH_LISTENER_CLOSED' });
  });

  it('a held callback the flow never answered gets the failure page on close', async () => {
    const l = await startLoopbackListener({ redirectPath: PATH, expectedState: STATE });
    const pending = raw(l.port, `${PATH}?code=c&state=${STATE}`);
    await l.callback;
    await l.close();
    const r = await pending;
    expect(r.status).toBe(400);
    expect(r.body).toContain('nothing was stored');
  });

  it('rule 5: the bad-request budget ends the flow with a clear error and closes the port', async () => {
    const l = await startLoopbackListener({ redirectPath: PATH, expectedState: STATE, maxBadRequests: 5 });
    for (let i = 0; i < 5; i++) await raw(l.port, `${PATH}?state=wrong${i}`);
    await expect(l.callback).rejects.toMatchObject({ code: 'OAUTH_TOO_MANY_BAD_REQUESTS' });
    await l.close();
    expect(await canConnect('127.0.0.1', l.port)).toBe(false);
  });

  it('refuses redirect paths that are not plain paths', async () => {
    for (const p of ['callback', '/cb?x=1', '/cb#f', '/a/../b', '/a%2fb', '']) {
      await expect(startLoopbackListener({ redirectPath: p, expectedState: STATE }), p).rejects.toMatchObject({ code: 'OAUTH_BAD_REDIRECT_PATH' });
    }
  });
});

describe('flows against the sandbox: ports and endings (H1, H7)', () => {
  let sb: SandboxHandle;
  let as: AuthServer;
  beforeAll(async () => {
    sb = await startSandbox({ autoConsent: true, orders: 5 });
    as = await discover(sb.issuer, { allowLoopbackHttp: true, fetch: undiciFetch as unknown as typeof fetch });
  });
  afterAll(async () => {
    await sb?.close();
  });

  function start(opts: { timeoutMs?: number; signal?: AbortSignal; maxBadRequests?: number } = {}) {
    let printed!: (u: URL) => void;
    const url = new Promise<URL>((r) => (printed = r));
    const result = authorizeWithLoopback({
      as,
      client: { clientId: sb.clientId },
      scopes: ['openid', 'offline_access', 'orders:read'],
      redirectPath: PATH,
      timeoutMs: opts.timeoutMs ?? 10_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.maxBadRequests ? { maxBadRequests: opts.maxBadRequests } : {}),
      printUrl: (u) => printed(new URL(u)),
    });
    result.catch(() => {});
    const port = url.then((u) => Number(new URL(u.searchParams.get('redirect_uri')!).port));
    return { result, url, port };
  }

  it('H1: two parallel flows listen on different ports, on 127.0.0.1 only', async () => {
    const ac = new AbortController();
    const a = start({ signal: ac.signal });
    const b = start({ signal: ac.signal });
    const [pa, pb] = await Promise.all([a.port, b.port]);
    expect(pa).not.toBe(pb);
    for (const p of [pa, pb]) {
      expect(await canConnect('127.0.0.1', p)).toBe(true);
      const lan = otherLocalAddress();
      if (lan) expect(await canConnect(lan, p)).toBe(false);
    }
    ac.abort();
    await expect(a.result).rejects.toMatchObject({ kind: 'interrupted' });
    await expect(b.result).rejects.toMatchObject({ kind: 'interrupted' });
  });

  it('H7: no callback within the timeout → OAUTH_TIMEOUT, port closed within a second', async () => {
    const f = start({ timeoutMs: 300 });
    const port = await f.port;
    expect(await canConnect('127.0.0.1', port)).toBe(true);
    const err = await f.result.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OrderlinkError);
    expect(err).toMatchObject({ code: 'OAUTH_TIMEOUT', kind: 'failure' });
    expect((err as Error).message).toMatch(/nothing was stored/);
    const t0 = Date.now();
    expect(await canConnect('127.0.0.1', port)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('H7: Ctrl-C (abort) → kind interrupted, port closed within a second', async () => {
    const ac = new AbortController();
    const f = start({ signal: ac.signal });
    const port = await f.port;
    const t0 = Date.now();
    ac.abort();
    await expect(f.result).rejects.toMatchObject({ code: 'INTERRUPTED', kind: 'interrupted' });
    expect(await canConnect('127.0.0.1', port)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('an already-aborted signal never opens a port', async () => {
    const ac = new AbortController();
    ac.abort();
    const f = start({ signal: ac.signal });
    await expect(f.result).rejects.toMatchObject({ kind: 'interrupted' });
  });

  it('H3: junk requests (no state, wrong state, forged denial, wrong Host) are ignored and the flow keeps waiting', async () => {
    const ac = new AbortController();
    const f = start({ signal: ac.signal, timeoutMs: 20_000 });
    const port = await f.port;
    expect((await raw(port, `${PATH}?code=x`)).status).toBe(400);
    expect((await raw(port, `${PATH}?error=access_denied&state=forged`)).status).toBe(400);
    expect((await raw(port, `${PATH}?error=access_denied`, { host: `localhost:${port}` })).status).toBe(400);
    let settled = false;
    void f.result.finally(() => (settled = true)).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    expect(await canConnect('127.0.0.1', port)).toBe(true);
    ac.abort();
    await expect(f.result).rejects.toMatchObject({ kind: 'interrupted' });
  });

  it('rule 5: the bad-request budget ends a flow and closes its port', async () => {
    const f = start({ maxBadRequests: 3 });
    const port = await f.port;
    for (let i = 0; i < 3; i++) await raw(port, `${PATH}?state=bad${i}`);
    await expect(f.result).rejects.toMatchObject({ code: 'OAUTH_TOO_MANY_BAD_REQUESTS' });
    expect(await canConnect('127.0.0.1', port)).toBe(false);
  });
});
