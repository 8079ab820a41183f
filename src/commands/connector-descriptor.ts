/**
 * `orderlink connector add|remove|test`: connectors written as data (src/connectors/generic).
 * `add` validates a descriptor and stores it in the profile (0600, created exclusively), with a
 * confidential client's secret in the vault — asked for hidden, or read from stdin, never argv;
 * `remove` deletes both; `test --replay DIR` runs the mapping offline over the pages
 * `sync --dry-run --record DIR` saved, the loop a connector author lives in.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context.js';
import { ExitCode, OrderlinkError, usageError } from '../errors.js';
import { printJson, pickFormat, renderRows, type Column } from '../ui/render.js';
import { displayMoney } from '../connectors/money.js';
import type { NormalizedOrder } from '../connectors/types.js';

export type DescriptorCommandOptions =
  | { kind: 'add'; name: string; from: string; clientSecretStdin: boolean; replace?: boolean }
  | { kind: 'remove'; name: string }
  | { kind: 'test'; name: string; replay: string; from?: string };

const MAX_DESCRIPTOR_BYTES = 256 * 1024;

export async function runDescriptorCommand(ctx: Context, o: DescriptorCommandOptions): Promise<number> {
  if (o.kind === 'add') return add(ctx, o);
  if (o.kind === 'remove') return remove(ctx, o.name);
  return replay(ctx, o.name, o.replay, o.from);
}

function readDescriptorFile(from: string): string {
  try {
    if (statSync(from).size > MAX_DESCRIPTOR_BYTES) throw usageError('BAD_DESCRIPTOR', `${from} is larger than ${MAX_DESCRIPTOR_BYTES / 1024} KiB; a descriptor is a small JSON file`);
    return readFileSync(from, 'utf8');
  } catch (err) {
    if (err instanceof OrderlinkError) throw err;
    throw usageError('DESCRIPTOR_UNREADABLE', `cannot read ${from} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'Check the path.');
  }
}

async function add(ctx: Context, o: { name: string; from: string; clientSecretStdin: boolean; replace?: boolean }): Promise<number> {
  const { checkName, parseDescriptor, writeDescriptor, descriptorPath } = await import('../connectors/generic/files.js');
  const { CONNECTORS } = await import('../connectors/registry.js');
  const name = checkName(o.name);
  if (name in CONNECTORS) throw usageError('CONNECTOR_EXISTS', `${name} is a built-in connector`, 'Choose another name for your descriptor.');
  const d = parseDescriptor(readDescriptorFile(o.from), o.from);
  ctx.store(); // the profile directory exists from here on
  const { existsSync } = await import('node:fs');
  const exists = existsSync(descriptorPath(ctx.paths, name));
  if (exists && !o.replace) {
    throw usageError('CONNECTOR_EXISTS', `a connector called ${name} is already added to this profile`, `Replace it with a new version: orderlink connector add ${name} --from FILE --replace`);
  }
  if (!exists && o.replace) throw usageError('UNKNOWN_CONNECTOR', `there is no added connector called ${name} to replace`, `Add it: orderlink connector add ${name} --from ${o.from}`);
  const { clientSecretRef } = await import('../tokens/oauth.js');
  // A new version keeps the secret already in the vault unless a new one is piped in.
  const keepSecret = Boolean(o.replace && !o.clientSecretStdin && d.auth.clientSecret === 'required' && (await ctx.vault()).get(clientSecretRef(name)) !== undefined);
  let secret: string | null = null;
  if (d.auth.clientSecret === 'required' && !keepSecret) {
    if (o.clientSecretStdin) secret = (await ctx.io.readStdin()).trim();
    else if (ctx.io.stdinIsTTY && ctx.io.stderrIsTTY) secret = (await ctx.prompter().password(`${d.displayName} client secret (hidden)`)).trim();
    else throw usageError('NO_TERMINAL', 'this descriptor needs a client secret, and there is no terminal to ask for it on', `Pipe it in: printf %s "$CLIENT_SECRET" | orderlink connector add ${name} --from ${o.from} --client-secret-stdin`);
    if (!/^[\x21-\x7e]{4,500}$/.test(secret)) throw usageError('BAD_CREDENTIALS', 'the client secret must be 4–500 printable characters without spaces; nothing was added');
  } else if (o.clientSecretStdin) {
    throw usageError('BAD_OPTION', 'this descriptor declares a public client (auth.clientSecret "none"): there is no secret to read', 'Set "clientSecret": "required" in the descriptor if the provider gave you one.');
  }
  if (secret !== null) (await ctx.vault()).put(clientSecretRef(name), secret);
  const path = writeDescriptor(ctx.paths, name, d, Boolean(o.replace));
  ctx.audit(o.replace ? 'connector.replace' : 'connector.add', null, { connector: name, issuer: d.auth.issuer ?? null, confidential: d.auth.clientSecret === 'required' });
  const needsId = d.auth.clientId === undefined ? ' --client-id ID' : '';
  if (ctx.json) printJson(ctx.io, { connector: name, added: true, replaced: Boolean(o.replace), path, confidential: d.auth.clientSecret === 'required' });
  else if (o.replace) ctx.io.err(`${ctx.io.errColor.green('✓')} Replaced ${name} with the new version of ${o.from}; its connections use it from now on.`);
  else ctx.io.err(`${ctx.io.errColor.green('✓')} Added ${name} (${d.displayName})${secret !== null ? '; the client secret is in the vault' : ''}. Next: orderlink link ${name}${needsId}`);
  return 0;
}

async function remove(ctx: Context, name: string): Promise<number> {
  const { checkName, deleteDescriptor } = await import('../connectors/generic/files.js');
  const { CONNECTORS } = await import('../connectors/registry.js');
  checkName(name);
  if (name in CONNECTORS) throw usageError('BUILT_IN_CONNECTOR', `${name} is built in; only added connectors can be removed`);
  const live = ctx.store().connections.list().filter((c) => c.connector === name && c.status !== 'revoked');
  if (live.length) {
    throw usageError('CONNECTOR_IN_USE', `${live.length} connection(s) still use ${name}`, `Disconnect them first: orderlink disconnect ${live[0]!.id}`);
  }
  const removed = deleteDescriptor(ctx.paths, name);
  let secret = false;
  if (ctx.hasVault()) {
    const { clientSecretRef } = await import('../tokens/oauth.js');
    secret = (await ctx.vault()).delete(clientSecretRef(name));
  }
  if (!removed && !secret) throw usageError('UNKNOWN_CONNECTOR', `no added connector called ${name}`, 'See `orderlink connector list`.');
  ctx.audit('connector.remove', null, { connector: name, secret_deleted: secret });
  if (ctx.json) printJson(ctx.io, { connector: name, removed: true, secret_deleted: secret });
  else ctx.io.err(`${ctx.io.errColor.green('✓')} Removed ${name}${secret ? ' and its client secret' : ''}.`);
  return 0;
}

/** The pages `sync --record` wrote, in order. */
export function readRecording(dir: string): Array<{ page: number; records: unknown[] }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^page-\d{4,}\.json$/.test(n)).sort();
  } catch {
    throw usageError('REPLAY_UNREADABLE', `cannot read the folder ${dir}`, 'Record pages first: orderlink sync NAME --dry-run --record DIR');
  }
  if (!names.length) throw usageError('REPLAY_EMPTY', `${dir} holds no recorded pages (page-0001.json, …)`, 'Record pages first: orderlink sync NAME --dry-run --record DIR');
  return names.map((n) => {
    let body: { records?: unknown };
    try {
      body = JSON.parse(readFileSync(join(dir, n), 'utf8')) as { records?: unknown };
    } catch {
      throw usageError('REPLAY_UNREADABLE', `${join(dir, n)} is not JSON`);
    }
    if (!Array.isArray(body.records)) throw usageError('REPLAY_UNREADABLE', `${join(dir, n)} has no "records" list`);
    return { page: Number(/\d+/.exec(n)![0]), records: body.records };
  });
}

