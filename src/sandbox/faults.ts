/**
 * Fault injection for the sandbox: a small, strictly validated grammar and the runtime state that
 * applies it. A spec is a comma-separated list of `name[=value]` items; a value may carry
 * colon-separated options (`rate429=every:5:retry-after=2:http-date`). Every fault is documented
 * in FAULTS_HELP (shown by `orderlink sandbox serve --help`) and in docs/sandbox.md.
 */
import { OrderlinkError } from '../errors.js';

export interface FaultSpec {
  /** Delay added to every /api/v1 request: fixed (min = max) or uniform in [minMs, maxMs]. */
  latency?: { minMs: number; maxMs: number };
  /** Every Nth authenticated orders request answers 429 with Retry-After. */
  rate429?: { every: number; retryAfterSeconds: number; httpDate: boolean };
  /** The next `count` orders requests answer `status` (a 5xx), then the API is healthy again. */
  burst5xx?: { count: number; status: number };
  /** Every orders request answers 500, until the fault is cleared. */
  fail500?: boolean;
  /** Fraction (0..1] of orders, chosen deterministically by id, served with a schema-breaking field. */
  malformed?: number;
  /** Lifetime of newly issued access tokens, in whole seconds. */
  accessTtl?: number;
  /** The next refresh_token grant fails with invalid_grant (once; the refresh token stays valid). */
  invalidGrant?: boolean;
  /** Every refresh_token grant fails with invalid_grant and revokes the grant it belonged to. */
  revokeRefresh?: boolean;
  /** The orders API changes its schema (for `orderlink smoke`'s drift check). */
  drift?: DriftKind;
}

export type DriftKind = 'add' | 'remove' | 'rename' | 'retype';

export const FAULTS_HELP = `Faults (--faults SPEC, or POST the spec as text to /__sandbox/faults)
A spec is a comma-separated list of name[=value] items; an empty spec or "none" clears all faults.
Durations take a unit: 250ms, 2s, 1m.

  latency=DUR | latency=MIN-MAX   delay every /api/v1 request (fixed, or uniform in the range;
                                   the range is deterministic per request number)
                                   e.g. latency=20ms, latency=10ms-80ms
  rate429=every:N[:retry-after=S][:http-date]
                                   every Nth orders request answers 429 with Retry-After: S
                                   seconds (default 1); http-date sends an HTTP-date instead
                                   e.g. rate429=every:5:retry-after=2
  burst5xx=N[:STATUS]             the next N orders requests answer STATUS (default 503), then
                                   the API recovers; e.g. burst5xx=3
  fail500[=forever]               every orders request answers 500 until the fault is cleared
  malformed=FRACTION              that fraction of orders (0..1, or a percentage like 2%) is
                                   served with a schema-breaking field (total "abc", no id,
                                   placed_at "not-a-date" or quantity "three"), chosen by order id
  access-ttl=DUR                  access tokens issued from now on live DUR (whole seconds)
  invalid-grant                   the next refresh request fails with invalid_grant (once)
  revoke-refresh                  refresh requests fail with invalid_grant and the grant is
                                   revoked (the user "revoked access")
  drift=add|remove|rename|retype  the orders API changes shape: add a field (gift_wrap), remove
                                   one (items[].category), rename one (note → customer_note) or
                                   retype one (amounts.total becomes a number)

Example: latency=20ms,rate429=every:5:retry-after=1,burst5xx=3,malformed=0.02,access-ttl=2s`;

const KNOWN = ['latency', 'rate429', 'burst5xx', 'fail500', 'malformed', 'access-ttl', 'invalid-grant', 'revoke-refresh', 'drift'];

function bad(part: string, why: string): OrderlinkError {
  return new OrderlinkError('BAD_FAULT_SPEC', `Bad fault spec at "${part.slice(0, 80)}": ${why}.`, {
    kind: 'usage',
    hint: 'See `orderlink sandbox serve --help` (or docs/sandbox.md) for the fault grammar.',
    details: { part: part.slice(0, 80) },
  });
}

