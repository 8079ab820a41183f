/**
 * The generic `oauth` connector (src/connectors/generic): the descriptor schema and its published
 * JSON Schema, the mapping (money formats, dates, status map, pagination helpers), and the proof
 * that it is complete — a connection added from examples/connectors/sandbox.json, written only as
 * data, syncs exactly the orders the built-in `sandbox` connector syncs, incrementally too; then
 * the author's loop: `sync --dry-run --record DIR` and `connector test --replay DIR`.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descriptorJsonSchema, descriptorSchema } from '../src/connectors/generic/schema.js';
import { connectorFromDescriptor, nextFromLinkHeader } from '../src/connectors/generic/index.js';
import { mapRecord, MappingError } from '../src/connectors/generic/mapping.js';
import { mapRecords } from '../src/sync/pipeline.js';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, readAllBytes, sandbox, type E2EHome } from './helpers/e2e.js';

const ROOT = new URL('../', import.meta.url);
const EXAMPLE = new URL('../examples/connectors/sandbox.json', import.meta.url);
const example = () => JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the descriptor schema', () => {
  it('is published as docs/connector-descriptor.schema.json, up to date', () => {
    const published = JSON.parse(readFileSync(new URL('docs/connector-descriptor.schema.json', ROOT), 'utf8')) as unknown;
    // Regenerate: node -e "import('./dist/connectors/generic/schema.js').then(m=>require('fs').writeFileSync('docs/connector-descriptor.schema.json', JSON.stringify(m.descriptorJsonSchema(),null,2)+'\n'))"
    expect(published).toEqual(JSON.parse(JSON.stringify(descriptorJsonSchema())));
  });

  it('accepts the shipped example and refuses what must never be data', () => {
    expect(descriptorSchema.safeParse(example()).success).toBe(true);
    const bad = (mutate: (d: Record<string, any>) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const d = example();
      mutate(d);
      const r = descriptorSchema.safeParse(d);
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    };
    expect(bad((d) => (d.mapping.keep = ['payment.card_number']))).toMatch(/payment or contact data/);
    expect(bad((d) => (d.mapping.items.sku = 'billing_address.zip'))).toMatch(/payment or contact data/);
    expect(bad((d) => (d.auth.extraParams = { redirect_uri: 'https://evil.example/' }))).toMatch(/extraParams cannot set/);
    expect(bad((d) => (d.api.headers = { Authorization: 'Bearer x' }))).toMatch(/cannot set Authorization/);
    expect(bad((d) => (d.auth.clientSecret = 'hunter2'))).toMatch(/auth\.clientSecret/);
    expect(bad((d) => (d.api.orders.pagination = { style: 'cursor' }))).toMatch(/api\.orders\.pagination/);
    expect(bad((d) => (d.mapping.status.map.placed = 'lost'))).toMatch(/mapping\.status\.map\.placed/);
    expect(bad((d) => (d.auth.redirectPort = 80))).toMatch(/redirectPort/);
  });
});

describe('the mapping', () => {
  const base = descriptorSchema.parse(example()).mapping;
  const order = { id: 'A1', retailer: 'Shop', placed_at: '2026-03-01T10:00:00+01:00', updated_at: '2026-03-02T00:00:00Z', status: 'delivered', currency: 'JPY', amounts: { total: '1200', tax: '100' }, items: [] };

  it('reads money exactly in each format, and refuses to round', () => {
    const o = mapRecord(order, base) as { subtotal: number; total: number; orderDate: string };
    expect(o).toMatchObject({ total: 1200, subtotal: 1100, orderDate: '2026-03-01T09:00:00.000Z' });
    const num = { ...base, money: { format: 'number' as const } };
    // What JSON.parse gives for "27.35" is read back as the text 27.35, never multiplied as a float.
    expect((mapRecord({ ...order, currency: 'USD', amounts: JSON.parse('{"total": 27.35, "tax": 0.3}') }, num) as { total: number }).total).toBe(2735);
    expect(() => mapRecord({ ...order, currency: 'USD', amounts: { total: 0.1 + 0.2 } }, num)).toThrow(/more decimals than USD allows/);
    expect(() => mapRecord({ ...order, currency: 'USD', amounts: { total: 1e21 } }, num)).toThrow(MappingError);
    const minor = { ...base, money: { format: 'minor-units' as const, exponent: 3 } };
    expect((mapRecord({ ...order, currency: 'USD', amounts: { total: 27350 } }, minor) as { total: number }).total).toBe(2735);
    expect(() => mapRecord({ ...order, currency: 'USD', amounts: { total: 27351 } }, minor)).toThrow(/refusing to round/);
  });

  it('reads epoch dates, maps statuses, and names the field of every problem', () => {
    const unix = { ...base, dateFormat: 'unix-seconds' as const };
    expect((mapRecord({ ...order, placed_at: 1772355600, updated_at: '1772355600' }, unix) as { orderDate: string }).orderDate).toBe('2026-03-01T09:00:00.000Z');
    try {
      mapRecord({ ...order, status: 'lost_in_the_mail' }, base);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MappingError);
      expect((err as MappingError).field).toBe('status');
    }
    expect(mapRecord({ ...order, status: 'lost_in_the_mail' }, { ...base, status: { ...base.status, default: 'unknown' } })).toMatchObject({ status: 'unknown' });
    const c = connectorFromDescriptor('t', descriptorSchema.parse(example()), 'x');
    const page = mapRecords(c, [{ ...order, placed_at: 'yesterday' }, { ...order, id: 'A2', items: [{ line: 1, name: 'x', unit_price: '1.5', quantity: 1 }] }], 1);
    expect(page.errors.map((e) => [e.orderId, e.field])).toEqual([['A1', 'placed_at'], ['A2', 'items.0.unit_price']]);
  });

  it('follows RFC 8288 Link headers', () => {
    expect(nextFromLinkHeader('<https://api.example/o?page=2>; rel="next", <https://api.example/o?page=9>; rel="last"')).toBe('https://api.example/o?page=2');
    expect(nextFromLinkHeader('<https://api.example/o?page=1>; rel="prev"')).toBeNull();
    expect(nextFromLinkHeader(null)).toBeNull();
  });
});

describe('a descriptor connector against the built-in sandbox', () => {
  let sb: SandboxHandle;
  let h: E2EHome;
  beforeAll(async () => {
    sb = await sandbox({ autoConsent: true, orders: 150, accounts: 2, redirectPaths: ['/callback/sandbox', '/callback/sandbox-data'] });
    h = e2eHome({ ORDERLINK_RETRY_BASE_MS: '20' });
  });
  afterAll(async () => {
    h.cleanup();
    await sb.close();
  });

  type Row = Record<string, unknown>;
  const ordersOf = (connector: string): Row[] =>
    h.query<Row>(
      `SELECT o.order_id, o.retailer, o.order_date, o.status, o.currency, o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded, o.item_count, o.provider_updated_at, o.deleted_at, o.content_hash,
              (SELECT group_concat(line_no || '|' || name || '|' || ifnull(sku,'') || '|' || unit_price || '|' || quantity || '|' || ifnull(category,''), ';') FROM order_items i WHERE i.order_ref = o.id) AS items
         FROM orders o JOIN connections c ON c.id = o.connection_id WHERE c.connector = ? ORDER BY o.order_id`,
      connector,
    );

  it('is added from the example, listed, and links like any connector', async () => {
    const add = await h.cli(['--json', 'connector', 'add', 'sandbox-data', '--from', EXAMPLE.pathname]);
    expect(add.code, add.stderr).toBe(0);
    const path = (JSON.parse(add.stdout) as { path: string }).path;
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await h.cli(['connector', 'add', 'sandbox-data', '--from', EXAMPLE.pathname]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already added/);
    const list = JSON.parse((await h.cli(['--json', 'connector', 'list'])).stdout) as Array<{ id: string; added: boolean; capabilities: Record<string, boolean> }>;
    expect(list.find((c) => c.id === 'sandbox-data')).toMatchObject({ added: true, capabilities: { incremental: true, items: true, refunds: true, deletions: true, revocation: true } });

    for (const [connector, alias] of [['sandbox', 'builtin'], ['sandbox-data', 'data']] as const) {
      const rt = await sb.mintRefreshToken('alice');
      const r = await h.cli(['--json', 'link', connector, '--issuer', sb.issuer, '--alias', alias, '--refresh-token-env', 'RT'], { env: { RT: rt } });
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('syncs exactly the orders the built-in sandbox connector syncs, then incrementally the same changes', async () => {
    expect((await h.cli(['sync'])).code).toBe(0);
    const builtIn = ordersOf('sandbox');
    expect(builtIn.length).toBe(150);
    expect(ordersOf('sandbox-data')).toEqual(builtIn);

    sb.advance(3); // refunds, deletions, new orders at the provider
    const inc = await h.cli(['--json', 'sync']);
    expect(inc.code, inc.stderr).toBe(0);
    const modes = (JSON.parse(inc.stdout) as { connections: Array<{ mode: string; fetched: number }> }).connections;
    expect(modes.map((c) => c.mode)).toEqual(['incremental', 'incremental']);
    expect(modes[0]!.fetched).toBe(modes[1]!.fetched);
    expect(modes[0]!.fetched).toBeLessThan(150);
    const after = ordersOf('sandbox');
    expect(after).not.toEqual(builtIn);
    expect(ordersOf('sandbox-data')).toEqual(after);
  });

  it('records the pages it fetched (allow-listed, no token) and replays them offline into the same orders', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'orderlink-rec-')), 'pages');
    const rec = await h.cli(['sync', 'sandbox-data', '--dry-run', '--full', '--record', dir, '--page-size', '40']);
    expect(rec.code, rec.stderr).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThanOrEqual(4);
    const recorded = readAllBytes(files.map((f) => join(dir, f)));
    expect(recorded).not.toMatch(/card_brand|last4|billing|shipping_address|"payment"/);
    // No token of the connection is in a recording (the vault holds them; the records never did).
    expect(recorded).not.toMatch(/access_token|refresh_token|Bearer/i);
    const replay = await h.cli(['--json', 'connector', 'test', 'sandbox-data', '--replay', dir]);
    expect(replay.code, replay.stderr).toBe(0);
    const out = JSON.parse(replay.stdout) as { orders: Array<{ orderId: string; total: number }>; tombstones: unknown[]; errors: unknown[] };
    expect(out.errors).toEqual([]);
    const live = ordersOf('sandbox-data').filter((o) => o.deleted_at === null);
    expect(out.orders.map((o) => o.orderId).sort()).toEqual(live.map((o) => o.order_id).sort());
    expect(Object.fromEntries(out.orders.map((o) => [o.orderId, o.total]))).toEqual(Object.fromEntries(live.map((o) => [o.order_id, o.total])));
    const clash = await h.cli(['sync', 'sandbox-data', '--dry-run', '--record', dir]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/already holds recorded pages/);
    // A broken mapping is what the author sees first: named fields, exit 3.
    const broken = example();
    broken.mapping.orderDate = 'placed';
    const bf = join(dir, '..', 'broken.json');
    writeFileSync(bf, JSON.stringify(broken));
    const bad = await h.cli(['connector', 'test', 'sandbox-data', '--replay', dir, '--from', bf]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/placed: expected an ISO 8601 date-time/);
    // Fixed, the new version replaces the added one in place, connections and all.
    const replaced = await h.cli(['--json', 'connector', 'add', 'sandbox-data', '--from', EXAMPLE.pathname, '--replace']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ replaced: true });
    expect((await h.cli(['connector', 'test', 'sandbox-data', '--replay', dir])).code).toBe(0);
  });

  it('is removed only once no connection uses it', async () => {
    const busy = await h.cli(['connector', 'remove', 'sandbox-data']);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/still use sandbox-data/);
    const d = await h.cli(['--json', 'disconnect', 'sandbox-data:data', '--yes']);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ revocation: 'done', old_token_check: 'rejected', secret_deleted: true });
    expect((await h.cli(['connector', 'remove', 'sandbox-data'])).code).toBe(0);
    const list = JSON.parse((await h.cli(['--json', 'connector', 'list'])).stdout) as Array<{ id: string }>;
    expect(list.map((c) => c.id)).not.toContain('sandbox-data');
    expect((await h.cli(['connector', 'remove', 'sandbox'])).code).toBe(2);
  });
});
