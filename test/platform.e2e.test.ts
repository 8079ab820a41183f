/**
 * The connector platform through the real binary: account identity on link (issue 9 #4), local
 * checks before any URL (issue 9 #5), invalid records at the door (issue 9 #6, #7), endless
 * pagination (issue 9 #10), the OAuth strategy's separate API base, and `connector`.
 * A small hostile orders API (sandbox-shaped) runs on 127.0.0.1 beside the real sandbox, which
 * does the OAuth.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';
import { order } from './helpers/hostile-provider.js';

type Mode = 'dup-lines' | 'overflow' | 'loop' | 'no-cursor' | 'flood' | 'twenty' | 'delete-one' | 'delete-five' | 'two' | 'ok';

/** A sandbox-shaped orders API whose misbehaviour is chosen per test. */
function hostileApi(): Promise<{ url: string; setMode(m: Mode): void; requests(): number; close(): Promise<void> }> {
  let mode: Mode = 'ok';
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('content-type', 'application/json');
    if (u.pathname === '/api/v1/me') return res.end(JSON.stringify({ account_id: 'hostile-1', label: 'hostile@example.test' }));
    if (u.pathname !== '/api/v1/orders') return res.writeHead(404).end('{}');
    requests++;
    const cursor = u.searchParams.get('cursor');
    const page = (orders: unknown[], next: string | null, hasMore: boolean) => res.end(JSON.stringify({ orders, next_cursor: next, has_more: hasMore }));
    switch (mode) {
      case 'dup-lines':
        return page([order('H-1'), order('H-2', { items: [{ line: 1, name: 'A', unit_price: '5.00', quantity: 1 }, { line: 1, name: 'B', unit_price: '5.00', quantity: 1 }] }), order('H-3')], null, false);
      case 'overflow':
        return page(
          [
            order('H-1'),
            // Safe integers in minor units, but beyond the store's bound: sum() would overflow.
            order('H-big', { amounts: { subtotal: '90071992547409.91', tax: '0', shipping: '0', discount: '0', total: '90071992547409.91' } }),
            order('H-line', { items: [{ line: 1, name: 'Bulk', unit_price: '9000000000000.00', quantity: 999999 }] }),
          ],
          null,
          false,
        );
      case 'loop':
        // A → B → A → B …
        if (cursor === null || cursor === 'B') return page([order(`H-${cursor ?? 'start'}`)], 'A', true);
        return page([order('H-A')], 'B', true);
      case 'twenty':
        return page(Array.from({ length: 20 }, (_, i) => order(`H-${i}`)), null, false);
      case 'two':
        return page([order('H-0'), order('H-1')], null, false);
      case 'delete-one':
      case 'delete-five': {
        const n = mode === 'delete-one' ? 1 : 5;
        return page(Array.from({ length: n }, (_, i) => ({ id: `H-${i}`, deleted: true, updated_at: '2026-03-02T00:00:00.000Z' })), null, false);
      }
      case 'flood':
        return page(Array.from({ length: 12 }, (_, i) => order(`H-${i}`)), null, false);
      case 'no-cursor':
        return page([order('H-1')], null, true);
      default:
        return page([order('H-1')], null, false);
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        setMode: (m) => void (mode = m),
        requests: () => requests,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    }),
  );
}

let sb: SandboxHandle;
let api: Awaited<ReturnType<typeof hostileApi>>;
beforeAll(async () => {
  sb = await sandbox({ orders: 20 });
  api = await hostileApi();
});
afterAll(async () => {
  await api.close();
  await sb.close();
});

async function linkHostile(h: E2EHome, mode: Mode): Promise<void> {
  api.setMode(mode);
  const rt = await sb.mintRefreshToken('alice');
  const r = await h.cli(['--json', 'link', 'sandbox', '--base-url', sb.issuer, '--api-url', api.url, '--refresh-token-env', 'RT'], { env: { RT: rt } });
  expect(r.code, r.stderr).toBe(0);
}

