/**
 * Authorization server metadata (RFC 8414, OpenID Connect Discovery 1.0) and the transport every
 * OAuth request shares. Discovery is where the mix-up defence starts (SECURITY.md rule 4): the
 * `issuer` in the document must equal the configured one before any endpoint from it is used, and
 * the endpoints themselves must be https (loopback excepted, rule 8).
 */
import * as oauth from 'oauth4webapi';
import { interrupted, oauthError, safeErrorCode, toOAuthFailure } from './errors.js';
import { fetchLimited, netLimitsFromEnv, type NetLimits } from '../net-limits.js';

/** Discovered metadata plus the transport and policy every later request needs. */
export interface AuthServer {
  /** The configured issuer, as given to discover(). */
  readonly issuer: string;
  /** oauth4webapi's view of the validated metadata (its `issuer` matched the configured one). */
  readonly metadata: oauth.AuthorizationServer;
  /** The fetch implementation (undici's) handed to oauth4webapi through `customFetch`. */
  readonly fetch: typeof globalThis.fetch;
  /** Whether http:// endpoints on a loopback host are acceptable (sandboxes, tests). */
  readonly allowLoopbackHttp: boolean;
  /** --verbose trace; callers never pass secrets, and this module masks tokens. */
  readonly trace: (line: string) => void;
  /** Deadlines and the body cap for every request to this server (default: requestLimits()). */
  readonly limits?: NetLimits;
}

/**
 * The client. A public native client (RFC 8252 §8.4) has no secret (`token_endpoint_auth_method`
 * `none`). A confidential client (RFC 6749 §2.1) has one, read from the vault for the duration of
 * one request and never logged; it authenticates with `client_secret_post` (RFC 6749 §2.3.1: the
 * credentials in the form body), which is what Login with Amazon requires.
 */
export interface OAuthClient {
  clientId: string;
  clientSecret?: string;
}

/**
 * RFC 6749 §2.3.1: how a client authenticates at the token endpoint. Public clients send only
 * `client_id` (RFC 6749 §3.2.1); confidential ones send `client_id` and `client_secret` in the
 * request body (client_secret_post) — RFC 6749 says servers MUST support HTTP Basic as well, but
 * some (LWA) document only the body form, so the body form is the one that works everywhere.
 */
export function clientAuthFor(client: OAuthClient): oauth.ClientAuth {
  return client.clientSecret ? oauth.ClientSecretPost(client.clientSecret) : oauth.None();
}

/**
 * An authorization server configured by explicit endpoints instead of discovery, for servers that
 * publish no RFC 8414 document (Login with Amazon has none). The endpoints get the same rule 8
 * checks discovered ones do (https, or http on a loopback IP for replicas; no userinfo). There is
 * no issuer document to compare against, so `issuer` is the token endpoint's origin: it names the
 * server in token records and traces, and no ID token is ever accepted from such a server.
 */
export function explicitServer(endpoints: { tokenEndpoint: string; revocationEndpoint?: string }, opts: Omit<DiscoverOptions, 'signal'>): AuthServer {
  const probe = new URL(endpoints.tokenEndpoint);
  const loopbackHttp = probe.protocol === 'http:' && opts.allowLoopbackHttp && isLoopbackHost(probe.hostname);
  const token = checkEndpoint('token endpoint', endpoints.tokenEndpoint, loopbackHttp);
  const revocation = endpoints.revocationEndpoint === undefined ? undefined : checkEndpoint('revocation endpoint', endpoints.revocationEndpoint, loopbackHttp);
  const metadata: oauth.AuthorizationServer = { issuer: token.origin, token_endpoint: token.href, ...(revocation ? { revocation_endpoint: revocation.href } : {}) };
  (opts.trace ?? (() => {}))(`explicit endpoints at ${token.origin} (no discovery): revocation ${revocation ? 'supported' : 'not offered'}`);
  return Object.freeze({ issuer: token.origin, metadata: Object.freeze(metadata), fetch: opts.fetch, allowLoopbackHttp: loopbackHttp, trace: opts.trace ?? (() => {}), ...(opts.limits ? { limits: opts.limits } : {}) });
}

export interface DiscoverOptions {
  allowLoopbackHttp: boolean;
  fetch: typeof globalThis.fetch;
  trace?: (line: string) => void;
  signal?: AbortSignal;
  limits?: NetLimits;
}

/**
 * Discovery, token and revocation requests get a connect + headers deadline, a whole-body deadline
 * and a body cap (SECURITY.md rules 26 and 28; src/net-limits.ts, 30 s / 120 s / 32 MiB unless
 * overridden by the environment). RFC 6749 and RFC 8414 set no deadline; a server that accepts the
 * connection and never answers must not hold `link` or a `sync` refresh forever.
 */
export const requestLimits = (): NetLimits => netLimitsFromEnv(process.env);

