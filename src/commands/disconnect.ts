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
    const { createTokenManager, discoverFor, oauthClientFor } = await import('../tokens/oauth.js');
    const { getConnector } = await import('../connectors/registry.js');
    const connector = getConnector(conn.connector);
    const vault = await ctx.vault();
    let record: import('../tokens/index.js').TokenRecord | undefined;
    try {
      record = await createTokenManager(ctx).record(conn, 'disconnect');
    } catch (err) {
      if (!(err instanceof OrderlinkError)) throw err;
      ctx.trace(`no usable token record (${err.code}); deleting the secret only`);
    }
    if (record && connector.auth.type === 'oauth' && connector.capabilities.revocation) {
      const { revokeToken } = await import('../oauth/index.js');
      try {
        const as = await discoverFor(ctx, record.issuer);
        const client = oauthClientFor(connector, conn.config);
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
    // A provider without revocation (Login with Amazon has no endpoint for it) is reported as
    // such, not as "nothing to revoke": the grant lives on at the provider (rule 19).
    if (record && connector.auth.type === 'oauth' && !connector.capabilities.revocation) revocation = 'unsupported';
    secretDeleted = vault.delete(conn.tokenRef);
    if (record?.accessToken && connector.fetchProfile) {
      verification = await checkTokenDead(ctx, connector, conn.baseUrl ?? record.issuer, record.accessToken);
    }
  }
  store.connections.update(conn.id, { status: 'revoked', tokenRef: null, lastError: null });
  const purged = o.purge ? store.purgeOrders(conn.id) : 0;
  if (o.purge) store.connections.update(conn.id, { syncCursor: null });
  ctx.audit('disconnect', conn.id, { revocation, old_token_check: verification, secret_deleted: secretDeleted, purged_orders: purged, kept_orders: !o.purge });

  if (ctx.json) {
    printJson(io, { connection: handle, id: conn.id, status: 'revoked', revocation, old_token_check: verification, secret_deleted: secretDeleted, purged_orders: purged });
  } else {
    renderKeyValues(io, [
      ['connection', `${handle} (${conn.id})`],
      ['revocation', revocation === 'done' ? io.color.green('done at the provider') : revocation === 'unsupported' ? io.color.yellow('unsupported by the provider') : revocation === 'failed' ? io.color.red('failed (the local secret is deleted anyway)') : 'nothing to revoke'],
      ['old token', verification === 'rejected' ? io.color.green('rejected by the provider') : verification === 'still_accepted' ? io.color.red('STILL ACCEPTED — revoke access in your account settings at the provider') : 'not checked'],
      ['local secret', secretDeleted ? 'deleted from the vault' : 'none stored'],
      ...(revocation === 'unsupported' ? [['at the provider', 'the grant is still valid there: remove the app\'s authorization in your account settings at the provider (see the connector\'s docs)'] as [string, string]] : []),
      ['orders', o.purge ? `${purged} deleted` : 'kept (use --purge to delete them)'],
    ]);
  }
  return verification === 'still_accepted' || revocation === 'failed' ? 1 : 0;
}

async function checkTokenDead(ctx: Context, connector: import('../connectors/types.js').Connector, baseUrl: string, accessToken: string): Promise<VerificationOutcome> {
  const { createHttp, retryPolicyFromEnv } = await import('../sync/http.js');
  const { ProviderHttpError } = await import('../connectors/http.js');
  const http = createHttp({ fetch: ctx.fetch, policy: { ...retryPolicyFromEnv(ctx.env), maxAttempts: 2 }, signal: ctx.signal, trace: (l) => ctx.trace(l) });
  try {
    await connector.fetchProfile!({ baseUrl, session: { type: 'bearer', accessToken }, config: {}, http, signal: ctx.signal });
    return 'still_accepted';
  } catch (err) {
    if (err instanceof ProviderHttpError && (err.status === 401 || err.status === 403)) return 'rejected';
    return 'not_checked';
  }
}
