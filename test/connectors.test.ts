/**
 * The shared contract suite every registered connector must pass (rclone's backend tests,
 * STYLE.md #14). It discovers each connector folder's `fixtures/` (recorded provider payloads:
 * API pages as JSON, export files for file connectors) and `expected/` (what each must become,
 * after the allow-list, validation, mapping and the store's invariants) and runs every connector
 * through the same checks:
 * - facts and docs; an allow-list that names no payment or address field;
 * - each fixture goes through the connector's REAL fetch path (served by an HTTP server on
 *   127.0.0.1) or its real importer, then the shared pipeline, and equals its expected output;
 * - the mapper is pure; money is exact minor units; dates are UTC;
 * - no payment field survives into the output;
 * - every declared capability is exercised by some fixture (items, refunds, deletions,
 *   incremental cursors) or by the strategy (revocation).
 * A connector author writes `expected/<case>.json` naming its fixture (`"fixture": "page-1.json"`),
 * fills it with ORDERLINK_UPDATE_EXPECTED=1, and reviews it by hand against the provider's docs.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listConnectors, getConnector } from '../src/connectors/registry.js';
import type { Connector, Session } from '../src/connectors/types.js';
import { currencyExponent } from '../src/connectors/money.js';
import { applyPolicy } from '../src/policy/index.js';
import { mapRecords, type MappedPage } from '../src/sync/pipeline.js';
import { createHttp, DEFAULT_RETRY } from '../src/sync/http.js';
import { classifiedHttp, defaultClassifier } from '../src/sync/classify.js';

const ROOT = fileURLToPath(new URL('../src/connectors/', import.meta.url));
const UPDATE = process.env.ORDERLINK_UPDATE_EXPECTED === '1';
const PAYMENT = /card|last4|billing|payment|address|postal|account_number|mask|routing|iban/i;
const PAYMENT_KEYS = /"(card_number|last4|card_brand|billing_zip|payment_meta|account_numbers|mask|payment_methods|shipping_address)"/;

interface Outcome extends MappedPage {
  cursor: unknown;
}

/**
 * One server for the suite: it answers every request with the body it was told to — or, for a
 * fixture that is a folder (`<operation>.json` per endpoint the connector declares, plus an
 * optional `config.json` for the connection), with the recorded body of the operation whose path
 * template the request matches (SP-API v0 needs getOrders and getOrderItems for one page).
 */
