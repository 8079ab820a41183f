/**
 * Opening the authorization URL in the person's browser (SECURITY.md rules 7 and 31): the URL is
 * one argument, never a shell command line, and the browser gets a scrubbed environment — no
 * ORDERLINK_* variable (ORDERLINK_VAULT_KEY, ORDERLINK_VAULT_PASSPHRASE, …) and nothing that
 * looks like a token, password or key, because a browser and everything it starts (helpers,
 * extensions, crash reporters) would inherit them.
 *
 * Which program: `BROWSER` when set (the convention of xdg-open, Python and git: a
 * colon-separated list, the first entry is used; `%s` stands for the URL, else the URL is
 * appended), else `open` on macOS, `rundll32 url.dll,FileProtocolHandler` on Windows and
 * `xdg-open` elsewhere. A launch failure is not fatal: the URL is always printed.
 */
import { spawn } from 'node:child_process';

/** Names a child process must never inherit. */
const SECRET_NAME = /(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|(^|_)API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|_KEY$)/i;

/** The environment for a child process: `env` without orderlink's settings and secret-looking names. */
export function scrubbedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || /^ORDERLINK_/i.test(k) || SECRET_NAME.test(k)) continue;
    out[k] = v;
  }
  return out;
}

/** The command and arguments that open `url`, without a shell. */
export function browserCommand(url: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): [string, string[]] {
  const configured = (env.BROWSER ?? '').split(':').map((s) => s.trim()).find(Boolean);
  if (configured) {
    const words = configured.split(/\s+/);
    const args = words.slice(1);
    return args.some((a) => a.includes('%s')) ? [words[0]!, args.map((a) => a.replaceAll('%s', url))] : [words[0]!, [...args, url]];
  }
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['rundll32.exe', ['url.dll,FileProtocolHandler', url]];
  return ['xdg-open', [url]];
}

/** Start the browser detached; resolves once it started, rejects if it could not be started. */
export function launchBrowser(url: string, env: NodeJS.ProcessEnv, trace: (message: string) => void = () => {}): Promise<void> {
  const [cmd, args] = browserCommand(url, env);
  trace(`launching the browser: ${cmd} (environment scrubbed of ORDERLINK_* and secret-looking variables)`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: scrubbedEnv(env), stdio: 'ignore', detached: true, shell: false, windowsHide: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
