/**
 * Is this card charge's merchant the retailer of that order? Banks print descriptors
 * ("AMAZON.COM*AB12C", "AMZN Mktp US", "WAL-MART #1234", "PURCHASE WM SUPERCENTER #1700") where
 * order sources print names ("Amazon.com", "Walmart"). Two steps, both pure:
 *
 * 1. A small alias table (BRANDS, documented in docs/reconcile.md): a text that contains one of a
 *    brand's word sequences belongs to that brand. Two texts of two different known brands never
 *    match, whatever their words share.
 * 2. Otherwise token similarity: both texts are reduced to their meaningful words (lower case,
 *    punctuation out, store numbers and reference codes out, bank noise such as "purchase",
 *    "pos", "checkcard" out); they match when the words joined are equal, or their Jaccard
 *    similarity is at least 0.5.
 */

export interface Brand {
  /** A stable key (also the label when no order names the brand). */
  key: string;
  label: string;
  /** Word sequences (already normalised) that identify the brand anywhere in a text. */
  patterns: readonly string[];
}

/** Keep short and certain: a wrong alias would match a charge to the wrong shop. */
export const BRANDS: readonly Brand[] = [
  { key: 'amazon', label: 'Amazon', patterns: ['amazon', 'amzn', 'amazon mktp', 'amazon mktpl', 'amzn mktp', 'amazon marketplace', 'amazon com'] },
  { key: 'walmart', label: 'Walmart', patterns: ['walmart', 'wal mart', 'wm supercenter', 'walmart com'] },
  { key: 'target', label: 'Target', patterns: ['target', 'target com'] },
  { key: 'costco', label: 'Costco', patterns: ['costco', 'costco whse'] },
  { key: 'wholefoods', label: 'Whole Foods Market', patterns: ['whole foods', 'wholefds', 'whole foods market'] },
  { key: 'doordash', label: 'DoorDash', patterns: ['doordash', 'dd doordash'] },
  { key: 'macys', label: "Macy's", patterns: ['macys'] },
  { key: 'bestbuy', label: 'Best Buy', patterns: ['best buy', 'bestbuy'] },
  { key: 'homedepot', label: 'The Home Depot', patterns: ['home depot', 'homedepot'] },
  { key: 'ebay', label: 'eBay', patterns: ['ebay'] },
  { key: 'etsy', label: 'Etsy', patterns: ['etsy'] },
  { key: 'instacart', label: 'Instacart', patterns: ['instacart'] },
];

/** Words banks put around a merchant's name that say nothing about who it is. */
const NOISE = new Set([
  'purchase', 'pos', 'debit', 'credit', 'card', 'checkcard', 'check', 'visa', 'mastercard', 'payment', 'recurring', 'online',
  'www', 'com', 'inc', 'llc', 'ltd', 'co', 'corp', 'store', 'stores', 'the', 'us', 'usa', 'sq', 'tst', 'pp', 'paypal', 'mktp', 'mktpl',
]);

/** Lower case, apostrophes dropped ("Macy's" → "macys"), every other non-alphanumeric run → one space. */
export function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['’`]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** The brand a text names, if the alias table knows it. */
export function brandOf(text: string): Brand | undefined {
  const t = ` ${normalise(text)} `;
  return BRANDS.find((b) => b.patterns.some((p) => t.includes(` ${p} `)));
}

/** Meaningful words: no noise, no numbers or codes with digits, no single letters. */
export function tokens(text: string): string[] {
  return normalise(text)
    .split(' ')
    .filter((w) => w.length > 1 && !/\d/.test(w) && !NOISE.has(w));
}

export interface MerchantMatch {
  /** 0..1: 1 for a brand both sides name, the similarity otherwise. */
  similarity: number;
  via: 'alias' | 'tokens';
}

/** Whether the charge's merchant text and the order's retailer name the same shop, and how sure. */
export function merchantMatch(chargeMerchant: string, retailer: string): MerchantMatch | undefined {
  const a = brandOf(chargeMerchant);
  const b = brandOf(retailer);
  if (a && b) return a.key === b.key ? { similarity: 1, via: 'alias' } : undefined;
  if (a || b) {
    // One side is a known brand, the other is not recognisably it: only an exact word match of the
    // brand's name in the other text counts (covered by brandOf), so this is no match.
    return undefined;
  }
  const x = tokens(chargeMerchant);
  const y = tokens(retailer);
  if (x.length === 0 || y.length === 0) return undefined;
  if (x.join('') === y.join('')) return { similarity: 1, via: 'tokens' };
  const sx = new Set(x);
  const sy = new Set(y);
  const common = [...sx].filter((w) => sy.has(w)).length;
  const jaccard = common / new Set([...sx, ...sy]).size;
  return jaccard >= 0.5 ? { similarity: Math.round(jaccard * 100) / 100, via: 'tokens' } : undefined;
}

/**
 * A label to group a charge under with orders (`orders stats --by retailer --include-charges`):
 * the retailer name orders already use for its brand, else the brand's label, else the merchant.
 */
export function chargeLabel(merchant: string, retailersByBrand: ReadonlyMap<string, string>): string {
  const b = brandOf(merchant);
  if (!b) return merchant;
  return retailersByBrand.get(b.key) ?? b.label;
}
