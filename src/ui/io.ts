/**
 * IO: the only way commands reach the terminal (gh's IOStreams). Data goes to stdout, progress,
 * warnings and errors to stderr. Tests build a captured IO and switch TTY on and off to pin both
 * renderings. Colour follows --no-color, NO_COLOR, FORCE_COLOR and whether the stream is a TTY.
 */
import { Chalk, type ChalkInstance } from 'chalk';

export interface Sink {
  write(chunk: string): unknown;
}

export interface IO {
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Terminal width for tables and bars (80 when unknown). */
  readonly columns: number;
  /** Colours for stdout and stderr, or identity functions when colour is off. */
  readonly color: ChalkInstance;
  readonly errColor: ChalkInstance;
  /** Write a line of data to stdout. */
  out(line?: string): void;
  /** Write a line of diagnostics to stderr. */
  err(line?: string): void;
  /** Read all of stdin (for secrets passed by pipe, never argv). */
  readStdin(): Promise<string>;
}

export interface IOOptions {
  stdout: Sink;
  stderr: Sink;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  stdinIsTTY?: boolean;
  columns?: number;
  /** false forces colour off (--no-color); undefined decides from env and TTY. */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
  readStdin?: () => Promise<string>;
}

export function colorEnabled(isTTY: boolean, flag: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return isTTY;
}

export function createIO(opts: IOOptions): IO {
  const env = opts.env ?? process.env;
  const color = new Chalk({ level: colorEnabled(opts.stdoutIsTTY, opts.color, env) ? 1 : 0 });
  const errColor = new Chalk({ level: colorEnabled(opts.stderrIsTTY, opts.color, env) ? 1 : 0 });
  return {
    stdout: opts.stdout,
    stderr: opts.stderr,
    stdoutIsTTY: opts.stdoutIsTTY,
    stderrIsTTY: opts.stderrIsTTY,
    stdinIsTTY: opts.stdinIsTTY ?? false,
    columns: opts.columns ?? 80,
    color,
    errColor,
    out(line = '') {
      opts.stdout.write(line + '\n');
    },
    err(line = '') {
      opts.stderr.write(line + '\n');
    },
    readStdin: opts.readStdin ?? (async () => ''),
  };
}

export function processIO(colorFlag?: boolean): IO {
  return createIO({
    stdout: process.stdout,
    stderr: process.stderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    columns: process.stdout.columns || process.stderr.columns || 80,
    ...(colorFlag === undefined ? {} : { color: colorFlag }),
    readStdin: readProcessStdin,
  });
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A captured IO for tests: everything written is kept as strings. */
export interface CapturedIO extends IO {
  stdoutText(): string;
  stderrText(): string;
}

export function captureIO(opts: { tty?: boolean; color?: boolean; columns?: number; stdin?: string } = {}): CapturedIO {
  let out = '';
  let err = '';
  const tty = opts.tty ?? false;
  const io = createIO({
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdoutIsTTY: tty,
    stderrIsTTY: tty,
    stdinIsTTY: tty,
    columns: opts.columns ?? 100,
    color: opts.color ?? false,
    env: {},
    readStdin: async () => opts.stdin ?? '',
  });
  return Object.assign(io, { stdoutText: () => out, stderrText: () => err });
}
