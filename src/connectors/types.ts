/**
 * The Connector contract. A connector is a typed descriptor (STYLE.md example 6): facts as data
 * (capabilities, endpoints, pagination, rate limits, the allow-list) plus a few pure or
 * I/O-bounded functions. How a connector gets credentials is its own **auth strategy**:
 *
 * - `oauth`: authorization code + PKCE, public or confidential client (the client secret lives in
 *   the vault, never argv), loopback or paste-the-URL; the issuer and the API base are separate.
 *   The session handed to `fetchOrders` is a bearer token the engine refreshes on `unauthorized`.
 * - `hostedLink`: an aggregator. The strategy creates a link session, the person logs in on the
 *   provider's hosted page (or one the loopback listener serves), and what comes back is
 *   exchanged for a long-lived credential sealed in the vault. The session is that credential.
 * - `fileImport`: no credential at all; `orderlink import CONNECTOR PATH` reads a file.
 *
 * The connector also classifies provider responses (reauth, rate limited, retry, restart, fatal)
 * so the engine never guesses from status codes alone, and declares its checkpoint semantics.
 * Connectors never import commands, the store or the vault.
 */
import type { z } from 'zod';
import type { ChargeChange, ConnectionConfig, ConnectorKind, NormalizedOrder, RecordKind, Tombstone } from '../domain.js';

export type { ConnectorKind, NormalizedItem, NormalizedOrder, OrderStatus, Tombstone, ConnectionConfig, NormalizedCharge, RemovedCharge, ChargeChange, RecordKind } from '../domain.js';
export { isTombstone, isRemovedCharge } from '../domain.js';

// ---------------------------------------------------------------------------------------------
// Sessions: what `fetchOrders` receives to authenticate its requests.

export interface BearerSession {
  type: 'bearer';
  /** Decrypted in memory for this run only. */
  accessToken: string;
}
export interface CredentialSession<Cred = unknown> {
  type: 'credential';
  /** The long-lived credential the hostedLink strategy sealed in the vault. */
  credential: Cred;
  /** The app's own client credentials (from `orderlink connector setup`), when the provider needs them per request. */
  app: AppCredentials | null;
}
export interface AppCredentials {
  clientId: string;
  secret: string;
  /** Set by `connector setup --base-url` (a replica or a proxy) for this environment. */
  baseUrl?: string;
  /** Set by `connector setup --token-url` (a replica's token endpoint) for this environment. */
  tokenUrl?: string;
}
export type Session = BearerSession | CredentialSession;

// ---------------------------------------------------------------------------------------------
// Auth strategies.

export interface OAuthStrategy {
  type: 'oauth';
  /** Issuer for discovery when the connection does not name one. */
  defaultIssuer?: string;
  /** The client id; null means it comes from the connection's config (`--client-id`). */
  clientId: string | null;
  /**
   * A confidential client: its id and secret come from `orderlink connector setup` and live in the
   * vault (ref `app:<connector>:<environment>`), never argv; sent as client_secret_post.
   */
  confidential: boolean;
  /**
   * An explicit token endpoint for servers without RFC 8414 discovery (Login with Amazon). Such a
   * connector links with a refresh token only (`--refresh-token-stdin`); the app credentials may
   * override it (`connector setup --token-url`, a replica).
   */
  tokenEndpoint?: string;
  /**
   * Completes and checks the connection's config at link time (e.g. the region from a marketplace
   * id, the environment among those set up). Pure; throws an OrderlinkError (usage) with a hint.
   */
  completeConfig?(config: ConnectionConfig, setUp: readonly string[]): ConnectionConfig;
  scopes: string[];
  /** Path of the loopback redirect, naming the provider and flow (rule 1). */
  redirectPath: string;
  /** false for providers that forbid http loopback redirects: paste-the-URL mode (rule 9). */
  loopback: boolean;
  /** Extra authorization request parameters (e.g. prompt=consent). */
  extraParams?: Record<string, string>;
  /**
   * How the authorization server is found: `issuer` (RFC 8414 / OpenID discovery at the issuer,
   * the default), `endpoints` (written down below: the provider publishes no metadata), or
   * `site` (the configured URL is a website whose OpenID document names another issuer — Shopify's
   * storefront domain — accepted because the person named that site).
   */
  discovery?: 'issuer' | 'endpoints' | 'site';
  endpoints?: { authorization_endpoint: string; token_endpoint: string; revocation_endpoint?: string };
  /** A fixed loopback port, for providers that match redirect URIs exactly (`--redirect-port` overrides it). */
  redirectPort?: number;
  /**
   * Paste mode's redirect URI when the provider allows no http loopback redirect at all: an https
   * address the person registers with the provider (`--redirect-uri` overrides it).
   */
  pasteRedirectUri?: string;
  /** Confidential clients: RFC 6749 §2.3.1 Basic (default) or the form body. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /**
   * Before linking: connector-specific configuration learned from the provider (Shopify: the
   * storefront's API document gives the GraphQL endpoint). Returns the connection's config.
   */
  prepare?(args: { config: ConnectionConfig; http: HttpFunction; signal: AbortSignal; trace(line: string): void }): Promise<ConnectionConfig>;
}

