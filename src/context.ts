/**
 * One context per invocation, built once, lazy inside (gh's factory): `--help` opens nothing,
 * `orders` never touches the keychain, and only commands that need a token open the vault.
 * Tests build contexts with test/helpers/context.ts.
 */
import type { IO } from './ui/io.js';
import { ensureProfileDirs, profilePaths, type ProfilePaths } from './paths.js';
import { Store } from './store/index.js';
import { existsSync } from 'node:fs';
import { OrderlinkError } from './errors.js';
import { nodeCrypto } from './lazy-crypto.js';
import { tryLock } from './locks.js';
import type { Vault, KeychainBackend } from './vault/index.js';

export interface GlobalOptions {
  home: string;
  /** The home came from --home or ORDERLINK_HOME (not the platform default). */
  homeExplicit?: boolean;
  profile: string;
  json: boolean;
  verbose: boolean;
  color?: boolean;
}

export interface Prompter {
  /** Hidden input on a TTY. */
  password(message: string): Promise<string>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
  search<T extends string>(message: string, choices: Array<{ value: T; name: string; description?: string }>): Promise<T>;
  input(message: string): Promise<string>;
}

export interface Context {
  readonly io: IO;
  readonly paths: ProfilePaths;
  readonly homeExplicit: boolean;
  readonly profile: string;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Correlation id of this invocation, written on every audit row. */
  readonly runId: string;
  /** Aborted on Ctrl-C: long waits (link, sync) must end promptly and clean up. */
  readonly signal: AbortSignal;
  now(): Date;
  store(): Store;
  vault(): Promise<Vault>;
  /** Whether a vault file exists (without opening it or the keychain). */
  hasVault(): boolean;
  fetch: typeof globalThis.fetch;
  openBrowser(url: string): Promise<void>;
  prompter(): Prompter;
  /** Append to the hash-chained audit log. Details must never contain secrets. */
  audit(action: string, connectionId: number | null, detail?: Record<string, unknown>): void;
  /** A --verbose trace line to stderr. Callers mask secrets before they get here. */
  trace(message: string): void;
  close(): void;
}

export interface ContextOverrides {
  env?: NodeJS.ProcessEnv;
  keychain?: KeychainBackend;
  fetch?: typeof globalThis.fetch;
  openBrowser?: (url: string) => Promise<void>;
  prompter?: Prompter;
  now?: () => Date;
  signal?: AbortSignal;
}

export function createContext(io: IO, opts: GlobalOptions, overrides: ContextOverrides = {}): Context {
  const env = overrides.env ?? process.env;
  const paths = profilePaths(opts.home, opts.profile);
  let store: Store | undefined;
  let vault: Promise<Vault> | undefined;
  // Made on first use (an audit entry, a sync run): a read-only command never loads node:crypto.
  let runId: string | undefined;
  const now = overrides.now ?? (() => new Date());

  const ctx: Context = {
    io,
    paths,
    homeExplicit: opts.homeExplicit ?? false,
    profile: opts.profile,
    json: opts.json,
    verbose: opts.verbose,
    env,
    get runId() {
      return (runId ??= nodeCrypto().randomUUID());
    },
    signal: overrides.signal ?? new AbortController().signal,
    now,
    store() {
      if (!store) {
        prepareHome(paths);
        // better-sqlite3 loads its native addon on first use, so importing the store is cheap.
        try {
          store = Store.open(paths.db, opts.profile);
        } catch (err) {
          throw homeError(err, paths) ?? err;
        }
        if (store.bulkLoadPending()) repairBulkLoad(store, paths, io);
      }
      return store;
    },
    vault() {
      if (!vault) {
        vault = (async () => {
          prepareHome(paths);
          const { openVault } = await import('./vault/index.js');
          const s = ctx.store();
          return openVault({
            path: paths.vault,
            profile: opts.profile,
            env,
            generation: s.vaultGeneration(),
            ...(overrides.keychain ? { keychain: overrides.keychain } : {}),
            ...(io.stdinIsTTY && io.stderrIsTTY
              ? { promptPassphrase: (purpose: 'unlock' | 'create') => askPassphrase(ctx.prompter(), purpose) }
              : {}),
          });
        })();
        // A failed open must not be cached as a rejected promise forever within long-lived callers.
        vault.catch(() => (vault = undefined));
      }
      return vault;
    },
    hasVault() {
      return existsSync(paths.vault);
    },
    fetch: overrides.fetch ?? undiciFetch,
    async openBrowser(url: string) {
      if (overrides.openBrowser) return overrides.openBrowser(url);
      const { launchBrowser } = await import('./demo/launch.js');
      // One argument, never through a shell (SECURITY.md rule 7), in a scrubbed environment
      // (rule 31: no vault key, passphrase or token reaches the browser); the caller vetted the URL.
      await launchBrowser(url, env, (m) => ctx.trace(m));
    },
    prompter() {
      return overrides.prompter ?? inquirerPrompter(ctx.signal);
    },
    audit(action, connectionId, detail = {}) {
      ctx.store().audit.append(ctx.runId, action, connectionId, detail, now());
    },
    trace(message) {
      if (opts.verbose) io.err(io.errColor.dim(`[trace] ${message}`));
    },
    close() {
      store?.close();
      store = undefined;
    },
  };
  return ctx;
}

