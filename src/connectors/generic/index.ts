/**
 * The generic `oauth` connector: a Connector built from a descriptor (./schema.ts) — any OAuth 2.0
 * / OpenID Connect orders API configured by data, no code. Auth is the ordinary `oauth` strategy
 * (discovery or written-down endpoints, public or confidential client, loopback or paste-the-URL,
 * a fixed redirect port); the orders endpoint is paged in one of five styles; records go through
 * the same allow-list, validation and mapping pipeline as every built-in connector.
 */
import { z } from 'zod';
import { OrderlinkError } from '../../errors.js';
import { ProviderHttpError, ProviderNotJsonError, providerMessage } from '../http.js';
import { defineConnector, type Connector, type HttpFunction, type Session } from '../types.js';
import { getPath, mapRecord, MappingError } from './mapping.js';
import { allowListOf, type Descriptor } from './schema.js';

export { descriptorSchema, descriptorJsonSchema, type Descriptor } from './schema.js';

const cursorSchema = z.object({ next: z.string().nullable(), since: z.string().nullable() });
export type GenericCursor = z.infer<typeof cursorSchema>;

/** `base` + `/path`, keeping a base's own path (`https://host/api` + `/v1/orders`). */
export function joinUrl(base: string, path: string): URL {
  return new URL(base.replace(/\/+$/, '') + path);
}

/** RFC 8288 `Link` header: the target of rel="next", if any. */
export function nextFromLinkHeader(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) return m[1]!;
  }
  return null;
}

/** A next-page URL from the provider is followed only on the API's own origin: the token goes nowhere else. */
function sameOrigin(next: string, api: URL): string {
  let u: URL;
  try {
    u = new URL(next, api);
  } catch {
    throw new OrderlinkError('PROVIDER_BAD_PAGE', 'the provider gave a next-page link that is not a URL', { hint: 'Check the descriptor\'s pagination settings.' });
  }
  if (u.origin !== api.origin) {
    throw new OrderlinkError('PROVIDER_BAD_PAGE', `the provider's next-page link points at another site (${u.host}); not following it with your token`, {
      hint: 'If the API really lives there, set api.baseUrl (or link --api-url) to that origin.',
    });
  }
  return u.href;
}

async function getPage(http: HttpFunction, url: string, session: Session, d: Descriptor): Promise<{ body: unknown; headers: Headers }> {
  if (session.type !== 'bearer') throw new OrderlinkError('SESSION_KIND', 'this connector needs an OAuth session', { hint: 'Re-link the connection.' });
  const authorization = d.api.tokenPrefix === 'none' ? session.accessToken : `Bearer ${session.accessToken}`;
  const res = await http(url, { headers: { accept: 'application/json', ...d.api.headers, authorization } });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new ProviderHttpError(res.status, providerMessage(text));
  try {
    return { body: JSON.parse(text) as unknown, headers: res.headers };
  } catch {
    throw new ProviderNotJsonError(url, res.status, res.headers.get('content-type'), text);
  }
}

