/**
 * amazon-seller through the real binary against the LWA + Orders replica on 127.0.0.1: app setup,
 * linking with a refresh token (validated by one refresh with client_secret_post), a full and an
 * incremental sync (lastUpdatedAfter), a stale access token (403) refreshed once, a dead grant
 * (exit 4), wrong app credentials, the v0 path (getOrders + getOrderItems), the static sandbox
 * cases, the secret canary and the PII/payment fields, and disconnect without revocation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpApiReplica, type SpApiReplica } from '../src/sandbox/replicas/amazon-seller.js';
import { e2eHome, readAllBytes, type E2EHome } from './helpers/e2e.js';
import { linkSeller, setupApp, type SyncReport } from './helpers/spapi.js';

const FAST = { searchOrders: { rate: 200, burst: 200 }, getOrders: { rate: 200, burst: 200 }, getOrderItems: { rate: 500, burst: 500 } };
const PII = /canary|Canary|VISA|CreditCard|1ZCANARY|Wharf|PO-CANARY|marketplace\.example/;

const rows = (h: E2EHome) => h.query<{ n: number; items: number }>('SELECT (SELECT count(*) FROM orders) AS n, (SELECT count(*) FROM order_items) AS items')[0]!;

describe('amazon-seller, Orders API 2026-01-01', () => {
  let r: SpApiReplica;
  let h: E2EHome;
  let conn: { id: number; refreshToken: string };
  const outputs: string[] = [];
  beforeAll(async () => {
    // A replica that over-shares: every includedData block in every answer, PII and payment included.
    r = await startSpApiReplica({ orders: 45, plans: FAST, settleMs: 0, alwaysIncludeAll: true });
    h = e2eHome({ ORDERLINK_RETRY_BASE_MS: '20' });
  });
  afterAll(async () => {
    await r.close();
    h.cleanup();
  });

  it('links only after the app is set up, and says how', async () => {
    const res = await h.cli(['link', 'amazon-seller', '--refresh-token-stdin', '--marketplace', r.marketplace], { stdin: r.mintRefreshToken() });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no app credentials for the NA region/);
    expect(res.stderr).toMatch(/orderlink connector setup amazon-seller --region na/);
    const browser = await h.cli(['link', 'amazon-seller', '--marketplace', r.marketplace]);
    expect(browser.code).toBe(2);
    expect(browser.stderr).toMatch(/links with a refresh token, not a browser/);
  });

  it('refuses wrong app credentials with invalid_client and names the fix', async () => {
    await setupApp(h, r, { secret: 'amzn1.oa2-cs.v1.wrong-secret-0000' });
    const rt = r.mintRefreshToken();
    const res = await h.cli(['--verbose', 'link', 'amazon-seller', '--refresh-token-stdin', '--marketplace', r.marketplace], { stdin: rt });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/invalid_client/);
    expect(res.stderr + res.stdout).not.toContain('wrong-secret');
    expect(res.stderr + res.stdout).not.toContain(rt.slice(5));
    expect(res.stderr).toMatch(/connector setup/);
    expect(h.query('SELECT id FROM connections')).toHaveLength(0);
  });

  it('sets up, links with a refresh token (one refresh, secret in the form body) and syncs every order with its items', async () => {
    await setupApp(h, r);
    const before = r.stats().tokenRequests;
    conn = await linkSeller(h, r, ['--verbose']);
    expect(r.stats().tokenRequests - before).toBe(1);
    const cfg = h.query<{ config: string }>('SELECT config FROM connections WHERE id = ?', conn.id)[0]!;
    expect(JSON.parse(cfg.config)).toMatchObject({ marketplace: 'ATVPDKIKX0DER', api: '2026-01-01', region: 'na', environment: 'na', apiBase: r.url });
    const res = await h.cli(['--json', 'sync', '--page-size', '10']);
    outputs.push(res.stdout, res.stderr);
    expect(res.code, res.stderr).toBe(0);
    const rep = JSON.parse(res.stdout) as SyncReport;
    expect(rep.connections[0]).toMatchObject({ status: 'success', added: 45, pages: 5, errors: 0 });
    expect(rows(h).n).toBe(45);
    expect(rows(h).items).toBeGreaterThanOrEqual(45);
    const o = h.query<{ total: number; currency: string; retailer: string }>('SELECT total, currency, retailer FROM orders LIMIT 1')[0]!;
    expect(o).toMatchObject({ currency: 'USD', retailer: 'Amazon.com' });
  });

  it('syncs incrementally from the watermark: new and changed orders only', async () => {
    r.addOrders(3);
    r.updateOrder(0, 'CANCELLED');
    const before = r.stats().requests.searchOrders;
    const res = await h.cli(['--json', 'sync']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).connections[0]).toMatchObject({ added: 3, updated: 1, fetched: 4 });
    expect(r.stats().requests.searchOrders - before).toBe(1);
    const s = h.query<{ status: string }>('SELECT status FROM orders WHERE order_id = ?', r.orderId(0))[0]!;
    expect(s.status).toBe('cancelled');
  });

  it('a stale access token (403, expired) is refreshed once and the sync goes on', async () => {
    r.expireAccessTokens();
    r.updateOrder(1, 'SHIPPED');
    const before = r.stats().tokenRequests;
    const res = await h.cli(['--json', '--verbose', 'sync']);
    outputs.push(res.stdout, res.stderr);
    expect(res.code, res.stderr).toBe(0);
    expect(r.stats().tokenRequests - before).toBe(1);
    expect(res.stderr).toMatch(/refreshing the session once/);
  });

  it('never stores or prints a secret, a buyer, an address or a payment detail', async () => {
    const files = readAllBytes([h.db, `${h.db}-wal`, `${h.db}-shm`]);
    for (const secret of [r.clientSecret, conn.refreshToken, conn.refreshToken.slice(5, 25)]) {
      expect(files).not.toContain(secret);
      for (const out of outputs) expect(out).not.toContain(secret);
    }
    expect(readAllBytes([h.vault])).not.toContain(r.clientSecret);
    expect(files).not.toMatch(PII);
    const audit = h.query<{ detail: string }>('SELECT detail FROM audit_log').map((a) => a.detail).join('\n');
    expect(audit).not.toContain(r.clientSecret);
    expect(audit).not.toContain(conn.refreshToken);
    const shown = await h.cli(['orders', '--json']);
    expect(shown.stdout).not.toMatch(PII);
  });

  it('a dead grant is reauth_required (exit 4), with the fix named', async () => {
    r.revokeRefreshToken(conn.refreshToken);
    r.expireAccessTokens();
    r.updateOrder(2, 'SHIPPED');
    const res = await h.cli(['sync']);
    expect(res.code).toBe(4);
    expect(res.stderr).toMatch(/link --reconnect/);
    expect(res.stderr).not.toContain(conn.refreshToken);
  });

  it('re-linking in place with a new refresh token repairs it, keeping its id, config and orders', async () => {
    const rt = r.mintRefreshToken();
    const res = await h.cli(['--json', 'link', '--reconnect', String(conn.id), '--refresh-token-stdin'], { stdin: rt });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ reconnected: true, connection: { id: conn.id } });
    const sync = await h.cli(['--json', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    // The order changed while the grant was dead (updated, same content) is fetched now.
    expect(JSON.parse(sync.stdout).connections[0]).toMatchObject({ status: 'success', fetched: 1 });
    conn = { id: conn.id, refreshToken: rt };
  });

  it('the same seller linked a second time (a new refresh token) is caught by its first sync: nothing saved, the existing one named', async () => {
    // LWA says nothing about whose token it is, so the link itself cannot tell.
    const twin = await linkSeller(h, r, ['--alias', 'again']);
    const before = rows(h);
    const res = await h.cli(['--json', 'sync']);
    expect(res.code).toBe(1);
    const rep = JSON.parse(res.stdout) as SyncReport;
    expect(rep.connections.map((c) => c.status)).toEqual(['success', 'failure']);
    expect(rep.connections[1]!.error).toMatchObject({ code: 'ACCOUNT_ALREADY_LINKED' });
    expect(rep.connections[1]!.error!.message).toMatch(new RegExp(`connection ${conn.id}\\)`));
    expect(rep.connections[1]!.error!.hint).toContain(`orderlink disconnect ${twin.id}`);
    expect(rows(h)).toEqual(before);
    expect(h.query('SELECT count(*) AS n FROM orders WHERE connection_id = ?', twin.id)).toEqual([{ n: 0 }]);
    expect(h.query<{ last_error: string }>('SELECT last_error FROM connections WHERE id = ?', twin.id)[0]!.last_error).toMatch(/already holds/);
    // Every later sync says the same; a person's text output says it too. The hint's command ends it.
    const text = await h.cli(['sync', String(twin.id)]);
    expect(text.code).toBe(1);
    expect(text.stderr + text.stdout).toMatch(/already holds/);
    const gone = await h.cli(['disconnect', String(twin.id), '--yes']);
    expect(gone.code, gone.stderr).toBe(0);
    const after = await h.cli(['--json', 'sync']);
    expect(after.code, after.stderr).toBe(0);
  });

  it('disconnect removes the local secret and says Amazon has no revocation', async () => {
    const res = await h.cli(['disconnect', String(conn.id), '--yes']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/unsupported by the provider/);
    expect(res.stdout).toMatch(/deleted from the vault/);
    expect(res.stdout).toMatch(/still valid there/);
    expect(h.query<{ status: string }>('SELECT status FROM connections WHERE id = ?', conn.id)[0]!.status).toBe('revoked');
    expect(rows(h).n).toBe(48); // orders kept
  });
});

describe('amazon-seller, Orders API v0 (getOrders + getOrderItems)', () => {
  let r: SpApiReplica;
  let h: E2EHome;
  beforeAll(async () => {
    r = await startSpApiReplica({ orders: 12, plans: FAST, settleMs: 0, marketplace: 'A1VC38T7YXB528', seed: 7 });
    h = e2eHome({ ORDERLINK_RETRY_BASE_MS: '20' });
  });
  afterAll(async () => {
    await r.close();
    h.cleanup();
  });

  it('derives the FE region from a JP marketplace, pages orders and their items, drops the PII v0 always sends', async () => {
    await setupApp(h, r, { region: 'fe' });
    const { refreshToken } = await linkSeller(h, r, ['--api', 'v0']);
    const res = await h.cli(['--json', 'sync', '--page-size', '5']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).connections[0]).toMatchObject({ status: 'success', added: 12, pages: 3 });
    const s = r.stats();
    expect(s.requests.getOrders).toBe(3);
    expect(s.requests.getOrderItems).toBeGreaterThanOrEqual(12); // one or more per order (two items per page)
    const jp = h.query<{ currency: string; total: number }>('SELECT currency, total FROM orders')[0]!;
    expect(jp.currency).toBe('JPY'); // "1980.00" JPY became 1980
    expect(rows(h).items).toBeGreaterThan(12);
    const files = readAllBytes([h.db, `${h.db}-wal`]);
    expect(files).not.toMatch(PII);
    expect(files).not.toContain(refreshToken);
  });

  it('a marketplace of another region is refused before anything is sent', async () => {
    const res = await h.cli(['link', 'amazon-seller', '--refresh-token-stdin', '--marketplace', 'A1PA6795UKMFR9', '--env', 'fe', '--alias', 'eu'], { stdin: r.mintRefreshToken() });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/served by the EU region/);
  });
});

describe('the replica: static sandbox cases and LWA errors', () => {
  let r: SpApiReplica;
  let at = '';
  beforeAll(async () => {
    r = await startSpApiReplica({ plans: FAST });
    const rt = r.mintRefreshToken();
    const tok = await fetch(r.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt, client_id: r.clientId, client_secret: r.clientSecret }) });
    const body = (await tok.json()) as { access_token: string; refresh_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ refresh_token: rt, token_type: 'bearer', expires_in: 3600 }); // no rotation
    at = body.access_token;
  });
  afterAll(() => r.close());
  const get = (path: string) => fetch(`${r.url}${path}`, { headers: { 'x-amz-access-token': at } });

  it('answers TEST_CASE_200 with the recorded odd dates and string numbers, and TEST_CASE_400 with InvalidInput', async () => {
    const ok = await get('/orders/v0/orders?CreatedAfter=TEST_CASE_200&MarketplaceIds=ATVPDKIKX0DER');
    const b = (await ok.json()) as { payload: { CreatedBefore: string; Orders: Array<{ AmazonOrderId: string; PurchaseDate: string }> } };
    expect(b.payload.CreatedBefore).toBe('1.569521782042E9');
    expect(b.payload.Orders.map((o) => o.AmazonOrderId)).toEqual(['902-1845936-5435065', '902-8745147-1934268']);
    expect(b.payload.Orders[0]!.PurchaseDate).toBe('1970-01-19T03:58:30Z');
    expect(ok.headers.get('x-amzn-ratelimit-limit')).toBe('200');
    const bad = await get('/orders/v0/orders?CreatedAfter=TEST_CASE_400');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ errors: [{ code: 'InvalidInput', message: 'Invalid Input' }] });
    const items = (await (await get('/orders/v0/orders/TEST_CASE_200/orderItems')).json()) as { payload: { OrderItems: Array<{ IsGift: unknown }> } };
    expect(items.payload.OrderItems[0]!.IsGift).toBe('false');
    const jp = (await (await get('/orders/2026-01-01/orders?createdAfter=2024-12-25T00:00:00Z&marketplaceIds=A1VC38T7YXB528&includedData=BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES')).json()) as { orders: Array<{ proceeds: { grandTotal: unknown } }> };
    expect(jp.orders[0]!.proceeds.grandTotal).toEqual({ amount: '19940', currencyCode: 'JPY' });
  });

  it('validates like the API: one of createdAfter/lastUpdatedAfter, page sizes, tokens bound to their filters, the access token', async () => {
    expect((await get('/orders/2026-01-01/orders')).status).toBe(400);
    expect((await get('/orders/2026-01-01/orders?createdAfter=2026-01-01T00:00:00Z&lastUpdatedAfter=2026-01-01T00:00:00Z')).status).toBe(400);
    expect((await get('/orders/2026-01-01/orders?createdAfter=2026-01-01T00:00:00Z&maxResultsPerPage=101')).status).toBe(400);
    const first = (await (await get('/orders/2026-01-01/orders?createdAfter=2026-01-01T00:00:00Z&maxResultsPerPage=2')).json()) as { pagination: { nextToken: string } };
    const wrong = await get(`/orders/2026-01-01/orders?createdAfter=2026-02-01T00:00:00Z&paginationToken=${first.pagination.nextToken}`);
    expect(wrong.status).toBe(400);
    const anon = await fetch(`${r.url}/orders/2026-01-01/orders?createdAfter=2026-01-01T00:00:00Z`);
    expect(anon.status).toBe(403);
    expect(((await anon.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('Unauthorized');
    const tok = (body: Record<string, string>) => fetch(r.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
    const bad = await tok({ grant_type: 'refresh_token', refresh_token: 'Atzr|nope', client_id: r.clientId, client_secret: r.clientSecret });
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
    const client = await tok({ grant_type: 'refresh_token', refresh_token: r.mintRefreshToken(), client_id: r.clientId, client_secret: 'x' });
    expect([client.status, ((await client.json()) as { error: string }).error]).toEqual([401, 'invalid_client']);
  });
});
