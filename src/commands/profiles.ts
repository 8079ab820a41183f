/**
 * `orderlink profiles`, `profiles show NAME`, `profiles delete NAME`: the profiles under this
 * home, where each one's files live, how big they are and what they hold. Each profile is read
 * through a read-only connection: listing never creates, migrates or locks anything, and a
 * damaged database is shown as such instead of failing the whole list.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, mapError, usageError } from '../errors.js';
import { listProfiles, profilePaths, validateProfile } from '../paths.js';
import { pickFormat, printJson, renderKeyValues, renderRows } from '../ui/render.js';

export interface ProfilesOptions {
  kind: 'list' | 'show' | 'delete';
  name?: string;
  yes?: boolean;
}

export function register(cmd: Command, app: App): void {
  cmd
    .addHelpText(
      'after',
      `
Each profile is a directory under <home>/profiles/ with its own database, vault and key: they
never share a row or a token. A profile is created by the first \`link\` or \`import\` into it
(\`orderlink --profile work link ...\`); other commands refuse a profile that does not exist.

Examples:
  $ orderlink profiles                       # name, folder, size, connections, orders, last sync
  $ orderlink profiles show work
  $ orderlink profiles delete old-test       # asks you to type the name
  $ orderlink profiles delete old-test --yes # for scripts
  $ orderlink --profile work orders --since 30d`,
    )
    .action(() => app.run('profiles', { kind: 'list' } satisfies ProfilesOptions, runProfiles));
  cmd
    .command('show')
    .description("One profile: where its files are, their size, what it holds")
    .argument('<name>', 'the profile')
    .addHelpText('after', '\nExamples:\n  $ orderlink profiles show default\n  $ orderlink profiles show work --json\n')
    .action((name: string) => app.run('profiles show', { kind: 'show', name } satisfies ProfilesOptions, runProfiles));
  cmd
    .command('delete')
    .description('Delete a profile: its database, vault and locks (asks you to type its name)')
    .argument('<name>', 'the profile')
    .option('-y, --yes', 'do not ask (required when not in a terminal)', false)
    .addHelpText(
      'after',
      `
Deleting removes the profile's folder: its orders, connections, audit trail and sealed tokens.
It does not revoke access at the providers: run \`orderlink --profile NAME disconnect C\` first
for each linked account you want revoked. A profile a sync is writing to is refused (exit 7).
Make a copy first if in doubt: orderlink --profile NAME backup FILE --with-vault.

Examples:
  $ orderlink profiles delete old-test
  $ orderlink profiles delete old-test --yes --json`,
    )
    .action((name: string, o: { yes: boolean }) => app.run('profiles delete', { kind: 'delete', name, yes: o.yes } satisfies ProfilesOptions, runProfiles));
}

export interface ProfileInfo {
  name: string;
  current: boolean;
  dir: string;
  db: string;
  vault: string | null;
  bytes: number;
  connections: number | null;
  orders: number | null;
  charges: number | null;
  last_sync_at: string | null;
  retention: string | null;
  /** Why the counts are missing (a damaged or busy database), else null. */
  problem: string | null;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += lstatSync(p).size;
  }
  return n;
}

export async function profileInfo(home: string, name: string, current: string): Promise<ProfileInfo> {
  const p = profilePaths(home, name);
  const info: ProfileInfo = { name, current: name === current, dir: p.dir, db: p.db, vault: null, bytes: 0, connections: null, orders: null, charges: null, last_sync_at: null, retention: null, problem: null };
  try {
    info.bytes = dirBytes(p.dir);
    info.vault = lstatSync(p.vault, { throwIfNoEntry: false })?.isFile() ? p.vault : null;
  } catch {
    /* unreadable folder: reported below by the database */
  }
  if (!lstatSync(p.db, { throwIfNoEntry: false })) {
    Object.assign(info, { connections: 0, orders: 0, charges: 0 });
    return info;
  }
  const { openDatabase } = await import('../store/db.js');
  try {
    const db = openDatabase(p.db, { readonly: true });
    try {
      const one = <T>(sql: string, ...args: unknown[]) => db.prepare(sql).get(...args) as T;
      info.connections = one<{ n: number }>('SELECT count(*) AS n FROM connections WHERE profile = ?', name).n;
      info.orders = one<{ n: number }>('SELECT count(*) AS n FROM orders WHERE deleted_at IS NULL').n;
      info.charges = one<{ n: number }>('SELECT count(*) AS n FROM charges WHERE deleted_at IS NULL').n;
      info.last_sync_at = one<{ t: string | null }>('SELECT max(last_sync_at) AS t FROM connections WHERE profile = ?', name).t;
      info.retention = one<{ value: string } | undefined>("SELECT value FROM meta WHERE key = 'retention'")?.value ?? null;
    } finally {
      db.close();
    }
  } catch (err) {
    const m = mapError(err);
    info.problem = `${m.code}: ${m.message}`;
  }
  return info;
}

