/**
 * Knot TransactionLink (knotapi.com): a person's orders at a merchant account (Walmart, Target,
 * Macy's, Amazon, DoorDash…) with SKU-level products, through an aggregator. Facts:
 * ../shared/CONNECTORS.md §4; user and author docs: docs/knot.md.
 *
 * The app's client id and secret (HTTP Basic on every call) come from `orderlink connector setup
 * knot`; the vault credential of a connection is only what identifies the linked merchant account
 * at Knot (our random external_user_id and the merchant). Syncing is `/transactions/sync` cursor
 * pages (checkpoint per page); the page's merchant is copied onto each transaction, which does
 * not name it.
 */
import { defineConnector } from '../types.js';
import { KNOT_HOSTS, classify, knotPost } from './api.js';
import { knotCredential, linkKnot, unlinkKnot, type KnotCredential } from './link.js';
import { toOrder } from './mapping.js';
import { KNOT_ALLOW_LIST, KNOT_FREE_TEXT, knotCursor, knotTransaction, syncPage, type KnotCursor, type KnotTransaction } from './schema.js';
import { OrderlinkError } from '../../errors.js';

export const KNOT_PAGE_MAX = 100;

export const knot = defineConnector<KnotTransaction, KnotCursor>({
  id: 'knot',
  displayName: 'Knot',
  kind: 'aggregator',
  retailers: ['*'],
  auth: {
    type: 'hostedLink',
    description: "Knot's login window for the merchant, served from a page on this computer (127.0.0.1); development also has a test link without a browser (--sandbox)",
    needsAppCredentials: true,
    credentialSchema: knotCredential,
    link: linkKnot,
    async revoke({ credential, app, config, http }) {
      await unlinkKnot({ credential, app, config, http });
    },
  },
  capabilities: { incremental: true, items: true, refunds: false, deletions: false, revocation: true },
  descriptor: {
    endpoints: {
      sessions: '/session/create',
      merchants: '/merchant/list',
      sync: '/transactions/sync',
      unlink: '/accounts/unlink',
      developmentLink: '/development/accounts/link',
    },
    pagination: { style: 'cursor', pageSize: { default: 5, max: KNOT_PAGE_MAX } },
    rateLimit: null, // not documented (CONNECTORS.md §4.6); 429 is honoured when it comes
  },
  checkpoint: 'page',
  baseUrl: { default: null, env: 'ORDERLINK_KNOT_URL' },
  environments: { development: KNOT_HOSTS.development, production: KNOT_HOSTS.production },
  docs: 'docs/knot.md',
  rawSchema: knotTransaction,
  cursorSchema: knotCursor,
  allowList: KNOT_ALLOW_LIST,
  freeText: KNOT_FREE_TEXT,
  classify,
  async fetchOrders({ baseUrl, session, cursor: c, limit, http }) {
    if (session.type !== 'credential') throw new OrderlinkError('SESSION_KIND', 'Knot needs its linked-account credential', { hint: 'Re-link it: orderlink link --reconnect CONNECTION' });
    const cred = knotCredential.parse(session.credential) satisfies KnotCredential;
    const sent = c?.next ?? c?.resume ?? null;
    const body = syncPage.parse(
      await knotPost(http, baseUrl, '/transactions/sync', session.app, {
        merchant_id: cred.merchant_id,
        external_user_id: cred.external_user_id,
        cursor: sent,
        limit: Math.min(KNOT_PAGE_MAX, Math.max(1, limit)),
      }),
    );
    const merchant = { ...(body.merchant.id === undefined ? {} : { id: body.merchant.id }), name: body.merchant.name };
    const records = body.transactions.map((t) => (t && typeof t === 'object' && !Array.isArray(t) ? { ...(t as object), merchant } : t));
    return body.next_cursor === null
      ? { records, hasMore: false, nextCursor: { next: null, resume: sent } }
      : { records, hasMore: true, nextCursor: { next: body.next_cursor, resume: null } };
  },
  toOrder,
});
