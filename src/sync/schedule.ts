/**
 * Scheduling for one person's machine: each connection may carry a sync interval
 * (`orderlink connections set C --every 6h`), `orderlink sync --due` syncs only what is due (for
 * cron and systemd timers), and reauth forecasting warns before a credential breaks — a refresh
 * token that dies when idle, a consent that expires (Plaid), a yearly re-authorization (SP-API).
 */
import type { Connector } from '../connectors/types.js';
import { usageError } from '../errors.js';
import type { Connection } from '../store/index.js';

/** A connection without its own interval is due once a day. */
export const DEFAULT_EVERY = '24h';
/** Warn this long before a credential is forecast to break. */
export const FORECAST_WARN_DAYS = 7;

const DAY = 86_400_000;

/** "30m", "6h", "1d", "2w" → milliseconds; "off" → null (never due). */
export function parseEvery(text: string, flag = '--every'): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'never') return null;
  const m = /^(\d{1,4})(m|h|d|w)$/.exec(t);
  const ms = m ? Number(m[1]) * { m: 60_000, h: 3_600_000, d: DAY, w: 7 * DAY }[m[2] as 'm' | 'h' | 'd' | 'w'] : NaN;
  if (!m || ms < 5 * 60_000 || ms > 366 * DAY) {
    throw usageError('BAD_INTERVAL', `${flag} takes an interval from 5m to 52w such as 30m, 6h, 1d or 2w (or "off"), got "${text.slice(0, 20)}"`);
  }
  return ms;
}

export function intervalOf(c: Connection): number | null {
  return parseEvery(c.config.syncEvery ?? DEFAULT_EVERY);
}

/** When the connection is next due (null: never — its interval is off). */
export function nextDue(c: Connection): Date | null {
  const every = intervalOf(c);
  if (every === null) return null;
  if (!c.lastSyncAt) return new Date(0);
  return new Date(Date.parse(c.lastSyncAt) + every);
}

export function isDue(c: Connection, now: Date): boolean {
  const at = nextDue(c);
  // A minute of slack, so a timer that fires exactly on the interval is not skipped by jitter.
  return at !== null && at.getTime() <= now.getTime() + 60_000;
}

export interface Forecast {
  /** When the credential is expected to stop working (UTC ISO 8601). */
  expiresAt: string;
  daysLeft: number;
  why: string;
  /** Already broken, or within FORECAST_WARN_DAYS. */
  soon: boolean;
}

/** When this connection's credential is forecast to break, from the connector's documented lifetimes. */
export function forecastReauth(c: Connection, connector: Connector, now: Date): Forecast | null {
  const life = connector.credentialLifetime;
  if (!life || c.status === 'revoked' || c.providerType === 'file') return null;
  const candidates: Array<{ at: number; why: string }> = [];
  const connected = Date.parse(c.connectedAt);
  const lastUse = Date.parse(c.lastSyncAt ?? c.connectedAt);
  if (life.idleDays) candidates.push({ at: lastUse + life.idleDays * DAY, why: `the refresh token expires after ${life.idleDays} days without use` });
  if (life.maxDays) candidates.push({ at: connected + life.maxDays * DAY, why: `the grant must be renewed every ${life.maxDays} days` });
  if (!candidates.length) return null;
  const first = candidates.reduce((a, b) => (b.at < a.at ? b : a));
  const daysLeft = Math.floor((first.at - now.getTime()) / DAY);
  return { expiresAt: new Date(first.at).toISOString(), daysLeft, why: first.why, soon: first.at - now.getTime() <= FORECAST_WARN_DAYS * DAY };
}