export interface HostedLinkArgs {
  config: ConnectionConfig;
  app: AppCredentials | null;
  http: HttpFunction;
  signal: AbortSignal;
  /** Non-interactive linking where the provider's environment allows it (sandbox credentials). */
  nonInteractive: boolean;
  /** Show a URL to the person (always printed) and open it in a browser when allowed. */
  present(url: string): Promise<void>;
  /** The existing credential when repairing a connection (update mode), else null. */
  existing: unknown;
  /** Connector-specific options from the command line (e.g. merchant). */
  params: Record<string, string>;
  trace(line: string): void;
  /**
   * Serve a page from the loopback listener (same 127.0.0.1 binding, Host check and no-echo rules
   * as the OAuth callback, SECURITY.md rules 1–9) — e.g. one that runs a provider's web SDK — and
   * wait for it to report its result back to the listener. The URL is presented by the caller.
   */
  servePage?(page: { html: string; timeoutMs: number }): Promise<{ url: string; result: Promise<Record<string, string>> }>;
}

export interface HostedLinkResult<Cred> {
  credential: Cred;
  account: ProfileInfo;
  /** Config learned while linking (environment, merchant...), merged into the connection's. */
  config?: ConnectionConfig;
}

export interface HostedLinkStrategy<Cred = unknown> {
  type: 'hostedLink';
  description: string;
  /** Does the provider need app credentials from `orderlink connector setup`? */
  needsAppCredentials: boolean;
  credentialSchema: z.ZodType<Cred>;
  link(args: HostedLinkArgs): Promise<HostedLinkResult<Cred>>;
  /** Ends the grant at the provider (capabilities.revocation). */
  revoke?(args: { credential: Cred; app: AppCredentials | null; config: ConnectionConfig; http: HttpFunction; signal: AbortSignal }): Promise<void>;
}

export interface FileImportStrategy {
  type: 'fileImport';
  /** What the person must download, and where: shown by the picker and `import --help`. */
  description: string;
}

export type AuthStrategy = OAuthStrategy | HostedLinkStrategy<any> | FileImportStrategy; // eslint-disable-line @typescript-eslint/no-explicit-any
/** @deprecated name kept for older imports. */
export type OAuthAuth = OAuthStrategy;

// ---------------------------------------------------------------------------------------------
// Responses: classified by the connector, acted on by the engine.

export interface ProviderResponse {
  status: number;
  headers: Headers;
  /** The body text (bounded), read for non-2xx responses only. */
  body: string;
}

export type Verdict =
  /** Use the response. */
  | { kind: 'ok' }
  /** The credential may be stale: refresh once where the strategy can, else reauth. */
  | { kind: 'unauthorized' }
  /** The grant is dead: the connection needs `link --reconnect` (exit 4). */
  | { kind: 'reauth'; message: string }
  /** Wait and retry; waitMs null means "use backoff". */
  | { kind: 'rate_limited'; waitMs: number | null }
  /** A transient failure: retry with backoff. */
  | { kind: 'retry'; message: string }
  /** The stream changed under us: restart from its first cursor (checkpoint 'stream'). */
  | { kind: 'restart'; message: string }
  /** Give up with this message. */
  | { kind: 'fatal'; message: string; hint?: string };

export type Classifier = (res: ProviderResponse) => Verdict;

// ---------------------------------------------------------------------------------------------
// Facts as data.

export interface Capabilities {
  /** Fetches only what changed since a stored cursor. */
  incremental: boolean;
  /** Returns line items. */
  items: boolean;
  /** Reports refunds and status changes on existing orders. */
  refunds: boolean;
  /** Reports deletions as tombstones. */
  deletions: boolean;
  /** The grant can be revoked at the provider (`disconnect`). */
  revocation: boolean;
}

export interface Descriptor {
  /** Endpoints the connector calls, relative to the API base (documentation and `--verbose`). */
  endpoints: Record<string, string>;
  pagination: { style: 'cursor' | 'next-link' | 'page-number' | 'link-header' | 'none'; pageSize: { default: number; max: number } };
  /** Requests per second the provider allows (the engine paces itself below it), or null. */
  rateLimit: { requestsPerSecond: number; burst: number } | null;
  /**
   * Per-operation usage plans, keyed by a name in `endpoints` (whose path, with `{param}`
   * segments, identifies the operation's requests): a token bucket each (src/sync/ratelimit.ts),
   * corrected by the provider's own rate header where it sends one.
   */
  rateLimits?: Record<string, { requestsPerSecond: number; burst: number }>;
  /** The response header that reports the applied rate in requests per second (x-amzn-RateLimit-Limit). */
  rateLimitHeader?: string;
}

/**
 * `page`: commit the cursor with each page (a crash resumes at the next page).
 * `stream`: an update is one unit — pages are held until the provider says the stream is done,
 * then committed together with the final cursor; a `restart` verdict restarts from the first
 * cursor, and nothing of an unfinished update is ever visible.
 */
