/**
 * Fault injection: the spec grammar (strict, errors name the bad part), each fault's effect on
 * the orders API or the refresh grant, run-time changes through setFaults and the admin
 * endpoint, and the admin endpoints' loopback/Host/Origin guards.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OrderlinkError } from '../src/errors.js';
import { FAULTS_HELP, formatFaults, parseFaults, startSandbox, type SandboxHandle } from '../src/sandbox/index.js';

describe('parseFaults', () => {
  it('parses every fault of the grammar', () => {
    expect(parseFaults('latency=20ms,rate429=every:5:retry-after=1,burst5xx=3,fail500=forever,malformed=0.02,access-ttl=2s,invalid-grant,revoke-refresh')).toEqual({
      latency: { minMs: 20, maxMs: 20 },
      rate429: { every: 5, retryAfterSeconds: 1, httpDate: false },
      burst5xx: { count: 3, status: 503 },
      fail500: true,
      malformed: 0.02,
      accessTtl: 2,
      invalidGrant: true,
      revokeRefresh: true,
    });
    expect(parseFaults('latency=10-50ms').latency).toEqual({ minMs: 10, maxMs: 50 });
    expect(parseFaults('latency=1s-2s').latency).toEqual({ minMs: 1000, maxMs: 2000 });
    expect(parseFaults('rate429=3:retry-after=7:http-date').rate429).toEqual({ every: 3, retryAfterSeconds: 7, httpDate: true });
    expect(parseFaults('rate429=every:2').rate429).toEqual({ every: 2, retryAfterSeconds: 1, httpDate: false });
    expect(parseFaults('burst5xx=2:502').burst5xx).toEqual({ count: 2, status: 502 });
    expect(parseFaults('fail500')).toEqual({ fail500: true });
    expect(parseFaults('malformed=5%').malformed).toBeCloseTo(0.05);
    expect(parseFaults('access-ttl=1m').accessTtl).toBe(60);
    expect(parseFaults(' latency = 5ms , invalid-grant ')).toEqual({ latency: { minMs: 5, maxMs: 5 }, invalidGrant: true });
    expect(parseFaults('')).toEqual({});
    expect(parseFaults('none')).toEqual({});
  });

  it('round-trips through its canonical text form', () => {
    const spec = 'latency=10ms-80ms,rate429=every:4:retry-after=2:http-date,burst5xx=3:502,fail500=forever,malformed=0.25,access-ttl=3s,invalid-grant,revoke-refresh';
    expect(formatFaults(parseFaults(spec))).toBe(spec);
    expect(parseFaults(formatFaults(parseFaults(spec)))).toEqual(parseFaults(spec));
  });

  it.each([
    ['latency', 'latency'],
    ['latency=20', 'latency=20'],
    ['latency=50ms-10ms', 'latency=50ms-10ms'],
    ['rate429=every:0', 'rate429=every:0'],
    ['rate429=every:5:retry-after=soon', 'retry-after'],
    ['rate429=every:5:jitter', 'jitter'],
    ['burst5xx=x', 'burst5xx=x'],
    ['burst5xx=2:404', 'burst5xx=2:404'],
    ['fail500=sometimes', 'fail500=sometimes'],
    ['malformed=1.5', 'malformed=1.5'],
    ['malformed=0', 'malformed=0'],
    ['access-ttl=500ms', 'access-ttl=500ms'],
    ['invalid-grant=yes', 'invalid-grant=yes'],
    ['latency=5ms,,fail500', 'latency=5ms,,fail500'],
    ['latency=5ms,latency=6ms', 'latency=6ms'],
    ['slow=1', 'slow'],
  ])('rejects %s, naming the bad part', (spec, part) => {
    let err: unknown;
    try {
      parseFaults(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OrderlinkError);
    const e = err as OrderlinkError;
    expect(e.code).toBe('BAD_FAULT_SPEC');
    expect(e.kind).toBe('usage');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(part);
  });

  it('validates a FaultSpec object with the same rules', async () => {
    const sb = await startSandbox({ orders: 1, faults: { burst5xx: { count: 2, status: 502 }, malformed: 0.5 } });
    try {
      expect(sb.faults()).toBe('burst5xx=2:502,malformed=0.5');
      expect(() => sb.setFaults({ latency: { minMs: 50, maxMs: 10 } })).toThrow(/latency/);
      expect(() => sb.setFaults({ rate429: { every: 0, retryAfterSeconds: 1, httpDate: false } })).toThrow(OrderlinkError);
      expect(sb.faults()).toBe('burst5xx=2:502,malformed=0.5');
    } finally {
      await sb.close();
    }
    await expect(startSandbox({ faults: 'nonsense' })).rejects.toMatchObject({ code: 'BAD_FAULT_SPEC' });
  });

  it('documents every fault in FAULTS_HELP', () => {
    for (const name of ['latency=', 'rate429=', 'retry-after', 'http-date', 'burst5xx=', 'fail500', 'malformed=', 'access-ttl=', 'invalid-grant', 'revoke-refresh']) {
      expect(FAULTS_HELP).toContain(name);
    }
  });
});

describe('faults at work', () => {
  let sb: SandboxHandle;
  beforeAll(async () => {
    sb = await startSandbox({ orders: 200, seed: 3 });
  });
  afterAll(async () => {
    await sb?.close();
  });
  beforeEach(() => sb.setFaults(''));

  async function tokens(account = 'alice'): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
    return refreshWith(await sb.mintRefreshToken(account)).then((r) => {
      expect(r.status).toBe(200);
      return r.body as { access_token: string; refresh_token: string; expires_in: number };
    });
  }
  async function refreshWith(rt: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${sb.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt, client_id: sb.clientId }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const orders = (token: string, q = '?limit=50'): Promise<Response> => fetch(`${sb.issuer}/api/v1/orders${q}`, { headers: { authorization: `Bearer ${token}` } });

  it('latency delays API calls (fixed, or deterministic within a range)', async () => {
    const { access_token } = await tokens();
    sb.setFaults('latency=120ms');
    let t = performance.now();
    expect((await fetch(`${sb.issuer}/api/v1/me`, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(115);
    sb.setFaults('latency=0ms-30ms');
    t = performance.now();
    for (let i = 0; i < 5; i++) await (await orders(access_token, '?limit=1')).arrayBuffer();
    expect(performance.now() - t).toBeLessThan(1000);
    expect(sb.stats().faults.latency).toBeGreaterThanOrEqual(6);
  });

  it('rate429 answers every Nth orders request with Retry-After (seconds or HTTP-date)', async () => {
    const { access_token } = await tokens();
    sb.setFaults('rate429=every:3:retry-after=2');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await orders(access_token, '?limit=1');
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('2');
        expect(await res.json()).toMatchObject({ error: 'rate_limited' });
      } else await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 429, 200, 200, 429]);
    sb.setFaults('rate429=every:1:retry-after=3:http-date');
    const res = await orders(access_token, '?limit=1');
    expect(res.status).toBe(429);
    const when = Date.parse(res.headers.get('retry-after')!);
    expect(res.headers.get('retry-after')).toMatch(/GMT$/);
    expect(when - Date.now()).toBeGreaterThan(2000);
    expect(when - Date.now()).toBeLessThanOrEqual(4000);
  });

  it('burst5xx gives N errors then recovers; fail500 never recovers until cleared', async () => {
    const { access_token } = await tokens();
    sb.setFaults('burst5xx=3');
    const seq: number[] = [];
    for (let i = 0; i < 5; i++) seq.push((await orders(access_token, '?limit=1')).status);
    expect(seq).toEqual([503, 503, 503, 200, 200]);
    sb.setFaults('burst5xx=1:502');
    expect((await orders(access_token)).status).toBe(502);
    sb.setFaults('fail500=forever');
    for (let i = 0; i < 4; i++) expect((await orders(access_token)).status).toBe(500);
    expect((await fetch(`${sb.issuer}/api/v1/me`, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(200);
    sb.setFaults('');
    expect((await orders(access_token)).status).toBe(200);
  });

  it('malformed breaks a deterministic fraction of orders, by order id', async () => {
    const { access_token } = await tokens();
    sb.setFaults('malformed=0.2');
    const a = (await (await orders(access_token, '?limit=200')).json()) as { orders: Record<string, unknown>[] };
    const b = (await (await orders(access_token, '?limit=200')).json()) as { orders: Record<string, unknown>[] };
    expect(b.orders).toEqual(a.orders);
    const broken = a.orders.filter((o) => {
      const amounts = o.amounts as Record<string, unknown>;
      const items = o.items as Record<string, unknown>[];
      return o.id === undefined || amounts.total === 'abc' || o.placed_at === 'not-a-date' || items[0]!.quantity === 'three';
    });
    expect(broken.length).toBeGreaterThan(20);
    expect(broken.length).toBeLessThan(70);
    const kinds = new Set(broken.map((o) => (o.id === undefined ? 'id' : (o.amounts as { total: string }).total === 'abc' ? 'total' : o.placed_at === 'not-a-date' ? 'placed_at' : 'quantity')));
    expect(kinds.size).toBe(4);
    sb.setFaults('malformed=1');
    const all = (await (await orders(access_token, '?limit=20')).json()) as { orders: unknown[] };
    expect(all.orders).toHaveLength(20);
    sb.setFaults('');
    const clean = (await (await orders(access_token, '?limit=200')).json()) as { orders: { id?: string }[] };
    expect(clean.orders.every((o) => typeof o.id === 'string')).toBe(true);
  });

  it('access-ttl shortens access tokens issued from then on', async () => {
    sb.setFaults('access-ttl=1s');
    // Token times are whole seconds (iat = the second it was issued): a token issued late in a
    // second would expire moments later, so issue it just after a second begins.
    await new Promise((r) => setTimeout(r, 1020 - (Date.now() % 1000)));
    const t = await tokens();
    expect(t.expires_in).toBe(1);
    expect((await orders(t.access_token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    const res = await orders(t.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const again = await refreshWith(t.refresh_token);
    expect(again.status).toBe(200);
    sb.setFaults('');
    expect((await tokens()).expires_in).toBe(3600);
  });

  it('invalid-grant fails the next refresh only, and the refresh token survives it', async () => {
    const t = await tokens();
    sb.setFaults('invalid-grant');
    const failed = await refreshWith(t.refresh_token);
    expect(failed.status).toBe(400);
    expect(failed.body.error).toBe('invalid_grant');
    const ok = await refreshWith(t.refresh_token);
    expect(ok.status).toBe(200);
    expect(sb.stats().faults.invalidGrant).toBe(1);
  });

  it('revoke-refresh revokes the grant: refresh fails invalid_grant, the access token dies, for good', async () => {
    const t = await tokens('bob');
    sb.setFaults('revoke-refresh');
    const failed = await refreshWith(t.refresh_token);
    expect(failed.status).toBe(400);
    expect(failed.body.error).toBe('invalid_grant');
    expect((await orders(t.access_token)).status).toBe(401);
    sb.setFaults('');
    expect((await refreshWith(t.refresh_token)).body.error).toBe('invalid_grant');
    expect(sb.stats().grantsRevoked).toBeGreaterThanOrEqual(1);
  });

  it('counts what it injected', () => {
    const f = sb.stats().faults;
    expect(f.rate429).toBeGreaterThanOrEqual(3);
    expect(f.burst5xx).toBeGreaterThanOrEqual(4);
    expect(f.fail500).toBeGreaterThanOrEqual(4);
    expect(f.malformed).toBeGreaterThan(20);
    expect(f.revokedRefresh).toBe(1);
  });
});

/** One request with full control of Host and Origin (fetch would set Host itself). */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers }, setHost: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin endpoints', () => {
  let sb: SandboxHandle;
  beforeAll(async () => {
    sb = await startSandbox({ orders: 20, faults: 'latency=1ms' });
  });
  afterAll(async () => {
    await sb?.close();
  });

  it('set faults from a text body, report them, and reject a bad spec naming the part', async () => {
    expect(await (await fetch(`${sb.issuer}/__sandbox/faults`)).json()).toEqual({ faults: 'latency=1ms' });
    const set = await fetch(`${sb.issuer}/__sandbox/faults`, { method: 'POST', body: 'burst5xx=2,rate429=every:5' });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ faults: 'rate429=every:5:retry-after=1,burst5xx=2' });
    expect(sb.faults()).toBe('rate429=every:5:retry-after=1,burst5xx=2');
    const bad = await fetch(`${sb.issuer}/__sandbox/faults`, { method: 'POST', body: 'burst5xx=2,latency=fast' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error_description: string }).error_description).toContain('latency=fast');
    expect(sb.faults()).toBe('rate429=every:5:retry-after=1,burst5xx=2');
    await fetch(`${sb.issuer}/__sandbox/faults`, { method: 'POST', body: '' });
    expect(sb.faults()).toBe('');
  });

  it('advance, accounts, mint and revoke', async () => {
    const before = sb.orderCount('carol');
    const adv = await fetch(`${sb.issuer}/__sandbox/advance`, { method: 'POST', body: '2' });
    const { changed } = (await adv.json()) as { changed: string[] };
    expect(changed.some((id) => id.startsWith('SB-carol-'))).toBe(true);
    expect(sb.orderCount('carol')).toBe(before + 2);
    const accounts = (await (await fetch(`${sb.issuer}/__sandbox/accounts`)).json()) as { accounts: { name: string; orders: number }[] };
    expect(accounts.accounts.map((a) => a.name)).toEqual(['alice', 'bob', 'carol']);
    const minted = await fetch(`${sb.issuer}/__sandbox/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'bob' }) });
    const { refresh_token } = (await minted.json()) as { refresh_token: string };
    expect(refresh_token).toMatch(/^[\w-]{20,}$/);
    const revoked = await fetch(`${sb.issuer}/__sandbox/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'bob' }) });
    expect(revoked.status).toBe(200);
    const res = await fetch(`${sb.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token, client_id: sb.clientId }),
    });
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('serve stats as JSON with per-route counts', async () => {
    const stats = (await (await fetch(`${sb.issuer}/__sandbox/stats`)).json()) as ReturnType<SandboxHandle['stats']>;
    expect(stats.requests['admin.faults']).toBeGreaterThanOrEqual(3);
    expect(stats.requests.token).toBeGreaterThanOrEqual(1);
    expect(stats.grants.refresh_token).toBe(0);
    expect(stats.grantErrors.invalid_grant).toBe(1);
    expect(stats.minted).toBe(1);
    expect(stats.serverErrors).toBe(0);
  });

  it('refuse a foreign Host header (DNS rebinding) and cross-origin browser requests', async () => {
    const port = sb.port;
    expect((await raw(port, 'GET', '/__sandbox/stats', { host: `127.0.0.1:${port}` })).status).toBe(200);
    expect((await raw(port, 'GET', '/__sandbox/stats', { host: `localhost:${port}` })).status).toBe(403);
    expect((await raw(port, 'GET', '/__sandbox/stats', { host: 'evil.example' })).status).toBe(403);
    expect([400, 403]).toContain((await raw(port, 'GET', '/__sandbox/stats', {})).status); // Node itself refuses HTTP/1.1 without Host
    const csrf = await raw(port, 'POST', '/__sandbox/faults', { host: `127.0.0.1:${port}`, origin: 'https://evil.example', 'content-type': 'text/plain' }, 'fail500');
    expect(csrf.status).toBe(403);
    expect(sb.faults()).not.toContain('fail500');
    const sameOrigin = await raw(port, 'POST', '/__sandbox/faults', { host: `127.0.0.1:${port}`, origin: sb.issuer }, 'latency=2ms');
    expect(sameOrigin.status).toBe(200);
  });
});
