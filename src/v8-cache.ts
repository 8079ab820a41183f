/**
 * Loading a bundled CommonJS file (dist/bundle/orders-fast.cjs) with a V8 code cache of our own.
 * Compiling the file is ~5 ms of every `orders` start on Node 20 (docs/performance.md); with the
 * cache V8 deserialises instead. Node 20 has no compile cache; Node ≥ 22.1 has one (bin/orderlink
 * turns it on for everything else), but it saves a file's code right after compiling it, when the
 * functions that will run are not compiled yet (V8 compiles lazily). Ours is written once the
 * command has run, so it holds them too: ~2 ms less of every `orders` start on Node 24 than
 * Node's (measured side by side, docs/performance.md).
 *
 * The cache is code that will run, so it is trusted only where no one else can write:
 *  - the directory is <tmpdir>/node-compile-cache/orderlink-v8-<uid>, beside Node's own compile
 *    cache; it and its parent must be directories (not symlinks) owned by this user and writable
 *    by no one else, ours 0700 — anything else and the cache is neither read nor written;
 *  - an entry is named by the file's identity as the OS records it — device, inode, size,
 *    modification and change times — and the Node version and architecture, so a changed bundle
 *    never meets an old entry (V8 itself checks only its own version, flags and the source's
 *    length). Any write to the file moves its change time, which no user can set back; an
 *    install writes new files (new inodes). No content hash: hashing meant loading node:crypto
 *    (~2.5 ms) on every start, about what the cache saves;
 *  - an entry is opened without following symlinks and must be a regular file owned by this user
 *    and writable by no one else; new entries are written to a private temporary name (0600,
 *    exclusive) and renamed into place.
 * Any failure (a full disk, a rejected entry) only costs the compile it would have saved.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

const { O_RDONLY, O_NOFOLLOW = 0 } = constants;

/**
 * How the bundle reaches import(): a vm.Script has no module loader of its own (Node 20's
 * vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER prints an experimental warning), so the build
 * turns the file's import() calls into calls of this function (scripts/build.mjs).
 */
const IMPORT_KEY = Symbol.for('orderlink.import');

/** Our cache directory, created if missing; undefined unless it is safe to use. */
export function cacheDir(base = tmpdir()): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const parent = join(base, 'node-compile-cache');
  const dir = join(parent, `orderlink-v8-${uid}`);
  try {
    // Looked at first (every start); created only when missing. The parent is Node's own compile
    // cache folder: created with Node's default mode.
    let d = lstatSync(dir, { throwIfNoEntry: false });
    if (!d) {
      mkdirSync(parent, { recursive: true });
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
      }
      d = lstatSync(dir);
    }
    const p = lstatSync(parent);
    if (!p.isDirectory() || p.uid !== uid || (p.mode & 0o022) !== 0 || !d.isDirectory() || d.uid !== uid || (d.mode & 0o077) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** The file's text and its identity (see the top of this file), read through one descriptor. */
function readSource(filename: string): { source: string; id: string } {
  const fd = openSync(filename, O_RDONLY);
  try {
    const st = fstatSync(fd, { bigint: true });
    return { source: readFileSync(fd, 'utf8'), id: [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].map((n) => n.toString(36)).join('-') };
  } finally {
    closeSync(fd);
  }
}

function readEntry(file: string, uid: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, O_RDONLY | O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Entries kept per user: one per installed build and Node version in use, with room to spare. */
export const KEEP_ENTRIES = 8;

/**
 * Keep the `keep` newest entries of `dir` and delete the rest (old builds' entries would
 * otherwise stay forever, ~150 KB each); temporary files of writers that died go too, once an
 * hour old. Run only after writing a new entry, so a start that uses the cache never lists the folder.
 */
export function pruneEntries(dir: string, keep = KEEP_ENTRIES): void {
  try {
    const now = Date.now();
    const found: Array<{ path: string; mtime: number }> = [];
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (!st.isFile()) continue;
      if (name.endsWith('.tmp')) {
        if (now - st.mtimeMs > 3_600_000) rmSync(path, { force: true });
      } else if (name.endsWith('.v8')) found.push({ path, mtime: st.mtimeMs });
    }
    found.sort((a, b) => b.mtime - a.mtime);
    for (const old of found.slice(keep)) rmSync(old.path, { force: true });
  } catch {
    /* pruning is housekeeping: a failure costs disk space only */
  }
}

function writeEntry(file: string, data: Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
    try {
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
    return;
  }
  pruneEntries(dirname(file));
}

/**
 * require() `filename` (a CommonJS file), compiled through our code cache (`ownCache: false`
 * makes it a plain require(); `base` is the temp folder, both for tests). `save` writes a
 * missing or rejected entry; call it once the file's code has run (the entry then holds the
 * functions compiled meanwhile too). `cached`: V8 accepted an entry.
 */
export function requireCached<T>(
  filename: string,
  { base, ownCache = true }: { base?: string; ownCache?: boolean } = {},
): { exports: T; save(): void; cached: boolean } {
  const require = createRequire(filename);
  const uid = process.getuid?.();
  // The bundle reaches import() through this (scripts/build.mjs), in a vm.Script or not.
  (globalThis as Record<symbol, unknown>)[IMPORT_KEY] ??= (specifier: string) => import(specifier);
  const dir = ownCache && uid !== undefined ? cacheDir(base) : undefined;
  if (!dir || uid === undefined) return { exports: require(filename) as T, save: () => {}, cached: false };
  const { source, id } = readSource(filename);
  const entry = join(dir, `${id}-${process.version}-${process.arch}.v8`);
  const cachedData = readEntry(entry, uid);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename, ...(cachedData ? { cachedData } : {}) });
  const mod = { exports: {} as T };
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, require, mod, filename, dirname(filename));
  const fresh = !cachedData || script.cachedDataRejected === true;
  return { exports: mod.exports, save: () => void (fresh && writeEntry(entry, script.createCachedData())), cached: !fresh };
}