/** RFC 8252 §7.3 / RFC 9700 §2.6: loopback means the IP literals, never the name "localhost". */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === '[::1]';
}

/**
 * RFC 9700 §2.6 + SECURITY.md rule 8: an endpoint we send codes or tokens to is https, or http on
 * a loopback IP when the issuer itself is a loopback sandbox. No userinfo in the URL.
 */
export function checkEndpoint(name: string, value: unknown, allowLoopbackHttp: boolean): URL {
  let u: URL;
  try {
    if (typeof value !== 'string') throw new TypeError('not a string');
    u = new URL(value);
  } catch {
    throw oauthError('OAUTH_BAD_METADATA', `the provider's metadata has no valid ${name}`, { hint: 'The provider is misconfigured; orderlink cannot link it.' });
  }
  const ok = u.protocol === 'https:' || (u.protocol === 'http:' && allowLoopbackHttp && isLoopbackHost(u.hostname));
  if (!ok || u.username || u.password) {
    throw oauthError('OAUTH_INSECURE_ENDPOINT', `refusing the provider's ${name} (${u.protocol}//${u.host}): only https is allowed (http only on 127.0.0.1 for sandboxes)`, {
      hint: 'Tokens and codes are only ever sent over https (SECURITY.md rule 8).',
    });
  }
  return u;
}

/**
 * The transport options for one oauth4webapi call: undici's fetch (via `customFetch`), the
 * deadlines and body cap of requestLimits() — timers held and cleared by fetchLimited, not
 * `AbortSignal.timeout` inside `AbortSignal.any`, whose timer Node can garbage-collect — with the
 * body read there and handed on complete, `redirect: 'manual'` enforced even if a custom fetch ignored it, and
 * `allowInsecureRequests` only when this very endpoint is http on loopback (RFC 8252 §8.3).
 * `refuseRedirects`: token and revocation requests never follow a redirect (rule 8, RFC 9700
 * §4.12: a 307 would replay the form body, code and verifier included) — a 3xx is an error.
 */
export function requestOptions(as: Pick<AuthServer, 'fetch' | 'trace' | 'limits'>, endpoint: URL, signal: AbortSignal | undefined, refuseRedirects: boolean) {
  const doFetch = as.fetch;
  const trace = as.trace;
  const limits = as.limits ?? requestLimits();
  return {
    ...(signal ? { signal } : {}),
    [oauth.allowInsecureRequests]: endpoint.protocol === 'http:',
    [oauth.customFetch]: async (url: string, init: oauth.CustomFetchOptions<string, unknown>): Promise<Response> => {
      const started = Date.now();
      const target = new URL(url);
      // Only origin and path are traced: discovery has no secrets in the URL, token requests keep
      // theirs in the body, and we never log bodies.
      const where = `${init.method} ${target.origin}${target.pathname}`;
      const got = await fetchLimited(doFetch, url, { ...(init as RequestInit), redirect: 'manual' }, limits, init.signal ?? signal);
      const nullBody = got.status === 204 || got.status === 205 || got.status === 304;
      const res = new Response(nullBody ? null : got.body, { status: got.status, headers: got.headers });
      trace(`${where} → ${res.status} (${Date.now() - started} ms)`);
      if (refuseRedirects && res.status >= 300 && res.status < 400) {
        throw oauthError('OAUTH_REDIRECT_REFUSED', `the provider's endpoint ${target.origin}${target.pathname} answered with a redirect (${res.status}); orderlink does not follow redirects on token requests`, {
          hint: 'The provider metadata points at the wrong URL; report it to the provider.',
        });
      }
      return res;
    },
  };
}

/**
 * RFC 8414 §3 (with OpenID Connect Discovery 1.0 §4 as the fallback): fetch the metadata, check
 * `issuer` equals the configured issuer (RFC 8414 §3.3 — done by oauth4webapi's
 * processDiscoveryResponse), then apply our own policy: PKCE S256 advertised (RFC 7636 §4.2,
 * RFC 9700 §2.1.1), the code flow offered, and every endpoint https or loopback (rule 8).
 */
