/**
 * SP-API geography (../shared/CONNECTORS.md §1.2): three regional hosts, their sandbox twins, and
 * which marketplace ids live in which region. The marketplace id a seller links with decides the
 * region, so `--marketplace A1PA6795UKMFR9` (Germany) goes to the EU host without a second flag.
 */
import { OrderlinkError } from '../../errors.js';
import type { ConnectionConfig } from '../types.js';

export type Region = 'na' | 'eu' | 'fe';

/** Production and sandbox hosts [V]; environments are `<region>` and `<region>-sandbox`. */
export const ENVIRONMENTS: Record<string, string> = {
  na: 'https://sellingpartnerapi-na.amazon.com',
  eu: 'https://sellingpartnerapi-eu.amazon.com',
  fe: 'https://sellingpartnerapi-fe.amazon.com',
  'na-sandbox': 'https://sandbox.sellingpartnerapi-na.amazon.com',
  'eu-sandbox': 'https://sandbox.sellingpartnerapi-eu.amazon.com',
  'fe-sandbox': 'https://sandbox.sellingpartnerapi-fe.amazon.com',
};

/** Login with Amazon's token endpoint [V]: the same for every region and for the sandbox. */
export const LWA_TOKEN_ENDPOINT = 'https://api.amazon.com/auth/o2/token';

/**
 * Marketplace id → region and currency. The ids of US, CA, MX, BR, UK, DE, FR, IT, ES, JP and AU
 * are the ones CONNECTORS.md lists (a third-party table consistent with the model examples); the
 * rest are Amazon's published ids as commonly used by SDKs (same caveat).
 */
export const MARKETPLACES: Record<string, { country: string; region: Region; currency: string }> = {
  ATVPDKIKX0DER: { country: 'US', region: 'na', currency: 'USD' },
  A2EUQ1WTGCTBG2: { country: 'CA', region: 'na', currency: 'CAD' },
  A1AM78C64UM0Y8: { country: 'MX', region: 'na', currency: 'MXN' },
  A2Q3Y263D00KWC: { country: 'BR', region: 'na', currency: 'BRL' },
  A1F83G8C2ARO7P: { country: 'UK', region: 'eu', currency: 'GBP' },
  A1PA6795UKMFR9: { country: 'DE', region: 'eu', currency: 'EUR' },
  A13V1IB3VIYZZH: { country: 'FR', region: 'eu', currency: 'EUR' },
  APJ6JRA9NG5V4: { country: 'IT', region: 'eu', currency: 'EUR' },
  A1RKKUPIHCS9HS: { country: 'ES', region: 'eu', currency: 'EUR' },
  A1805IZSGTT6HS: { country: 'NL', region: 'eu', currency: 'EUR' },
  A2NODRKZP88ZB9: { country: 'SE', region: 'eu', currency: 'SEK' },
  A1C3SOZRARQ6R3: { country: 'PL', region: 'eu', currency: 'PLN' },
  AMEN7PMS3EDWL: { country: 'BE', region: 'eu', currency: 'EUR' },
  A28R8C7NBKEWEA: { country: 'IE', region: 'eu', currency: 'EUR' },
  A33AVAJ2PDY3EV: { country: 'TR', region: 'eu', currency: 'TRY' },
  A2VIGQ35RCS4UG: { country: 'AE', region: 'eu', currency: 'AED' },
  A21TJRUUN4KGV: { country: 'IN', region: 'eu', currency: 'INR' },
  A17E79C6D8DWNP: { country: 'SA', region: 'eu', currency: 'SAR' },
  ARBP9OOSHTCHU: { country: 'EG', region: 'eu', currency: 'EGP' },
  AE08WJ6YKNBMC: { country: 'ZA', region: 'eu', currency: 'ZAR' },
  A1VC38T7YXB528: { country: 'JP', region: 'fe', currency: 'JPY' },
  A39IBJ37TRP1C6: { country: 'AU', region: 'fe', currency: 'AUD' },
  A19VAU5U5O7RUS: { country: 'SG', region: 'fe', currency: 'SGD' },
};

export const API_VERSIONS = ['2026-01-01', 'v0'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

const usage = (code: string, message: string, hint: string) => new OrderlinkError(code, message, { kind: 'usage', hint });

/**
 * Link time: the marketplace is required; the region follows from it (or from `--env`); the
 * environment is the region's production credentials if set up, else its sandbox ones. Pure.
 */
export function completeConfig(config: ConnectionConfig, setUp: readonly string[]): ConnectionConfig {
  const marketplace = config.marketplace;
  if (!marketplace) {
    throw usage('MARKETPLACE_REQUIRED', 'amazon-seller needs the marketplace whose orders to sync', 'Add --marketplace ID, e.g. ATVPDKIKX0DER (US), A1F83G8C2ARO7P (UK), A1PA6795UKMFR9 (DE), A1VC38T7YXB528 (JP); see docs/amazon-seller.md.');
  }
  const api = config.api ?? '2026-01-01';
  if (!(API_VERSIONS as readonly string[]).includes(api)) throw usage('BAD_OPTION', `unknown Orders API version "${api.slice(0, 20)}"`, 'Use --api 2026-01-01 (default) or --api v0.');
  const known = MARKETPLACES[marketplace];
  const explicitEnv = config.environment;
  if (explicitEnv !== undefined && !(explicitEnv in ENVIRONMENTS)) {
    throw usage('BAD_ENVIRONMENT', `amazon-seller has no environment "${explicitEnv.slice(0, 30)}"`, `Use one of: ${Object.keys(ENVIRONMENTS).join(', ')}.`);
  }
  const region = (explicitEnv?.split('-')[0] as Region | undefined) ?? known?.region;
  if (!region) {
    throw usage('UNKNOWN_MARKETPLACE', `orderlink does not know which region marketplace ${marketplace} belongs to`, 'Name the region: --env na, --env eu or --env fe (append -sandbox for the sandbox).');
  }
  if (known && known.region !== region) {
    throw usage('MARKETPLACE_REGION_MISMATCH', `marketplace ${marketplace} (${known.country}) is served by the ${known.region.toUpperCase()} region, not ${region.toUpperCase()}`, `Drop --env, or use --env ${known.region}.`);
  }
  const environment = explicitEnv ?? (setUp.includes(region) ? region : setUp.includes(`${region}-sandbox`) ? `${region}-sandbox` : undefined);
  if (environment === undefined || !setUp.includes(environment)) {
    throw new OrderlinkError('APP_CREDENTIALS_MISSING', `amazon-seller has no app credentials for the ${region.toUpperCase()} region${explicitEnv?.endsWith('-sandbox') ? ' sandbox' : ''}`, {
      hint: `Store your LWA client id and secret first: orderlink connector setup amazon-seller --region ${region}${explicitEnv?.endsWith('-sandbox') ? ' --sandbox' : ''}`,
    });
  }
  return { ...config, marketplace, api, region, environment };
}

/**
 * A window boundary as the API sends it, as UTC ISO 8601: ISO text, or — as in the official v0
 * sandbox (`"CreatedBefore": "1.569521782042E9"`) — epoch seconds written as a number string.
 * Anything else is null (the caller falls back to the newest update it saw).
 */
export function parseBoundary(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  if (/^\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isFinite(ms) && ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : null;
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}
