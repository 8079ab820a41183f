/**
 * Key sources (SECURITY.md rules 11-12): where the outer key (KEK) that unwraps the vault's data
 * key comes from, and how it is described in the vault header.
 *
 * - env: ORDERLINK_VAULT_KEY, base64 of exactly 32 bytes (CI). The value is never echoed.
 * - passphrase: ORDERLINK_VAULT_PASSPHRASE or a prompt, stretched with scrypt N=2^17, r=8, p=1
 *   (OWASP password storage cheat sheet); salt and parameters live in the header.
 * - keychain: a random 32-byte key in the OS keychain under service `orderlink:<profile>`, one
 *   entry per key (`vault-key-<keyId>`), so a rotation writes the new key beside the old one and
 *   a crash can never leave a vault whose key was overwritten.
 */
import { randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import { OrderlinkError, VAULT_LOCKED_HINT, usageError } from '../errors.js';
import { KEY_BYTES, randomKey } from './crypto.js';
import { withTimeout } from './keychain.js';
import type { KeychainBackend, KeySourceKind } from './types.js';

export const ENV_KEY = 'ORDERLINK_VAULT_KEY';
export const PASSPHRASE_ENV = 'ORDERLINK_VAULT_PASSPHRASE';

/** Per keychain call; the whole "find a key source" step stays under NEW_VAULT_BUDGET_MS (rule 12: "within seconds"). */
export const KEYCHAIN_TIMEOUT_MS = 3000;
export const NEW_VAULT_BUDGET_MS = 4500;

export const SCRYPT_N = 2 ** 17;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
/** scrypt needs 128·N·r bytes (128 MiB here); Node's default maxmem is 32 MiB, so raise it with headroom. */
const scryptMaxmem = (n: number, r: number) => 2 * 128 * n * r;

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const keyId = z.string().regex(/^[a-f0-9]{16}$/);

/** The key source as recorded (and authenticated) in the vault header. */
export const SourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('env'), keyId }),
  z.strictObject({
    kind: z.literal('passphrase'),
    keyId,
    kdf: z.literal('scrypt'),
    // Bounded both ways: never weaker than rule 11, never big enough to exhaust memory.
    N: z.number().int().min(SCRYPT_N).max(2 ** 20).refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
    r: z.literal(SCRYPT_R),
    p: z.literal(SCRYPT_P),
    salt: b64.length(24),
  }),
  z.strictObject({ kind: z.literal('keychain'), keyId, service: z.string().min(1).max(200), account: z.string().regex(/^vault-key-[a-f0-9]{16}$/) }),
]);
export type SourceDescriptor = z.infer<typeof SourceSchema>;

/** Canonical text of a descriptor (fixed field order), bound into the key wrap's associated data. */
export function canonicalSource(s: SourceDescriptor): string {
  switch (s.kind) {
    case 'env':
      return JSON.stringify(['env', s.keyId]);
    case 'passphrase':
      return JSON.stringify(['passphrase', s.keyId, s.kdf, s.N, s.r, s.p, s.salt]);
    case 'keychain':
      return JSON.stringify(['keychain', s.keyId, s.service, s.account]);
  }
}

export function keychainService(profile: string): string {
  return `orderlink:${profile}`;
}

const locked = (message: string, hint: string = VAULT_LOCKED_HINT, details?: Record<string, unknown>) =>
  new OrderlinkError('VAULT_LOCKED', message, { kind: 'vault_locked', hint, ...(details ? { details } : {}) });

/** Base64 (standard or URL-safe) of exactly 32 bytes. Errors say what is wrong, never what the value was. */
export function parseEnvKey(raw: string): Buffer {
  const text = raw.trim();
  const hint = `Set ${ENV_KEY} to base64 of exactly 32 random bytes: openssl rand -base64 32`;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw locked(`${ENV_KEY} is not valid base64`, hint, { reason: 'env_key_invalid' });
  }
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES) {
    key.fill(0);
    throw locked(`${ENV_KEY} must decode to exactly ${KEY_BYTES} bytes (it decodes to ${key.length})`, hint, { reason: 'env_key_invalid' });
  }
  return key;
}

export function envPassphraseFrom(env: NodeJS.ProcessEnv): string | undefined {
  const p = env[PASSPHRASE_ENV];
  return p ? p : undefined;
}

export function newKeyId(): string {
  return randomBytes(8).toString('hex');
}

