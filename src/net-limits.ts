/**
 * Limits on every request orderlink makes to a provider (SECURITY.md rules 26 and 28): a deadline
 * for connecting and receiving the response headers, a deadline for the whole body, and a cap on
 * the bytes read. The body is read here, as a stream, so a provider that stalls, dribbles one byte
 * a second or sends a 600 MB page is stopped at a documented limit with a message naming its host.
 *
 * The deadlines are plain timers held by this function and cleared when the request ends, feeding
 * an AbortController of our own. Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: in
 * Node 20–24 the timeout signal inside `any()` can be garbage-collected and then never fires.
 */
import { OrderlinkError } from './errors.js';

export interface NetLimits {
  /** Connecting plus waiting for the status line and headers, per attempt. */
  headersTimeoutMs: number;
  /** Reading the whole body once the headers are in, per attempt (a total, not an idle timeout). */
  bodyTimeoutMs: number;
  /** Bytes read from one response body before giving up. */
  maxResponseBytes: number;
}

export const DEFAULT_NET_LIMITS: NetLimits = { headersTimeoutMs: 30_000, bodyTimeoutMs: 120_000, maxResponseBytes: 32 * 1024 * 1024 };

/**
 * Overrides (CI, tests): ORDERLINK_HTTP_TIMEOUT_MS (connect + headers), ORDERLINK_HTTP_BODY_TIMEOUT_MS
 * (whole body) and ORDERLINK_MAX_RESPONSE_BYTES. Values that are not whole positive numbers are ignored.
 */
export function netLimitsFromEnv(env: NodeJS.ProcessEnv): NetLimits {
  const num = (v: string | undefined, d: number) => (v !== undefined && /^[1-9]\d{0,12}$/.test(v) ? Number(v) : d);
  return {
    headersTimeoutMs: num(env.ORDERLINK_HTTP_TIMEOUT_MS, DEFAULT_NET_LIMITS.headersTimeoutMs),
    bodyTimeoutMs: num(env.ORDERLINK_HTTP_BODY_TIMEOUT_MS, DEFAULT_NET_LIMITS.bodyTimeoutMs),
    maxResponseBytes: num(env.ORDERLINK_MAX_RESPONSE_BYTES, DEFAULT_NET_LIMITS.maxResponseBytes),
  };
}

/** "1 s", "1.5 s", "30 s", "2 min". */
export function formatSeconds(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

/** "32 MiB", "1.5 MiB", "4 KiB", "100 bytes". */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size) return `${Math.round((n / size) * 10) / 10} ${unit}`;
  }
  return `${n} bytes`;
}

/** The host:port of a URL, for messages (never its path or query: those may carry cursors or codes). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the provider';
  }
}

export type TimeoutPhase = 'headers' | 'body';

/** A deadline passed. Retryable: the next attempt may well be answered. */
export class ProviderTimeoutError extends OrderlinkError {
  constructor(readonly host: string, readonly phase: TimeoutPhase, readonly ms: number) {
    super('PROVIDER_TIMEOUT', `timed out after ${formatSeconds(ms)} at ${host} (${phase === 'headers' ? 'no response' : 'the response body was still arriving'})`, {
      hint: `The provider accepted the connection but ${phase === 'headers' ? 'did not answer' : 'sent its answer too slowly'}. Try again later; ORDERLINK_HTTP_${phase === 'headers' ? '' : 'BODY_'}TIMEOUT_MS raises the limit (in ms).`,
      details: { host, phase, timeout_ms: ms },
    });
  }
}

/** A body over the byte cap. Not retryable: the same request would get the same page. */
export class ResponseTooLargeError extends OrderlinkError {
  constructor(readonly host: string, readonly limit: number, declared: number | null) {
    super('PROVIDER_RESPONSE_TOO_LARGE', `the provider at ${host} sent a response larger than the ${formatBytes(limit)} limit${declared !== null ? ` (it announced ${formatBytes(declared)})` : ''}; orderlink stopped reading it`, {
      hint: 'No real page of orders is that large. Try a smaller --page-size; if it persists the provider is misbehaving. ORDERLINK_MAX_RESPONSE_BYTES raises the limit (in bytes).',
      details: { host, limit_bytes: limit },
    });
  }
}

/** A response whose body has been read completely, within the limits. */
export interface LimitedResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/**
 * One request with the limits applied. Throws ProviderTimeoutError, ResponseTooLargeError, the
 * caller's abort (check `signal.aborted`), or whatever fetch throws for a network failure.
 */
export async function fetchLimited(
  fetch: typeof globalThis.fetch,
  url: string,
  init: RequestInit,
  limits: NetLimits,
  signal?: AbortSignal | null,
): Promise<LimitedResponse> {
  const host = hostOf(url);
  const ac = new AbortController();
  let timedOut: ProviderTimeoutError | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (phase: TimeoutPhase, ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = new ProviderTimeoutError(host, phase, ms);
      ac.abort(timedOut);
    }, ms);
  };
  const onCallerAbort = () => ac.abort(signal?.reason);
  if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  // Rejects as soon as our controller aborts, whatever fetch or the body stream do about it.
  const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(timedOut ?? ac.signal.reason), { once: true }));
  aborted.catch(() => undefined);
  try {
    arm('headers', limits.headersTimeoutMs);
    const res = await Promise.race([fetch(url, { ...init, signal: ac.signal }), aborted]);
    arm('body', limits.bodyTimeoutMs);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > limits.maxResponseBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(host, limits.maxResponseBytes, declared);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await Promise.race([reader.read(), aborted]);
          if (done) break;
          size += value.byteLength;
          if (size > limits.maxResponseBytes) throw new ResponseTooLargeError(host, limits.maxResponseBytes, null);
          chunks.push(value);
        }
      } catch (err) {
        await reader.cancel().catch(() => undefined);
        throw err;
      }
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.byteLength;
    }
    return { status: res.status, headers: res.headers, body };
  } catch (err) {
    if (timedOut && !signal?.aborted) throw timedOut;
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerAbort);
    // Ends the connection of an unfinished exchange (a no-op after a complete one).
    ac.abort();
  }
}
