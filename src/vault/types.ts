/**
 * The vault's public shapes, and the in-memory keychain double unit tests use (STYLE.md #12:
 * a thin keychain module with a typed "not found" and a double; integration tests use the real
 * keychain in test/keychain.test.ts).
 */

/** Where the outer key (the one that unwraps the data key) comes from. SECURITY.md rule 11. */
export type KeySourceKind = 'keychain' | 'env' | 'passphrase';

export interface KeychainDescription {
  /** Human-readable store name, e.g. "Secret Service (D-Bus)" or "Linux kernel keyring (keyutils)". */
  backend: string;
  /** False for stores that forget on reboot (the Linux kernel keyring): never the sole holder of a key (rule 12). */
  durable: boolean;
}

/**
 * The OS keychain as the vault sees it. Every method may reject (unreachable, locked, timed
 * out); "not found" is not an error: `get` resolves `undefined`, `delete` resolves `false`.
 */
export interface KeychainBackend {
  /** Which store answers, and whether it survives a reboot. Rejects when no keychain answers in time. */
  describe(): Promise<KeychainDescription>;
  get(service: string, account: string): Promise<string | undefined>;
  set(service: string, account: string, value: string): Promise<void>;
  /** Resolves true if an entry was deleted, false if there was none. */
  delete(service: string, account: string): Promise<boolean>;
}

/** The rollback high-water mark kept outside the vault file (the SQLite meta row; Store.vaultGeneration()). */
export interface GenerationMirror {
  get(): number;
  set(n: number): void;
}

export interface OpenVaultOptions {
  /** The vault file (profiles/<name>/vault.bin); its directory must exist and be 0700. */
  path: string;
  /** Names the keychain service `orderlink:<profile>`. */
  profile: string;
  env: NodeJS.ProcessEnv;
  generation?: GenerationMirror;
  /** Defaults to the real OS keychain (loaded only if this vault needs it). */
  keychain?: KeychainBackend;
  /** Create a new empty vault even though the generation mark says one existed (`vault recreate`). */
  allowRecreate?: boolean;
  /** Only given when a terminal can prompt; the vault never prompts by itself. */
  promptPassphrase?: (purpose: 'unlock' | 'create') => Promise<string>;
}

export interface VaultStatus {
  path: string;
  keySource: KeySourceKind;
  /** e.g. "Secret Service (D-Bus)", "ORDERLINK_VAULT_KEY", "scrypt N=2^17 r=8 p=1". */
  backend: string;
  durable: boolean;
  secrets: number;
  createdAt: string;
  rotatedAt: string | null;
  generation: number;
  warnings: string[];
}

export interface MigrateResult {
  /** Only when migrating to `env`: the new ORDERLINK_VAULT_KEY, returned once and never stored. */
  envKey?: string;
}

export interface Vault {
  readonly keySource: KeySourceKind;
  /** Seal `text` under `ref` and write the vault atomically. Refs are 1-200 printable ASCII characters. */
  put(ref: string, text: string): void;
  /** Re-reads the file first if another process changed it. `undefined` when there is no such secret. */
  get(ref: string): string | undefined;
  delete(ref: string): boolean;
  list(): string[];
  status(): VaultStatus;
  /** A new random data key; every secret re-sealed in one atomic write (keychain: a new outer key too). */
  rotate(): Promise<void>;
  /**
   * Move the outer key to another source (with a fresh data key). `beforeSwitch` gets the new key
   * (env) before the vault is sealed under it; if it rejects, nothing changes.
   */
  migrate(to: KeySourceKind, opts: { passphrase?: string; beforeSwitch?: (r: MigrateResult) => Promise<void> }): Promise<MigrateResult | void>;
}

// ---------------------------------------------------------------------------------------------

export interface MemoryKeychainOptions {
  backend?: string;
  durable?: boolean;
  /** 'error': every call rejects (no keychain); 'hang': every call never settles (a stuck D-Bus). */
  fail?: 'error' | 'hang';
}

export interface MemoryKeychain extends KeychainBackend {
  /** Entries keyed `${service}\u0000${account}`, for assertions. */
  readonly items: Map<string, string>;
  /** Switch the failure mode after creation (e.g. the keychain goes away after a vault is made). */
  setFail(mode: 'error' | 'hang' | undefined): void;
}

/** An in-memory KeychainBackend for unit tests. */
export function memoryKeychain(opts: MemoryKeychainOptions = {}): MemoryKeychain {
  const items = new Map<string, string>();
  let fail = opts.fail;
  const key = (service: string, account: string) => `${service}\u0000${account}`;
  const gate = async (): Promise<void> => {
    if (fail === 'hang') await new Promise<never>(() => {});
    if (fail === 'error') throw new Error('memory keychain: unavailable');
  };
  return {
    items,
    setFail(mode) {
      fail = mode;
    },
    async describe() {
      await gate();
      return { backend: opts.backend ?? 'memory keychain', durable: opts.durable ?? true };
    },
    async get(service, account) {
      await gate();
      return items.get(key(service, account));
    },
    async set(service, account, value) {
      await gate();
      items.set(key(service, account), value);
    },
    async delete(service, account) {
      await gate();
      return items.delete(key(service, account));
    },
  };
}
