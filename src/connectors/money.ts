/**
 * Money without floats. Providers send decimal strings (or, for some, numbers) in major units;
 * we store integers in minor units using each currency's ISO 4217 exponent. A value with more
 * fractional digits than the currency allows is an error, not a rounding.
 */

/** ISO 4217 minor-unit exponents that differ from 2 (the default). */
const EXPONENT: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** The currencies whose exponent is not 2 (SQL that formats amounts the same way: src/store/order-lines.ts). */
export const EXPONENTS_NOT_2: Readonly<Record<string, number>> = EXPONENT;

export function currencyExponent(currency: string): number {
  return EXPONENT[currency.toUpperCase()] ?? 2;
}

export function isCurrencyCode(s: string): boolean {
  return /^[A-Z]{3}$/.test(s);
}

export class MoneyError extends Error {
  override readonly name = 'MoneyError';
}

/**
 * The largest amount, in minor units of any currency, that orderlink accepts from a provider:
 * 10^15 (ten trillion dollars in cents, a quadrillion yen). Far above any real order, and low
 * enough that the store's sums stay exact: one order total fits 2^53 (a JS number) with room to
 * spare, 9,000+ orders at the bound still fit SQLite's 64-bit integers, and every sum the store
 * computes is done in two exact halves (splitSum in src/store/rollups.ts), so no provider value
 * can make `sync`, `orders` or `orders stats` fail. A record with an amount outside
 * [-MAX_MINOR_UNITS, MAX_MINOR_UNITS] is an invalid record (skipped and named, run `partial`).
 */
export const MAX_MINOR_UNITS = 1_000_000_000_000_000;

/** Whether `n` is an integer amount in minor units within ±MAX_MINOR_UNITS. */
export function inMoneyRange(n: number): boolean {
  return Number.isSafeInteger(n) && Math.abs(n) <= MAX_MINOR_UNITS;
}

/**
 * A sum of amounts in minor units: a number while it is a safe integer (|x| <= 2^53 - 1), a
 * bigint beyond, so totals of many large orders stay exact. Single amounts are always numbers.
 */
export type MinorSum = number | bigint;

/** Normalise an exact bigint sum: a number when that is exact, else the bigint. */
export function minorSum(b: bigint): MinorSum {
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** a + b, exactly (numbers while the result is safe, bigint beyond). */
export function addMinor(a: MinorSum, b: MinorSum): MinorSum {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return minorSum(BigInt(a) + BigInt(b));
}

/** unit price × quantity, exactly. */
export function lineAmount(unitPrice: number, quantity: number): MinorSum {
  const p = unitPrice * quantity;
  return Number.isSafeInteger(p) ? p : minorSum(BigInt(unitPrice) * BigInt(quantity));
}

/** Compare two sums (for sorting and chart scales). */
export function compareMinor(a: MinorSum, b: MinorSum): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** "12.34" USD → 1234; "1200" JPY → 1200; "12.345" KWD → 12345; "-4.37" → -437. */
export function toMinorUnits(value: string | number, currency: string): number {
  const exp = currencyExponent(currency);
  const text = typeof value === 'number' ? numberToPlain(value) : value.trim();
  const m = /^([+-])?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new MoneyError(`"${text.slice(0, 32)}" is not a decimal amount`);
  const [, sign, whole, frac = ''] = m;
  const trimmed = frac.replace(/0+$/, '');
  if (trimmed.length > exp) throw new MoneyError(`"${text.slice(0, 32)}" has more decimals than ${currency} allows (${exp})`);
  const minor = Number(whole) * 10 ** exp + (exp ? Number(trimmed.padEnd(exp, '0')) : 0);
  if (!Number.isSafeInteger(minor) || minor > MAX_MINOR_UNITS) {
    throw new MoneyError(`"${text.slice(0, 32)}" is out of range (at most ${formatMinor(MAX_MINOR_UNITS, currency)} ${currency.toUpperCase()})`);
  }
  return sign === '-' ? -minor : minor;
}

function numberToPlain(n: number): string {
  if (!Number.isFinite(n)) throw new MoneyError(`${n} is not a finite amount`);
  // Numbers from JSON (e.g. Plaid) are doubles; 12 significant digits round-trip every real price.
  return Number(n.toPrecision(12)).toString();
}

/** 1234 USD → "12.34"; 1200 JPY → "1200"; 12345 KWD → "12.345" (exact for bigint sums too). */
export function formatMinor(minor: MinorSum, currency: string): string {
  const exp = currencyExponent(currency);
  const neg = minor < 0;
  const abs = neg ? -BigInt(minor) : BigInt(minor);
  if (exp === 0) return `${neg ? '-' : ''}${abs}`;
  const s = String(abs).padStart(exp + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}

const SYMBOL: Record<string, string> = { USD: '$', EUR: '€', GBP: '£', JPY: '¥', CAD: 'CA$', AUD: 'A$' };

/** For humans: "$12.34", "¥1,200", "KWD 12.345". */
export function displayMoney(minor: MinorSum, currency: string): string {
  const plain = formatMinor(minor, currency);
  const neg = plain.startsWith('-');
  const [whole = '0', frac] = (neg ? plain.slice(1) : plain).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const body = frac === undefined ? grouped : `${grouped}.${frac}`;
  const sym = SYMBOL[currency];
  return `${neg ? '-' : ''}${sym ? sym + body : `${currency} ${body}`}`;
}

/**
 * ISO 4217 currency codes (list one, active codes, as of 2025: XCG and ZWG included), plus a few
 * withdrawn since 2007 that still appear in old order histories (HRK, MRO, STD, VEF, BYR, CUC,
 * SLL, ZWL). Used to tell a typo (`--currency USS`) from a currency that simply has no orders.
 */
const ISO_4217 = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD ' +
    'CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL ' +
    'GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD ' +
    'KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO ' +
    'NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD ' +
    'SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV ' +
    'WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ' +
    'HRK MRO STD VEF BYR CUC SLL ZWL'
  ).split(' '),
);

/** Whether `code` (upper case) is an ISO 4217 currency code (see ISO_4217). */
export function isKnownCurrency(code: string): boolean {
  return ISO_4217.has(code);
}
