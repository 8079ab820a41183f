/**
 * Linking an account: everything that can fail locally is checked first (the key source, the
 * alias, the base URL, the client id or app credentials: issue 9 #5), then the connector's auth
 * strategy runs its flow (src/link/oauth.ts, src/link/hosted.ts), then the account is proven to
 * be the right one (a reconnect must come back with the same provider account; a second alias
 * must not be an account that is already linked: issue 9 #4), and only then is anything saved —
 * secret first (the vault), then the connection row that points at it. Every step is audited;
 * nothing is saved on failure, and no token, code or verifier is ever printed or logged.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import { resolveConnector } from '../connectors/resolve.js';
import type { Connector, ProfileInfo } from '../connectors/types.js';
import type { ConnectionConfig } from '../domain.js';
import { OrderlinkError, usageError } from '../errors.js';
import { connectionHandle, type Connection } from '../store/index.js';
import { connectionRecord } from '../commands/connections.js';
import type { LinkOptions } from '../commands/link.js';
import { resolveIssuer } from '../tokens/oauth.js';
import { CONSENT_VERSION, showConsent } from './consent.js';

export interface LinkResult {
  reconnected: boolean;
  connection: ReturnType<typeof connectionRecord>;
}

export async function linkAccount(ctx: Context, o: LinkOptions): Promise<LinkResult> {
  const store = ctx.store();
  const existing = o.reconnect ? store.connections.resolve(o.reconnect) : undefined;
  const connector = resolveConnector(ctx, existing?.connector ?? o.connector!);
  if (existing && o.connector && o.connector !== existing.connector) {
    throw usageError('BAD_OPTION', `connection ${existing.id} belongs to ${existing.connector}, not ${o.connector}`);
  }
  if (connector.auth.type === 'fileImport') {
    throw new OrderlinkError('LINK_IS_IMPORT', `${connector.displayName} has no login: it reads the file you download`, {
      kind: 'usage',
      hint: `${connector.auth.description} Then run: orderlink import ${connector.id} PATH`,
    });
  }
  // An aggregator links one merchant per connection: name it after the merchant unless told otherwise.
  const alias = existing?.alias ?? o.alias ?? (connector.auth.type === 'hostedLink' && o.merchant ? o.merchant.toLowerCase() : 'default');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(alias)) throw usageError('BAD_ALIAS', `invalid alias "${alias.slice(0, 40)}"`, 'Use letters, digits, ".", "_" or "-" (up to 40).');
  const clash = existing ? undefined : store.connections.findByAlias(connector.id, alias);
  if (clash && clash.status !== 'revoked') {
    throw new OrderlinkError('ALREADY_LINKED', `${connectionHandle(clash)} is already linked (connection ${clash.id})`, {
      kind: 'usage',
      hint: `Link another account with --alias NAME, or repair this one with: orderlink link --reconnect ${clash.id}`,
    });
  }
  const config = configFor(ctx, connector, o, existing);
  // The key source must work before the person approves anything in a browser (issue 9 #5).
  const vault = await ctx.vault();
  ctx.audit('link.start', existing?.id ?? null, { connector: connector.id, alias, issuer: config.issuer ?? null, environment: config.environment ?? null, mode: flowName(o) });
  showConsent(ctx, existing?.id ?? null, 'link');
  try {
    let secretText: string;
    let profile: ProfileInfo | null;
    let scopes = '';
    let finalConfig = config;
    if (connector.auth.type === 'oauth') {
      const { linkOAuth } = await import('./oauth.js');
      const r = await linkOAuth(ctx, o, connector, config.issuer, config);
      secretText = JSON.stringify(r.secret);
      profile = r.profile;
      scopes = r.scopes;
      finalConfig = r.config;
    } else {
      const { linkHosted } = await import('./hosted.js');
      const r = await linkHosted(ctx, o, connector, config, existing?.tokenRef ?? null);
      secretText = JSON.stringify(r.secret);
      profile = r.profile;
      finalConfig = r.config;
    }
    proveAccount(store.connections.list(), connector, existing, profile);

    // Secret first, then the row that points at it: a crash between the two leaves an orphaned
    // sealed secret (harmless, never a connection without its secret).
    const tokenRef = existing?.tokenRef ?? `conn-${randomUUID()}`;
    if (!existing && clash?.tokenRef) vault.delete(clash.tokenRef); // a revoked twin's leftover, if any
    vault.put(tokenRef, secretText);
    const common = { tokenRef, status: 'active' as const, scopes, accountLabel: profile?.label ?? existing?.accountLabel ?? null, accountId: profile?.accountId ?? existing?.accountId ?? null, baseUrl: finalConfig.issuer ?? finalConfig.apiBase ?? null, config: finalConfig, lastError: null };
    let conn: Connection;
    if (existing) {
      store.connections.update(existing.id, common);
      conn = store.connections.get(existing.id)!;
    } else if (clash) {
      store.connections.update(clash.id, { ...common, connectedAt: ctx.now().toISOString(), syncCursor: null });
      conn = store.connections.get(clash.id)!;
    } else {
      conn = store.connections.insert({ connector: connector.id, retailer: connector.retailers[0] ?? '*', alias, providerType: connector.kind, ...common }, ctx.now());
    }
    ctx.audit(existing ? 'link.reconnect' : 'link.success', conn.id, { connector: connector.id, alias, scopes, account: profile?.label ?? null, mode: flowName(o), consent: CONSENT_VERSION });
    return { reconnected: Boolean(existing), connection: connectionRecord(conn) };
  } catch (err) {
    ctx.audit('link.failure', existing?.id ?? null, { connector: connector.id, alias, error_code: err instanceof OrderlinkError ? err.code : 'INTERNAL' });
    throw err;
  }
}

/** The per-connection configuration: kept on reconnect, from options and the environment otherwise. */
function configFor(ctx: Context, connector: Connector, o: LinkOptions, existing: Connection | undefined): ConnectionConfig {
  const envs = connector.environments;
  // A connector that completes its own config picks its environment among those set up.
  const completes = connector.auth.type === 'oauth' && connector.auth.completeConfig !== undefined;
  const environment = o.environment ?? existing?.config.environment ?? (envs && !completes ? Object.keys(envs)[0] : undefined);
  if (environment !== undefined && envs && !(environment in envs)) {
    throw usageError('BAD_ENVIRONMENT', `${connector.displayName} has no environment "${environment.slice(0, 30)}"`, `Use one of: ${Object.keys(envs).join(', ')}.`);
  }
  const config: ConnectionConfig = { ...(existing?.config ?? {}) };
  if (environment !== undefined) config.environment = environment;
  if (o.clientId) config.clientId = o.clientId;
  if (o.merchant) config.merchant = o.merchant;
  if (o.marketplace) config.marketplace = o.marketplace;
  if (o.api) config.api = o.api;
  if (connector.auth.type === 'oauth' && connector.auth.tokenEndpoint) {
    // No issuer to discover: the token endpoint is explicit; the API base may be given here.
    const api = o.apiUrl ?? o.baseUrl ?? ctx.env[connector.baseUrl.env];
    if (api) config.apiBase = checkBaseUrl(api);
    else if (!existing) delete config.apiBase;
  } else if (connector.auth.type === 'oauth') {
    if (o.shop) config.shop = o.shop;
    if (o.redirectPort !== undefined) config.redirectPort = String(o.redirectPort);
    // Kept byte for byte (it must equal the registered one); the flow checks https or 127.0.0.1.
    if (o.redirectUri) config.redirectUri = o.redirectUri;
    // --issuer names the issuer, --api-url the API; --base-url (the sandbox's) means both. A site
    // that delegates its sign-in (--shop) is where discovery starts.
    const site = config.shop ? siteUrl(config.shop) : undefined;
    config.issuer = resolveIssuer(ctx, connector, o.issuer ?? o.baseUrl ?? site ?? existing?.config.issuer ?? existing?.baseUrl ?? undefined);
    if (o.apiUrl) config.apiBase = checkBaseUrl(o.apiUrl);
    else if (!config.apiBase && !o.baseUrl && connector.baseUrl.default) config.apiBase = checkBaseUrl(ctx.env[connector.baseUrl.env] ?? connector.baseUrl.default);
  } else {
    const explicit = o.baseUrl ?? ctx.env[connector.baseUrl.env] ?? existing?.config.apiBase;
    const api = explicit ?? (envs && environment ? envs[environment] : undefined) ?? connector.baseUrl.default ?? undefined;
    // An app set up with --base-url (a replica) overrides the documented host: see link/hosted.ts.
    if (!api) throw usageError('BASE_URL_REQUIRED', `${connector.displayName} needs an API base URL`, `Pass --base-url or set ${connector.baseUrl.env}.`);
    config.apiBase = checkBaseUrl(api);
  }
  return config;
}

