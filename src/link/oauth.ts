/**
 * The `oauth` strategy's link flows: the browser on a loopback redirect, headless, paste-the-URL,
 * or a refresh token from CI (stdin or a named environment variable, never argv), validated by
 * one refresh before anything is saved. Returns the token record and the account it belongs to;
 * saving is the caller's (src/link/index.ts).
 */
import type { Context } from '../context.js';
import type { AppCredentials, Connector, OAuthStrategy, ProfileInfo } from '../connectors/types.js';
import { OrderlinkError, usageError } from '../errors.js';
import type { LinkOptions } from '../commands/link.js';
import { createHttp, retryPolicyFromEnv } from '../sync/http.js';
import type { TokenRecord } from '../tokens/index.js';
import type { AuthServer, OAuthClient } from '../oauth/index.js';
import { authServerFor as explicitOrDiscovered, clientSecretRef, discoverFor, isLoopbackUrl, oauthClientFor, oauthClientWithSecret } from '../tokens/oauth.js';
import { appCredentialsRef, readAppCredentials } from '../sync/session.js';
import type { ConnectionConfig } from '../domain.js';

type Tokens = { accessToken: string; refreshToken?: string | undefined; expiresAt?: number | undefined; scope?: string | undefined; tokenType?: string };

export interface OAuthLinkOutcome {
  secret: TokenRecord;
  profile: ProfileInfo | null;
  scopes: string;
  /** The connection's config, with what the connector learned while linking (Shopify: the API; SP-API: region, API base, issuer). */
  config: ConnectionConfig;
}

/** What can fail locally, checked before any URL is shown (issue 9 #5). */
export function oauthPreflight(connector: Connector, o: LinkOptions, config: ConnectionConfig, app: AppCredentials | null = null): { auth: OAuthStrategy; client: OAuthClient } {
  const auth = connector.auth as OAuthStrategy;
  requireRefreshTokenWhereNoBrowser(connector, o);
  const client = oauthClientFor(connector, config, app);
  if (o.redirectUri !== undefined && !(o.manual || !auth.loopback)) {
    throw usageError('BAD_OPTION', '--redirect-uri is for paste-the-URL mode', 'Add --manual, or use --redirect-port N for a fixed loopback port.');
  }
  return { auth, client };
}

/** The authorization server: discovery at the issuer, the site's delegated document, or configured endpoints. */
async function authServerFor(ctx: Context, auth: OAuthStrategy, issuer: string): Promise<AuthServer> {
  const { discoverSite, fromEndpoints } = await import('../oauth/index.js');
  const common = { allowLoopbackHttp: isLoopbackUrl(new URL(issuer)), fetch: ctx.fetch, trace: (l: string) => ctx.trace(l), signal: ctx.signal };
  if (auth.discovery === 'site') return discoverSite(issuer, { ...common, assumeS256: true });
  if (auth.discovery === 'endpoints' && auth.endpoints) return fromEndpoints(issuer, auth.endpoints, common);
  return discoverFor(ctx, issuer);
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

export async function linkOAuth(ctx: Context, o: LinkOptions, connector: Connector, issuer: string | undefined, linkConfig: ConnectionConfig): Promise<OAuthLinkOutcome> {
  requireRefreshTokenWhereNoBrowser(connector, o); // before the vault is even read
  // Confidential clients set up with `connector setup` (app credentials: SP-API) complete their
  // config here; those added with `connector add --client-secret-stdin` read their secret below.
  const { config: initial, app } = await confidentialConfig(ctx, connector, linkConfig);
  const { auth } = oauthPreflight(connector, o, initial, app);
  // A CI token is read before anything leaves the machine: an empty variable fails here, locally.
  const ciToken = o.refreshTokenStdin || o.refreshTokenEnv ? await readCiToken(ctx, o) : null;
  const client: OAuthClient = app
    ? { ...oauthClientFor(connector, initial, app), authMethod: auth.tokenEndpointAuthMethod ?? 'client_secret_post' }
    : await oauthClientWithSecret(ctx, connector, initial);
  const config = auth.prepare ? await auth.prepare({ config: initial, http: linkHttp(ctx), signal: ctx.signal, trace: (l) => ctx.trace(l) }) : initial;
  const tokenEndpoint = auth.tokenEndpoint ? (app?.tokenUrl ?? auth.tokenEndpoint) : undefined;
  const as = tokenEndpoint ? await explicitOrDiscovered(ctx, '', tokenEndpoint) : await authServerFor(ctx, auth, issuer!);
  const tokens = ciToken !== null ? await fromRefreshToken(ctx, as, client, ciToken) : await fromBrowser(ctx, o, connector, auth, as, client, config);
  // Where refreshes and revocation go later: discovery again at the issuer, or the endpoints used now.
  const fixed = auth.discovery === 'site' || auth.discovery === 'endpoints';
  const m = as.metadata;
  const recordIssuer = tokenEndpoint ? as.issuer : fixed ? m.issuer : issuer!;
  const secret: TokenRecord = {
    v: 1,
    issuer: recordIssuer,
    ...(tokenEndpoint ? { tokenEndpoint } : {}),
    ...(app ? { appRef: appCredentialsRef(connector.id, initial.environment) } : {}),
    ...(fixed
      ? { endpoints: { authorization_endpoint: m.authorization_endpoint!, token_endpoint: m.token_endpoint!, ...(m.revocation_endpoint ? { revocation_endpoint: m.revocation_endpoint } : {}) } }
      : {}),
    ...(client.clientSecret && !app ? { clientSecretRef: clientSecretRef(connector.id) } : {}),
    ...(client.authMethod ? { authMethod: client.authMethod } : {}),
    clientId: client.clientId,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken ?? null,
    expiresAt: tokens.expiresAt ?? null,
    scope: tokens.scope ?? auth.scopes.join(' '),
    tokenType: tokens.tokenType ?? 'bearer',
    obtainedAt: ctx.now().toISOString(),
  };
  const profile = connector.fetchProfile ? await fetchProfile(ctx, connector, config.apiBase ?? recordIssuer, secret.accessToken!, config) : null;
  return { secret, profile, scopes: secret.scope ?? '', config: { ...config, ...(tokenEndpoint ? { issuer: recordIssuer } : {}) } };
}

/**
 * Confidential clients with app credentials (RFC 6749 §2.1; `orderlink connector setup`): the
 * connector completes its config among the environments whose app credentials are set up, and the
 * API base is, in order: --base-url or the connector's environment variable (already in the
 * config), the app's `--base-url` (a replica), the environment's documented host.
 */
async function confidentialConfig(ctx: Context, connector: Connector, config: ConnectionConfig): Promise<{ config: ConnectionConfig; app: AppCredentials | null }> {
  const auth = connector.auth as OAuthStrategy;
  if (!auth.confidential || !auth.completeConfig) return { config, app: null };
  const prefix = appCredentialsRef(connector.id, '');
  const setUp = (await ctx.vault()).list().filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
  const done = auth.completeConfig(config, setUp);
  const app = await readAppCredentials(ctx, connector, done.environment);
  const apiBase = done.apiBase ?? app?.baseUrl ?? (done.environment ? connector.environments?.[done.environment] : undefined) ?? connector.baseUrl.default ?? undefined;
  if (!apiBase) throw usageError('BASE_URL_REQUIRED', `${connector.displayName} needs an API base URL`, `Pass --base-url or set ${connector.baseUrl.env}.`);
  return { config: { ...done, apiBase }, app };
}

const linkHttp = (ctx: Context) => createHttp({ fetch: ctx.fetch, policy: retryPolicyFromEnv(ctx.env), signal: ctx.signal, trace: (l) => ctx.trace(l) });

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
  try {
    return await refreshTokens(as, client, rt, { signal: ctx.signal });
  } catch (err) {
    // A refused token on a NEW link is not a connection needing re-linking (there is none yet):
    // it is a bad input, said as such, with no --reconnect hint for a connection that does not exist.
    if (err instanceof OrderlinkError && err.kind === 'reauth') {
      throw new OrderlinkError('REFRESH_TOKEN_REFUSED', 'the provider refused this refresh token (invalid_grant): it is expired, revoked, already used, or for another client', {
        kind: 'usage',
        hint: 'Get a fresh refresh token from the provider for this client id, then run the same command again. Nothing was saved.',
      });
    }
    throw err;
  }
}

