#!/usr/bin/env node
/**
 * Prints (JSON on stdout) what commander writes for every command's `--help`, and for
 * `--version`, keyed by the argv joined with NUL (which no argument can hold). Run by
 * scripts/build.mjs after tsc, in a child whose stdout is a pipe (commander wraps help at 80
 * columns there, as for any piped run) and without ORDERLINK_PROFILE (the one variable that
 * changes the help: the default of --profile). The bundle serves these texts without loading
 * commander (src/launch.ts); test/help-fast.test.ts proves each equals commander's output.
 */
import { main, buildProgram } from '../dist/cli.js';
import { captureIO } from '../dist/ui/io.js';

const noRun = { run: async () => {} };
const program = await buildProgram([], captureIO(), noRun, true);
const paths = [];
const walk = (cmd, prefix) => {
  for (const sub of cmd.commands) {
    const path = [...prefix, sub.name()];
    paths.push(path);
    walk(sub, path);
  }
};
walk(program, []);

const texts = {};
for (const argv of [['--help'], ['--version'], ...paths.map((p) => [...p, '--help'])]) {
  const io = captureIO();
  const code = await main(argv, { io, app: noRun });
  if (code !== 0 || io.stderrText() !== '') throw new Error(`gen-help: ${argv.join(' ')} exited ${code}: ${io.stderrText().slice(0, 200)}`);
  texts[argv.join('\0')] = io.stdoutText();
}
process.stdout.write(JSON.stringify(texts));
