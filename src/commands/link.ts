/**
 * `orderlink link [CONNECTOR]`: link an account. Interactive (browser on a loopback redirect),
 * headless (`--no-browser`: the URL is printed and we wait), paste-the-URL (`--manual`), or
 * non-interactive for CI (a refresh token from stdin or a named environment variable, never argv,
 * validated by one refresh before anything is saved). `--reconnect` repairs a connection in place.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { parsePositiveInt } from './options.js';

export interface LinkOptions {
  connector?: string;
  alias?: string;
  baseUrl?: string;
  browser: boolean;
  timeoutSeconds: number;
  manual: boolean;
  refreshTokenStdin: boolean;
  refreshTokenEnv?: string;
  reconnect?: string;
  loginHint?: string;
  /** OAuth: where the orders API lives when it is not at the issuer. */
  apiUrl?: string;
  /** A provider environment: sandbox, development, production (aggregators). */
  environment?: string;
  /** Knot: which merchant to link. */
  merchant?: string;
  /** OAuth connectors whose client id is yours (Shopify, SP-API, configured providers). */
  clientId?: string;
  /** Link with the provider's test credentials, no browser (sandbox environments only). */
  nonInteractive?: boolean;
  /** OAuth: the issuer, when it is not the API (overrides a descriptor's). */
  issuer?: string;
  /** OAuth: a fixed loopback port for servers that match redirect URIs exactly. */
  redirectPort?: number;
  /** OAuth paste mode: the https redirect URI registered with the provider. */
  redirectUri?: string;
  /** Shopify: the shop's storefront domain. */
  shop?: string;
  /** amazon-seller: the marketplace id (its region follows from it). */
  marketplace?: string;
  /** amazon-seller: the Orders API version (2026-01-01 by default, v0 until its retirement). */
  api?: string;
}

