/**
 * The built-in sandbox provider: an OAuth 2.0 / OpenID authorization server (oidc-provider) and a
 * deterministic orders API with fault injection, on one HTTP server bound to 127.0.0.1.
 * It powers `link`/`sync`/`demo`, the tests and the benchmarks. See docs/sandbox.md.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrderlinkError } from '../errors.js';
import { handleAdmin } from './admin.js';
import { CLIENT_ID, createAuthServer, DEFAULT_REDIRECT_PATHS, SCOPES, type AuthServer, type AutoConsent } from './auth.js';
import { makeAccounts, SANDBOX_EPOCH_MS, type SandboxAccount } from './data.js';
import { FaultState, formatFaults, type FaultSpec } from './faults.js';
import { escapeHtml, layout, sendHtml, sendJson } from './http.js';
import { handleInteraction } from './interaction.js';
import { handleApi } from './orders-api.js';
import { StatsCollector, type SandboxStats } from './stats.js';
import { AccountFeed } from './store.js';

export { FAULTS_HELP, formatFaults, parseFaults, type FaultSpec } from './faults.js';
export type { SandboxStats } from './stats.js';
export type { RawOrder, RawTombstone, RawItem, RawAmounts, RawStatus } from './data.js';
export { SANDBOX_EPOCH_MS } from './data.js';
export { CLIENT_ID as SANDBOX_CLIENT_ID, SCOPES as SANDBOX_SCOPES } from './auth.js';

export interface SandboxOptions {
  /** 0 = OS-assigned (default). */
  port?: number;
  host?: '127.0.0.1';
  /** Orders per account (default 250). */
  orders?: number;
  /** Default 42; same seed → same data. */
  seed?: number;
  faults?: string | FaultSpec;
  /** Approve every authorization request without a screen (account from login_hint, else the first). */
  autoConsent?: boolean;
  /** Seconds, default 3600 (the access-ttl fault overrides it). */
  accessTokenTtl?: number;
  /** Sandbox user accounts, default 3 ("alice", "bob", "carol"). */
  accounts?: number;
  /** Largest `limit` the orders API accepts (default 500). */
  pageSizeMax?: number;
  /** Redirect paths registered for the client (any loopback port), default ["/callback/sandbox"]. */
  redirectPaths?: string[];
}

export interface SandboxHandle {
  /** e.g. http://127.0.0.1:PORT (no trailing slash). */
  issuer: string;
  url: string;
  port: number;
  clientId: string;
  /** The sandbox accounts ("alice", ...). */
  accounts: readonly { name: string; accountId: string; label: string }[];
  stats(): SandboxStats;
  setFaults(spec: string | FaultSpec): void;
  /** The active fault spec in canonical text form ("" when none). */
  faults(): string;
  /**
   * Change the consent behaviour at run time: true = approve without a page, 'deny' = answer every
   * authorization request with access_denied (state and iss included), false = show the pages.
   */
  setAutoConsent(mode: boolean | 'deny'): void;
  advance(steps?: number): { changed: string[] };
  orderCount(account?: string): number;
  mintRefreshToken(account: string, scope?: string): Promise<string>;
  revokeAllFor(account: string): Promise<void>;
  close(): Promise<void>;
}

function option(name: string, value: unknown, ok: boolean, want: string): void {
  if (!ok) {
    throw new OrderlinkError('BAD_SANDBOX_OPTION', `Sandbox option ${name} is invalid (${String(value).slice(0, 40)}): ${want}.`, { kind: 'usage' });
  }
}

/** A port that cannot be had is the caller's choice to change: a usage error, not a crash. */
function listenError(err: NodeJS.ErrnoException, port: number): Error {
  if (err.code === 'EADDRINUSE') {
    return new OrderlinkError('PORT_IN_USE', `port ${port} is in use`, { kind: 'usage', hint: 'Choose another port with --port N, or --port 0 to let the system pick a free one.', details: { port } });
  }
  if (err.code === 'EACCES') {
    return new OrderlinkError('PORT_NOT_ALLOWED', `not allowed to listen on port ${port}`, { kind: 'usage', hint: 'Ports below 1024 need extra privileges: choose a port above 1024, or --port 0.', details: { port } });
  }
  return err;
}

const isInt = (v: unknown, min: number, max: number): boolean => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

