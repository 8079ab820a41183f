/**
 * Linking a merchant account through Knot (CONNECTORS.md §4.1/§4.2, docs/knot.md):
 *
 * 1. the merchant named by `--merchant` is looked up with `/merchant/list` (type
 *    transaction_link) — ids differ between Knot's own pages, so none is hard-coded;
 * 2. interactive: `/session/create` (type transaction_link, a fresh external_user_id, or the
 *    connection's own on `--reconnect`), then the loopback listener serves a page that runs
 *    Knot's web SDK for that session and merchant; the SDK's success event is posted back to the
 *    listener (src/link/page-server.ts) — error and exit are reported too;
 *    non-interactive (`--sandbox`, development only): `/development/accounts/link`, which links
 *    the account with the generated test transactions the `user_good_transactions` login gets;
 * 3. the link is checked with one `/transactions/sync` call before anything is saved, so a forged
 *    "success" posted to the listener links nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { OrderlinkError, usageError } from '../../errors.js';
import type { HostedLinkArgs, HostedLinkResult } from '../types.js';
import { KNOT_HOSTS, KNOT_SDK_URL, knotPost } from './api.js';
import { knotPage } from './page.js';

export const knotCredential = z.object({
  external_user_id: z.string().min(1).max(200),
  merchant_id: z.number().int().nonnegative(),
  merchant_name: z.string().min(1).max(200),
});
export type KnotCredential = z.infer<typeof knotCredential>;

const merchantSchema = z.object({ id: z.number().int(), name: z.string().min(1).max(200) }).passthrough();
const merchantList = z.union([z.array(merchantSchema), z.object({ merchants: z.array(merchantSchema) }).passthrough()]);
const sessionSchema = z.object({ session: z.string().min(1).max(200) }).passthrough();

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
const printable = (s: string, n = 80) => s.replace(/[^\x20-\x7e]/g, ' ').slice(0, n);

export async function resolveMerchant(args: Pick<HostedLinkArgs, 'http' | 'app'>, baseUrl: string, wanted: string): Promise<{ id: number; name: string }> {
  const numeric = /^\d{1,9}$/.test(wanted);
  const body = await knotPost(args.http, baseUrl, '/merchant/list', args.app, { type: 'transaction_link', platform: 'web', ...(numeric ? {} : { search: wanted }) });
  const parsed = merchantList.safeParse(body);
  if (!parsed.success) throw new OrderlinkError('PROVIDER_BAD_PAGE', 'Knot answered /merchant/list with something orderlink cannot read', { hint: 'Run again with --verbose; if it persists, Knot changed its API.' });
  const list = Array.isArray(parsed.data) ? parsed.data : parsed.data.merchants;
  const hit = numeric ? list.find((m) => m.id === Number(wanted)) : list.find((m) => norm(m.name) === norm(wanted));
  if (!hit) {
    const near = list.slice(0, 5).map((m) => `${printable(m.name, 40)} (${m.id})`).join(', ');
    throw usageError('UNKNOWN_MERCHANT', `Knot has no TransactionLink merchant called "${printable(wanted, 40)}"`, near ? `Knot suggested: ${near}. Pass the exact name or its id, e.g. --merchant ${list[0]!.id}.` : 'Check the spelling (e.g. amazon, walmart, target, macys), or pass the merchant id.');
  }
  return { id: hit.id, name: printable(hit.name, 200) };
}

/** Where the web SDK is loaded from: Knot's CDN, or the replica's stand-in when the API is a local replica. */
export function sdkUrlFor(baseUrl: string, configured: string | undefined): string {
  if (configured) return configured;
  const u = new URL(baseUrl);
  return u.protocol === 'http:' && u.hostname === '127.0.0.1' ? `${baseUrl.replace(/\/+$/, '')}/sdk/knotapi.js` : KNOT_SDK_URL;
}

