/**
 * The vault against SECURITY.md rules 10-15 and hostile tests H12-H14, on real files in a temp
 * directory, the real Store for the rollback high-water mark, and the in-memory keychain double
 * (the real keychain is exercised in test/keychain.test.ts).
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openVault, memoryKeychain, parseEnvKey, ENV_KEY, type OpenVaultOptions, type Vault } from '../src/vault/index.js';
import { openRecord, recordAad, sealRecord, subkeys, unwrapKey, wrapAad, sha256, NONCE_BYTES } from '../src/vault/crypto.js';
import { encodeFile, layout, parseFile } from '../src/vault/format.js';
import { canonicalSource, keychainService } from '../src/vault/keysources.js';
import { OrderlinkError, ExitCode } from '../src/errors.js';
import { Store } from '../src/store/index.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ol-vault-'));
  path = join(dir, 'vault.bin');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const newKey = () => randomBytes(32).toString('base64');
const envOf = (key: string): NodeJS.ProcessEnv => ({ [ENV_KEY]: key });
const open = (env: NodeJS.ProcessEnv, extra: Partial<OpenVaultOptions> = {}) => openVault({ path, profile: 'default', env, keychain: memoryKeychain({ fail: 'error' }), ...extra });

/** Resolves to the OrderlinkError a promise (or function) fails with. */
async function failure(run: Promise<unknown> | (() => unknown)): Promise<OrderlinkError> {
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (err) {
    expect(err).toBeInstanceOf(OrderlinkError);
    return err as OrderlinkError;
  }
  throw new Error('expected a failure, but it succeeded');
}

/** Rebuild the file's checksum, as an attacker who edits it on purpose would. */
function fixChecksum(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  sha256(out.subarray(0, out.length - 32)).copy(out, out.length - 32);
  return out;
}

/** The MAC subkey, from the env key: what an attacker who holds the key could forge with. */
function macKeyOf(bytes: Buffer, envKey: string) {
  const { header } = parseFile(bytes);
  const vaultId = Buffer.from(header.vaultId, 'base64');
  const dek = unwrapKey(parseEnvKey(envKey), Buffer.from(header.wrappedKey, 'base64'), wrapAad(vaultId, canonicalSource(header.source)))!;
  return { header, vaultId, keys: subkeys(dek, vaultId) };
}