export function deriveFromPassphrase(passphrase: string, s: { N: number; r: number; p: number; salt: string }): Promise<Buffer> {
  const opts: ScryptOptions = { N: s.N, r: s.r, p: s.p, maxmem: scryptMaxmem(s.N, s.r) };
  return new Promise((resolve, reject) =>
    scryptCb(passphrase.normalize('NFC'), Buffer.from(s.salt, 'base64'), KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** A KEK in hand, with the header descriptor and the labels `status()` shows. */
export interface PreparedSource {
  source: SourceDescriptor;
  kek: Buffer;
  backend: string;
  durable: boolean;
  /** Only for a freshly generated env key: shown to the user once. */
  envKey?: string;
}

export const PASSPHRASE_BACKEND = `scrypt N=2^17 r=${SCRYPT_R} p=${SCRYPT_P}`;

export async function passphraseSource(passphrase: string): Promise<PreparedSource> {
  const source = { kind: 'passphrase' as const, keyId: newKeyId(), kdf: 'scrypt' as const, N: SCRYPT_N, r: SCRYPT_R as 8, p: SCRYPT_P as 1, salt: randomBytes(16).toString('base64') };
  return { source, kek: await deriveFromPassphrase(passphrase, source), backend: PASSPHRASE_BACKEND, durable: true };
}

export function envSource(kek: Buffer, envKey?: string): PreparedSource {
  return { source: { kind: 'env', keyId: newKeyId() }, kek, backend: ENV_KEY, durable: true, ...(envKey ? { envKey } : {}) };
}

/** Everything the key-source steps need from the vault being opened. */
export interface SourceContext {
  env: NodeJS.ProcessEnv;
  profile: string;
  keychain(): KeychainBackend;
  promptPassphrase?: ((purpose: 'unlock' | 'create') => Promise<string>) | undefined;
}

/** Keychain calls are bounded here too, whatever backend was injected (rule 12: every keychain call has a timeout). */
export function kc<T>(what: string, deadline: number, run: () => Promise<T>): Promise<T> {
  return withTimeout(what, Math.min(KEYCHAIN_TIMEOUT_MS, deadline - Date.now()), () => run());
}

const short = (err: unknown) => (err instanceof OrderlinkError ? err.message : 'the keychain returned an error');

export class NotDurableError extends OrderlinkError {}

/**
 * Generate a KEK and store it in the keychain, then read it back (some stores accept a write and
 * keep nothing). Refuses a non-durable store: it must never be the only holder of a key (rule 12).
 */
export async function createKeychainSource(ctx: SourceContext, deadline: number): Promise<PreparedSource> {
  const keychain = ctx.keychain();
  const d = await kc('describe', deadline, () => keychain.describe());
  if (!d.durable) {
    throw new NotDurableError(
      'KEYCHAIN_NOT_DURABLE',
      `the only OS keychain here is the ${d.backend}, which forgets keys on reboot; orderlink will not make it the only holder of a vault key`,
      { kind: 'vault_locked', hint: VAULT_LOCKED_HINT },
    );
  }
  const id = newKeyId();
  const source: SourceDescriptor = { kind: 'keychain', keyId: id, service: keychainService(ctx.profile), account: `vault-key-${id}` };
  const kek = randomKey();
  const text = kek.toString('base64');
  await kc('write', deadline, () => keychain.set(source.service, source.account, text));
  const back = await kc('read back', deadline, () => keychain.get(source.service, source.account)).catch(() => undefined);
  if (back !== text) {
    await kc('delete', Date.now() + KEYCHAIN_TIMEOUT_MS, () => keychain.delete(source.service, source.account)).catch(() => false);
    throw new OrderlinkError('KEYCHAIN_UNAVAILABLE', `the ${d.backend} accepted the vault key but did not return it when read back`, { kind: 'vault_locked', hint: VAULT_LOCKED_HINT });
  }
  return { source, kek, backend: d.backend, durable: true };
}

/**
 * The key source of a NEW vault: ORDERLINK_VAULT_KEY, else ORDERLINK_VAULT_PASSPHRASE, else a
 * durable keychain, else a prompt; else VAULT_LOCKED naming all three options, within
 * NEW_VAULT_BUDGET_MS even when the keychain hangs (H13). Never a plaintext fallback.
 */
export async function chooseNewSource(ctx: SourceContext): Promise<PreparedSource> {
  const raw = ctx.env[ENV_KEY];
  if (raw) return envSource(parseEnvKey(raw));
  const pass = envPassphraseFrom(ctx.env);
  if (pass) return passphraseSource(pass);
  let keychainWhy: string;
  try {
    return await createKeychainSource(ctx, Date.now() + NEW_VAULT_BUDGET_MS);
  } catch (err) {
    keychainWhy = err instanceof NotDurableError ? err.message : `unusable (${short(err)})`;
  }
  if (ctx.promptPassphrase) {
    const p = await ctx.promptPassphrase('create');
    if (p) return passphraseSource(p);
  }
  throw locked(
    `no key source for a new vault: (1) OS keychain: ${keychainWhy}; (2) ${ENV_KEY}: not set; (3) passphrase: ${PASSPHRASE_ENV} not set and no terminal to prompt on`,
  );
}

/** The KEK of an EXISTING vault, from the source its header names (never from another one). */
export async function unlockSource(ctx: SourceContext, s: SourceDescriptor): Promise<PreparedSource> {
  switch (s.kind) {
    case 'env': {
      const raw = ctx.env[ENV_KEY];
      if (!raw) throw locked(`this vault is sealed with ${ENV_KEY}, which is not set`, `Set ${ENV_KEY} to the key printed by \`orderlink vault migrate --to env\` (or kept in your CI secrets).`);
      return { source: s, kek: parseEnvKey(raw), backend: ENV_KEY, durable: true };
    }
    case 'passphrase': {
      let pass = envPassphraseFrom(ctx.env);
      if (!pass && ctx.promptPassphrase) pass = await ctx.promptPassphrase('unlock');
      if (!pass) throw locked(`this vault is sealed with a passphrase: set ${PASSPHRASE_ENV}, or run in a terminal to be prompted`, `Set ${PASSPHRASE_ENV}, or run orderlink in a terminal.`);
      return { source: s, kek: await deriveFromPassphrase(pass, s), backend: PASSPHRASE_BACKEND, durable: true };
    }
    case 'keychain': {
      const deadline = Date.now() + NEW_VAULT_BUDGET_MS;
      const keychain = ctx.keychain();
      const fix = 'Run orderlink where your keychain is unlocked (on Linux: a desktop session with gnome-keyring or KWallet), then, if you need this vault elsewhere, `orderlink vault migrate --to env` or `--to passphrase`.';
      let d;
      try {
        d = await kc('describe', deadline, () => keychain.describe());
      } catch (err) {
        throw locked(`this vault's key is in the OS keychain (${s.service}), which did not answer: ${short(err)}`, fix);
      }
      if (!d.durable) throw locked(`this vault's key is in the OS keychain (${s.service}), but only the ${d.backend} is reachable here`, fix);
      let text: string | undefined;
      try {
        text = await kc('read', deadline, () => keychain.get(s.service, s.account));
      } catch (err) {
        throw locked(`the OS keychain (${d.backend}) would not give the vault key: ${short(err)}`, fix);
      }
      if (text === undefined) {
        throw locked(`the vault key is not in the OS keychain (service ${s.service}, entry ${s.account}): it was deleted, or this is another user or machine`, 'Without that key this vault cannot be opened. Move vault.bin aside and link your connections again (`orderlink link --reconnect ID`).');
      }
      const kek = Buffer.from(text, 'base64');
      if (kek.length !== KEY_BYTES) throw locked(`the OS keychain entry ${s.account} does not hold a 32-byte vault key`, fix);
      return { source: s, kek, backend: d.backend, durable: true };
    }
  }
}

/** The target of `vault migrate --to KIND`: a brand-new outer key in that source. */
export async function prepareTarget(ctx: SourceContext, to: KeySourceKind, passphrase: string | undefined): Promise<PreparedSource> {
  switch (to) {
    case 'env': {
      const kek = randomKey();
      return envSource(kek, kek.toString('base64'));
    }
    case 'passphrase': {
      let p = passphrase ?? envPassphraseFrom(ctx.env);
      if (!p && ctx.promptPassphrase) p = await ctx.promptPassphrase('create');
      if (!p) throw usageError('PASSPHRASE_REQUIRED', `migrating to a passphrase needs ${PASSPHRASE_ENV} or a terminal to prompt on`);
      return passphraseSource(p);
    }
    case 'keychain':
      return createKeychainSource(ctx, Date.now() + NEW_VAULT_BUDGET_MS);
  }
}

/** Best effort: forget a keychain key nothing refers to any more. Returns a warning, or undefined. */
export async function forgetKeychainKey(ctx: SourceContext, s: SourceDescriptor): Promise<string | undefined> {
  if (s.kind !== 'keychain') return undefined;
  try {
    await kc('delete', Date.now() + KEYCHAIN_TIMEOUT_MS, () => ctx.keychain().delete(s.service, s.account));
    return undefined;
  } catch {
    return `the old key entry ${s.account} could not be removed from the OS keychain (service ${s.service}); it opens only older copies of the vault file; delete it by hand`;
  }
}

const WRONG_KEY_HINT: Record<KeySourceKind, string> = {
  env: `Use the ${ENV_KEY} this vault was created or last migrated with.`,
  passphrase: 'Check the passphrase (ORDERLINK_VAULT_PASSPHRASE or the prompt) and try again.',
  keychain: 'The keychain entry was replaced. Restore it, or move vault.bin aside and link your connections again.',
};

export function wrongKey(kind: KeySourceKind): OrderlinkError {
  const what = kind === 'env' ? `${ENV_KEY} is not the key this vault was sealed with` : kind === 'passphrase' ? 'wrong passphrase for this vault' : 'the key in the OS keychain does not open this vault';
  return new OrderlinkError('VAULT_WRONG_KEY', what, { kind: 'vault_locked', hint: WRONG_KEY_HINT[kind] });
}
