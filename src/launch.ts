/**
 * What bin/orderlink runs first: the few invocations whose start-up time people feel are served
 * without loading commander (docs/performance.md, start-up), everything else goes to cli.ts.
 *  - `--help` (any command's) and `--version`: templates captured from commander at build time
 *    (help-texts.ts, scripts/gen-help.mjs), laid out at the terminal's width as commander would
 *    (help-layout.ts; 80 columns when piped).
 *  - `orders` and `orders stats`: argv read by commands/orders-argv.ts, which answers only for
 *    argv it reads exactly as commander would and leaves the rest (help, errors, anything
 *    unusual) to commander; run from one CommonJS file (orders-fast.ts), compiled through a
 *    code cache on Node 20 (v8-cache.ts).
 * test/help-fast.test.ts and test/orders-argv.test.ts prove both against commander.
 */
import { join } from 'node:path';
import type { ExitCodeValue } from './errors.js';
import { directWritable, FdSink } from './ui/fd-sink.js';

export async function launch(argv: readonly string[]): Promise<ExitCodeValue> {
  const text = await printedText(argv, process.env, helpWidth());
  if (text !== undefined) {
    // Like commander's writes through ui/io.ts: a reader that went away (EPIPE) is not an error;
    // a pipe or a file is written without creating process.stdout (ui/fd-sink.ts).
    const out = directWritable(1) ? new FdSink(1, () => process.stdout) : process.stdout;
    out.on('error', () => {});
    out.write(text);
    return 0;
  }
  if (argv.includes('orders')) {
    // One CommonJS file (orders-fast.ts); null when commander must read this argv.
    const { requireCached } = await import('./v8-cache.js');
    const fast = requireCached<typeof import('./orders-fast.js')>(join(import.meta.dirname, 'orders-fast.cjs'));
    const code = await fast.exports.runOrdersFast(argv);
    fast.save();
    if (code !== null) return code;
  }
  return (await import('./cli.js')).main(argv);
}

/**
 * The width commander lays help out at (cli.ts gives it the same: ui/io.ts's columns on a
 * terminal, 80 when piped).
 */
function helpWidth(): number {
  if (directWritable(1) || !process.stdout.isTTY) return 80;
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
