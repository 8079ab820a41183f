/**
 * The sandbox's authorization server: oidc-provider, configured — no authorization-server logic of
 * our own. One native public client (RFC 8252) with loopback redirects on any port (§7.3), PKCE S256
 * required (RFC 7636), `iss` in authorization responses (RFC 9207), refresh-token rotation with reuse
 * detection (RFC 9700 §4.14.2), revocation (RFC 7009), opaque access tokens in the in-memory adapter.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Configuration, JWK, KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { SandboxAccount } from './data.js';
import type { FaultState } from './faults.js';
import { escapeHtml, layout } from './http.js';
import type { StatsCollector } from './stats.js';

export const CLIENT_ID = 'orderlink-cli';
export const SCOPES: readonly string[] = ['openid', 'offline_access', 'profile', 'orders:read'];
export const DEFAULT_REDIRECT_PATHS: readonly string[] = ['/callback/sandbox'];

type OidcModule = typeof import('oidc-provider');

/**
 * oidc-provider prints development notices through console (an unsupported-runtime notice on
 * Node 20, the in-memory adapter notice). They would land in the middle of `orderlink demo`, so
 * they are filtered while the library loads and the provider is built — only lines from
 * oidc-provider, and only for that moment (nesting-safe).
 */
let quietDepth = 0;
let saved: { warn: typeof console.warn; info: typeof console.info } | null = null;
async function quietly<T>(fn: () => T | Promise<T>): Promise<T> {
  if (quietDepth++ === 0) {
    saved = { warn: console.warn, info: console.info };
    const keep = (orig: (...a: unknown[]) => void) => (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
      orig.apply(console, args);
    };
    console.warn = keep(saved.warn);
    console.info = keep(saved.info);
  }
  try {
    return await fn();
  } finally {
    if (--quietDepth === 0 && saved) {
      console.warn = saved.warn;
      console.info = saved.info;
      saved = null;
    }
  }
}

let oidcModule: Promise<OidcModule> | null = null;
const loadOidc = (): Promise<OidcModule> => (oidcModule ??= quietly(() => import('oidc-provider')));

/** One RS256 signing key per process (ID tokens); generated asynchronously on first use. */
let signingKey: Promise<JWK> | null = null;
function getSigningKey(): Promise<JWK> {
  signingKey ??= new Promise<JWK>((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, _pub, priv) => {
      if (err) return reject(err);
      resolve({ ...(priv.export({ format: 'jwk' }) as JWK), kid: 'sandbox-rs256', alg: 'RS256', use: 'sig' });
    });
  });
  return signingKey;
}

export type AutoConsent = 'approve' | 'deny' | false;

export interface AuthServerOptions {
  issuer: string;
  accounts: SandboxAccount[];
  faults: FaultState;
  stats: StatsCollector;
  /** 'approve' or 'deny' every authorization request without a page, or false for the pages. */
  autoConsent: () => AutoConsent;
  accessTokenTtl: number;
  redirectPaths: readonly string[];
}

export interface VerifiedToken {
  account: SandboxAccount;
  scopes: Set<string>;
}

export interface AuthServer {
  provider: Provider;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  findAccount(hint: unknown): SandboxAccount | undefined;
  verifyAccessToken(token: string): Promise<VerifiedToken | null>;
  mintRefreshToken(account: string, scope?: string): Promise<string>;
  revokeAllFor(account: string): Promise<void>;
}

