#!/usr/bin/env node
/**
 * Prints (JSON on stdout) what commander writes for every command's `--help`, and for
 * `--version`, keyed by the argv joined with NUL (which no argument can hold), as TEMPLATES:
 * commander's text with each width-dependent piece (the command's description, wrapped to the
 * help width, and each term-and-description item, wrapped beside its term) left as a slot that
 * src/help-layout.ts fills at the width of the terminal it prints to (80 when piped, as
 * commander does). Captured by running commander itself with its Help.formatItem and
 * Help.boxWrap replaced by recorders; everything else in the text is commander's, as printed.
 * Run by scripts/build.mjs after tsc, without ORDERLINK_PROFILE (the one variable that changes
 * the help: the default of --profile). test/help-fast.test.ts proves the rendered texts equal
 * commander's output at many widths, for every command.
 */
import { Help } from 'commander';
import { main, buildProgram } from '../dist/cli.js';
import { captureIO } from '../dist/ui/io.js';

const CAPTURE_WIDTH = 80;
let slots;
const slot = (s) => `\u0001${slots.push(s) - 1}\u0002`;
Help.prototype.formatItem = function (term, termWidth, description) {
  return slot({ k: 'i', t: term, w: termWidth, d: description });
};
Help.prototype.boxWrap = function (str, width) {
  // Only formatHelp calls it now (formatItem no longer does): the description, at the help width.
  if (width !== CAPTURE_WIDTH) throw new Error(`gen-help: boxWrap at width ${width}, expected the help width`);
  return slot({ k: 'b', s: str });
};

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

const templates = {};
for (const argv of [['--help'], ['--version'], ...paths.map((p) => [...p, '--help'])]) {
  slots = [];
  const io = captureIO({ columns: CAPTURE_WIDTH });
  const code = await main(argv, { io, app: noRun });
  if (code !== 0 || io.stderrText() !== '') throw new Error(`gen-help: ${argv.join(' ')} exited ${code}: ${io.stderrText().slice(0, 200)}`);
  templates[argv.join('\0')] = { text: io.stdoutText(), slots };
}
process.stdout.write(JSON.stringify(templates));