export function register(cmd: Command, app: App): void {
  cmd
    .argument('[connector]', 'connector id (e.g. sandbox); omit to be asked "Where do you shop?"')
    .option('--alias <name>', 'name this account (several accounts per provider)', undefined)
    .option('--base-url <url>', 'provider base URL / issuer (sandbox: env ORDERLINK_SANDBOX_URL)')
    .option('--issuer <url>', 'OAuth: the issuer (discovery), when it differs from the API (kept with the connection)')
    .option('--redirect-port <port>', 'OAuth: listen on this fixed 127.0.0.1 port, for providers that match redirect URIs exactly (register http://127.0.0.1:PORT/callback/NAME)')
    .option('--redirect-uri <url>', 'OAuth paste mode: the https redirect URI you registered with the provider')
    .option('--shop <domain>', "shopify: the shop's storefront domain (e.g. shop.example.com)")
    .option('--api-url <url>', 'OAuth: the orders API base URL, when it is not at the issuer (kept with the connection)')
    .option('--no-browser', 'do not launch a browser; print the URL and wait (SSH sessions)')
    .option('--timeout <seconds>', 'give up waiting for the browser after this long', '300')
    .option('--manual', 'paste the final redirect URL instead of a loopback listener (providers that forbid http://127.0.0.1)', false)
    .option('--refresh-token-stdin', 'CI: read a refresh token from stdin instead of opening a browser', false)
    .option('--refresh-token-env <var>', 'CI: read a refresh token from this environment variable')
    .option('--reconnect <connection>', 're-link a connection in place (keeps its id and its orders)')
    .option('--login-hint <account>', 'suggest an account to the provider (sandbox: alice, bob, carol)')
    .option('--env <environment>', 'aggregators: sandbox, development or production (default: the first the connector lists)')
    .option('--merchant <name>', 'knot: the merchant account to link (amazon, walmart, target, …)')
    .option('--client-id <id>', 'OAuth connectors that use your own app: its client id (kept with the connection)')
    .option('--marketplace <id>', 'amazon-seller: the marketplace id, e.g. ATVPDKIKX0DER (US), A1PA6795UKMFR9 (DE), A1VC38T7YXB528 (JP)')
    .option('--api <version>', 'amazon-seller: the Orders API version, 2026-01-01 (default) or v0')
    .option('--sandbox', "CI and tests: link the provider's documented test account without a browser — exists only in test environments (Plaid sandbox: user_good at ins_109508; Knot development: user_good_transactions)", false)
    .addHelpText(
      'after',
      `
Examples:
  $ orderlink link                                      # "Where do you shop?"
  $ orderlink link sandbox --alias work                 # browser on a loopback redirect
  $ orderlink link sandbox --no-browser                 # print the URL, open it anywhere
  $ orderlink link sandbox --manual                     # paste the final URL back
  $ echo "$RT" | orderlink link sandbox --refresh-token-stdin     # CI, never in argv
  $ orderlink link sandbox --refresh-token-env SANDBOX_REFRESH_TOKEN
  $ orderlink link --reconnect sandbox:work             # after "reauth required"
  $ orderlink link plaid --sandbox                      # Plaid's sandbox test login (user_good), no browser
  $ orderlink link knot --merchant walmart              # Knot's login page on a loopback listener
  $ orderlink link knot --merchant amazon --sandbox     # Knot development: user_good_transactions
  $ orderlink link shopify --shop shop.example.com --client-id shp_…   # paste the final URL
  $ orderlink link myprovider --redirect-port 8765      # a server that wants http://127.0.0.1:8765/callback/myprovider
  $ printf %s "$LWA_REFRESH_TOKEN" | orderlink link amazon-seller --refresh-token-stdin --marketplace ATVPDKIKX0DER

Docs: docs/oauth.md`,
    )
    .action(
      (
        connector: string | undefined,
        o: { alias?: string; baseUrl?: string; browser: boolean; timeout: string; manual: boolean; refreshTokenStdin: boolean; refreshTokenEnv?: string; reconnect?: string; loginHint?: string; apiUrl?: string; env?: string; merchant?: string; clientId?: string; sandbox: boolean; issuer?: string; redirectPort?: string; redirectUri?: string; shop?: string; marketplace?: string; api?: string },
      ) => {
        if (o.refreshTokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.refreshTokenEnv)) {
          throw usageError('BAD_OPTION', '--refresh-token-env takes the NAME of an environment variable, not a token', 'Example: --refresh-token-env SANDBOX_REFRESH_TOKEN');
        }
        if (o.refreshTokenStdin && o.refreshTokenEnv) throw usageError('BAD_OPTION', 'use either --refresh-token-stdin or --refresh-token-env, not both');
        if (o.manual && (o.refreshTokenStdin || o.refreshTokenEnv)) throw usageError('BAD_OPTION', '--manual is a browser flow; it does not combine with a refresh token');
        if (o.sandbox && (o.manual || o.refreshTokenStdin || o.refreshTokenEnv)) throw usageError('BAD_OPTION', '--sandbox is its own flow; it does not combine with --manual or a refresh token');
        if (o.merchant !== undefined && !/^[a-z0-9][a-z0-9_.-]{0,39}$/i.test(o.merchant)) throw usageError('BAD_OPTION', '--merchant takes a merchant name such as amazon or walmart');
        if (o.shop !== undefined && !/^(https?:\/\/)?[a-z0-9.-]{1,253}(:\d{1,5})?\/?$/i.test(o.shop)) throw usageError('BAD_OPTION', '--shop takes the storefront domain, such as shop.example.com', 'It is the domain customers visit (not the myshopify.com admin URL, unless that is the storefront).');
        if (o.redirectPort !== undefined && (o.refreshTokenStdin || o.refreshTokenEnv)) throw usageError('BAD_OPTION', '--redirect-port is for the browser flows; it does not combine with a refresh token');
        if (o.marketplace !== undefined && !/^[A-Z0-9]{8,20}$/.test(o.marketplace)) throw usageError('BAD_OPTION', '--marketplace takes a marketplace id such as ATVPDKIKX0DER', 'See docs/amazon-seller.md for the ids of each country.');
        if (o.api !== undefined && o.api !== 'v0' && o.api !== '2026-01-01') throw usageError('BAD_OPTION', '--api takes 2026-01-01 or v0');
        const opts: LinkOptions = {
          ...(connector ? { connector } : {}),
          ...(o.alias ? { alias: o.alias } : {}),
          ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
          browser: o.browser,
          timeoutSeconds: parsePositiveInt(o.timeout, '--timeout', 3600),
          manual: o.manual,
          refreshTokenStdin: o.refreshTokenStdin,
          ...(o.refreshTokenEnv ? { refreshTokenEnv: o.refreshTokenEnv } : {}),
          ...(o.reconnect ? { reconnect: o.reconnect } : {}),
          ...(o.loginHint ? { loginHint: o.loginHint } : {}),
          ...(o.apiUrl ? { apiUrl: o.apiUrl } : {}),
          ...(o.env ? { environment: o.env } : {}),
          ...(o.merchant ? { merchant: o.merchant } : {}),
          ...(o.clientId ? { clientId: o.clientId } : {}),
          nonInteractive: o.sandbox,
          ...(o.issuer ? { issuer: o.issuer } : {}),
          ...(o.redirectPort !== undefined ? { redirectPort: parsePositiveInt(o.redirectPort, '--redirect-port', 65535) } : {}),
          ...(o.redirectUri ? { redirectUri: o.redirectUri } : {}),
          ...(o.shop ? { shop: o.shop } : {}),
          ...(o.marketplace ? { marketplace: o.marketplace } : {}),
          ...(o.api ? { api: o.api } : {}),
        };
        return app.run('link', opts, runLink);
      },
    );
}

export async function runLink(ctx: Context, opts: LinkOptions): Promise<number> {
  const { linkAccount } = await import('../link/index.js');
  const { pickRetailer } = await import('../link/picker.js');
  let o = opts;
  if (!o.connector && !o.reconnect) {
    if (!(ctx.io.stdinIsTTY && ctx.io.stderrIsTTY)) {
      throw usageError('CONNECTOR_REQUIRED', 'name a connector to link (no terminal to ask on)', 'Example: orderlink link sandbox. See `orderlink link --help`.');
    }
    const chosen = await pickRetailer(ctx);
    if (typeof chosen === 'number') return chosen;
    o = { ...o, connector: chosen.connector, ...(chosen.params.merchant && !o.merchant ? { merchant: chosen.params.merchant } : {}) };
  }
  const result = await linkAccount(ctx, o);
  const io = ctx.io;
  if (ctx.json) {
    const { printJson } = await import('../ui/render.js');
    printJson(io, { linked: true, reconnected: result.reconnected, connection: result.connection });
  } else {
    const { safeText } = await import('../ui/safe-text.js');
    io.err(`${io.errColor.green('✓')} ${result.reconnected ? 'Re-linked' : 'Linked'} ${safeText(result.connection.handle)} (${safeText(result.connection.account_label ?? 'account')}) as connection ${result.connection.id}.`);
    io.err(`  Next: orderlink sync ${safeText(result.connection.handle)}`);
  }
  return 0;
}
