/**
 * `orderlink demo`: the main job, end to end, on any machine. A fresh temporary home (or --home),
 * the sandbox provider in-process with auto-consent, two accounts linked through the REAL
 * loopback listener (a tiny in-process browser follows the redirects), a sync with progress, the
 * newest orders, the spending chart and the audit trail. The vault key is a random in-memory
 * env key, so no keychain is needed — and the demo says so.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { App } from '../cli.js';
import { createContext, type Context } from '../context.js';
import { usageError } from '../errors.js';
import { parsePositiveInt } from './options.js';

export interface DemoOptions {
  home?: string;
  orders: number;
  seed: number;
  /** Keep the temporary home at the end (it is removed otherwise). */
  keep?: boolean;
}

export function register(cmd: Command, app: App): void {
  cmd
    .option('--orders <n>', 'orders per sandbox account', '300')
    .option('--seed <n>', 'seed of the sandbox data', '42')
    .option('--keep', 'keep the temporary home at the end, to explore it with the commands printed', false)
    .addHelpText(
      'after',
      `
Examples:
  $ orderlink demo                                       # a temporary home, removed at the end
  $ orderlink demo --keep                                # keep it, and try the commands it prints
  $ npm run demo
  $ orderlink --home /tmp/ol-demo demo --orders 5000     # a new directory you choose (kept)

It never touches your real data or your keychain: it refuses a --home that already holds a
profile, and ignores ORDERLINK_HOME.`,
    )
    .action((o: { orders: string; seed: string; keep: boolean }) =>
      app.run(
        'demo',
        { orders: parsePositiveInt(o.orders, '--orders', 1_000_000), seed: parsePositiveInt(o.seed, '--seed'), ...(o.keep ? { keep: true } : {}) } satisfies DemoOptions,
        runDemo,
      ),
    );
}

export async function runDemo(parent: Context, o: DemoOptions): Promise<number> {
  const io = parent.io;
  const c = io.errColor;
  const step = (n: number, text: string) => io.err(`\n${c.bold.cyan(`${n}.`)} ${c.bold(text)}`);
  // ORDERLINK_HOME names the person's real data: the demo never uses it. --home it honours, but
  // only for a directory that holds no profile yet (never writes into an existing profile).
  const fromEnv = parent.env.ORDERLINK_HOME !== undefined && resolve(parent.env.ORDERLINK_HOME) === parent.paths.home;
  const chosen = o.home ?? (parent.homeExplicit && !fromEnv ? parent.paths.home : undefined);
  if (chosen !== undefined && hasProfile(chosen)) {
    throw usageError('DEMO_HOME_IN_USE', `${chosen} already holds an orderlink profile; the demo never writes into one`, 'Run `orderlink demo` without --home (a temporary home is used), or give it a new, empty directory.');
  }
  const temporary = chosen === undefined;
  const home = chosen ?? mkdtempSync(join(tmpdir(), 'orderlink-demo-'));
  // An in-memory key: the demo works without a keychain, and says so.
  const env: NodeJS.ProcessEnv = { ...parent.env, ORDERLINK_VAULT_KEY: randomBytes(32).toString('base64') };
  delete env.ORDERLINK_VAULT_PASSPHRASE;
  const { startSandbox } = await import('../sandbox/index.js');
  const { visitWithRedirects } = await import('../demo/browser.js');

  io.err(c.bold('orderlink demo') + c.dim(' — link → sync → query, against the built-in sandbox provider'));
  io.err(c.dim(`home: ${home}${temporary ? (o.keep ? ' (temporary, kept: --keep)' : ' (temporary, removed at the end; --keep keeps it)') : ''}; vault key: a random in-memory key for this demo only (your keychain is not used)`));

  step(1, 'Starting the sandbox provider (OAuth 2.0 server + orders API) on 127.0.0.1');
  let sb: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sb = await startSandbox({ autoConsent: true, orders: o.orders, seed: o.seed });
  } catch (err) {
    if (temporary) rmSync(home, { recursive: true, force: true });
    throw err;
  }
  const ctx = createContext(io, { home, profile: 'default', json: false, verbose: parent.verbose }, {
    env,
    signal: parent.signal,
    // The "browser": follows the consent redirects to our loopback listener, like a real one.
    openBrowser: async (url) => {
      void visitWithRedirects(url).catch(() => undefined);
    },
  });
  try {
    io.err(`   issuer ${sb.issuer}`);

    step(2, 'Linking two sandbox accounts through the loopback OAuth flow (PKCE, state, iss checked)');
    const { linkAccount } = await import('../link/index.js');
    for (const [alias, hint] of [['personal', 'alice'], ['work', 'bob']] as const) {
      const r = await linkAccount(ctx, {
        connector: 'sandbox', alias, baseUrl: sb.issuer, browser: true, timeoutSeconds: 60, manual: false, refreshTokenStdin: false, loginHint: hint,
      });
      io.err(`   ${c.green('✓')} ${r.connection.handle} → ${r.connection.account_label}`);
    }

    step(3, 'Syncing both, page by page (each page commits with its cursor)');
    const { runSync } = await import('./sync.js');
    const syncCode = await runSync(ctx, { connections: [], full: false, concurrency: 2, dryRun: false, pageSize: 100, wait: 0 });

    step(4, 'Your newest orders');
    const { runOrders } = await import('./orders.js');
    await runOrders(ctx, { limit: 8 } as Parameters<typeof runOrders>[1]);

    step(5, 'Spending per month over the last year');
    const { runOrdersStats } = await import('./orders.js');
    await runOrdersStats(ctx, { by: 'month', since: '365d' } as Parameters<typeof runOrdersStats>[1]);

    step(6, 'The audit trail (hash-chained; every token use is recorded, never a token)');
    const { runAudit } = await import('./audit.js');
    await runAudit(ctx, { limit: 12, verify: false });
    await runAudit(ctx, { verify: true });

    const kept = !temporary || o.keep === true;
    if (kept) {
      io.err(`\n${c.bold('Where things are')}`);
      io.err(`  database  ${ctx.paths.db}`);
      io.err(`  vault     ${ctx.paths.vault} (sealed with the demo's in-memory key, which is now gone)`);
      io.err(`\n${c.bold('Try next')}`);
      io.err(`  orderlink --home ${home} orders --search coffee`);
      io.err(`  orderlink --home ${home} orders stats --by retailer`);
      io.err(`  orderlink --home ${home} audit --verify`);
    } else {
      io.err(`\n${c.bold('Try next')}`);
      io.err(`  orderlink demo --keep          # keep the demo's data and explore it with orders, stats, audit`);
    }
    io.err(`  orderlink sandbox serve        # then: orderlink link sandbox --base-url <issuer>`);
    io.err(c.dim('  (orderlink not found? see "Install" in README.md: npm install -g ., or node bin/orderlink from the clone)'));
    return syncCode;
  } finally {
    ctx.close();
    await sb.close();
    if (temporary && o.keep !== true) {
      rmSync(home, { recursive: true, force: true });
      io.err(c.dim(`The temporary home ${home} was removed.`));
    }
  }
}

/** Whether `home` already holds an orderlink profile (the demo never writes into one). */
function hasProfile(home: string): boolean {
  const profiles = join(home, 'profiles');
  return existsSync(profiles) && readdirSync(profiles).length > 0;
}
