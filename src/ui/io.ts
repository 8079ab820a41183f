/**
 * IO: the only way commands reach the terminal (gh's IOStreams). Data goes to stdout, progress,
 * warnings and errors to stderr. Tests build a captured IO and switch TTY on and off to pin both
 * renderings. Colour follows --no-color, NO_COLOR, FORCE_COLOR and whether the stream is a TTY.
 */
import type { ChalkInstance } from 'chalk';
import { OrderlinkError } from '../errors.js';
import { directWritable, FdSink, processStream } from './fd-sink.js';
import { safeChunk, safeLine } from './safe-text.js';

/**
 * The colours we use. Plain identity functions unless colour is on: then chalk, which is loaded
 * only in that case (cli.ts), so piped runs, CI and `--help` in a pipe never pay for it.
 */
export type Colors = Pick<ChalkInstance, 'red' | 'green' | 'yellow' | 'cyan' | 'dim' | 'bold'>;
type ChalkClass = typeof import('chalk').Chalk;

const id = (...text: unknown[]): string => text.join(' ');
const plainHues = { red: id, green: id, yellow: id, cyan: id, dim: id };
const PLAIN = { ...plainHues, bold: Object.assign((...t: unknown[]) => id(...t), plainHues) } as unknown as Colors;

export interface Sink {
  write(chunk: string | Uint8Array): unknown;
}

/**
 * What a real stream (process.stdout, a pipe, a socket) adds to a Sink: backpressure ('drain')
 * and broken pipes ('error' with EPIPE). Plain test sinks have neither and never block.
 */
