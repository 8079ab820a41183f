/**
 * Checkpoint semantics and response classification, driven through the real engine, a real
 * SQLite store and a real HTTP server on 127.0.0.1 speaking a small Plaid-like stream protocol:
 * `stream` connectors commit an update whole or not at all and restart from the FIRST cursor when
 * the provider says the data changed mid-update; a provider that is "not ready yet" is polled;
 * a 400 the connector classifies as "login required" is a reauth, not a failure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineConnector, type Connector, type Verdict } from '../src/connectors/types.js';
import { syncConnection, type SyncConnectionOptions } from '../src/sync/engine.js';
import { testContext } from './helpers/context.js';

/** The provider: three pages of two records; faults chosen per test. */
interface Faults {
  mutateOnceAtPage?: number;
  notReadyTimes?: number;
  loginRequired?: boolean;
}
let faults: Faults = {};
const seenCursors: string[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { cursor } = JSON.parse(body || '{}') as { cursor?: string };
      seenCursors.push(cursor ?? '');
      res.setHeader('content-type', 'application/json');
      if (faults.loginRequired) return res.writeHead(400).end(JSON.stringify({ error_code: 'ITEM_LOGIN_REQUIRED', error_message: 'the login details of this item have changed' }));
      if (faults.notReadyTimes) {
        faults.notReadyTimes--;
        return res.end(JSON.stringify({ added: [], next_cursor: '', has_more: false, status: 'NOT_READY' }));
      }
      const page = cursor ? Number(cursor.slice(1)) : 0;
      if (faults.mutateOnceAtPage === page) {
        delete faults.mutateOnceAtPage;
        return res.writeHead(400).end(JSON.stringify({ error_code: 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION' }));
      }
      const added = [0, 1].map((i) => ({ id: `T-${page}-${i}`, amount: `${page + 1}.0${i}` }));
      res.end(JSON.stringify({ added, next_cursor: `p${page + 1}`, has_more: page < 2, status: 'READY' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const record = z.object({ id: z.string(), amount: z.string() });
const classify = (res: { status: number; body: string }): Verdict => {
  if (res.status < 400) return { kind: 'ok' };
  const code = (JSON.parse(res.body) as { error_code?: string }).error_code;
  if (code === 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION') return { kind: 'restart', message: code };
  if (code === 'ITEM_LOGIN_REQUIRED') return { kind: 'reauth', message: code };
  return { kind: 'fatal', message: code ?? `HTTP ${res.status}` };
};

const streamy: Connector = defineConnector<z.infer<typeof record>, string>({
  id: 'streamy',
  displayName: 'Streamy',
  kind: 'aggregator',
  retailers: ['*'],
  auth: { type: 'fileImport', description: 'test' },
  capabilities: { incremental: true, items: false, refunds: false, deletions: false, revocation: false },
  descriptor: { endpoints: { sync: '/sync' }, pagination: { style: 'cursor', pageSize: { default: 2, max: 2 } }, rateLimit: null },
  checkpoint: 'stream',
  baseUrl: { default: null, env: 'ORDERLINK_STREAMY_URL' },
  docs: 'docs/connectors.md',
  rawSchema: record,
  cursorSchema: z.string(),
  allowList: ['id', 'amount'],
  freeText: [],
  classify,
  async fetchOrders({ baseUrl, cursor, http }) {
    const res = await http(`${baseUrl}/sync`, { method: 'POST', body: JSON.stringify({ cursor: cursor ?? '' }) });
    const body = (await res.json()) as { added: unknown[]; next_cursor: string; has_more: boolean; status: string };
    if (body.status === 'NOT_READY' || body.next_cursor === '') return { records: [], nextCursor: cursor, hasMore: false, notReady: true };
    return { records: body.added, nextCursor: body.next_cursor, hasMore: body.has_more };
  },
  toOrder: (r) => ({
    orderId: r.id, retailer: 'Streamy', orderDate: '2026-01-01T00:00:00.000Z', status: 'delivered', currency: 'USD',
    subtotal: 0, tax: 0, shipping: 0, discount: 0, total: Math.round(Number(r.amount) * 100), refunded: 0, providerUpdatedAt: null, items: [],
  }),
});

function setup() {
  const t = testContext();
  const store = t.ctx.store();
  const conn = store.connections.insert({ connector: 'streamy', retailer: '*', alias: 'default', providerType: 'aggregator', tokenRef: 'x', scopes: '', accountLabel: null, baseUrl: null, config: { apiBase: base } });
  const run = (extra: Partial<SyncConnectionOptions> = {}) =>
    syncConnection({
      store, connection: store.connections.get(conn.id)!, handle: 'streamy:default', connector: streamy,
      session: { get: async () => ({ type: 'credential', credential: {}, app: null }) },
      fetch: globalThis.fetch, policy: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1000, timeoutMs: 5000 },
      signal: new AbortController().signal, runId: 'r', full: false, since: null, dryRun: false, pageSize: 2,
      now: () => new Date(), trace: () => undefined, audit: () => undefined, onProgress: () => undefined, ...extra,
    });
  const ids = () => (store.db.prepare('SELECT order_id FROM orders ORDER BY order_id').all() as Array<{ order_id: string }>).map((r) => r.order_id);
  const cursor = () => store.connections.get(conn.id)!.syncCursor;
  return { t, store, conn, run, ids, cursor };
}

const ALL = ['T-0-0', 'T-0-1', 'T-1-0', 'T-1-1', 'T-2-0', 'T-2-1'];

describe('checkpoint: stream', () => {
  it('a mutation mid-update restarts from the first cursor and commits the update once, whole', async () => {
    const s = setup();
    try {
      faults = { mutateOnceAtPage: 2 };
      seenCursors.length = 0;
      const r = await s.run();
      expect(r.status).toBe('success');
      expect(seenCursors).toEqual(['', 'p1', 'p2', '', 'p1', 'p2']);
      expect(s.ids()).toEqual(ALL);
      expect(r.added).toBe(6);
      expect(JSON.parse(s.cursor()!)).toBe('p3');
      // The next incremental run starts at the committed cursor.
      seenCursors.length = 0;
      await s.run();
      expect(seenCursors[0]).toBe('p3');
    } finally {
      s.t.cleanup();
    }
  });

  it('an update cut short (--max-pages) commits nothing of it, not even its first pages', async () => {
    const s = setup();
    try {
      faults = {};
      const r = await s.run({ maxPages: 2 });
      expect(r.pages).toBe(2);
      expect(s.ids()).toEqual([]);
      expect(s.cursor()).toBeNull();
    } finally {
      s.t.cleanup();
    }
  });

  it('"not ready yet" is polled with backoff, then the update arrives', async () => {
    const s = setup();
    try {
      faults = { notReadyTimes: 2 };
      const r = await s.run();
      expect(r.status).toBe('success');
      expect(s.ids()).toEqual(ALL);
    } finally {
      s.t.cleanup();
    }
  });

  it('a 400 the connector classifies as login-required is reauth_required, not a failure', async () => {
    const s = setup();
    try {
      faults = { loginRequired: true };
      const r = await s.run();
      expect(r.status).toBe('reauth_required');
      expect(r.error?.code).toBe('REAUTH_REQUIRED');
      expect(s.store.connections.get(s.conn.id)!.status).toBe('reauth_required');
    } finally {
      faults = {};
      s.t.cleanup();
    }
  });
});
