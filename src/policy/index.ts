/**
 * The policy layer (seed 000's "Permissions & Policy Layer", SECURITY.md rule 24). Every raw
 * record passes through here before validation, mapping and the store:
 * 1. the connector's allow-list keeps only the fields it declared — payment objects, card
 *    brands and last fours, addresses and notes are dropped because nobody listed them;
 * 2. every string longer than the field limit (MAX_FIELD_CHARS, SECURITY.md rule 28) is replaced
 *    by an OversizedField marker, so that the record fails its schema with a message naming the
 *    field and the limit: an invalid record (rule 23), named and skipped — never stored whole,
 *    never silently truncated (a cut name or id would be a different, wrong value);
 * 3. every declared free-text field is scrubbed of card-number-like digit runs that pass the
 *    Luhn check, whatever field they hide in.
 */
import { z } from 'zod';

/**
 * The longest string any field of a provider record may hold: 4,096 characters (ids, names,
 * SKUs, categories, retailers, dates, amounts alike; real values are far shorter). Overridable
 * with ORDERLINK_MAX_FIELD_CHARS (tests, unusual providers); read once per process.
 */
export const DEFAULT_MAX_FIELD_CHARS = 4096;
let maxFieldChars: number | undefined;
export function fieldLimit(): number {
  if (maxFieldChars === undefined) {
    const v = process.env.ORDERLINK_MAX_FIELD_CHARS;
    maxFieldChars = v !== undefined && /^[1-9]\d{0,9}$/.test(v) ? Number(v) : DEFAULT_MAX_FIELD_CHARS;
  }
  return maxFieldChars;
}

/** Stands in for a string over the limit: its length only, never its text. */
export class OversizedField {
  constructor(readonly length: number, readonly limit: number) {}
  get message(): string {
    return `longer than the ${this.limit.toLocaleString('en-US')}-character limit (${this.length.toLocaleString('en-US')} characters)`;
  }
}

/**
 * zod's error map (its documented global `customError` hook) learns to describe the marker: any
 * schema that meets one reports "longer than the N-character limit" at that field. A union (a
 * record that may be an order or a tombstone) reports the marker's field inside its message,
 * because the union's own issue sits at the record's root.
 */
const OVERSIZED = 'longer than the ';
z.config({
  customError: (iss) => {
    if (iss.input instanceof OversizedField) return iss.input.message;
    if (iss.code === 'invalid_union') {
      for (const branch of iss.errors) {
        const hit = branch.find((i) => i.message.startsWith(OVERSIZED));
        if (hit) return `${hit.path.map(String).join('.')}: ${hit.message}`;
      }
    }
    return undefined;
  },
});

/** Replace every over-long string in a (policy-owned copy of a) record by an OversizedField. */
export function markOversized(value: unknown, limit = fieldLimit()): unknown {
  if (typeof value === 'string') return value.length > limit ? new OversizedField(value.length, limit) : value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = markOversized(value[i], limit);
    return value;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof OversizedField)) {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) obj[k] = markOversized(obj[k], limit);
  }
  return value;
}

type AllowTree = { [key: string]: AllowTree | true };

const treeCache = new WeakMap<readonly string[], AllowTree>();

function buildTree(paths: readonly string[]): AllowTree {
  const cached = treeCache.get(paths);
  if (cached) return cached;
  const root: AllowTree = {};
  for (const path of paths) {
    const parts = path.split('.').flatMap((p) => (p.endsWith('[]') ? [p.slice(0, -2), '[]'] : [p]));
    let node = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        node[part] = true;
        return;
      }
      const next = node[part];
      if (next === true) return;
      node = node[part] = next ?? {};
    });
  }
  treeCache.set(paths, root);
  return root;
}

function pick(value: unknown, tree: AllowTree | true): unknown {
  if (tree === true) return value;
  if (Array.isArray(value)) {
    const each = tree['[]'];
    return each === undefined ? undefined : value.map((v) => pick(v, each));
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of Object.entries(tree)) {
    if (k === '[]') continue;
    if (Object.prototype.hasOwnProperty.call(value, k)) {
      const v = pick((value as Record<string, unknown>)[k], sub);
      if (v !== undefined) out[k] = v;
    }
  }
  return out;
}

/** Keep only the allow-listed fields of a raw record. */
export function applyAllowList(raw: unknown, allowList: readonly string[]): unknown {
  return pick(raw, buildTree(allowList));
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** 13–19 digits, optionally grouped by single spaces or dashes (how card numbers are written). */
const CARD_RUN = /(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])/g;
export const CARD_REDACTION = '[card number removed]';

/** Replace every Luhn-valid card-number-like run in a string. */
export function redactCardNumbers(text: string): string {
  // Fast path for the common case (names, SKUs): fewer than 13 digits cannot hold a card number.
  let digits = 0;
  for (let i = 0; i < text.length && digits < 13; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  if (digits < 13) return text;
  return text.replace(CARD_RUN, (run) => {
    const digits = run.replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? CARD_REDACTION : run;
  });
}

function scrubPath(value: unknown, parts: string[]): unknown {
  if (parts.length === 0) return typeof value === 'string' ? redactCardNumbers(value) : value;
  const [head, ...rest] = parts as [string, ...string[]];
  if (head === '[]') return Array.isArray(value) ? value.map((v) => scrubPath(v, rest)) : value;
  if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, head)) return value;
  const obj = value as Record<string, unknown>;
  obj[head] = scrubPath(obj[head], rest);
  return obj;
}

/** Free-text paths split once per connector list (the lists are module constants). */
const splitCache = new WeakMap<readonly string[], string[][]>();

/** Scrub card numbers from the declared free-text fields (in place on the allow-listed copy). */
export function scrubFreeText(record: unknown, paths: readonly string[]): unknown {
  let split = splitCache.get(paths);
  if (!split) splitCache.set(paths, (split = paths.map((p) => p.split('.').flatMap((x) => (x.endsWith('[]') ? [x.slice(0, -2), '[]'] : [x])))));
  let out = record;
  for (const parts of split) out = scrubPath(out, parts);
  return out;
}

/** The whole policy for one raw record: allow-list, field limits, card-number scrubbing. */
export function applyPolicy(raw: unknown, allowList: readonly string[], freeText: readonly string[]): unknown {
  return scrubFreeText(markOversized(applyAllowList(raw, allowList)), freeText);
}
