/** Parsing of option values shared by several commands (dates, integers, money). */
import { usageError } from '../errors.js';

/**
 * A date flag: an ISO date (2026-01-31), an ISO date-time with zone, or a relative span
 * ("7d", "24h", "30m", "2w"). Returns a UTC ISO 8601 string.
 */
export function parseDateFlag(value: string, flag: string, now: Date): string {
  const rel = /^(\d+)\s*([mhdw])$/.exec(value.trim());
  if (rel) {
    const n = Number(rel[1]);
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2] as 'm' | 'h' | 'd' | 'w'];
    return new Date(now.getTime() - n * unitMs).toISOString();
  }
  // Date.parse rolls impossible days over (2026-02-30 becomes March 2): refuse them instead.
  const cal = /^(\d{4})-(\d{2})(?:-(\d{2}))?(?=$|T)/.exec(value);
  if (cal && !isCalendarDate(Number(cal[1]), Number(cal[2]), cal[3] === undefined ? 1 : Number(cal[3]))) {
    throw usageError('BAD_DATE', `${flag}: ${value.slice(0, cal[0].length)} is not a date in the calendar`, 'Months run from 01 to 12 and days up to the month\'s last day (2026-02-28, 2028-02-29).');
  }
  if (/^\d{4}-\d{2}(-\d{2})?$/.test(value)) {
    const d = new Date(value.length === 7 ? `${value}-01T00:00:00Z` : `${value}T00:00:00Z`);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const d = new Date(value);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  throw usageError(
    'BAD_DATE',
    `${flag} expects a date like 2026-01-31, 2026-01-31T09:00:00Z or 7d, got "${value.slice(0, 40)}"`,
  );
}

export function parsePositiveInt(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0 || n > max) {
    throw usageError('BAD_OPTION', `${flag} must be a whole number from 1 to ${max}, got "${value.slice(0, 20)}"`);
  }
  return n;
}

/** Whether year-month-day names a real day (no 2026-02-30, no month 13). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}
