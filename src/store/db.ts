/**
 * Opening the SQLite database: file created 0600 before SQLite touches it (WAL and SHM files
 * inherit its permissions), WAL, foreign keys on, a busy timeout, and migrations applied each in
 * its own transaction and recorded in `schema_migrations` and `PRAGMA user_version`.
 */
import Database from 'better-sqlite3';
import { closeSync, constants, existsSync, lstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DB_DAMAGED_HINT, OrderlinkError, mapError } from '../errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type DB = Database.Database;

export interface OpenOptions {
  readonly?: boolean;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  migrations?: readonly Migration[];
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export const damaged = (path: string, what: string): OrderlinkError =>
  new OrderlinkError('DB_DAMAGED', `the database ${path} ${what}; orderlink did not change it`, { kind: 'integrity', hint: DB_DAMAGED_HINT });

/**
 * Create the file 0600 if there is none. An existing file must be a regular file holding a SQLite
 * header, or be empty in a profile that never had a vault (a crash right after this function
 * created it): SQLite would happily turn an emptied or overwritten database into a new, empty one
 * (the audit trail restarting at row 0), so anything else is refused, untouched.
 */
function createPrivateFile(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0), 0o600);
    closeSync(fd);
    return;
  }
  if (st.isSymbolicLink() || !st.isFile()) {
    throw new OrderlinkError('UNSAFE_PATH', `${path} is not a regular file`, {
      hint: 'Remove it or point --home somewhere else (symlinks are refused).',
    });
  }
  if (st.size === 0) {
    if (existsSync(join(dirname(path), 'vault.bin')) || existsSync(`${path}-wal`)) throw damaged(path, 'is empty (zero bytes) although this profile has been used');
    return;
  }
  const head = Buffer.alloc(100);
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 100 || !head.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) throw damaged(path, 'is not a SQLite database (damaged, truncated or overwritten)');
  // The header's page count is valid when its "version-valid-for" matches the change counter
  // (SQLite file format 1.3.8); a file shorter than that was truncated.
  const pageSize = head.readUInt16BE(16) === 1 ? 65536 : head.readUInt16BE(16);
  const pages = head.readUInt32BE(28);
  if (head.readUInt32BE(92) === head.readUInt32BE(24) && pages > 0 && st.size < pages * pageSize) throw damaged(path, `is truncated (${st.size} bytes of ${pages * pageSize})`);
}

/** SQLite's own verdicts on open (NOTADB, CORRUPT, BUSY, FULL) as OrderlinkErrors with the path. */
function opening(path: string, db: DB | undefined, err: unknown): unknown {
  if (db?.open) db.close();
  const m = mapError(err);
  if (m.code === 'DB_DAMAGED') return damaged(path, 'is damaged (SQLite reports it as corrupt or not a database)');
  return err;
}

export function openDatabase(path: string, opts: OpenOptions = {}): DB {
  if (!opts.readonly && path !== ':memory:') createPrivateFile(path);
  let db: DB;
  try {
    // Another program holding the file locked (a SQLite browser) is waited for this long, then
    // reported as busy (exit 7) by errors.ts. Set by better-sqlite3 itself: no PRAGMA to prepare.
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: 5000 });
  } catch (err) {
    throw new OrderlinkError('DB_OPEN_FAILED', `cannot open the database at ${path}`, {
      hint: 'Check the file exists and is readable; run `orderlink doctor` for details.',
      cause: err,
    });
  }
  try {
    // Reads page 1: a garbage or truncated header fails here (SQLITE_NOTADB), before any write.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    configure(db, opts);
  } catch (err) {
    throw opening(path, db, err);
  }
  return db;
}

function configure(db: DB, opts: OpenOptions): void {
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable across application crashes (kill -9); a power loss can lose
    // the last transactions but never corrupts. Each sync page is its own transaction anyway.
    db.pragma('synchronous = NORMAL');
    // Checkpoint less often than SQLite's default (1000 pages): a big sync commits hundreds of
    // pages, and folding the WAL back every ~4 MB cost about a fifth of the write time. The sync
    // truncates the WAL itself when it ends (sync/index.ts), so it does not stay large.
    db.pragma('wal_autocheckpoint = 16000');
  }
  db.pragma('foreign_keys = ON');
  if (!opts.readonly && opts.migrate !== false) migrate(db, opts.migrations ?? MIGRATIONS);
}

export function schemaVersion(db: DB): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: DB, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = schemaVersion(db);
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  // Up to date (every open of every command): one pragma read, nothing written or parsed. The
  // table exists once any migration ran: each one records itself there in its own transaction.
  if (current === latest && current > 0) return [];
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
  if (current > latest) {
    throw new OrderlinkError(
      'DB_TOO_NEW',
      `the database is at schema version ${current}, newer than this orderlink understands (${latest})`,
      { hint: 'Upgrade orderlink, or use a different --home.' },
    );
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}

export function integrityCheck(db: DB): string[] {
  const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  return rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
}
