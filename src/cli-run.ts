/**
 * Running a parsed command, without commander: the context built from the global options, the
 * profile check, exit codes and the one error printer. `cli.ts` (commander) and the fast path of
 * `launch.ts` (orders and orders stats, parsed by commands/orders-argv.ts) both end here, so a
 * command behaves the same whichever parser read its argv.
 */
import { ExitCode, mapError, type ExitCodeValue } from './errors.js';
import { assertKnownProfile, defaultHome, validateProfile } from './paths.js';
import { processIO, type IO } from './ui/io.js';
import { safeJson } from './ui/safe-text.js';
import type { Context, ContextOverrides } from './context.js';

/** The program-wide options as commander leaves them (`program.opts()`). */
export interface ParsedGlobals {
  home?: string;
  profile: string;
  json: boolean;
  verbose: boolean;
  color: boolean;
}

/**
 * Commands that may start a new profile (link, import, connector setup, smoke's CI linking, demo,
 * sandbox) or that do not use one (completion, profiles). Every other command refuses a profile
 * that does not exist (paths.ts assertKnownProfile): a typo is not a new empty profile.
 */
const PROFILE_FREE = new Set(['link', 'import', 'smoke', 'demo', 'sandbox serve', 'completion', 'profiles', 'profiles show', 'profiles delete']);
function mayCreateProfile(name: string, options: unknown): boolean {
  return PROFILE_FREE.has(name) || (name === 'connector' && (options as { kind?: unknown } | null)?.kind === 'setup');
}

/** Build the context for one command, run it, close it; returns the command's exit code, if any. */
export async function runCommand<O>(
  io: IO,
  g: ParsedGlobals,
  name: string,
  options: O,
  fn: (ctx: Context, options: O) => Promise<number | void>,
  signal: AbortSignal,
  overrides: ContextOverrides | undefined,
): Promise<number | void> {
  const { createContext } = await import('./context.js');
  const env = overrides?.env ?? process.env;
  const home = g.home ? (await import('node:path')).resolve(g.home) : defaultHome(env);
  if (!mayCreateProfile(name, options)) assertKnownProfile(home, validateProfile(g.profile));
  const ctx = createContext(
    io,
    {
      home,
      homeExplicit: Boolean(g.home || env.ORDERLINK_HOME),
      profile: validateProfile(g.profile),
      json: g.json,
      verbose: g.verbose,
      color: g.color,
    },
    { signal, ...overrides },
  );
  try {
    // Only when tracing: the run id is made on first use (lazy-crypto.ts).
    if (ctx.verbose) ctx.trace(`command ${name}, run ${ctx.runId}, home ${ctx.paths.home}, profile ${ctx.profile}`);
    return await fn(ctx, options);
  } finally {
    ctx.close();
  }
}

/** Ctrl-C aborts the command's signal; a second one exits at once (130). */
export function interruptible(enabled: boolean): { signal: AbortSignal; done(): void } {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(ExitCode.INTERRUPTED);
    abort.abort();
  };
  if (enabled) process.on('SIGINT', onSigint);
  return { signal: abort.signal, done: () => void (enabled && process.off('SIGINT', onSigint)) };
}

/** The one error printer: JSON with --json, else "error:" and a hint; a stack only for internal errors under --verbose. */
export function printError(io: IO, err: unknown, json: boolean, verbose: boolean): ExitCodeValue {
  const m = mapError(err);
  if (json) {
    io.out(safeJson({ error: { code: m.code, message: m.message, hint: m.hint ?? null, exitCode: m.exitCode, ...(m.details ? { details: m.details } : {}) } }, 2));
    return m.exitCode;
  }
  const c = io.errColor;
  io.err(`${c.red('error:')} ${m.message}`);
  if (m.hint) io.err(`${c.dim('hint:')}  ${m.hint}`);
  if (m.internal && verbose && err instanceof Error) {
    // Stack frames only (no message: an unvetted message may carry provider data).
    io.err(c.dim((err.stack ?? '').split('\n').slice(1, 8).join('\n')));
  }
  return m.exitCode;
}

/**
 * What cli.ts's main() does around a command, for argv read without commander (launch.ts): the
 * process's IO, Ctrl-C, the command, and the one error printer.
 */
export async function runParsed<O>(argv: readonly string[], parsed: { name: string; options: O; globals: ParsedGlobals }, fn: (ctx: Context, options: O) => Promise<number | void>): Promise<ExitCodeValue> {
  const io = await processIO(argv.includes('--no-color') ? false : undefined);
  const interrupt = interruptible(true);
  try {
    const code = await runCommand(io, parsed.globals, parsed.name, parsed.options, fn, interrupt.signal, undefined);
    return typeof code === 'number' ? (code as ExitCodeValue) : ExitCode.OK;
  } catch (err) {
    return printError(io, err, argv.includes('--json'), argv.includes('--verbose') || argv.includes('-v'));
  } finally {
    interrupt.done();
  }
}
