/**
 * `orderlink connections`: the linked accounts, their status, when they last synced, when they
 * are next due, the last error, and a warning before a credential is forecast to break.
 * `orderlink connections set CONN --every 6h`: a per-connection sync interval for `sync --due`.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { CONNECTORS } from '../connectors/registry.js';
import type { Connector } from '../connectors/types.js';
import { connectionHandle, type Connection } from '../store/index.js';
import { DEFAULT_EVERY, forecastReauth, nextDue, parseEvery } from '../sync/schedule.js';
import { pickFormat, printJson, renderRows, type Column } from '../ui/render.js';
import { relativeTime, statusColor } from '../ui/format.js';
import { safeText } from '../ui/safe-text.js';

export interface ConnectionsOptions {
  all: boolean;
}
export interface ConnectionsSetOptions {
  connection: string;
  every: string;
}

export function register(cmd: Command, app: App): void {
  cmd
    .option('-a, --all', 'include revoked connections', false)
    .addHelpText(
      'after',
      `
Examples:
  $ orderlink connections
  $ orderlink connections --json | jq ".[].status"
  $ orderlink connections set sandbox:work --every 6h   # then run \`orderlink sync --due\` from cron`,
    )
    .action((opts: { all: boolean }) => app.run('connections', { all: opts.all }, runConnections));
  cmd
    .command('set')
    .description('Change a connection setting: its sync interval for `sync --due`')
    .argument('<connection>', 'number, connector:alias or alias')
    .requiredOption('--every <interval>', `sync interval: 30m, 6h, 1d, 2w, or "off" (default for every connection: ${DEFAULT_EVERY})`)
    .addHelpText('after', '\nExamples:\n  $ orderlink connections set sandbox:work --every 6h\n  $ orderlink connections set 3 --every off     # never due; sync it by name\n')
    .action((connection: string, o: { every: string }) => {
      parseEvery(o.every);
      return app.run('connections set', { connection, every: o.every.trim().toLowerCase() } satisfies ConnectionsSetOptions, runConnectionsSet);
    });
}

const connectorOf = (c: Pick<Connection, 'connector'>): Connector | undefined => (CONNECTORS as Record<string, Connector>)[c.connector];

/** The exported fields of a connection in `--json` (a contract: add, never rename). */
export function connectionRecord(c: Connection, now = new Date()) {
  const connector = connectorOf(c);
  const due = nextDue(c);
  const forecast = connector ? forecastReauth(c, connector, now) : null;
  return {
    id: c.id,
    handle: connectionHandle(c),
    connector: c.connector,
    retailer: c.retailer,
    alias: c.alias,
    provider_type: c.providerType,
    account_label: c.accountLabel,
    status: c.status,
    scopes: c.scopes ? c.scopes.split(' ') : [],
    base_url: c.baseUrl,
    connected_at: c.connectedAt,
    last_sync_at: c.lastSyncAt,
    last_error: c.lastError,
    environment: c.config.environment ?? null,
    capabilities: connector?.capabilities ?? null,
    sync_every: c.providerType === 'file' ? null : (c.config.syncEvery ?? DEFAULT_EVERY),
    next_due_at: c.providerType === 'file' || c.status !== 'active' || due === null ? null : due.getTime() === 0 ? 'now' : due.toISOString(),
    reauth_forecast: forecast ? { expires_at: forecast.expiresAt, days_left: forecast.daysLeft, why: forecast.why, soon: forecast.soon } : null,
  };
}

export async function runConnections(ctx: Context, opts: ConnectionsOptions): Promise<number> {
  const rows = ctx
    .store()
    .connections.list()
    .filter((c) => opts.all || c.status !== 'revoked');
  const io = ctx.io;
  const format = pickFormat(io, { json: ctx.json });
  if (format === 'table' && rows.length === 0) {
    io.err('No connections yet. Link one with `orderlink link`, or try `orderlink demo`.');
    return 0;
  }
  const now = ctx.now();
  const records = rows.map((c) => connectionRecord(c, now));
  const when = (iso: string | null, none: string) => (iso ? (format === 'table' ? relativeTime(iso, now) : iso) : none);
  const columns: Column<Connection>[] = [
    { key: 'id', get: (c) => c.id, align: 'right' },
    { key: 'handle', header: 'connection', get: (c) => connectionHandle(c) },
    { key: 'account', get: (c) => c.accountLabel ?? '' },
    { key: 'status', get: (c) => c.status, style: (v) => statusColor(io.color, v) },
    { key: 'last_sync', header: 'last sync', get: (c) => when(c.lastSyncAt, c.providerType === 'file' ? 'never imported' : 'never') },
    { key: 'next_due', header: 'next due', get: (c) => { const r = records.find((x) => x.id === c.id)!; return r.next_due_at === null ? '—' : r.next_due_at === 'now' || Date.parse(r.next_due_at) <= now.getTime() ? 'now' : when(r.next_due_at, '—'); } },
    { key: 'last_error', header: 'last error', get: (c) => (c.lastError ? c.lastError.slice(0, 60) : '') },
  ];
  renderRows(io, rows, columns, format, records);
  if (!ctx.json) {
    for (const r of records) {
      const f = r.reauth_forecast;
      if (f?.soon) {
        io.err(`${io.errColor.yellow('!')} ${safeText(r.handle)}: ${f.days_left < 0 ? 'its credential has probably expired' : `its credential is expected to stop working in ${f.days_left} day(s)`} (${f.why}). Run: orderlink ${f.days_left < 0 ? 'link --reconnect' : 'sync'} ${safeText(r.handle)}`);
      }
    }
  }
  return 0;
}

export async function runConnectionsSet(ctx: Context, o: ConnectionsSetOptions): Promise<number> {
  const store = ctx.store();
  const c = store.connections.resolve(o.connection);
  if (c.providerType === 'file') {
    const { usageError } = await import('../errors.js');
    throw usageError('IMPORT_ONLY', `${connectionHandle(c)} is an import: it has no sync interval`, `Import a newer export when you have one: orderlink import ${c.connector} PATH --alias ${c.alias}`);
  }
  store.connections.update(c.id, { config: { ...c.config, syncEvery: o.every } });
  ctx.audit('connection.set', c.id, { sync_every: o.every });
  const updated = store.connections.get(c.id)!;
  if (ctx.json) printJson(ctx.io, connectionRecord(updated, ctx.now()));
  else ctx.io.err(`${ctx.io.errColor.green('✓')} ${safeText(connectionHandle(c))} ${o.every === 'off' ? 'is never due (sync it by name)' : `syncs every ${o.every} with \`orderlink sync --due\``}.`);
  return 0;
}
