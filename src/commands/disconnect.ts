/**
 * `orderlink disconnect CONNECTION`: revoke at the provider (RFC 7009, best effort), delete the
 * secret, prove the old token is dead where the provider lets us, mark the connection revoked,
 * keep or purge its orders, and audit all of it (SECURITY.md rule 19).
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, usageError } from '../errors.js';
import { connectionHandle } from '../store/index.js';
import { printJson, renderKeyValues } from '../ui/render.js';

export interface DisconnectOptions {
  connection: string;
  purge: boolean;
  yes: boolean;
}

export type RevocationOutcome = 'done' | 'failed' | 'unsupported' | 'skipped';
export type VerificationOutcome = 'rejected' | 'still_accepted' | 'not_checked';

export function register(cmd: Command, app: App): void {
  cmd
    .argument('<connection>', 'the connection: number, connector:alias, or alias')
    .option('--purge', 'also delete its orders from the local database', false)
    .option('-y, --yes', 'do not ask for confirmation (required when not in a terminal)', false)
    .addHelpText(
      'after',
      `
Examples:
  $ orderlink disconnect sandbox:work            # asks first; keeps the orders
  $ orderlink disconnect 3 --purge --yes         # no questions; deletes its orders too
  $ orderlink disconnect work --yes --json`,
    )
    .action((connection: string, o: { purge: boolean; yes: boolean }) => app.run('disconnect', { connection, purge: o.purge, yes: o.yes }, runDisconnect));
}

export async function runDisconnect(ctx: Context, o: DisconnectOptions): Promise<number> {
  const store = ctx.store();
  const conn = store.connections.resolve(o.connection);
  const handle = connectionHandle(conn);
  const io = ctx.io;
  if (!o.yes) {
    if (!(io.stdinIsTTY && io.stderrIsTTY)) throw usageError('CONFIRMATION_REQUIRED', `disconnecting ${handle} needs --yes when not in a terminal`);
    const what = o.purge ? 'revoke its access and DELETE its orders' : 'revoke its access (its orders are kept)';
    if (!(await ctx.prompter().confirm(`Disconnect ${handle}: ${what}?`, false))) {
      io.err('Nothing changed.');
      return 0;
    }
  }

  let revocation: RevocationOutcome = 'skipped';
  let verification: VerificationOutcome = 'not_checked';
  let secretDeleted = false;
  if (conn.tokenRef) {
    const { createTokenManager, authServerForRecord, clientForRecord } = await import('../tokens/oauth.js');
    const { resolveConnector } = await import('../connectors/resolve.js');
    const connector = resolveConnector(ctx, conn.connector);
    const vault = await ctx.vault();
    let record: import('../tokens/index.js').TokenRecord | undefined;
    if (connector.auth.type === 'hostedLink') {
      // An aggregator's credential: the connector ends it at the provider (e.g. Plaid /item/remove).
      const hosted = await revokeHosted(ctx, conn, connector);
      revocation = hosted.revocation;
      secretDeleted = vault.delete(conn.tokenRef);
      verification = await hosted.check();
    } else {
      try {
        record = await createTokenManager(ctx).record(conn, 'disconnect');
      } catch (err) {
        if (!(err instanceof OrderlinkError)) throw err;
        ctx.trace(`no usable token record (${err.code}); deleting the secret only`);
      }
    }
    if (record && connector.auth.type === 'oauth' && !connector.capabilities.revocation) {
      // The provider offers no revocation (Shopify): say so; the local secret still goes.
      revocation = 'unsupported';
    } else if (record && connector.auth.type === 'oauth' && connector.capabilities.revocation) {
      const { revokeToken } = await import('../oauth/index.js');
      try {
        const as = await authServerForRecord(ctx, record);
        const client = await clientForRecord(ctx, record);
        // Revoking the refresh token ends the whole grant at RFC 7009 servers; the access token too, to be sure.
        const outcomes: RevocationOutcome[] = [];
        if (record.refreshToken) outcomes.push(await revokeToken(as, client, record.refreshToken, 'refresh_token', { signal: ctx.signal }));
        if (record.accessToken) outcomes.push(await revokeToken(as, client, record.accessToken, 'access_token', { signal: ctx.signal }));
        revocation = outcomes.includes('failed') ? 'failed' : outcomes.includes('unsupported') ? 'unsupported' : outcomes.length ? 'done' : 'skipped';
      } catch (err) {
        revocation = 'failed';
        ctx.trace(`revocation failed: ${err instanceof OrderlinkError ? err.code : 'error'}`);
      }
    }
    if (connector.auth.type !== 'hostedLink') secretDeleted = vault.delete(conn.tokenRef);
    // Proving the old token dead only means something where it was revoked: without revocation it
    // stays valid until it expires, which the output says instead of "still accepted".
    if (record?.accessToken && connector.fetchProfile && revocation !== 'unsupported') {
      verification = await checkTokenDead(ctx, connector, conn.config.apiBase ?? conn.baseUrl ?? record.issuer, record.accessToken, conn.config);
    }
  }
  store.connections.update(conn.id, { status: 'revoked', tokenRef: null, lastError: null });
  const purged = o.purge ? store.purgeOrders(conn.id) : 0;
  const purgedCharges = o.purge ? store.charges.purge(conn.id) : 0;
  if (o.purge) store.connections.update(conn.id, { syncCursor: null });
  ctx.audit('disconnect', conn.id, { revocation, old_token_check: verification, secret_deleted: secretDeleted, purged_orders: purged, purged_charges: purgedCharges, kept_orders: !o.purge });

  if (ctx.json) {
    printJson(io, { connection: handle, id: conn.id, status: 'revoked', revocation, old_token_check: verification, secret_deleted: secretDeleted, purged_orders: purged, purged_charges: purgedCharges });
  } else {
    const c = io.color;
    renderKeyValues(io, [
      ['connection', `${handle} (${conn.id})`],
      revocation === 'done' ? ['revocation', 'done at the provider', c.green] : revocation === 'unsupported' ? ['revocation', 'unsupported by the provider', c.yellow] : revocation === 'failed' ? ['revocation', 'failed (the local secret is deleted anyway)', c.red] : ['revocation', 'nothing to revoke'],
      verification === 'rejected' ? ['old token', 'rejected by the provider', c.green] : verification === 'still_accepted' ? ['old token', 'STILL ACCEPTED — revoke access in your account settings at the provider', c.red] : revocation === 'unsupported' ? ['old token', 'valid at the provider until it expires (it offers no revocation; sign out there to end it sooner)', c.yellow] : ['old token', 'not checked'],
      ['local secret', secretDeleted ? 'deleted from the vault' : 'none stored'],
      ...(revocation === 'unsupported' ? [['at the provider', 'the grant is still valid there: remove the app\'s authorization in your account settings at the provider (see the connector\'s docs)'] as [string, string]] : []),
      ['orders', o.purge ? `${purged} deleted${purgedCharges ? `, and ${purgedCharges} charges` : ''}` : 'kept (use --purge to delete them)'],
    ]);
  }
  return verification === 'still_accepted' || revocation === 'failed' ? 1 : 0;
}

async function checkTokenDead(ctx: Context, connector: import('../connectors/types.js').Connector, baseUrl: string, accessToken: string, config: import('../domain.js').ConnectionConfig): Promise<VerificationOutcome> {
  const { createHttp, retryPolicyFromEnv } = await import('../sync/http.js');
  const { ProviderHttpError } = await import('../connectors/http.js');
  const http = createHttp({ fetch: ctx.fetch, policy: { ...retryPolicyFromEnv(ctx.env), maxAttempts: 2 }, signal: ctx.signal, trace: (l) => ctx.trace(l) });
  try {
    await connector.fetchProfile!({ baseUrl, session: { type: 'bearer', accessToken }, config, http, signal: ctx.signal });
    return 'still_accepted';
  } catch (err) {
    if (err instanceof ProviderHttpError && (err.status === 401 || err.status === 403)) return 'rejected';
    return 'not_checked';
  }
}

/**
 * hostedLink connections: revoke through the connector's strategy (when it can), and afterwards
 * ask the provider with the old credential: a `reauth` verdict from the connector's classifier
 * means the provider no longer accepts it.
 */
