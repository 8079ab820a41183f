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
  const fallback = (connector.auth.type === 'oauth' ? connector.auth.defaultIssuer : undefined) ?? connector.baseUrl.default ?? undefined;
  const raw = explicit ?? ctx.env[connector.baseUrl.env] ?? fallback;
  if (!raw && connector.auth.type === 'oauth' && connector.auth.discovery === 'site') {
    throw usageError('SHOP_REQUIRED', `${connector.displayName} needs the shop's storefront domain`, `Pass --shop DOMAIN (the domain customers visit, e.g. --shop shop.example.com). See ${connector.docs}.`);
  }
  if (!raw) {
    throw usageError(
      'BASE_URL_REQUIRED',
      `${connector.displayName} needs a base URL`,
      connector.id === 'sandbox'
        ? 'Start one with `orderlink sandbox serve` and pass --base-url http://127.0.0.1:PORT (or set ORDERLINK_SANDBOX_URL).'
        : `Pass --issuer URL (or --base-url) or set ${connector.baseUrl.env}.`,
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
  if (!clientId) throw usageError('CLIENT_ID_REQUIRED', `${connector.displayName} needs the client id of your app`, `Pass --client-id ID when linking: orderlink link ${connector.id} --client-id ID`);
  return {
    clientId,
    ...(connector.auth.tokenEndpointAuthMethod ? { authMethod: connector.auth.tokenEndpointAuthMethod } : {}),
    ...(connector.auth.confidential && app ? { clientSecret: app.secret } : {}),
  };
}

/** Vault reference of a confidential connector's client secret (`connector add`, `connector setup`). */
export const clientSecretRef = (connectorId: string): string => `client:${connectorId}`;

/** A confidential client's secret from the vault, at the moment it is needed (SECURITY.md rule 15). */
export async function readClientSecret(ctx: Context, ref: string, what: string): Promise<string> {
  const secret = (await ctx.vault()).get(ref);
  if (secret === undefined) {
    throw new OrderlinkError('CLIENT_SECRET_MISSING', `the client secret of ${what} is not in the vault`, {
      hint: `Store it again: orderlink connector add ${what} --from FILE --client-secret-stdin (or remove and re-add the connector).`,
    });
  }
  return secret;
}

/** The client, with its secret when the connector is confidential. */
export async function oauthClientWithSecret(ctx: Context, connector: Connector, config: ConnectionConfig = {}): Promise<OAuthClient> {
  const client = oauthClientFor(connector, config);
  if (connector.auth.type !== 'oauth' || !connector.auth.confidential) return client;
  return { ...client, clientSecret: await readClientSecret(ctx, clientSecretRef(connector.id), connector.id) };
}

/** The authorization server a stored token belongs to: configured endpoints, or discovery at its issuer. */
export async function authServerForRecord(ctx: Context, record: Pick<TokenRecord, 'issuer' | 'endpoints'>): Promise<AuthServer> {
  if (!record.endpoints) return discoverFor(ctx, record.issuer);
  const { fromEndpoints } = await import('../oauth/index.js');
  return fromEndpoints(record.issuer, record.endpoints, { allowLoopbackHttp: isLoopbackUrl(new URL(record.issuer)), fetch: ctx.fetch, trace: (l) => ctx.trace(l), signal: ctx.signal });
}

/** The client a stored token was issued to, with its secret from the vault when it has one. */
export async function clientForRecord(ctx: Context, record: TokenRecord): Promise<OAuthClient> {
  return {
    clientId: record.clientId,
    ...(record.clientSecretRef ? { clientSecret: await readClientSecret(ctx, record.clientSecretRef, record.clientSecretRef.replace(/^client:/, '')) } : {}),
    ...(record.authMethod ? { authMethod: record.authMethod } : {}),
  };
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
    const as = record.tokenEndpoint ? await authServerFor(ctx, record.issuer, record.tokenEndpoint) : await authServerForRecord(ctx, record);
    ctx.trace(`refreshing the access token at ${record.issuer}`);
    // App credentials (connector setup) or a client secret (connector add), read for this request only.
    const appSecret = await appSecretFor(ctx, record);
    const client = appSecret ? { clientId: record.clientId, clientSecret: appSecret, authMethod: record.authMethod ?? ('client_secret_post' as const) } : await clientForRecord(ctx, record);
    const fresh = await refreshTokens(as, client, record.refreshToken!, { signal: ctx.signal });
    return {
      accessToken: fresh.accessToken,
      refreshToken: fresh.refreshToken ?? null,
      expiresAt: fresh.expiresAt ?? null,
      scope: fresh.scope ?? null,
      tokenType: fresh.tokenType ?? 'bearer',
    };
  });
}