export async function createAuthServer(o: AuthServerOptions): Promise<AuthServer> {
  const [{ default: ProviderClass, errors }, jwk] = await Promise.all([loadOidc(), getSigningKey()]);
  const byId = new Map(o.accounts.map((a) => [a.accountId, a]));
  const findAccount = (hint: unknown): SandboxAccount | undefined => {
    if (typeof hint !== 'string') return undefined;
    const h = hint.trim().toLowerCase();
    return o.accounts.find((a) => a.name === h || a.accountId === h || a.label === h);
  };
  const grantsByAccount = new Map<string, Set<string>>();

  const configuration: Configuration = {
    clients: [
      {
        client_id: CLIENT_ID,
        client_name: 'orderlink CLI',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // Registered without a port: oidc-provider matches native loopback redirects on any port.
        redirect_uris: o.redirectPaths.map((p) => `http://127.0.0.1${p}`),
        scope: SCOPES.join(' '),
        id_token_signed_response_alg: 'RS256',
      },
    ],
    clientAuthMethods: ['none'],
    responseTypes: ['code'],
    scopes: [...SCOPES],
    claims: { openid: ['sub'], profile: ['name', 'email', 'preferred_username'] },
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: true },
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // A CLI needs a refresh token whether or not it asked for offline_access (providers such as
    // Shopify issue one regardless), and it must not die with a browser session it never keeps.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    // Always rotate (public client). Reuse of a consumed token is caught by oidc-provider before
    // this runs: it revokes the whole grant and answers invalid_grant. Refresh faults hook in here.
    rotateRefreshToken: async (ctx: KoaContextWithOIDC) => {
      const fault = o.faults.refreshFault();
      if (fault === 'revoke') {
        const grantId = ctx.oidc.entities.RefreshToken?.grantId;
        if (grantId) await revokeGrant(grantId);
        throw new errors.InvalidGrant('refresh token was revoked (sandbox fault revoke-refresh)');
      }
      if (fault === 'invalid') throw new errors.InvalidGrant('refresh rejected once (sandbox fault invalid-grant)');
      return true;
    },
    ttl: {
      AccessToken: () => o.faults.spec.accessTtl ?? o.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 30 * 86_400,
      Interaction: 3600,
      Session: 14 * 86_400,
      Grant: 30 * 86_400,
    },
    findAccount: async (_ctx, sub) => {
      const a = byId.get(sub);
      if (!a) return undefined;
      return { accountId: a.accountId, claims: async () => ({ sub: a.accountId, name: a.displayName, email: a.label, preferred_username: a.name }) };
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = layout(
        'Something went wrong',
        `<h1>Something went wrong</h1><p><strong>${escapeHtml(String(out.error))}</strong></p>` +
          (out.error_description ? `<p class="muted">${escapeHtml(String(out.error_description))}</p>` : ''),
      );
    },
  };

  const provider = await quietly(() => new ProviderClass(o.issuer, configuration));

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const gty = (ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type;
    if (gty === 'authorization_code' || gty === 'refresh_token') o.stats.grants[gty]++;
  });
  provider.on('grant.error', (_ctx: KoaContextWithOIDC, err: { error?: string }) => o.stats.grantError(err.error ?? 'unknown'));
  provider.on('server_error', () => {
    o.stats.serverErrors++;
  });
  provider.on('grant.saved', (grant) => {
    if (!grant.accountId) return;
    let set = grantsByAccount.get(grant.accountId);
    if (!set) grantsByAccount.set(grant.accountId, (set = new Set()));
    set.add(grant.jti);
  });

  async function revokeGrant(grantId: string): Promise<void> {
    await Promise.all([
      provider.AccessToken.revokeByGrantId(grantId),
      provider.RefreshToken.revokeByGrantId(grantId),
      provider.AuthorizationCode.revokeByGrantId(grantId),
    ]);
    await provider.Grant.adapter.destroy(grantId);
    o.stats.grantsRevoked++;
  }

  // autoConsent: complete the interaction in-process so that the authorization endpoint answers
  // with the redirect to the client (code, state, iss) in one hop — no page, no cookie jar needed.
  const authPath = provider.pathFor('authorization');
  const issuerOrigin = new URL(o.issuer).origin;
  provider.use(async (ctx, next) => {
    const auto = o.autoConsent() !== false && (ctx.method === 'GET' || ctx.method === 'POST') && ctx.path === authPath;
    // Every auto-consented request starts a fresh session: an old browser session for another
    // account must not turn into a "sign out first?" page.
    if (auto) delete ctx.req.headers.cookie;
    await next();
    if (!auto || (ctx.status !== 303 && ctx.status !== 302)) return;
    const dest = new URL(String(ctx.response.get('Location')), o.issuer);
    const m = /^\/interaction\/([\w-]+)$/.exec(dest.pathname);
    if (dest.origin !== issuerOrigin || !m) return;
    const setCookie = ctx.res.getHeader('set-cookie');
    const final = await completeAutomatically(m[1]!, Array.isArray(setCookie) ? setCookie : setCookie ? [String(setCookie)] : []);
    ctx.res.removeHeader('set-cookie');
    ctx.status = final.status;
    if (final.location) ctx.set('Location', final.location);
    else ctx.remove('Location');
    ctx.type = final.contentType ?? 'text/plain';
    ctx.body = final.body;
  });

  async function completeAutomatically(uid: string, setCookie: string[]): Promise<Resumed> {
    const interaction = await provider.Interaction.find(uid);
    if (!interaction) throw new Error('interaction vanished');
    if (o.autoConsent() === 'deny') {
      interaction.result = { error: 'access_denied', error_description: 'The user denied the request.' };
      await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
      return resume(interaction.returnTo, setCookie);
    }
    const params = interaction.params as { login_hint?: unknown; scope?: unknown; client_id?: unknown };
    const account = findAccount(params.login_hint) ?? o.accounts[0]!;
    const grant = new provider.Grant({ accountId: account.accountId, clientId: String(params.client_id) });
    const scope = String(params.scope ?? '').split(' ').filter((s) => SCOPES.includes(s));
    if (scope.length) grant.addOIDCScope(scope.join(' '));
    const claims = (interaction.prompt.details as { missingOIDCClaims?: string[] }).missingOIDCClaims;
    if (claims?.length) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    interaction.result = { login: { accountId: account.accountId }, consent: { grantId } };
    await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
    return resume(interaction.returnTo, setCookie);
  }

  type Resumed = { status: number; location: string | null; body: string; contentType: string | null };
  async function resume(returnTo: string, setCookie: string[]): Promise<Resumed> {
    // Resume exactly as a browser would: with the cookies the authorization endpoint just set.
    const jar = new Map<string, string>();
    for (const c of setCookie) {
      const pair = c.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const cookie = [...jar].filter(([, v]) => v !== '').map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(new URL(returnTo, o.issuer), { headers: { cookie }, redirect: 'manual' });
    const body = await res.text();
    return { status: res.status, location: res.headers.get('location'), body, contentType: res.headers.get('content-type') };
  }

  return {
    provider,
    handle: provider.callback(),
    findAccount,
    async verifyAccessToken(token) {
      if (!token || token.length > 512) return null;
      const at = await provider.AccessToken.find(token);
      if (!at || at.isExpired || at.clientId !== CLIENT_ID) return null;
      const account = byId.get(at.accountId);
      return account ? { account, scopes: at.scopes } : null;
    },
    async mintRefreshToken(name, scope = 'openid offline_access profile orders:read') {
      const account = findAccount(name);
      if (!account) throw new Error(`unknown sandbox account "${String(name).slice(0, 40)}"`);
      const scopes = scope.split(' ').filter(Boolean);
      const unknown = scopes.filter((s) => !SCOPES.includes(s));
      if (unknown.length) throw new Error(`unknown scope(s): ${unknown.join(' ').slice(0, 80)}`);
      const client = await provider.Client.find(CLIENT_ID);
      if (!client) throw new Error('sandbox client missing');
      const grant = new provider.Grant({ accountId: account.accountId, clientId: CLIENT_ID });
      grant.addOIDCScope(scopes.join(' '));
      const grantId = await grant.save();
      const rt = new provider.RefreshToken({ client, accountId: account.accountId, grantId, scope: scopes.join(' '), gty: 'authorization_code', expiresWithSession: false, rotations: 0 });
      const value = await rt.save();
      o.stats.minted++;
      return value;
    },
    async revokeAllFor(name) {
      const account = findAccount(name);
      if (!account) throw new Error(`unknown sandbox account "${String(name).slice(0, 40)}"`);
      const grants = grantsByAccount.get(account.accountId) ?? new Set<string>();
      grantsByAccount.delete(account.accountId);
      for (const g of grants) await revokeGrant(g);
    },
  };
}