describe('sealing and the file (rule 10)', () => {
  it('round trip: put, get, list, delete, reopen; the file never holds the plaintext', async () => {
    const key = newKey();
    const v = await open(envOf(key));
    expect(v.keySource).toBe('env');
    v.put('conn-a', 'SECRET-ALPHA');
    v.put('conn-b', 'SECRET-BRAVO ✓ unicode');
    v.put('conn-a', 'SECRET-ALPHA-2');
    expect(v.get('conn-a')).toBe('SECRET-ALPHA-2');
    expect(v.get('missing')).toBeUndefined();
    expect(v.list()).toEqual(['conn-a', 'conn-b']);
    expect(v.delete('conn-b')).toBe(true);
    expect(v.delete('conn-b')).toBe(false);
    const again = await open(envOf(key));
    expect(again.get('conn-a')).toBe('SECRET-ALPHA-2');
    expect(again.get('conn-b')).toBeUndefined();
    expect(again.status()).toMatchObject({ path, keySource: 'env', backend: ENV_KEY, durable: true, secrets: 1, rotatedAt: null });
    expect(readFileSync(path).includes('SECRET-ALPHA')).toBe(false);
    expect(() => v.put('has space', 'x')).toThrow(/reference/);
  });

  it('a blob moved to another reference, or an older blob under the same counter, does not open', () => {
    const key = randomBytes(32);
    const id = randomBytes(16);
    const blob = sealRecord(key, recordAad(id, 'conn-a', 7), Buffer.from('token'));
    expect(openRecord(key, recordAad(id, 'conn-a', 7), blob).toString()).toBe('token');
    for (const aad of [recordAad(id, 'conn-b', 7), recordAad(id, 'conn-a', 8), recordAad(randomBytes(16), 'conn-a', 7)]) {
      expect(() => openRecord(key, aad, blob)).toThrow(expect.objectContaining({ code: 'VAULT_TAMPERED' }));
    }
  });

  it('swapping two records in the file fails at every layer: checksum, file MAC, and the per-record AAD', async () => {
    const key = newKey();
    const v = await open(envOf(key));
    v.put('conn-a', 'SECRET-A');
    v.put('conn-b', 'SECRET-B');
    const bytes = readFileSync(path);
    const { header, keys } = macKeyOf(bytes, key);
    const { blobs } = parseFile(bytes);
    const a = blobs.get('conn-a')!;
    const b = blobs.get('conn-b')!;
    // Counters kept with their references, blobs exchanged (an attacker can only move bytes).
    const swapped = new Map([
      ['conn-a', { n: a.n, blob: b.blob }],
      ['conn-b', { n: b.n, blob: a.blob }],
    ]);
    // 1. With a forged MAC (only possible with the key): the file opens, the records do not.
    writeFileSync(path, encodeFile(header, swapped, keys.mac));
    const forged = await open(envOf(key));
    const e = await failure(() => forged.get('conn-a'));
    expect(e.code).toBe('VAULT_TAMPERED');
    expect(e.message).not.toMatch(/SECRET/);
    // 2. Without the key, the attacker can fix the checksum but not the MAC.
    const macA = encodeFile(header, swapped, randomBytes(32));
    writeFileSync(path, fixChecksum(macA));
    expect((await failure(open(envOf(key)))).code).toBe('VAULT_TAMPERED');
  });

  it('100,000 seals give 100,000 distinct nonces', () => {
    const key = randomBytes(32);
    const aad = recordAad(randomBytes(16), 'conn-a', 1);
    const pt = Buffer.from('{"refresh_token":"x"}');
    const nonces = new Set<string>();
    const started = Date.now();
    for (let i = 0; i < 100_000; i++) nonces.add(sealRecord(key, aad, pt).toString('latin1', 1, 1 + NONCE_BYTES));
    expect(nonces.size).toBe(100_000);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a truncated tag is rejected, as a record and as a file', async () => {
    const key = randomBytes(32);
    const aad = recordAad(randomBytes(16), 'r', 1);
    const blob = sealRecord(key, aad, Buffer.from('secret'));
    for (const cut of [1, 4, 15, 16]) expect(() => openRecord(key, aad, blob.subarray(0, blob.length - cut))).toThrow(expect.objectContaining({ code: 'VAULT_TAMPERED' }));
    const envKey = newKey();
    (await open(envOf(envKey))).put('conn-a', 'SECRET');
    const bytes = readFileSync(path);
    const tag = layout(bytes).records[0]!.tag;
    // Drop the tag's last byte and rebuild the checksum: the index no longer matches.
    const truncated = fixChecksum(Buffer.concat([bytes.subarray(0, tag[1] - 1), bytes.subarray(tag[1])]));
    writeFileSync(path, truncated);
    expect((await failure(open(envOf(envKey)))).code).toBe('VAULT_TAMPERED');
    expect(readFileSync(path).equals(truncated)).toBe(true);
  });
});

