/**
 * Reading one cell of an Amazon export: sentinels, money, quantities, dates and marketplaces, as
 * they are really spelled (fixtures/realworld/README.md traps 4, 7, 8, 15, 19). Every reader
 * returns null for a sentinel ("not given") and throws ValueError for text it cannot read, so the
 * row reader can name the file, line and column. Money stays a decimal string here and becomes
 * integer minor units through toMinorUnits; never a float.
 */
import { currencyExponent, formatMinor, isCurrencyCode, toMinorUnits } from '../money.js';

export class ValueError extends Error {
  override readonly name = 'ValueError';
}

const SENTINELS = new Set(['', 'not available', 'not applicable', 'n/a', 'na', 'none', 'null', '-', '--', 'no refund', 'unknown']);

/** Trimmed text, or null for a sentinel (`Not Available`, `N/A`, empty, ...). */
export function text(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const t = raw.replace(/^\uFEFF/, '').trim();
  return SENTINELS.has(t.toLowerCase()) ? null : t;
}

/** `'-1.7'` (an Excel guard) → `-1.7`; `'+y+abc` → `+y+abc`. */
export function unguard(t: string): string {
  if (t.startsWith("'")) return t.endsWith("'") && t.length > 1 ? t.slice(1, -1) : t.slice(1);
  return t;
}

const SYMBOLS = /^(?:[A-Z]{1,3})?[$€£¥₹]|^[A-Z]{3}(?=\d)|[$€£¥₹]$|[A-Z]{3}$/;

/**
 * A money cell as a plain decimal string ("-1.70" stays "-1.70", "1,146.91" → "1146.91",
 * "$6.29 " → "6.29", "'-1.7'" → "-1.7", "(4.00)" → "-4.00"), or null for a sentinel.
 */
export function amount(raw: string | undefined): string | null {
  const t0 = text(raw);
  if (t0 === null) return null;
  let s = unguard(t0).replace(/[\s\u00a0]+/g, '');
  if (text(s) === null) return null;
  let neg = false;
  if (/^\(.*\)$/.test(s)) {
    neg = true;
    s = s.slice(1, -1);
  }
  const sign = () => {
    if (s.startsWith('-')) {
      neg = !neg;
      s = s.slice(1);
    } else if (s.startsWith('+')) s = s.slice(1);
  };
  sign();
  s = s.replace(SYMBOLS, '');
  s = s.replace(SYMBOLS, '');
  sign();
  if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (/^\.\d+$/.test(s)) s = `0${s}`;
  if (!/^\d+(\.\d+)?$/.test(s)) throw new ValueError(`"${t0.slice(0, 24)}" is not an amount`);
  return neg && /[1-9]/.test(s) ? `-${s}` : s;
}

/** An amount in minor units of `currency` (null for a sentinel); throws ValueError if unreadable. */
export function minor(raw: string | undefined, currency: string): number | null {
  const a = amount(raw);
  if (a === null) return null;
  try {
    return toMinorUnits(a, currency);
  } catch (err) {
    throw new ValueError(err instanceof Error ? err.message : 'not an amount');
  }
}

/** Minor units back to the decimal text the raw record carries. */
export const decimal = (m: number, currency: string): string => formatMinor(m, currency);

/** A quantity: a whole number ("1", "1.0", "1,050"), null for a sentinel. */
export function quantity(raw: string | undefined): number | null {
  const t = text(raw);
  if (t === null) return null;
  const s = unguard(t).replace(/,(?=\d{3}\b)/g, '');
  const m = /^(\d+)(?:\.0+)?$/.exec(s);
  if (!m) throw new ValueError(`"${t.slice(0, 16)}" is not a whole quantity`);
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n)) throw new ValueError(`"${t.slice(0, 16)}" is out of range`);
  return n;
}

