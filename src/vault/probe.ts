/**
 * What key sources this machine offers, for `doctor` (without creating or opening a vault).
 * Reports usability and durability with a fix for each problem; never reads a secret value
 * beyond validating the env key's shape.
 */
import { realKeychain } from './keychain.js';
import { envPassphraseFrom, parseEnvKey, ENV_KEY } from './keysources.js';
import type { KeychainBackend, KeySourceKind } from './types.js';
import { OrderlinkError } from '../errors.js';

export interface SourceProbe {
  source: KeySourceKind;
  usable: boolean;
  durable: boolean;
  detail: string;
  fix?: string;
}

/** In the order a new vault would choose them: env key, passphrase, keychain. */
export async function probeKeySources(env: NodeJS.ProcessEnv, keychain: KeychainBackend = realKeychain(3000, { env })): Promise<SourceProbe[]> {
  const out: SourceProbe[] = [];
  const raw = env[ENV_KEY];
  if (raw) {
    try {
      parseEnvKey(raw);
      out.push({ source: 'env', usable: true, durable: true, detail: `${ENV_KEY} is set (32 bytes)` });
    } catch (err) {
      out.push({ source: 'env', usable: false, durable: false, detail: err instanceof OrderlinkError ? err.message : `${ENV_KEY} is invalid`, fix: `Set ${ENV_KEY} to base64 of exactly 32 random bytes: openssl rand -base64 32` });
    }
  } else {
    out.push({ source: 'env', usable: false, durable: false, detail: `${ENV_KEY} not set` });
  }
  out.push(
    envPassphraseFrom(env)
      ? { source: 'passphrase', usable: true, durable: true, detail: 'ORDERLINK_VAULT_PASSPHRASE is set (scrypt N=2^17)' }
      : { source: 'passphrase', usable: false, durable: false, detail: 'ORDERLINK_VAULT_PASSPHRASE not set (a terminal prompt also works)' },
  );
  try {
    const d = await keychain.describe();
    out.push(
      d.durable
        ? { source: 'keychain', usable: true, durable: true, detail: `${d.backend} reachable` }
        : {
            source: 'keychain',
            usable: false,
            durable: false,
            detail: `${d.backend} only (forgets keys on reboot)`,
            fix: 'Run a Secret Service (gnome-keyring or KWallet) in your session, or use ORDERLINK_VAULT_KEY / a passphrase.',
          },
    );
  } catch {
    out.push({
      source: 'keychain',
      usable: false,
      durable: false,
      detail: 'no OS keychain answered',
      fix: 'Start a Secret Service (e.g. gnome-keyring-daemon) in a D-Bus session, or set ORDERLINK_VAULT_KEY (CI) or ORDERLINK_VAULT_PASSPHRASE.',
    });
  }
  return out;
}
