/**
 * A local replica of one shop's Customer Account API, built from the documented API
 * (../shared/CONNECTORS.md §2; Shopify Hydrogen's client): the storefront's discovery documents,
 * the OAuth 2.0 / OIDC endpoints under `/authentication/{shop_id}`, and the GraphQL endpoint
 * `/{shop_id}/account/customer/api/2026-04/graphql` — on 127.0.0.1, the storefront and
 * shopify.com folded into one origin.
 *
 * What it enforces, as Shopify documents: registered client ids; redirect URIs that are https
 * and registered exactly (loopback and http are refused with an error page, no redirect); the
 * `openid` scope; PKCE S256 (public clients); a `nonce`, echoed in an RS256 ID token; single-use
 * codes; refresh tokens that rotate (the old one is dead once used — Hydrogen stores the new one;
 * the replica takes the stricter reading); `Authorization: <token>` WITHOUT "Bearer", as
 * Hydrogen sends it; 3000 requests per minute per customer, answered 429 `THROTTLED` with
 * `Retry-After`. No revocation endpoint (none is documented). Where Shopify's behaviour is
 * unverified (whether `iss` is sent, token lifetimes) it is an option, not a guess.
 */
import { createHash, createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { graphql } from 'graphql';
import { escapeHtml, readBody, sendHtml, sendJson } from '../http.js';
import { advanceOrders, makeCustomers, makeOrders, type ShopifyCustomer, type ShopifyOrder } from './shopify-data.js';
import { customerSchema, rootFor } from './shopify-graphql.js';
import { MINT_PATH, refuseMint, sendRefusal, sendToken } from './replica-admin.js';

export interface ShopifyReplicaOptions {
  clientIds?: string[];
  /** Redirect URIs registered for the clients: https only, matched exactly. */
  redirectUris?: string[];
  customers?: number;
  orders?: number;
  seed?: number;
  shopId?: string;
  shopName?: string;
  /** Seconds (Shopify's lifetime is unverified; Hydrogen refreshes 120 s early). */
  accessTokenTtl?: number;
  /** Send and advertise `iss` in authorization responses (RFC 9207) — unverified for Shopify. */
  issParameter?: boolean;
  /** Requests per minute per customer (documented: 3000). */
  requestsPerMinute?: number;
  /** Hostile tests: the ID token's nonce is the request's (default), another one, or absent. */
  idTokenNonce?: 'echo' | 'wrong' | 'missing';
  /** 127.0.0.1 port (default: any free one). */
  port?: number;
  /** `sandbox serve`: answer POST /__replica/refresh-token?customer=NAME with a fresh refresh token (replica-admin.ts). */
  mintRoute?: boolean;
}

export interface ShopifyReplica {
  /** The storefront origin: `orderlink link shopify --shop <this>`. */
  url: string;
  issuer: string;
  graphqlUrl: string;
  shopId: string;
  stats: { authorize: number; tokens: number; refreshes: number; reuseDetected: number; graphql: number; throttled: number; unauthorized: number; bearerRefused: number };
  /** Every token value handed out (the secret-canary test searches for them). */
  issued(): string[];
  /** Answer the next N GraphQL requests with 429 THROTTLED and this Retry-After. */
  throttleNext(n: number, retryAfterSeconds: number): void;
  /** Invalidate every access token (the next API call gets 401; refresh tokens still work). */
  expireAccessTokens(): void;
  advance(steps?: number): void;
  close(): Promise<void>;
}

interface Code { client: string; redirectUri: string; challenge: string; nonce: string; customer: ShopifyCustomer; scope: string; exp: number }
interface Access { customer: ShopifyCustomer; exp: number }

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function idToken(key: KeyObject, claims: Record<string, unknown>): string {
  const head = b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'replica' }));
  const body = b64u(JSON.stringify(claims));
  const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key);
  return `${head}.${body}.${b64u(sig)}`;
}

