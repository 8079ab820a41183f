/** `orderlink sandbox serve`: the built-in provider on 127.0.0.1, for connector authors and tests. */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { parsePositiveInt } from './options.js';
import { usageError } from '../errors.js';
import { printJson } from '../ui/render.js';
import { FAULTS_HELP } from '../sandbox/faults.js'; // small: the server itself loads only on `serve`

export interface SandboxServeOptions {
  port: number;
  orders: number;
  seed: number;
  accounts: number;
  faults?: string;
  autoConsent: boolean;
  /** Which provider to run: the built-in sandbox, or a replica of a real provider's API. */
  provider?: 'sandbox' | 'plaid' | 'knot';
  /** More redirect paths registered for the client (descriptor connectors: /callback/NAME). */
  redirectPaths?: string[];
}

export function register(cmd: Command, app: App): void {
  const serve = cmd
    .command('serve')
    .description('Run the sandbox provider (OAuth 2.0 / OIDC server + orders API) until stopped')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', '0')
    .option('--orders <n>', 'orders per sandbox account', '250')
    .option('--seed <n>', 'seed of the deterministic data', '42')
    .option('--accounts <n>', 'number of sandbox accounts (alice, bob, carol, ...)', '3')
    .option('--faults <spec>', 'fault injection spec (see below)')
    .option('--auto-consent', 'approve every authorization request without a screen (tests, CI, demo)', false)
    .option('--provider <name>', 'sandbox (the built-in provider), plaid (a replica of the Plaid API; --orders = transactions per Item) or knot (a replica of Knot TransactionLink; --orders = transactions per account)', 'sandbox')
    .option('--redirect-path <path...>', 'also register these loopback redirect paths (a descriptor connector NAME uses /callback/NAME)');
  serve.addHelpText(
    'after',
    `
Examples:
  $ orderlink sandbox serve --port 4010
  $ orderlink sandbox serve --auto-consent --orders 5000 --faults "latency=20ms,rate429=every:5"
  $ ORDERLINK_SANDBOX_URL=http://127.0.0.1:4010 orderlink link sandbox

${FAULTS_HELP}

Docs: docs/sandbox.md`,
  );
  serve.action((o: { port: string; orders: string; seed: string; accounts: string; faults?: string; autoConsent: boolean; provider: string; redirectPath?: string[] }) =>
    app.run(
      'sandbox serve',
      {
        port: o.port === '0' ? 0 : parsePositiveInt(o.port, '--port', 65535),
        orders: parsePositiveInt(o.orders, '--orders', 5_000_000),
        seed: parsePositiveInt(o.seed, '--seed'),
        accounts: parsePositiveInt(o.accounts, '--accounts', 26),
        ...(o.faults ? { faults: o.faults } : {}),
        autoConsent: o.autoConsent,
        ...(o.provider === 'sandbox' ? {} : { provider: providerOption(o.provider) }),
        ...(o.redirectPath?.length ? { redirectPaths: ['/callback/sandbox', ...o.redirectPath] } : {}),
      } satisfies SandboxServeOptions,
      runSandboxServe,
    ),
  );
  cmd.addHelpText('after', '\nExamples:\n  $ orderlink sandbox serve --auto-consent\n');
}

function providerOption(v: string): 'plaid' | 'knot' {
  if (v !== 'plaid' && v !== 'knot') throw usageError('BAD_OPTION', `--provider must be sandbox, plaid or knot, got "${v.slice(0, 20)}"`);
  return v;
}

export async function runSandboxServe(ctx: Context, o: SandboxServeOptions): Promise<number> {
  if (o.provider === 'plaid') return (await import('../sandbox/replicas/plaid-serve.js')).servePlaidReplica(ctx, o);
  if (o.provider === 'knot') return (await import('../sandbox/replicas/knot-serve.js')).serveKnotReplica(ctx, o);
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
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await sb.close();
  if (!ctx.json) io.err('sandbox stopped');
  return 0;
}
