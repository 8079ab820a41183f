/**
 * An install a person can use (issue 9 item 20):
 * - H48: the demo never writes into an existing profile (neither --home's nor ORDERLINK_HOME's)
 *   and removes its temporary home at the end unless --keep;
 * - `orderlink completion bash|zsh|fish` completes the real commands and options (bash is run);
 * - H49: the packed tarball installs into a temporary prefix without a single npm warning and
 *   runs (`--version`, `completion bash`). It compiles better-sqlite3 (about a minute): set
 *   ORDERLINK_SKIP_PACK_TEST=1 to skip it, and it says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, runCli } from './helpers/cli.js';
import { tempHome, testContext } from './helpers/context.js';

/** A child process, awaited without blocking the test worker (vitest needs its event loop). */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string>; files: string[] };
let dir: string;
beforeAll(() => {
  dir = tempHome('orderlink-install-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('H48 — the demo never touches a real profile and cleans up after itself', () => {
  it('refuses a --home that holds a profile, leaving it byte for byte', async () => {
    const home = join(dir, 'real');
    const t = testContext({ home });
    t.ctx.store().connections.insert({ connector: 'sandbox', retailer: '*', alias: 'mine', providerType: 'direct', tokenRef: 'r', scopes: '', accountLabel: null, baseUrl: null });
    t.ctx.close();
    const db = join(home, 'profiles', 'default', 'orderlink.db');
    const before = readFileSync(db);
    const r = await runCli(['--home', home, 'demo', '--orders', '5'], { env: childEnv({ DBUS_SESSION_BUS_ADDRESS: '' }) });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/already holds an orderlink profile/);
    expect(readFileSync(db).equals(before)).toBe(true);
  });

  it('with ORDERLINK_HOME set it still uses a temporary home, and removes it at the end', async () => {
    const real = join(dir, 'env-home');
    mkdirSync(join(real, 'profiles', 'default'), { recursive: true });
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const r = await runCli(['demo', '--orders', '5'], { env: childEnv({ ORDERLINK_HOME: real, TMPDIR: tmp, DBUS_SESSION_BUS_ADDRESS: '' }), timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/temporary, removed at the end/);
    expect(r.stderr).toMatch(/orderlink demo --keep/);
    // Node ≥ 22.1 keeps its own compile cache in TMPDIR (bin/orderlink turns it on): not orderlink's data.
    expect(readdirSync(tmp).filter((n) => n !== 'node-compile-cache')).toEqual([]);
    expect(readdirSync(join(real, 'profiles', 'default'))).toEqual([]);
  });

  it('--keep keeps the temporary home, and the "try next" lines then work', async () => {
    const tmp = join(dir, 'tmp-keep');
    mkdirSync(tmp);
    const r = await runCli(['demo', '--orders', '5', '--keep'], { env: childEnv({ TMPDIR: tmp, DBUS_SESSION_BUS_ADDRESS: '' }), timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const [kept] = readdirSync(tmp).filter((n) => n !== 'node-compile-cache');
    const home = join(tmp, kept!);
    expect(r.stderr).toContain(`orderlink --home ${home} orders stats --by retailer`);
    const next = await runCli(['--home', home, 'orders', 'stats', '--by', 'retailer'], { env: childEnv() });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/\t/);
  });
});

describe('orderlink completion', () => {
  /** What bash completes for these words (the last one is being typed). */
  function complete(script: string, words: string[]): string[] {
    // A file, not a pipe: bash's `source` of a pipe reads nothing on some versions.
    const file = join(dir, 'completion.bash');
    writeFileSync(file, script);
    const r = spawnSync('bash', ['--norc', '-c', `source ${file}; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _orderlink; printf "%s\\n" "\${COMPREPLY[@]}"`, 'bash', ...words], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  }

  it('bash: commands, subcommands, options and argument values from the real program', async () => {
    const r = await runCli(['completion', 'bash'], { env: childEnv() });
    expect(r.code, r.stderr).toBe(0);
    const s = r.stdout;
    expect(complete(s, ['orderlink', ''])).toEqual(expect.arrayContaining(['link', 'sync', 'orders', 'vault', 'demo', 'completion', '--home', '--json']));
    expect(complete(s, ['orderlink', 'ord'])).toEqual(['orders']);
    expect(complete(s, ['orderlink', 'orders', 's'])).toEqual(['show', 'stats']);
    expect(complete(s, ['orderlink', '--home', '/tmp', 'orders', 'stats', '--b'])).toEqual(['--by']);
    expect(complete(s, ['orderlink', 'vault', 'mi'])).toEqual(['migrate']);
    expect(complete(s, ['orderlink', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
    expect(complete(s, ['orderlink', 'sync', '--junit', ROOT + 'packa']).sort()).toEqual([ROOT + 'package-lock.json', ROOT + 'package.json']);
  });

  it('zsh and fish scripts complete the real commands when the shell runs them (CI installs both)', async () => {
    const script = async (shell: string) => {
      const r = await runCli(['completion', shell], { env: childEnv() });
      expect(r.code).toBe(0);
      return r.stdout;
    };
    const missing = ['zsh', 'fish'].filter((sh) => spawnSync(sh, ['-c', 'true']).status !== 0);
    if (missing.length) console.log(`completion: ${missing.join(' and ')} not installed here (.ci/run installs them); those scripts were only generated`);

    const fish = await script('fish');
    expect(fish).toMatch(/complete -c orderlink -n '__fish_use_subcommand' -a 'orders'/);
    if (!missing.includes('fish')) {
      // fish's own completion engine, as when a person presses Tab: `complete -C "LINE"`.
      const file = join(dir, 'orderlink.fish');
      writeFileSync(file, fish);
      const ask = (line: string) => {
        const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
      };
      expect(ask('orderlink ord')).toEqual(['orders']);
      expect(ask('orderlink orders s')).toEqual(['show', 'stats']);
      expect(ask('orderlink --home /tmp orders stats --b')).toEqual(['--by']);
      expect(ask('orderlink vault mi')).toEqual(['migrate']);
      expect(ask('orderlink completion ')).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
    }

    const zsh = await script('zsh');
    expect(zsh).toMatch(/compdef _orderlink orderlink/);
    if (!missing.includes('zsh')) {
      // The script's own function run by zsh with the words of a command line; zsh's display
      // layer (_describe, _files) is replaced by stand-ins that print what it was handed, and
      // the prefix filtering zsh does after that is done here.
      const file = join(dir, 'orderlink.zsh');
      writeFileSync(file, zsh);
      const ask = (line: string) => {
        const words = line.split(' ');
        const prog = [
          `_describe() { print -rl -- "\${(@P)\${@[-1]}}" }`,
          '_files() { print -r -- "<files $*>" }',
          `source ${file}`,
          `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}`,
          '_orderlink',
        ].join('\n');
        const r = spawnSync('zsh', ['-f', '-c', prog], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const prefix = words.at(-1)!;
        return r.stdout.split('\n').filter(Boolean).map((l) => l.replace(/(?<!\\):.*$/, '')).filter((w) => w.startsWith(prefix));
      };
      expect(ask('orderlink ord')).toEqual(['orders']);
      expect(ask('orderlink orders s')).toEqual(['show', 'stats']);
      expect(ask('orderlink --home /tmp orders stats --b')).toEqual(['--by']);
      expect(ask('orderlink vault mi')).toEqual(['migrate']);
      expect(ask('orderlink completion ')).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
      // After an option that takes a path, files are offered (directories for --home).
      expect(ask('orderlink sync --junit ')).toEqual(['<files >']);
      expect(ask('orderlink --home ')).toEqual(['<files -/>']);
    }
    const bad = await runCli(['completion', 'tcsh'], { env: childEnv() });
    expect(bad.code).toBe(2);
  });
});

describe('H49 — the packed tarball installs without warnings and runs', () => {
  const skip = process.env.ORDERLINK_SKIP_PACK_TEST;
  if (skip) console.log(`H49 SKIPPED: ORDERLINK_SKIP_PACK_TEST=${skip} (the tarball install compiles better-sqlite3, about a minute)`);

  it('the package builds dist/ when packed and ships it, without build leftovers', () => {
    expect(PKG.scripts.prepack).toMatch(/npm run build/);
    // No install-time lifecycle script of our own: installing a tarball runs nothing of ours.
    for (const s of ['prepare', 'preinstall', 'install', 'postinstall']) expect(PKG.scripts[s], s).toBeUndefined();
    expect(PKG.files).toEqual(expect.arrayContaining(['bin', 'dist']));
  });

  it.skipIf(Boolean(skip))(
    'npm install -g --prefix TMP ./orderlink-VERSION.tgz; TMP/bin/orderlink --version and completion bash',
    async () => {
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
      // dist/ is already built (npm test builds first): --ignore-scripts keeps the pack from
      // rebuilding it under the feet of the tests running in parallel. prepack is checked above.
      const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env });
      expect(packed.status, packed.stderr).toBe(0);
      const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
      const paths = info[0]!.files.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining(['bin/orderlink', 'dist/cli.js', 'dist/commands/completion.js', 'README.md']));
      // Sources and tests stay out; the connectors' recorded fixtures ship (smoke's drift check reads them).
      expect(paths.filter((p) => /^(src|test)\/|tsbuildinfo|node_modules/.test(p) && !/^src\/connectors\/[a-z-]+\/fixtures\//.test(p))).toEqual([]);
      expect(paths).toContain('src/connectors/sandbox/fixtures/page-mixed.json');
      const tgz = join(dir, info[0]!.filename);
      const prefix = join(dir, 'prefix');
      // npm 11 asks before running a dependency's install script: allow better-sqlite3's (it
      // compiles the SQLite binding), where this npm knows the setting.
      const knowsAllowScripts = (await run(npm, ['config', 'get', 'allow-scripts'], { env })).stdout.trim() !== 'undefined';
      // Build the native binding against the headers of the Node running this test: a machine-wide
      // npm `nodedir` (set for the system's Node) would otherwise compile it for another Node ABI.
      const ownHeaders = join(dirname(process.execPath), '..');
      const nodedir = existsSync(join(ownHeaders, 'include', 'node', 'node_version.h')) ? [`--nodedir=${ownHeaders}`] : [];
      const install = await run(npm, ['install', '-g', '--prefix', prefix, ...nodedir, ...(knowsAllowScripts ? ['--allow-scripts=better-sqlite3'] : []), tgz], { env });
      expect(install.status, install.stderr).toBe(0);
      expect(`${install.stdout}\n${install.stderr}`.split('\n').filter((l) => /\bwarn/i.test(l))).toEqual([]);
      const bin = join(prefix, process.platform === 'win32' ? 'orderlink.cmd' : join('bin', 'orderlink'));
      expect(existsSync(bin)).toBe(true);
      const isolated = { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1' };
      expect((await run(bin, ['--version'], { env: isolated })).stdout.trim()).toBe(PKG.version);
      expect((await run(bin, ['completion', 'bash'], { env: isolated })).stdout).toMatch(/complete -F _orderlink orderlink/);
      // The installed copy opens a real database (the compiled binding works).
      const orders = await run(bin, ['--home', join(dir, 'installed-home'), 'orders', '--json'], { env: isolated });
      expect(orders.status, orders.stderr).toBe(0);
      expect(JSON.parse(orders.stdout)).toEqual([]);
    },
    900_000,
  );
});


