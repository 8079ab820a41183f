/**
 * Authorization server metadata (RFC 8414, OpenID Connect Discovery 1.0) and the transport every
 * OAuth request shares. Discovery is where the mix-up defence starts (SECURITY.md rule 4): the
 * `issuer` in the document must equal the configured one before any endpoint from it is used, and
 * the endpoints themselves must be https (loopback excepted, rule 8).
 */
import * as oauth from 'oauth4webapi';
import { OrderlinkError } from '../errors.js';
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
 * `none`); a confidential one authenticates with its secret (RFC 6749 §2.3.1): HTTP Basic by
 * default, or in the form body where the provider only accepts that. The secret comes from the
 * vault at the moment of the request and is never traced or shown.
 */
export interface OAuthClient {
  clientId: string;
  clientSecret?: string;
  authMethod?: 'client_secret_basic' | 'client_secret_post';
}

/** RFC 6749 §2.3.1: how this client authenticates at the token and revocation endpoints. */
export function clientAuth(client: OAuthClient): oauth.ClientAuth {
  if (!client.clientSecret) return oauth.None();
  return client.authMethod === 'client_secret_post' ? oauth.ClientSecretPost(client.clientSecret) : oauth.ClientSecretBasic(client.clientSecret);
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

  // RFC 8414 §3.1 first (for an issuer with a path, `https://host/.well-known/oauth-authorization-server/api/oidc`),
  // then OpenID Connect Discovery 1.0 §4 (`https://host/api/oidc/.well-known/openid-configuration`).
  // Servers as they are: many publish only the OIDC document, and some answer the RFC 8414
  // location with a website page (HTTP 200, HTML) or another issuer's document. Whatever fails at
  // the first location is kept, and the second is tried; only a document whose `issuer` equals
  // the configured one is ever used (RFC 8414 §3.3), so falling through weakens nothing.
  let metadata: oauth.AuthorizationServer | undefined;
  let lastStatus = 0;
  const failures: unknown[] = [];
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      const res = await oauth.discoveryRequest(issuerUrl, { algorithm, ...requestOptions(transport, issuerUrl, opts.signal, false) });
      if (res.status !== 200) {
        // Not published at this well-known location: try the other one (RFC 8414 §5).
        lastStatus = res.status;
        await res.body?.cancel();
        continue;
      }
      metadata = await oauth.processDiscoveryResponse(issuerUrl, res);
      trace(`discovery: using the ${algorithm === 'oauth2' ? 'RFC 8414' : 'OpenID Connect'} metadata of ${issuerUrl.origin}${issuerUrl.pathname === '/' ? '' : issuerUrl.pathname}`);
      break;
    } catch (err) {
      // A deadline, a body cap or Ctrl-C is about the connection, not the document: stop.
      if (err instanceof OrderlinkError || opts.signal?.aborted) throw toOAuthFailure(err, 'OAUTH_DISCOVERY_FAILED', `discovery at ${issuerUrl.origin}`, opts.signal);
      trace(`discovery: the ${algorithm === 'oauth2' ? 'RFC 8414' : 'OpenID'} location did not give usable metadata; ${algorithm === 'oauth2' ? 'trying OpenID discovery' : 'giving up'}`);
      failures.push(err);
    }
  }
  if (!metadata) {
    const mismatch = failures.find((err) => err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON);
    if (mismatch) {
      // H4: the document names another issuer. Using any endpoint from it would hand our codes
      // to whoever wrote it (mix-up, RFC 9700 §4.4). Stop before any request to its endpoints.
      throw oauthError('OAUTH_ISSUER_MISMATCH', `the metadata at ${issuerUrl.origin} names a different issuer than the one configured; refusing it`, {
        hint: 'Check --base-url (or --issuer): it must be exactly the issuer the provider names, path included. If it is right, the provider (or something in between) is misconfigured.',
      });
    }
    if (failures.length) {
      throw toOAuthFailure(failures.at(-1), 'OAUTH_DISCOVERY_FAILED', `discovery at ${issuerUrl.origin}`, opts.signal, 'Check --base-url (or --issuer), and that the provider (or `orderlink sandbox serve`) is running.');
    }
    throw oauthError('OAUTH_DISCOVERY_FAILED', `no authorization server metadata at ${issuerUrl.origin} (RFC 8414 and OpenID discovery both answered HTTP ${lastStatus})`, {
      hint: "Check --base-url (or --issuer): it must be the provider's issuer, path included (e.g. https://host/api/oidc).",
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

/** Endpoints named by configuration instead of discovery (a provider that publishes no metadata). */
export interface ExplicitEndpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint?: string | undefined;
}

/**
 * For providers that publish neither RFC 8414 nor OpenID metadata: an AuthServer built from
 * endpoints the connector author wrote down. The same rules apply as to discovered ones — every
 * endpoint https (http only on 127.0.0.1 when the issuer is, rule 8) — and PKCE S256 is sent
 * regardless (RFC 9700 §2.1.1): the author vouches that the provider accepts it. `iss` is never
 * advertised, so RFC 9207 applies only if the provider sends it anyway.
 */
export function fromEndpoints(issuer: string, e: ExplicitEndpoints, opts: DiscoverOptions): AuthServer {
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw oauthError('OAUTH_BAD_ISSUER', 'the issuer is not a URL', { kind: 'usage' });
  }
  const loopbackHttp = issuerUrl.protocol === 'http:' && opts.allowLoopbackHttp && isLoopbackHost(issuerUrl.hostname);
  if (issuerUrl.protocol !== 'https:' && !loopbackHttp) {
    throw oauthError('OAUTH_INSECURE_ISSUER', `refusing the issuer ${issuerUrl.protocol}//${issuerUrl.host}: only https (or http on 127.0.0.1 for sandboxes) is allowed`, { kind: 'usage' });
  }
  checkEndpoint('token endpoint', e.token_endpoint, loopbackHttp);
  checkEndpoint('authorization endpoint', e.authorization_endpoint, loopbackHttp);
  if (e.revocation_endpoint !== undefined) checkEndpoint('revocation endpoint', e.revocation_endpoint, loopbackHttp);
  const metadata: oauth.AuthorizationServer = {
    issuer,
    authorization_endpoint: e.authorization_endpoint,
    token_endpoint: e.token_endpoint,
    ...(e.revocation_endpoint ? { revocation_endpoint: e.revocation_endpoint } : {}),
    code_challenge_methods_supported: ['S256'],
    response_types_supported: ['code'],
  };
  const trace = opts.trace ?? (() => {});
  trace(`configured endpoints for ${issuerUrl.origin}: no discovery, revocation ${e.revocation_endpoint ? 'configured' : 'not offered'}`);
  return Object.freeze({ issuer, metadata: Object.freeze(metadata), fetch: opts.fetch, allowLoopbackHttp: loopbackHttp, trace, limits: opts.limits ?? requestLimits() });
}

/**
 * Discovery through a website that delegates its sign-in (Shopify: the storefront domain publishes
 * `/.well-known/openid-configuration` naming `https://shopify.com/authentication/{shop_id}` as
 * issuer). RFC 8414 §3.3's "same issuer" check cannot hold here, so the rule becomes: the
 * document comes from the site the person named, over https (loopback http for replicas), names
 * an https issuer, and every endpoint passes rule 8. The issuer it names is then the one the
 * callback's `iss` (RFC 9207) and the ID token's `iss` must equal. S256 must be advertised, unless
 * `code_challenge_methods_supported` is absent and the connector documents S256 (`assumeS256`).
 */
export async function discoverSite(site: string, opts: DiscoverOptions & { assumeS256?: boolean }): Promise<AuthServer> {
  let siteUrl: URL;
  try {
    siteUrl = new URL(site);
  } catch {
    throw oauthError('OAUTH_BAD_ISSUER', 'the site is not a URL', { kind: 'usage' });
  }
  const loopbackHttp = siteUrl.protocol === 'http:' && opts.allowLoopbackHttp && isLoopbackHost(siteUrl.hostname);
  if (siteUrl.protocol !== 'https:' && !loopbackHttp) {
    throw oauthError('OAUTH_INSECURE_ISSUER', `refusing ${siteUrl.protocol}//${siteUrl.host}: only https (or http on 127.0.0.1 for replicas) is allowed`, { kind: 'usage' });
  }
  const trace = opts.trace ?? (() => {});
  const limits = opts.limits ?? requestLimits();
  const transport = { fetch: opts.fetch, trace, limits };
  let metadata: oauth.AuthorizationServer;
  try {
    const res = await oauth.discoveryRequest(new URL(siteUrl.origin), { algorithm: 'oidc', ...requestOptions(transport, siteUrl, opts.signal, false) });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw oauthError('OAUTH_DISCOVERY_FAILED', `${siteUrl.host} publishes no OpenID configuration (HTTP ${res.status} at /.well-known/openid-configuration)`, {
        hint: 'Check the domain: it must be the shop\'s storefront domain, and the shop must have customer accounts turned on.',
      });
    }
    const named = await res.clone().json().then((j: unknown) => (j as { issuer?: unknown } | null)?.issuer).catch(() => undefined);
    if (typeof named !== 'string') throw oauthError('OAUTH_BAD_METADATA', `the OpenID configuration of ${siteUrl.host} names no issuer`);
    checkEndpoint('issuer', named, loopbackHttp);
    metadata = await oauth.processDiscoveryResponse(new URL(named), res);
  } catch (err) {
    throw toOAuthFailure(err, 'OAUTH_DISCOVERY_FAILED', `discovery at ${siteUrl.origin}`, opts.signal, 'Check the domain, and that the site (or its replica) is running.');
  }
  if (opts.assumeS256 && metadata.code_challenge_methods_supported === undefined) {
    // The provider documents S256 for public clients but its document does not list it: recorded
    // here so every later check (the flow asserts it again) sees the documented fact.
    metadata = { ...metadata, code_challenge_methods_supported: ['S256'] };
    trace('discovery: code_challenge_methods_supported absent; S256 is the provider\'s documented method');
  }
  assertSupportsS256(metadata, siteUrl.origin);
  checkEndpoint('token endpoint', metadata.token_endpoint, loopbackHttp);
  checkEndpoint('authorization endpoint', metadata.authorization_endpoint, loopbackHttp);
  if (metadata.revocation_endpoint !== undefined) checkEndpoint('revocation endpoint', metadata.revocation_endpoint, loopbackHttp);
  trace(`discovered through ${siteUrl.origin}: issuer ${new URL(metadata.issuer).origin}, iss parameter (RFC 9207) ${metadata.authorization_response_iss_parameter_supported === true ? 'advertised' : 'not advertised'}`);
  return Object.freeze({ issuer: metadata.issuer, metadata: Object.freeze(metadata), fetch: opts.fetch, allowLoopbackHttp: loopbackHttp, trace, limits });
}
