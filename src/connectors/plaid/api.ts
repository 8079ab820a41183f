/**
 * Talking to Plaid (plaid-openapi 2020-09-14): every endpoint is a POST with a JSON body that
 * carries `client_id` and `secret`, plus the `Plaid-Version` header. Errors come back as
 * `{error_type, error_code, error_message, display_message, request_id}`; Plaid says to use
 * these in preference to HTTP status codes, so the classifier reads the body, not the status.
 */
import { z } from 'zod';
import { OrderlinkError } from '../../errors.js';
import type { AppCredentials, Classifier, HttpFunction, Verdict } from '../types.js';

export const PLAID_VERSION = '2020-09-14';

export const plaidError = z.object({
  error_type: z.string(),
  error_code: z.string(),
  error_message: z.string().nullable().optional(),
  display_message: z.string().nullable().optional(),
  request_id: z.string().nullable().optional(),
});
export type PlaidError = z.infer<typeof plaidError>;

export function parsePlaidError(body: string): PlaidError | null {
  try {
    const r = plaidError.safeParse(JSON.parse(body));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** Short, printable, never longer than a line: Plaid's own words for a person. */
function say(e: PlaidError): string {
  const text = (e.display_message ?? e.error_message ?? '').replace(/[^\x20-\x7e]/g, ' ').trim().slice(0, 200);
  return text ? `${e.error_code}: ${text}` : e.error_code;
}

/** Codes that mean the credential itself is dead: nothing but a new link helps. */
const DEAD_CREDENTIAL = new Set(['ITEM_NOT_FOUND', 'INVALID_ACCESS_TOKEN', 'ACCESS_NOT_GRANTED']);
/** The person must log in again at the bank (Link update mode). */
const LOGIN = new Set(['ITEM_LOGIN_REQUIRED', 'PENDING_EXPIRATION', 'PENDING_DISCONNECT', 'USER_PERMISSION_REVOKED']);
/** Plaid's own transient failures (some arrive as HTTP 400 from the institution). */
const TRANSIENT = new Set(['INTERNAL_SERVER_ERROR', 'PLANNED_MAINTENANCE', 'INSTITUTION_DOWN', 'INSTITUTION_NOT_RESPONDING', 'INSTITUTION_NOT_AVAILABLE', 'PRODUCT_NOT_READY']);

export const classify: Classifier = (res): Verdict => {
  if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
  const e = parsePlaidError(res.body);
  if (!e) {
    if (res.status === 429) return { kind: 'rate_limited', waitMs: null };
    if (res.status >= 500) return { kind: 'retry', message: `HTTP ${res.status}` };
    return { kind: 'fatal', message: `HTTP ${res.status} without a Plaid error body`, hint: 'Check the base URL: it does not look like the Plaid API.' };
  }
  if (e.error_code === 'TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION') return { kind: 'restart', message: e.error_code };
  if (e.error_type === 'RATE_LIMIT_EXCEEDED' || res.status === 429) return { kind: 'rate_limited', waitMs: null };
  if (LOGIN.has(e.error_code) || DEAD_CREDENTIAL.has(e.error_code)) return { kind: 'reauth', message: say(e) };
  if (TRANSIENT.has(e.error_code) || e.error_type === 'API_ERROR' || res.status >= 500) return { kind: 'retry', message: e.error_code };
  if (e.error_code === 'INVALID_API_KEYS' || e.error_code === 'UNAUTHORIZED_ENVIRONMENT' || e.error_code === 'INVALID_SECRET' || e.error_code === 'INVALID_CLIENT_ID') {
    return { kind: 'fatal', message: say(e), hint: 'The client id or secret was refused: store the right ones with `orderlink connector setup plaid --env ENV`.' };
  }
  return { kind: 'fatal', message: say(e), hint: `Plaid refused the request (${e.error_type}). Run again with --verbose to see each request.` };
};

export function requireApp(app: AppCredentials | null): AppCredentials {
  if (!app) {
    throw new OrderlinkError('APP_CREDENTIALS_MISSING', 'Plaid needs your client id and secret', { hint: 'Run: orderlink connector setup plaid --env sandbox' });
  }
  return app;
}

/**
 * POST a Plaid endpoint. The classifier (through `http`) has already turned every error body
 * into a typed error; anything still not 2xx here is reported with Plaid's code, never our body.
 */
export async function plaidPost<T>(http: HttpFunction, baseUrl: string, path: string, app: AppCredentials, body: Record<string, unknown>, schema: z.ZodType<T>): Promise<T> {
  const res = await http(new URL(path, `${baseUrl.replace(/\/+$/, '')}/`).toString(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'plaid-version': PLAID_VERSION },
    body: JSON.stringify({ client_id: app.clientId, secret: app.secret, ...body }),
  });
  if (res.status < 200 || res.status >= 300) {
    const e = parsePlaidError(await res.text());
    throw new OrderlinkError('PLAID_ERROR', `Plaid ${path} answered HTTP ${res.status}${e ? ` (${say(e)})` : ''}`, { hint: 'Run again with --verbose to see each request.' });
  }
  const parsed = schema.safeParse(await res.json());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OrderlinkError('PLAID_BAD_RESPONSE', `Plaid ${path} sent a response orderlink cannot read (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`, {
      hint: 'Check the base URL points at the Plaid API; if it does, Plaid changed its API: please report it.',
    });
  }
  return parsed.data;
}
