/**
 * Glue between connections and the OAuth client (src/oauth): which issuer a connection uses,
 * discovery (cached per process, issuer validated), the public client, and the refresh function
 * the TokenManager calls.
 */
import type { Context } from '../context.js';
import type { AppCredentials, ConnectionConfig, Connector } from '../connectors/types.js';
import { OrderlinkError, usageError } from '../errors.js';
import { TokenManager, type TokenRecord } from './index.js';

import type { AuthServer, OAuthClient } from '../oauth/index.js';

const discoveryCache = new Map<string, Promise<AuthServer>>();

/** http is allowed only for loopback hosts (the sandbox, local replicas); everything else must be https. */
export function isLoopbackUrl(u: URL): boolean {
  return u.hostname === '127.0.0.1' || u.hostname === '[::1]';
}

export function resolveIssuer(ctx: Context, connector: Connector, explicit?: string): string {
  const raw = explicit ?? ctx.env[connector.baseUrl.env] ?? connector.baseUrl.default ?? undefined;
  if (!raw) {
    throw usageError(
      'BASE_URL_REQUIRED',
      `${connector.displayName} needs a base URL`,
      connector.id === 'sandbox'
        ? 'Start one with `orderlink sandbox serve` and pass --base-url http://127.0.0.1:PORT (or set ORDERLINK_SANDBOX_URL).'
        : `Pass --base-url or set ${connector.baseUrl.env}.`,
    );
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError('BAD_BASE_URL', `"${raw.slice(0, 80)}" is not a URL`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackUrl(u))) {
    throw usageError('INSECURE_BASE_URL', `refusing ${u.protocol}//${u.host}: only https (or http on 127.0.0.1 for sandboxes) is allowed`);
  }
  return raw.replace(/\/+$/, '');
}

export async function discoverFor(ctx: Context, issuer: string): Promise<AuthServer> {
  const { discover } = await import('../oauth/index.js');
  let p = discoveryCache.get(issuer);
  if (!p) {
    p = discover(issuer, { allowLoopbackHttp: isLoopbackUrl(new URL(issuer)), fetch: ctx.fetch, trace: (l) => ctx.trace(l), signal: ctx.signal });
    discoveryCache.set(issuer, p);
    p.catch(() => discoveryCache.delete(issuer));
  }
  return p;
}

/**
 * The OAuth client for a connector: its own client id, the one stored with the connection, or —
 * for a confidential client (RFC 6749 §2.1) — the id and secret of `orderlink connector setup`.
 */
export function oauthClientFor(connector: Connector, config: ConnectionConfig = {}, app: AppCredentials | null = null): OAuthClient {
  if (connector.auth.type !== 'oauth') throw new OrderlinkError('NOT_OAUTH', `${connector.id} is not an OAuth connector`);
  const clientId = connector.auth.clientId ?? app?.clientId ?? config.clientId;
  if (!clientId) throw usageError('CLIENT_ID_REQUIRED', `${connector.displayName} needs the client id of your app`, 'Pass --client-id ID when linking.');
  return connector.auth.confidential && app ? { clientId, clientSecret: app.secret } : { clientId };
}

/**
 * The authorization server of a connection: discovered at its issuer (RFC 8414), or built from an
 * explicit token endpoint for servers that publish no metadata (the app's `--token-url` first).
 */
export async function authServerFor(ctx: Context, issuer: string, tokenEndpoint: string | undefined): Promise<AuthServer> {
  if (tokenEndpoint === undefined) return discoverFor(ctx, issuer);
  const { explicitServer } = await import('../oauth/index.js');
  return explicitServer({ tokenEndpoint }, { allowLoopbackHttp: isLoopbackUrl(new URL(tokenEndpoint)), fetch: ctx.fetch, trace: (l) => ctx.trace(l) });
}

/** The app credentials a token record points at (confidential clients), read for one request. */
async function appSecretFor(ctx: Context, record: TokenRecord): Promise<string | undefined> {
  if (!record.appRef) return undefined;
  const text = (await ctx.vault()).get(record.appRef);
  if (text === undefined) {
    throw new OrderlinkError('APP_CREDENTIALS_MISSING', 'the app credentials this connection refreshes with are no longer in the vault', {
      hint: `Set them up again: orderlink connector setup CONNECTOR (they were stored as ${record.appRef}).`,
    });
  }
  return (JSON.parse(text) as AppCredentials).secret;
}

export function createTokenManager(ctx: Context): TokenManager {
  return new TokenManager(ctx, async (record: TokenRecord) => {
    const { refreshTokens } = await import('../oauth/index.js');
    const as = await authServerFor(ctx, record.issuer, record.tokenEndpoint);
    ctx.trace(`refreshing the access token at ${record.issuer}`);
    const secret = await appSecretFor(ctx, record);
    const fresh = await refreshTokens(as, { clientId: record.clientId, ...(secret ? { clientSecret: secret } : {}) }, record.refreshToken!, { signal: ctx.signal });
    return {
      accessToken: fresh.accessToken,
      refreshToken: fresh.refreshToken ?? null,
      expiresAt: fresh.expiresAt ?? null,
      scope: fresh.scope ?? null,
      tokenType: fresh.tokenType ?? 'bearer',
    };
  });
}