/** ISO 4217 code, upper-cased; null when absent. */
export function currency(raw: string | undefined): string | null {
  const t = text(raw);
  if (t === null) return null;
  const c = t.toUpperCase();
  if (!isCurrencyCode(c)) throw new ValueError(`"${t.slice(0, 16)}" is not a currency code`);
  currencyExponent(c);
  return c;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const ZONE = String.raw`\s*(Z|UTC|GMT|[+-]\d\d:?\d\d)?`;
const ISO = new RegExp(String.raw`^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?${ZONE}$`, 'i');
const US = new RegExp(String.raw`^(\d{1,2})/(\d{1,2})/(\d{4}|\d\d)(?:[ T,]+(\d{1,2}):(\d\d)(?::(\d\d))?)?${ZONE}$`, 'i');
const RFC = new RegExp(String.raw`^(?:[a-z]{3},?\s+)?(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{4})(?:\s+(\d\d):(\d\d)(?::(\d\d))?)?${ZONE}$`, 'i');

function build(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0, zone?: string): string | null {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const t = Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null; // 2025-02-29
  let offset = 0;
  if (zone && /^[+-]/.test(zone)) {
    const z = zone.replace(':', '');
    offset = (z.startsWith('-') ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
  }
  return new Date(t - offset * 60_000).toISOString();
}

/**
 * A date or timestamp as UTC ISO 8601 with milliseconds. Accepts ISO with or without `Z` and
 * milliseconds (no zone = UTC), `MM/DD/YYYY HH:MM:SS UTC`, `M/D/YY`, `M/D/YYYY`, date-only,
 * `YYYY-MM-DD HH:MM:SS`, and `Mon, 05 Apr 2021 10:00:00 GMT`. Null for a sentinel.
 */
export function date(raw: string | undefined): string | null {
  const t = text(raw);
  if (t === null) return null;
  const s = unguard(t);
  let m = ISO.exec(s);
  let out: string | null = null;
  if (m) {
    const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
    out = build(+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), ms, m[8]);
  } else if ((m = US.exec(s))) {
    let y = +m[3]!;
    if (m[3]!.length === 2) y += y > (new Date().getUTCFullYear() % 100) + 1 ? 1900 : 2000;
    out = build(y, +m[1]!, +m[2]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), 0, m[7]);
  } else if ((m = RFC.exec(s))) {
    const mo = MONTHS[m[2]!.toLowerCase().slice(0, 3)];
    if (mo) out = build(+m[3]!, mo, +m[1]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), 0, m[7]);
  }
  if (out === null) throw new ValueError(`"${t.slice(0, 32)}" is not a date`);
  return out;
}

const DOMAIN_CURRENCY: Record<string, string> = {
  com: 'USD', ca: 'CAD', 'com.mx': 'MXN', 'com.br': 'BRL', 'co.uk': 'GBP', de: 'EUR', fr: 'EUR', it: 'EUR', es: 'EUR',
  nl: 'EUR', be: 'EUR', ie: 'EUR', 'co.jp': 'JPY', in: 'INR', 'com.au': 'AUD', sg: 'SGD', ae: 'AED', sa: 'SAR',
  se: 'SEK', pl: 'PLN', 'com.tr': 'TRY', eg: 'EGP',
};

/** The marketplace label a person recognises: `Amazon.com`, `Amazon.it`, `Whole Foods Market`, `Amazon`. */
export function retailer(website: string | null): string {
  if (website === null) return 'Amazon';
  const w = website.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/^www\./, '').replace(/\/.*$/, '');
  if (w === 'amazon' || w === '') return 'Amazon';
  if (/^panda\d*$/.test(w) || w.includes('wholefoods')) return 'Whole Foods Market';
  const m = /^amazon\.([a-z.]+)$/.exec(w);
  if (m) return `Amazon.${m[1]}`;
  return `Amazon (${website.trim().slice(0, 40)})`;
}

/** The currency a marketplace charges in, for files that have no Currency column. */
export function marketplaceCurrency(website: string | null): string | null {
  if (website === null) return null;
  const m = /amazon\.([a-z.]+)$/.exec(website.trim().toLowerCase().replace(/\/.*$/, ''));
  return m ? (DOMAIN_CURRENCY[m[1]!] ?? null) : null;
}

export { toMinorUnits };
