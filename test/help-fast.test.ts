/**
 * `--help` and `--version` are printed by the bundle from texts captured at build time, without
 * loading commander (src/launch.ts, scripts/gen-help.mjs). The proof that they are commander's:
 * for the program and every command and subcommand, with --help and -h, the binary's output
 * equals what commander prints in the same binary when the fast path is off (ORDERLINK_PROFILE
 * set to its default, which the texts assume unset). Needs `npm run build` (npm test builds).
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram, main } from '../src/cli.js';
import { captureIO } from '../src/ui/io.js';
import { childEnv, runCli } from './helpers/cli.js';
import { onTerminal } from './helpers/pty.js';

async function commandPaths(): Promise<string[][]> {
  const program = await buildProgram([], captureIO(), { run: async () => {} }, true);
  const out: string[][] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      out.push([...prefix, sub.name()]);
      walk(sub, [...prefix, sub.name()]);
    }
  };
  walk(program, []);
  return out;
}

describe('build-time help texts', () => {
  it('the bundle has a text for every command, and each equals commander\'s output', async () => {
    // @ts-expect-error: the built bundle has no type declarations
    const { printedText } = (await import('../dist/bundle/launch.cjs')) as { printedText(argv: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> };
    const argvs = [['--help'], ['-h'], ['--version'], ['-V']];
    for (const p of await commandPaths()) argvs.push([...p, '--help'], [...p, '-h']);
    expect(argvs.length).toBeGreaterThan(60);
    for (const argv of argvs) {
      const text = await printedText(argv, {});
      expect(text, `${argv.join(' ')}: no build-time text`).toBeTypeOf('string');
      const [fast, commander] = await Promise.all([runCli(argv), runCli(argv, { env: childEnv({ ORDERLINK_PROFILE: 'default' }) })]);
      expect(commander.code, argv.join(' ')).toBe(0);
      expect(commander.stdout).toMatch(argv[0]!.startsWith('-V') || argv[0] === '--version' ? /^\d+\.\d+\.\d+/ : /Usage: orderlink/);
      expect(fast.code, argv.join(' ')).toBe(0);
      expect(fast.stderr).toBe('');
      expect(fast.stdout, argv.join(' ')).toBe(commander.stdout);
      expect(fast.stdout).toBe(text);
    }
  }, 120_000);

  it('anything else is left to commander: a profile from the environment, help after other flags', async () => {
    // @ts-expect-error: the built bundle has no type declarations
    const { printedText } = (await import('../dist/bundle/launch.cjs')) as { printedText(argv: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> };
    expect(await printedText(['--help'], { ORDERLINK_PROFILE: 'work' })).toBeUndefined();
    expect(await printedText(['--json', 'orders', '--help'], {})).toBeUndefined();
    expect(await printedText(['orders', 'nosuch', '--help'], {})).toBeUndefined();
    expect(await printedText(['--version', '--json'], {})).toBeUndefined();
    const r = await runCli(['--help'], { env: childEnv({ ORDERLINK_PROFILE: 'work' }) });
    expect(r.stdout).toMatch(/\(default: "work"\)/);
  });

  it('on a terminal the template is laid out at its width exactly as commander does, for every command, from 20 to 233 columns', async () => {
    // @ts-expect-error: the built bundle has no type declarations
    const { printedText } = (await import('../dist/bundle/launch.cjs')) as { printedText(argv: string[], env: NodeJS.ProcessEnv, width?: number): Promise<string | undefined> };
    const noRun = { run: async () => {} };
    const argvs = [['--help'], ...(await commandPaths()).map((p) => [...p, '--help'])];
    let compared = 0;
    for (const width of [20, 39, 40, 41, 52, 63, 80, 97, 120, 160, 233]) {
      for (const argv of argvs) {
        const io = captureIO({ tty: true, columns: width });
        expect(await main(argv, { io, app: noRun })).toBe(0);
        expect(await printedText(argv, {}, width), `${argv.join(' ')} at ${width} columns`).toBe(io.stdoutText());
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(400);
  }, 120_000);

  it('through the binary on a real terminal (pty) of 60 and 132 columns: the same bytes as commander', async () => {
    for (const [cols, argv] of [[60, ['--help']], [132, ['orders', '--help']], [60, ['sync', '--help']]] as Array<[number, string[]]>) {
      const [fast, commander] = await Promise.all([
        onTerminal(argv, { env: childEnv(), cols }),
        onTerminal(argv, { env: childEnv({ ORDERLINK_PROFILE: 'default' }), cols }),
      ]);
      expect(fast.code).toBe(0);
      expect(commander.out).toMatch(/Usage: orderlink/);
      expect(fast.out, `${argv.join(' ')} at ${cols}`).toBe(commander.out);
      // Laid out for this terminal, not the 80 columns of a pipe.
      expect(fast.out.replace(/\r\n/g, '\n')).not.toBe((await runCli(argv)).stdout);
    }
  }, 60_000);
});