/** "250ms" → 250, "2s" → 2000, "1m" → 60000. */
function parseDurationMs(text: string, part: string): number {
  const m = /^(\d{1,7})(ms|s|m)$/.exec(text.trim());
  if (!m) throw bad(part, `"${text.slice(0, 40)}" is not a duration (use e.g. 250ms, 2s, 1m)`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function parsePositiveInt(text: string, part: string, what: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw bad(part, `${what} must be a positive integer`);
  return Number(text);
}

function parseLatency(value: string, part: string): NonNullable<FaultSpec['latency']> {
  const range = /^(\d{1,7})(ms|s|m)?-(\d{1,7}(?:ms|s|m))$/.exec(value);
  if (range) {
    const max = parseDurationMs(range[3]!, part);
    // "10-50ms": the lower bound borrows the upper bound's unit.
    const unit = range[2] ?? /(ms|s|m)$/.exec(range[3]!)![1]!;
    const min = parseDurationMs(range[1]! + unit, part);
    if (min > max) throw bad(part, 'the latency range must be MIN-MAX with MIN <= MAX');
    return { minMs: min, maxMs: max };
  }
  const ms = parseDurationMs(value, part);
  return { minMs: ms, maxMs: ms };
}

function parseRate429(value: string, part: string): NonNullable<FaultSpec['rate429']> {
  const bits = value.split(':');
  let i = 0;
  if (bits[0] === 'every') i = 1;
  const everyText = bits[i];
  if (everyText === undefined) throw bad(part, 'expected every:N');
  const every = parsePositiveInt(everyText, part, 'N in every:N');
  let retryAfterSeconds = 1;
  let httpDate = false;
  const seen = new Set<string>();
  for (const opt of bits.slice(i + 1)) {
    const [key, val] = opt.split('=', 2) as [string, string | undefined];
    if (seen.has(key)) throw bad(part, `option "${key}" given twice`);
    seen.add(key);
    if (key === 'retry-after' && val !== undefined) {
      const m = /^(\d{1,6})s?$/.exec(val);
      if (!m) throw bad(part, 'retry-after must be whole seconds, e.g. retry-after=2');
      retryAfterSeconds = Number(m[1]);
    } else if (key === 'http-date' && val === undefined) {
      httpDate = true;
    } else {
      throw bad(part, `unknown rate429 option "${opt.slice(0, 30)}" (known: retry-after=S, http-date)`);
    }
  }
  return { every, retryAfterSeconds, httpDate };
}

function parseBurst(value: string, part: string): NonNullable<FaultSpec['burst5xx']> {
  const [countText, statusText, extra] = value.split(':');
  if (extra !== undefined) throw bad(part, 'expected burst5xx=N or burst5xx=N:STATUS');
  const count = parsePositiveInt(countText ?? '', part, 'N');
  let status = 503;
  if (statusText !== undefined) {
    if (!/^5\d\d$/.test(statusText)) throw bad(part, 'STATUS must be a 5xx code, e.g. 502');
    status = Number(statusText);
  }
  return { count, status };
}

function parseFraction(value: string, part: string): number {
  let f: number;
  const pct = /^(\d{1,3}(?:\.\d{1,6})?)%$/.exec(value);
  if (pct) f = Number(pct[1]) / 100;
  else if (/^(?:0|1)(?:\.\d{1,9})?$/.test(value)) f = Number(value);
  else throw bad(part, 'the fraction must be a number in (0, 1] or a percentage, e.g. 0.02 or 2%');
  if (!(f > 0 && f <= 1)) throw bad(part, 'the fraction must be greater than 0 and at most 1');
  return f;
}

export function parseFaults(spec: string): FaultSpec {
  if (typeof spec !== 'string') throw bad(String(spec), 'the spec must be a string');
  const text = spec.trim();
  const out: FaultSpec = {};
  if (text === '' || text === 'none') return out;
  if (text.length > 1000) throw bad(text, 'the spec is too long');
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') throw bad(text, 'empty item between commas');
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    const value = eq === -1 ? undefined : part.slice(eq + 1).trim();
    if (!KNOWN.includes(name)) throw bad(part, `unknown fault "${name.slice(0, 30)}" (known: ${KNOWN.join(', ')})`);
    if (seen.has(name)) throw bad(part, `fault "${name}" given twice`);
    seen.add(name);
    const need = (): string => {
      if (value === undefined || value === '') throw bad(part, `"${name}" needs a value`);
      return value;
    };
    const none = (): void => {
      if (value !== undefined) throw bad(part, `"${name}" takes no value`);
    };
    switch (name) {
      case 'latency':
        out.latency = parseLatency(need(), part);
        break;
      case 'rate429':
        out.rate429 = parseRate429(need(), part);
        break;
      case 'burst5xx':
        out.burst5xx = parseBurst(need(), part);
        break;
      case 'fail500':
        if (value !== undefined && value !== 'forever') throw bad(part, 'fail500 takes no value or "forever"');
        out.fail500 = true;
        break;
      case 'malformed':
        out.malformed = parseFraction(need(), part);
        break;
      case 'access-ttl': {
        const ms = parseDurationMs(need(), part);
        if (ms < 1000 || ms % 1000 !== 0) throw bad(part, 'access-ttl must be a whole number of seconds (at least 1s)');
        out.accessTtl = ms / 1000;
        break;
      }
      case 'invalid-grant':
        none();
        out.invalidGrant = true;
        break;
      case 'revoke-refresh':
        none();
        out.revokeRefresh = true;
        break;
      case 'drift': {
        const v = need();
        if (!['add', 'remove', 'rename', 'retype'].includes(v)) throw bad(part, 'drift is one of add, remove, rename, retype');
        out.drift = v as DriftKind;
        break;
      }
    }
  }
  return out;
}

/** Validate a FaultSpec object (from code, not text) with the same rules as the parser. */
export function normalizeFaults(spec: string | FaultSpec): FaultSpec {
  if (typeof spec === 'string') return parseFaults(spec);
  // Round-trip through the text form: one set of validation rules for both inputs.
  return parseFaults(formatFaults(spec));
}

const dur = (ms: number): string => (ms % 1000 === 0 && ms > 0 ? `${ms / 1000}s` : `${ms}ms`);

/** The canonical text form of a spec ("" when no fault is set). */
export function formatFaults(f: FaultSpec): string {
  const parts: string[] = [];
  if (f.latency) parts.push(`latency=${f.latency.minMs === f.latency.maxMs ? dur(f.latency.minMs) : `${dur(f.latency.minMs)}-${dur(f.latency.maxMs)}`}`);
  if (f.rate429) parts.push(`rate429=every:${f.rate429.every}:retry-after=${f.rate429.retryAfterSeconds}${f.rate429.httpDate ? ':http-date' : ''}`);
  if (f.burst5xx) parts.push(`burst5xx=${f.burst5xx.count}${f.burst5xx.status === 503 ? '' : `:${f.burst5xx.status}`}`);
  if (f.fail500) parts.push('fail500=forever');
  if (f.malformed !== undefined) parts.push(`malformed=${f.malformed.toFixed(9).replace(/\.?0+$/, '')}`);
  if (f.accessTtl !== undefined) parts.push(`access-ttl=${f.accessTtl}s`);
  if (f.invalidGrant) parts.push('invalid-grant');
  if (f.revokeRefresh) parts.push('revoke-refresh');
  if (f.drift) parts.push(`drift=${f.drift}`);
  return parts.join(',');
}

export type MalformKind = 'total' | 'id' | 'placed_at' | 'quantity';

/** Counters of faults actually injected (for stats). */
export interface FaultCounters {
  latency: number;
  rate429: number;
  burst5xx: number;
  fail500: number;
  malformed: number;
  invalidGrant: number;
  revokedRefresh: number;
}

export type OrdersFault = { status: number; headers: Record<string, string>; body: Record<string, string> } | null;

/**
 * The live fault state. Setting a spec resets every counter: a burst starts again, "every Nth"
 * counts from the next request, and invalid-grant arms once more.
 */
export class FaultState {
  spec: FaultSpec = {};
  private ordersRequests = 0;
  private burstLeft = 0;
  private invalidGrantArmed = false;
  private latencyState = 0;
  readonly counters: FaultCounters = { latency: 0, rate429: 0, burst5xx: 0, fail500: 0, malformed: 0, invalidGrant: 0, revokedRefresh: 0 };

  constructor(private readonly seed: number, initial: string | FaultSpec | undefined) {
    if (initial !== undefined) this.set(initial);
  }

  set(spec: string | FaultSpec): FaultSpec {
    const next = normalizeFaults(spec);
    this.spec = next;
    this.ordersRequests = 0;
    this.burstLeft = next.burst5xx?.count ?? 0;
    this.invalidGrantArmed = next.invalidGrant === true;
    this.latencyState = this.seed >>> 0;
    return next;
  }

  /** Milliseconds to wait before answering an API request (0 when no latency fault). */
  latencyMs(): number {
    const l = this.spec.latency;
    if (!l) return 0;
    this.counters.latency++;
    if (l.minMs === l.maxMs) return l.minMs;
    // splitmix32 step: deterministic per request number, independent of the data PRNG.
    this.latencyState = (this.latencyState + 0x9e3779b9) >>> 0;
    let z = this.latencyState;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return l.minMs + (z % (l.maxMs - l.minMs + 1));
  }

  /** Decide the fate of one authenticated orders request (null = serve it). */
  ordersFault(now: number): OrdersFault {
    this.ordersRequests++;
    const s = this.spec;
    if (s.fail500) {
      this.counters.fail500++;
      return { status: 500, headers: {}, body: { error: 'server_error', error_description: 'Injected fault: fail500.' } };
    }
    if (this.burstLeft > 0) {
      this.burstLeft--;
      this.counters.burst5xx++;
      const status = s.burst5xx?.status ?? 503;
      return { status, headers: {}, body: { error: 'temporarily_unavailable', error_description: `Injected fault: burst5xx (${status}).` } };
    }
    if (s.rate429 && this.ordersRequests % s.rate429.every === 0) {
      this.counters.rate429++;
      const secs = s.rate429.retryAfterSeconds;
      // An HTTP-date has whole-second resolution: round up so the client never waits too little.
      const retryAfter = s.rate429.httpDate ? new Date((Math.ceil(now / 1000) + secs) * 1000).toUTCString() : String(secs);
      return { status: 429, headers: { 'Retry-After': retryAfter }, body: { error: 'rate_limited', error_description: 'Injected fault: rate429.' } };
    }
    return null;
  }

  /** Which malformation (if any) an order gets; deterministic by order id and seed. */
  malformKind(orderId: string): MalformKind | null {
    const f = this.spec.malformed;
    if (f === undefined) return null;
    const h = fnv1a(`${this.seed}:${orderId}`);
    if (h / 4294967296 >= f) return null;
    const kinds: MalformKind[] = ['total', 'id', 'placed_at', 'quantity'];
    return kinds[fnv1a(`kind:${orderId}`) % kinds.length]!;
  }

  /** Refresh-grant faults: 'revoke' (revoke-refresh), 'invalid' (invalid-grant, once) or null. */
  refreshFault(): 'revoke' | 'invalid' | null {
    if (this.spec.revokeRefresh) {
      this.counters.revokedRefresh++;
      return 'revoke';
    }
    if (this.invalidGrantArmed) {
      this.invalidGrantArmed = false;
      this.counters.invalidGrant++;
      return 'invalid';
    }
    return null;
  }
}

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV alone mixes the last characters poorly into the high bits: finish with murmur3's fmix32.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
