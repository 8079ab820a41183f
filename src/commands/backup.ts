/**
 * `orderlink backup FILE [--with-vault] [--force]`: a consistent copy of the database, made with
 * SQLite's online backup (better-sqlite3 `db.backup()`), so it is safe while a sync is writing.
 *
 * Files are written as every file orderlink creates (SECURITY.md rule 32): a temporary file with
 * an unpredictable name created O_EXCL|O_NOFOLLOW 0600 beside the target, fsync, then a hard link
 * to FILE (which fails if FILE appeared meanwhile: never an overwrite without --force) or, with
 * --force, a rename. A crash (kill -9) leaves at most a `.FILE.<random>.tmp`, never a partial FILE.
 *
 * The vault: tokens are not in the database. `--with-vault` also copies vault.bin to
 * FILE.vault.bin, AFTER the database, so the copy's generation is at least the one the database
 * copy recorded and the pair restores without a rollback error. The vault copy is still sealed:
 * it opens only with its key (keychain entry, ORDERLINK_VAULT_KEY or passphrase). Restore: docs/backup.md.
 */
import { closeSync, constants, existsSync, fsyncSync, linkSync, lstatSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError } from '../errors.js';
import { printJson } from '../ui/render.js';

export interface BackupOptions {
  file: string;
  force: boolean;
  withVault: boolean;
}

export function register(cmd: Command, app: App): void {
  cmd
    .argument('<file>', 'where to write the backup (a new file; see --force)')
    .option('--with-vault', 'also copy the sealed vault to FILE.vault.bin (needed to restore your links, not just your orders)', false)
    .option('--force', 'replace FILE (and FILE.vault.bin) if it exists', false)
    .addHelpText(
      'after',
      `
The database copy is consistent even while a sync is running. Without --with-vault it holds your
orders, connections and audit trail but no tokens; the vault copy opens only with its key, and
after \`orderlink vault rotate\` or \`migrate\` make a new one. Restoring: docs/backup.md.

Examples:
  $ orderlink backup ~/backups/orderlink-2026-06-01.db
  $ orderlink backup ~/backups/orderlink.db --with-vault --force
  $ orderlink --profile work backup work.db --json
`,
    )
    .action((file: string, o: { force: boolean; withVault: boolean }) => app.run('backup', { file, force: o.force, withVault: o.withVault } satisfies BackupOptions, runBackup));
}

const exists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

function checkTarget(path: string, force: boolean): void {
  if (!exists(path)) return;
  if (!force) {
    throw new OrderlinkError('BACKUP_EXISTS', `${path} already exists; nothing was written`, { kind: 'usage', hint: 'Choose a new file name, or pass --force to replace it.' });
  }
  const st = lstatSync(path);
  if (st.isDirectory()) throw new OrderlinkError('BACKUP_EXISTS', `${path} is a directory`, { kind: 'usage', hint: 'Give a file name inside it, e.g. ' + join(path, 'orderlink.db') });
}

/** A new empty 0600 file beside `path` with an unpredictable name. */
function createTemp(path: string): string {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  closeSync(openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600));
  return tmp;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Put the finished temp file in place: never over an existing file unless forced. */
function publish(tmp: string, path: string, force: boolean): void {
  if (force) renameSync(tmp, path);
  else {
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OrderlinkError('BACKUP_EXISTS', `${path} appeared while the backup was written; nothing was replaced`, { kind: 'usage', hint: 'Choose a new file name, or pass --force.' });
      throw err;
    }
    unlinkSync(tmp);
  }
  if (process.platform !== 'win32') fsyncPath(dirname(path));
}

