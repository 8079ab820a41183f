/**
 * `orders` and `orders stats` on the start-up path, built as one CommonJS file
 * (dist/bundle/orders-fast.cjs, scripts/build.mjs) that launch.ts requires: the same modules as
 * the split bundle, but one synchronous read and compile instead of some 26 ES module chunks,
 * each resolved, read and linked by Node's ESM loader (most of what was left of `orders`'s
 * start-up, docs/performance.md). Modules this path loads only sometimes (colour, the pager,
 * charges for --include-charges) stay lazy: esbuild initialises them on first use, and packages
 * are required or imported only then.
 */
import { runParsed } from './cli-run.js';
import { parseOrdersArgv } from './commands/orders-argv.js';
import { runOrders, runOrdersStats } from './commands/orders.js';
import type { ExitCodeValue } from './errors.js';

export { outputSettled } from './ui/fd-sink.js';

/** Run `orders` or `orders stats` when argv reads exactly as commander would read it; null otherwise (commander's turn). */
export async function runOrdersFast(argv: readonly string[]): Promise<ExitCodeValue | null> {
  const parsed = parseOrdersArgv(argv, process.env);
  if (!parsed) return null;
  return parsed.name === 'orders' ? runParsed(argv, parsed, runOrders) : runParsed(argv, parsed, runOrdersStats);
}
