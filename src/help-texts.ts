/**
 * What commander prints for every command's `--help` (and `--version`), keyed by the argv joined
 * with NUL. Empty here: scripts/build.mjs replaces this module in the bundle with the texts
 * scripts/gen-help.mjs captured from commander at build time, and test/help-fast.test.ts proves
 * the bundle's copy equals commander's output. Outside the bundle (tests importing src/ or dist/)
 * it stays empty and launch.ts falls through to commander.
 */
export const HELP_TEXTS: Readonly<Record<string, string>> = {};
