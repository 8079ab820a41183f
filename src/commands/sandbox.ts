/** `orderlink sandbox serve`: the built-in provider on 127.0.0.1, for connector authors and tests. */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { parsePositiveInt } from './options.js';
import { usageError } from '../errors.js';
import { printJson } from '../ui/render.js';
import { FAULTS_HELP } from '../sandbox/faults.js'; // small: the server itself loads only on `serve`
import { serveUntilInterrupted } from '../sandbox/serving.js';

export interface SandboxServeOptions {
  port: number;
  orders: number;
  seed: number;
  accounts: number;
  faults?: string;
  autoConsent: boolean;
  /** Which provider to run: the built-in sandbox, or a replica of a real provider's API. */
  provider?: Provider;
  /** amazon-seller: the replica's usage plans, `operation=rate:burst,…` (the grammar of ORDERLINK_RATE_PLAN). */
  ratePlan?: string;
  /** More redirect paths registered for the client (descriptor connectors: /callback/NAME). */
  redirectPaths?: string[];
}

type Provider = 'sandbox' | 'plaid' | 'knot' | 'amazon-seller' | 'shopify';
const PROVIDERS: readonly Provider[] = ['sandbox', 'plaid', 'knot', 'amazon-seller', 'shopify'];

export function register(cmd: Command, app: App): void {
  const serve = cmd
    .command('serve')
    .description('Run the sandbox provider (OAuth 2.0 / OIDC server + orders API), or a replica of a real provider (--provider), until stopped')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', '0')
    .option('--orders <n>', 'orders per sandbox account', '250')
    .option('--seed <n>', 'seed of the deterministic data', '42')
    .option('--accounts <n>', 'number of sandbox accounts (alice, bob, carol, ...)', '3')
    .option('--faults <spec>', 'fault injection spec (see below)')
    .option('--auto-consent', 'approve every authorization request without a screen (tests, CI, demo)', false)
    .option('--provider <name>', 'sandbox (the built-in provider), plaid (a replica of the Plaid API; --orders = transactions per Item), knot (a replica of Knot TransactionLink; --orders = transactions per account), amazon-seller (a replica of Login with Amazon + the SP-API Orders API; --orders = the seller\'s orders) or shopify (a replica of one shop\'s Customer Account API; --orders per customer, --accounts = customers)', 'sandbox')
    .option('--rate-plan <spec>', 'amazon-seller: the usage plans the replica enforces, operation=rate:burst,... (as ORDERLINK_RATE_PLAN; default: Amazon\'s documented plans)')
    .option('--redirect-path <path...>', 'also register these loopback redirect paths (a descriptor connector NAME uses /callback/NAME)');
  serve.addHelpText(
    'after',
    `
Examples:
  $ orderlink sandbox serve --port 4010
  $ orderlink sandbox serve --auto-consent --orders 5000 --faults "latency=20ms,rate429=every:5"
  $ ORDERLINK_SANDBOX_URL=http://127.0.0.1:4010 orderlink link sandbox
  $ orderlink sandbox serve --provider knot --faults rate429=5
  $ orderlink sandbox serve --provider amazon-seller --orders 5000 --rate-plan "searchOrders=5:15" --faults drain=searchOrders
  $ orderlink sandbox serve --provider shopify --accounts 2 --faults throttle=1:2
  (each replica prints its URL on stdout, and on stderr the setup and link commands to run against it)

${FAULTS_HELP}

Replicas take their own faults instead (a wrong one is refused with the list):
  plaid          rate429=N, mutation=N, error500=N, latency=MSms, not_ready=N
  knot           rate429=N, error503=N, latency=MSms
  amazon-seller  access-ttl=SECONDS, drain=OPERATION   (usage plans: --rate-plan)
  shopify        rpm=N, throttle=N[:SECONDS], access-ttl=SECONDS

Docs: docs/sandbox.md`,
  );
  serve.action((o: { port: string; orders: string; seed: string; accounts: string; faults?: string; autoConsent: boolean; provider: string; redirectPath?: string[]; ratePlan?: string }) => {
    const provider = providerOption(o.provider);
    if (o.ratePlan !== undefined && provider !== 'amazon-seller') throw usageError('BAD_OPTION', '--rate-plan is for --provider amazon-seller (the replica with usage plans)');
    return app.run(
      'sandbox serve',
      {
        port: o.port === '0' ? 0 : parsePositiveInt(o.port, '--port', 65535),
        orders: parsePositiveInt(o.orders, '--orders', 5_000_000),
        seed: parsePositiveInt(o.seed, '--seed'),
        accounts: parsePositiveInt(o.accounts, '--accounts', 26),
        ...(o.faults ? { faults: o.faults } : {}),
        autoConsent: o.autoConsent,
        ...(provider === 'sandbox' ? {} : { provider }),
        ...(o.ratePlan !== undefined ? { ratePlan: o.ratePlan } : {}),
        ...(o.redirectPath?.length ? { redirectPaths: ['/callback/sandbox', ...o.redirectPath] } : {}),
      } satisfies SandboxServeOptions,
      runSandboxServe,
    );
  });
  cmd.addHelpText('after', '\nExamples:\n  $ orderlink sandbox serve --auto-consent\n');
}

