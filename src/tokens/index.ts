/**
 * Token lifecycle for OAuth connections (SECURITY.md rules 15–18):
 * - tokens live only in the vault, as one sealed JSON record per connection;
 * - every decryption is audited (connection, purpose), never the value;
 * - refresh happens before expiry and once on a 401, under a per-connection cross-process lock,
 *   and the loser of a race re-reads the vault instead of refreshing again;
 * - a rotated refresh token is sealed in the vault before the new access token is used;
 * - `invalid_grant` moves the connection to `reauth_required` (one attempt, no retry storm).
 */
import type { Context } from '../context.js';
import { OrderlinkError } from '../errors.js';
import { acquireLock } from '../locks.js';
import type { Connection } from '../store/index.js';

export interface TokenRecord {
  v: 1;
  issuer: string;
  clientId: string;
  accessToken: string | null;
  refreshToken: string | null;
  /** Epoch ms; null when unknown. */
  expiresAt: number | null;
  scope: string | null;
  tokenType: string;
  obtainedAt: string;
  /** Endpoints used instead of discovery at `issuer` (configured, or a site's delegated document). */
  endpoints?: { authorization_endpoint: string; token_endpoint: string; revocation_endpoint?: string };
  /** Vault reference of a confidential client's secret (never the secret itself). */
  clientSecretRef?: string;
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Servers without discovery (RFC 8414 absent, e.g. Login with Amazon): the token endpoint itself. */
  tokenEndpoint?: string;
  /** Confidential clients (RFC 6749 §2.1): the vault reference of the app credentials — never the secret. */
  appRef?: string;
}

/** Refresh this long before expiry so a token never dies mid-request. */
export const EXPIRY_SKEW_MS = 60_000;

export function parseTokenRecord(text: string): TokenRecord {
  const r = JSON.parse(text) as TokenRecord;
  if (r.v !== 1 || typeof r.issuer !== 'string') throw new OrderlinkError('TOKEN_RECORD_INVALID', 'the stored token record has an unknown shape', { hint: 'Re-link the connection with `orderlink link --reconnect`.' });
  return r;
}

export interface AccessToken {
  token: string;
  expiresAt: number | null;
}

export interface RefreshFn {
  (record: TokenRecord, signal: AbortSignal): Promise<Pick<TokenRecord, 'accessToken' | 'refreshToken' | 'expiresAt' | 'scope' | 'tokenType'>>;
}

export class TokenManager {
  constructor(
    private readonly ctx: Context,
    /** Performs the RFC 6749 §6 refresh against the connection's issuer. */
    private readonly refresh: RefreshFn,
  ) {}

  private async read(conn: Connection, purpose: string): Promise<TokenRecord> {
    if (!conn.tokenRef) {
      throw new OrderlinkError('NO_TOKEN', `connection ${conn.id} has no stored token`, {
        kind: 'reauth',
        hint: `Re-link it: orderlink link --reconnect ${conn.id}`,
      });
    }
    const vault = await this.ctx.vault();
    // get() re-reads the file when another process changed it (a rotation we must not miss).
    const text = vault.get(conn.tokenRef);
    this.ctx.audit('token.use', conn.id, { purpose });
    if (text === undefined) {
      this.markReauth(conn, 'token missing from the vault');
      throw new OrderlinkError('REAUTH_REQUIRED', `the token for connection ${conn.id} is missing from the vault`, {
        kind: 'reauth',
        hint: `Re-link it: orderlink link --reconnect ${conn.id}`,
      });
    }
    return parseTokenRecord(text);
  }

  /** A usable access token, refreshing first when it is expired or about to be. */
  async accessToken(conn: Connection, purpose: string, opts: { force?: boolean; staleToken?: string } = {}): Promise<AccessToken> {
    const record = await this.read(conn, purpose);
    if (!opts.force && record.accessToken && (record.expiresAt === null || record.expiresAt - EXPIRY_SKEW_MS > Date.now())) {
      return { token: record.accessToken, expiresAt: record.expiresAt };
    }
    return this.refreshLocked(conn, purpose, opts.staleToken ?? record.accessToken);
  }

  /** The whole record, for disconnect (revocation needs the refresh token). Audited. */
  async record(conn: Connection, purpose: string): Promise<TokenRecord> {
    return this.read(conn, purpose);
  }

  private async refreshLocked(conn: Connection, purpose: string, staleToken: string | null): Promise<AccessToken> {
    const lock = await acquireLock(this.ctx.paths.locks, `refresh-${conn.id}`, {
      waitMs: 30_000,
      signal: this.ctx.signal,
      what: `a token refresh for connection ${conn.id}`,
    });
    try {
      // The loser of a race: another process may have refreshed while we waited.
      const current = await this.read(conn, `${purpose} (after lock)`);
      if (current.accessToken && current.accessToken !== staleToken && (current.expiresAt === null || current.expiresAt - EXPIRY_SKEW_MS > Date.now())) {
        this.ctx.trace(`connection ${conn.id}: token already refreshed by another process`);
        return { token: current.accessToken, expiresAt: current.expiresAt };
      }
      if (!current.refreshToken) {
        this.markReauth(conn, 'no refresh token');
        throw new OrderlinkError('REAUTH_REQUIRED', `connection ${conn.id} has no refresh token and its access token expired`, {
          kind: 'reauth',
          hint: `Re-link it: orderlink link --reconnect ${conn.id}`,
        });
      }
      let fresh;
      try {
        fresh = await this.refresh(current, this.ctx.signal);
      } catch (err) {
        if (err instanceof OrderlinkError && err.kind === 'reauth') {
          this.markReauth(conn, 'invalid_grant');
          throw new OrderlinkError('REAUTH_REQUIRED', `the provider no longer accepts the grant for connection ${conn.id} (invalid_grant)`, {
            kind: 'reauth',
            hint: `Link it again, keeping its data: orderlink link --reconnect ${conn.id}`,
          });
        }
        throw err;
      }
      const next: TokenRecord = {
        ...current,
        accessToken: fresh.accessToken,
        // Providers that do not rotate omit refresh_token: keep the one we have.
        refreshToken: fresh.refreshToken ?? current.refreshToken,
        expiresAt: fresh.expiresAt,
        scope: fresh.scope ?? current.scope,
        tokenType: fresh.tokenType,
        obtainedAt: new Date().toISOString(),
      };
      // Write-ahead (rule 16): the rotated refresh token is durable before anyone uses the access token.
      const vault = await this.ctx.vault();
      vault.put(conn.tokenRef!, JSON.stringify(next));
      this.ctx.audit('token.refresh', conn.id, { rotated: fresh.refreshToken !== null && fresh.refreshToken !== current.refreshToken, expires_at: next.expiresAt ? new Date(next.expiresAt).toISOString() : null });
      if (!next.accessToken) throw new OrderlinkError('OAUTH_REFRESH_FAILED', 'the provider returned no access token', { hint: 'Try again; if it persists, re-link the connection.' });
      return { token: next.accessToken, expiresAt: next.expiresAt };
    } finally {
      lock.release();
    }
  }

  private markReauth(conn: Connection, reason: string): void {
    const store = this.ctx.store();
    store.connections.update(conn.id, { status: 'reauth_required', lastError: `reauth required: ${reason}` });
    this.ctx.audit('connection.reauth_required', conn.id, { reason });
  }
}
