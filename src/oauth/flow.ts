/**
 * The authorization code flow for a native app (RFC 6749 §4.1, RFC 8252, RFC 7636, RFC 9207,
 * RFC 9700 §2.1): build the request, wait for the loopback callback (or a pasted URL), validate
 * it with oauth4webapi, then exchange the code with the verifier and the same redirect URI.
 */
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { OrderlinkError } from '../errors.js';
import { assertSupportsS256, clientAuth, endpoint, requestOptions, type AuthServer, type OAuthClient } from './discovery.js';
import { interrupted, oauthError, safeErrorCode, toOAuthFailure } from './errors.js';
import { probeRedirect, redirectHint, redirectRefused } from './probe.js';
import { LOOPBACK_IP, assertRedirectPath, assertRedirectPort, reservePort, startLoopbackListener, stateMatches, type AcceptedCallback, type PageKind } from './loopback.js';
import { toTokens, type Tokens } from './tokens.js';

export interface ManualMode {
  /** Ask the person for the address their browser landed on (a prompt, or stdin). */
  readRedirectUrl(): Promise<string>;
  /**
   * The redirect URI registered for paste mode, when the provider forbids loopback (an https page,
   * or a fixed loopback port). Default: `http://127.0.0.1:{free port}{redirectPath}`.
   */
  redirectUri?: string;
}

export interface AuthorizeOptions {
  as: AuthServer;
  client: OAuthClient;
  scopes: string[];
  redirectPath: string;
  timeoutMs: number;
  signal?: AbortSignal;
  extraParams?: Record<string, string>;
  /** Always called with the authorization URL (SSH sessions, no browser, rule 7 refusals). */
  printUrl(url: string): void;
  openBrowser?: (url: string) => Promise<void>;
  manual?: ManualMode;
  /** Loopback only: requests that are not the callback before the flow gives up (default 50). */
  maxBadRequests?: number;
  /**
   * A fixed loopback port, for servers that match redirect URIs exactly (RFC 8252 §7.3 says they
   * should not): the listener, or the paste-mode URI, uses it instead of an OS-assigned one.
   */
  redirectPort?: number;
  /** Ask the authorization endpoint once ourselves whether it refuses the redirect URI (probe.ts). */
  probeRedirect?: boolean;
}

export interface AuthorizeResult {
  tokens: Tokens;
}

