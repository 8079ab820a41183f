/**
 * The `oauth` strategy's link flows: the browser on a loopback redirect, headless, paste-the-URL,
 * or a refresh token from CI (stdin or a named environment variable, never argv), validated by
 * one refresh before anything is saved. Returns the token record and the account it belongs to;
 * saving is the caller's (src/link/index.ts).
 */
import type { Context } from '../context.js';
import type { AppCredentials, Connector, OAuthStrategy, ProfileInfo } from '../connectors/types.js';
import { usageError } from '../errors.js';
import type { LinkOptions } from '../commands/link.js';
import { createHttp, retryPolicyFromEnv } from '../sync/http.js';
import type { TokenRecord } from '../tokens/index.js';
import type { AuthServer, OAuthClient } from '../oauth/index.js';
import { authServerFor, oauthClientFor } from '../tokens/oauth.js';
import { appCredentialsRef, readAppCredentials } from '../sync/session.js';
import type { ConnectionConfig } from '../domain.js';

type Tokens = { accessToken: string; refreshToken?: string | undefined; expiresAt?: number | undefined; scope?: string | undefined; tokenType?: string };

export interface OAuthLinkOutcome {
  secret: TokenRecord;
  profile: ProfileInfo | null;
  scopes: string;
  /** The config as completed while linking (issuer, region, API base). */
  config: ConnectionConfig;
}

/** What can fail locally, checked before any URL is shown (issue 9 #5). */
export function oauthPreflight(connector: Connector, o: LinkOptions, config: ConnectionConfig, app: AppCredentials | null = null): { auth: OAuthStrategy; client: OAuthClient } {
  const auth = connector.auth as OAuthStrategy;
  requireRefreshTokenWhereNoBrowser(connector, o);
  const client = oauthClientFor(connector, config, app);
  if (!auth.loopback && !o.manual && !o.refreshTokenStdin && !o.refreshTokenEnv) {
    throw usageError('LOOPBACK_FORBIDDEN', `${connector.displayName} does not allow http://127.0.0.1 redirects`, 'Use --manual and paste the final URL.');
  }
  return { auth, client };
}

/**
 * No discovery means no authorization endpoint to send a browser to (and LWA's consent page only
 * redirects to registered https addresses): the grant comes from self-authorization.
 */
function requireRefreshTokenWhereNoBrowser(connector: Connector, o: LinkOptions): void {
  if ((connector.auth as OAuthStrategy).tokenEndpoint && !o.refreshTokenStdin && !o.refreshTokenEnv) {
    throw usageError('REFRESH_TOKEN_ONLY', `${connector.displayName} links with a refresh token, not a browser`, `Authorize your app for your own account in the provider's developer console, then: printf %s "$REFRESH_TOKEN" | orderlink link ${connector.id} --refresh-token-stdin (see ${connector.docs}).`);
  }
}

export async function linkOAuth(ctx: Context, o: LinkOptions, connector: Connector, discoveredIssuer: string | undefined, linkConfig: ConnectionConfig): Promise<OAuthLinkOutcome> {
  requireRefreshTokenWhereNoBrowser(connector, o); // before the vault is even read
  const { config, app } = await confidentialConfig(ctx, connector, linkConfig);
  const { auth, client } = oauthPreflight(connector, o, config, app);
  // A CI token is read before anything leaves the machine: an empty variable fails here, locally.
  const ciToken = o.refreshTokenStdin || o.refreshTokenEnv ? await readCiToken(ctx, o) : null;
  const tokenEndpoint = auth.tokenEndpoint ? (app?.tokenUrl ?? auth.tokenEndpoint) : undefined;
  const as = await authServerFor(ctx, discoveredIssuer ?? '', tokenEndpoint);
  const issuer = tokenEndpoint ? as.issuer : discoveredIssuer!;
  const tokens = ciToken !== null ? await fromRefreshToken(ctx, as, client, ciToken) : await fromBrowser(ctx, o, connector, auth, as, client);
  const secret: TokenRecord = {
    v: 1,
    issuer,
    clientId: client.clientId,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken ?? null,
    expiresAt: tokens.expiresAt ?? null,
    scope: tokens.scope ?? auth.scopes.join(' '),
    tokenType: tokens.tokenType ?? 'bearer',
    obtainedAt: ctx.now().toISOString(),
    ...(tokenEndpoint ? { tokenEndpoint } : {}),
    ...(app ? { appRef: appCredentialsRef(connector.id, config.environment) } : {}),
  };
  const profile = connector.fetchProfile ? await fetchProfile(ctx, connector, config.apiBase ?? issuer, secret.accessToken!, config) : null;
  return { secret, profile, scopes: secret.scope ?? '', config: { ...config, issuer } };
}