let server: Server;
let base = '';
let nextBody = '{}';
let routes: Array<{ re: RegExp; body: string }> = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = routes.length ? routes.find((r) => r.re.test(path))?.body : nextBody;
    req.on('end', () => (body === undefined ? res.writeHead(404).end('{}') : res.writeHead(200, { 'content-type': 'application/json' }).end(body)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

interface Case {
  /** expected/<name>.json */
  name: string;
  /** The fixture it names (a path under fixtures/: a page, a file or a folder). */
  fixture: string;
  expected: Record<string, unknown>;
}

/**
 * The cases of a connector: one per `expected/<name>.json`, which names its fixture in a
 * `fixture` field (default: fixtures/<name>.json) and holds the output it must produce (any of
 * `orders`, `tombstones`, `errors`, `cursor`; the keys present are compared exactly).
 */
function casesOf(c: Connector): Case[] {
  const dir = join(ROOT, c.id, 'expected');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => {
      const expected = JSON.parse(readFileSync(join(dir, n), 'utf8')) as Record<string, unknown>;
      const name = n.replace(/\.json$/, '');
      // Default: fixtures/<name>.json, or the folder fixtures/<name>/ (one recorded body per operation).
      const fallback = existsSync(join(ROOT, c.id, 'fixtures', `${name}.json`)) || !existsSync(join(ROOT, c.id, 'fixtures', name)) ? `${name}.json` : name;
      return { name, fixture: typeof expected.fixture === 'string' ? expected.fixture : fallback, expected };
    });
}

/** Recorded JSON pages (for the purity check and drift). */
function jsonFixtures(c: Connector): string[] {
  return casesOf(c).map((k) => k.fixture).filter((f) => f.endsWith('.json'));
}

/** A bearer token, or the connector's sample credential (`fixtures/credential.json`, fake values). */
function sessionFor(c: Connector): Session {
  if (c.auth.type === 'oauth') return { type: 'bearer', accessToken: 'contract-test' };
  const sample = join(ROOT, c.id, 'fixtures', 'credential.json');
  const credential = existsSync(sample) ? (JSON.parse(readFileSync(sample, 'utf8')) as unknown) : { access_token: 'contract-test' };
  return { type: 'credential', credential, app: { clientId: 'contract-id', secret: 'contract-secret' } };
}

async function runFixture(c: Connector, fixture: string): Promise<Outcome> {
  const path = join(ROOT, c.id, 'fixtures', fixture);
  if (c.importer) {
    const out: Outcome = { orders: [], tombstones: [], errors: [], cursor: null };
    let page = 0;
    for await (const batch of c.importer.read(path, { signal: new AbortController().signal })) {
      const m = mapRecords(c, batch.records, ++page);
      out.orders.push(...m.orders);
      out.tombstones.push(...m.tombstones);
      out.errors.push(...m.errors, ...batch.rowErrors.map((e) => ({ orderId: null, page, index: e.line, field: e.column, message: e.message, file: e.file })));
    }
    return out;
  }
  let config: Record<string, string> = { apiBase: base };
  routes = [];
  if (statSync(path).isDirectory()) {
    const files = readdirSync(path);
    if (files.includes('config.json')) config = { ...config, ...(JSON.parse(readFileSync(join(path, 'config.json'), 'utf8')) as Record<string, string>) };
    routes = Object.entries(c.descriptor.endpoints)
      .filter(([op]) => files.includes(`${op}.json`))
      .map(([op, tpl]) => ({ re: new RegExp(`${tpl.split(/\{[^}]+\}/).map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}$`), body: readFileSync(join(path, `${op}.json`), 'utf8') }))
      .sort((a, b) => b.re.source.length - a.re.source.length);
  } else nextBody = readFileSync(path, 'utf8');
  const transport = createHttp({ fetch: globalThis.fetch, policy: { ...DEFAULT_RETRY, maxAttempts: 1 }, signal: new AbortController().signal, trace: () => undefined });
  const http = classifiedHttp(transport, { classify: c.classify ?? defaultClassifier, policy: { ...DEFAULT_RETRY, maxAttempts: 1 }, provider: 'contract', signal: new AbortController().signal, trace: () => undefined });
  const page = await c.fetchOrders!({ baseUrl: base, session: sessionFor(c), config, cursor: null, since: null, limit: 100, signal: new AbortController().signal, http });
  return { ...mapRecords(c, page.records, 1), cursor: page.nextCursor };
}

const connectors = listConnectors();

describe.each(connectors.map((c) => [c.id, c] as const))('connector %s', (id, c) => {
  it('declares its facts and has a docs page', () => {
    expect(getConnector(id)).toBe(c);
    expect(c.displayName.length).toBeGreaterThan(0);
    expect(existsSync(new URL(`../${c.docs}`, import.meta.url))).toBe(true);
    expect(c.baseUrl.env).toMatch(/^ORDERLINK_[A-Z0-9_]+$/);
    expect(Boolean(c.fetchOrders) !== Boolean(c.importer)).toBe(true); // one way in
    expect(c.auth.type === 'fileImport').toBe(Boolean(c.importer));
    if (c.auth.type === 'oauth') {
      expect(c.auth.redirectPath).toMatch(new RegExp(`^/callback/${id}`)); // names the provider (rule 1)
      // Servers without discovery (explicit token endpoint, refresh-token linking) may have no scopes (LWA's seller flow).
      if (!c.auth.tokenEndpoint) expect(c.auth.scopes.length).toBeGreaterThan(0);
    }
    expect(c.descriptor.pagination.pageSize.default).toBeLessThanOrEqual(c.descriptor.pagination.pageSize.max);
  });

  it('allow-lists no payment or address field', () => {
    for (const f of c.allowList) expect(f).not.toMatch(PAYMENT);
  });

  it('has recorded fixtures, each with its expected output', () => {
    const cases = casesOf(c);
    expect(cases.length, `add recorded payloads to src/connectors/${id}/fixtures/ and their output to expected/`).toBeGreaterThan(0);
    for (const k of cases) expect(existsSync(join(ROOT, id, 'fixtures', k.fixture)), k.fixture).toBe(true);
  });

  const outcomes = new Map<string, Outcome>();
  for (const k of casesOf(c)) {
    it(`fixture ${k.fixture} becomes expected/${k.name}.json`, async () => {
      const got = await runFixture(c, k.fixture);
      outcomes.set(k.name, got);
      const serial = JSON.parse(JSON.stringify({ orders: got.orders, tombstones: got.tombstones, ...(got.charges ? { charges: got.charges } : {}), errors: got.errors, cursor: got.cursor ?? null })) as Record<string, unknown>;
      if (UPDATE) {
        const next = { fixture: k.fixture, ...Object.fromEntries(Object.keys(serial).filter((key) => key in k.expected || key === (c.records === 'charges' ? 'charges' : 'orders')).map((key) => [key, serial[key]])) };
        writeFileSync(join(ROOT, id, 'expected', `${k.name}.json`), `${JSON.stringify(next, null, 2)}\n`);
      } else {
        for (const key of ['orders', 'tombstones', 'charges', 'errors', 'cursor']) if (key in k.expected) expect(serial[key], key).toEqual(k.expected[key]);
      }
      // Nothing from payment or address fields survives.
      expect(JSON.stringify(serial)).not.toMatch(PAYMENT_KEYS);
      // Exact money and UTC dates.
      for (const o of got.orders) {
        for (const v of [o.subtotal, o.tax, o.shipping, o.discount, o.total, o.refunded]) expect(Number.isSafeInteger(v)).toBe(true);
        expect(o.orderDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        expect(currencyExponent(o.currency)).toBeGreaterThanOrEqual(0);
        for (const it of o.items) expect(Number.isSafeInteger(it.unitPrice) && Number.isInteger(it.quantity)).toBe(true);
      }
      // Cursors survive JSON, as the store keeps them.
      if (got.cursor !== null && got.cursor !== undefined) expect(c.cursorSchema.parse(JSON.parse(JSON.stringify(got.cursor)))).toEqual(got.cursor);
    });
  }

  it('maps purely: the same raw record gives the same order twice', async () => {
    for (const name of jsonFixtures(c)) {
      const body = JSON.parse(readFileSync(join(ROOT, id, 'fixtures', name), 'utf8')) as unknown;
      if (!body || typeof body !== 'object') continue;
      const records = findRecords(body);
      for (const raw of records) {
        const clean = applyPolicy(raw, c.allowList, c.freeText);
        const parsed = c.rawSchema.safeParse(clean);
        if (!parsed.success) continue;
        if (c.records === 'charges') expect(c.toCharge!(parsed.data)).toEqual(c.toCharge!(c.rawSchema.parse(clean)));
        else expect(c.toOrder(parsed.data)).toEqual(c.toOrder(c.rawSchema.parse(clean)));
      }
    }
  });

  it('exercises every declared capability', async () => {
    const all = await Promise.all(casesOf(c).map(async (k) => outcomes.get(k.name) ?? runFixture(c, k.fixture)));
    const orders = all.flatMap((o) => o.orders);
    if (c.capabilities.items) expect(orders.some((o) => o.items.length > 0), 'a fixture with line items').toBe(true);
    const refundCharge = all.some((o) => (o.charges ?? []).some((ch) => 'amount' in ch && ch.amount < 0)); // money in: a refund
    if (c.capabilities.refunds) expect(refundCharge || orders.some((o) => o.refunded > 0 || o.status === 'refunded' || o.status === 'partially_refunded'), 'a fixture with a refund').toBe(true);
    if (c.capabilities.deletions) expect(all.some((o) => o.tombstones.length > 0 || (o.charges ?? []).some((ch) => 'removed' in ch)), 'a fixture with a deletion').toBe(true);
    if (c.capabilities.incremental) expect(all.some((o) => o.cursor !== null && o.cursor !== undefined), 'a fixture page that yields a cursor').toBe(true);
    if (c.capabilities.revocation) {
      const a = c.auth;
      expect(a.type === 'oauth' || (a.type === 'hostedLink' && typeof a.revoke === 'function'), 'a way to revoke').toBe(true);
    }
  });
});

/** The record arrays of a recorded page, whatever the provider calls them. */
function findRecords(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== 'object') return [];
  const out: unknown[] = [];
  for (const v of Object.values(body as Record<string, unknown>)) if (Array.isArray(v) && v.every((x) => x && typeof x === 'object')) out.push(...v);
  return out;
}

it('every connector folder is registered', () => {
  // generic/ builds connectors from descriptors (`connector add`); it is not one itself.
  const folders = readdirSync(ROOT).filter((n) => statSync(join(ROOT, n)).isDirectory() && n !== 'generic');
  expect(folders.sort()).toEqual(connectors.map((c) => c.id).sort());
});
