/**
 * Linking a Plaid Item from a terminal (plaid-openapi 2020-09-14, docs "Hosted Link" and
 * "Update mode"):
 *
 * - interactive: `/link/token/create` with `hosted_link: {}` → open `hosted_link_url` (always
 *   printed) → poll `/link/token/get` until the Link session finishes → exchange the public token
 *   from `results.item_add_results[]` (`/item/public_token/exchange`) → access_token + item_id;
 * - repair (`link --reconnect`): the same with `access_token` instead of `products` (update
 *   mode). The Item and its access token stay the same; nothing is exchanged;
 * - `--sandbox` (Sandbox only): `/sandbox/public_token/create` for `user_good` / `pass_good` at
 *   First Platypus Bank (`ins_109508`), then the same exchange.
 *
 * Nothing here prints or traces a token: traces name endpoints and states only.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { OrderlinkError } from '../../errors.js';
import { abortableSleep } from '../../sleep.js';
import type { AppCredentials, HostedLinkArgs, HostedLinkResult, HttpFunction } from '../types.js';
import { plaidPost, requireApp } from './api.js';

export const plaidCredential = z.object({ access_token: z.string().min(1).max(512), item_id: z.string().min(1).max(256) });
export type PlaidCredential = z.infer<typeof plaidCredential>;

export const SANDBOX_INSTITUTION = 'ins_109508';
const POLL_MS = 1000;

const linkTokenCreated = z.object({ link_token: z.string().min(1), expiration: z.string().optional(), hosted_link_url: z.string().nullable().optional() });
const plaidErr = z.object({ error_code: z.string().optional(), display_message: z.string().nullable().optional(), error_message: z.string().nullable().optional() }).nullable().optional();
const linkSession = z.object({
  link_session_id: z.string(),
  finished_at: z.string().nullable().optional(),
  results: z.object({ item_add_results: z.array(z.object({ public_token: z.string(), institution: z.object({ name: z.string().nullable().optional() }).nullable().optional() })).nullable().optional() }).nullable().optional(),
  exit: z.object({ error: plaidErr, metadata: z.object({ status: z.string().nullable().optional() }).nullable().optional() }).nullable().optional(),
});
const linkTokenGot = z.object({ link_token: z.string().optional(), expiration: z.string().nullable().optional(), link_sessions: z.array(linkSession).nullable().optional() });
const exchanged = z.object({ access_token: z.string().min(1), item_id: z.string().min(1) });
const publicToken = z.object({ public_token: z.string().min(1) });
export const itemGot = z.object({ item: z.object({ item_id: z.string().min(1), institution_id: z.string().nullable().optional(), institution_name: z.string().nullable().optional() }) });

function baseUrlOf(args: { config: { apiBase?: string } }): string {
  const b = args.config.apiBase;
  if (!b) throw new OrderlinkError('NO_BASE_URL', 'no Plaid API base URL', { kind: 'usage', hint: 'Link with --env sandbox|production, or set up a replica with `orderlink connector setup plaid --base-url URL`.' });
  return b;
}

export async function describeItem(http: HttpFunction, baseUrl: string, app: AppCredentials, cred: PlaidCredential): Promise<{ accountId: string; label: string }> {
  const { item } = await plaidPost(http, baseUrl, '/item/get', app, { access_token: cred.access_token }, itemGot);
  const bank = item.institution_name ?? (item.institution_id ? `institution ${item.institution_id}` : 'a bank');
  return { accountId: item.item_id, label: `${bank} (Plaid item …${item.item_id.slice(-6)})` };
}

export async function linkPlaid(args: HostedLinkArgs): Promise<HostedLinkResult<PlaidCredential>> {
  const app = requireApp(args.app);
  const baseUrl = baseUrlOf(args);
  const existing = args.existing === null ? null : plaidCredential.parse(args.existing);
  let cred: PlaidCredential;
  let userId = args.config.plaidUserId;
  if (args.nonInteractive) {
    if (args.config.environment !== 'sandbox') {
      throw new OrderlinkError('SANDBOX_ONLY', `--sandbox links Plaid's test user, which exists only in the sandbox environment (this connection is ${args.config.environment ?? 'unknown'})`, {
        kind: 'usage',
        hint: 'Use --env sandbox, or link without --sandbox to log in through Plaid Link.',
      });
    }
    if (existing) {
      throw new OrderlinkError('SANDBOX_NO_UPDATE_MODE', 'Plaid repairs an Item only through Link (update mode); --sandbox cannot do it', {
        kind: 'usage',
        hint: 'Run the same command without --sandbox (add --no-browser to print the URL) and log in again as user_good / pass_good.',
      });
    }
    args.trace('plaid: /sandbox/public_token/create (user_good at First Platypus Bank, ins_109508)');
    const pt = await plaidPost(args.http, baseUrl, '/sandbox/public_token/create', app, {
      institution_id: SANDBOX_INSTITUTION,
      initial_products: ['transactions'],
      options: { override_username: 'user_good', override_password: 'pass_good' },
    }, publicToken);
    cred = await exchange(args.http, baseUrl, app, pt.public_token);
  } else {
    userId ??= `orderlink-${randomUUID()}`;
    const created = await plaidPost(args.http, baseUrl, '/link/token/create', app, {
      client_name: 'orderlink',
      language: 'en',
      country_codes: ['US'],
      user: { client_user_id: userId },
      hosted_link: {},
      ...(existing ? { access_token: existing.access_token } : { products: ['transactions'] }),
    }, linkTokenCreated).catch((err: unknown) => {
      // Update mode needs a live Item: one removed at Plaid (or at my.plaid.com) cannot be repaired.
      if (existing && err instanceof OrderlinkError && /ITEM_NOT_FOUND|INVALID_ACCESS_TOKEN/.test(err.message)) {
        throw new OrderlinkError('PLAID_ITEM_GONE', 'this Plaid Item no longer exists at Plaid, so it cannot be repaired', {
          kind: 'usage',
          hint: 'Disconnect it (its charges are kept) and link the account again: orderlink disconnect CONNECTION --yes && orderlink link plaid --alias NEW',
        });
      }
      throw err;
    });
    if (!created.hosted_link_url) {
      throw new OrderlinkError('PLAID_NO_HOSTED_LINK', 'Plaid did not return a Hosted Link URL for this client', {
        hint: 'Hosted Link must be enabled for your Plaid client (ask your Plaid account manager); in the sandbox, `orderlink link plaid --sandbox` needs no browser.',
      });
    }
    checkLinkUrl(created.hosted_link_url);
    await args.present(created.hosted_link_url);
    const publicTok = await waitForSession(args, baseUrl, app, created.link_token, existing !== null);
    if (existing) cred = existing;
    else cred = await exchange(args.http, baseUrl, app, publicTok!);
  }
  const account = await describeItem(args.http, baseUrl, app, cred);
  if (account.accountId !== cred.item_id) throw new OrderlinkError('PLAID_ITEM_MISMATCH', 'Plaid described a different Item than the one just linked', { hint: 'Try linking again.' });
  return { credential: cred, account, config: { ...(userId ? { plaidUserId: userId } : {}) } };
}

async function exchange(http: HttpFunction, baseUrl: string, app: AppCredentials, token: string): Promise<PlaidCredential> {
  const r = await plaidPost(http, baseUrl, '/item/public_token/exchange', app, { public_token: token }, exchanged);
  return { access_token: r.access_token, item_id: r.item_id };
}

/** Only https pages (or a replica on loopback) are handed to a browser (SECURITY.md rule 7). */
function checkLinkUrl(raw: string): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new OrderlinkError('PLAID_BAD_LINK_URL', 'Plaid returned a Hosted Link URL that is not a URL', { hint: 'Check the base URL points at the Plaid API.' });
  }
  const loopback = u.hostname === '127.0.0.1' || u.hostname === '[::1]';
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw new OrderlinkError('PLAID_BAD_LINK_URL', `refusing to open a ${u.protocol} Hosted Link page (only https, or http on 127.0.0.1 for a replica)`, { hint: 'Check the base URL points at the Plaid API.' });
  }
}

