/**
 * Response classification: the connector decides what a provider's answer means (STYLE.md: the
 * provider knows its own errors — Plaid's ITEM_LOGIN_REQUIRED is an HTTP 400, not a 401), and
 * this layer acts on the verdict. It wraps the transport (sync/http.ts: timeouts, size limits,
 * retries of network errors, 5xx and 429, refresh on 401 for OAuth) and sees every other non-2xx
 * response before the connector does.
 */
import { providerMessage } from '../connectors/http.js';
import type { Classifier, HttpFunction, ProviderResponse, Verdict } from '../connectors/types.js';
import { OrderlinkError } from '../errors.js';
import { backoffDelay, type RetryPolicy } from './http.js';
import { abortableSleep } from '../sleep.js';

/** The status-code default, for connectors that declare no classifier. */
export const defaultClassifier: Classifier = (res: ProviderResponse): Verdict => {
  if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
  if (res.status === 401) return { kind: 'unauthorized' };
  if (res.status === 429) return { kind: 'rate_limited', waitMs: null };
  if (res.status >= 500) return { kind: 'retry', message: `HTTP ${res.status}` };
  // Other 4xx (and 3xx, since redirects are not followed) go back to the connector, which
  // reports them with the provider's own message (ProviderHttpError).
  return { kind: 'ok' };
};

/** Thrown on a `restart` verdict: the engine restarts the stream from its first cursor. */
export class StreamRestart extends OrderlinkError {
  constructor(message: string) {
    super('STREAM_RESTART', `the provider asked to restart the update (${message})`, { hint: 'Run sync again.' });
  }
}

export interface ClassifiedDeps {
  classify: Classifier;
  policy: RetryPolicy;
  provider: string;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  trace: (line: string) => void;
}

const MAX_BODY_FOR_CLASSIFY = 64 * 1024;

export function classifiedHttp(inner: HttpFunction, d: ClassifiedDeps): HttpFunction {
  return async (url, init) => {
    for (let attempt = 0; ; attempt++) {
      const res = await inner(url, init);
      if (res.status >= 200 && res.status < 300) return res;
      const body = (await res.text()).slice(0, MAX_BODY_FOR_CLASSIFY);
      const verdict = d.classify({ status: res.status, headers: res.headers, body });
      const replay = { status: res.status, headers: res.headers, text: async () => body, json: async () => JSON.parse(body) as unknown };
      switch (verdict.kind) {
        case 'ok':
        case 'unauthorized':
          // unauthorized reaching here means the transport could not refresh (no OAuth session):
          // the connector reports it with the provider's own message.
          return replay;
        case 'reauth':
          throw new OrderlinkError('REAUTH_REQUIRED', `${d.provider} needs you to log in again (${verdict.message})`, {
            kind: 'reauth',
            hint: 'Re-link it, keeping its data: orderlink link --reconnect CONNECTION',
          });
        case 'restart':
          throw new StreamRestart(verdict.message);
        case 'fatal':
          throw new OrderlinkError('PROVIDER_REJECTED', `${d.provider} refused the request: ${verdict.message}`, {
            hint: verdict.hint ?? 'Run again with --verbose to see each request; if it persists, the provider changed its API.',
            details: { status: res.status },
          });
        case 'rate_limited':
        case 'retry': {
          if (attempt + 1 >= d.policy.maxAttempts) {
            const why = verdict.kind === 'retry' ? verdict.message : 'rate limited';
            throw new OrderlinkError(verdict.kind === 'retry' ? 'PROVIDER_ERROR' : 'RATE_LIMITED', `${d.provider} kept failing (${why}); gave up after ${d.policy.maxAttempts} attempts`, {
              hint: 'Run sync again later; nothing committed so far is lost.',
            });
          }
          const wait = verdict.kind === 'rate_limited' && verdict.waitMs !== null ? verdict.waitMs : backoffDelay(attempt, d.policy);
          if (wait > d.policy.maxRetryAfterMs) {
            throw new OrderlinkError('RATE_LIMITED', `${d.provider} asked us to wait ${Math.round(wait / 1000)} s`, { hint: 'Run sync again later; nothing committed so far is lost.' });
          }
          d.trace(`${verdict.kind === 'retry' ? verdict.message : 'rate limited'}; retry ${attempt + 1} in ${wait} ms`);
          await (d.sleep ?? abortableSleep)(wait, d.signal);
          continue;
        }
      }
    }
  };
}

export { abortableSleep } from '../sleep.js';

/** Provider's error text, short and printable, for classifiers. */
export { providerMessage };
