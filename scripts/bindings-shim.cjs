// Bundled in place of the `bindings` package when better-sqlite3's JavaScript is bundled into the
// CLI (scripts/build.mjs). `bindings` finds the native file by reading the caller's stack for its
// package root, which a bundle no longer has. This looks where an install puts better-sqlite3
// beside the CommonJS bundle (dist/bundle/../../node_modules: this checkout, a global install) and
// loads its compiled binding with process.dlopen, as Node's loader would, without resolving the
// package (~0.2 ms of every `orders` start). Anywhere else (a hoisted dependency), it asks Node
// where better-sqlite3 is installed, falling back to `bindings` itself (with that root) for the
// other layouts it knows (Debug builds, node-gyp's older folders).
'use strict';
const { dirname, join } = require('node:path');
const { existsSync } = require('node:fs');
const { createRequire } = require('node:module');

module.exports = function bindings(name) {
  // __dirname exists in the CommonJS bundles (launch.cjs, orders-fast.cjs), not in the ES module chunks.
  const beside = typeof __dirname === 'string' ? join(__dirname, '..', '..', 'node_modules', 'better-sqlite3', 'build', 'Release', name) : undefined;
  if (beside && existsSync(beside)) {
    const addon = { exports: {} };
    process.dlopen(addon, beside);
    return addon.exports;
  }
  const root = dirname(require.resolve('better-sqlite3/package.json'));
  const file = join(root, 'build', 'Release', name);
  if (existsSync(file)) return require(file);
  return createRequire(join(root, 'package.json'))('bindings')({ bindings: name, module_root: root });
};
