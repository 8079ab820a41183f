/**
 * Sessions: what a connection's auth strategy hands to `fetchOrders`. The engine asks a
 * SessionSource for one and, on an `unauthorized` verdict, for a fresh one where the strategy can
 * refresh (OAuth); an aggregator's credential cannot be refreshed, so a refusal is a reauth.
 */
import type { Context } from '../context.js';
import type { AppCredentials, Connector, CredentialSession, Session } from '../connectors/types.js';
import { OrderlinkError } from '../errors.js';
import type { Connection } from '../store/index.js';
import { EXPIRY_SKEW_MS, type TokenManager } from '../tokens/index.js';

export interface SessionSource {
  /** A usable session, refreshing first when it is about to expire. */
  get(purpose: string): Promise<Session>;
  /** A fresh session after the provider refused `stale`; absent when the strategy cannot refresh. */
  refresh?(purpose: string, stale: Session): Promise<Session>;
}

/** The vault record of an aggregator connection (kept beside OAuth TokenRecords, same sealing). */
export interface CredentialRecord {
  v: 1;
  type: 'credential';
  credential: unknown;
  obtainedAt: string;
}

/** Vault reference of a connector's app credentials for one environment (`orderlink connector setup`). */
export const appCredentialsRef = (connector: string, environment: string | undefined): string => `app:${connector}:${environment ?? 'default'}`;

export function parseCredentialRecord(text: string): CredentialRecord {
  const r = JSON.parse(text) as CredentialRecord;
  if (r.v !== 1 || r.type !== 'credential') throw new OrderlinkError('TOKEN_RECORD_INVALID', 'the stored credential has an unknown shape', { hint: 'Re-link the connection with `orderlink link --reconnect`.' });
  return r;
}

/** Aggregators with an app id/secret, and confidential OAuth clients (RFC 6749 §2.1). */
export function needsAppCredentials(connector: Connector): boolean {
  return (connector.auth.type === 'hostedLink' && connector.auth.needsAppCredentials) || (connector.auth.type === 'oauth' && connector.auth.confidential);
}

export async function readAppCredentials(ctx: Context, connector: Connector, environment: string | undefined): Promise<AppCredentials | null> {
  if (!needsAppCredentials(connector)) return null;
  const vault = await ctx.vault();
  const text = vault.get(appCredentialsRef(connector.id, environment));
  if (text === undefined) {
    throw new OrderlinkError('APP_CREDENTIALS_MISSING', `${connector.displayName} is not set up${environment ? ` for ${environment}` : ''}: its client id and secret are not in the vault`, {
      hint: `Run: orderlink connector setup ${connector.id}${environment ? ` --env ${environment}` : ''}`,
    });
  }
  return JSON.parse(text) as AppCredentials;
}

export function sessionSourceFor(ctx: Context, conn: Connection, connector: Connector, tokens: TokenManager): SessionSource {
  const auth = connector.auth;
  if (auth.type === 'oauth') {
    let expiresAt: number | null = null;
    let current: string | null = null;
    return {
      async get(purpose) {
        if (current === null || (expiresAt !== null && expiresAt - EXPIRY_SKEW_MS <= Date.now())) {
          const t = await tokens.accessToken(conn, purpose);
          current = t.token;
          expiresAt = t.expiresAt;
        }
        return { type: 'bearer', accessToken: current };
      },
      async refresh(purpose, stale) {
        const t = await tokens.accessToken(conn, purpose, { force: true, staleToken: stale.type === 'bearer' ? stale.accessToken : undefined });
        current = t.token;
        expiresAt = t.expiresAt;
        return { type: 'bearer', accessToken: current };
      },
    };
  }
  if (auth.type === 'hostedLink') {
    let cached: CredentialSession | null = null;
    return {
      async get(purpose) {
        if (cached) return cached;
        if (!conn.tokenRef) throw new OrderlinkError('NO_TOKEN', `connection ${conn.id} has no stored credential`, { kind: 'reauth', hint: `Re-link it: orderlink link --reconnect ${conn.id}` });
        const vault = await ctx.vault();
        const text = vault.get(conn.tokenRef);
        ctx.audit('token.use', conn.id, { purpose });
        if (text === undefined) {
          throw new OrderlinkError('REAUTH_REQUIRED', `the credential for connection ${conn.id} is missing from the vault`, { kind: 'reauth', hint: `Re-link it: orderlink link --reconnect ${conn.id}` });
        }
        const rec = parseCredentialRecord(text);
        const credential = auth.credentialSchema.parse(rec.credential);
        cached = { type: 'credential', credential, app: await readAppCredentials(ctx, connector, conn.config.environment) };
        return cached;
      },
    };
  }
  return {
    async get() {
      throw new OrderlinkError('IMPORT_ONLY', `${connector.displayName} connections are updated by importing a file, not by sync`, {
        kind: 'usage',
        hint: `Run: orderlink import ${connector.id} PATH`,
      });
    },
  };
}
