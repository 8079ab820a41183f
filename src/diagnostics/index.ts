/**
 * `orderlink doctor --bundle FILE`: a diagnostic bundle (one JSON file) safe to attach to a public
 * bug report. collect.ts builds it from an allow-list, redact.ts removes any sensitive value that
 * still slipped in, write.ts writes it 0600 as a new file (never over an existing one).
 */
import { resolve } from 'node:path';
import type { Context } from '../context.js';
import type { Check } from '../commands/doctor.js';
import { printJson } from '../ui/render.js';
import { safeJson } from '../ui/safe-text.js';
import { collectBundle } from './collect.js';
import { redact, sensitiveValues } from './redact.js';
import { writeNewFile } from './write.js';

export { collectBundle } from './collect.js';
export { redact, sensitiveValues } from './redact.js';

export async function runBundle(ctx: Context, file: string, checks: readonly Check[]): Promise<number> {
  const path = resolve(file);
  const bundle = redact(await collectBundle(ctx, checks), sensitiveValues(ctx));
  const text = safeJson(bundle, 2) + '\n';
  writeNewFile(path, text);
  const bytes = Buffer.byteLength(text);
  if (ctx.json) printJson(ctx.io, { bundle: path, bytes, checks: checks.map((c) => ({ name: c.name, status: c.status })) });
  else {
    ctx.io.err(`Wrote a diagnostic bundle to ${path} (${bytes.toLocaleString('en-US')} bytes, mode 0600).`);
    ctx.io.err('It holds versions, settings, counts, error codes and durations — no secret, account name, alias, order id, amount, address or item name. It is plain JSON: read it before you share it.');
  }
  const failed = checks.some((c) => c.status === 'fail');
  return failed ? 1 : 0;
}
