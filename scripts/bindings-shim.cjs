// Bundled in place of the `bindings` package when better-sqlite3's JavaScript is bundled into the
// CLI (scripts/build.mjs). `bindings` finds the native file by reading the caller's stack for its
// package root, which a bundle no longer has; this asks Node where better-sqlite3 is installed
// and loads its compiled binding from there, falling back to `bindings` itself (with that root)
// for the other layouts it knows (Debug builds, node-gyp's older folders).
'use strict';
const { dirname, join } = require('node:path');
const { existsSync } = require('node:fs');
const { createRequire } = require('node:module');

module.exports = function bindings(name) {
  const root = dirname(require.resolve('better-sqlite3/package.json'));
  const file = join(root, 'build', 'Release', name);
  if (existsSync(file)) return require(file);
  return createRequire(join(root, 'package.json'))('bindings')({ bindings: name, module_root: root });
};