async function fromBrowser(ctx: Context, o: LinkOptions, connector: Connector, auth: OAuthStrategy, as: AuthServer, client: OAuthClient, config: ConnectionConfig): Promise<Tokens> {
  const { authorizeWithLoopback } = await import('../oauth/index.js');
  const io = ctx.io;
  // Providers that forbid loopback redirects (rule 9): paste-the-URL, whatever was asked.
  const manual = o.manual || !auth.loopback;
  if (manual && !o.manual) io.err(`${connector.displayName} does not allow redirects to this computer: approve in the browser, then paste the address it lands on.`);
  const redirectPort = o.redirectPort ?? (config.redirectPort ? Number(config.redirectPort) : undefined) ?? auth.redirectPort;
  const pasteUri = o.redirectUri ?? config.redirectUri ?? auth.pasteRedirectUri;
  // A paste still being read when the flow ends otherwise (a refused redirect URI, the timeout,
  // a denial) would hold the process open: stdin is closed then, so the command exits with its error.
  let reading = false;
  let result: Awaited<ReturnType<typeof authorizeWithLoopback>>;
  try {
    result = await authorizeWithLoopback({
      as,
      client,
      scopes: auth.scopes,
      redirectPath: auth.redirectPath,
      timeoutMs: o.timeoutSeconds * 1000,
      signal: ctx.signal,
      probeRedirect: true,
      ...(redirectPort !== undefined ? { redirectPort } : {}),
      extraParams: { ...(auth.extraParams ?? {}), ...(o.loginHint ? { login_hint: o.loginHint } : {}) },
      printUrl: (url: string) => {
        io.err(`Open this URL to approve access${manual ? '' : ' (waiting for the browser…)'}:`);
        io.err(`  ${url}`);
      },
      ...(o.browser && !o.manual ? { openBrowser: (url: string) => ctx.openBrowser(url) } : {}),
      ...(manual
        ? {
            manual: {
              ...(pasteUri ? { redirectUri: pasteUri } : {}),
              readRedirectUrl: async () => {
                reading = true;
                try {
                  if (ctx.io.stdinIsTTY) return await ctx.prompter().input('Paste the full address your browser landed on');
                  return (await ctx.io.readStdin()).trim();
                } finally {
                  reading = false;
                }
              },
            },
          }
        : {}),
    });
  } catch (err) {
    if (reading && !process.stdin.destroyed) process.stdin.destroy();
    throw err;
  }
  return result.tokens;
}

async function fetchProfile(ctx: Context, connector: Connector, baseUrl: string, accessToken: string, config: ConnectionConfig): Promise<ProfileInfo> {
  const http = createHttp({ fetch: ctx.fetch, policy: retryPolicyFromEnv(ctx.env), signal: ctx.signal, trace: (l) => ctx.trace(l) });
  return connector.fetchProfile!({ baseUrl, session: { type: 'bearer', accessToken }, config, http, signal: ctx.signal });
}