/** A new passphrase is asked twice (a typo would lock the vault for good); an unlock once. */
async function askPassphrase(p: Prompter, purpose: 'unlock' | 'create'): Promise<string> {
  if (purpose === 'unlock') return p.password('Vault passphrase');
  const { usageError } = await import('./errors.js');
  const first = await p.password('Choose a vault passphrase (8+ characters)');
  if (first.length < 8) throw usageError('PASSPHRASE_WEAK', 'use a passphrase of at least 8 characters; nothing was created');
  if ((await p.password('Repeat the passphrase')) !== first) throw usageError('PASSPHRASE_MISMATCH', 'the two passphrases differ; nothing was created');
  return first;
}

/**
 * The fetch every provider call goes through (oauth4webapi gets it too): the undici package,
 * pinned by our lockfile, rather than whichever undici copy the running Node bundles, so Node 20
 * and Node 24 speak HTTP the same way. Imported on first use: `--help` and `orders` never load it.
 */
let undici: Promise<typeof import('undici').fetch> | undefined;
const undiciFetch: typeof globalThis.fetch = async (input, init) => {
  const fetch = await (undici ??= import('undici').then((m) => m.fetch));
  return (await fetch(input as Parameters<typeof fetch>[0], init as Parameters<typeof fetch>[1])) as unknown as Response;
};

/**
 * Prompts in a terminal (@inquirer/prompts). Ctrl-C at any prompt (inquirer's ExitPromptError,
 * or AbortPromptError when our SIGINT handler aborts `signal`) is an interruption: exit 130 with
 * one short line, never an internal error. Exported with injectable streams for the tests.
 */
export function inquirerPrompter(signal?: AbortSignal, streams: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream } = {}): Prompter {
  const load = () => import('@inquirer/prompts');
  const context = { ...(signal ? { signal } : {}), ...streams } as Parameters<typeof import('@inquirer/prompts').input>[1];
  return {
    async password(message) {
      return interruptible(async () => (await load()).password({ message, mask: false }, context));
    },
    async confirm(message, defaultValue = false) {
      return interruptible(async () => (await load()).confirm({ message, default: defaultValue }, context));
    },
    async input(message) {
      return interruptible(async () => (await load()).input({ message }, context));
    },
    async search(message, choices) {
      const { search } = await load();
      return interruptible(() =>
        search(
          {
            message,
            source: (term) => {
              const t = (term ?? '').toLowerCase();
              return choices.filter((c) => !t || c.name.toLowerCase().includes(t) || c.value.toLowerCase().includes(t));
            },
          },
          context,
        ),
      );
    },
  };
}

/** Map inquirer's "the person pressed Ctrl-C" errors to our interruption (exit 130). */
export async function interruptible<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError') {
      throw new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted', cause: err });
    }
    throw err;
  }
}

/** Create the profile's directories, with a clear error when --home cannot hold them. */
function prepareHome(paths: ProfilePaths): void {
  try {
    ensureProfileDirs(paths);
  } catch (err) {
    throw homeError(err, paths) ?? err;
  }
}

/**
 * --home is a file, read-only, not ours, or on a full disk: a failure the person can fix (exit 1
 * with what to do), not an internal error (70).
 */
/**
 * A first sync that was killed left its deferred indexes' SQL in the store (store/bulk-load.ts).
 * Rebuild them now unless a sync is running (it rebuilds them itself when it ends).
 */
function repairBulkLoad(store: Store, paths: ProfilePaths, io: IO): void {
  const lock = tryLock(paths.locks, 'sync');
  if (!lock) return;
  try {
    io.err('Rebuilding the indexes of a first sync that was interrupted…');
    store.finishBulkLoad();
  } finally {
    lock.release();
  }
}

export function homeError(err: unknown, paths: ProfilePaths): OrderlinkError | undefined {
  if (err instanceof OrderlinkError) return undefined;
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  const where = `the data directory ${paths.home}`;
  const hint = 'Choose a directory you can write with --home DIR (or ORDERLINK_HOME), or fix its permissions.';
  const fail = (what: string, h = hint) => new OrderlinkError('HOME_UNUSABLE', `${where} ${what}`, { hint: h, cause: err });
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return fail('is not a directory (a file is in the way)', 'Point --home (or ORDERLINK_HOME) at a directory, or move the file away.');
    case 'EACCES':
    case 'EPERM':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
      return fail('cannot be written by you (permission denied)');
    case 'EROFS':
    case 'SQLITE_READONLY':
      return fail('is on a read-only file system');
    case 'ENOSPC':
    case 'EDQUOT':
    case 'SQLITE_FULL':
      return fail('is on a full disk', 'Free some space on that disk, or choose another directory with --home DIR.');
    default:
      return undefined;
  }
}