export type Checkpoint = 'page' | 'stream';

export interface FetchPageArgs<C, S extends Session = Session> {
  /** Base URL of the provider's API for this connection. */
  baseUrl: string;
  session: S;
  config: ConnectionConfig;
  cursor: C | null;
  /** UTC ISO 8601 lower bound on updated time, for the first page of an incremental or --since run. */
  since: string | null;
  /** Page size hint. */
  limit: number;
  signal: AbortSignal;
  http: HttpFunction;
}

export interface Page<C> {
  /** Raw records, exactly as the provider sent them (validated later against rawSchema). */
  records: unknown[];
  nextCursor: C | null;
  hasMore: boolean;
  /** The provider has nothing ready yet (e.g. Plaid NOT_READY): the engine polls with backoff. */
  notReady?: boolean;
}

/**
 * The one HTTP function connectors may call. The engine supplies it with timeouts, size limits,
 * pacing, retries, Retry-After, refresh-on-unauthorized and masked tracing already applied, all
 * driven by the connector's classifier; connectors see a usable response or a typed error.
 */
export type HttpFunction = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{
  status: number;
  headers: Headers;
  json(): Promise<unknown>;
  text(): Promise<string>;
}>;

export interface ProfileInfo {
  /** The provider's stable id for the account: how a reconnect proves it is the same account. */
  accountId: string;
  label: string;
}

/** One batch from a file import: raw records (allow-listed fields only) and the rows that could not be read. */
export interface ImportBatch {
  file: string;
  records: unknown[];
  rowErrors: Array<{ file: string; line: number; column: string; message: string }>;
}

export interface FileImporter {
  /** Streams batches from PATH (a zip, a folder or a single file). Memory flat in the file's size. */
  read(path: string, opts: { signal: AbortSignal; onProgress?: (p: { file: string; bytes: number; totalBytes: number }) => void }): AsyncIterable<ImportBatch>;
}

export interface Connector<Raw = unknown, Cursor = unknown> {
  id: string;
  displayName: string;
  kind: ConnectorKind;
  /** Retailers this connector serves ("*" = many; the record says which). */
  retailers: readonly string[];
  auth: AuthStrategy;
  capabilities: Capabilities;
  descriptor: Descriptor;
  checkpoint: Checkpoint;
  /** Where the API lives by default, and which environment variable overrides it. */
  baseUrl: { default: string | null; env: string };
  /**
   * How long a credential lives, as the provider documents it, for reauth forecasting
   * (`connections`, `sync --due`): a refresh token that dies after `idleDays` without use, a grant
   * or consent to renew every `maxDays` (Plaid consent, SP-API's yearly re-authorization).
   */
  credentialLifetime?: { idleDays?: number; maxDays?: number };
  /** Named environments and their API hosts (`--env sandbox`); the first is the default. */
  environments?: Record<string, string>;
  /**
   * The provider's order ids are unique across all its accounts (Amazon's order ids), so an id
   * that another live connection of this connector already holds means one account linked twice.
   * For connectors with no account identity to compare at link time: a first sync that meets its
   * twin stops before writing anything (src/sync/twin.ts).
   */
  globalOrderIds?: boolean;
  /** Docs page for users and connector authors (checked by the contract suite). */
  docs: string;
  /** zod schema of one raw provider record. */
  rawSchema: z.ZodType<Raw>;
  /** zod schema of the cursor, stored as JSON with the page it ends. */
  cursorSchema: z.ZodType<Cursor>;
  /**
   * The allow-list: the raw fields (dotted paths, `[]` for arrays) the connector reads. Everything
   * else — payment data, addresses — is dropped before validation and mapping (rule 24).
   */
  allowList: readonly string[];
  /** Free-text fields (dotted paths) scrubbed for card numbers after the allow-list. */
  freeText: readonly string[];
  /** Classifies a non-2xx response; absent means the status-code default (classify.ts). */
  classify?: Classifier;
  /** API connectors: one page of raw records. */
  fetchOrders?(args: FetchPageArgs<Cursor>): Promise<Page<Cursor>>;
  /** File connectors: the reader. */
  importer?: FileImporter;
  /** A raw record is either an order or a deletion. Pure: no I/O. */
  toOrder(raw: Raw): NormalizedOrder | Tombstone;
  /** What the records are (default 'orders'). 'charges' connectors map with `toCharge` and never write orders. */
  records?: RecordKind;
  /** Charge connectors: a raw record → a charge, or its removal. Pure: no I/O. */
  toCharge?(raw: Raw): ChargeChange;
  fetchProfile?(args: { baseUrl: string; session: Session; config: ConnectionConfig; http: HttpFunction; signal: AbortSignal }): Promise<ProfileInfo>;
}

export function defineConnector<Raw, Cursor>(c: Connector<Raw, Cursor>): Connector<Raw, Cursor> {
  return c;
}