export async function linkKnot(args: HostedLinkArgs): Promise<HostedLinkResult<KnotCredential>> {
  const baseUrl = args.config.apiBase ?? KNOT_HOSTS.development;
  const environment = args.config.environment ?? 'development';
  const existing = args.existing === null ? null : knotCredential.parse(args.existing);
  const wanted = args.params.merchant ?? existing?.merchant_name ?? args.config.merchant;
  if (!wanted) throw usageError('MERCHANT_REQUIRED', 'Knot links one merchant account at a time: which one?', 'Pass --merchant, e.g. orderlink link knot --merchant walmart');
  if (args.nonInteractive && environment !== 'development') {
    throw usageError('SANDBOX_UNAVAILABLE', `--sandbox uses Knot's development-only test link, which does not exist in ${environment}`, 'Use --env development with development keys, or link without --sandbox.');
  }
  const merchant = existing && !args.params.merchant ? { id: existing.merchant_id, name: existing.merchant_name } : await resolveMerchant(args, baseUrl, wanted);
  if (existing && existing.merchant_id !== merchant.id) {
    throw usageError('MERCHANT_MISMATCH', `this connection is ${existing.merchant_name}, not ${merchant.name}`, `Reconnect without --merchant, or link ${merchant.name} as a new connection: orderlink link knot --merchant ${wanted} --alias NAME`);
  }
  // Our identifier for the person at Knot: random (no e-mail or name leaves this machine), kept on reconnect.
  const external_user_id = existing?.external_user_id ?? `orderlink-${randomUUID()}`;
  const sdkUrl = sdkUrlFor(baseUrl, args.config.sdkUrl);

  if (args.nonInteractive) {
    args.trace(`knot: development link for merchant ${merchant.id}`);
    await knotPost(args.http, baseUrl, '/development/accounts/link', args.app, { external_user_id, merchant_id: merchant.id, transactions: { new: true, updated: false } });
  } else {
    if (!args.servePage) throw new OrderlinkError('LINK_PAGE_UNAVAILABLE', 'this build cannot serve the Knot login page', { hint: 'Use --sandbox in development, or update orderlink.' });
    const session = sessionSchema.parse(await knotPost(args.http, baseUrl, '/session/create', args.app, { type: 'transaction_link', external_user_id }));
    const timeoutMs = Math.max(1, Number(args.params.timeoutSeconds ?? 300)) * 1000;
    const html = knotPage({ sdkUrl, sessionId: session.session, clientId: args.app!.clientId, environment, merchantId: merchant.id, merchantName: merchant.name });
    const served = await args.servePage({ html, timeoutMs });
    await args.present(served.url);
    const r = await served.result;
    if (r.event === 'exit') throw new OrderlinkError('LINK_CANCELLED', `the Knot window was closed before ${merchant.name} was linked`, { hint: `Nothing was saved. Run the same command again to retry.` });
    if (r.event !== 'success') {
      const code = printable(r.error_code ?? 'UNKNOWN', 60);
      throw new OrderlinkError('LINK_FAILED', `Knot could not link ${merchant.name} (${code})`, { hint: 'Nothing was saved. Check the login at the merchant and try again; --verbose shows each request.' });
    }
  }
  // The proof: Knot itself must now know this merchant account (a forged success links nothing).
  try {
    await knotPost(args.http, baseUrl, '/transactions/sync', args.app, { merchant_id: merchant.id, external_user_id, cursor: null, limit: 1 });
  } catch (err) {
    // On a new link there is no connection to re-link: "no such account" means the link did not happen.
    if (err instanceof OrderlinkError && err.kind === 'reauth') {
      throw new OrderlinkError('LINK_FAILED', `Knot does not know a linked ${merchant.name} account for this session (${err.message}); nothing was saved`, { hint: 'Log in to the merchant again in the Knot window and finish the steps there.' });
    }
    throw err;
  }
  return {
    credential: { external_user_id, merchant_id: merchant.id, merchant_name: merchant.name },
    account: { accountId: `knot:${merchant.id}:${external_user_id}`, label: `${merchant.name} (Knot)` },
    config: { merchant: merchant.name, merchantId: String(merchant.id), sdkUrl },
  };
}

export async function unlinkKnot(a: { credential: KnotCredential; app: HostedLinkArgs['app']; config: HostedLinkArgs['config']; http: HostedLinkArgs['http'] }): Promise<void> {
  await knotPost(a.http, a.config.apiBase ?? KNOT_HOSTS.development, '/accounts/unlink', a.app, { external_user_id: a.credential.external_user_id, merchant_id: a.credential.merchant_id });
}
