/**
 * The SDK page listener (src/link/page-server.ts) under attack, in process: the same rules as the
 * OAuth callback (SECURITY.md 1, 2, 5, 6) — loopback only, Host check, a random path, same-origin
 * JSON results only, one result then closed, no echo, timeout and Ctrl-C close the port.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseResult, servePage, type ServedPage } from '../src/link/page-server.js';

const HTML = '<!doctype html><title>t</title><p>page</p>';
const MARK = 'ECHO-MARKER-9b1f';

interface Raw {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}
function raw(port: number, o: { path: string; method?: string; host?: string; headers?: Record<string, string>; body?: string }): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: o.path, method: o.method ?? 'GET', headers: { host: o.host ?? `127.0.0.1:${port}`, ...(o.headers ?? {}) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
const post = (p: ServedPage, body: string, headers: Record<string, string> = {}) =>
  raw(p.port, { path: `${new URL(p.url).pathname}/result`, method: 'POST', body, headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${p.port}`, ...headers } });
const serve = (o: { timeoutMs?: number; signal?: AbortSignal; maxBadRequests?: number } = {}) =>
  servePage({ html: HTML, timeoutMs: o.timeoutMs ?? 10_000, signal: o.signal ?? new AbortController().signal, ...(o.maxBadRequests ? { maxBadRequests: o.maxBadRequests } : {}) });
const refused = (port: number) => raw(port, { path: '/' }).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');

describe('page server', () => {
  it('listens on 127.0.0.1 at a random path, and serves the page with no-store, no-referrer and no framing', async () => {
    const a = await serve();
    const b = await serve();
    try {
      expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/link\/[A-Za-z0-9_-]{43}$/);
      expect(a.port).not.toBe(b.port);
      expect(new URL(a.url).pathname).not.toBe(new URL(b.url).pathname);
      const r = await raw(a.port, { path: new URL(a.url).pathname });
      expect(r.status).toBe(200);
      expect(r.body).toBe(HTML);
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(String(r.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses a wrong Host header (DNS rebinding) and a wrong path without ending the flow, and never echoes the request', async () => {
    const p = await serve();
    const path = new URL(p.url).pathname;
    const answers = [
      await raw(p.port, { path, host: `evil.example:${p.port}` }),
      await raw(p.port, { path, host: `localhost:${p.port}` }),
      await raw(p.port, { path: `/link/${MARK}?x=${MARK}`, headers: { 'x-mark': MARK } }),
      await raw(p.port, { path: `${path}/result`, method: 'POST', host: `attacker.test`, body: `{"event":"success","merchant":"${MARK}"}`, headers: { 'content-type': 'application/json' } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 400, 404, 400]);
    for (const a of answers) expect(a.body + JSON.stringify(a.headers)).not.toContain(MARK);
    const ok = await post(p, '{"event":"success","merchant":"Target"}');
    expect(ok.status).toBe(200);
    expect(ok.body).not.toContain('Target');
    expect(await p.result).toEqual({ event: 'success', merchant: 'Target' });
  });

  it('accepts a result only as same-origin JSON: no form posts, no other origins, no cross-site fetches, no junk', async () => {
    const p = await serve();
    const bad = [
      await post(p, 'event=success', { 'content-type': 'application/x-www-form-urlencoded' }),
      await post(p, '{"event":"success"}', { 'content-type': 'text/plain' }),
      await post(p, '{"event":"success"}', { origin: 'https://evil.example' }),
      await post(p, '{"event":"success"}', { 'sec-fetch-site': 'cross-site' }),
      await post(p, '{"event":"pwned"}'),
      await post(p, '{"event":"success","merchant":{"x":1}}'),
      await post(p, `{"event":"success","merchant":"${'x'.repeat(5000)}"}`),
      await raw(p.port, { path: new URL(p.url).pathname + '/result', method: 'GET' }),
    ];
    expect(bad.map((b) => b.status)).toEqual([415, 415, 400, 400, 400, 400, 413, 405]);
    const ok = await post(p, '{"event":"exit"}');
    expect(ok.status).toBe(200);
    expect(await p.result).toEqual({ event: 'exit' });
  });

  it('takes one result: a second one is refused and the port closes', async () => {
    const p = await serve();
    const first = await post(p, '{"event":"success","merchant":"A"}');
    const second = await post(p, '{"event":"success","merchant":"B"}').catch(() => ({ status: 0, body: '' }));
    expect(first.status).toBe(200);
    expect([0, 409]).toContain(second.status); // answered "already answered", or the port was already closed
    expect((await p.result).merchant).toBe('A');
    await new Promise((r) => setTimeout(r, 50));
    expect(await refused(p.port)).toBe(true);
  });

  it('times out with a clear error and closes the port', async () => {
    const p = await serve({ timeoutMs: 200 });
    await expect(p.result).rejects.toMatchObject({ code: 'LINK_TIMEOUT' });
    await p.close();
    expect(await refused(p.port)).toBe(true);
  });

  it('Ctrl-C ends the wait and closes the port', async () => {
    const ac = new AbortController();
    const p = await serve({ signal: ac.signal });
    ac.abort();
    await expect(p.result).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await refused(p.port)).toBe(true);
  });

  it('of two results racing, exactly one is accepted', async () => {
    const p = await serve();
    const answers = await Promise.all(['A', 'B'].map((m) => post(p, `{"event":"success","merchant":"${m}"}`).catch(() => ({ status: 0, body: '' }))));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const won = answers.findIndex((a) => a.status === 200);
    expect((await p.result).merchant).toBe(['A', 'B'][won]);
  });

  it('stops after too many bad requests', async () => {
    const p = await serve({ maxBadRequests: 3 });
    for (let i = 0; i < 3; i++) await raw(p.port, { path: '/nope' }).catch(() => undefined);
    await expect(p.result).rejects.toMatchObject({ code: 'TOO_MANY_BAD_REQUESTS' });
  });

  it('parseResult keeps only small string maps with a known event', () => {
    expect(parseResult('{"event":"error","error_code":"X"}')).toEqual({ event: 'error', error_code: 'X' });
    expect(parseResult('[1]')).toBeNull();
    expect(parseResult('{"__proto__":"x","event":"success"}')).toBeNull();
    expect(parseResult('{"event":"success","a":"\\u001b[31m"}')).toEqual({ event: 'success', a: ' [31m' });
  });
});
