/**
 * `--help` and `--version` are printed by the bundle from texts captured at build time, without
 * loading commander (src/launch.ts, scripts/gen-help.mjs). The proof that they are commander's:
 * for the program and every command and subcommand, with --help and -h, the binary's output
 * equals what commander prints in the same binary when the fast path is off (ORDERLINK_PROFILE
 * set to its default, which the texts assume unset). Needs `npm run build` (npm test builds).
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli.js';
import { captureIO } from '../src/ui/io.js';
import { childEnv, runCli } from './helpers/cli.js';

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
    const { printedText } = (await import('../dist/bundle/launch.js')) as { printedText(argv: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> };
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
    const { printedText } = (await import('../dist/bundle/launch.js')) as { printedText(argv: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> };
    expect(await printedText(['--help'], { ORDERLINK_PROFILE: 'work' })).toBeUndefined();
    expect(await printedText(['--json', 'orders', '--help'], {})).toBeUndefined();
    expect(await printedText(['orders', 'nosuch', '--help'], {})).toBeUndefined();
    expect(await printedText(['--version', '--json'], {})).toBeUndefined();
    const r = await runCli(['--help'], { env: childEnv({ ORDERLINK_PROFILE: 'work' }) });
    expect(r.stdout).toMatch(/\(default: "work"\)/);
  });
});