function providerOption(v: string): Provider {
  const p = PROVIDERS.find((x) => x === v);
  if (!p) throw usageError('BAD_OPTION', `--provider must be sandbox, plaid, knot, amazon-seller or shopify, got "${v.slice(0, 20)}"`);
  return p;
}

export async function runSandboxServe(ctx: Context, o: SandboxServeOptions): Promise<number> {
  if (o.provider === 'plaid') return (await import('../sandbox/replicas/plaid-serve.js')).servePlaidReplica(ctx, o);
  if (o.provider === 'knot') return (await import('../sandbox/replicas/knot-serve.js')).serveKnotReplica(ctx, o);
  if (o.provider === 'amazon-seller') return (await import('../sandbox/replicas/amazon-seller-serve.js')).serveAmazonSellerReplica(ctx, o);
  if (o.provider === 'shopify') return (await import('../sandbox/replicas/shopify-serve.js')).serveShopifyReplica(ctx, o);
  const { startSandbox, parseFaults } = await import('../sandbox/index.js');
  if (o.faults) parseFaults(o.faults); // a bad spec is a usage error before anything starts
  const sb = await startSandbox({
    port: o.port,
    orders: o.orders,
    seed: o.seed,
    accounts: o.accounts,
    autoConsent: o.autoConsent,
    ...(o.faults ? { faults: o.faults } : {}),
    ...(o.redirectPaths ? { redirectPaths: o.redirectPaths } : {}),
  });
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, { issuer: sb.issuer, client_id: sb.clientId, orders_per_account: o.orders, seed: o.seed, auto_consent: o.autoConsent });
  } else {
    io.out(sb.issuer);
    io.err(`${io.errColor.green('●')} sandbox provider listening on ${sb.issuer}`);
    io.err(`  discovery   ${sb.issuer}/.well-known/openid-configuration`);
    io.err(`  orders API  ${sb.issuer}/api/v1/orders   (profile: /api/v1/me)`);
    io.err(`  client id   ${sb.clientId} (public, PKCE S256, loopback redirects on any port)`);
    io.err(`  consent     ${o.autoConsent ? 'automatic (--auto-consent)' : 'in the browser'}; ${o.orders} orders per account, seed ${o.seed}`);
    if (o.faults) io.err(`  faults      ${o.faults}`);
    io.err(`Link to it:  ORDERLINK_SANDBOX_URL=${sb.issuer} orderlink link sandbox`);
    io.err('Press Ctrl-C to stop.');
  }
  return serveUntilInterrupted(ctx, sb, 'sandbox');
}
