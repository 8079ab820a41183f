/**
 * The HTTP function the sync engine hands to connectors (SECURITY.md rule 22): retries with
 * exponential backoff, full jitter and a cap on network errors and 5xx; 429 honours Retry-After
 * (seconds or an HTTP date); a 401 refreshes the token once and retries; other 4xx fail fast with
 * the provider's message. Traces go through `trace` with the Authorization header never shown.
 * Every attempt runs under the limits of src/net-limits.ts (rules 26 and 28): a connect + headers
 * deadline, a whole-body deadline and a byte cap; a timed-out attempt is retried like any other
 * network error. The body is read here, so connectors get a complete, bounded response.
 */
import type { HttpFunction } from '../connectors/types.js';
import { OrderlinkError } from '../errors.js';
import { abortableSleep } from '../sleep.js';
import { providerMessage } from '../connectors/http.js';
import type { Pacer } from './ratelimit.js';
import { fetchLimited, hostOf, netLimitsFromEnv, ProviderTimeoutError, ResponseTooLargeError, type LimitedResponse, type NetLimits } from '../net-limits.js';

export interface RetryPolicy {
  /** Attempts per request, including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After we will honour; beyond it the run fails with a clear message. */
  maxRetryAfterMs: number;
  /** Per-attempt deadline for connecting and receiving the headers. */
  timeoutMs: number;
  /** Per-attempt deadline for the whole body (default: DEFAULT_NET_LIMITS). */
  bodyTimeoutMs?: number;
  /** Largest response body read, in bytes (default: DEFAULT_NET_LIMITS). */
  maxResponseBytes?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 300, maxDelayMs: 10_000, maxRetryAfterMs: 120_000, timeoutMs: 30_000 };

/**
 * Overrides for CI and tests: ORDERLINK_RETRY_BASE_MS, ORDERLINK_RETRY_MAX_ATTEMPTS, and the
 * limits of src/net-limits.ts (ORDERLINK_HTTP_TIMEOUT_MS, ORDERLINK_HTTP_BODY_TIMEOUT_MS,
 * ORDERLINK_MAX_RESPONSE_BYTES).
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv): RetryPolicy {
  const num = (v: string | undefined, d: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : d);
  const limits = netLimitsFromEnv(env);
  return {
    ...DEFAULT_RETRY,
    baseDelayMs: num(env.ORDERLINK_RETRY_BASE_MS, DEFAULT_RETRY.baseDelayMs),
    maxAttempts: Math.max(1, num(env.ORDERLINK_RETRY_MAX_ATTEMPTS, DEFAULT_RETRY.maxAttempts)),
    timeoutMs: limits.headersTimeoutMs,
    bodyTimeoutMs: limits.bodyTimeoutMs,
    maxResponseBytes: limits.maxResponseBytes,
  };
}

function limitsOf(p: RetryPolicy): NetLimits {
  const d = netLimitsFromEnv({});
  return { headersTimeoutMs: p.timeoutMs, bodyTimeoutMs: p.bodyTimeoutMs ?? d.bodyTimeoutMs, maxResponseBytes: p.maxResponseBytes ?? d.maxResponseBytes };
}

/** A complete response as connectors see it (HttpFunction): the body is already read and bounded. */
function buffered(r: LimitedResponse) {
  const text = () => new TextDecoder('utf-8').decode(r.body);
  return { status: r.status, headers: r.headers, text: async () => text(), json: async (): Promise<unknown> => JSON.parse(text()) };
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
  /** Paces requests per operation (src/sync/ratelimit.ts); a 429 without Retry-After then waits for its bucket. */
  pacer?: Pacer | null;
  /**
   * Whether a non-401 answer means "the access token is stale" (the connector's classifier: SP-API
   * says so with a 403); it triggers the same single refresh as a 401.
   */
  isUnauthorized?: (res: { status: number; headers: Headers; body: string }) => boolean;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal) => abortableSleep(ms, signal);

const interrupted = () => new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' });

function safeUrl(url: string): string {
  const u = new URL(url);
  for (const k of [...u.searchParams.keys()]) if (/token|code|secret|key/i.test(k)) u.searchParams.set(k, '…');
  return `${u.pathname}${u.search}`;
}

