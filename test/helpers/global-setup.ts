/**
 * vitest global setup: a private D-Bus session bus and an unlocked gnome-keyring on it, so the
 * keychain tests use the real OS keychain (Secret Service) without touching the developer's own
 * session. Workers are forked after this runs, so the variables set here reach every test file.
 *
 * - ORDERLINK_TEST_KEYCHAIN=1 when the keychain answered a real set/get round trip.
 * - Without the binaries (a laptop without gnome-keyring) the keychain tests skip loudly; under
 *   CI=true a missing keychain is an error, because .ci/run installs it.
 * - The developer's DBUS_SESSION_BUS_ADDRESS is replaced for the test run, so no test can write
 *   into a real login keyring.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children: ChildProcess[] = [];
let dir: string | undefined;

function has(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('dbus-daemon did not print its address')), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl).trim());
      }
    });
    child.on('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)));
  });
}

async function probe(): Promise<void> {
  const { AsyncEntry } = await import('@napi-rs/keyring');
  const entry = new AsyncEntry('orderlink-test-probe', 'probe');
  const deadline = Date.now() + 10_000;
  let lastErr: unknown;
  // gnome-keyring registers its bus name shortly after it starts: retry briefly.
  while (Date.now() < deadline) {
    try {
      await entry.setPassword('ok');
      if ((await entry.getPassword()) !== 'ok') throw new Error('keychain round trip returned another value');
      await entry.deletePassword();
      return;
    } catch (err) {
      lastErr = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error('keychain probe failed');
}

export async function setup(): Promise<void> {
  delete process.env.ORDERLINK_TEST_KEYCHAIN;
  const why = !has('dbus-daemon') ? 'dbus-daemon is not installed' : !has('gnome-keyring-daemon') ? 'gnome-keyring-daemon is not installed' : undefined;
  if (why) {
    if (process.env.CI === 'true') throw new Error(`real keychain tests need the keychain under CI: ${why} (.ci/run installs it)`);
    console.warn(`\n!!! ${why}: the REAL keychain tests will be SKIPPED (apt-get install gnome-keyring dbus to run them)\n`);
    delete process.env.DBUS_SESSION_BUS_ADDRESS;
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'orderlink-keyring-'));
  const runtime = join(dir, 'run');
  const data = join(dir, 'data');
  mkdirSync(runtime, { mode: 0o700 });
  mkdirSync(data, { mode: 0o700 });
  // The bus gets the private HOME too: if it activates a keyring daemon itself (D-Bus service
  // activation can win the race with ours), that one also keeps its files in the temp dir.
  const contained = { ...process.env, XDG_RUNTIME_DIR: runtime, XDG_DATA_HOME: data, HOME: dir };
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=unix:path=${join(runtime, 'bus')}`, '--print-address=1'], {
    env: contained,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(bus);
  const address = await firstLine(bus, 10_000);
  const env = { ...contained, DBUS_SESSION_BUS_ADDRESS: address };
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(keyring);
  // --unlock reads the login keyring's password from stdin; it creates the keyring on first use.
  keyring.stdin!.end('orderlink-test-keyring-password');
  process.env.DBUS_SESSION_BUS_ADDRESS = address;
  process.env.XDG_RUNTIME_DIR = runtime;
  try {
    await probe();
    process.env.ORDERLINK_TEST_KEYCHAIN = '1';
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (process.env.CI === 'true') throw new Error(`the private gnome-keyring did not answer: ${msg}`);
    console.warn(`\n!!! the private gnome-keyring did not answer (${msg}): the REAL keychain tests will be SKIPPED\n`);
  }
}

export async function teardown(): Promise<void> {
  for (const c of children.reverse()) c.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
}
