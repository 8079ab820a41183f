/**
 * The Connector contract. One contract, several ways of linking (direct OAuth, aggregator, file
 * import). A connector is a typed descriptor (STYLE.md example 6): it declares facts as data and
 * provides two functions, `fetchOrders` (one page of raw records plus the next cursor) and a pure
 * `toOrder(raw)`. Connectors never import commands, the store or the vault; they get a bearer
 * token string and an HTTP function, and nothing else.
 */
import type { z } from 'zod';

export type ConnectorKind = 'direct' | 'aggregator' | 'file';

export type OrderStatus = 'placed' | 'shipped' | 'delivered' | 'cancelled' | 'refunded' | 'partially_refunded' | 'returned' | 'unknown';

/** The normalized shape written to the store. Money in integer minor units of `currency`. */
export interface NormalizedOrder {
  orderId: string;
  retailer: string;
  /** UTC ISO 8601. */
  orderDate: string;
  status: OrderStatus;
  currency: string;
  subtotal: number;
  tax: number;
  shipping: number;
  discount: number;
  total: number;
  refunded: number;
  /** The provider's own last-modified time (UTC ISO 8601), when it has one. */
  providerUpdatedAt: string | null;
  items: NormalizedItem[];
}

export interface NormalizedItem {
  lineNo: number;
  name: string;
  sku: string | null;
  unitPrice: number;
  quantity: number;
  category: string | null;
}

/** A provider-side deletion: recorded, never silently dropped (SECURITY.md rule 21). */
export interface Tombstone {
  orderId: string;
  deletedAt: string | null;
}

export type OAuthAuth = {
  type: 'oauth';
  /** Issuer for discovery; overridable per connection (base URL). */
  defaultIssuer?: string;
  clientId: string;
  scopes: string[];
  /** Path of the loopback redirect, naming the provider and flow (rule 1). */
  redirectPath: string;
  /** false for providers that forbid http loopback redirects: paste-the-URL mode (rule 9). */
  loopback: boolean;
  /** Extra authorization request parameters (e.g. prompt=consent). */
  extraParams?: Record<string, string>;
};
export type AggregatorAuth = { type: 'aggregator'; description: string };
export type FileAuth = { type: 'file'; description: string };
export type AuthDescription = OAuthAuth | AggregatorAuth | FileAuth;

export interface Capabilities {
  /** Supports `updated_since`-style incremental fetches from a cursor. */
  incremental: boolean;
  /** Returns line items. */
  items: boolean;
  /** Reports refunds and status changes on existing orders. */
  refunds: boolean;
  /** Reports deletions as tombstones. */
  deletions: boolean;
  /** Has an RFC 7009 revocation endpoint. */
  revocation: boolean;
}

export interface FetchPageArgs<C> {
  /** Base URL of the provider's API for this connection. */
  baseUrl: string;
  /** A bearer token (decrypted in memory for this call only). */
  accessToken: string;
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
}

/**
 * The one HTTP function connectors may call. The sync engine supplies it with retries, backoff,
 * Retry-After, refresh-on-401 and masked tracing already applied; connectors see the final
 * response or a typed error.
 */
export type HttpFunction = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{
  status: number;
  headers: Headers;
  json(): Promise<unknown>;
  text(): Promise<string>;
}>;

export interface ProfileInfo {
  accountId: string;
  label: string;
}

export interface Connector<Raw = unknown, Cursor = unknown> {
  id: string;
  displayName: string;
  kind: ConnectorKind;
  /** Retailers this connector serves ("*" = many; the record says which). */
  retailers: readonly string[];
  auth: AuthDescription;
  capabilities: Capabilities;
  /** Where the API lives by default, and which environment variable overrides it. */
  baseUrl: { default: string | null; env: string };
  /** Docs page for users and connector authors (checked by the registry test). */
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
  fetchOrders(args: FetchPageArgs<Cursor>): Promise<Page<Cursor>>;
  /** A raw record is either an order or a deletion. Pure: no I/O. */
  toOrder(raw: Raw): NormalizedOrder | Tombstone;
  fetchProfile?(args: { baseUrl: string; accessToken: string; http: HttpFunction; signal: AbortSignal }): Promise<ProfileInfo>;
}

export const isTombstone = (x: NormalizedOrder | Tombstone): x is Tombstone => !('items' in x);

export function defineConnector<Raw, Cursor>(c: Connector<Raw, Cursor>): Connector<Raw, Cursor> {
  return c;
}
