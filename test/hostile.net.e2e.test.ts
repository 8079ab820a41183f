/**
 * Hostile providers through the real binary (H30–H35; docs/security.md): a provider that stalls,
 * dribbles, sends huge pages, oversized fields or non-JSON must never hang `sync` or `link`, never
 * exhaust memory, and every failure names the host, what happened and what to do. Limits are set
 * short by environment (1 s) and the tests wait generously (20 s), so a slow machine passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';
import { item, order, pointConnectionAt, startHostileProvider, type HostileProvider } from './helpers/hostile-provider.js';

const SHORT = {
  ORDERLINK_RETRY_BASE_MS: '20',
  ORDERLINK_RETRY_MAX_ATTEMPTS: '2',
  ORDERLINK_HTTP_TIMEOUT_MS: '1000',
  ORDERLINK_HTTP_BODY_TIMEOUT_MS: '1500',
};
const WAIT = { timeoutMs: 20_000 };

interface Report { ok: boolean; connections: Array<{ status: string; error: { code: string; message: string; hint: string } | null; invalid_records: Array<{ orderId: string | null; field: string; message: string }> }> }

describe('a hostile provider cannot hang, exhaust or confuse sync', () => {
  let sb: SandboxHandle;
  let hp: HostileProvider;
  let h: E2EHome;
  let conn: number;
  const good = [order('GOOD-1'), order('GOOD-2')];
  beforeAll(async () => {
    sb = await sandbox({ accounts: 1, orders: 5 });
    hp = await startHostileProvider({ kind: 'orders', orders: good });
    h = e2eHome(SHORT);
    conn = await linkSandbox(h, sb, 'alice');
    pointConnectionAt(h, conn, hp.url);
  });
  afterAll(async () => {
    await hp.close();
    await sb.close();
    h.cleanup();
  });

  const sync = async (...args: string[]) => {
    const before = hp.requests.length;
    const r = await h.cli(['--json', 'sync', '--full', ...args], WAIT);
    return { r, rep: JSON.parse(r.stdout || '{}') as Report, requests: hp.requests.length - before };
  };

  it('sanity: the hostile server speaks the orders API and a sync through it succeeds', async () => {
    hp.setDefault({ kind: 'orders', orders: good });
    const { r, rep } = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(rep.connections[0]!.status).toBe('success');
    expect(h.query<{ n: number }>('SELECT count(*) AS n FROM orders WHERE connection_id = ?', conn)[0]!.n).toBe(2);
  });

  it('H30: a provider that accepts and never answers: each attempt times out after 1 s, is retried, then a clear error; the lock is free again', async () => {
    hp.setDefault({ kind: 'stall' });
    const { r, rep, requests } = await sync();
    expect(r.signal, 'sync hung until killed').toBeNull();
    expect(r.code).toBe(1);
    const e = rep.connections[0]!.error!;
    expect(e.code).toBe('PROVIDER_TIMEOUT');
    expect(e.message).toContain(`timed out after 1 s at ${hp.host}`);
    expect(e.message).toContain('gave up after 2 attempts');
    expect(e.hint).toMatch(/ORDERLINK_HTTP_TIMEOUT_MS/);
    expect(requests).toBe(2);
    expect(r.ms).toBeLessThan(15_000);
    // The sync lock was released: the next run starts at once and succeeds.
    hp.setDefault({ kind: 'orders', orders: good });
    expect((await sync()).r.code).toBe(0);
  });

  it('H30: a provider that sends headers and then nothing: the whole-body deadline fires', async () => {
    hp.setDefault({ kind: 'stall', after: 'headers' });
    const { r, rep } = await sync();
    expect(r.code).toBe(1);
    expect(rep.connections[0]!.error!.message).toContain(`timed out after 1.5 s at ${hp.host} (the response body was still arriving)`);
  });

  it('H31: a body dribbled one byte per second is cut at the whole-body deadline (not reset by each byte)', async () => {
    hp.setDefault({ kind: 'dribble', intervalMs: 200 });
    const { r, rep } = await sync();
    expect(r.code).toBe(1);
    expect(rep.connections[0]!.error!.code).toBe('PROVIDER_TIMEOUT');
    expect(rep.connections[0]!.error!.message).toContain(`timed out after 1.5 s at ${hp.host}`);
  });

  it('H31: a stall on the first attempt only is retried and the run succeeds', async () => {
    hp.setDefault({ kind: 'orders', orders: good });
    hp.queue({ kind: 'stall' });
    const { r, rep, requests } = await sync();
    expect(r.code, r.stderr).toBe(0);
    expect(rep.connections[0]!.status).toBe('success');
    expect(requests).toBe(2);
  });

  it('H33: a 600 MB page (streamed, no length) stops at the 32 MiB limit with a clear error, and is not retried', async () => {
    hp.setDefault({ kind: 'huge', nameChars: 600_000_000 });
    const sentBefore = hp.bytesSent();
    const env = { ORDERLINK_HTTP_BODY_TIMEOUT_MS: '60000' };
    const r = await h.cli(['--json', 'sync', '--full'], { ...WAIT, env: { ...SHORT, ...env }, timeoutMs: 60_000 });
    const e = (JSON.parse(r.stdout) as Report).connections[0]!.error!;
    expect(r.code).toBe(1);
    expect(e.code).toBe('PROVIDER_RESPONSE_TOO_LARGE');
    expect(e.message).toContain(`the provider at ${hp.host} sent a response larger than the 32 MiB limit`);
    expect(e.hint).toMatch(/ORDERLINK_MAX_RESPONSE_BYTES/);
    // The server was stopped long before 600 MB: the client closed the connection.
    expect(hp.bytesSent() - sentBefore).toBeLessThan(200 * 1024 * 1024);
    expect(hp.requests.at(-1)!.path).toBe('/api/v1/orders');
  });

  it('H33: an announced Content-Length over the limit is refused before reading, once; the limit is overridable', async () => {
    hp.setDefault({ kind: 'huge', nameChars: 5_000_000, declareLength: true });
    const before = hp.requests.length;
    const r = await h.cli(['--json', 'sync', '--full'], { ...WAIT, env: { ORDERLINK_MAX_RESPONSE_BYTES: String(1024 * 1024) } });
    expect(r.code).toBe(1);
    expect(hp.requests.length - before).toBe(1);
    const e = (JSON.parse(r.stdout) as Report).connections[0]!.error!;
    expect(e.message).toBe(`the provider at ${hp.host} sent a response larger than the 1 MiB limit (it announced 4.8 MiB); orderlink stopped reading it`);
    // Under the default 32 MiB the page is read (its 5 MB name is then an invalid record: H34).
    expect((await sync()).r.code).toBe(3);
  });

  it('H34: a 20 MB item name makes its record invalid (named, skipped, run partial); the rest of the page is stored', async () => {
    hp.setDefault({ kind: 'huge', nameChars: 20_000_000, orders: [order('NEIGHBOUR-1')], bigOrderId: 'BIG-NAME' });
    const { r, rep } = await sync();
    expect(r.code, r.stderr).toBe(3);
    const c = rep.connections[0]!;
    expect(c.status).toBe('partial');
    expect(c.invalid_records).toHaveLength(1);
    expect(c.invalid_records[0]!.orderId).toBe('BIG-NAME');
    expect(c.invalid_records[0]!.field).toBe('items.0.name');
    expect(c.invalid_records[0]!.message).toContain('longer than the 4,096-character limit (20,000,000 characters)');
    expect(h.query('SELECT order_id FROM orders WHERE order_id = ?', 'NEIGHBOUR-1')).toHaveLength(1);
    expect(h.query('SELECT order_id FROM orders WHERE order_id = ?', 'BIG-NAME')).toHaveLength(0);
    expect(h.query<{ n: number }>('SELECT max(length(name)) AS n FROM order_items')[0]!.n).toBeLessThanOrEqual(4096);
    // The human-readable line names the record too.
    const plain = await h.cli(['sync', '--full'], WAIT);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toMatch(/record BIG-NAME skipped — .*longer than the 4,096-character limit/);
  });

  it('H34: a field at exactly the limit is kept; one character more is not', async () => {
    hp.setDefault({ kind: 'orders', orders: [order('AT-LIMIT', { items: [item(1, { name: 'n'.repeat(4096) })] }), order('OVER', { retailer: 'r'.repeat(4097) })] });
    const { r, rep } = await sync();
    expect(r.code).toBe(3);
    expect(rep.connections[0]!.invalid_records.map((x) => x.orderId)).toEqual(['OVER']);
    expect(h.query('SELECT order_id FROM orders WHERE order_id = ?', 'AT-LIMIT')).toHaveLength(1);
  });

  it('H35: an HTML error page with status 200, plain text, truncated JSON and an empty body each say what came, from which host, and what to do', async () => {
    const cases = [
      { body: '<!doctype html><html><body>Service Unavailable</body></html>', contentType: 'text/html', want: 'answered HTTP 200 with an HTML page instead of JSON', hint: /base URL/ },
      { body: 'upstream connect error', contentType: 'text/plain', want: 'with a text/plain body (22 characters) instead of JSON', hint: /try again later/i },
      { body: '{"orders":[{"id":"A"', contentType: 'application/json', want: 'with JSON that is cut off or malformed', hint: /try again later/i },
      { body: '', contentType: 'application/json', want: 'with an empty body instead of JSON', hint: /try again later/i },
    ];
    for (const c of cases) {
      hp.setDefault({ kind: 'raw', ...c });
      const { r, rep } = await sync();
      expect(r.code, c.body).toBe(1);
      const e = rep.connections[0]!.error!;
      expect(e.code).toBe('PROVIDER_NOT_JSON');
      expect(e.message).toContain(`the provider at ${hp.host} `);
      expect(e.message).toContain(c.want);
      expect(e.hint).toMatch(c.hint);
      expect(r.stdout + r.stderr).not.toMatch(/SyntaxError|internal error/);
    }
    const human = await h.cli(['sync'], WAIT);
    expect(human.stderr).toContain(`the provider at ${hp.host} answered HTTP 200 with an empty body instead of JSON`);
  });
});

describe('a hostile authorization server cannot hang link', () => {
  it('H32: discovery that never answers ends in 1 s per request with the host named, nothing stored', async () => {
    const hp = await startHostileProvider({ kind: 'stall' });
    const h = e2eHome(SHORT);
    try {
      const r = await h.cli(['--json', 'link', 'sandbox', '--base-url', hp.url, '--refresh-token-env', 'RT'], { ...WAIT, env: { RT: 'x'.repeat(40) } });
      expect(r.signal, 'link hung until killed').toBeNull();
      expect(r.code).toBe(1);
      const err = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
      expect(err.code).toBe('PROVIDER_TIMEOUT');
      expect(err.message).toContain(`timed out after 1 s at ${hp.host}`);
      expect(r.ms).toBeLessThan(15_000);
    } finally {
      await hp.close();
      h.cleanup();
    }
  });

  it('H32: a discovery document dribbled forever is cut at the whole-body deadline', async () => {
    const hp = await startHostileProvider({ kind: 'dribble', intervalMs: 300, body: '{"issuer":"' + 'x'.repeat(1000) + '"}' });
    const h = e2eHome(SHORT);
    try {
      const r = await h.cli(['--json', 'link', 'sandbox', '--base-url', hp.url, '--refresh-token-env', 'RT'], { ...WAIT, env: { RT: 'x'.repeat(40) } });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).error.message).toContain(`timed out after 1.5 s at ${hp.host}`);
    } finally {
      await hp.close();
      h.cleanup();
    }
  });
});