export async function startShopifyReplica(o: ShopifyReplicaOptions = {}): Promise<ShopifyReplica> {
  const shopId = o.shopId ?? '68817551414';
  const clientIds = new Set(o.clientIds ?? ['shp_00000000-0000-4000-8000-000000000001']);
  const redirects = new Set(o.redirectUris ?? ['https://orderlink.invalid/callback/shopify']);
  const ttl = o.accessTokenTtl ?? 3600;
  const rpm = o.requestsPerMinute ?? 3000;
  const seed = o.seed ?? 42;
  const customers = makeCustomers(o.customers ?? 2);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const codes = new Map<string, Code>();
  const access = new Map<string, Access>();
  const refresh = new Map<string, { customer: ShopifyCustomer; client: string; scope: string; used: boolean; family: string }>();
  const issued: string[] = [];
  const windows = new Map<string, number[]>();
  let throttle = { n: 0, after: 1 };
  let steps = 0;
  const stats = { authorize: 0, tokens: 0, refreshes: 0, reuseDetected: 0, graphql: 0, throttled: 0, unauthorized: 0, bearerRefused: 0 };

  const server = createServer();
  await new Promise<void>((r, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => r());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}/authentication/${shopId}`;
  const graphqlPath = `/${shopId}/account/customer/api/2026-04/graphql`;
  const host = new URL(origin).host;
  const orders = new Map(customers.map((c, i) => [c.id, makeOrders(c, i, o.orders ?? 30, seed, host)] as const));
  const shop = { id: `gid://shopify/Shop/${shopId}`, name: o.shopName ?? 'Replica Coffee Co.', url: origin };

  const nonceClaim = (nonce: string): { nonce?: string } =>
    o.idTokenNonce === 'missing' ? {} : { nonce: o.idTokenNonce === 'wrong' ? randomBytes(32).toString('base64url') : nonce };
  const mint = (bytes = 24, prefix = 'shcat_') => {
    const v = `${prefix}${randomBytes(bytes).toString('base64url')}`;
    issued.push(v);
    return v;
  };
  const tokenError = (res: ServerResponse, status: number, error: string, description: string) => sendJson(res, status, { error, error_description: description });
  const errorPage = (res: ServerResponse, message: string) =>
    sendHtml(res, 400, `<!doctype html><title>Error</title><h1>Something went wrong</h1><p>${escapeHtml(message)}</p>`);

  function authorize(url: URL, res: ServerResponse): void {
    stats.authorize++;
    const q = url.searchParams;
    const client = q.get('client_id') ?? '';
    if (!clientIds.has(client)) return errorPage(res, 'Invalid client_id: this client is not registered for the shop.');
    const redirectUri = q.get('redirect_uri') ?? '';
    // RFC 6749 §4.1.2.1: an unregistered redirect URI is never redirected to.
    if (!redirects.has(redirectUri)) return errorPage(res, 'The redirect_uri is not allowed for this client. Only registered https callback URIs are accepted (localhost and http are not supported).');
    const back = (params: Record<string, string>) => {
      const to = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
      if (q.get('state')) to.searchParams.set('state', q.get('state')!);
      if (o.issParameter) to.searchParams.set('iss', issuer);
      res.writeHead(302, { Location: to.href, 'Cache-Control': 'no-store' }).end();
    };
    if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type', error_description: 'Only the code flow is supported.' });
    const scope = q.get('scope') ?? '';
    if (!scope.split(' ').includes('openid')) return back({ error: 'invalid_scope', error_description: 'The openid scope is required.' });
    if (!q.get('nonce')) return back({ error: 'invalid_request', error_description: 'The nonce parameter is required.' });
    if (q.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '')) return back({ error: 'invalid_request', error_description: 'PKCE with S256 is required for public clients.' });
    const hint = (q.get('login_hint') ?? '').toLowerCase();
    const customer = customers.find((c) => c.name === hint || c.email === hint) ?? customers[0]!;
    const code = randomBytes(24).toString('base64url');
    issued.push(code);
    codes.set(code, { client, redirectUri, challenge: q.get('code_challenge')!, nonce: q.get('nonce')!, customer, scope, exp: Date.now() + 600_000 });
    back({ code });
  }

  function grantTokens(res: ServerResponse, customer: ShopifyCustomer, client: string, scope: string, nonce: string | null, family: string): void {
    const at = mint();
    const rt = mint(32, 'shcrt_');
    access.set(at, { customer, exp: Date.now() + ttl * 1000 });
    refresh.set(rt, { customer, client, scope, used: false, family });
    const now = Math.floor(Date.now() / 1000);
    sendJson(res, 200, {
      access_token: at,
      token_type: 'Bearer',
      expires_in: ttl,
      refresh_token: rt,
      scope,
      ...(nonce !== null ? { id_token: idToken(privateKey, { iss: issuer, aud: client, sub: customer.id, iat: now, exp: now + 3600, auth_time: now, ...nonceClaim(nonce) }) } : {}),
    });
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.tokens++;
    const form = new URLSearchParams(await readBody(req));
    const client = form.get('client_id') ?? '';
    if (!clientIds.has(client)) return tokenError(res, 401, 'invalid_client', 'Client authentication failed.');
    if (form.get('grant_type') === 'authorization_code') {
      const c = codes.get(form.get('code') ?? '');
      if (!c || c.exp < Date.now() || c.client !== client) return tokenError(res, 400, 'invalid_grant', 'The authorization code is invalid or expired.');
      codes.delete(form.get('code')!); // single use
      if (form.get('redirect_uri') !== c.redirectUri) return tokenError(res, 400, 'invalid_grant', 'redirect_uri does not match.');
      const verifier = form.get('code_verifier') ?? '';
      if (b64u(createHash('sha256').update(verifier).digest()) !== c.challenge) return tokenError(res, 400, 'invalid_grant', 'PKCE verification failed.');
      return grantTokens(res, c.customer, client, c.scope, c.nonce, randomBytes(8).toString('hex'));
    }
    if (form.get('grant_type') === 'refresh_token') {
      const rt = refresh.get(form.get('refresh_token') ?? '');
      if (!rt || rt.client !== client) return tokenError(res, 400, 'invalid_grant', 'The refresh token is invalid.');
      if (rt.used) {
        // A rotated token presented again: the whole family is revoked.
        stats.reuseDetected++;
        for (const [k, v] of refresh) if (v.family === rt.family) refresh.delete(k);
        return tokenError(res, 400, 'invalid_grant', 'The refresh token was already used.');
      }
      rt.used = true;
      stats.refreshes++;
      return grantTokens(res, rt.customer, client, rt.scope, null, rt.family);
    }
    return tokenError(res, 400, 'unsupported_grant_type', 'Unsupported grant type.');
  }

  async function api(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.graphql++;
    const auth = req.headers.authorization ?? '';
    if (/^bearer /i.test(auth)) stats.bearerRefused++;
    const grant = access.get(auth);
    if (!grant || grant.exp < Date.now()) {
      stats.unauthorized++;
      return sendJson(res, 401, { errors: [{ message: 'Unauthorized', extensions: { code: 'UNAUTHORIZED' } }] });
    }
    const now = Date.now();
    const w = (windows.get(grant.customer.id) ?? []).filter((t) => t > now - 60_000);
    w.push(now);
    windows.set(grant.customer.id, w);
    if (throttle.n > 0 || w.length > rpm) {
      if (throttle.n > 0) throttle.n--;
      stats.throttled++;
      return sendJson(res, 429, { errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }] }, { 'Retry-After': String(throttle.n >= 0 ? throttle.after : 60) });
    }
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(await readBody(req, 256 * 1024)) as typeof body;
    } catch {
      return sendJson(res, 400, { errors: [{ message: 'Invalid JSON in request body.' }] });
    }
    if (typeof body.query !== 'string') return sendJson(res, 400, { errors: [{ message: 'Missing query.' }] });
    const result = await graphql({
      schema: customerSchema(),
      source: body.query,
      rootValue: rootFor(grant.customer, shop, () => orders.get(grant.customer.id)!),
      variableValues: (body.variables ?? {}) as Record<string, unknown>,
      ...(typeof body.operationName === 'string' ? { operationName: body.operationName } : {}),
    });
    sendJson(res, 200, result, { 'x-request-id': randomBytes(8).toString('hex') });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin);
    const p = url.pathname;
    const run = async () => {
      if (req.method === 'GET' && p === '/.well-known/openid-configuration') {
        return sendJson(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/oauth/authorize`,
          token_endpoint: `${issuer}/oauth/token`,
          end_session_endpoint: `${issuer}/logout`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'none'],
          id_token_signing_alg_values_supported: ['RS256'],
          subject_types_supported: ['public'],
          scopes_supported: ['openid', 'email', 'customer-account-api:full'],
          ...(o.issParameter ? { authorization_response_iss_parameter_supported: true } : {}),
        });
      }
      if (req.method === 'GET' && p === '/.well-known/customer-account-api') {
        return sendJson(res, 200, { graphql_api: `${origin}${graphqlPath}`, mcp_api: `${origin}/${shopId}/account/customer/api/mcp` });
      }
      if (req.method === 'GET' && p === `/authentication/${shopId}/.well-known/jwks.json`) {
        return sendJson(res, 200, { keys: [{ ...(publicKey.export({ format: 'jwk' }) as object), kid: 'replica', alg: 'RS256', use: 'sig' }] });
      }
      if (req.method === 'GET' && p === `/authentication/${shopId}/oauth/authorize`) return authorize(url, res);
      if (req.method === 'POST' && p === `/authentication/${shopId}/oauth/token`) return token(req, res);
      if (req.method === 'POST' && p === graphqlPath) return api(req, res);
      req.resume();
      if (o.mintRoute && p === MINT_PATH) {
        const why = refuseMint(req, origin);
        if (why) return sendRefusal(res, 403, why);
        const name = (url.searchParams.get('customer') ?? customers[0]!.name).toLowerCase();
        const customer = customers.find((c) => c.name === name);
        if (!customer) return sendRefusal(res, 400, `no such customer; the replica has ${customers.map((c) => c.name).join(', ')}`);
        // A grant as if the customer had signed in: the first registered client, the scopes orderlink asks for.
        const rt = mint(32, 'shcrt_');
        refresh.set(rt, { customer, client: [...clientIds][0]!, scope: 'openid email customer-account-api:full', used: false, family: randomBytes(8).toString('hex') });
        return sendToken(res, rt);
      }
      sendJson(res, 404, { errors: [{ message: 'Not Found' }] });
    };
    run().catch(() => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal error' }] });
      else res.destroy();
    });
  });

  return {
    url: origin,
    issuer,
    graphqlUrl: `${origin}${graphqlPath}`,
    shopId,
    stats,
    issued: () => [...issued],
    throttleNext(n, after) {
      throttle = { n, after };
    },
    expireAccessTokens() {
      access.clear();
    },
    advance(n = 1) {
      for (let i = 0; i < n; i++) {
        steps++;
        customers.forEach((c, idx) => advanceOrders(orders.get(c.id)!, steps, c, idx, seed, host));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export type { ShopifyOrder, ShopifyCustomer };
