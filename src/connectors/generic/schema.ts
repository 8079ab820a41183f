/**
 * The connector descriptor: everything a direct OAuth 2.0 / OpenID Connect orders API needs,
 * written as data (`orderlink connector add NAME --from FILE`). This zod schema is the single
 * source: the published JSON Schema (docs/connector-descriptor.schema.json) is generated from it
 * (`z.toJSONSchema`, checked up to date by test/connector.generic.test.ts), and the generic
 * connector (./index.ts) is built from a parsed value. Field-by-field guide: docs/connector-author.md.
 */
import { z } from 'zod';
import { ORDER_STATUSES } from '../../domain.js';

/** A dotted path into a record (`amounts.total`, `lineItems.nodes`); digits select an array index. */
export const dottedPath = z
  .string()
  .regex(/^[A-Za-z_$][\w$-]*(\.([A-Za-z_$][\w$-]*|\d+))*$/, 'a dotted path such as amounts.total (letters, digits, _ $ -; no [])')
  .max(200)
  .describe('A dotted path into the provider\'s JSON: `amounts.total`, `customer.orders.nodes`; a number selects an array index (`items.0.name`).');

/** A value read from the record, or the same value for every record. */
const pathOrValue = z.union([dottedPath, z.object({ value: z.string().min(1).max(100) }).strict()]);

const httpsUrl = z
  .url({ protocol: /^https?$/ })
  .max(500)
  .describe('An absolute URL: https, or http on 127.0.0.1 for local replicas (checked when used).');

const status = z.enum(ORDER_STATUSES as unknown as [string, ...string[]]);
const paramName = z.string().regex(/^[A-Za-z0-9_.\[\]-]{1,64}$/, 'a query parameter name');

/** Parameters the OAuth flow owns (src/oauth/flow.ts RESERVED); a descriptor cannot set them. */
const RESERVED_PARAMS = ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'response_mode', 'nonce', 'request', 'request_uri'];
/** Headers a descriptor may not set: credentials are the strategy's, never data. */
const FORBIDDEN_HEADERS = /^(authorization|cookie|proxy-authorization|host|content-length|transfer-encoding|connection)$/i;
/** Raw fields that must never be read (the contract suite's rule, SECURITY.md rule 24). */
export const PAYMENT_FIELD = /card|last4|billing|payment|address|postal|account_number|routing|iban|email|phone/i;

export const authSchema = z
  .object({
    issuer: httpsUrl.optional().describe('The issuer: metadata is discovered at it (RFC 8414, then OpenID Connect Discovery), path included (https://host/api/oidc). `link --issuer` overrides it.'),
    endpoints: z
      .object({ authorization: httpsUrl, token: httpsUrl, revocation: httpsUrl.optional() })
      .strict()
      .optional()
      .describe('For providers that publish no metadata: the endpoints themselves. PKCE S256 is always sent.'),
    clientId: z.string().regex(/^[\x21-\x7e]{1,200}$/).optional().describe('The client id. Omit it to take it from `link --client-id` (each person registers their own app).'),
    clientSecret: z
      .enum(['none', 'required'])
      .default('none')
      .describe('`required`: a confidential client. The secret is asked for (or read from stdin) by `connector add` and kept in the vault — never in this file.'),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic').describe('How a confidential client authenticates (RFC 6749 §2.3.1).'),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/, 'a scope token (RFC 6749 §3.3)')).min(1).max(30).describe('With `openid`, a nonce is sent and checked in the ID token.'),
    redirect: z.enum(['loopback', 'paste']).default('loopback').describe('`loopback`: a listener on 127.0.0.1. `paste`: the provider forbids loopback redirects; the person pastes the address the browser lands on.'),
    redirectPort: z.number().int().min(1024).max(65535).optional().describe('A fixed loopback port, for servers that match redirect URIs exactly. Register http://127.0.0.1:PORT/callback/NAME. `link --redirect-port` overrides it.'),
    pasteRedirectUri: httpsUrl.optional().describe('Paste mode: the https redirect URI registered with the provider (default: a loopback URI on a free port).'),
    extraParams: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(500))
      .default({})
      .refine((p) => !Object.keys(p).some((k) => RESERVED_PARAMS.includes(k)), { message: `extraParams cannot set ${RESERVED_PARAMS.join(', ')}` })
      .describe('Extra authorization request parameters, e.g. {"prompt": "consent", "audience": "…"}.'),
  })
  .strict()
  .describe('Without issuer and endpoints, discovery happens at the issuer given when linking (`link NAME --issuer URL`): self-hosted servers, sandboxes.');