async function replay(ctx: Context, name: string, dir: string, from?: string): Promise<number> {
  const { resolveConnector } = await import('../connectors/resolve.js');
  const { mapRecords } = await import('../sync/pipeline.js');
  let connector;
  if (from) {
    // The edit-and-retry loop: a descriptor file not added yet (or a new version of an added one).
    const { parseDescriptor } = await import('../connectors/generic/files.js');
    const { connectorFromDescriptor } = await import('../connectors/generic/index.js');
    connector = connectorFromDescriptor(name, parseDescriptor(readDescriptorFile(from), from), from) as import('../connectors/types.js').Connector;
  } else connector = resolveConnector(ctx, name);
  const pages = readRecording(dir);
  const out = { connector: connector.id, pages: pages.length, records: 0, orders: [] as NormalizedOrder[], tombstones: [] as unknown[], errors: [] as unknown[] };
  for (const p of pages) {
    const m = mapRecords(connector, p.records, p.page);
    out.records += p.records.length;
    out.orders.push(...m.orders);
    out.tombstones.push(...m.tombstones);
    out.errors.push(...m.errors);
  }
  const io = ctx.io;
  if (ctx.json) printJson(io, out);
  else {
    const cols: Column<NormalizedOrder>[] = [
      { key: 'order', get: (r) => r.orderId },
      { key: 'date', get: (r) => r.orderDate.slice(0, 10) },
      { key: 'retailer', get: (r) => r.retailer },
      { key: 'status', get: (r) => r.status },
      { key: 'total', get: (r) => displayMoney(r.total, r.currency), align: 'right' },
      { key: 'items', get: (r) => r.items.length, align: 'right' },
    ];
    renderRows(io, out.orders, cols, pickFormat(io, {}));
    io.err(`${out.records} record(s) in ${out.pages} page(s): ${out.orders.length} order(s), ${out.tombstones.length} deletion(s), ${out.errors.length} invalid.`);
    for (const e of out.errors.slice(0, 20) as Array<{ orderId: string | null; page: number; index: number; field: string; message: string }>) {
      io.err(`${io.errColor.yellow('!')} record ${e.orderId ?? `#${e.index + 1}`} on page ${e.page}: ${e.field}: ${e.message}`);
    }
  }
  return out.errors.length ? ExitCode.PARTIAL : ExitCode.OK;
}
