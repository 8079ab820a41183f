/**
 * The REAL OS keychain (STYLE.md #12: unit tests use the double, integration tests the real
 * thing). test/helpers/global-setup.ts starts a private D-Bus session with an unlocked
 * gnome-keyring and sets ORDERLINK_TEST_KEYCHAIN=1 when it answers; otherwise those tests skip,
 * loudly. The "no D-Bus" tests run everywhere: they need no keychain at all.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openVault, realKeychain, keychainService } from '../src/vault/index.js';
import { parseFile } from '../src/vault/format.js';
import { OrderlinkError } from '../src/errors.js';

const haveKeychain = process.env.ORDERLINK_TEST_KEYCHAIN === '1';
if (!haveKeychain) {
  console.warn(
    '\n!!! test/keychain.test.ts: ORDERLINK_TEST_KEYCHAIN is not 1 (no private gnome-keyring from test/helpers/global-setup.ts): the REAL keychain tests are SKIPPED\n',
  );
}

const DIST = fileURLToPath(new URL('../dist/vault/index.js', import.meta.url));

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'ol-keychain-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An environment with the test bus only: nothing else of ours leaks into a child. */
function busEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const k of ['DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR']) if (process.env[k]) env[k] = process.env[k];
  return env;
}

describe('without a D-Bus session (runs everywhere)', () => {
  it('the real keychain is never reported durable, or does not answer at all', async () => {
    const kc = realKeychain(3000, { env: {} });
    const started = Date.now();
    const d = await kc.describe().catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(5000);
    if (d instanceof Error) {
      expect(d).toBeInstanceOf(OrderlinkError);
      expect((d as OrderlinkError).kind).toBe('vault_locked');
    } else {
      expect(d).toEqual({ backend: 'Linux kernel keyring (keyutils)', durable: false });
    }
  });

  it('a new vault with only that keychain: VAULT_LOCKED within 5 s, and no key written anywhere', async () => {
    const path = join(dir, 'nodbus.bin');
    const started = Date.now();
    const err = await openVault({ path, profile: 'nodbus', env: {} }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(OrderlinkError);
    expect((err as OrderlinkError).code).toBe('VAULT_LOCKED');
    expect((err as OrderlinkError).hint).toMatch(/ORDERLINK_VAULT_KEY/);
    expect(existsSync(path)).toBe(false);
  });
});

describe.skipIf(!haveKeychain)('the real keychain (private gnome-keyring)', () => {
  const kc = () => realKeychain(3000, { env: process.env });

  it('describes itself as the durable Secret Service', async () => {
    expect(await kc().describe()).toEqual({ backend: 'Secret Service (D-Bus)', durable: true });
  });

  it('set / get / delete round trip, with a typed "not found"', async () => {
    const service = `orderlink-test-${randomBytes(6).toString('hex')}`;
    const k = kc();
    expect(await k.get(service, 'acct')).toBeUndefined();
    await k.set(service, 'acct', 'value-1');
    expect(await k.get(service, 'acct')).toBe('value-1');
    await k.set(service, 'acct', 'value-2');
    expect(await k.get(service, 'acct')).toBe('value-2');
    expect(await k.delete(service, 'acct')).toBe(true);
    expect(await k.get(service, 'acct')).toBeUndefined();
    expect(await k.delete(service, 'acct')).toBe(false);
  });

  it('a keychain vault reopens in a new process, rotates, and is VAULT_LOCKED once its key is deleted', async () => {
    expect(existsSync(DIST), `${DIST} is missing: run \`npm run build\` (npm test does)`).toBe(true);
    const profile = `kc${randomBytes(4).toString('hex')}`;
    const path = join(dir, `${profile}.bin`);
    const v = await openVault({ path, profile, env: process.env });
    expect(v.keySource).toBe('keychain');
    expect(v.status()).toMatchObject({ backend: 'Secret Service (D-Bus)', durable: true });
    v.put('conn-a', 'REAL-KEYCHAIN-SECRET');

    // A separate process: nothing shared with this one but the file and the keychain.
    const script = join(dir, 'open-vault.mjs');
    writeFileSync(
      script,
      `const { openVault } = await import(${JSON.stringify(pathToFileURL(DIST).href)});
try {
  const v = await openVault({ path: process.argv[2], profile: process.argv[3], env: process.env });
  console.log(JSON.stringify({ ok: true, source: v.keySource, value: v.get('conn-a') ?? null }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code, kind: e.kind }));
}
`,
    );
    const child = () =>
      new Promise<Record<string, unknown>>((resolve, reject) =>
        execFile(process.execPath, [script, path, profile], { env: busEnv(), timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as Record<string, unknown>))),
      );
    expect(await child()).toEqual({ ok: true, source: 'keychain', value: 'REAL-KEYCHAIN-SECRET' });

    const header = () => parseFile(readFileSync(path)).header.source as { service: string; account: string };
    const before = header();
    expect(before.service).toBe(keychainService(profile));
    await v.rotate();
    const after = header();
    expect(after.account).not.toBe(before.account);
    expect(await kc().get(before.service, before.account)).toBeUndefined();
    expect(await child()).toEqual({ ok: true, source: 'keychain', value: 'REAL-KEYCHAIN-SECRET' });

    expect(await kc().delete(after.service, after.account)).toBe(true);
    expect(await child()).toEqual({ ok: false, code: 'VAULT_LOCKED', kind: 'vault_locked' });
  });
});