const pagination = z.discriminatedUnion('style', [
  z.object({ style: z.literal('cursor'), param: paramName.describe('The query parameter that carries the cursor.'), nextCursor: dottedPath.describe('Where the page holds the next cursor (null or absent: the last page).'), hasMore: dottedPath.optional().describe('A boolean "more pages" field, when the provider has one.') }).strict(),
  z.object({ style: z.literal('next-link'), nextLink: dottedPath.describe('Where the page holds the URL of the next page (same origin as the API).') }).strict(),
  z.object({ style: z.literal('page-number'), param: paramName, first: z.number().int().min(0).max(1).default(1), totalPages: dottedPath.optional().describe('The number of pages, when the provider says; otherwise an empty page ends the run.') }).strict(),
  z.object({ style: z.literal('link-header').describe('RFC 8288 `Link: <…>; rel="next"` (same origin as the API).') }).strict(),
  z.object({ style: z.literal('none') }).strict(),
]);

export const apiSchema = z
  .object({
    baseUrl: httpsUrl.optional().describe('The orders API base, when it is not the issuer. `link --api-url` overrides it.'),
    tokenPrefix: z.enum(['Bearer', 'none']).default('Bearer').describe('`Authorization: Bearer TOKEN` (RFC 6750), or the bare token for providers that want that.'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(200))
      .default({})
      .refine((h) => !Object.keys(h).some((k) => FORBIDDEN_HEADERS.test(k)), { message: 'headers cannot set Authorization, Cookie or transport headers' })
      .describe('Extra request headers (an API version, Accept). Never credentials.'),
    profile: z
      .object({ path: z.string().regex(/^\/[\x21-\x7e]*$/).max(200), accountId: dottedPath, label: dottedPath })
      .strict()
      .optional()
      .describe('The account endpoint: its stable id proves a reconnect is the same account.'),
    orders: z
      .object({
        path: z.string().regex(/^\/[\x21-\x7e]*$/, 'a path starting with /').max(200),
        records: dottedPath.optional().describe('Where the page holds the array of orders; omit when the page IS the array.'),
        pageSize: z.object({ param: paramName, default: z.number().int().min(1).max(1000), max: z.number().int().min(1).max(10_000) }).strict().optional(),
        pagination,
        incremental: z
          .object({
            param: paramName.describe('The query parameter for "changed since" (sent on the first page of an incremental run).'),
            field: dottedPath.describe('The record field it compares (the feed must be sorted by it, ascending): the last value seen is kept for the next run.'),
          })
          .strict()
          .optional(),
      })
      .strict(),
    rateLimit: z.object({ requestsPerSecond: z.number().positive().max(1000), burst: z.number().int().min(1).max(1000) }).strict().optional(),
  })
  .strict();

const itemsSchema = z
  .object({
    path: dottedPath.describe('The array of line items in the order record.'),
    lineNo: dottedPath.optional().describe('The line number; default the position (1, 2, …).'),
    name: dottedPath,
    sku: dottedPath.optional(),
    unitPrice: dottedPath,
    quantity: dottedPath,
    category: dottedPath.optional(),
  })
  .strict();

