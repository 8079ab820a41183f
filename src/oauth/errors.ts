/**
 * OAuth failures as OrderlinkErrors, and the small helpers that keep secrets out of them.
 *
 * oauth4webapi's errors carry the callback parameters (code, state) or the token endpoint's JSON
 * body (tokens) in `cause`, so they are never wrapped as a cause and never stringified: we keep
 * only the provider's `error` code, after checking it is the short ASCII word RFC 6749 §5.2 allows.
 */
import * as oauth from 'oauth4webapi';
import { OrderlinkError, type ErrorOptions } from '../errors.js';

/** An OAuth failure; provider error codes (RFC 6749 §5.2, §4.1.2.1) go in `details`, never descriptions. */
export const oauthError = (code: string, message: string, opts: ErrorOptions = {}): OrderlinkError => new OrderlinkError(code, message, opts);

/**
 * Ctrl-C (the context's signal) — the same code and kind as the rest of the CLI. The flow has
 * closed its listener by then (RFC 8252 §7.3: the port is open only for one response).
 */
export const interrupted = (what = 'linking was interrupted; nothing was stored'): OrderlinkError =>
  new OrderlinkError('INTERRUPTED', what, { kind: 'interrupted' });

/**
 * An OAuth `error` code safe to show: RFC 6749 §4.1.2.1 / §5.2 restrict it to printable ASCII; we
 * are stricter (letters, digits, `_ . -`, at most 64) so a hostile value can never carry markup,
 * control characters or a token-sized blob into a message.
 */
export function safeErrorCode(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'unrecognised_error';
}

/**
 * A token for traces (RFC 6750 §5.3: safeguard bearer tokens; SECURITY.md rule 15): the first
 * four characters of a long value, then an ellipsis; nothing at all of a short one.
 */
export function mask(token: string | undefined): string {
  if (!token) return '(none)';
  return token.length >= 16 ? `${token.slice(0, 4)}…` : '…';
}

/**
 * The provider's error code from an oauth4webapi failure, if it has one (never its description):
 * token endpoint errors (RFC 6749 §5.2), authorization errors (§4.1.2.1), or a WWW-Authenticate
 * challenge (RFC 6750 §3, e.g. `invalid_client` answered with 401).
 */
export function providerErrorCode(err: unknown): string | undefined {
  if (err instanceof oauth.ResponseBodyError) return safeErrorCode(err.error);
  if (err instanceof oauth.AuthorizationResponseError) return safeErrorCode(err.error);
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    const first = err.cause[0];
    return first ? safeErrorCode(first.parameters.error ?? 'invalid_client') : 'invalid_client';
  }
  return undefined;
}

/** HTTP status of a failed response (RFC 6749 §5.2: 400/401), when oauth4webapi kept it (never its body). */
export function responseStatus(err: unknown): number | undefined {
  if (err instanceof oauth.ResponseBodyError) return err.status;
  if (err instanceof oauth.WWWAuthenticateChallengeError) return err.response.status;
  if (err instanceof oauth.OperationProcessingError && err.cause instanceof Response) return err.cause.status;
  return undefined;
}

/** Transport failures (connection refused, DNS, TLS) as fetch throws them — below RFC 6749 §5.2, no OAuth error. */
function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError && !(err instanceof oauth.UnsupportedOperationError) && /fetch failed|network|ECONN|ENOTFOUND|socket/i.test(`${err.message} ${String((err as { cause?: unknown }).cause ?? '')}`);
}

/** A request deadline or abort (RFC 6749 has no error for it; we report it as a timeout). */
function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/**
 * Turn whatever a request to an OAuth endpoint threw into an OrderlinkError with `code`, saying
 * which step failed and what the provider answered (its error code and HTTP status only).
 * OrderlinkErrors pass through unchanged; an aborted caller signal becomes `interrupted`.
 */
export function toOAuthFailure(err: unknown, code: string, step: string, signal: AbortSignal | undefined, hint?: string): OrderlinkError {
  if (err instanceof OrderlinkError) return err;
  if (signal?.aborted) return interrupted(`${step} was interrupted`);
  if (isAbort(err)) return oauthError(code, `${step} timed out`, { hint: hint ?? 'Check your connection and try again.' });
  if (isNetworkError(err)) return oauthError(code, `${step} failed: the provider could not be reached`, { hint: hint ?? 'Check your connection (or that the sandbox is running) and try again.' });
  const providerCode = providerErrorCode(err);
  const status = responseStatus(err);
  const parts = [providerCode ? `the provider answered ${providerCode}` : undefined, status ? `HTTP ${status}` : undefined].filter(Boolean);
  if (parts.length) return oauthError(code, `${step} failed: ${parts.join(', ')}`, { hint, details: { provider_error: providerCode ?? null, status: status ?? null } });
  // oauth4webapi's own validation messages are fixed strings without parameter values, so they
  // are safe to show and say exactly which check failed (e.g. `"response" body "token_type" …`).
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    return oauthError(code, `${step} failed: ${err.message.slice(0, 160)}`, { hint, details: { check: err.code ?? null } });
  }
  return oauthError(code, `${step} failed (${err instanceof Error ? err.name : typeof err})`, { hint });
}
