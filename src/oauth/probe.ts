/**
 * Saying clearly when a provider refuses our redirect URI. RFC 6749 §4.1.2.1 forbids redirecting
 * back when the `redirect_uri` is not registered: the server shows the person an error page, and
 * the loopback listener (RFC 8252 §7.3) receives nothing, so the flow could only wait for its
 * timeout. Many servers also match redirect URIs exactly, port included, although RFC 8252 §7.3
 * says any loopback port must be accepted.
 *
 * So orderlink asks once itself: the same authorization request (with a throw-away `state`,
 * never followed, no cookies, so no one is signed in and no code can reach the listener) and
 * reads the answer. A 4xx page that talks about the redirect URI means the real request will be
 * refused in the browser too; a redirect, a login page or anything else says nothing, and the
 * flow simply goes on waiting for the browser.
 */
import { randomBytes } from 'node:crypto';
import { fetchLimited } from '../net-limits.js';
import { requestLimits, type AuthServer } from './discovery.js';
import { oauthError } from './errors.js';
import type { OrderlinkError } from '../errors.js';

/** A small, quick request: the page is read only to look for the words "redirect" and "uri". */
const PROBE_LIMITS = { headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, maxResponseBytes: 256 * 1024 };

export type ProbeVerdict = 'refused' | 'unknown';

/** The authorization request as the browser will send it, with another state; 'refused' only on clear evidence. */
export async function probeRedirect(as: AuthServer, authorizationUrl: URL, signal: AbortSignal | undefined): Promise<ProbeVerdict> {
  const url = new URL(authorizationUrl.href);
  url.searchParams.set('state', randomBytes(16).toString('base64url'));
  try {
    const base = as.limits ?? requestLimits();
    const limits = {
      headersTimeoutMs: Math.min(base.headersTimeoutMs, PROBE_LIMITS.headersTimeoutMs),
      bodyTimeoutMs: Math.min(base.bodyTimeoutMs, PROBE_LIMITS.bodyTimeoutMs),
      maxResponseBytes: Math.min(base.maxResponseBytes, PROBE_LIMITS.maxResponseBytes),
    };
    const res = await fetchLimited(as.fetch, url.href, { method: 'GET', redirect: 'manual', headers: { accept: 'text/html,application/json' } }, limits, signal);
    as.trace(`redirect check: GET ${url.origin}${url.pathname} → ${res.status}`);
    if (res.status < 400 || res.status >= 500) return 'unknown';
    const text = new TextDecoder().decode(res.body).slice(0, 64 * 1024);
    return /redirect[\s_-]*ur[il]/i.test(text) ? 'refused' : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What to tell the person when the redirect URI is refused (or may have been, at a timeout). */
export function redirectHint(redirectUri: string, fixedPort: boolean): string {
  const u = new URL(redirectUri);
  return fixedPort
    ? `Register exactly ${redirectUri} with the provider (as a redirect/callback URL for this client), then run the command again with the same --redirect-port ${u.port}.`
    : `Register http://127.0.0.1:PORT${u.pathname} with the provider for a port you choose, then run the command again with --redirect-port PORT (the server matches redirect URIs exactly, ignoring RFC 8252 §7.3's any-port rule).`;
}

export function redirectRefused(redirectUri: string, fixedPort: boolean): OrderlinkError {
  return oauthError('OAUTH_REDIRECT_URI_REFUSED', `the provider refused the redirect URI ${redirectUri} (its authorization page is an error about the redirect URI); nothing was linked`, {
    hint: redirectHint(redirectUri, fixedPort),
    details: { redirect_uri: redirectUri },
  });
}
