/**
 * The real OS keychain, on @napi-rs/keyring (keyring-rs). Thin on purpose (STYLE.md #12, gh's
 * keyring wrapper): every call has a timeout, "not found" is `undefined`, and the native addon is
 * loaded only on first use, so `--help` and `orders` never load it.
 *
 * Linux needs care (SECURITY.md rule 12): left to itself, @napi-rs/keyring 2 tries the Secret
 * Service and silently falls back to the kernel keyutils keyring, which is in-memory and "will not
 * persist across reboots". So we never use the auto mode: entries are pinned with
 * `{ linux: { store } }` (the 2.x EntryOptions bag), the Secret Service first, and keyutils only
 * to report "durable: false" so the vault can refuse to make it the sole holder of a new key.
 *
 * Two native behaviours the timeouts cannot fully cover, measured with 2.1.2:
 * - constructing a Secret-Service-pinned entry connects to D-Bus synchronously (≈10 ms; about
 *   2 s when the bus is up but no Secret Service answers, bounded by libdbus's own timeout), so
 *   the probe result is memoised and paid at most once per process;
 * - an aborted call resolves our promise at once, but the native worker may finish later.
 */
import { OrderlinkError } from '../errors.js';
import type { KeychainBackend, KeychainDescription } from './types.js';

type KeyringModule = typeof import('@napi-rs/keyring');
type LinuxStore = 'secret-service' | 'keyutils';

let loaded: Promise<KeyringModule> | undefined;
function loadKeyring(): Promise<KeyringModule> {
  // A CommonJS addon: named exports come through cjs-module-lexer, `default` is the fallback.
  loaded ??= import('@napi-rs/keyring').then((m) => (m.AsyncEntry ? m : (m as unknown as { default: KeyringModule }).default));
  return loaded;
}

/** A keychain that did not answer, or answered with an error. The message names no secret. */
export function keychainError(code: 'KEYCHAIN_TIMEOUT' | 'KEYCHAIN_UNAVAILABLE', message: string, cause?: unknown): OrderlinkError {
  return new OrderlinkError(code, message, {
    kind: 'vault_locked',
    hint: 'Start or unlock your OS keychain (on Linux: a Secret Service such as gnome-keyring in a D-Bus session), or use ORDERLINK_VAULT_KEY / a passphrase.',
    cause,
  });
}

/** Run one keychain operation with a deadline; the AbortSignal lets the addon stop early where it can. */
export async function withTimeout<T>(what: string, ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(keychainError('KEYCHAIN_TIMEOUT', `the OS keychain did not answer (${what}) within ${ms} ms`));
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([run(ac.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Native errors describe the store (D-Bus, access denied), never the value; keep them short anyway. */
function reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').slice(0, 160);
}

const PROBE_SERVICE = 'orderlink';
const PROBE_ACCOUNT = 'keychain-probe';

/** One entry, whichever binding class serves it. */
interface EntryOps {
  get(signal: AbortSignal): Promise<string | null>;
  set(value: string, signal: AbortSignal): Promise<void>;
  delete(signal: AbortSignal): Promise<boolean>;
}

interface Chosen {
  description: KeychainDescription;
  linuxStore: LinuxStore | undefined;
}

export function realKeychain(timeoutMs: number, opts: { env: NodeJS.ProcessEnv }): KeychainBackend {
  const platform = process.platform;
  let chosen: Promise<Chosen> | undefined;

  async function entry(service: string, account: string, store: LinuxStore | undefined): Promise<EntryOps> {
    const { AsyncEntry, Entry } = await loadKeyring();
    if (store === 'keyutils') {
      // The kernel keyring is a local syscall, never slow. And in 2.1.2 an AsyncEntry on keyutils
      // fails with "AccessDenied" after the first one in a process, so the sync Entry is used.
      const e = new Entry(service, account, { linux: { store } });
      return { get: async () => e.getPassword(), set: async (v) => e.setPassword(v), delete: async () => e.deleteCredential() };
    }
    const e = store ? new AsyncEntry(service, account, { linux: { store } }) : new AsyncEntry(service, account);
    return { get: (signal) => e.getPassword(signal), set: (v, signal) => e.setPassword(v, signal), delete: (signal) => e.deleteCredential(signal) };
  }

  /** A read of an entry that does not exist: proves the store answers without prompting or writing. */
  async function probe(store: LinuxStore | undefined): Promise<void> {
    await withTimeout('probe', timeoutMs, async (signal) => {
      const e = await entry(PROBE_SERVICE, PROBE_ACCOUNT, store);
      await e.get(signal);
    });
  }

  async function choose(): Promise<Chosen> {
    if (platform !== 'linux') {
      try {
        await probe(undefined);
      } catch (err) {
        if (err instanceof OrderlinkError) throw err;
        throw keychainError('KEYCHAIN_UNAVAILABLE', `the OS keychain is not usable: ${reason(err)}`, err);
      }
      const backend = platform === 'darwin' ? 'macOS Keychain' : platform === 'win32' ? 'Windows Credential Manager' : `${platform} keychain`;
      return { description: { backend, durable: true }, linuxStore: undefined };
    }
    // Linux. libdbus reads the process environment, but the caller's env is what decides: a
    // context built without DBUS_SESSION_BUS_ADDRESS means "no Secret Service here".
    let why: string;
    if (!opts.env.DBUS_SESSION_BUS_ADDRESS) {
      why = 'DBUS_SESSION_BUS_ADDRESS is not set (no D-Bus session)';
    } else {
      try {
        await probe('secret-service');
        return { description: { backend: 'Secret Service (D-Bus)', durable: true }, linuxStore: 'secret-service' };
      } catch (err) {
        why = err instanceof OrderlinkError ? err.message : `no Secret Service (org.freedesktop.secrets) answered: ${reason(err)}`;
      }
    }
    try {
      await probe('keyutils');
      return { description: { backend: 'Linux kernel keyring (keyutils)', durable: false }, linuxStore: 'keyutils' };
    } catch (err) {
      throw keychainError('KEYCHAIN_UNAVAILABLE', `no OS keychain answered: ${why}; the kernel keyring failed too (${reason(err)})`, err);
    }
  }

  function pick(): Promise<Chosen> {
    // Memoised, failures included: a dead bus costs its 2 s once, not on every call.
    chosen ??= choose();
    return chosen;
  }

  async function op<T>(what: string, service: string, account: string, run: (e: EntryOps, signal: AbortSignal) => Promise<T>): Promise<T> {
    const { linuxStore } = await pick();
    try {
      return await withTimeout(what, timeoutMs, async (signal) => run(await entry(service, account, linuxStore), signal));
    } catch (err) {
      if (err instanceof OrderlinkError) throw err;
      throw keychainError('KEYCHAIN_UNAVAILABLE', `the OS keychain refused ${what}: ${reason(err)}`, err);
    }
  }

  return {
    async describe() {
      return (await pick()).description;
    },
    get(service, account) {
      return op('read', service, account, async (e, signal) => (await e.get(signal)) ?? undefined);
    },
    set(service, account, value) {
      return op('write', service, account, (e, signal) => e.set(value, signal));
    },
    delete(service, account) {
      return op('delete', service, account, (e, signal) => e.delete(signal));
    },
  };
}
