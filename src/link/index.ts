/**
 * Linking an account: choose the flow, get tokens, learn the account label, then save — secret
 * first (the vault), then the connection row that points at it. Every step is audited; nothing
 * is saved on failure, and no token, code or verifier is ever printed or logged.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import { getConnector } from '../connectors/registry.js';
import type { Connector, OAuthAuth } from '../connectors/types.js';
import { OrderlinkError, usageError } from '../errors.js';
import { connectionHandle, type Connection } from '../store/index.js';
import { connectionRecord } from '../commands/connections.js';
import type { LinkOptions } from '../commands/link.js';
import { createHttp, retryPolicyFromEnv } from '../sync/http.js';
import type { TokenRecord } from '../tokens/index.js';
import type { AuthServer, OAuthClient } from '../oauth/index.js';
import { oauthClientFor, resolveIssuer, discoverFor } from '../tokens/oauth.js';

export interface LinkResult {
  reconnected: boolean;
  connection: ReturnType<typeof connectionRecord>;
}

export async function linkAccount(ctx: Context, o: LinkOptions): Promise<LinkResult> {
  const store = ctx.store();
  const existing = o.reconnect ? store.connections.resolve(o.reconnect) : undefined;
  const connector = getConnector(existing?.connector ?? o.connector!);
  if (existing && o.connector && o.connector !== existing.connector) {
    throw usageError('BAD_OPTION', `connection ${existing.id} belongs to ${existing.connector}, not ${o.connector}`);
  }
  if (connector.auth.type !== 'oauth') {
    throw new OrderlinkError('LINK_KIND_UNSUPPORTED', `${connector.displayName} links through ${connector.auth.type}, which this command does not handle yet`, { kind: 'usage' });
  }
  const auth = connector.auth;
  const alias = existing?.alias ?? o.alias ?? 'default';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(alias)) throw usageError('BAD_ALIAS', `invalid alias "${alias.slice(0, 40)}"`, 'Use letters, digits, ".", "_" or "-" (up to 40).');
  const clash = existing ? undefined : store.connections.findByAlias(connector.id, alias);
  if (clash && clash.status !== 'revoked') {
    throw new OrderlinkError('ALREADY_LINKED', `${connectionHandle(clash)} is already linked (connection ${clash.id})`, {
      kind: 'usage',
      hint: `Link another account with --alias NAME, or repair this one with: orderlink link --reconnect ${clash.id}`,
    });
  }
  const issuer = resolveIssuer(ctx, connector, o.baseUrl ?? existing?.baseUrl ?? undefined);
  ctx.audit('link.start', existing?.id ?? null, { connector: connector.id, alias, issuer, mode: flowName(o) });
  try {
    const as = await discoverFor(ctx, issuer);
    const client = oauthClientFor(connector);
    const tokens = o.refreshTokenStdin || o.refreshTokenEnv ? await fromRefreshToken(ctx, o, as, client) : await fromBrowser(ctx, o, connector, auth, as, client);
    const record: TokenRecord = {
      v: 1,
      issuer,
      clientId: client.clientId,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? null,
      expiresAt: tokens.expiresAt ?? null,
      scope: tokens.scope ?? auth.scopes.join(' '),
      tokenType: tokens.tokenType ?? 'bearer',
      obtainedAt: ctx.now().toISOString(),
    };
    const profile = connector.fetchProfile ? await fetchProfile(ctx, connector, issuer, record.accessToken!) : null;

    // Secret first, then the row that points at it: a crash between the two leaves an orphaned
    // sealed secret (harmless, never a connection without its secret).
    const vault = await ctx.vault();
    const tokenRef = existing?.tokenRef ?? `conn-${randomUUID()}`;
    vault.put(tokenRef, JSON.stringify(record));
    let conn: Connection;
    if (existing) {
      store.connections.update(existing.id, { tokenRef, status: 'active', scopes: record.scope ?? '', accountLabel: profile?.label ?? existing.accountLabel, baseUrl: issuer, lastError: null });
      conn = store.connections.get(existing.id)!;
    } else if (clash) {
      store.connections.update(clash.id, { tokenRef, status: 'active', scopes: record.scope ?? '', accountLabel: profile?.label ?? null, baseUrl: issuer, lastError: null, connectedAt: ctx.now().toISOString(), syncCursor: null });
      conn = store.connections.get(clash.id)!;
    } else {
      conn = store.connections.insert({ connector: connector.id, retailer: connector.retailers[0] ?? '*', alias, providerType: connector.kind, tokenRef, scopes: record.scope ?? '', accountLabel: profile?.label ?? null, baseUrl: issuer }, ctx.now());
    }
    ctx.audit(existing ? 'link.reconnect' : 'link.success', conn.id, { connector: connector.id, alias, scopes: record.scope, account: profile?.label ?? null, mode: flowName(o), refresh_token_stored: record.refreshToken !== null });
    return { reconnected: Boolean(existing), connection: connectionRecord(conn) };
  } catch (err) {
    ctx.audit('link.failure', existing?.id ?? null, { connector: connector.id, alias, error_code: err instanceof OrderlinkError ? err.code : 'INTERNAL' });
    throw err;
  }
}

function flowName(o: LinkOptions): string {
  if (o.refreshTokenStdin) return 'refresh-token-stdin';
  if (o.refreshTokenEnv) return 'refresh-token-env';
  if (o.manual) return 'manual';
  return o.browser ? 'browser' : 'no-browser';
}

type Tokens = { accessToken: string; refreshToken?: string | undefined; expiresAt?: number | undefined; scope?: string | undefined; tokenType?: string };

async function fromRefreshToken(ctx: Context, o: LinkOptions, as: AuthServer, client: OAuthClient): Promise<Tokens> {
  const { refreshTokens } = await import('../oauth/index.js');
  let rt: string | undefined;
  if (o.refreshTokenEnv) {
    rt = ctx.env[o.refreshTokenEnv];
    if (!rt) throw usageError('REFRESH_TOKEN_MISSING', `the environment variable ${o.refreshTokenEnv} is empty or not set`);
  } else {
    if (ctx.io.stdinIsTTY) ctx.io.err('Paste the refresh token, then press Ctrl-D:');
    rt = (await ctx.io.readStdin()).trim();
    if (!rt) throw usageError('REFRESH_TOKEN_MISSING', 'no refresh token arrived on stdin', 'Pipe it in: printf %s "$TOKEN" | orderlink link sandbox --refresh-token-stdin');
  }
  // Validated by one refresh before anything is saved (a rotated refresh token replaces it).
  const fresh = await refreshTokens(as, client, rt, { signal: ctx.signal });
  return fresh;
}

async function fromBrowser(ctx: Context, o: LinkOptions, connector: Connector, auth: OAuthAuth, as: AuthServer, client: OAuthClient): Promise<Tokens> {
  const { authorizeWithLoopback } = await import('../oauth/index.js');
  if (!auth.loopback && !o.manual) {
    throw usageError('LOOPBACK_FORBIDDEN', `${connector.displayName} does not allow http://127.0.0.1 redirects`, 'Use --manual and paste the final URL.');
  }
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

async function fetchProfile(ctx: Context, connector: Connector, baseUrl: string, accessToken: string) {
  const http = createHttp({ fetch: ctx.fetch, policy: retryPolicyFromEnv(ctx.env), signal: ctx.signal, trace: (l) => ctx.trace(l) });
  return connector.fetchProfile!({ baseUrl, session: { type: 'bearer', accessToken }, config: {}, http, signal: ctx.signal });
}
