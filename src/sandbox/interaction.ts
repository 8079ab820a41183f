/**
 * The interaction pages a person sees in a real browser: pick a sandbox account (no password), then
 * approve or deny the requested scopes. The state lives in oidc-provider's interaction session
 * (cookie-bound to this browser); every value written into a page is HTML-escaped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthServer } from './auth.js';
import type { SandboxAccount } from './data.js';
import { escapeHtml, HttpError, layout, readBody, sendHtml } from './http.js';

const SCOPE_TEXT: Record<string, string> = {
  'orders:read': 'Read your order history: retailers, dates, items, totals, refunds and status changes.',
  offline_access: 'Stay connected when you are not using it, so syncs can run on a schedule — until you revoke access.',
  profile: 'See your name and e-mail address.',
  openid: 'Confirm who you are (your account id).',
};

function loginPage(uid: string, accounts: SandboxAccount[], clientName: string, error?: string): string {
  const u = escapeHtml(encodeURIComponent(uid));
  const buttons = accounts
    .map((a) => `<button type="submit" name="account" value="${escapeHtml(a.name)}">${escapeHtml(a.displayName)}<small>${escapeHtml(a.label)}</small></button>`)
    .join('\n');
  return layout(
    'Sign in',
    `<h1>Sign in to Sandbox Shop</h1>
<p><strong>${escapeHtml(clientName)}</strong> wants to connect to your account.</p>
<p class="muted">Pick a test account. No password is needed: sandbox accounts hold generated test data only.</p>
${error ? `<p role="alert" style="color:#b91c1c">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${u}/login" class="accounts">
${buttons}
</form>
<form method="post" action="/interaction/${u}/abort"><div class="actions"><button type="submit" class="deny">Cancel</button></div></form>`,
  );
}

function consentPage(uid: string, account: SandboxAccount | undefined, clientName: string, scopes: string[], redirectUri: string): string {
  const u = escapeHtml(encodeURIComponent(uid));
  const items = scopes
    .map((s) => `<li>${escapeHtml(SCOPE_TEXT[s] ?? s)} <code>${escapeHtml(s)}</code></li>`)
    .join('\n');
  return layout(
    'Allow access',
    `<h1>Allow ${escapeHtml(clientName)} to access your orders?</h1>
<p class="muted">Signed in as ${account ? `<strong>${escapeHtml(account.displayName)}</strong> (${escapeHtml(account.label)})` : 'an unknown account'}.</p>
<p>${escapeHtml(clientName)} will be able to:</p>
<ul class="scopes">${items}</ul>
<div class="safe"><strong>We never access payment details.</strong> Card numbers, billing data and addresses are not part of this permission and are dropped by orderlink before anything is saved.</div>
<p class="muted">You will return to <code>${escapeHtml(redirectUri)}</code>. You can revoke access at any time.</p>
<form method="post" action="/interaction/${u}/confirm" id="approve"></form>
<form method="post" action="/interaction/${u}/abort" id="deny"></form>
<div class="actions"><button type="submit" form="deny" class="deny">Deny</button><button type="submit" form="approve" class="approve" autofocus>Approve</button></div>`,
  );
}

function expiredPage(): string {
  return layout(
    'Link expired',
    `<h1>This sign-in has expired</h1><p>The sign-in link was already used, has expired, or was opened in another browser.</p>
<p class="muted">Go back to the terminal and start linking again.</p>`,
  );
}

const ROUTE = /^\/interaction\/([\w-]{1,64})(?:\/(login|confirm|abort))?$/;

export async function handleInteraction(req: IncomingMessage, res: ServerResponse, pathname: string, auth: AuthServer, accounts: SandboxAccount[]): Promise<void> {
  const m = ROUTE.exec(pathname);
  if (!m) return sendHtml(res, 404, layout('Not found', '<h1>Not found</h1>'));
  const [, uid, action] = m;
  const { provider } = auth;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return sendHtml(res, 400, expiredPage());
  }
  if (details.uid !== uid) return sendHtml(res, 400, expiredPage());
  const params = details.params as { client_id?: unknown; scope?: unknown; redirect_uri?: unknown };
  const client = await provider.Client.find(String(params.client_id));
  const clientName = client?.clientName ?? String(params.client_id);

  if (!action) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendHtml(res, 405, layout('Not allowed', '<h1>Method not allowed</h1>'));
    if (details.prompt.name === 'login') return sendHtml(res, 200, loginPage(uid!, accounts, clientName));
    const account = accounts.find((a) => a.accountId === details.session?.accountId);
    const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
    return sendHtml(res, 200, consentPage(uid!, account, clientName, scopes, String(params.redirect_uri ?? '')));
  }
  if (req.method !== 'POST') return sendHtml(res, 405, layout('Not allowed', '<h1>Method not allowed</h1>'));
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(await readBody(req, 4096));
  } catch (err) {
    return sendHtml(res, err instanceof HttpError ? err.status : 400, layout('Bad request', '<h1>Bad request</h1>'));
  }

  if (action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user denied the request.' }, { mergeWithLastSubmission: false });
  }
  if (action === 'login') {
    if (details.prompt.name !== 'login') return sendHtml(res, 400, expiredPage());
    const account = auth.findAccount(form.get('account'));
    if (!account) return sendHtml(res, 400, loginPage(uid!, accounts, clientName, 'Pick one of the sandbox accounts below.'));
    return provider.interactionFinished(req, res, { login: { accountId: account.accountId } }, { mergeWithLastSubmission: false });
  }
  // confirm
  if (details.prompt.name !== 'consent' || !details.session?.accountId) return sendHtml(res, 400, expiredPage());
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: String(params.client_id) });
  if (!grant) return sendHtml(res, 400, expiredPage());
  const d = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
  if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
