/**
 * Tokens after linking: the refresh grant (RFC 6749 §6, rotation per RFC 9700 §4.14.2) and
 * revocation (RFC 7009). Token values leave this module only in the returned objects; traces show
 * `abcd…` at most (SECURITY.md rule 15) and errors only the provider's error code.
 */
import * as oauth from 'oauth4webapi';
import { OrderlinkError } from '../errors.js';
import { clientAuth, endpoint, requestOptions, type AuthServer, type OAuthClient } from './discovery.js';
import { interrupted, mask, oauthError, providerErrorCode, responseStatus, toOAuthFailure } from './errors.js';

export interface Tokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms, from `expires_in` (RFC 6749 §5.1) at the moment the response arrived. */
  expiresAt?: number;
  scope?: string;
  tokenType?: string;
}

/**
 * RFC 6749 §5.1: the fields we keep from a successful token response (already checked by
 * oauth4webapi: JSON, `access_token` a string, `token_type` bearer/DPoP, any ID token's claims).
 */
export function toTokens(body: oauth.TokenEndpointResponse, as: Pick<AuthServer, 'trace'>, grant: string): Tokens {
  const expiresIn = typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0 ? body.expires_in : undefined;
  const tokens: Tokens = {
    accessToken: body.access_token,
    ...(typeof body.refresh_token === 'string' && body.refresh_token ? { refreshToken: body.refresh_token } : {}),
    ...(expiresIn !== undefined ? { expiresAt: Date.now() + expiresIn * 1000 } : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    tokenType: body.token_type.toLowerCase(),
  };
  as.trace(
    `${grant} grant: access token ${mask(tokens.accessToken)}${expiresIn !== undefined ? ` (expires in ${expiresIn} s)` : ''}, refresh token ${tokens.refreshToken ? mask(tokens.refreshToken) : 'not returned'}`,
  );
  return tokens;
}

/**
 * RFC 6749 §6 (refresh) via oauth4webapi. A rotated refresh token (RFC 9700 §4.14.2) comes back in
 * `refreshToken`; when absent the caller keeps the old one. `invalid_grant` (§5.2: expired,
 * revoked, or reused after rotation) is `kind: 'reauth'` — one attempt, no retry (rule 18).
 */
export async function refreshTokens(as: AuthServer, client: OAuthClient, refreshToken: string, opts: { signal?: AbortSignal } = {}): Promise<Tokens> {
  if (!refreshToken) throw oauthError('OAUTH_NO_REFRESH_TOKEN', 'there is no refresh token to use', { kind: 'reauth', hint: 'Link the account again: orderlink link --reconnect CONNECTION' });
  if (opts.signal?.aborted) throw interrupted('the token refresh was interrupted');
  const c: oauth.Client = { client_id: client.clientId };
  const tokenUrl = endpoint(as, 'token_endpoint');
  try {
    const res = await oauth.refreshTokenGrantRequest(as.metadata, c, clientAuth(client), refreshToken, requestOptions(as, tokenUrl, opts.signal, true));
    const body = await oauth.processRefreshTokenResponse(as.metadata, c, res);
    return toTokens(body, as, 'refresh_token');
  } catch (err) {
    const code = providerErrorCode(err);
    // RFC 6749 §5.2 answers a bad grant with HTTP 400 and a JSON `error`. Servers as they are
    // sometimes send the 400 with an empty or HTML body: no error code, but the same meaning —
    // the refresh token is not accepted — so it is a dead grant (exit 4), not an internal error.
    const unreadable400 = code === undefined && responseStatus(err) === 400 && !(err instanceof OrderlinkError);
    if (code === 'invalid_grant' || unreadable400) {
      as.trace(unreadable400 ? 'refresh_token grant: HTTP 400 without a readable error (treated as invalid_grant)' : 'refresh_token grant: invalid_grant (the grant is expired, revoked or was reused)');
      throw oauthError('OAUTH_INVALID_GRANT', 'the provider no longer accepts this refresh token (invalid_grant)', {
        kind: 'reauth',
        hint: 'Link the account again: orderlink link --reconnect CONNECTION',
      });
    }
    if (providerErrorCode(err) === 'invalid_client' && client.clientSecret) {
      // RFC 6749 §5.2: client authentication failed — the app's id or secret, not the grant.
      as.trace('refresh_token grant: invalid_client (the client id or secret was refused)');
      throw oauthError('OAUTH_INVALID_CLIENT', 'the provider refused the app\'s client id or secret (invalid_client)', {
        hint: 'Store them again from your app\'s developer console: orderlink connector setup CONNECTOR (the connection itself is fine).',
      });
    }
    throw toOAuthFailure(err, 'OAUTH_REFRESH_FAILED', 'refreshing the access token', opts.signal, 'Try again later; if it keeps failing, re-link the connection.');
  }
}

export type RevocationResult = 'done' | 'failed' | 'unsupported';

/**
 * RFC 7009 §2.1 (revocation request, with `token_type_hint`), §2.2 (200 = done, also for an
 * already-invalid token) and §2.2.1 (`unsupported_token_type`). No `revocation_endpoint` in the
 * metadata (RFC 8414 §2) → 'unsupported'. Never throws for a provider failure: disconnect deletes
 * the local secret regardless (rule 19); only an interrupt (Ctrl-C) is thrown.
 */
export async function revokeToken(as: AuthServer, client: OAuthClient, token: string, hint: 'refresh_token' | 'access_token', opts: { signal?: AbortSignal } = {}): Promise<RevocationResult> {
  if (as.metadata.revocation_endpoint === undefined) {
    as.trace('revocation: the provider has no revocation endpoint (RFC 7009 unsupported)');
    return 'unsupported';
  }
  if (opts.signal?.aborted) throw interrupted('revocation was interrupted');
  const c: oauth.Client = { client_id: client.clientId };
  try {
    const url = endpoint(as, 'revocation_endpoint');
    const res = await oauth.revocationRequest(as.metadata, c, clientAuth(client), token, { additionalParameters: { token_type_hint: hint }, ...requestOptions(as, url, opts.signal, true) });
    await oauth.processRevocationResponse(res);
    as.trace(`revocation of the ${hint.replace('_', ' ')} ${mask(token)}: done`);
    return 'done';
  } catch (err) {
    if (opts.signal?.aborted) throw interrupted('revocation was interrupted');
    const code = providerErrorCode(err);
    if (code === 'unsupported_token_type') {
      as.trace(`revocation of the ${hint.replace('_', ' ')}: unsupported_token_type`);
      return 'unsupported';
    }
    // Servers that only let confidential clients revoke (RFC 7009 §2.1 requires client
    // authentication for them) refuse a public client with 401/403, `invalid_client` or
    // `unauthorized_client`, or a 400 without a readable error: revocation is not available to
    // us there. Reported as such; the caller deletes the local secret all the same (rule 19).
    const status = responseStatus(err);
    if (!client.clientSecret && (code === 'invalid_client' || code === 'unauthorized_client' || status === 401 || status === 403 || status === 405 || (status === 400 && code === undefined))) {
      as.trace(`revocation of the ${hint.replace('_', ' ')}: refused for a public client (${code ?? `HTTP ${status}`}); treated as not supported`);
      return 'unsupported';
    }
    as.trace(`revocation of the ${hint.replace('_', ' ')} failed: ${toOAuthFailure(err, 'OAUTH_REVOCATION_FAILED', 'revocation', opts.signal).message}`);
    return 'failed';
  }
}
