/**
 * The real binary on a real terminal: util-linux `script` gives it a pty (stdin, stdout and
 * stderr are all the terminal), sized with stty, and the test types into it when the screen
 * shows what it waits for. Output is everything the terminal showed, escapes included.
 */
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

export interface TerminalStep {
  /** Type `send` once the screen so far matches this. */
  when: RegExp;
  send: string;
  /** Wait this long after the match before typing (ms). */
  delayMs?: number;
}

export interface TerminalRun {
  code: number | null;
  out: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function onTerminal(args: string[], opts: { env: NodeJS.ProcessEnv; rows?: number; cols?: number; steps?: TerminalStep[]; timeoutMs?: number }): Promise<TerminalRun> {
  const cmd = `stty rows ${opts.rows ?? 40} cols ${opts.cols ?? 120}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  const steps = [...(opts.steps ?? [])];
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { TERM: 'xterm-256color', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let seen = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // Each step matches only what the screen showed after the previous step was typed.
      while (steps.length && steps[0]!.when.test(out.slice(seen))) {
        const s = steps.shift()!;
        seen = out.length;
        setTimeout(() => child.stdin.write(s.send), s.delayMs ?? 0);
      }
    });
    child.stdin.on('error', () => {
      /* the program ended before a step was typed: the test sees it in the output */
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000).unref();
  });
}
