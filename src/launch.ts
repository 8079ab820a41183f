/**
 * What bin/orderlink runs first: the few invocations whose start-up time people feel are served
 * without loading commander (docs/performance.md, start-up), everything else goes to cli.ts.
 *  - `--help` (any command's) and `--version`: texts captured from commander at build time
 *    (help-texts.ts, scripts/gen-help.mjs), printed as they are.
 *  - `orders` and `orders stats`: argv read by commands/orders-argv.ts, which answers only for
 *    argv it reads exactly as commander would and leaves the rest (help, errors, anything
 *    unusual) to commander; run from one CommonJS file (orders-fast.ts), compiled through a
 *    code cache on Node 20 (v8-cache.ts).
 * test/help-fast.test.ts and test/orders-argv.test.ts prove both against commander.
 */
import { fileURLToPath } from 'node:url';
import type { ExitCodeValue } from './errors.js';

export async function launch(argv: readonly string[]): Promise<ExitCodeValue> {
  const text = process.stdout.isTTY && argv[0] !== '--version' && argv[0] !== '-V' ? undefined : await printedText(argv, process.env);
  if (text !== undefined) {
    // Like commander's writes through ui/io.ts: a reader that went away (EPIPE) is not an error.
    process.stdout.on('error', () => {});
    process.stdout.write(text);
    return 0;
  }
  if (argv.includes('orders')) {
    // One CommonJS file (orders-fast.ts); null when commander must read this argv.
    const { requireCached } = await import('./v8-cache.js');
    const fast = requireCached<typeof import('./orders-fast.js')>(fileURLToPath(new URL('./orders-fast.cjs', import.meta.url)));
    const code = await fast.exports.runOrdersFast(argv);
    fast.save();
    if (code !== null) return code;
  }
  return (await import('./cli.js')).main(argv);
}

/**
 * The build-time text for `[command...] --help|-h` or `--version|-V`, when commander would print
 * exactly that: for help, ORDERLINK_PROFILE is unset (it is the default shown for --profile) and,
 * checked by launch(), stdout is not a terminal (commander wraps help to a terminal's width, and
 * to 80 columns otherwise).
 */
export async function printedText(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const last = argv[argv.length - 1];
  let key: string;
  if (argv.length === 1 && (last === '--version' || last === '-V')) key = '--version';
  else if ((last === '--help' || last === '-h') && env.ORDERLINK_PROFILE === undefined) key = [...argv.slice(0, -1), '--help'].join('\0');
  else return undefined;
  const { HELP_TEXTS } = await import('./help-texts.js');
  return Object.hasOwn(HELP_TEXTS, key) ? HELP_TEXTS[key] : undefined;
}