interface StreamSink extends Sink {
  once(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  removeListener(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  readonly destroyed?: boolean;
}

const isStream = (s: Sink): s is StreamSink =>
  typeof (s as Partial<StreamSink>).once === 'function' && typeof (s as Partial<StreamSink>).on === 'function' && typeof (s as Partial<StreamSink>).removeListener === 'function';

export interface IO {
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Terminal width for tables and bars (80 when unknown). */
  readonly columns: number;
  /** Terminal height, when stdout is a terminal of known size (decides paging: ui/pager.ts). */
  readonly rows?: number;
  /** Colours for stdout and stderr, or identity functions when colour is off. */
  readonly color: Colors;
  readonly errColor: Colors;
  /** Write a line of data to stdout. */
  out(line?: string): void;
  /**
   * Write a chunk of data to stdout and wait while the stream's buffer is full, so a large export
   * (`orders --ndjson` over a million rows) runs in constant memory at the reader's pace. Resolves
   * false once the reader has gone (`orders --ndjson | head`): the caller stops producing and
   * exits 0, as Unix tools do. Any other write failure (a full disk) rejects. Bytes are UTF-8
   * text already encoded (a big export encodes its own chunks); a terminal gets them sanitised.
   * `signal` (Ctrl-C) ends the wait for a reader that has stalled (`… | less`, paused): the
   * caller sees the signal aborted and stops.
   */
  write(chunk: string | Uint8Array, signal?: AbortSignal): Promise<boolean>;
  /**
   * Write to stdout and resolve only once the stream has accepted the bytes (its write callback
   * succeeded); reject with OUTPUT_FAILED on any failure, a broken pipe (EPIPE) and a full disk
   * (ENOSPC) included. For output that must not be lost, such as a new vault key.
   */
  deliver(chunk: string): Promise<void>;
  /** True once stdout's reader has gone away (EPIPE); further output is dropped silently. */
  readonly stdoutClosed: boolean;
  /**
   * True when every byte written to stdout so far is in the kernel's hands, so the buffer it came
   * from may be reused. Only the process's own stdout can say so; other sinks may keep a reference.
   */
  stdoutHandedOff(): boolean;
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
  /** A function when finding out costs something (process.stdin): asked on first use only. */
  stdinIsTTY?: boolean | (() => boolean);
  columns?: number;
  rows?: number;
  /** false forces colour off (--no-color); undefined decides from env and TTY. */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
  readStdin?: () => Promise<string>;
  /** chalk's class, when the caller loaded it because some stream gets colour. */
  chalk?: ChalkClass;
  /** stdout is the process's own (its stream or its descriptor): see IO.stdoutHandedOff. */
  stdoutIsProcess?: boolean;
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
  const paint = (on: boolean): Colors => (on && opts.chalk ? new opts.chalk({ level: 1 }) : PLAIN);
  const color = paint(colorEnabled(opts.stdoutIsTTY, opts.color, env));
  const errColor = paint(colorEnabled(opts.stderrIsTTY, opts.color, env));
  const out = watch(opts.stdout);
  const err = watch(opts.stderr);
  return {
    stdout: opts.stdout,
    stderr: opts.stderr,
    stdoutIsTTY: opts.stdoutIsTTY,
    stderrIsTTY: opts.stderrIsTTY,
    get stdinIsTTY() {
      return typeof opts.stdinIsTTY === 'function' ? opts.stdinIsTTY() : (opts.stdinIsTTY ?? false);
    },
    columns: opts.columns ?? 80,
    ...(opts.rows ? { rows: opts.rows } : {}),
    color,
    errColor,
    get stdoutClosed() {
      return out.closed;
    },
    stdoutHandedOff() {
      return opts.stdoutIsProcess === true && (opts.stdout as { writableLength?: number }).writableLength === 0;
    },
    // The net under the renderers (which sanitise outside text with safeText): stderr is always
    // for people, stdout when it is a terminal. Only our own colours (SGR) survive in such lines.
    out(line = '') {
      if (!out.closed) opts.stdout.write((opts.stdoutIsTTY ? safeLine(line) : line) + '\n');
    },
    err(line = '') {
      if (!err.closed) opts.stderr.write(safeLine(line) + '\n');
    },
    async write(chunk, signal) {
      // A stream can also be torn down without an 'error' (a child's stdin when the child exits).
      if (!out.closed && isStream(opts.stdout) && opts.stdout.destroyed) out.closed = true;
      if (out.closed) return false;
      const text = opts.stdoutIsTTY ? safeChunk(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')) : chunk;
      if (opts.stdout.write(text) === false && isStream(opts.stdout)) await drained(opts.stdout, signal);
      if (out.failure) {
        throw new OrderlinkError('OUTPUT_FAILED', `cannot write to standard output (${out.failure})`, {
          hint: 'Check where the output goes (a full disk, a closed terminal) and run the command again.',
        });
      }
      if (isStream(opts.stdout) && opts.stdout.destroyed) out.closed = true;
      return !out.closed;
    },
    deliver(chunk) {
      const failed = (why: string) =>
        new OrderlinkError('OUTPUT_FAILED', `cannot write to standard output (${why})`, {
          hint: 'Check where the output goes (a full disk, a closed pipe or terminal) and run the command again.',
        });
      if (out.closed || (isStream(opts.stdout) && opts.stdout.destroyed)) return Promise.reject(failed(out.failure ?? 'EPIPE'));
      if (!isStream(opts.stdout)) {
        opts.stdout.write(chunk);
        return Promise.resolve();
      }
      const stream = opts.stdout as StreamSink & { write(chunk: string, cb: (err?: Error | null) => void): unknown };
      return new Promise<void>((resolve, reject) => {
        try {
          stream.write(chunk, (e) => {
            if (!e) return resolve();
            const code = (e as { code?: unknown }).code;
            reject(failed(typeof code === 'string' ? code : 'write error'));
          });
        } catch (e) {
          const code = (e as { code?: unknown } | null)?.code;
          reject(failed(typeof code === 'string' ? code : 'write error'));
        }
      });
    },
    readStdin: opts.readStdin ?? (async () => ''),
  };
}

interface SinkState {
  /** The reader went away (EPIPE) or the stream failed: drop further writes. */
  closed: boolean;
  /** The error code of a failure other than a broken pipe, which must not pass silently. */
  failure: string | undefined;
}

/**
 * Listen for a stream's errors. Without a listener, EPIPE (the reader of a pipe exited) is an
 * unhandled 'error' event: Node prints a stack trace and exits 1 instead of stopping quietly.
 */
function watch(sink: Sink): SinkState {
  const state: SinkState = { closed: false, failure: undefined };
  if (isStream(sink)) {
    sink.on('error', (e: unknown) => {
      state.closed = true;
      const code = (e as { code?: unknown } | null)?.code;
      if (code !== 'EPIPE' && code !== 'ERR_STREAM_DESTROYED') state.failure = typeof code === 'string' ? code : 'write error';
    });
  }
  return state;
}

/** Resolve when the stream can take more (or is gone: its error/close ends the wait too, as does `signal`). */
function drained(stream: StreamSink, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // A stream destroyed by a failed write emits 'error'/'close' on a later tick; let them land.
    if (stream.destroyed || signal?.aborted) return void setImmediate(resolve);
    const done = () => {
      stream.removeListener('drain', done);
      stream.removeListener('close', done);
      stream.removeListener('error', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
    stream.once('error', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The real terminal; chalk is imported only when stdout or stderr will be coloured. stdout and
 * stderr that are a pipe or a file are written directly (fd-sink.ts), so a command that prints
 * into a pipe never creates Node's process streams; stdin is looked at only when asked.
 */
export async function processIO(colorFlag?: boolean): Promise<IO> {
  const env = process.env;
  const outDirect = directWritable(1);
  const errDirect = directWritable(2);
  const stdout = outDirect ? undefined : processStream(1);
  const stderr = errDirect ? undefined : processStream(2);
  const stdoutIsTTY = stdout?.isTTY === true;
  const stderrIsTTY = stderr?.isTTY === true;
  const wantsColor = colorEnabled(stdoutIsTTY, colorFlag, env) || colorEnabled(stderrIsTTY, colorFlag, env);
  const chalk = wantsColor ? (await import('chalk')).Chalk : undefined;
  return createIO({
    ...(chalk ? { chalk } : {}),
    stdout: stdout ?? new FdSink(1),
    stderr: stderr ?? new FdSink(2),
    stdoutIsTTY,
    stderrIsTTY,
    stdinIsTTY: () => process.stdin.isTTY === true,
    stdoutIsProcess: true,
    // COLUMNS and LINES stand in for a terminal that does not report its size (some CI ptys).
    columns: stdout?.columns || stderr?.columns || Number(env.COLUMNS) || 80,
    ...(stdoutIsTTY ? { rows: stdout?.rows || Number(env.LINES) || 24 } : {}),
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

export function captureIO(opts: { tty?: boolean; color?: boolean; columns?: number; stdin?: string; chalk?: ChalkClass } = {}): CapturedIO {
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
    ...(opts.chalk ? { chalk: opts.chalk } : {}),
    env: {},
    readStdin: async () => opts.stdin ?? '',
  });
  return Object.assign(io, { stdoutText: () => out, stderrText: () => err });
}
