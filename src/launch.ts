/**
 * What bin/orderlink runs first: the few invocations whose start-up time people feel are served
 * without loading commander (docs/performance.md, start-up), everything else goes to cli.ts.
 *  - `--help` (any command's) and `--version`: templates captured from commander at build time
 *    (help-texts.ts, scripts/gen-help.mjs), laid out at the terminal's width as commander would
 *    (help-layout.ts; 80 columns when piped).
 *  - `orders` and `orders stats`: argv read by commands/orders-argv.ts, which answers only for
 *    argv it reads exactly as commander would and leaves the rest (help, errors, anything
 *    unusual) to commander; run from one CommonJS file (orders-fast.ts), compiled through a
 *    code cache of our own (v8-cache.ts).
 * test/help-fast.test.ts and test/orders-argv.test.ts prove both against commander.
 */
import { join } from 'node:path';
import type { ExitCodeValue } from './errors.js';
import { directWritable, FdSink, outputSettled, processStream } from './ui/fd-sink.js';

/**
 * The exit code, and whether the process may end at once (`process.exit`) rather than by itself:
 *  - every byte of output went straight to its descriptor (ui/fd-sink.ts) and nothing else is in
 *    flight, so there is nothing for Node to flush, only its heap to tear down;
 *  - or the command was interrupted (Ctrl-C): output still queued for a reader that stalled
 *    (`orders --ndjson | less`, paused) would otherwise keep the process alive; it is dropped,
 *    as any Unix tool's is when interrupted. The command has cleaned up before it returned.
 */
/** ExitCode.INTERRUPTED (errors.ts; test/fd-sink.test.ts fails if they part): not imported, so launch.cjs stays small. */
const INTERRUPTED = 130;

export interface Launched {
  code: ExitCodeValue;
  settled: boolean;
}

export async function launch(argv: readonly string[]): Promise<Launched> {
  const text = await printedText(argv, process.env, helpWidth());
  if (text !== undefined) {
    // Like commander's writes through ui/io.ts: a reader that went away (EPIPE) is not an error;
    // a pipe or a file is written without creating process.stdout (ui/fd-sink.ts).
    const out = directWritable(1) ? new FdSink(1) : processStream(1);
    out.on('error', () => {});
    out.write(text);
    return { code: 0, settled: outputSettled() };
  }
  if (argv.includes('orders')) {
    // One CommonJS file (orders-fast.ts); null when commander must read this argv.
    const { requireCached } = await import('./v8-cache.js');
    const fast = requireCached<typeof import('./orders-fast.js')>(join(import.meta.dirname, 'orders-fast.cjs'));
    const code = await fast.exports.runOrdersFast(argv);
    fast.save();
    // orders-fast.cjs has its own copy of ui/fd-sink.ts: it knows whether its output settled.
    if (code !== null) return { code, settled: code === INTERRUPTED || fast.exports.outputSettled() };
  }
  const code = await (await import('./cli.js')).main(argv);
  return { code, settled: code === INTERRUPTED };
}

/**
 * The width commander lays help out at (cli.ts gives it the same: ui/io.ts's columns on a
 * terminal, 80 when piped).
 */
function helpWidth(): number {
  if (directWritable(1) || !processStream(1).isTTY) return 80;
  return process.stdout.columns || process.stderr.columns || Number(process.env.COLUMNS) || 80;
}

/**
 * The text for `[command...] --help|-h` or `--version|-V` at `width`, when commander would print
 * exactly that: for help, ORDERLINK_PROFILE is unset (it is the default shown for --profile).
 */
export async function printedText(argv: readonly string[], env: NodeJS.ProcessEnv, width = 80): Promise<string | undefined> {
  const last = argv[argv.length - 1];
  let key: string;
  if (argv.length === 1 && (last === '--version' || last === '-V')) key = '--version';
  else if ((last === '--help' || last === '-h') && env.ORDERLINK_PROFILE === undefined) key = [...argv.slice(0, -1), '--help'].join('\0');
  else return undefined;
  const texts = (await import('./help-texts.js')).helpTexts();
  if (!Object.hasOwn(texts, key)) return undefined;
  const { renderHelp } = await import('./help-layout.js');
  return renderHelp(texts[key]!, width);
}