const size = (b: number): string => (b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(b / 1024))} KB`);

function known(ctx: Context, raw: string): string {
  const name = validateProfile(raw);
  const all = listProfiles(ctx.paths.home);
  if (!all.includes(name)) {
    throw new OrderlinkError('UNKNOWN_PROFILE', `there is no profile "${name}" in ${ctx.paths.home}${all.length ? ` (profiles: ${all.join(', ')})` : ' (it has no profiles yet)'}`, {
      kind: 'usage',
      hint: 'Run `orderlink profiles` to list them (and check --home).',
      details: { profile: name, profiles: all },
    });
  }
  return name;
}

export async function runProfiles(ctx: Context, o: ProfilesOptions): Promise<number> {
  const io = ctx.io;
  const home = ctx.paths.home;
  if (o.kind === 'list') {
    const infos = await Promise.all(listProfiles(home).map((n) => profileInfo(home, n, ctx.profile)));
    if (ctx.json) {
      printJson(io, { home, current: ctx.profile, profiles: infos });
      return 0;
    }
    if (infos.length === 0) {
      io.err(`No profiles in ${home} yet. The first \`orderlink link\` or \`orderlink import\` creates "default" (or --profile NAME).`);
      return 0;
    }
    const num = (n: number | null) => (n === null ? '?' : n);
    renderRows(
      io,
      infos,
      [
        { key: 'profile', get: (i: ProfileInfo) => `${i.name}${i.current ? ' *' : ''}` },
        { key: 'connections', get: (i: ProfileInfo) => num(i.connections), align: 'right' },
        { key: 'orders', get: (i: ProfileInfo) => num(i.orders), align: 'right' },
        { key: 'size', get: (i: ProfileInfo) => size(i.bytes), align: 'right' },
        { key: 'last sync', get: (i: ProfileInfo) => (i.problem ? 'damaged or unreadable' : i.last_sync_at ? i.last_sync_at.slice(0, 16).replace('T', ' ') : 'never') },
        { key: 'folder', get: (i: ProfileInfo) => i.dir },
      ],
      pickFormat(io, {}),
    );
    if (io.stdoutIsTTY) io.err(io.errColor.dim(`* the profile this command ran with (--profile / ORDERLINK_PROFILE; default "default"). Home: ${home}`));
    return 0;
  }

  const name = known(ctx, o.name!);
  const info = await profileInfo(home, name, ctx.profile);
  if (o.kind === 'show') {
    if (ctx.json) printJson(io, info);
    else {
      renderKeyValues(io, [
        ['profile', `${info.name}${info.current ? ' (this command ran with it)' : ''}`],
        ['folder', info.dir],
        ['database', info.db],
        ['vault', info.vault ?? 'none (no token stored)'],
        ['size', `${size(info.bytes)} (${info.bytes} bytes)`],
        ['connections', info.connections ?? '?'],
        ['orders', info.orders ?? '?'],
        ['charges', info.charges ?? '?'],
        ['last sync', info.last_sync_at ?? 'never'],
        ['retention', info.retention ?? 'off (everything is kept)'],
        ...(info.problem ? ([['problem', info.problem, io.color.red]] as const) : []),
      ]);
    }
    return 0;
  }
  return deleteProfile(ctx, info, o.yes ?? false);
}

async function deleteProfile(ctx: Context, info: ProfileInfo, yes: boolean): Promise<number> {
  const io = ctx.io;
  const what = `profile "${info.name}" (${info.connections ?? '?'} connections, ${info.orders ?? '?'} orders, ${size(info.bytes)}) at ${info.dir}`;
  if (!yes) {
    if (!(io.stdinIsTTY && io.stderrIsTTY)) throw usageError('CONFIRMATION_REQUIRED', `deleting ${what} needs --yes when not in a terminal; nothing was deleted`, 'Check it with `orderlink profiles show NAME`, then run again with --yes.');
    io.err(`This deletes ${what}: its orders, connections, audit trail and sealed tokens. Access at the providers is NOT revoked (use \`orderlink --profile ${info.name} disconnect\` first).`);
    const typed = await ctx.prompter().input(`Type the profile name (${info.name}) to delete it`);
    if (typed.trim() !== info.name) {
      io.err('The name did not match. Nothing was deleted.');
      return 0;
    }
  }
  const st = lstatSync(info.dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new OrderlinkError('UNSAFE_PATH', `${info.dir} is not a plain directory; nothing was deleted`, { hint: 'Remove it by hand if it is yours.' });
  // Not while a sync (or purge) writes to it: hold its sync lock while the folder goes.
  const { acquireLock } = await import('../locks.js');
  const locks = profilePaths(ctx.paths.home, info.name).locks;
  const lock = lstatSync(locks, { throwIfNoEntry: false })?.isDirectory() ? await acquireLock(locks, 'sync', { waitMs: 0, what: `an \`orderlink sync\` of profile "${info.name}"` }) : undefined;
  try {
    rmSync(info.dir, { recursive: true, force: true });
  } finally {
    lock?.release();
  }
  if (ctx.json) printJson(io, { deleted: info.name, dir: info.dir, bytes: info.bytes, connections: info.connections, orders: info.orders });
  else {
    io.err(`${io.errColor.green('✓')} deleted ${what}.`);
    if (info.vault) io.err(`  If its vault key was in the OS keychain, the entry "orderlink:${info.name}" is no longer needed: remove it in your keychain manager.`);
  }
  return 0;
}
