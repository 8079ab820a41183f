/**
 * How every `orderlink sandbox serve` ends (the sandbox and each provider replica): the server
 * runs until Ctrl-C (the command's abort signal), then it is closed and that is said on stderr.
 */
import type { Context } from '../context.js';

export async function serveUntilInterrupted(ctx: Context, server: { close(): Promise<unknown> }, what: string): Promise<number> {
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  if (!ctx.json) ctx.io.err(`${what} stopped`);
  return 0;
}