/** Poll `/link/token/get` until the person finishes (or leaves) the Link session. Returns the public token (new Items). */
async function waitForSession(args: HostedLinkArgs, baseUrl: string, app: AppCredentials, linkToken: string, updateMode: boolean): Promise<string | null> {
  const timeoutMs = Math.max(1, Number(args.params.timeoutSeconds ?? '300')) * 1000;
  const deadline = Date.now() + timeoutMs;
  args.trace(`plaid: waiting for the Link session (polling /link/token/get every ${POLL_MS} ms, up to ${timeoutMs / 1000} s)`);
  for (;;) {
    const got = await plaidPost(args.http, baseUrl, '/link/token/get', app, { link_token: linkToken }, linkTokenGot);
    for (const s of got.link_sessions ?? []) {
      const added = s.results?.item_add_results?.[0];
      if (added && !updateMode) return added.public_token;
      if (!s.finished_at) continue;
      const err = s.exit?.error;
      if (err?.error_code || s.exit) {
        const why = err?.display_message ?? err?.error_message ?? err?.error_code ?? s.exit?.metadata?.status ?? 'closed';
        throw new OrderlinkError('PLAID_LINK_EXITED', `the Plaid Link session ended without linking (${String(why).replace(/[^\x20-\x7e]/g, ' ').slice(0, 120)})`, {
          hint: 'Nothing was saved. Run the link command again and finish the login in the page it shows.',
        });
      }
      if (updateMode) return null;
    }
    if (Date.now() >= deadline) {
      throw new OrderlinkError('LINK_TIMEOUT', `no finished Plaid Link session after ${Math.round(timeoutMs / 1000)} s`, {
        hint: 'Nothing was saved. Run the link command again (--timeout SECONDS gives you longer).',
      });
    }
    await sleep(POLL_MS, args.signal);
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => abortableSleep(ms, signal);
