/**
 * Plaid: card and bank transactions, written as charges (never orders). Links through Hosted Link
 * (or Sandbox's `/sandbox/public_token/create`), syncs with `/transactions/sync` as one stream per
 * update (restarted from its first cursor on TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION), and
 * disconnects with `/item/remove`. Facts: ../shared/CONNECTORS.md §3; user docs: docs/plaid.md.
 */
import { z } from 'zod';
import { OrderlinkError } from '../../errors.js';
import { defineConnector, type CredentialSession, type NormalizedOrder, type Session, type Tombstone } from '../types.js';
import { classify, plaidPost, requireApp } from './api.js';
import { describeItem, linkPlaid, plaidCredential, type PlaidCredential } from './link.js';
import { ALLOW_LIST, FREE_TEXT, pageRecords, plaidRecord, toCharge, type PlaidRecord } from './records.js';

export { toCharge } from './records.js';

/** `count` bounds of /transactions/sync (default 100, max 500). */
const MAX_COUNT = 500;

const syncResponse = z.object({
  added: z.array(z.unknown()),
  modified: z.array(z.unknown()),
  removed: z.array(z.unknown()),
  next_cursor: z.string().max(2048),
  has_more: z.boolean(),
  transactions_update_status: z.string().optional(),
});

/** The stored checkpoint: Plaid's opaque cursor (≤ 256 base64 characters documented). */
const cursorSchema = z.string().min(1).max(2048);

function credentialOf(session: Session): CredentialSession<PlaidCredential> {
  if (session.type !== 'credential') throw new OrderlinkError('SESSION_KIND', 'Plaid needs a linked Item, not an OAuth token', { hint: 'Re-link: orderlink link plaid' });
  return { ...session, credential: plaidCredential.parse(session.credential) };
}

export const plaid = defineConnector<PlaidRecord, string>({
  id: 'plaid',
  displayName: 'Plaid',
  kind: 'aggregator',
  retailers: ['*'],
  records: 'charges',
  auth: {
    type: 'hostedLink',
    description: 'Log in to your bank or card issuer on Plaid\'s hosted Link page; orderlink keeps the Item\'s access token in the vault.',
    needsAppCredentials: true,
    credentialSchema: plaidCredential,
    link: linkPlaid,
    async revoke({ credential, app, config, http }) {
      const base = config.apiBase;
      if (!base) throw new OrderlinkError('NO_BASE_URL', 'no Plaid API base URL for this connection', { hint: 'The local secret is deleted anyway.' });
      await plaidPost(http, base, '/item/remove', requireApp(app), { access_token: credential.access_token }, z.object({ request_id: z.string().optional() }));
    },
  },
  capabilities: { incremental: true, items: false, refunds: true, deletions: true, revocation: true },
  descriptor: {
    endpoints: {
      linkTokenCreate: '/link/token/create',
      linkTokenGet: '/link/token/get',
      exchange: '/item/public_token/exchange',
      sandboxPublicToken: '/sandbox/public_token/create',
      sync: '/transactions/sync',
      item: '/item/get',
      remove: '/item/remove',
    },
    pagination: { style: 'cursor', pageSize: { default: 100, max: MAX_COUNT } },
    rateLimit: null,
  },
  checkpoint: 'stream',
  baseUrl: { default: null, env: 'ORDERLINK_PLAID_URL' },
  // Plaid's spec lists only these two servers; the Development environment was retired.
  environments: { sandbox: 'https://sandbox.plaid.com', production: 'https://production.plaid.com' },
  docs: 'docs/plaid.md',
  rawSchema: plaidRecord,
  cursorSchema,
  allowList: ALLOW_LIST,
  freeText: FREE_TEXT,
  classify,
  async fetchOrders({ baseUrl, session, cursor, limit, http }) {
    const s = credentialOf(session);
    const body = await plaidPost(http, baseUrl, '/transactions/sync', requireApp(s.app), {
      access_token: s.credential.access_token,
      ...(cursor ? { cursor } : {}),
      count: Math.min(Math.max(1, limit), MAX_COUNT),
    }, syncResponse);
    const records = pageRecords(body);
    // "" means the Item's transactions are not ready yet; so does NOT_READY with nothing in it.
    if (body.next_cursor === '' || (body.transactions_update_status === 'NOT_READY' && records.length === 0 && !body.has_more)) {
      return { records: [], nextCursor: cursor, hasMore: false, notReady: true };
    }
    return { records, nextCursor: body.next_cursor, hasMore: body.has_more };
  },
  toOrder(): NormalizedOrder | Tombstone {
    throw new OrderlinkError('CHARGES_NOT_ORDERS', 'Plaid transactions are charges, not orders', { hint: 'See them with: orderlink charges' });
  },
  toCharge,
  async fetchProfile({ baseUrl, session, http }) {
    const s = credentialOf(session);
    return describeItem(http, baseUrl, requireApp(s.app), s.credential);
  },
});