async function revokeHosted(ctx: Context, conn: import('../store/index.js').Connection, connector: import('../connectors/types.js').Connector): Promise<{ revocation: RevocationOutcome; check: () => Promise<VerificationOutcome> }> {
  const auth = connector.auth as import('../connectors/types.js').HostedLinkStrategy;
  const { parseCredentialRecord, readAppCredentials } = await import('../sync/session.js');
  const { createHttp, retryPolicyFromEnv } = await import('../sync/http.js');
  const { classifiedHttp, defaultClassifier } = await import('../sync/classify.js');
  const { apiBaseFor } = await import('../sync/engine.js');
  const text = (await ctx.vault()).get(conn.tokenRef!);
  let credential: unknown;
  let app: import('../connectors/types.js').AppCredentials | null = null;
  try {
    credential = text === undefined ? undefined : auth.credentialSchema.parse(parseCredentialRecord(text).credential);
    app = await readAppCredentials(ctx, connector, conn.config.environment);
  } catch (err) {
    ctx.trace(`cannot read the credential or app credentials (${err instanceof OrderlinkError ? err.code : 'error'}); deleting the secret only`);
    return { revocation: 'failed', check: async () => 'not_checked' };
  }
  if (credential === undefined) return { revocation: 'skipped', check: async () => 'not_checked' };
  const policy = { ...retryPolicyFromEnv(ctx.env), maxAttempts: 2 };
  const provider = connector.displayName;
  const http = classifiedHttp(createHttp({ fetch: ctx.fetch, policy, signal: ctx.signal, trace: (l) => ctx.trace(l) }), { classify: connector.classify ?? defaultClassifier, policy, provider, signal: ctx.signal, trace: (l) => ctx.trace(l) });
  let revocation: RevocationOutcome = 'unsupported';
  if (auth.revoke && connector.capabilities.revocation) {
    try {
      await auth.revoke({ credential, app, config: conn.config, http, signal: ctx.signal });
      revocation = 'done';
    } catch (err) {
      revocation = 'failed';
      ctx.trace(`revocation failed: ${err instanceof OrderlinkError ? err.code : 'error'}`);
    }
  }
  const baseUrl = apiBaseFor(conn, connector);
  return {
    revocation,
    check: async () => {
      if (!baseUrl || (!connector.fetchProfile && !connector.fetchOrders)) return 'not_checked';
      const session = { type: 'credential' as const, credential, app };
      try {
        // The profile when the provider has one; otherwise one smallest page of orders.
        if (connector.fetchProfile) await connector.fetchProfile({ baseUrl, session, config: conn.config, http, signal: ctx.signal });
        else await connector.fetchOrders!({ baseUrl, session, config: conn.config, cursor: null, since: null, limit: 1, signal: ctx.signal, http });
        return 'still_accepted';
      } catch (err) {
        return err instanceof OrderlinkError && err.kind === 'reauth' ? 'rejected' : 'not_checked';
      }
    },
  };
}