/** Parameters the flow owns; a connector's extraParams may not override them (RFC 6749 §4.1.1). */
const RESERVED = new Set(['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'response_mode', 'nonce', 'request', 'request_uri']);

/**
 * RFC 8252 §8.12 + SECURITY.md rule 7: only an https authorization endpoint (or http on 127.0.0.1,
 * the built-in sandbox) may reach the browser launcher — a server-supplied `file:` or custom-scheme
 * URL handed to `open` is command execution (CVE-2025-6514).
 */
export function browserSafe(url: URL): boolean {
  if (url.username || url.password) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === LOOPBACK_IP);
}

/**
 * RFC 6749 §4.1 with RFC 8252 §7.3 (loopback redirect) or rule 9 (paste the URL), RFC 7636 §4
 * (PKCE S256, 32-byte verifier), RFC 6749 §10.12 (256-bit one-time state), RFC 9207 (`iss`).
 * Every exit path closes the listener (rule 2): success, denial, timeout, abort, bad-request budget.
 */
export async function authorizeWithLoopback(o: AuthorizeOptions): Promise<AuthorizeResult> {
  const { as, client } = o;
  assertRedirectPath(o.redirectPath);
  if (!Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0) throw oauthError('OAUTH_BAD_TIMEOUT', 'the timeout must be a positive number of milliseconds', { kind: 'usage' });
  assertSupportsS256(as.metadata, new URL(as.issuer).origin);
  const authEndpoint = endpoint(as, 'authorization_endpoint');
  // Refused before a port is opened or a URL printed: it is where the person types a password.
  if (!browserSafe(authEndpoint)) {
    throw oauthError('OAUTH_INSECURE_ENDPOINT', `refusing the authorization endpoint ${authEndpoint.protocol}//${authEndpoint.host}: only https (or http://127.0.0.1 for the sandbox) is opened`, {
      hint: 'Only https authorization pages are ever opened for you (docs/security.md, rule 7).',
    });
  }
  for (const k of Object.keys(o.extraParams ?? {})) {
    if (RESERVED.has(k)) throw oauthError('OAUTH_BAD_PARAM', `the authorization parameter "${k.slice(0, 40)}" is set by orderlink and cannot be overridden`, { kind: 'usage' });
  }
  if (o.redirectPort !== undefined) assertRedirectPort(o.redirectPort);
  if (o.signal?.aborted) throw interrupted();

  // RFC 7636 §4.1: 32 random bytes → a 43-character base64url verifier; §4.2: S256 challenge.
  const verifier = randomBytes(32).toString('base64url');
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  // RFC 6749 §10.12 / RFC 9700 §2.1: one-time state, 256 bits (rule 3 asks for ≥ 128).
  const state = randomBytes(32).toString('base64url');
  // OpenID Connect Core §3.1.2.1 / §3.1.3.7: with `openid`, a nonce bound to this request, checked
  // in the ID token (oauth4webapi's expectedNonce). Many servers refuse an OIDC request without
  // one; with one, a replayed or injected ID token is refused (RFC 9700 §4.5.3.2).
  const nonce = o.scopes.includes('openid') ? randomBytes(32).toString('base64url') : undefined;

  const listener = o.manual
    ? undefined
    : await startLoopbackListener({ redirectPath: o.redirectPath, expectedState: state, maxBadRequests: o.maxBadRequests, trace: as.trace, ...(o.redirectPort ? { port: o.redirectPort } : {}) });
  try {
    const redirectUri = listener?.redirectUri ?? (await manualRedirectUri(o));
    const url = new URL(authEndpoint.href);
    const params: Record<string, string> = {
      ...(o.extraParams ?? {}),
      client_id: client.clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: o.scopes.join(' '),
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...(nonce ? { nonce } : {}),
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    o.printUrl(url.href);
    if (o.openBrowser) {
      // Not awaited in sequence: the launcher (or a test's scripted browser) may only return after
      // the callback arrives. A launcher failure is not fatal — the URL is printed.
      const launch = o.openBrowser;
      void Promise.resolve()
        .then(() => launch(url.href))
        .catch(() => as.trace('could not launch a browser; open the printed URL yourself'));
    }
    const fixedPort = o.redirectPort !== undefined;
    const wait = waitFor(o.timeoutMs, o.signal, redirectHint(redirectUri, fixedPort));
    // Only clear evidence ends the wait early: a page about the redirect URI (probe.ts).
    const refused = o.probeRedirect
      ? probeRedirect(as, url, o.signal).then((v) => (v === 'refused' ? Promise.reject(redirectRefused(redirectUri, fixedPort)) : new Promise<never>(() => {})))
      : new Promise<never>(() => {});
    refused.catch(() => {});
    try {
      if (listener) {
        const cb = await Promise.race([listener.callback, wait.promise, refused]);
        return await answered(cb, () => complete(o, cb.url, state, redirectUri, verifier, nonce));
      }
      const pasted = await Promise.race([readPasted(o), wait.promise, refused]);
      const cbUrl = parsePasted(pasted, redirectUri, state);
      return await complete(o, cbUrl, state, redirectUri, verifier, nonce);
    } finally {
      wait.cancel();
    }
  } finally {
    await listener?.close();
  }
}

/**
 * Rule 9: the person's paste — the RFC 6749 §4.1.2 authorization response, carried by hand. A
 * cancelled prompt (Ctrl-C in inquirer) is an interrupt, not a bug.
 */
async function readPasted(o: AuthorizeOptions): Promise<string> {
  try {
    return await o.manual!.readRedirectUrl();
  } catch (err) {
    if (err instanceof OrderlinkError) throw err;
    if (o.signal?.aborted || (err instanceof Error && /Exit|Abort|Cancel/.test(err.name))) throw interrupted();
    throw oauthError('OAUTH_MANUAL_NO_URL', 'no address was pasted; nothing was linked', { hint: 'Run the command again and paste the address your browser landed on.' });
  }
}

/** Rule 9: the provider's registered paste-mode URI, or a loopback URI on a port that is free now. */
async function manualRedirectUri(o: AuthorizeOptions): Promise<string> {
  const given = o.manual?.redirectUri;
  if (given === undefined) return `http://${LOOPBACK_IP}:${o.redirectPort ?? (await reservePort())}${o.redirectPath}`;
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw oauthError('OAUTH_BAD_REDIRECT_URI', 'the paste-mode redirect URI is not a URL', { kind: 'usage' });
  }
  // RFC 9700 §2.1 / §4.1: an exact URI without fragment; https, or the loopback IP (RFC 8252 §7.3).
  if (u.hash || !(u.protocol === 'https:' || (u.protocol === 'http:' && u.hostname === LOOPBACK_IP))) {
    throw oauthError('OAUTH_BAD_REDIRECT_URI', `the paste-mode redirect URI ${u.protocol}//${u.host} must be https or http://127.0.0.1`, { kind: 'usage' });
  }
  return given;
}

/**
 * The total wait (rule 5; RFC 8252 §7.3: the port is opened for one response, not left open):
 * OAUTH_TIMEOUT, or `interrupted` on the caller's signal (Ctrl-C).
 */
function waitFor(timeoutMs: number, signal: AbortSignal | undefined, redirectAdvice: string): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const secs = Math.round(timeoutMs / 100) / 10;
      reject(
        oauthError('OAUTH_TIMEOUT', `no answer from the browser within ${secs} s; nothing was stored`, {
          hint: `Run the command again and approve in the browser; --timeout SECONDS waits longer, --manual lets you paste the final URL. If the provider showed an error about the redirect URI: ${redirectAdvice}`,
        }),
      );
    }, timeoutMs);
    onAbort = () => reject(interrupted());
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    cancel() {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** RFC 8252 §7.3: answer the held browser request with a page that matches the outcome, then pass it on. */
async function answered(cb: AcceptedCallback, run: () => Promise<AuthorizeResult>): Promise<AuthorizeResult> {
  let result: AuthorizeResult;
  try {
    result = await run();
  } catch (err) {
    const page: PageKind = err instanceof OrderlinkError && err.code === 'OAUTH_DENIED' ? 'denied' : 'failed';
    await cb.respond(page);
    throw err;
  }
  await cb.respond('success');
  return result;
}

/**
 * Rule 9: the pasted address must be our redirect URI (same scheme, host, port, path) with our
 * state; it is never echoed back, because it holds the code.
 */
export function parsePasted(text: string, redirectUri: string, state: string): URL {
  const trimmed = text.trim().replace(/^(["'<])(.*)[>"']$/s, '$2').trim();
  let u: URL;
  try {
    u = new URL(trimmed);
  } catch {
    throw oauthError('OAUTH_MANUAL_BAD_URL', 'that is not a URL', { kind: 'usage', hint: `Paste the full address from the browser's address bar; it starts with ${redirectUri}` });
  }
  const want = new URL(redirectUri);
  if (`${u.protocol}//${u.host}${u.pathname}` !== `${want.protocol}//${want.host}${want.pathname}`) {
    throw oauthError('OAUTH_MANUAL_WRONG_ADDRESS', `the pasted address is not orderlink's redirect address (it should start with ${redirectUri})`, {
      kind: 'usage',
      hint: 'Paste the address the browser landed on after you approved.',
    });
  }
  // RFC 9700 §2.1.2: tokens never arrive through the front channel.
  const fragment = new URLSearchParams(u.hash.slice(1));
  if (['access_token', 'id_token', 'token'].some((k) => fragment.has(k) || u.searchParams.has(k))) throw implicitRefused();
  if (!stateMatches(u.searchParams, state)) {
    throw oauthError('OAUTH_STATE_MISMATCH', 'the pasted address does not belong to this sign-in (its state does not match); nothing was exchanged', {
      hint: 'Paste the address from the sign-in this command started (the newest tab), or run the command again.',
    });
  }
  return u;
}

/** RFC 9700 §2.1.2: the implicit grant (tokens in the redirect) is never accepted. */
const implicitRefused = (): OrderlinkError =>
  oauthError('OAUTH_IMPLICIT_REFUSED', 'the provider sent tokens in the redirect (implicit grant); orderlink refuses them', {
    hint: 'orderlink only uses the authorization code flow with PKCE (RFC 9700 §2.1.2). The provider is misconfigured.',
  });

/**
 * After our own state check: RFC 9207 §2.4 (`iss` required where advertised, equal to the issuer),
 * RFC 6749 §4.1.2.1 (error responses), no front-channel tokens — all via oauth4webapi's
 * validateAuthResponse — then RFC 6749 §4.1.3 / RFC 7636 §4.5, the exchange with the verifier and
 * the identical redirect URI (RFC 8252 §8.4: a public client, no secret).
 */
async function complete(o: AuthorizeOptions, callbackUrl: URL, state: string, redirectUri: string, verifier: string, nonce: string | undefined): Promise<AuthorizeResult> {
  const { as } = o;
  const cbParams = callbackUrl.searchParams;
  if (['access_token', 'id_token', 'token'].some((k) => cbParams.has(k))) throw implicitRefused();
  const client: oauth.Client = { client_id: o.client.clientId };
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as.metadata, client, cbParams, state);
  } catch (err) {
    if (err instanceof oauth.AuthorizationResponseError) {
      const code = safeErrorCode(err.error);
      as.trace(`authorization response: error ${code}`);
      if (code === 'access_denied') {
        throw oauthError('OAUTH_DENIED', 'access was denied at the provider; nothing was linked', { hint: 'Run the command again and choose Approve to link the account.' });
      }
      // The provider's error redirect about the redirect URI (looked at, never shown: it is theirs).
      if (/redirect[\s_-]*ur[il]/i.test(cbParams.get('error_description') ?? '')) throw redirectRefused(redirectUri, o.redirectPort !== undefined);
      throw oauthError('OAUTH_AUTHORIZATION_FAILED', `the provider refused the authorization request (${code}); nothing was linked`, { details: { provider_error: code } });
    }
    if (err instanceof oauth.UnsupportedOperationError) throw implicitRefused();
    if (err instanceof oauth.OperationProcessingError && /"iss"/.test(err.message)) {
      // H4: a mix-up (RFC 9700 §4.4, RFC 9207 §2.4). The code may be for another server: never send it anywhere.
      const origin = new URL(as.issuer).origin;
      const what = /missing/.test(err.message) ? `has no iss parameter although ${origin} advertises it (RFC 9207)` : `names another issuer than ${origin} (RFC 9207)`;
      throw oauthError('OAUTH_ISSUER_MISMATCH', `the authorization response ${what}; the code was not exchanged`, {
        hint: 'This can be a mix-up attack. Nothing was stored; run the command again.',
      });
    }
    throw toOAuthFailure(err, 'OAUTH_BAD_CALLBACK', 'checking the authorization response', o.signal);
  }
  if (params.getAll('code').length !== 1) throw oauthError('OAUTH_BAD_CALLBACK', 'the authorization response has no code; nothing was linked');

  const tokenUrl = endpoint(as, 'token_endpoint');
  try {
    const res = await oauth.authorizationCodeGrantRequest(as.metadata, client, clientAuth(o.client), params, redirectUri, verifier, requestOptions(as, tokenUrl, o.signal, true));
    // With a nonce, an ID token is required and its `nonce` must equal ours (OIDC Core §3.1.3.7).
    const body = await oauth.processAuthorizationCodeResponse(as.metadata, client, res, nonce ? { expectedNonce: nonce } : undefined);
    return { tokens: toTokens(body, as, 'authorization_code') };
  } catch (err) {
    if (nonce && err instanceof oauth.OperationProcessingError && /"nonce"|ID Token/.test(err.message)) {
      throw oauthError('OAUTH_ID_TOKEN_REJECTED', `the ID token failed its check (${err.message.slice(0, 120)}); nothing was stored`, {
        hint: 'The ID token must carry the nonce orderlink sent (OpenID Connect Core §3.1.3.7). This can be a replayed or injected response; run the command again.',
        details: { check: err.code ?? null },
      });
    }
    throw toOAuthFailure(err, 'OAUTH_EXCHANGE_FAILED', 'exchanging the authorization code', o.signal, 'Nothing was stored. Run the command again; if it keeps failing, the provider may not accept this client.');
  }
}
