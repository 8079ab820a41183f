/**
 * Talking to Knot's API (CONNECTORS.md §4.1/§4.2): every call is a JSON POST with HTTP Basic
 * auth (client id : secret), through the engine's HttpFunction (timeouts, retries, masked
 * traces). The classifier turns Knot's answers into verdicts: a merchant account that needs its
 * login again is `reauth` (exit 4, `link --reconnect`), 429 waits, 5xx retries, and every other
 * error is fatal with Knot's own message and what to do next.
 */
import { OrderlinkError } from '../../errors.js';
import { ProviderHttpError, providerMessage } from '../http.js';
import type { AppCredentials, Classifier, HttpFunction } from '../types.js';

export const KNOT_HOSTS = {
  development: 'https://development.knotapi.com',
  production: 'https://production.knotapi.com',
} as const;

/** Knot's web SDK on its documented CDN (docs.knotapi.com/sdk/web). */
export const KNOT_SDK_URL = 'https://unpkg.com/knotapi-js@next';

/**
 * Error codes that mean "the person must log in to the merchant again". Knot documents the
 * ACCOUNT_LOGIN_REQUIRED webhook and a `disconnected` connection status; the exact error body
 * `/transactions/sync` returns for such an account is not in the stored docs, so any of these
 * codes, or a message saying so, is read as that.
 */
const LOGIN_REQUIRED = /^(ACCOUNT_LOGIN_REQUIRED|LOGIN_REQUIRED|MERCHANT_ACCOUNT_DISCONNECTED|ACCOUNT_DISCONNECTED|DISCONNECTED)$/i;

export interface KnotError {
  type: string | null;
  code: string | null;
  message: string;
}

/** Knot's error body (`error_type` / `error_code` / `error_message`, or `message`), short and printable. */
export function knotError(body: string): KnotError {
  let code: string | null = null;
  let type: string | null = null;
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    if (typeof j.error_code === 'string') code = j.error_code.slice(0, 60);
    if (typeof j.error_type === 'string') type = j.error_type.slice(0, 60);
  } catch {
    /* not JSON */
  }
  const printable = (s: string | null) => (s ? s.replace(/[^\x20-\x7e]/g, ' ') : null);
  return { type: printable(type), code: printable(code), message: providerMessage(body) };
}

export const classify: Classifier = (res) => {
  if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
  if (res.status === 429) {
    const ra = Number(res.headers.get('retry-after'));
    return { kind: 'rate_limited', waitMs: Number.isFinite(ra) && ra >= 0 && res.headers.get('retry-after') ? ra * 1000 : null };
  }
  if (res.status >= 500) return { kind: 'retry', message: `HTTP ${res.status}` };
  const e = knotError(res.body);
  if ((e.code && LOGIN_REQUIRED.test(e.code)) || /login required|disconnected/i.test(e.message)) {
    return { kind: 'reauth', message: `the merchant account needs its login again: ${e.code ?? e.message}` };
  }
  const what = `${e.code ?? `HTTP ${res.status}`}${e.message && e.message !== e.code ? ` — ${e.message}` : ''}`;
  if (res.status === 401 || e.code === 'INVALID_API_KEYS') {
    return {
      kind: 'fatal',
      message: what,
      hint: 'Knot refused the client id and secret for this environment (development keys do not work in production, nor the reverse). Set them again: orderlink connector setup knot --env ENV',
    };
  }
  if (e.code === 'MERCHANT_ACCOUNT_NOT_FOUND' || res.status === 404) {
    // No linked merchant account any more (unlinked, or never finished linking): the grant is
    // gone, which is a reauth (exit 4, `link --reconnect`), and how `disconnect` proves it dead.
    return { kind: 'reauth', message: `Knot has no linked merchant account for this connection (${what})` };
  }
  return { kind: 'fatal', message: what, hint: 'Run again with --verbose to see each request; if it persists, Knot changed its API or the connection needs: orderlink link --reconnect CONNECTION' };
};

export function basicAuth(app: AppCredentials | null): string {
  if (!app) {
    throw new OrderlinkError('APP_CREDENTIALS_MISSING', 'Knot is not set up: its client id and secret are not in the vault', { hint: 'Run: orderlink connector setup knot --env development' });
  }
  return `Basic ${Buffer.from(`${app.clientId}:${app.secret}`, 'utf8').toString('base64')}`;
}

/** POST a JSON body to Knot and return the parsed JSON (errors already classified by `http`). */
export async function knotPost(http: HttpFunction, baseUrl: string, path: string, app: AppCredentials | null, body: unknown): Promise<unknown> {
  // Relative to the base, so a base URL with a path prefix (a proxy) keeps it.
  const res = await http(new URL(path.replace(/^\/+/, ''), `${baseUrl.replace(/\/+$/, '')}/`).toString(), {
    method: 'POST',
    headers: { authorization: basicAuth(app), 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status < 200 || res.status >= 300) {
    const e = knotError(await res.text());
    throw new ProviderHttpError(res.status, e.code ? `${e.code}${e.message && e.message !== e.code ? ` — ${e.message}` : ''}` : e.message);
  }
  return res.json();
}
