/** Helpers connectors share for calling JSON APIs through the engine-supplied HttpFunction. */
import { OrderlinkError } from '../errors.js';
import type { HttpFunction, Session } from './types.js';

/** The bearer token of an OAuth session (a connector calling this with another session is a bug). */
export function bearerToken(session: Session): string {
  if (session.type !== 'bearer') throw new OrderlinkError('SESSION_KIND', 'this connector needs an OAuth session', { hint: 'Re-link the connection.' });
  return session.accessToken;
}

/**
 * A provider answered with an error status. It is an OrderlinkError, so wherever it escapes (a
 * profile call during `link`, a page during `sync`) the user gets the status, the provider's own
 * short message and what to do — never an "internal error".
 */
export class ProviderHttpError extends OrderlinkError {
  constructor(
    readonly status: number,
    /** The provider's own error code/message, trimmed; never includes our request (no tokens). */
    readonly providerMessage: string,
  ) {
    super('PROVIDER_HTTP_ERROR', `the provider answered HTTP ${status}${providerMessage ? `: ${providerMessage}` : ''}`, {
      hint:
        status === 401 || status === 403
          ? 'The provider refused the access token: re-link the connection (orderlink link --reconnect CONNECTION).'
          : status >= 500 || status === 429
            ? 'The provider is having trouble; try again later (nothing saved so far is lost).'
            : 'Check the base URL and the connector options; run again with --verbose to see each request.',
      details: { status },
    });
  }
}

/**
 * GET a JSON document. A body that is not JSON (an HTML error page with status 200, a captive
 * portal, a truncated page) is a ProviderNotJsonError naming the host and what came instead —
 * never a bare SyntaxError. Sizes and deadlines are the HttpFunction's (src/net-limits.ts).
 */
export async function getJson(http: HttpFunction, url: string, accessToken: string, _signal: AbortSignal): Promise<unknown> {
  const res = await http(url, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
  if (res.status < 200 || res.status >= 300) {
    throw new ProviderHttpError(res.status, providerMessage(await res.text()));
  }
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ProviderNotJsonError(url, res.status, res.headers.get('content-type'), text);
  }
}

/** What a non-JSON body looks like, in words (never the body itself: it could carry escapes). */
export function describeBody(contentType: string | null, text: string): string {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase().replace(/[^a-z0-9.+/-]/g, '').slice(0, 60);
  const head = text.trimStart().slice(0, 200).toLowerCase();
  if (text.trim() === '') return 'an empty body';
  if (type === 'text/html' || head.startsWith('<!doctype html') || head.startsWith('<html')) return 'an HTML page';
  if (head.startsWith('{') || head.startsWith('[')) return `JSON that is cut off or malformed (${text.length.toLocaleString('en-US')} characters)`;
  return `${type ? `a ${type} body` : 'a body that is not JSON'} (${text.length.toLocaleString('en-US')} characters)`;
}

export class ProviderNotJsonError extends OrderlinkError {
  constructor(url: string, status: number, contentType: string | null, text: string) {
    let host = 'the provider';
    try {
      host = new URL(url).host;
    } catch {
      /* keep the generic name */
    }
    const what = describeBody(contentType, text);
    super('PROVIDER_NOT_JSON', `the provider at ${host} answered HTTP ${status} with ${what} instead of JSON`, {
      hint:
        what === 'an HTML page'
          ? 'The base URL may point at a website, a login or captive portal, or a proxy\'s error page rather than the API: check it with `orderlink connections`. If it is right, the provider is having trouble; try again later (nothing saved so far is lost).'
          : 'The provider sent something orderlink cannot read. Try again later (nothing saved so far is lost); if it persists, run with --verbose and report it to the provider.',
      details: { host, status },
    });
  }
}

/** Pull a short, printable message out of a provider's error body (OAuth, SP-API, Plaid shapes). */
export function providerMessage(body: string): string {
  let msg = body;
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    const errors = Array.isArray(j.errors) ? (j.errors[0] as Record<string, unknown> | undefined) : undefined;
    msg = String(j.error_description ?? j.error_message ?? errors?.message ?? j.message ?? j.error ?? body);
  } catch {
    /* not JSON */
  }
  return msg.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200).trim();
}
