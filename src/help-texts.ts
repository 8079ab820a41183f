/**
 * What commander prints for every command's `--help` (and `--version`), keyed by the argv joined
 * with NUL, as templates whose width-dependent pieces are slots (src/help-layout.ts fills them).
 * Empty here: in launch.cjs scripts/build.mjs replaces this module with one that reads
 * dist/bundle/help-texts.cjs, the templates scripts/gen-help.mjs captured from commander at build
 * time; test/help-fast.test.ts proves the rendered texts equal commander's output. Outside the
 * bundle (tests importing src/ or dist/) it stays empty and launch.ts falls through to commander.
 */
import type { HelpTemplate } from './help-layout.js';

export function helpTexts(): Readonly<Record<string, HelpTemplate>> {
  return {};
}
