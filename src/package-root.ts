/**
 * The package's root directory (where its package.json is), found from this module by walking
 * up. Paths to files shipped with the package (package.json, the connectors' recorded fixtures)
 * are taken from here rather than relative to the module asking, because the module sits at a
 * different depth in each layout: src/ (tests), dist/ (tsc) and dist/bundle/ (the bundled CLI,
 * whose chunks all sit in one folder).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let found: { root: string; pkg: { name: string; version: string } } | undefined;

function find(): NonNullable<typeof found> {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'orderlink' && typeof pkg.version === 'string') return (found = { root: dir, pkg: { name: pkg.name, version: pkg.version } });
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('orderlink: cannot find its own package.json');
    dir = up;
  }
}

export const packageRoot = (): string => find().root;
export const packageVersion = (): string => find().pkg.version;
