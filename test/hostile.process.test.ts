/**
 * Hostile tests H45–H47: what orderlink hands to other processes and how it ends.
 * - H45 (SECURITY.md rules 15 and 31, issue 9 item 15): the browser `link` launches gets a
 *   scrubbed environment. A fake browser (BROWSER=node fake-browser.mjs) records its argv and
 *   environment, then completes the consent like a real browser, through the real binary.
 * - H46 (item 18): Ctrl-C at any prompt exits 130, quietly — through the binary on a
 *   pseudo-terminal, and for every prompt kind of the prompter.
 * - H47 (item 18): `--home` that is a file, or below a file, is a clear failure (exit 1 with a
 *   hint), not an internal error (70).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inquirerPrompter } from '../src/context.js';
import { browserCommand, scrubbedEnv } from '../src/demo/launch.js';
import { mapError } from '../src/errors.js';
import { startSandbox, type SandboxHandle } from '../src/sandbox/index.js';
import { childEnv, runCli } from './helpers/cli.js';
import { onTerminal } from './helpers/pty.js';
import { newEnvKey, tempHome, testContext } from './helpers/context.js';

const DIST_BROWSER = fileURLToPath(new URL('../dist/demo/browser.js', import.meta.url));
let dir: string;
let sb: SandboxHandle;
beforeAll(async () => {
  dir = tempHome('orderlink-h45-');
  sb = await startSandbox({ autoConsent: true, orders: 5, accounts: 2 });
});
afterAll(async () => {
  await sb.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A "browser" that writes down what it was given, then approves like a real one would. */