/** `--shop shop.example.com` → https://shop.example.com (a URL is kept: http only on 127.0.0.1, checked later). */
function siteUrl(shop: string): string {
  return /^https?:\/\//i.test(shop) ? shop.replace(/\/+$/, '') : `https://${shop.replace(/\/+$/, '').toLowerCase()}`;
}

export function checkBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError('BAD_BASE_URL', `"${raw.slice(0, 80)}" is not a URL`);
  }
  const loopback = u.hostname === '127.0.0.1' || u.hostname === '[::1]';
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw usageError('INSECURE_BASE_URL', `refusing ${u.protocol}//${u.host}: only https (or http on 127.0.0.1 for local replicas) is allowed`);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * A reconnect must return the account the connection was linked to, and a new link must not be
 * an account that another live connection of this connector already holds: either would merge or
 * double-count two people's (or one person's) orders silently.
 */
function proveAccount(all: Connection[], connector: Connector, existing: Connection | undefined, profile: ProfileInfo | null): void {
  if (!profile) return; // the connector has no profile endpoint: nothing to prove with
  if (existing) {
    const before = existing.accountId;
    if (before !== null && before !== profile.accountId) {
      throw new OrderlinkError('ACCOUNT_MISMATCH', `you logged in as ${profile.label}, but ${connectionHandle(existing)} belongs to ${existing.accountLabel ?? before}`, {
        kind: 'usage',
        hint: `Nothing was changed. Log in as ${existing.accountLabel ?? 'the original account'} to repair it, or link the other account as a new connection: orderlink link ${connector.id} --alias NAME`,
        details: { connection: existing.id },
      });
    }
    return;
  }
  const twin = all.find((c) => c.connector === connector.id && c.status !== 'revoked' && c.accountId === profile.accountId);
  if (twin) {
    throw new OrderlinkError('ACCOUNT_ALREADY_LINKED', `${profile.label} is already linked as ${connectionHandle(twin)} (connection ${twin.id})`, {
      kind: 'usage',
      hint: `Linking it twice would count its orders twice. Use the existing connection, or repair it: orderlink link --reconnect ${twin.id}`,
      details: { connection: twin.id },
    });
  }
}

function flowName(o: LinkOptions): string {
  if (o.refreshTokenStdin) return 'refresh-token-stdin';
  if (o.refreshTokenEnv) return 'refresh-token-env';
  if (o.nonInteractive) return 'non-interactive';
  if (o.manual) return 'manual';
  return o.browser ? 'browser' : 'no-browser';
}
