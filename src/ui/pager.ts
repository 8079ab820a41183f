/**
 * Long listings on a terminal go through a pager, as git and gh do: `$ORDERLINK_PAGER`, else
 * `$PAGER`, else `less -FRX` (quit if one screen, keep colours, leave the text on screen). Never
 * when stdout is not a terminal (pipes and files get every line as is), never with --json, never
 * with --no-pager, and not when ORDERLINK_PAGER or PAGER is set to the empty string (or `cat`).
 *
 * The pager is started without a shell (its command is split on spaces: `less -R`, `more`), in
 * an environment scrubbed of orderlink's settings and secret-looking variables (SECURITY.md rule
 * 31), and gets the lines after the same sanitising a terminal line gets (io.out): a provider's
 * text cannot drive the terminal through the pager either.
 */
import { spawn } from 'node:child_process';
import type { IO } from './io.js';
import { safeLine } from './safe-text.js';

export interface PagerInputs {
  stdoutIsTTY: boolean;
  json: boolean;
  /** false for --no-pager. */
  pager: boolean;
  /** Terminal height; undefined when unknown (then nothing is paged). */
  rows: number | undefined;
  /** Lines about to be written. */
  lines: number;
  env: NodeJS.ProcessEnv;
}

export interface PagerCommand {
  command: string;
  args: string[];
}

export const DEFAULT_PAGER = 'less -FRX';

/** The pager to run for this output, or null to write it directly (the whole decision, testable). */
export function pagerFor(i: PagerInputs): PagerCommand | null {
  if (!i.stdoutIsTTY || i.json || !i.pager || i.rows === undefined) return null;
  // Output that fits the screen (leaving a line for the prompt) is written directly.
  if (i.lines < i.rows) return null;
  const configured = i.env.ORDERLINK_PAGER ?? i.env.PAGER ?? DEFAULT_PAGER;
  const words = configured.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0 || words[0] === 'cat') return null;
  return { command: words[0]!, args: words.slice(1) };
}

/** The environment a pager runs in: no ORDERLINK_* and no secret-looking names; less's defaults. */
export function pagerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const SECRET_NAME = /(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|(^|_)API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|_KEY$)/i;
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || /^ORDERLINK_/i.test(k) || SECRET_NAME.test(k)) continue;
    out[k] = v;
  }
  out.LESS ??= 'FRX';
  out.LV ??= '-c';
  return out;
}

/**
 * Write `lines` to stdout, through the pager when pagerFor says so. A pager that cannot be
 * started (not installed) is not an error: the lines are written directly. The person quitting
 * the pager early (a broken pipe) is not an error either.
 */
export async function page(io: IO, lines: readonly string[], opts: { json: boolean; pager: boolean; env: NodeJS.ProcessEnv }): Promise<void> {
  const cmd = pagerFor({ stdoutIsTTY: io.stdoutIsTTY, json: opts.json, pager: opts.pager, rows: io.rows, lines: lines.length, env: opts.env });
  if (cmd === null || !(await runPager(cmd, lines, opts.env))) {
    for (const l of lines) io.out(l);
  }
}

/**
 * Resolves true once the pager has exited, false when it could not be started.
 *
 * While it runs the pager owns the terminal, and Ctrl-C is its key (less uses it to stop a search
 * or a follow): the terminal sends SIGINT to orderlink too, which must neither abort nor exit,
 * or the pager would be left holding a raw-mode terminal with nobody waiting for it (git does
 * the same). orderlink's own SIGINT handlers are set aside until the pager exits.
 */
function runPager(cmd: PagerCommand, lines: readonly string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  const handlers = process.listeners('SIGINT');
  const ignore = (): void => {};
  process.removeAllListeners('SIGINT');
  process.on('SIGINT', ignore);
  const restore = (): void => {
    process.off('SIGINT', ignore);
    for (const h of handlers) process.on('SIGINT', h);
  };
  return new Promise<boolean>((resolve) => {
    let started = false;
    const child = spawn(cmd.command, cmd.args, { env: pagerEnv(env), stdio: ['pipe', 'inherit', 'inherit'], shell: false, windowsHide: true });
    child.once('error', () => resolve(started));
    child.once('spawn', () => {
      started = true;
      child.stdin!.on('error', () => {
        /* the person quit the pager before the end: nothing more to show */
      });
      child.stdin!.end(lines.map((l) => safeLine(l)).join('\n') + '\n');
    });
    child.once('close', () => resolve(true));
  }).finally(restore);
}