/**
 * Confidential clients (RFC 6749 §2.1): the connector completes its config among the environments
 * whose app credentials are set up, and the API base is, in order: --base-url or the connector's
 * environment variable (already in the config), the app's `--base-url` (a replica), the
 * environment's documented host.
 */
async function confidentialConfig(ctx: Context, connector: Connector, config: ConnectionConfig): Promise<{ config: ConnectionConfig; app: AppCredentials | null }> {
  const auth = connector.auth as OAuthStrategy;
  if (!auth.confidential) return { config, app: null };
  const prefix = appCredentialsRef(connector.id, '');
  const setUp = (await ctx.vault()).list().filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
  const done = auth.completeConfig ? auth.completeConfig(config, setUp) : config;
  const app = await readAppCredentials(ctx, connector, done.environment);
  const apiBase = done.apiBase ?? app?.baseUrl ?? (done.environment ? connector.environments?.[done.environment] : undefined) ?? connector.baseUrl.default ?? undefined;
  if (!apiBase) throw usageError('BASE_URL_REQUIRED', `${connector.displayName} needs an API base URL`, `Pass --base-url or set ${connector.baseUrl.env}.`);
  return { config: { ...done, apiBase }, app };
}

async function readCiToken(ctx: Context, o: LinkOptions): Promise<string> {
  if (o.refreshTokenEnv) {
    const rt = ctx.env[o.refreshTokenEnv];
    if (!rt) throw usageError('REFRESH_TOKEN_MISSING', `the environment variable ${o.refreshTokenEnv} is empty or not set`);
    return rt;
  }
  if (ctx.io.stdinIsTTY) ctx.io.err('Paste the refresh token, then press Ctrl-D:');
  const rt = (await ctx.io.readStdin()).trim();
  if (!rt) throw usageError('REFRESH_TOKEN_MISSING', 'no refresh token arrived on stdin', 'Pipe it in: printf %s "$TOKEN" | orderlink link sandbox --refresh-token-stdin');
  return rt;
}

async function fromRefreshToken(ctx: Context, as: AuthServer, client: OAuthClient, rt: string): Promise<Tokens> {
  const { refreshTokens } = await import('../oauth/index.js');
  // Validated by one refresh before anything is saved (a rotated refresh token replaces it).
  return refreshTokens(as, client, rt, { signal: ctx.signal });
}

async function fromBrowser(ctx: Context, o: LinkOptions, connector: Connector, auth: OAuthStrategy, as: AuthServer, client: OAuthClient): Promise<Tokens> {
  const { authorizeWithLoopback } = await import('../oauth/index.js');
  const io = ctx.io;
  const result = await authorizeWithLoopback({
    as,
    client,
    scopes: auth.scopes,
    redirectPath: auth.redirectPath,
    timeoutMs: o.timeoutSeconds * 1000,
    signal: ctx.signal,
    extraParams: { ...(auth.extraParams ?? {}), ...(o.loginHint ? { login_hint: o.loginHint } : {}) },
    printUrl: (url: string) => {
      io.err(`Open this URL to approve access${o.manual ? '' : ' (waiting for the browser…)'}:`);
      io.err(`  ${url}`);
    },
    ...(o.browser && !o.manual ? { openBrowser: (url: string) => ctx.openBrowser(url) } : {}),
    ...(o.manual
      ? {
          manual: {
            readRedirectUrl: async () => {
              if (ctx.io.stdinIsTTY) return ctx.prompter().input('Paste the full address your browser landed on');
              return (await ctx.io.readStdin()).trim();
            },
          },
        }
      : {}),
  });
  return result.tokens;
}

async function fetchProfile(ctx: Context, connector: Connector, baseUrl: string, accessToken: string, config: ConnectionConfig): Promise<ProfileInfo> {
  const http = createHttp({ fetch: ctx.fetch, policy: retryPolicyFromEnv(ctx.env), signal: ctx.signal, trace: (l) => ctx.trace(l) });
  return connector.fetchProfile!({ baseUrl, session: { type: 'bearer', accessToken }, config, http, signal: ctx.signal });
}
