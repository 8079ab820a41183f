/**
 * The HTTP function the sync engine hands to connectors (SECURITY.md rule 22): retries with
 * exponential backoff, full jitter and a cap on network errors and 5xx; 429 honours Retry-After
 * (seconds or an HTTP date); a 401 refreshes the token once and retries; other 4xx fail fast with
 * the provider's message. Traces go through `trace` with the Authorization header never shown.
 */
import type { HttpFunction } from '../connectors/types.js';
import { OrderlinkError } from '../errors.js';
import { providerMessage } from '../connectors/http.js';

export interface RetryPolicy {
  /** Attempts per request, including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After we will honour; beyond it the run fails with a clear message. */
  maxRetryAfterMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 300, maxDelayMs: 10_000, maxRetryAfterMs: 120_000, timeoutMs: 30_000 };

/** Overrides for CI and tests: ORDERLINK_RETRY_BASE_MS, ORDERLINK_RETRY_MAX_ATTEMPTS, ORDERLINK_HTTP_TIMEOUT_MS. */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv): RetryPolicy {
  const num = (v: string | undefined, d: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : d);
  return {
    ...DEFAULT_RETRY,
    baseDelayMs: num(env.ORDERLINK_RETRY_BASE_MS, DEFAULT_RETRY.baseDelayMs),
    maxAttempts: Math.max(1, num(env.ORDERLINK_RETRY_MAX_ATTEMPTS, DEFAULT_RETRY.maxAttempts)),
    timeoutMs: num(env.ORDERLINK_HTTP_TIMEOUT_MS, DEFAULT_RETRY.timeoutMs),
  };
}

/** Retry-After: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns ms, or null if absent/invalid. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

export function backoffDelay(attempt: number, p: RetryPolicy, random = Math.random): number {
  // "Full jitter": uniform in [0, min(cap, base * 2^attempt)].
  return Math.round(random() * Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** attempt));
}

export interface HttpDeps {
  fetch: typeof globalThis.fetch;
  policy: RetryPolicy;
  signal: AbortSignal;
  trace: (line: string) => void;
  /** Called on a 401: returns a fresh Authorization value, or throws (reauth). Once per request. */
  onUnauthorized?: (staleAuthorization: string | undefined) => Promise<string>;
  /** Counts requests (the benchmark and tests read it). */
  onRequest?: () => void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(interrupted());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(interrupted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

const interrupted = () => new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' });

function safeUrl(url: string): string {
  const u = new URL(url);
  for (const k of [...u.searchParams.keys()]) if (/token|code|secret|key/i.test(k)) u.searchParams.set(k, '…');
  return `${u.pathname}${u.search}`;
}

export function createHttp(deps: HttpDeps): HttpFunction {
  const sleep = deps.sleep ?? defaultSleep;
  const p = deps.policy;
  return async (url, init = {}) => {
    const headers = { ...(init.headers ?? {}) };
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      if (deps.signal.aborted) throw interrupted();
      const started = Date.now();
      let res: Response;
      try {
        deps.onRequest?.();
        res = await deps.fetch(url, {
          method: init.method ?? 'GET',
          headers,
          ...(init.body === undefined ? {} : { body: init.body }),
          redirect: 'manual',
          signal: AbortSignal.any([deps.signal, AbortSignal.timeout(p.timeoutMs)]),
        });
      } catch (err) {
        if (deps.signal.aborted) throw interrupted();
        const why = (err as Error).name === 'TimeoutError' ? `timed out after ${p.timeoutMs} ms` : 'network error';
        if (attempt + 1 >= p.maxAttempts) {
          throw new OrderlinkError('PROVIDER_UNREACHABLE', `${safeUrl(url)}: ${why}, gave up after ${p.maxAttempts} attempts`, {
            hint: 'Check the network and the base URL, then run sync again; nothing committed so far is lost.',
          });
        }
        const d = backoffDelay(attempt, p);
        deps.trace(`GET ${safeUrl(url)} → ${why}; retry ${attempt + 1} in ${d} ms`);
        await sleep(d, deps.signal);
        continue;
      }
      deps.trace(`${init.method ?? 'GET'} ${safeUrl(url)} → ${res.status} (${Date.now() - started} ms)`);
      if (res.status === 401 && deps.onUnauthorized && !refreshed) {
        await res.body?.cancel();
        refreshed = true;
        headers.authorization = await deps.onUnauthorized(headers.authorization);
        attempt--; // the refresh retry does not count against the budget
        continue;
      }
      if (res.status === 429) {
        await res.body?.cancel();
        const ra = parseRetryAfter(res.headers.get('retry-after'));
        if (ra !== null && ra > p.maxRetryAfterMs) {
          throw new OrderlinkError('RATE_LIMITED', `the provider asked us to wait ${Math.round(ra / 1000)} s (more than ${p.maxRetryAfterMs / 1000} s)`, {
            hint: 'Run sync again later; nothing committed so far is lost.',
          });
        }
        if (attempt + 1 >= p.maxAttempts) {
          throw new OrderlinkError('RATE_LIMITED', `still rate limited after ${p.maxAttempts} attempts`, { hint: 'Run sync again later; nothing committed so far is lost.' });
        }
        const d = ra ?? backoffDelay(attempt, p);
        deps.trace(`rate limited; waiting ${d} ms${ra !== null ? ' (Retry-After)' : ''}`);
        await sleep(d, deps.signal);
        continue;
      }
      if (res.status >= 500) {
        const body = providerMessage(await res.text());
        if (attempt + 1 >= p.maxAttempts) {
          throw new OrderlinkError('PROVIDER_ERROR', `the provider kept failing (HTTP ${res.status}${body ? `: ${body}` : ''}); gave up after ${p.maxAttempts} attempts`, {
            hint: 'The provider is having trouble. Run sync again later; nothing committed so far is lost.',
          });
        }
        const d = backoffDelay(attempt, p);
        deps.trace(`server error ${res.status}; retry ${attempt + 1} in ${d} ms`);
        await sleep(d, deps.signal);
        continue;
      }
      return res;
    }
  };
}