describe('account identity on link (issue 9 #4)', () => {
  it('a reconnect that comes back with a different account is refused, naming both, and changes nothing', async () => {
    const h = e2eHome();
    try {
      const id = await linkSandbox(h, sb, 'alice', 'main');
      expect((await h.cli(['sync'])).code).toBe(0);
      const before = h.query<{ n: number }>('SELECT count(*) n FROM orders')[0]!.n;
      const bobRt = await sb.mintRefreshToken('bob');
      const r = await h.cli(['link', '--reconnect', 'sandbox:main', '--refresh-token-env', 'RT'], { env: { RT: bobRt } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/you logged in as .*bob.*but sandbox:main belongs to .*alice/i);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
      const conn = h.query<{ account_id: string; status: string }>('SELECT account_id, status FROM connections WHERE id = ?', id)[0]!;
      expect(conn.account_id).toBe(sb.accounts.find((a) => a.name === 'alice')!.accountId);
      expect(h.query<{ n: number }>('SELECT count(*) n FROM orders')[0]!.n).toBe(before);
      const audit = await h.cli(['audit', '--json', '--action', 'link']);
      expect(audit.stdout).toContain('ACCOUNT_MISMATCH');
    } finally {
      h.cleanup();
    }
  });

  it('linking an already-linked account under a second alias is refused (it would double-count)', async () => {
    const h = e2eHome();
    try {
      await linkSandbox(h, sb, 'alice', 'one');
      const rt = await sb.mintRefreshToken('alice');
      const r = await h.cli(['link', 'sandbox', '--base-url', sb.issuer, '--alias', 'two', '--refresh-token-env', 'RT'], { env: { RT: rt } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/already linked as sandbox:one/);
      expect(h.query<{ n: number }>('SELECT count(*) n FROM connections')[0]!.n).toBe(1);
      // A different account under a second alias is fine.
      await linkSandbox(h, sb, 'bob', 'two');
    } finally {
      h.cleanup();
    }
  });
});

describe('local checks come first (issue 9 #5)', () => {
  it('with no usable key source, link fails before any authorization URL is shown or opened', async () => {
    const h = e2eHome({ ORDERLINK_VAULT_KEY: '' });
    try {
      const before = { ...sb.stats().requests };
      const r = await h.cli(['link', 'sandbox', '--base-url', sb.issuer, '--no-browser', '--timeout', '5']);
      expect(r.code).toBe(5);
      expect(r.stderr).not.toMatch(/Open this URL|authorize|\?client_id=/);
      // Nothing reached the provider: not even discovery, let alone an authorization request.
      const after = sb.stats().requests;
      for (const route of ['authorization', 'discovery', 'oauth_metadata', 'token']) expect(after[route] ?? 0, route).toBe(before[route] ?? 0);
    } finally {
      h.cleanup();
    }
  });

  it('an empty CI token variable fails locally, before discovery or a refresh is attempted', async () => {
    const h = e2eHome();
    try {
      const r = await h.cli(['link', 'sandbox', '--base-url', 'http://127.0.0.1:9', '--refresh-token-env', 'NOPE']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/NOPE is empty or not set/);
    } finally {
      h.cleanup();
    }
  });
});

describe('invalid records are stopped at the door', () => {
  it('issue 9 #7: repeated item line numbers make that record invalid — named, skipped, run partial — not the page', async () => {
    const h = e2eHome();
    try {
      await linkHostile(h, 'dup-lines');
      const r = await h.cli(['--json', 'sync']);
      expect(r.code).toBe(3);
      const out = JSON.parse(r.stdout) as { connections: Array<{ status: string; added: number; invalid_records: Array<{ orderId: string; field: string; message: string }> }> };
      expect(out.connections[0]!.status).toBe('partial');
      expect(out.connections[0]!.added).toBe(2);
      expect(out.connections[0]!.invalid_records[0]).toMatchObject({ orderId: 'H-2', field: 'items.1.line' });
      // The next sync is not stuck at the same page forever.
      expect((await h.cli(['sync'])).code).toBe(3);
    } finally {
      h.cleanup();
    }
  });

  it('issue 9 #6: amounts beyond the bound are invalid records; stats and later syncs keep working', async () => {
    const h = e2eHome();
    try {
      await linkHostile(h, 'overflow');
      const r = await h.cli(['--json', 'sync']);
      expect(r.code).toBe(3);
      const out = JSON.parse(r.stdout) as { connections: Array<{ added: number; invalid_records: Array<{ orderId: string; message: string }> }> };
      expect(out.connections[0]!.added).toBe(1);
      expect(out.connections[0]!.invalid_records.map((e) => e.orderId).sort()).toEqual(['H-big', 'H-line']);
      const stats = await h.cli(['--json', 'orders', 'stats', '--by', 'month']);
      expect(stats.code, stats.stderr).toBe(0);
      expect((await h.cli(['sync'])).code).toBe(3);
    } finally {
      h.cleanup();
    }
  });
});

describe('endless pagination (issue 9 #10)', () => {
  for (const [mode, why] of [
    ['loop', /already returned \(a loop\)/],
    ['no-cursor', /more pages but gave no cursor/],
  ] as const) {
    it(`${mode}: stopped with an error naming the provider; what came before is kept`, async () => {
      const h = e2eHome();
      try {
        await linkHostile(h, mode);
        const before = api.requests();
        const r = await h.cli(['sync'], { timeoutMs: 30_000 });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(why);
        expect(r.stderr).toContain(new URL(api.url).host);
        expect(api.requests() - before).toBeLessThan(10);
        expect(h.query<{ n: number }>('SELECT count(*) n FROM orders')[0]!.n).toBeGreaterThanOrEqual(1);
      } finally {
        h.cleanup();
      }
    });
  }
});

describe('watching over the data (issue 12)', () => {
  it('a run that would delete more than 10 % of a connection holds those deletions until --accept-deletions', async () => {
    const h = e2eHome();
    try {
      await linkHostile(h, 'twenty');
      expect((await h.cli(['sync'])).code).toBe(0);
      const live = () => h.query<{ n: number }>('SELECT count(*) n FROM orders WHERE deleted_at IS NULL')[0]!.n;
      api.setMode('delete-one'); // 5 %: applied
      expect((await h.cli(['sync', '--full'])).code).toBe(0);
      expect(live()).toBe(19);
      api.setMode('delete-five'); // 4 more of 19 = 21 %: held
      const held = await h.cli(['--json', 'sync', '--full']);
      expect(held.code).toBe(3);
      const rep = JSON.parse(held.stdout) as { connections: Array<{ status: string; error: { code: string }; held_deletions: { would_delete: number; held_records: number } }> };
      expect(rep.connections[0]).toMatchObject({ status: 'partial', error: { code: 'DELETIONS_HELD' }, held_deletions: { would_delete: 4, held_records: 19 } });
      expect(live()).toBe(19);
      expect((await h.cli(['--json', 'audit', '--action', 'sync.held'])).stdout).toContain('would_delete');
      const text = await h.cli(['sync', '--full']);
      expect(text.stderr).toMatch(/would delete 4 of 19 records .*--accept-deletions/s);
      expect((await h.cli(['sync', '--full', '--accept-deletions'])).code).toBe(0);
      expect(live()).toBe(15);
    } finally {
      h.cleanup();
    }
  });

  it('a full sync that returns far fewer records than the connection holds says so, and deletes nothing', async () => {
    const h = e2eHome();
    try {
      await linkHostile(h, 'twenty');
      expect((await h.cli(['sync'])).code).toBe(0);
      api.setMode('two');
      const r = await h.cli(['--json', 'sync', '--full']);
      expect(r.code).toBe(0);
      const rep = JSON.parse(r.stdout) as { connections: Array<{ warnings: Array<{ code: string }> }> };
      expect(rep.connections[0]!.warnings[0]!.code).toBe('FEWER_RECORDS');
      expect(h.query<{ n: number }>('SELECT count(*) n FROM orders WHERE deleted_at IS NULL')[0]!.n).toBe(20);
    } finally {
      h.cleanup();
    }
  });
});

describe('bounded pages (SECURITY.md rule 28)', () => {
  it('a page with more records than the documented cap is refused with a clear error, nothing of it saved', async () => {
    const h = e2eHome({ ORDERLINK_MAX_PAGE_RECORDS: '10' });
    try {
      await linkHostile(h, 'flood');
      const r = await h.cli(['sync']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/sent 12 records in one page \(the limit is 10\)/);
      expect(h.query<{ n: number }>('SELECT count(*) n FROM orders')[0]!.n).toBe(0);
    } finally {
      h.cleanup();
    }
  });
});

describe('orderlink connector', () => {
  it('lists and shows connectors with the capabilities other commands act on', async () => {
    const h = e2eHome();
    try {
      const list = JSON.parse((await h.cli(['--json', 'connector', 'list'])).stdout) as Array<{ id: string; capabilities: Record<string, boolean> }>;
      expect(list.find((c) => c.id === 'sandbox')!.capabilities).toMatchObject({ incremental: true, revocation: true });
      const show = await h.cli(['connector', 'show', 'sandbox']);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/checkpoint\s+per page/);
      const setup = await h.cli(['connector', 'setup', 'sandbox', '--credentials-stdin'], { stdin: 'id\nsecret\n' });
      expect(setup.code).toBe(2);
      expect(setup.stderr).toMatch(/no app credentials to set up/);
    } finally {
      h.cleanup();
    }
  });
});