export const mappingSchema = z
  .object({
    orderId: dottedPath,
    retailer: pathOrValue.describe('The shop: a path, or {"value": "Name"} for every order.'),
    orderDate: dottedPath,
    updatedAt: dottedPath.optional(),
    dateFormat: z.enum(['iso8601', 'unix-seconds', 'unix-millis']).default('iso8601').describe('ISO 8601 with an offset or Z (a date alone is midnight UTC), or epoch seconds/milliseconds.'),
    currency: pathOrValue.describe('The ISO 4217 code: a path, or {"value": "USD"}.'),
    money: z
      .object({
        format: z.enum(['decimal-string', 'number', 'minor-units']).describe('"27.35", 27.35, or 2735.'),
        exponent: z.number().int().min(0).max(4).optional().describe('minor-units only: the decimals the integer carries, when not the currency\'s own (ISO 4217).'),
      })
      .strict(),
    amounts: z
      .object({ total: dottedPath, subtotal: dottedPath.optional(), tax: dottedPath.optional(), shipping: dottedPath.optional(), discount: dottedPath.optional(), refunded: dottedPath.optional() })
      .strict()
      .describe('Absent amounts are 0, except subtotal: total − tax − shipping + discount.'),
    status: z
      .object({ path: dottedPath, map: z.record(z.string().max(100), status), default: status.optional().describe('For values not in the map; without it such a record is refused, named.') })
      .strict(),
    deleted: z.object({ path: dottedPath, equals: z.union([z.boolean(), z.string()]) }).strict().optional().describe('A deletion marker: such a record becomes a tombstone (its date from updatedAt).'),
    items: itemsSchema.optional(),
    keep: z.array(dottedPath).max(50).default([]).describe('More fields to keep in recordings (the allow-list is every path above plus these). No payment, card, address, email or phone field.'),
  })
  .strict();

export const descriptorSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1),
    displayName: z.string().min(1).max(60),
    docs: httpsUrl.optional().describe("The provider's API documentation."),
    auth: authSchema,
    api: apiSchema,
    mapping: mappingSchema,
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const p of allowListOf(d)) {
      if (PAYMENT_FIELD.test(p)) ctx.addIssue({ code: 'custom', path: ['mapping'], message: `the field ${p} looks like payment or contact data; orderlink never reads it (SECURITY.md rule 24)` });
    }
    const ps = d.api.orders.pageSize;
    if (ps && ps.default > ps.max) ctx.addIssue({ code: 'custom', path: ['api', 'orders', 'pageSize'], message: 'default is larger than max' });
  })
  .describe('An orderlink connector descriptor: a direct OAuth 2.0 / OpenID Connect orders API, as data.');

export type Descriptor = z.infer<typeof descriptorSchema>;
export type DescriptorInput = z.input<typeof descriptorSchema>;

/** The raw fields the mapping reads, as allow-list paths (items' fields under `items.path[]`). */
export function allowListOf(d: { mapping: z.infer<typeof mappingSchema>; api: { orders: { incremental?: { field: string } | undefined } } }): string[] {
  const m = d.mapping;
  const out = new Set<string>();
  const add = (p: string | { value: string } | undefined) => typeof p === 'string' && out.add(p);
  [m.orderId, m.retailer, m.orderDate, m.updatedAt, m.currency, m.status.path, m.deleted?.path, d.api.orders.incremental?.field, ...Object.values(m.amounts), ...m.keep].forEach(add);
  if (m.items) {
    const { path, ...fields } = m.items;
    for (const f of Object.values(fields)) if (f) out.add(`${path}[].${f}`);
  }
  return [...out];
}

/** The JSON Schema published as docs/connector-descriptor.schema.json. */
export function descriptorJsonSchema(): unknown {
  const schema = z.toJSONSchema(descriptorSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $id: 'https://orderlink.invalid/schemas/connector-descriptor.schema.json', title: 'orderlink connector descriptor', ...schema };
}
