/** Helpers connectors share for calling JSON APIs through the engine-supplied HttpFunction. */
import type { HttpFunction } from './types.js';

export class ProviderHttpError extends Error {
  override readonly name = 'ProviderHttpError';
  constructor(
    readonly status: number,
    /** The provider's own error code/message, trimmed; never includes our request (no tokens). */
    readonly providerMessage: string,
  ) {
    super(`provider answered HTTP ${status}${providerMessage ? `: ${providerMessage}` : ''}`);
  }
}

export async function getJson(http: HttpFunction, url: string, accessToken: string, _signal: AbortSignal): Promise<unknown> {
  const res = await http(url, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
  if (res.status < 200 || res.status >= 300) {
    throw new ProviderHttpError(res.status, providerMessage(await res.text()));
  }
  return res.json();
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
