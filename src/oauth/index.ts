/**
 * The OAuth client of orderlink, for connectors and commands (docs/oauth.md). Protocol steps are
 * oauth4webapi's; this module adds the native-app policy of SECURITY.md rules 1–9:
 *
 * - discover(): RFC 8414 / OpenID discovery, issuer checked (RFC 8414 §3.3), PKCE S256 required.
 * - authorizeWithLoopback(): RFC 6749 §4.1 + RFC 8252 loopback redirect (or paste mode), RFC 7636
 *   PKCE, RFC 9207 `iss`, RFC 9700 best current practice.
 * - explicitServer(): explicit endpoints for servers without discovery (Login with Amazon).
 * - refreshTokens(): RFC 6749 §6 (client_secret_post, §2.3.1, for confidential clients); `invalid_grant` → kind 'reauth'.
 * - revokeToken(): RFC 7009 → 'done' | 'failed' | 'unsupported'.
 */
export { clientAuth, discover, discoverSite, explicitServer, fromEndpoints, isLoopbackHost, type AuthServer, type DiscoverOptions, type ExplicitEndpoints, type OAuthClient } from './discovery.js';
export { authorizeWithLoopback, type AuthorizeOptions, type AuthorizeResult, type ManualMode } from './flow.js';
export { refreshTokens, revokeToken, type RevocationResult, type Tokens } from './tokens.js';
export { DEFAULT_MAX_BAD_REQUESTS } from './loopback.js';
