/**
 * Opening the SQLite database: file created 0600 before SQLite touches it (WAL and SHM files
 * inherit its permissions), WAL, foreign keys on, a busy timeout, and migrations applied each in
 * its own transaction and recorded in `schema_migrations` and `PRAGMA user_version`.
 */
import Database from 'better-sqlite3';
import { closeSync, constants, lstatSync, openSync } from 'node:fs';
import { OrderlinkError } from '../errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type DB = Database.Database;

export interface OpenOptions {
  readonly?: boolean;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  migrations?: readonly Migration[];
}

function createPrivateFile(path: string): void {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink() || !st.isFile()) {
      throw new OrderlinkError('UNSAFE_PATH', `${path} is not a regular file`, {
        hint: 'Remove it or point --home somewhere else (symlinks are refused).',
      });
    }
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0), 0o600);
  closeSync(fd);
}

export function openDatabase(path: string, opts: OpenOptions = {}): DB {
  if (!opts.readonly && path !== ':memory:') createPrivateFile(path);
  let db: DB;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new OrderlinkError('DB_OPEN_FAILED', `cannot open the database at ${path}`, {
      hint: 'Check the file exists and is readable; run `orderlink doctor` for details.',
      cause: err,
    });
  }
  db.pragma('busy_timeout = 5000');
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
  return db;
}

export function schemaVersion(db: DB): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: DB, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
  const current = schemaVersion(db);
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
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
