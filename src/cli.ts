/**
 * The commander program. Start-up matters: only the manifest below is loaded for `--help`; a
 * command's module (and whatever it imports) is loaded only when that command runs. Errors are
 * mapped to exit codes in exactly one place (errors.ts) and printed in exactly one place (here).
 */
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, type ExitCodeValue } from './errors.js';
import { validateProfile } from './paths.js';
import { processIO, type IO } from './ui/io.js';
import type { Context, ContextOverrides } from './context.js';
import { interruptible, printError, runCommand, type ParsedGlobals } from './cli-run.js';

/** What a command module exports. */
export interface CommandModule {
  register(cmd: Command, app: App): void;
}

export interface App {
  /**
   * Run a command's behaviour. `options` is the typed option object the command derived from
   * argv (the wiring test inspects it); `fn` returns an exit code or nothing for success.
   */
  run<O>(name: string, options: O, fn: (ctx: Context, options: O) => Promise<number | void>): Promise<void>;
}

interface ManifestEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

export const MANIFEST: readonly ManifestEntry[] = [
  { name: 'link', summary: 'Link a shopping or provider account (OAuth in the browser, headless, or from CI)', load: () => import('./commands/link.js') },
  { name: 'connector', summary: 'List connectors, show what each can do, set up aggregator credentials', load: () => import('./commands/connector.js') },
  { name: 'connections', summary: 'List linked accounts and their status', load: () => import('./commands/connections.js') },
  { name: 'import', summary: 'Import an order-history export you downloaded (Amazon: the zip, its folder or a CSV)', load: () => import('./commands/import.js') },
  { name: 'sync', summary: 'Fetch new and changed orders into the local database', load: () => import('./commands/sync.js') },
  { name: 'smoke', summary: 'CI: check provider APIs — link, one bounded sync, schema and drift — with a JUnit report', load: () => import('./commands/smoke.js') },
  { name: 'orders', summary: 'List, search, show and chart your orders', load: () => import('./commands/orders.js') },
  { name: 'charges', summary: 'List card and bank charges (Plaid), kept apart from orders', load: () => import('./commands/charges.js') },
  { name: 'reconcile', summary: 'Match card charges to the orders they paid for; review the ambiguous ones', load: () => import('./commands/reconcile.js') },
  { name: 'disconnect', summary: 'Revoke a connection, delete its secret, keep or purge its orders', load: () => import('./commands/disconnect.js') },
  { name: 'audit', summary: 'Show and verify the hash-chained audit log', load: () => import('./commands/audit.js') },
  { name: 'doctor', summary: 'Check the runtime, data directory, database and vault', load: () => import('./commands/doctor.js') },
  { name: 'export', summary: 'Export orders with their items as CSV, JSON, NDJSON or a standalone SQLite file', load: () => import('./commands/export.js') },
  { name: 'purge', summary: 'Delete old orders (by age, connection or all), audited, and set a retention', load: () => import('./commands/purge.js') },
  { name: 'profiles', summary: 'List profiles, show where each lives, delete one', load: () => import('./commands/profiles.js') },
  { name: 'backup', summary: 'Copy the database (and with --with-vault the sealed vault) to a file, safely during a sync', load: () => import('./commands/backup.js') },
  { name: 'vault', summary: 'Vault status, key rotation and key-source migration', load: () => import('./commands/vault.js') },
  { name: 'sandbox', summary: 'Run the built-in sandbox provider (OAuth server + orders API)', load: () => import('./commands/sandbox.js') },
  { name: 'demo', summary: 'See orderlink work end to end against the sandbox in a temporary home', load: () => import('./commands/demo.js') },
  { name: 'completion', summary: 'Print a shell completion script: bash, zsh or fish', load: () => import('./commands/completion.js') },
];

export interface MainOptions {
  io?: IO;
  overrides?: ContextOverrides;
  /** Replace App.run (the wiring test records options instead of running). */
  app?: App;
  /** Load every command module up front (the wiring and docs tests). */
  loadAll?: boolean;
}