export function connectorFromDescriptor(id: string, d: Descriptor, source: string): Connector<unknown, GenericCursor> {
  const m = d.mapping;
  const o = d.api.orders;
  const p = o.pagination;
  const allowList = allowListOf(d);
  const freeText = [typeof m.retailer === 'string' ? m.retailer : null, ...(m.items ? [m.items.name, m.items.sku, m.items.category].filter(Boolean).map((f) => `${m.items!.path}[].${f}`) : [])].filter((x): x is string => x !== null);
  const refunds = a(m.amounts.refunded) || Object.values(m.status.map).some((s) => s === 'refunded' || s === 'partially_refunded');
  const pageSize = o.pageSize ?? { param: '', default: 100, max: 100 };
  const issuer = d.auth.issuer ?? (d.auth.endpoints ? new URL(d.auth.endpoints.token).origin : undefined);

  // The raw schema runs the mapping once: a problem becomes a zod issue at the field it names.
  const rawSchema = z.unknown().superRefine((raw, ctx) => {
    try {
      mapRecord(raw, m);
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      ctx.addIssue({ code: 'custom', path: err.field.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s)), message: err.message });
    }
  });

  return defineConnector<unknown, GenericCursor>({
    id,
    displayName: d.displayName,
    kind: 'direct',
    retailers: [typeof m.retailer === 'string' ? '*' : m.retailer.value],
    auth: {
      type: 'oauth',
      ...(issuer ? { defaultIssuer: issuer } : {}),
      clientId: d.auth.clientId ?? null,
      confidential: d.auth.clientSecret === 'required',
      ...(d.auth.clientSecret === 'required' ? { tokenEndpointAuthMethod: d.auth.tokenEndpointAuthMethod } : {}),
      scopes: d.auth.scopes,
      redirectPath: `/callback/${id}`,
      loopback: d.auth.redirect === 'loopback',
      ...(d.auth.redirectPort ? { redirectPort: d.auth.redirectPort } : {}),
      ...(d.auth.pasteRedirectUri ? { pasteRedirectUri: d.auth.pasteRedirectUri } : {}),
      ...(Object.keys(d.auth.extraParams).length ? { extraParams: d.auth.extraParams } : {}),
      discovery: d.auth.endpoints ? 'endpoints' : 'issuer',
      ...(d.auth.endpoints
        ? { endpoints: { authorization_endpoint: d.auth.endpoints.authorization, token_endpoint: d.auth.endpoints.token, ...(d.auth.endpoints.revocation ? { revocation_endpoint: d.auth.endpoints.revocation } : {}) } }
        : {}),
    },
    capabilities: { incremental: Boolean(o.incremental), items: Boolean(m.items), refunds, deletions: Boolean(m.deleted), revocation: d.auth.endpoints ? Boolean(d.auth.endpoints.revocation) : true },
    descriptor: {
      endpoints: { orders: o.path, ...(d.api.profile ? { profile: d.api.profile.path } : {}) },
      pagination: { style: p.style, pageSize: { default: pageSize.default, max: pageSize.max } },
      rateLimit: d.api.rateLimit ?? null,
    },
    checkpoint: 'page',
    baseUrl: { default: d.api.baseUrl ?? null, env: `ORDERLINK_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL` },
    docs: source,
    rawSchema,
    cursorSchema,
    allowList,
    freeText,
    async fetchOrders({ baseUrl, session, cursor: c, since, limit, http }) {
      const api = joinUrl(baseUrl, o.path);
      const from = c?.since ?? since;
      let url: URL;
      if (c?.next && (p.style === 'next-link' || p.style === 'link-header')) url = new URL(sameOrigin(c.next, api));
      else {
        url = new URL(api.href);
        if (o.pageSize) url.searchParams.set(o.pageSize.param, String(Math.min(limit, o.pageSize.max)));
        if (c?.next && (p.style === 'cursor' || p.style === 'page-number')) url.searchParams.set(p.param, c.next);
        else if (p.style === 'page-number') url.searchParams.set(p.param, String(p.first));
        // The "changed since" parameter goes with the first page only (the sandbox's rule, and most APIs').
        if (!c?.next && from && o.incremental) url.searchParams.set(o.incremental.param, from);
      }
      const { body, headers } = await getPage(http, url.href, session, d);
      const records = o.records === undefined ? body : getPath(body, o.records);
      if (!Array.isArray(records)) {
        throw new OrderlinkError('PROVIDER_BAD_PAGE', `the page has no list of orders at "${o.records ?? '(the page itself)'}"`, { hint: 'Check api.orders.records in the descriptor against a real page (orderlink --verbose sync NAME --dry-run).' });
      }
      let next: string | null = null;
      let hasMore: boolean;
      if (p.style === 'cursor') {
        const v = getPath(body, p.nextCursor);
        next = typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
        const more = p.hasMore === undefined ? undefined : getPath(body, p.hasMore);
        hasMore = typeof more === 'boolean' ? more : next !== null;
      } else if (p.style === 'next-link') {
        const v = getPath(body, p.nextLink);
        next = typeof v === 'string' && v !== '' ? sameOrigin(v, api) : null;
        hasMore = next !== null;
      } else if (p.style === 'link-header') {
        const v = nextFromLinkHeader(headers.get('link'));
        next = v ? sameOrigin(v, api) : null;
        hasMore = next !== null;
      } else if (p.style === 'page-number') {
        const current = c?.next ? Number(c.next) : p.first;
        const total = p.totalPages === undefined ? undefined : getPath(body, p.totalPages);
        hasMore = records.length > 0 && (typeof total === 'number' ? current + (1 - p.first) < total : true);
        next = hasMore ? String(current + 1) : null;
      } else hasMore = false;
      // Between runs: the newest value of the incremental field seen (the feed is sorted by it).
      const last = records.at(-1);
      const seen = o.incremental && last !== undefined ? getPath(last, o.incremental.field) : undefined;
      const watermark = typeof seen === 'string' ? seen : typeof seen === 'number' ? String(seen) : (from ?? null);
      return { records, hasMore, nextCursor: hasMore ? (next === null ? null : { next, since: watermark }) : { next: null, since: o.incremental ? watermark : null } };
    },
    toOrder: (raw) => mapRecord(raw, m),
    ...(d.api.profile
      ? {
          async fetchProfile({ baseUrl, session, http }) {
            const prof = d.api.profile!;
            const { body } = await getPage(http, joinUrl(baseUrl, prof.path).href, session, d);
            const accountId = getPath(body, prof.accountId);
            const label = getPath(body, prof.label);
            if ((typeof accountId !== 'string' && typeof accountId !== 'number') || accountId === '') {
              throw new OrderlinkError('PROVIDER_BAD_PROFILE', `the profile has no account id at "${prof.accountId}"`, { hint: 'Check api.profile in the descriptor.' });
            }
            return { accountId: String(accountId), label: typeof label === 'string' && label ? label : String(accountId) };
          },
        }
      : {}),
  });
}

function a(x: unknown): boolean {
  return x !== undefined;
}