function fakeBrowser(): { script: string; out: string } {
  const script = join(dir, 'fake-browser.mjs');
  const out = join(dir, 'browser-saw.json');
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
import { visitWithRedirects } from ${JSON.stringify(DIST_BROWSER)};
writeFileSync(process.env.FAKE_BROWSER_OUT, JSON.stringify({ argv: process.argv.slice(2), env: process.env }));
await visitWithRedirects(process.argv[2]);
`,
  );
  return { script, out };
}

describe('H45 — the browser never inherits a vault key, a passphrase or a token', () => {
  const SECRET_KEY = newEnvKey();
  const secrets = { ORDERLINK_VAULT_KEY: SECRET_KEY, ORDERLINK_VAULT_PASSPHRASE: 'correct horse battery staple', GITHUB_TOKEN: 'ghp_notreallyatoken', MY_API_KEY: 'k-123-canary-api-key', DB_PASSWORD: 'pw-canary-db-password' };

  it('scrubbedEnv drops ORDERLINK_* and secret-looking names, keeps what a browser needs', () => {
    const env = scrubbedEnv({ ...secrets, PATH: '/usr/bin', HOME: '/home/x', DISPLAY: ':0', XAUTHORITY: '/x', WAYLAND_DISPLAY: 'w', LANG: 'C', BROWSER: 'firefox', ORDERLINK_HOME: '/d' });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/x', DISPLAY: ':0', XAUTHORITY: '/x', WAYLAND_DISPLAY: 'w', LANG: 'C', BROWSER: 'firefox' });
  });

  it('the URL is one argument, never a shell line, whatever BROWSER says', () => {
    const url = 'https://as.example/authorize?a=1&b=$(touch /tmp/pwned);`id`';
    expect(browserCommand(url, { BROWSER: 'firefox --new-window' })).toEqual(['firefox', ['--new-window', url]]);
    expect(browserCommand(url, { BROWSER: 'chromium %s:firefox' })).toEqual(['chromium', [url]]);
    expect(browserCommand(url, {}, 'linux')).toEqual(['xdg-open', [url]]);
    expect(browserCommand(url, {}, 'darwin')).toEqual(['open', [url]]);
  });

  it('through the binary: `link` opens the fake browser, which sees the URL and no secret; the link completes', async () => {
    const home = join(dir, 'home');
    const { script, out } = fakeBrowser();
    const r = await runCli(['--home', home, 'link', 'sandbox', '--base-url', sb.issuer, '--alias', 'web', '--login-hint', 'alice', '--timeout', '60'], {
      env: childEnv({ ...secrets, BROWSER: `${process.execPath} ${script}`, FAKE_BROWSER_OUT: out, DBUS_SESSION_BUS_ADDRESS: '' }),
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Linked sandbox:web/);
    expect(existsSync(out)).toBe(true);
    const saw = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; env: Record<string, string> };
    expect(saw.argv).toHaveLength(1);
    expect(saw.argv[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*code_challenge_method=S256/);
    const everything = JSON.stringify(saw.env);
    for (const [name, value] of Object.entries(secrets)) {
      expect(saw.env[name], name).toBeUndefined();
      expect(everything, name).not.toContain(value);
    }
    expect(Object.keys(saw.env).filter((k) => k.startsWith('ORDERLINK_'))).toEqual([]);
    expect(saw.env.PATH).toBe(process.env.PATH);
  });
});

describe('H46 — Ctrl-C at a prompt is an interruption (exit 130), not an internal error', () => {
  it('every prompt kind maps inquirer’s ExitPromptError / AbortPromptError to exit 130', async () => {
    const kinds: Array<(p: ReturnType<typeof inquirerPrompter>) => Promise<unknown>> = [
      (p) => p.confirm('Disconnect?', false),
      (p) => p.password('Vault passphrase'),
      (p) => p.input('Paste the address'),
      (p) => p.search('Where do you shop?', [{ value: 'sandbox', name: 'Sandbox' }]),
    ];
    for (const ask of kinds) {
      // Ctrl-C typed at the prompt (inquirer reads it in raw mode and throws ExitPromptError).
      const input = new PassThrough();
      const typed = ask(inquirerPrompter(undefined, { input, output: new PassThrough() }));
      setTimeout(() => input.write('\x03'), 20);
      const e1 = await typed.then(() => undefined, (e: unknown) => e);
      expect(mapError(e1)).toMatchObject({ exitCode: 130, code: 'INTERRUPTED', internal: false });
      // Our own SIGINT handler aborting the prompt (AbortPromptError).
      const ac = new AbortController();
      const aborted = ask(inquirerPrompter(ac.signal, { input: new PassThrough(), output: new PassThrough() }));
      setTimeout(() => ac.abort(), 20);
      const e2 = await aborted.then(() => undefined, (e: unknown) => e);
      expect(mapError(e2)).toMatchObject({ exitCode: 130, code: 'INTERRUPTED' });
    }
  });

  it('through the binary on a terminal: Ctrl-C at `disconnect`’s confirmation exits 130 and changes nothing', async () => {
    const home = join(dir, 'ctrlc');
    const t = testContext({ home });
    t.ctx.store().connections.insert({ connector: 'sandbox', retailer: '*', alias: 'work', providerType: 'direct', tokenRef: 'ref-w', scopes: '', accountLabel: null, baseUrl: null });
    t.ctx.close();
    // Ctrl-C once the question is on the screen.
    const result = await onTerminal(['--home', home, 'disconnect', 'sandbox:work'], {
      env: childEnv({ ORDERLINK_VAULT_KEY: newEnvKey(), TERM: 'xterm' }),
      steps: [{ when: /Disconnect sandbox:work/, send: '\x03' }],
    });
    expect(result.code, result.out).toBe(130);
    expect(result.out).not.toMatch(/internal error|ExitPromptError|at .*\.js:\d+/);
    const after = testContext({ home });
    expect(after.ctx.store().connections.list()[0]!.status).toBe('active');
    after.ctx.close();
  });
});

describe('H47 — an unusable --home is a clear failure with a hint, never exit 70', () => {
  it('a file, and a path below a file', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    for (const home of [file, join(file, 'sub')]) {
      for (const args of [['orders'], ['connections', '--json'], ['sync']]) {
        const r = await runCli(['--home', home, ...args], { env: childEnv({ ORDERLINK_VAULT_KEY: newEnvKey() }) });
        expect(r.code, `${home} ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
        const text = r.stdout + r.stderr;
        expect(text).toMatch(/is not a (plain )?directory/);
        expect(text).toMatch(/--home/);
        expect(text).not.toMatch(/internal error/);
      }
    }
  });
});
