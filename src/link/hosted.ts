/**
 * The `hostedLink` strategy's link flow (aggregators such as Plaid and Knot): the app's own
 * credentials come from the vault (`orderlink connector setup`), the connector creates a link
 * session, the person logs in on the provider's hosted page (printed, and opened when allowed),
 * and the long-lived credential that comes back is returned for sealing. Nothing is saved here.
 */
import type { Context } from '../context.js';
import type { Connector, HostedLinkStrategy, ProfileInfo } from '../connectors/types.js';
import type { ConnectionConfig } from '../domain.js';
import type { LinkOptions } from '../commands/link.js';
import { classifiedHttp, defaultClassifier } from '../sync/classify.js';
import { createHttp, retryPolicyFromEnv } from '../sync/http.js';
import { readAppCredentials, parseCredentialRecord, type CredentialRecord } from '../sync/session.js';

export interface HostedLinkOutcome {
  secret: CredentialRecord;
  profile: ProfileInfo;
  config: ConnectionConfig;
}

export async function linkHosted(ctx: Context, o: LinkOptions, connector: Connector, config: ConnectionConfig, existingRef: string | null): Promise<HostedLinkOutcome> {
  const auth = connector.auth as HostedLinkStrategy;
  // Local first (issue 9 #5): the app credentials must be in the vault before any page is shown.
  const app = await readAppCredentials(ctx, connector, config.environment);
  // `connector setup --base-url` names where this environment's API lives, unless the link named one.
  if (app?.baseUrl && !o.baseUrl && !ctx.env[connector.baseUrl.env]) config = { ...config, apiBase: app.baseUrl };
  let existing: unknown = null;
  if (existingRef) {
    const text = (await ctx.vault()).get(existingRef);
    if (text !== undefined) existing = parseCredentialRecord(text).credential;
  }
  const policy = retryPolicyFromEnv(ctx.env);
  const base = createHttp({ fetch: ctx.fetch, policy, signal: ctx.signal, trace: (l) => ctx.trace(l) });
  const http = classifiedHttp(base, { classify: connector.classify ?? defaultClassifier, policy, provider: connector.displayName, signal: ctx.signal, trace: (l) => ctx.trace(l) });
  const io = ctx.io;
  const result = await auth.link({
    config,
    app,
    http,
    signal: ctx.signal,
    nonInteractive: o.nonInteractive ?? false,
    existing,
    params: { ...(o.merchant ? { merchant: o.merchant } : {}), timeoutSeconds: String(o.timeoutSeconds) },
    trace: (l) => ctx.trace(l),
    servePage: async (page) => (await import('./page-server.js')).servePage({ ...page, signal: ctx.signal, trace: (l) => ctx.trace(l) }),
    present: async (url) => {
      io.err(`Open this page to log in at ${connector.displayName}${o.browser ? ' (waiting for you to finish…)' : ''}:`);
      io.err(`  ${url}`);
      if (o.browser) await ctx.openBrowser(url).catch(() => ctx.trace('could not open a browser; use the URL above'));
    },
  });
  const credential = auth.credentialSchema.parse(result.credential);
  return {
    secret: { v: 1, type: 'credential', credential, obtainedAt: ctx.now().toISOString() },
    profile: result.account,
    config: { ...config, ...(result.config ?? {}) },
  };
}
