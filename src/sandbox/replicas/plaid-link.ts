/**
 * The replica's Hosted Link page: what `hosted_link_url` opens. It plays Plaid Link for the one
 * non-OAuth sandbox institution orderlink uses (First Platypus Bank, ins_109508) with Plaid's
 * documented test login (user_good / pass_good). Submitting it finishes the Link session that
 * `/link/token/get` reports: a new Item's public token, or (update mode) the Item repaired.
 * Nothing from the request is echoed into the page; a per-session form token guards the POST.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, layout, readBody, sendHtml } from '../http.js';

export interface LinkSessionState {
  id: string;
  linkToken: string;
  formToken: string;
  updateMode: boolean;
  startedAt: string | null;
  finishedAt: string | null;
  publicToken: string | null;
  exitStatus: string | null;
}

export interface LinkPageDeps {
  /** Called with the login; returns null on success or a message to show. */
  complete(session: LinkSessionState, username: string, password: string): string | null;
  now(): string;
}

function page(s: LinkSessionState, error: string | null): string {
  const title = s.updateMode ? 'Reconnect First Platypus Bank' : 'Connect First Platypus Bank';
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>orderlink uses Plaid to read your transactions. Sandbox login: <code>user_good</code> / <code>pass_good</code>.</p>
${error ? `<p class="safe" style="background:#fef2f2;color:#991b1b">${escapeHtml(error)}</p>` : ''}
<form method="post">
<input type="hidden" name="form_token" value="${escapeHtml(s.formToken)}">
<p><label>Username<br><input name="username" autocomplete="off" value="user_good"></label></p>
<p><label>Password<br><input name="password" type="password" value="pass_good"></label></p>
<div class="actions"><button class="approve" name="action" value="submit">Submit</button><button class="deny" name="action" value="exit">Exit</button></div>
</form>`,
  );
}

export async function handleLinkPage(req: IncomingMessage, res: ServerResponse, s: LinkSessionState | undefined, deps: LinkPageDeps): Promise<void> {
  if (!s) return sendHtml(res, 404, layout('Link session not found', '<h1>This Link session does not exist or has expired</h1><p>Start again from your app.</p>'));
  if (s.finishedAt) return sendHtml(res, 200, layout('Done', '<h1>All done</h1><p>You can close this page and return to your terminal.</p>'));
  if (req.method === 'GET') {
    s.startedAt ??= deps.now();
    return sendHtml(res, 200, page(s, null));
  }
  if (req.method !== 'POST') return sendHtml(res, 405, layout('Not allowed', '<h1>Method not allowed</h1>'));
  const form = new URLSearchParams(await readBody(req));
  if (form.get('form_token') !== s.formToken) return sendHtml(res, 400, layout('Expired form', '<h1>This form has expired</h1><p>Reload the page and try again.</p>'));
  s.startedAt ??= deps.now();
  if (form.get('action') === 'exit') {
    s.finishedAt = deps.now();
    s.exitStatus = 'requires_credentials';
    return sendHtml(res, 200, layout('Exited', '<h1>You left Plaid Link</h1><p>Nothing was connected.</p>'));
  }
  const problem = deps.complete(s, form.get('username') ?? '', form.get('password') ?? '');
  if (problem) return sendHtml(res, 200, page(s, problem));
  return sendHtml(res, 200, layout('Connected', '<h1>Success</h1><p>Your account is connected. Return to your terminal.</p>'));
}
