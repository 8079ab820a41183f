/** `orderlink connections`: the linked accounts, their status and when they last synced. */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { connectionHandle, type Connection } from '../store/index.js';
import { pickFormat, renderRows, type Column } from '../ui/render.js';
import { relativeTime, statusColor } from '../ui/format.js';

export interface ConnectionsOptions {
  all: boolean;
}

export function register(cmd: Command, app: App): void {
  cmd
    .option('-a, --all', 'include revoked connections', false)
    .addHelpText('after', '\nExamples:\n  $ orderlink connections\n  $ orderlink connections --json | jq ".[].status"\n')
    .action((opts: { all: boolean }) => app.run('connections', { all: opts.all }, runConnections));
}

/** The exported fields of a connection in `--json` (a contract: add, never rename). */
export function connectionRecord(c: Connection) {
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
  const columns: Column<Connection>[] = [
    { key: 'id', get: (c) => c.id, align: 'right' },
    { key: 'handle', header: 'connection', get: (c) => connectionHandle(c) },
    { key: 'retailer', get: (c) => c.retailer },
    { key: 'account', get: (c) => c.accountLabel ?? '' },
    { key: 'status', get: (c) => c.status, style: (v) => statusColor(io.color, v) },
    { key: 'scopes', get: (c) => c.scopes },
    { key: 'connected', get: (c) => (format === 'table' ? relativeTime(c.connectedAt, now) : c.connectedAt) },
    { key: 'last_sync', header: 'last sync', get: (c) => (c.lastSyncAt ? (format === 'table' ? relativeTime(c.lastSyncAt, now) : c.lastSyncAt) : 'never') },
  ];
  renderRows(io, rows, columns, format, rows.map(connectionRecord));
  return 0;
}