function failed(path: string, err: unknown): OrderlinkError {
  if (err instanceof OrderlinkError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? code : 'write failed';
  const full = why === 'ENOSPC' || why === 'SQLITE_FULL' || why === 'EDQUOT';
  return new OrderlinkError(full ? 'DISK_FULL' : 'BACKUP_FAILED', `could not write the backup to ${path} (${why}); nothing was written there`, {
    hint: full ? 'Free some space on that disk, or back up to another one.' : 'Check that the folder exists and that you can write to it.',
  });
}

export async function runBackup(ctx: Context, o: BackupOptions): Promise<number> {
  const file = resolve(o.file);
  const vaultFile = `${file}.vault.bin`;
  if (!existsSync(ctx.paths.db)) {
    throw new OrderlinkError('NOTHING_TO_BACK_UP', `there is no database for profile "${ctx.profile}" at ${ctx.paths.db}`, { hint: 'Check --home and --profile (`orderlink doctor` shows where orderlink looks).' });
  }
  checkTarget(file, o.force);
  if (o.withVault) checkTarget(vaultFile, o.force);
  const store = ctx.store();
  if (o.withVault && !ctx.hasVault()) {
    const lost = store.vaultGeneration().get() > 0;
    throw new OrderlinkError(lost ? 'VAULT_FILE_MISSING' : 'NO_VAULT', `--with-vault: there is no vault file at ${ctx.paths.vault}${lost ? ', although this profile had one' : ''}; nothing was written`, {
      kind: lost ? 'integrity' : 'failure',
      hint: lost ? 'Back up the database alone (without --with-vault) first, then see docs/backup.md to restore vault.bin.' : 'Run without --with-vault: this profile has no tokens yet.',
    });
  }

  let tmp: string | undefined;
  try {
    tmp = createTemp(file);
    await store.db.backup(tmp);
    // One self-contained file (no -wal beside it), checked before it is given the real name.
    const copy = new Database(tmp);
    try {
      copy.pragma('journal_mode = DELETE');
      const check = copy.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new OrderlinkError('BACKUP_FAILED', `the backup copy failed SQLite's check (${String(check).slice(0, 80)}); nothing was written to ${file}`, { kind: 'integrity', hint: 'Run `orderlink doctor`: the database itself may be damaged.' });
    } finally {
      copy.close();
    }
    fsyncPath(tmp);
    publish(tmp, file, o.force);
    tmp = undefined;
  } catch (err) {
    throw failed(file, err);
  } finally {
    if (tmp) rmQuiet(tmp);
  }

  let vaultGeneration: number | undefined;
  if (o.withVault) {
    const { readVaultFile, withWriteLock } = await import('../vault/format.js');
    let vtmp: string | undefined;
    try {
      // Under the vault's write lock: no writer is halfway through replacing it.
      const bytes = withWriteLock(ctx.paths.vault, () => readVaultFile(ctx.paths.vault));
      if (!bytes) throw new OrderlinkError('VAULT_MISSING', `the vault file ${ctx.paths.vault} disappeared during the backup`, { kind: 'integrity' });
      vaultGeneration = headerGeneration(bytes.bytes);
      vtmp = createTemp(vaultFile);
      const fd = openSync(vtmp, constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0));
      try {
        let off = 0;
        while (off < bytes.bytes.length) off += writeSync(fd, bytes.bytes, off, bytes.bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      publish(vtmp, vaultFile, o.force);
      vtmp = undefined;
    } catch (err) {
      throw failed(vaultFile, err);
    } finally {
      if (vtmp) rmQuiet(vtmp);
    }
  }

  const orders = (store.db.prepare('SELECT count(*) AS n FROM orders').get() as { n: number }).n;
  const connections = store.connections.list().length;
  try {
    ctx.audit('backup.create', null, { file: basename(file), with_vault: o.withVault, orders });
  } catch {
    ctx.io.err(`${ctx.io.errColor.yellow('!')} the backup is complete, but its audit entry could not be written`);
  }
  const size = statSync(file).size;
  if (ctx.json) {
    printJson(ctx.io, { backup: file, bytes: size, orders, connections, vault: o.withVault ? vaultFile : null, ...(vaultGeneration ? { vault_generation: vaultGeneration } : {}) });
    return 0;
  }
  ctx.io.err(`${ctx.io.errColor.green('✓')} backed up ${orders} order${orders === 1 ? '' : 's'} and ${connections} connection${connections === 1 ? '' : 's'} to ${file} (${size} bytes, mode 0600)`);
  if (o.withVault) ctx.io.err(`${ctx.io.errColor.green('✓')} the sealed vault to ${vaultFile}: it opens only with this vault's key; after \`orderlink vault rotate\` or \`migrate\`, make a new backup`);
  else if (ctx.hasVault()) ctx.io.err(`  Tokens are not in this backup: add --with-vault to restore your links too (else re-link after a restore).`);
  ctx.io.err(`  Restore: docs/backup.md`);
  return 0;
}

function headerGeneration(bytes: Buffer): number | undefined {
  try {
    const hlen = bytes.readUInt32BE(8);
    return (JSON.parse(bytes.subarray(12, 12 + hlen).toString('utf8')) as { generation?: number }).generation;
  } catch {
    return undefined;
  }
}

function rmQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* gone */
  }
}
