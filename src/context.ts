/**
 * One context per invocation, built once, lazy inside (gh's factory): `--help` opens nothing,
 * `orders` never touches the keychain, and only commands that need a token open the vault.
 * Tests build contexts with test/helpers/context.ts.
 */
import { randomUUID } from 'node:crypto';
import type { IO } from './ui/io.js';
import { ensureProfileDirs, profilePaths, type ProfilePaths } from './paths.js';
import { Store } from './store/index.js';
import { existsSync } from 'node:fs';
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
  const runId = randomUUID();
  const now = overrides.now ?? (() => new Date());

  const ctx: Context = {
    io,
    paths,
    homeExplicit: opts.homeExplicit ?? false,
    profile: opts.profile,
    json: opts.json,
    verbose: opts.verbose,
    env,
    runId,
    signal: overrides.signal ?? new AbortController().signal,
    now,
    store() {
      if (!store) {
        ensureProfileDirs(paths);
        // better-sqlite3 loads its native addon on first use, so importing the store is cheap.
        store = Store.open(paths.db, opts.profile);
      }
      return store;
    },
    vault() {
      if (!vault) {
        vault = (async () => {
          ensureProfileDirs(paths);
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
      const { default: open } = await import('open');
      // One argument, never through a shell (SECURITY.md rule 7); the caller vetted the URL.
      await open(url, { wait: false });
    },
    prompter() {
      return overrides.prompter ?? inquirerPrompter();
    },
    audit(action, connectionId, detail = {}) {
      ctx.store().audit.append(runId, action, connectionId, detail, now());
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

function inquirerPrompter(): Prompter {
  const load = () => import('@inquirer/prompts');
  return {
    async password(message) {
      return (await load()).password({ message, mask: false });
    },
    async confirm(message, defaultValue = false) {
      return (await load()).confirm({ message, default: defaultValue });
    },
    async input(message) {
      return (await load()).input({ message });
    },
    async search(message, choices) {
      const { search } = await load();
      return search({
        message,
        source: (term) => {
          const t = (term ?? '').toLowerCase();
          return choices.filter((c) => !t || c.name.toLowerCase().includes(t) || c.value.toLowerCase().includes(t));
        },
      });
    },
  };
}