export async function startSandbox(opts: SandboxOptions = {}): Promise<SandboxHandle> {
  const port = opts.port ?? 0;
  const orders = opts.orders ?? 250;
  const seed = opts.seed ?? 42;
  const nAccounts = opts.accounts ?? 3;
  const accessTokenTtl = opts.accessTokenTtl ?? 3600;
  const pageSizeMax = opts.pageSizeMax ?? 500;
  const redirectPaths = opts.redirectPaths ?? [...DEFAULT_REDIRECT_PATHS];
  option('port', port, isInt(port, 0, 65535), 'an integer from 0 to 65535');
  option('host', opts.host, opts.host === undefined || opts.host === '127.0.0.1', 'only 127.0.0.1 is supported');
  option('orders', orders, isInt(orders, 0, 5_000_000), 'an integer from 0 to 5,000,000');
  option('seed', seed, isInt(seed, -(2 ** 31), 2 ** 32 - 1), 'a 32-bit integer');
  option('accounts', nAccounts, isInt(nAccounts, 1, 100), 'an integer from 1 to 100');
  option('accessTokenTtl', accessTokenTtl, isInt(accessTokenTtl, 1, 86_400 * 365), 'whole seconds, at least 1');
  option('pageSizeMax', pageSizeMax, isInt(pageSizeMax, 1, 10_000), 'an integer from 1 to 10,000');
  option('redirectPaths', redirectPaths, redirectPaths.length > 0 && redirectPaths.every((p) => /^\/[\w\-./]*$/.test(p)), 'paths such as /callback/sandbox');

  const faults = new FaultState(seed, opts.faults);
  const stats = new StatsCollector(() => ({ ...faults.counters }));
  const accounts: SandboxAccount[] = makeAccounts(nAccounts);
  const feeds = new Map(accounts.map((a) => [a.name, new AccountFeed(a, seed, orders)]));
  let autoConsent: AutoConsent = opts.autoConsent === true ? 'approve' : false;

  const server = createServer();
  server.keepAliveTimeout = 5000;
  // The issuer needs the port, so the port opens before the OAuth server exists (with port 0 the
  // OS picks it at listen). A request in that window waits for `ready` and is then answered:
  // a script that polls the port and asks at once never hangs (issue 9, item 19).
  let markReady!: (ok: boolean) => void;
  const ready = new Promise<boolean>((resolve) => (markReady = resolve));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void ready.then((ok) => {
      if (!ok) return void res.destroy();
      onRequest(req, res).catch(() => {
        stats.serverErrors++;
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: 'Unexpected sandbox error.' });
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, port));
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${actualPort}`;
  const host = `127.0.0.1:${actualPort}`;

  let auth: AuthServer;
  try {
    auth = await createAuthServer({ issuer, accounts, faults, stats, autoConsent: () => autoConsent, accessTokenTtl, redirectPaths });
  } catch (err) {
    markReady(false);
    server.close();
    server.closeAllConnections();
    throw err;
  }
  const revocationPath = auth.provider.pathFor('revocation');
  const providerRoutes = new Map<string, string>(
    ['authorization', 'token', 'revocation', 'introspection', 'discovery', 'jwks', 'userinfo'].map((name) => [auth.provider.pathFor(name), name]),
  );
  const resumePrefix = `${auth.provider.pathFor('authorization')}/`;
  const routeName = (path: string): string => {
    const named = providerRoutes.get(path);
    if (named) return named;
    if (path === '/.well-known/oauth-authorization-server') return 'oauth_metadata';
    if (path === '/api/v1/me') return 'api.me';
    if (path === '/api/v1/orders') return 'api.orders';
    if (path.startsWith('/api/')) return 'api.other';
    if (/^\/__sandbox\/[a-z]{1,20}$/.test(path)) return `admin.${path.slice(11)}`;
    const im = /^\/interaction\/[^/]+(?:\/(login|confirm|abort))?$/.exec(path);
    if (im) return im[1] ? `interaction.${im[1]}` : 'interaction';
    if (path.startsWith(resumePrefix) && !path.slice(resumePrefix.length).includes('/')) return 'resume';
    if (path === '/') return 'home';
    return 'other';
  };

  const feedFor = (name?: string): AccountFeed => {
    const a = name === undefined ? accounts[0] : auth.findAccount(name);
    const feed = a && feeds.get(a.name);
    if (!feed) throw new OrderlinkError('UNKNOWN_SANDBOX_ACCOUNT', `No sandbox account "${String(name).slice(0, 40)}".`, { kind: 'usage', hint: `Accounts: ${accounts.map((x) => x.name).join(', ')}.` });
    return feed;
  };

  // Changes made by advance() happen at deterministic times after the generated world's epoch,
  // each one a millisecond after the last, so every change sorts after everything before it.
  let step = 0;
  let clock = SANDBOX_EPOCH_MS + 86_400_000;
  const advance = (steps = 1): { changed: string[] } => {
    option('steps', steps, isInt(steps, 1, 10_000), 'an integer from 1 to 10,000');
    const changed: string[] = [];
    for (let s = 0; s < steps; s++) {
      step++;
      clock += 60_000;
      let tick = clock;
      for (const feed of feeds.values()) changed.push(...feed.advanceStep(step, seed, () => tick++));
    }
    return { changed };
  };

  const setFaults = (spec: string | FaultSpec): string => formatFaults(faults.set(spec));
  const listAccounts = (): { name: string; account_id: string; label: string; orders: number }[] =>
    accounts.map((a) => ({ name: a.name, account_id: a.accountId, label: a.label, orders: feeds.get(a.name)!.liveCount }));

  const homePage = (): string =>
    layout(
      'Sandbox',
      `<h1>orderlink sandbox provider</h1>
<p>Issuer <code>${escapeHtml(issuer)}</code> · client <code>${escapeHtml(CLIENT_ID)}</code> · scopes <code>${escapeHtml(SCOPES.join(' '))}</code></p>
<p>Discovery: <code>/.well-known/openid-configuration</code>, <code>/.well-known/oauth-authorization-server</code>. API: <code>/api/v1/me</code>, <code>/api/v1/orders</code>.</p>
<p>Accounts: ${listAccounts().map((a) => `<code>${escapeHtml(a.name)}</code> (${a.orders} orders)`).join(', ')}</p>
<p>Faults: <code>${escapeHtml(formatFaults(faults.spec) || 'none')}</code></p>`,
    );

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (!rawUrl.startsWith('/')) return sendJson(res, 400, { error: 'invalid_request', error_description: 'Bad request target.' });
    const url = new URL(rawUrl, issuer);
    const path = url.pathname;
    stats.request(routeName(path));
    if (path.startsWith('/api/')) {
      return handleApi(req, res, url, { auth, feeds, faults, stats, pageSizeMax });
    }
    if (path.startsWith('/__sandbox/')) {
      return handleAdmin(req, res, url, {
        host,
        origin: issuer,
        stats: () => stats.snapshot(),
        faultsText: () => formatFaults(faults.spec),
        setFaults,
        advance,
        accounts: listAccounts,
        mintRefreshToken: (a, s) => auth.mintRefreshToken(a, s),
        revokeAllFor: (a) => auth.revokeAllFor(a),
      });
    }
    if (path.startsWith('/interaction/')) return handleInteraction(req, res, path, auth, accounts);
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) return sendHtml(res, 200, homePage());
    // RFC 8414 metadata: the same document as OpenID discovery.
    if (path === '/.well-known/oauth-authorization-server') req.url = `/.well-known/openid-configuration${url.search}`;
    if (path === revocationPath && req.method === 'POST') {
      res.once('finish', () => {
        if (res.statusCode === 200) stats.revocations++;
      });
    }
    auth.handle(req, res);
  }

  markReady(true);

  let closed: Promise<void> | null = null;
  return {
    issuer,
    url: issuer,
    port: actualPort,
    clientId: CLIENT_ID,
    accounts: accounts.map((a) => ({ name: a.name, accountId: a.accountId, label: a.label })),
    stats: () => stats.snapshot(),
    setFaults: (spec) => {
      setFaults(spec);
    },
    faults: () => formatFaults(faults.spec),
    setAutoConsent: (mode) => {
      autoConsent = mode === 'deny' ? 'deny' : mode === true ? 'approve' : false;
    },
    advance,
    orderCount: (account) => feedFor(account).liveCount,
    mintRefreshToken: (account, scope) => auth.mintRefreshToken(account, scope),
    revokeAllFor: (account) => auth.revokeAllFor(account),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
