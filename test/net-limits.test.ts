/**
 * The request limits (src/net-limits.ts), the OAuth transport that uses them, the policy's field
 * limit, and the hostile provider helper itself — in process, against real servers on 127.0.0.1.
 */
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchLimited, ProviderTimeoutError, ResponseTooLargeError, type NetLimits } from '../src/net-limits.js';
import { discover } from '../src/oauth/discovery.js';
import { applyPolicy, OversizedField } from '../src/policy/index.js';
import { sandboxRecord, sandbox as sandboxConnector } from '../src/connectors/sandbox/index.js';
import { order, item, startHostileProvider, type HostileProvider } from './helpers/hostile-provider.js';

const f = undiciFetch as unknown as typeof globalThis.fetch;
const LIMITS: NetLimits = { headersTimeoutMs: 300, bodyTimeoutMs: 500, maxResponseBytes: 64 * 1024 };
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('fetchLimited', () => {
  let hp: HostileProvider;
  beforeAll(async () => {
    hp = await startHostileProvider();
  });
  afterAll(() => hp.close());

  it('a stall before headers ends at the deadline with the host named', async () => {
    hp.setDefault({ kind: 'stall' });
    const t0 = Date.now();
    const err = await fetchLimited(f, `${hp.url}/api/v1/orders`, {}, LIMITS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderTimeoutError);
    expect((err as Error).message).toBe(`timed out after 0.3 s at ${hp.host} (no response)`);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('the whole-body deadline is a total, not an idle timeout: a dribble is cut', async () => {
    hp.setDefault({ kind: 'dribble', intervalMs: 50, body: 'x'.repeat(1000) });
    const err = await fetchLimited(f, `${hp.url}/x`, {}, LIMITS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderTimeoutError);
    expect((err as ProviderTimeoutError).phase).toBe('body');
  });

  it('a complete answer leaves no timer behind; the byte cap applies with and without Content-Length', async () => {
    hp.setDefault({ kind: 'raw', body: '{"ok":true}', contentType: 'application/json' });
    const before = timers();
    const got = await fetchLimited(f, `${hp.url}/x`, {}, LIMITS);
    expect(new TextDecoder().decode(got.body)).toBe('{"ok":true}');
    expect(timers()).toBeLessThanOrEqual(before);
    for (const declareLength of [true, false]) {
      hp.setDefault({ kind: 'huge', nameChars: 10_000_000, declareLength });
      const err = await fetchLimited(f, `${hp.url}/x`, {}, LIMITS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ResponseTooLargeError);
      expect((err as Error).message).toContain(`at ${hp.host} sent a response larger than the 64 KiB limit`);
    }
  });

  it("the caller's abort wins over the deadline and is not reported as a timeout", async () => {
    hp.setDefault({ kind: 'stall' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('ctrl-c')), 50);
    const err = await fetchLimited(f, `${hp.url}/x`, {}, LIMITS, ac.signal).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ProviderTimeoutError);
    expect((err as Error).message).toBe('ctrl-c');
  });

  it('OAuth discovery has the same deadlines (link cannot hang on a silent server)', async () => {
    hp.setDefault({ kind: 'stall' });
    const err = await discover(hp.url, { allowLoopbackHttp: true, fetch: f, limits: LIMITS }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    expect((err as Error).message).toContain(`at ${hp.host}`);
  });

  it('the hostile helper plays cursor games: A→B→A, never-changing, null with has_more', async () => {
    const page = async (cursor?: string) => {
      const r = await f(`${hp.url}/api/v1/orders?limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      return (await r.json()) as { orders: unknown[]; next_cursor: string | null; has_more: boolean };
    };
    hp.setDefault({ kind: 'cursors', next: { '': 'A', A: 'B', B: 'A' } });
    expect([(await page()).next_cursor, (await page('A')).next_cursor, (await page('B')).next_cursor]).toEqual(['A', 'B', 'A']);
    hp.setDefault({ kind: 'cursors', next: { '': null } });
    expect(await page()).toMatchObject({ next_cursor: null, has_more: true });
  });
});

describe('the field length limit (policy)', () => {
  const parse = (raw: unknown) => sandboxRecord.safeParse(applyPolicy(raw, sandboxConnector.allowList, sandboxConnector.freeText));

  it('a string over 4,096 characters anywhere makes the record invalid, naming the field and both lengths', () => {
    const r = parse(order('X', { items: [item(1), item(2, { sku: 's'.repeat(5000) })] }));
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe('items.1.sku: longer than the 4,096-character limit (5,000 characters)');
    expect(parse(order('Y', { items: [item(1, { name: 'n'.repeat(4096) })] })).success).toBe(true);
  });

  it('the marker keeps no text, and other schema messages are unchanged', () => {
    const clean = applyPolicy(order('Z', { retailer: 'secret'.repeat(1000) }), sandboxConnector.allowList, sandboxConnector.freeText) as { retailer: unknown };
    expect(clean.retailer).toBeInstanceOf(OversizedField);
    expect(JSON.stringify(clean)).not.toContain('secret');
    const bad = parse(order('W', { currency: 'usd' }));
    expect(bad.error!.issues[0]!.message).not.toMatch(/limit/);
  });
});