describe('tampering (rule 13, H12)', () => {
  async function sealedVault(key: string): Promise<Buffer> {
    const v = await open(envOf(key));
    v.put('conn-a', 'SECRET-VALUE-A');
    v.put('conn-b', 'SECRET-VALUE-B');
    return readFileSync(path);
  }

  it('one flipped byte in each region fails with VAULT_TAMPERED (exit 6) and leaves the file as it was', async () => {
    const key = newKey();
    const good = await sealedVault(key);
    const l = layout(good);
    const r = l.records[1]!;
    const regions = { magic: l.magic, version: l.version, headerLength: l.headerLength, header: l.header, recordVersion: r.version, nonce: r.nonce, ciphertext: r.ciphertext, tag: r.tag, mac: l.mac, checksum: l.checksum };
    for (const [name, [start, end]] of Object.entries(regions)) {
      const bad = Buffer.from(good);
      const at = start + Math.floor((end - start) / 2);
      bad[at]! ^= 0x01;
      writeFileSync(path, bad);
      const e = await failure(open(envOf(key)));
      expect(e.code, name).toBe('VAULT_TAMPERED');
      expect(e.kind).toBe('integrity');
      expect(e.exitCode).toBe(ExitCode.INTEGRITY);
      expect(e.message + (e.hint ?? '')).not.toMatch(/SECRET-VALUE/);
      expect(readFileSync(path).equals(bad), `${name}: file untouched`).toBe(true);
    }
  });

  it('every single flipped byte anywhere is refused, even with the checksum rebuilt', async () => {
    const key = newKey();
    const good = await sealedVault(key);
    for (let at = 0; at < good.length; at++) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x20;
      writeFileSync(path, bad);
      expect((await failure(open(envOf(key)))).code, `byte ${at}`).toBe('VAULT_TAMPERED');
      // An attacker rebuilding the checksum gets past the cheap check, never past the keyed ones.
      // (Inside the key wrap or the key source this reads as a wrong key: the same refusal.)
      if (at >= good.length - 32) continue;
      writeFileSync(path, fixChecksum(bad));
      const code = (await failure(open(envOf(key)))).code;
      expect(['VAULT_TAMPERED', 'VAULT_WRONG_KEY'], `byte ${at} with checksum fixed: ${code}`).toContain(code);
    }
  }, 60_000);

  it('an open vault notices a tampered file: get and put refuse, and the file is not rewritten', async () => {
    const key = newKey();
    const v = await open(envOf(key));
    v.put('conn-a', 'SECRET-VALUE-A');
    const bytes = readFileSync(path);
    const ct = layout(bytes).records[0]!.ciphertext;
    bytes[ct[0]]! ^= 0xff;
    const bad = fixChecksum(bytes);
    writeFileSync(path, bad);
    expect((await failure(() => v.get('conn-a'))).code).toBe('VAULT_TAMPERED');
    expect((await failure(() => v.put('conn-b', 'x'))).code).toBe('VAULT_TAMPERED');
    expect(readFileSync(path).equals(bad)).toBe(true);
  });
});