export async function buildProgram(argv: readonly string[], io: IO, app: App, loadAll = false): Promise<Command> {
  const program = new Command('orderlink')
    .description('Link your shopping accounts, keep their tokens in an encrypted vault, and sync your orders into a local SQLite file you own.')
    .version(await version(), '-V, --version')
    .option('--home <dir>', 'data directory (env ORDERLINK_HOME; default: the platform data dir)')
    .option('--profile <name>', 'profile: a separate database and vault under the home', (v) => validateProfile(v), process.env.ORDERLINK_PROFILE ?? 'default')
    .option('--json', 'machine-readable JSON output (errors too)', false)
    .option('-v, --verbose', 'trace requests and decisions on stderr (secrets masked)', false)
    .option('--no-color', 'disable colour (also NO_COLOR)')
    .showHelpAfterError('(run with --help for usage and examples)')
    .configureOutput({
      // The help width: the terminal's (as ui/io.ts measures it; launch.ts lays out the
      // build-time help at the same), 80 when piped.
      getOutHelpWidth: () => (io.stdoutIsTTY ? io.columns : 80),
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {
        /* printed by main() through the one error printer */
      },
    })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  $ orderlink demo                          # see it all work against the built-in sandbox
  $ orderlink link                          # "Where do you shop?" and link an account
  $ orderlink sync && orderlink orders --since 2026-01-01
  $ orderlink orders stats --by month

Exit codes: 0 ok, 1 failure, 2 usage, 3 partial sync, 4 reauth required, 5 vault locked,
            6 integrity error, 7 busy (another process holds the lock), 130 interrupted.
Docs: README.md and docs/ in the package.`,
  );

  const wanted = firstCommand(argv);
  for (const entry of MANIFEST) {
    const cmd = program.command(entry.name).description(entry.summary);
    cmd.configureOutput(program.configureOutput()).exitOverride();
    if (loadAll || entry.name === wanted) {
      const mod = await entry.load();
      mod.register(cmd, app);
    }
  }
  return program;
}

/** The first argument that is not an option (or an option's value): the command's name. */
function firstCommand(argv: readonly string[]): string | undefined {
  const withValue = new Set(['--home', '--profile']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (withValue.has(a)) {
      i++;
      continue;
    }
    if (a === '--') return argv[i + 1];
    if (a === 'help') return argv[i + 1];
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

async function version(): Promise<string> {
  // From the package root, found by walking up: the bundled CLI lives one folder deeper than dist/.
  return (await import('./package-root.js')).packageVersion();
}

export async function main(argv: readonly string[], opts: MainOptions = {}): Promise<ExitCodeValue> {
  const colorFlag = argv.includes('--no-color') ? false : undefined;
  const io = opts.io ?? (await processIO(colorFlag));
  const wantsJson = argv.includes('--json');
  let exitCode: ExitCodeValue = ExitCode.OK;
  const interrupt = interruptible(!opts.io);

  let program: Command | undefined;
  const app: App = opts.app ?? {
    run: async (name, options, fn) => {
      const code = await runCommand(io, program!.opts<ParsedGlobals>(), name, options, fn, interrupt.signal, opts.overrides);
      if (typeof code === 'number') exitCode = code as ExitCodeValue;
    },
  };

  try {
    program = await buildProgram(argv, io, app, opts.loadAll);
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')) {
      return ExitCode.OK;
    }
    if (err instanceof CommanderError && err.code === 'commander.executeSubCommandAsync') return ExitCode.OK;
    exitCode = printError(io, err, wantsJson, argv.includes('--verbose') || argv.includes('-v'));
  } finally {
    interrupt.done();
  }
  return exitCode;
}

/**
 * What commander makes of argv, without running anything: the command's name, its options and
 * the program-wide options (the equivalence test of commands/orders-argv.ts compares against it).
 * null when commander runs no command (help, version, a usage error).
 */
export async function parseWithCommander(argv: readonly string[], io: IO): Promise<{ name: string; options: unknown; globals: ParsedGlobals } | null> {
  let got: { name: string; options: unknown } | undefined;
  const program = await buildProgram(argv, io, { run: async (name, options) => void (got = { name, options }) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch {
    return null;
  }
  return got ? { ...got, globals: program.opts<ParsedGlobals>() } : null;
}

export { Option };
