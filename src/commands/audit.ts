/** `orderlink audit`: the trail of what touched your tokens and data, and `--verify` of its chain. */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, usageError } from '../errors.js';
import type { AuditEntry } from '../store/index.js';
import { pickFormat, printJson, renderRows, type Column } from '../ui/render.js';
import { truncateCells } from '../ui/safe-text.js';
import { parseDateFlag } from './options.js';

export interface AuditOptions {
  since?: string;
  action?: string;
  connection?: string;
  limit?: number;
  verify: boolean;
}

export function register(cmd: Command, app: App): void {
  cmd
    .option('--since <date>', 'only entries at or after this date/time (ISO 8601, or 7d / 24h)')
    .option('--action <name>', 'only this action (a prefix like "link" matches "link.success")')
    .option('--connection <id>', 'only entries about this connection (number, connector:alias, or alias)')
    .option('--limit <n>', 'at most the newest N entries', (v) => positiveInt(v, '--limit'))
    .option('--verify', 'check the hash chain: exit 6 and name every edited, deleted or missing row', false)
    .addHelpText(
      'after',
      '\nExamples:\n  $ orderlink audit --since 7d\n  $ orderlink audit --action token.use --connection sandbox:default --json\n  $ orderlink audit --verify\n',
    )
    .action((o: AuditOptions) => app.run('audit', o, runAudit));
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw usageError('BAD_OPTION', `${flag} must be a positive integer, got "${v.slice(0, 20)}"`);
  return n;
}

export async function runAudit(ctx: Context, opts: AuditOptions): Promise<number> {
  const store = ctx.store();
  const io = ctx.io;
  if (opts.verify) {
    const result = store.audit.verify();
    if (ctx.json) printJson(io, result);
    else if (result.ok) io.out(`${io.color.green('✓')} audit log intact: ${result.rows} rows, hash chain verified`);
    if (!result.ok) {
      if (!ctx.json) for (const p of result.problems) io.err(`${io.errColor.red('✗')} ${p.message}`);
      throw new OrderlinkError('AUDIT_TAMPERED', `the audit log has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`, {
        kind: 'integrity',
        hint: 'Rows were edited or removed outside orderlink. Restore the database from a backup if you have one; new entries keep chaining from the current head.',
        details: { problems: result.problems },
      });
    }
    return 0;
  }
  const connectionId = opts.connection ? store.connections.resolve(opts.connection).id : undefined;
  const entries = store.audit.list({
    ...(opts.since ? { since: parseDateFlag(opts.since, '--since', ctx.now()) } : {}),
    ...(opts.action ? { action: opts.action } : {}),
    ...(connectionId !== undefined ? { connectionId } : {}),
    ...(opts.limit ? { limit: opts.limit } : {}),
  });
  const format = pickFormat(io, { json: ctx.json });
  if (format === 'table' && entries.length === 0) {
    io.err('No audit entries match.');
    return 0;
  }
  const columns: Column<AuditEntry>[] = [
    { key: 'seq', header: '#', get: (e) => e.seq, align: 'right' },
    { key: 'at', get: (e) => e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') },
    { key: 'action', get: (e) => e.action, style: (v) => io.color.cyan(v) },
    { key: 'connection', get: (e) => e.connectionId ?? '' },
    { key: 'detail', get: (e) => summarize(e.detail) },
    { key: 'run', get: (e) => e.runId.slice(0, 8) },
  ];
  renderRows(
    io,
    entries,
    columns,
    format,
    entries.map((e) => ({ seq: e.seq, at: e.at, run_id: e.runId, action: e.action, connection_id: e.connectionId, detail: e.detail })),
  );
  return 0;
}

/** The detail column: sanitised first, then cut at a grapheme boundary (never inside a sequence). */
function summarize(detail: Record<string, unknown>): string {
  return truncateCells(
    Object.entries(detail)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' '),
    80,
  );
}