describe('rollback (rule 10)', () => {
  it('an older copy of the file is refused against the database high-water mark (VAULT_ROLLBACK, exit 6)', async () => {
    const key = newKey();
    const store = Store.open(join(dir, 'orderlink.db'), 'default');
    try {
      const v = await open(envOf(key), { generation: store.vaultGeneration() });
      v.put('conn-a', 'OLD-TOKEN');
      const old = readFileSync(path);
      v.put('conn-a', 'ROTATED-TOKEN');
      expect(store.vaultGeneration().get()).toBe(v.status().generation);
      writeFileSync(path, old);
      const e = await failure(open(envOf(key), { generation: store.vaultGeneration() }));
      expect(e.code).toBe('VAULT_ROLLBACK');
      expect(e.exitCode).toBe(ExitCode.INTEGRITY);
      // The running vault refuses too, even without the mirror: it remembers what it has seen.
      const e2 = await failure(() => v.get('conn-a'));
      expect(e2.code).toBe('VAULT_ROLLBACK');
      // ...and keeps refusing: the old file is never adopted as the current state.
      expect((await failure(() => v.get('conn-a'))).code).toBe('VAULT_ROLLBACK');
      expect((await failure(() => v.put('conn-a', 'x'))).code).toBe('VAULT_ROLLBACK');
      expect(readFileSync(path).equals(old)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('a crash between the file write and the mirror update is not a rollback, and heals', async () => {
    const key = newKey();
    const store = Store.open(join(dir, 'orderlink.db'), 'default');
    try {
      const v = await open(envOf(key), { generation: store.vaultGeneration() });
      v.put('conn-a', 'T1');
      const gen = v.status().generation;
      store.vaultGeneration().set(gen - 1);
      const again = await open(envOf(key), { generation: store.vaultGeneration() });
      expect(again.get('conn-a')).toBe('T1');
      expect(store.vaultGeneration().get()).toBe(gen);
    } finally {
      store.close();
    }
  });
});

describe('key sources (rules 11-12, H13-H14)', () => {
  it('a wrong-length or non-base64 env key is refused with VAULT_LOCKED, never echoing the value', async () => {
    const short = randomBytes(16).toString('base64');
    const long = randomBytes(33).toString('base64');
    const notB64 = 'not*base64!value-' + randomBytes(8).toString('hex');
    for (const raw of [short, long, notB64, 'YWJj']) {
      const e = await failure(open(envOf(raw)));
      expect(e.code).toBe('VAULT_LOCKED');
      expect(e.exitCode).toBe(ExitCode.VAULT_LOCKED);
      expect(e.message + (e.hint ?? '') + JSON.stringify(e.details ?? {})).not.toContain(raw);
    }
    expect(existsSync(path)).toBe(false);
    expect(parseEnvKey(newKey().replace(/\+/g, '-').replace(/\//g, '_')).length).toBe(32);
  });

  it('a wrong env key or passphrase is refused with VAULT_WRONG_KEY when opening, before any record is read', async () => {
    const v = await open({ ORDERLINK_VAULT_PASSPHRASE: 'correct horse battery' });
    expect(v.keySource).toBe('passphrase');
    expect(v.status().backend).toMatch(/scrypt N=2\^17 r=8 p=1/);
    v.put('conn-a', 'SECRET-A');
    const bytes = readFileSync(path);
    expect(parseFile(bytes).header.source).toMatchObject({ kind: 'passphrase', kdf: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    // openVault decrypts no record (only get() does), so failing here is failing before any secret.
    const e = await failure(open({ ORDERLINK_VAULT_PASSPHRASE: 'wrong horse' }));
    expect(e.code).toBe('VAULT_WRONG_KEY');
    expect(e.exitCode).toBe(ExitCode.VAULT_LOCKED);
    expect(e.message).not.toMatch(/horse/);
    const prompted = await failure(open({}, { promptPassphrase: async () => 'also wrong' }));
    expect(prompted.code).toBe('VAULT_WRONG_KEY');
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect((await open({}, { promptPassphrase: async (p) => (p === 'unlock' ? 'correct horse battery' : 'x') })).get('conn-a')).toBe('SECRET-A');

    rmSync(path);
    (await open(envOf(newKey()))).put('conn-a', 'SECRET-A');
    expect((await failure(open(envOf(newKey())))).code).toBe('VAULT_WRONG_KEY');
  });

  for (const fail of ['error', 'hang'] as const) {
    it(`no key source at all (keychain: ${fail}) → VAULT_LOCKED within 5 s, naming the three options`, async () => {
      const started = Date.now();
      const e = await failure(openVault({ path, profile: 'default', env: {}, keychain: memoryKeychain({ fail }) }));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(e.code).toBe('VAULT_LOCKED');
      expect(e.kind).toBe('vault_locked');
      expect(e.exitCode).toBe(5);
      for (const text of [e.message, e.hint!]) {
        expect(text).toMatch(/keychain/i);
        expect(text).toMatch(/ORDERLINK_VAULT_KEY/);
        expect(text).toMatch(/passphrase/i);
      }
      expect(existsSync(path)).toBe(false);
    }, 10_000);
  }

  it('a keychain that forgets on reboot is never the sole holder of a new key', async () => {
    const kc = memoryKeychain({ durable: false, backend: 'Linux kernel keyring (keyutils)' });
    const e = await failure(openVault({ path, profile: 'default', env: {}, keychain: kc }));
    expect(e.code).toBe('VAULT_LOCKED');
    expect(e.message).toMatch(/forgets keys on reboot/);
    expect(e.hint).toMatch(/ORDERLINK_VAULT_KEY/);
    expect(kc.items.size).toBe(0);
    // With a terminal, the passphrase is offered instead.
    const v = await openVault({ path, profile: 'default', env: {}, keychain: kc, promptPassphrase: async () => 'a long passphrase' });
    expect(v.keySource).toBe('passphrase');
    v.put('conn-a', 'S');
    const before = readFileSync(path);
    const m = await failure(v.migrate('keychain', {}));
    expect(m.code).toBe('KEYCHAIN_NOT_DURABLE');
    expect(kc.items.size).toBe(0);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('the keychain source: created with a new vault, and VAULT_LOCKED once its entry is gone', async () => {
    const kc = memoryKeychain();
    const v = await openVault({ path, profile: 'work', env: {}, keychain: kc });
    expect(v.keySource).toBe('keychain');
    expect(v.status()).toMatchObject({ backend: 'memory keychain', durable: true });
    v.put('conn-a', 'SECRET-A');
    expect([...kc.items.keys()]).toEqual([expect.stringMatching(new RegExp(`^${keychainService('work')}\\u0000vault-key-[0-9a-f]{16}$`))]);
    // The header's source wins over an env key that happens to be set.
    const again = await openVault({ path, profile: 'work', env: envOf(newKey()), keychain: kc });
    expect(again.get('conn-a')).toBe('SECRET-A');
    expect(again.status().warnings.join(' ')).toMatch(/ORDERLINK_VAULT_KEY is set but ignored/);
    kc.setFail('hang');
    const started = Date.now();
    expect((await failure(openVault({ path, profile: 'work', env: {}, keychain: kc }))).code).toBe('VAULT_LOCKED');
    expect(Date.now() - started).toBeLessThan(5000);
    kc.setFail(undefined);
    kc.items.clear();
    const gone = await failure(openVault({ path, profile: 'work', env: {}, keychain: kc }));
    expect(gone.code).toBe('VAULT_LOCKED');
    expect(gone.message).toMatch(/not in the OS keychain/);
  });
});

describe('rotate and migrate', () => {
  it('rotate keeps every secret and replaces the data key (env: same outer key)', async () => {
    const key = newKey();
    const v = await open(envOf(key));
    v.put('conn-a', 'SECRET-A');
    v.put('conn-b', 'SECRET-B');
    const beforeBytes = readFileSync(path);
    const before = parseFile(beforeBytes);
    await v.rotate();
    const after = parseFile(readFileSync(path));
    expect(after.header.wrappedKey).not.toBe(before.header.wrappedKey);
    expect(after.blobs.get('conn-a')!.blob.equals(before.blobs.get('conn-a')!.blob)).toBe(false);
    expect(macKeyOf(readFileSync(path), key).keys.enc.equals(macKeyOf(beforeBytes, key).keys.enc)).toBe(false);
    expect(v.status().rotatedAt).not.toBeNull();
    expect(v.get('conn-a')).toBe('SECRET-A');
    const again = await open(envOf(key));
    expect([again.get('conn-a'), again.get('conn-b')]).toEqual(['SECRET-A', 'SECRET-B']);
  });

  it('rotate with the keychain: a new entry first, the old one deleted after the switch', async () => {
    const kc = memoryKeychain();
    const v = await openVault({ path, profile: 'default', env: {}, keychain: kc });
    v.put('conn-a', 'SECRET-A');
    const [oldEntry] = [...kc.items];
    await v.rotate();
    const entries = [...kc.items];
    expect(entries).toHaveLength(1);
    expect(entries[0]![0]).not.toBe(oldEntry![0]);
    expect(entries[0]![1]).not.toBe(oldEntry![1]);
    expect((await openVault({ path, profile: 'default', env: {}, keychain: kc })).get('conn-a')).toBe('SECRET-A');
  });

  it('a failed rotation leaves the old key and file in place (the new keychain entry is removed)', async () => {
    const kc = memoryKeychain();
    const v = await openVault({ path, profile: 'default', env: {}, keychain: kc });
    v.put('conn-a', 'SECRET-A');
    const bytes = readFileSync(path);
    const entries = [...kc.items];
    // Another process tampers with the file between our open and the rotation's write.
    const bad = Buffer.from(bytes);
    bad[layout(bad).records[0]!.ciphertext[0]]! ^= 1;
    writeFileSync(path, fixChecksum(bad));
    expect((await failure(v.rotate())).code).toBe('VAULT_TAMPERED');
    expect([...kc.items]).toEqual(entries);
  });

  it('migrate env → passphrase → env → keychain keeps every secret', async () => {
    const kc = memoryKeychain();
    const v = await open(envOf(newKey()), { keychain: kc });
    v.put('conn-a', 'SECRET-A');
    v.put('conn-b', 'SECRET-B');
    expect(await v.migrate('passphrase', { passphrase: 'correct horse battery' })).toEqual({});
    expect(v.keySource).toBe('passphrase');
    const p = await open({ ORDERLINK_VAULT_PASSPHRASE: 'correct horse battery' });
    expect([p.keySource, p.get('conn-a'), p.get('conn-b')]).toEqual(['passphrase', 'SECRET-A', 'SECRET-B']);

    const r = await p.migrate('env', {});
    expect(r).toEqual({ envKey: expect.any(String) });
    const envKey = (r as { envKey: string }).envKey;
    expect(parseEnvKey(envKey)).toHaveLength(32);
    expect(readFileSync(path).includes(envKey)).toBe(false);
    const e = await open(envOf(envKey), { keychain: kc });
    expect([e.keySource, e.get('conn-a'), e.get('conn-b')]).toEqual(['env', 'SECRET-A', 'SECRET-B']);
    expect((await failure(open({ ORDERLINK_VAULT_PASSPHRASE: 'correct horse battery' }))).code).toBe('VAULT_LOCKED');

    await e.migrate('keychain', {});
    expect(kc.items.size).toBe(1);
    const k = await openVault({ path, profile: 'default', env: {}, keychain: kc });
    expect([k.keySource, k.get('conn-a'), k.get('conn-b')]).toEqual(['keychain', 'SECRET-A', 'SECRET-B']);
    // Leaving the keychain removes its entry.
    await k.migrate('passphrase', { passphrase: 'another passphrase' });
    expect(kc.items.size).toBe(0);
  });
});

describe('files (rule 14)', () => {
  it('the vault and its lock file are 0600', async () => {
    (await open(envOf(newKey()))).put('conn-a', 'S');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}.lock`).mode & 0o777).toBe(0o600);
  });

  it('refuses a symlink at the vault path, dangling or not', async () => {
    const key = newKey();
    const real = join(dir, 'elsewhere.bin');
    (await openVault({ path: real, profile: 'default', env: envOf(key) })).put('conn-a', 'S');
    symlinkSync(real, path);
    expect((await failure(open(envOf(key)))).code).toBe('VAULT_UNSAFE_PATH');
    rmSync(path);
    symlinkSync(join(dir, 'nothing-here'), path);
    expect((await failure(open(envOf(key)))).code).toBe('VAULT_UNSAFE_PATH');
    expect(existsSync(join(dir, 'nothing-here'))).toBe(false);
  });

  it('a crash mid-write (a stale temporary file) corrupts nothing and is cleaned up', async () => {
    const key = newKey();
    const v = await open(envOf(key));
    v.put('conn-a', 'SECRET-A');
    const good = readFileSync(path);
    // What a writer killed before its rename leaves: a half-written temp file beside the vault.
    const stale = join(dir, `.vault.bin.99999.abcdef012345.tmp`);
    writeFileSync(stale, good.subarray(0, good.length >> 1), { mode: 0o600 });
    const again = await open(envOf(key));
    expect(again.get('conn-a')).toBe('SECRET-A');
    again.put('conn-b', 'SECRET-B');
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await open(envOf(key))).list()).toEqual(['conn-a', 'conn-b']);
  });

  it('a vault file with loose permissions is tightened to 0600 with a warning', async () => {
    const key = newKey();
    (await open(envOf(key))).put('conn-a', 'S');
    const { chmodSync } = await import('node:fs');
    chmodSync(path, 0o644);
    const v = await open(envOf(key));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(v.status().warnings.join(' ')).toMatch(/mode 0644/);
  });
});

describe('several processes on one vault', () => {
  it('no lost update: each instance re-reads under the write lock, and reads see the other’s writes', async () => {
    const key = newKey();
    const a = await open(envOf(key));
    const b = await open(envOf(key));
    a.put('conn-a', 'A1');
    b.put('conn-b', 'B1');
    a.put('conn-a', 'A2');
    expect(b.get('conn-a')).toBe('A2');
    expect(a.list()).toEqual(['conn-a', 'conn-b']);
    await a.rotate();
    expect(b.get('conn-b')).toBe('B1');
    b.put('conn-b', 'B2');
    expect((await open(envOf(key))).list().map((r) => [r, a.get(r)])).toEqual([
      ['conn-a', 'A2'],
      ['conn-b', 'B2'],
    ]);
  });

  it('a keychain rotation by another instance gives a clear "run again", not a wrong answer', async () => {
    const kc = memoryKeychain();
    const a = await openVault({ path, profile: 'default', env: {}, keychain: kc });
    a.put('conn-a', 'A1');
    const b = await openVault({ path, profile: 'default', env: {}, keychain: kc });
    await a.rotate();
    expect((await failure(() => b.get('conn-a'))).code).toBe('VAULT_KEY_CHANGED');
    expect((await openVault({ path, profile: 'default', env: {}, keychain: kc })).get('conn-a')).toBe('A1');
  });
});

describe('status', () => {
  it('reports the source, counts and dates, and never a secret', async () => {
    const store = Store.open(join(dir, 'orderlink.db'), 'default');
    try {
      const v: Vault = await open(envOf(newKey()), { generation: store.vaultGeneration() });
      v.put('conn-a', 'SECRET-A');
      const s = v.status();
      expect(s).toMatchObject({ keySource: 'env', secrets: 1, rotatedAt: null, warnings: [] });
      expect(s.generation).toBe(store.vaultGeneration().get());
      expect(Date.parse(s.createdAt)).not.toBeNaN();
      expect(JSON.stringify(s)).not.toMatch(/SECRET/);
    } finally {
      store.close();
    }
  });
});

describe('two real processes writing at once', () => {
  it('every put of both survives (the write lock is cross-process)', async () => {
    const { execFile } = await import('node:child_process');
    const { pathToFileURL, fileURLToPath } = await import('node:url');
    const dist = fileURLToPath(new URL('../dist/vault/index.js', import.meta.url));
    expect(existsSync(dist), `${dist} is missing: run \`npm run build\` (npm test does)`).toBe(true);
    const key = newKey();
    (await open(envOf(key))).put('seed', 'x');
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `const { openVault } = await import(${JSON.stringify(pathToFileURL(dist).href)});
const v = await openVault({ path: process.argv[2], profile: 'default', env: process.env });
for (let i = 0; i < 40; i++) v.put(process.argv[3] + '-' + i, 'value-' + i);
`,
    );
    const run = (name: string) =>
      new Promise<void>((resolve, reject) =>
        execFile(process.execPath, [script, path, name], { env: { PATH: process.env.PATH, [ENV_KEY]: key }, timeout: 30_000 }, (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
      );
    await Promise.all([run('p1'), run('p2'), run('p3')]);
    const v = await open(envOf(key));
    expect(v.list()).toHaveLength(1 + 3 * 40);
    expect(v.get('p2-39')).toBe('value-39');
  });
});