/**
 * Put a refreshed access token where the stale one was: `Authorization: Bearer` (RFC 6750 §2.1),
 * or SP-API's `x-amz-access-token` header, which carries the bare token.
 */
function setAccessToken(headers: Record<string, string>, authorization: string): void {
  const amz = Object.keys(headers).find((k) => k.toLowerCase() === 'x-amz-access-token');
  if (amz) headers[amz] = authorization.replace(/^Bearer\s+/i, '');
  else headers.authorization = authorization;
}

export function createHttp(deps: HttpDeps): HttpFunction {
  const sleep = deps.sleep ?? defaultSleep;
  const p = deps.policy;
  const limits = limitsOf(p);
  return async (url, init = {}) => {
    const headers = { ...(init.headers ?? {}) };
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      if (deps.signal.aborted) throw interrupted();
      const started = Date.now();
      let res: LimitedResponse;
      try {
        await deps.pacer?.before(url, deps.signal);
        deps.onRequest?.();
        res = await fetchLimited(
          deps.fetch,
          url,
          { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: init.body }), redirect: 'manual' },
          limits,
          deps.signal,
        );
      } catch (err) {
        if (deps.signal.aborted) throw interrupted();
        if (err instanceof ResponseTooLargeError || (err instanceof OrderlinkError && err.kind === 'interrupted')) throw err;
        const timeout = err instanceof ProviderTimeoutError ? err : null;
        const why = timeout ? timeout.message : `network error at ${hostOf(url)}`;
        if (attempt + 1 >= p.maxAttempts) {
          if (timeout) {
            throw new OrderlinkError('PROVIDER_TIMEOUT', `the provider ${why}; gave up after ${p.maxAttempts} attempts`, {
              hint: `${timeout.hint} Nothing committed so far is lost.`,
              details: timeout.details,
            });
          }
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
      deps.pacer?.after(url, res.status, res.headers);
      const classifiedStale = () => res.status >= 400 && res.status < 500 && res.status !== 429 && (deps.isUnauthorized?.({ status: res.status, headers: res.headers, body: new TextDecoder().decode(res.body) }) ?? false);
      if (deps.onUnauthorized && !refreshed && (res.status === 401 || classifiedStale())) {
        refreshed = true;
        setAccessToken(headers, await deps.onUnauthorized(headers.authorization));
        attempt--; // the refresh retry does not count against the budget
        continue;
      }
      if (res.status === 429) {
        const ra = parseRetryAfter(res.headers.get('retry-after'));
        if (ra !== null && ra > p.maxRetryAfterMs) {
          throw new OrderlinkError('RATE_LIMITED', `the provider asked us to wait ${Math.round(ra / 1000)} s (more than ${p.maxRetryAfterMs / 1000} s)`, {
            hint: 'Run sync again later; nothing committed so far is lost.',
          });
        }
        if (attempt + 1 >= p.maxAttempts) {
          throw new OrderlinkError('RATE_LIMITED', `still rate limited after ${p.maxAttempts} attempts`, { hint: 'Run sync again later; nothing committed so far is lost.' });
        }
        // With a pacer, a 429 without Retry-After emptied the operation's bucket: its wait is the right one.
        const d = ra ?? (deps.pacer ? 0 : backoffDelay(attempt, p));
        deps.trace(`rate limited; waiting ${d ? `${d} ms` : 'for the rate limit'}${ra !== null ? ' (Retry-After)' : ''}`);
        await sleep(d, deps.signal);
        continue;
      }
      if (res.status >= 500) {
        const body = providerMessage(new TextDecoder().decode(res.body));
        if (attempt + 1 >= p.maxAttempts) {
          throw new OrderlinkError('PROVIDER_ERROR', `the provider at ${hostOf(url)} kept failing (HTTP ${res.status}${body ? `: ${body}` : ''}); gave up after ${p.maxAttempts} attempts`, {
            hint: 'The provider is having trouble. Run sync again later; nothing committed so far is lost.',
          });
        }
        const d = backoffDelay(attempt, p);
        deps.trace(`server error ${res.status}; retry ${attempt + 1} in ${d} ms`);
        await sleep(d, deps.signal);
        continue;
      }
      return buffered(res);
    }
  };
}