export async function discover(issuer: string, opts: DiscoverOptions): Promise<AuthServer> {
  const trace = opts.trace ?? (() => {});
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw oauthError('OAUTH_BAD_ISSUER', 'the issuer is not a URL', { kind: 'usage' });
  }
  // RFC 8414 §2: an issuer is an https URL with no query or fragment.
  if (issuerUrl.search || issuerUrl.hash || issuerUrl.username || issuerUrl.password) {
    throw oauthError('OAUTH_BAD_ISSUER', `the issuer ${issuerUrl.origin} must not have a query, fragment or credentials`, { kind: 'usage' });
  }
  const loopbackHttp = issuerUrl.protocol === 'http:' && opts.allowLoopbackHttp && isLoopbackHost(issuerUrl.hostname);
  if (issuerUrl.protocol !== 'https:' && !loopbackHttp) {
    throw oauthError('OAUTH_INSECURE_ISSUER', `refusing the issuer ${issuerUrl.protocol}//${issuerUrl.host}: only https (or http on 127.0.0.1 for sandboxes) is allowed`, { kind: 'usage' });
  }
  if (opts.signal?.aborted) throw interrupted('discovery was interrupted');
  const limits = opts.limits ?? requestLimits();
  const transport = { fetch: opts.fetch, trace, limits };

  let metadata: oauth.AuthorizationServer | undefined;
  let lastStatus = 0;
  try {
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      const res = await oauth.discoveryRequest(issuerUrl, { algorithm, ...requestOptions(transport, issuerUrl, opts.signal, false) });
      if (res.status !== 200) {
        // Not published at this well-known location: try the other one (RFC 8414 §5).
        lastStatus = res.status;
        await res.body?.cancel();
        continue;
      }
      metadata = await oauth.processDiscoveryResponse(issuerUrl, res);
      break;
    }
  } catch (err) {
    if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      // H4: the document names another issuer. Using any endpoint from it would hand our codes
      // to whoever wrote it (mix-up, RFC 9700 §4.4). Stop before any request to its endpoints.
      throw oauthError('OAUTH_ISSUER_MISMATCH', `the metadata at ${issuerUrl.origin} names a different issuer than the one configured; refusing it`, {
        hint: 'Check --base-url. If it is right, the provider (or something in between) is misconfigured.',
      });
    }
    throw toOAuthFailure(err, 'OAUTH_DISCOVERY_FAILED', `discovery at ${issuerUrl.origin}`, opts.signal, 'Check --base-url, and that the provider (or `orderlink sandbox serve`) is running.');
  }
  if (!metadata) {
    throw oauthError('OAUTH_DISCOVERY_FAILED', `no authorization server metadata at ${issuerUrl.origin} (RFC 8414 and OpenID discovery both answered HTTP ${lastStatus})`, {
      hint: 'Check --base-url: it must be the provider\'s issuer.',
    });
  }
  assertSupportsS256(metadata, issuerUrl.origin);
  const types = metadata.response_types_supported;
  if (Array.isArray(types) && !types.includes('code')) {
    throw oauthError('OAUTH_CODE_FLOW_UNSUPPORTED', `${issuerUrl.origin} does not offer the authorization code flow`, { hint: 'orderlink only links with the code flow + PKCE (no implicit grant, RFC 9700 §2.1.2).' });
  }
  checkEndpoint('token endpoint', metadata.token_endpoint, loopbackHttp);
  if (metadata.authorization_endpoint !== undefined) checkEndpoint('authorization endpoint', metadata.authorization_endpoint, loopbackHttp);
  if (metadata.revocation_endpoint !== undefined) checkEndpoint('revocation endpoint', metadata.revocation_endpoint, loopbackHttp);
  trace(
    `discovered ${issuerUrl.origin}: PKCE S256, iss parameter (RFC 9207) ${metadata.authorization_response_iss_parameter_supported === true ? 'advertised' : 'not advertised'}, revocation ${metadata.revocation_endpoint ? 'supported' : 'not offered'}`,
  );
  return Object.freeze({ issuer, metadata: Object.freeze(metadata), fetch: opts.fetch, allowLoopbackHttp: loopbackHttp, trace, limits });
}

/**
 * RFC 7636 §4.2 / RFC 9700 §2.1.1 and §4.8 (PKCE downgrade; SECURITY.md rule 3, H5): the server must advertise S256 in
 * `code_challenge_methods_supported`. RFC 8414 §2 reads an absent list as "no PKCE", so absent is
 * refused too; `plain` alone would let an intercepted authorization request reveal the verifier.
 */
export function assertSupportsS256(metadata: oauth.AuthorizationServer, origin: string): void {
  const methods = metadata.code_challenge_methods_supported;
  if (Array.isArray(methods) && methods.includes('S256')) return;
  const offered = Array.isArray(methods) && methods.length ? methods.map((m) => safeErrorCode(m)).slice(0, 5).join(', ') : 'none advertised';
  throw oauthError('OAUTH_PKCE_UNSUPPORTED', `${origin} does not offer PKCE with S256 (code_challenge_methods_supported: ${offered}); refusing to link`, {
    hint: 'orderlink requires PKCE S256 on every flow (RFC 7636, RFC 9700 §2.1.1). The "plain" method is not accepted.',
  });
}

/**
 * An RFC 8414 §2 endpoint, re-checked against rule 8 at use (the AuthServer may not come from
 * discover(): tests and callers can build one).
 */
export function endpoint(as: AuthServer, name: 'token_endpoint' | 'revocation_endpoint' | 'authorization_endpoint'): URL {
  const label = name.replace('_', ' ');
  return checkEndpoint(label, as.metadata[name], as.allowLoopbackHttp);
}
