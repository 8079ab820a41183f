/**
 * The error taxonomy and the one place that maps errors to exit codes.
 *
 * Every user-facing failure is an OrderlinkError with a stable string `code` (tests and
 * `--json` match on it), a message saying what happened, and a `hint` saying what to do next.
 * Messages must never contain a secret: build them from names and ids, never from values
 * received from a provider's token endpoint or the vault.
 */

/** Documented in README.md ("Exit codes"). Keep the two in step: test/docs.test.ts checks. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  PARTIAL: 3,
  REAUTH_REQUIRED: 4,
  VAULT_LOCKED: 5,
  INTEGRITY: 6,
  BUSY: 7,
  INTERNAL: 70,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind =
  | 'failure'
  | 'usage'
  | 'partial'
  | 'reauth'
  | 'vault_locked'
  | 'integrity'
  | 'busy'
  | 'interrupted';

const exitFor: Record<ErrorKind, ExitCodeValue> = {
  failure: ExitCode.FAILURE,
  usage: ExitCode.USAGE,
  partial: ExitCode.PARTIAL,
  reauth: ExitCode.REAUTH_REQUIRED,
  vault_locked: ExitCode.VAULT_LOCKED,
  integrity: ExitCode.INTEGRITY,
  busy: ExitCode.BUSY,
  interrupted: ExitCode.INTERRUPTED,
};

export interface ErrorOptions {
  hint?: string;
  kind?: ErrorKind;
  /** Extra machine-readable facts for `--json` (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class OrderlinkError extends Error {
  override readonly name: string = 'OrderlinkError';
  readonly code: string;
  readonly hint: string | undefined;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.hint = opts.hint;
    this.kind = opts.kind ?? 'failure';
    this.details = opts.details;
  }

  get exitCode(): ExitCodeValue {
    return exitFor[this.kind];
  }
}

export const usageError = (code: string, message: string, hint?: string): OrderlinkError =>
  new OrderlinkError(code, message, { kind: 'usage', hint });

export const VAULT_LOCKED_HINT =
  'Choose a key source: (1) the OS keychain (install and unlock a Secret Service such as gnome-keyring, ' +
  'or KWallet / macOS Keychain / Windows Credential Manager); (2) ORDERLINK_VAULT_KEY=<base64 of 32 random bytes> ' +
  '(for CI: `openssl rand -base64 32`); (3) a passphrase: ORDERLINK_VAULT_PASSPHRASE, or run in a terminal to be prompted.';

export interface MappedError {
  exitCode: ExitCodeValue;
  code: string;
  message: string;
  hint?: string | undefined;
  details?: Record<string, unknown> | undefined;
  internal: boolean;
}

/**
 * Map anything thrown to an exit code and a safe message. Unknown errors become INTERNAL with a
 * generic message: their text may carry data we did not vet (a provider body, a token), so only
 * the error's class name is shown unless --verbose asks for more (and even then, see cli.ts).
 */
export function mapError(err: unknown): MappedError {
  if (err instanceof OrderlinkError) {
    return {
      exitCode: err.exitCode,
      code: err.code,
      message: err.message,
      hint: err.hint,
      details: err.details,
      internal: false,
    };
  }
  if (isCommanderError(err)) {
    return {
      exitCode: err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE,
      code: 'USAGE',
      // An unknown `--option=value` is echoed by commander with its value, which may be a secret
      // someone tried to pass in argv (rule 15): keep the option's name, drop the value.
      message: err.message.replace(/^error:\s*/i, '').replace(/'(-{1,2}[A-Za-z0-9][\w-]*)=[^']*'/g, "'$1=…'"),
      hint: 'Run with --help to see the options and examples.',
      internal: false,
    };
  }
  const sqlite = sqliteError(err);
  if (sqlite) return { ...sqlite, internal: false };
  const name = err instanceof Error ? err.name : typeof err;
  return {
    exitCode: ExitCode.INTERNAL,
    code: 'INTERNAL',
    message: `an unexpected internal error occurred (${name})`,
    hint: 'Run again with --verbose for a trace without secrets, and report it if it persists.',
    internal: true,
  };
}

/**
 * SQLite failures that are conditions of the machine, not bugs: a full disk, a database another
 * program holds locked, a damaged file. Matched on better-sqlite3's `code` (primary or extended,
 * e.g. SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE) and on ENOSPC from Node's own file calls.
 */
function sqliteError(err: unknown): Omit<MappedError, 'internal'> | undefined {
  const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : '';
  if (!code.startsWith('SQLITE_') && code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  const base = code.replace(/^(SQLITE_[A-Z]+?)(_[A-Z_]+)?$/, '$1');
  if (code === 'ENOSPC' || code === 'EDQUOT' || base === 'SQLITE_FULL') {
    return {
      exitCode: ExitCode.FAILURE,
      code: 'DISK_FULL',
      message: `the disk holding orderlink's data is full (${code})`,
      hint: 'Free some space (or point --home at a disk with room) and run the command again; what was committed before is safe.',
    };
  }
  if (base === 'SQLITE_IOERR' || base === 'SQLITE_READONLY' || base === 'SQLITE_CANTOPEN' || base === 'SQLITE_PERM') {
    return {
      exitCode: ExitCode.FAILURE,
      code: 'DB_IO_ERROR',
      message: `the database could not be read or written (${code}): the disk is full, failing, or read-only`,
      hint: 'Check free space and permissions where orderlink keeps its data (`orderlink doctor` shows the path), then run the command again; what was committed before is safe.',
    };
  }
  if (base === 'SQLITE_BUSY' || base === 'SQLITE_LOCKED') {
    return {
      exitCode: ExitCode.BUSY,
      code: 'DB_BUSY',
      message: 'the database is locked by another program (waited 5 s)',
      hint: 'Close other programs using orderlink.db (a SQLite browser, another orderlink), then run the command again.',
    };
  }
  if (base === 'SQLITE_CORRUPT' || base === 'SQLITE_NOTADB') {
    return {
      exitCode: ExitCode.INTEGRITY,
      code: 'DB_DAMAGED',
      message: 'the database file is damaged or is not an orderlink database; orderlink did not change it',
      hint: DB_DAMAGED_HINT,
    };
  }
  return undefined;
}

export const DB_DAMAGED_HINT =
  'Restore it from a backup (see docs/backup.md: move the damaged orderlink.db and its -wal/-shm files aside, copy the backup in as orderlink.db), ' +
  'then run `orderlink doctor`. With no backup, move it aside: orderlink starts an empty database and you link your accounts again.';

interface CommanderLikeError {
  code: string;
  exitCode: number;
  message: string;
}

function isCommanderError(err: unknown): err is CommanderLikeError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code.startsWith('commander.') &&
    typeof (err as { exitCode?: unknown }).exitCode === 'number'
  );
}
