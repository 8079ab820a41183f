#!/usr/bin/env node
/**
 * `npm run build`: one command, two outputs.
 *  1. tsc (tsconfig.build.json) type-checks and emits dist/ module by module: what the tests and
 *     the benchmarks import by path (dist/store/index.js, dist/vault/index.js, ...).
 *  2. esbuild bundles the CLI into dist/bundle/ (what bin/orderlink runs), with code splitting:
 *     every lazy `import()` (one per command, undici, zod, chalk, ...) stays its own chunk, so a
 *     command loads only what it uses, but as a few files instead of dozens of small modules —
 *     the ESM loader's resolve/compile per module was most of the start-up time (docs/performance.md).
 *  Packages stay external except the ones every start-up pays for (commander): native bindings
 *  (better-sqlite3, @napi-rs/keyring) cannot be bundled, and the rest load lazily anyway.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });

/**
 * Every command's --help (and --version) as a template of commander's output (scripts/gen-help.mjs),
 * captured from the tsc build without ORDERLINK_PROFILE, written to dist/bundle/help-texts.cjs and
 * read by launch.cjs only for --help, so help prints without loading commander.
 */
const { ORDERLINK_PROFILE: _profile, ...helpEnv } = process.env;
const helpTexts = execFileSync(process.execPath, [fileURLToPath(new URL('./gen-help.mjs', import.meta.url))], { cwd: ROOT, env: helpEnv, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const helpTextsModule = {
  name: 'help-texts',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]help-texts\.ts$/ }, () => ({ contents: "export const helpTexts = () => require('./help-texts.cjs');", loader: 'js' }));
    b.onResolve({ filter: /^\.\/help-texts\.cjs$/ }, (a) => ({ path: a.path, external: true }));
  },
};

const pkg = require('../package.json');
/**
 * Bundled into the CLI: loaded by nearly every invocation, so resolving and compiling them as
 * dozens of CommonJS files costs each run (better-sqlite3's JavaScript is 15 files; its native
 * binding stays where npm built it, found by bindings-shim.cjs).
 */
const BUNDLED = new Set(['commander', 'better-sqlite3']);
/** `bindings` (required by better-sqlite3) resolved to the shim. */
const bindingsShim = {
  name: 'bindings-shim',
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: fileURLToPath(new URL('./bindings-shim.cjs', import.meta.url)) }));
  },
};
rmSync(new URL('../dist/bundle', import.meta.url), { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  // cli.js (commander) is loaded by launch.cjs (below) when needed.
  entryPoints: ['src/cli.ts'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  chunkNames: 'chunk-[hash]',
  external: Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)),
  // A CommonJS package bundled into ESM calls require() for Node's built-ins.
  banner: { js: "import { createRequire as __orderlinkRequire } from 'node:module'; const require = __orderlinkRequire(import.meta.url);" },
  plugins: [bindingsShim],
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
/**
 * `orders` and `orders stats` (src/orders-fast.ts) as one CommonJS file: required by launch.cjs in
 * one read and compile, where the split bundle's path is ~26 ES module chunks through Node's ESM
 * loader. Lazy parts stay lazy (esbuild initialises an imported-later module on first use).
 * It shares no module instances with the split bundle: launch.cjs runs one or the other.
 */
/**
 * node:child_process (the pager's spawn) required on first call rather than when the file loads:
 * piped output never pages, and loading it costs about 2 ms of each start. A named import other
 * than those listed fails the build ("No matching export").
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    // Only `import` statements; the shim's own require() is the real module.
    b.onResolve({ filter: /^node:child_process$/ }, (a) => (a.kind === 'import-statement' ? { path: 'node:child_process', namespace: 'lazy-builtin' } : { path: 'node:child_process', external: true }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "let m; const cp = () => (m ??= require('node:child_process')); export const spawn = (...a) => cp().spawn(...a);",
      loader: 'js',
    }));
  },
};
const fast = await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/orders-fast.ts'],
  outfile: 'dist/bundle/orders-fast.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.18',
  external: [...Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)), 'better-sqlite3/package.json'],
  // import.meta.url (package-root.ts, ui/render.ts) is the file's own URL, as in the ESM chunks.
  // Made on first use: most runs never ask (a file URL costs the url module's parser).
  define: { 'import.meta.url': '__orderlinkMeta.url' },
  // import() goes through src/v8-cache.ts's function (a vm.Script has no module loader).
  banner: { js: "const __orderlinkMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } }; const __orderlinkImport = (s) => (globalThis[Symbol.for('orderlink.import')] ?? ((x) => import(x)))(s);" },
  plugins: [bindingsShim, lazyChildProcess],
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  write: false,
  metafile: true,
});
{
  // Every import() left in the file is a package's (chalk, undici, ...): one per metafile entry.
  const [out] = fast.outputFiles;
  const dynamic = fast.metafile.outputs['dist/bundle/orders-fast.cjs'].imports.filter((i) => i.kind === 'dynamic-import' && i.external).length;
  let n = 0;
  const text = out.text.replace(/(?<![\w$.])import\((?=")/g, () => (n++, '__orderlinkImport('));
  if (n !== dynamic) throw new Error(`build: ${n} import( in orders-fast.cjs for ${dynamic} dynamic imports; check the rewrite`);
  writeFileSync(out.path, text);
}

/**
 * launch.cjs: what bin/orderlink (CommonJS, bin/package.json) requires first. CommonJS all the way
 * for --help and `orders` (help-texts.cjs, orders-fast.cjs): Node's ES module loader, ~4 ms to
 * start, is only started by the import() of cli.js, for every other command.
 */
const cliExternal = {
  name: 'cli-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/cli\.js$/ }, (a) => ({ path: a.path, external: true }));
  },
};
writeFileSync(new URL('../dist/bundle/help-texts.cjs', import.meta.url), `module.exports = ${helpTexts};\n`);
await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/launch.ts'],
  outfile: 'dist/bundle/launch.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.18',
  // launch.ts finds orders-fast.cjs beside itself (import.meta.dirname in ESM, Node ≥ 20.11).
  define: { 'import.meta.dirname': '__dirname' },
  plugins: [helpTextsModule, cliExternal],
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
