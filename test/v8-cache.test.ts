/**
 * Node 20's code cache for the start-up bundle (src/v8-cache.ts). Cached bytecode is code that
 * runs, so the rules are the security ones: only in a private folder of this user's, only
 * entries of this user's that no one else can write, keyed by the file's identity (inode, size, modification and change times); and whatever
 * goes wrong, the file still loads and behaves the same.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, statSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, KEEP_ENTRIES, requireCached } from '../src/v8-cache.js';

let base: string;
let file: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'orderlink-v8-test-'));
  file = join(base, 'mod.cjs');
  writeFileSync(file, "exports.answer = () => 42; exports.load = () => globalThis[Symbol.for('orderlink.import')]('node:os');\n");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const entries = () => readdirSync(join(base, 'node-compile-cache', `orderlink-v8-${process.getuid!()}`));

describe.skipIf(process.getuid === undefined)('own V8 code cache (Node without a compile cache)', () => {
  it("the first run writes an entry keyed by the file's identity, the next one uses it; the module works both times", async () => {
    const first = requireCached<{ answer(): number; load(): Promise<{ platform(): string }> }>(file, { base, ownCache: true });
    expect(first.exports.answer()).toBe(42);
    expect(typeof (await first.exports.load()).platform).toBe('function'); // import() reaches Node's loader
    expect(first.cached).toBe(false);
    first.save();
    expect(entries()).toHaveLength(1);
    expect(entries()[0]).toMatch(new RegExp(`^[0-9a-z]+(-[0-9a-z]+){4}-${process.version}-${process.arch}\\.v8$`));
    const second = requireCached<{ answer(): number }>(file, { base, ownCache: true });
    expect(second.cached).toBe(true);
    expect(second.exports.answer()).toBe(42);
    // Same length, other content, and the old modification time put back (touch -d): the change
    // time still moved, so another entry, never the old code.
    const before = statSync(file);
    writeFileSync(file, "exports.answer = () => 43; exports.load = () => globalThis[Symbol.for('orderlink.import')]('node:os');\n");
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).size).toBe(before.size);
    const third = requireCached<{ answer(): number }>(file, { base, ownCache: true });
    expect(third.cached).toBe(false);
    expect(third.exports.answer()).toBe(43);
  });

  it('a folder others can write, or a symlink, is not used at all', () => {
    const dir = cacheDir(base)!;
    chmodSync(dir, 0o755);
    expect(cacheDir(base)).toBeUndefined();
    const r = requireCached<{ answer(): number }>(file, { base, ownCache: true });
    expect(r.exports.answer()).toBe(42);
    r.save();
    expect(entries()).toEqual([]);
    rmSync(dir, { recursive: true });
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, dir);
    expect(cacheDir(base)).toBeUndefined();
  });

  it('an entry writable by others is ignored (and replaced)', () => {
    requireCached(file, { base, ownCache: true }).save();
    const entry = join(cacheDir(base)!, entries()[0]!);
    chmodSync(entry, 0o666);
    const r = requireCached<{ answer(): number }>(file, { base, ownCache: true });
    expect(r.cached).toBe(false);
    expect(r.exports.answer()).toBe(42);
    r.save();
    expect(statSync(entry).mode & 0o777).toBe(0o600);
  });

  it(`old builds' entries do not pile up: writing one keeps the ${KEEP_ENTRIES} newest, and dead writers' temporary files go after an hour`, () => {
    const dir = cacheDir(base)!;
    const day = 86_400;
    const now = Date.now() / 1000;
    // Ten entries of older builds, one a day, and two temporary files: one fresh (a writer at work), one stale.
    for (let i = 1; i <= 10; i++) {
      const old = join(dir, `old${i}-${process.version}-${process.arch}.v8`);
      writeFileSync(old, 'x', { mode: 0o600 });
      utimesSync(old, now - i * day, now - i * day);
    }
    writeFileSync(join(dir, 'busy.v8.123.tmp'), 'x');
    writeFileSync(join(dir, 'dead.v8.456.tmp'), 'x');
    utimesSync(join(dir, 'dead.v8.456.tmp'), now - 2 * 3600, now - 2 * 3600);
    requireCached(file, { base, ownCache: true }).save();
    const left = entries().sort();
    expect(left.filter((n) => n.endsWith('.v8'))).toHaveLength(KEEP_ENTRIES);
    // The new entry and the newest old ones stay; the oldest go.
    expect(left).toContain(`old1-${process.version}-${process.arch}.v8`);
    expect(left).not.toContain(`old10-${process.version}-${process.arch}.v8`);
    expect(left).toContain('busy.v8.123.tmp');
    expect(left).not.toContain('dead.v8.456.tmp');
    // The module's own entry is among those kept, and is used.
    expect(requireCached(file, { base, ownCache: true }).cached).toBe(true);
    // A start that uses the cache lists nothing and deletes nothing.
    expect(entries().sort()).toEqual(left);
  });

  it('with Node\'s own compile cache it is a plain require()', () => {
    const r = requireCached<{ answer(): number }>(file, { base, ownCache: false });
    expect(r.exports.answer()).toBe(42);
    expect(r.cached).toBe(false);
    r.save();
    expect(readdirSync(base)).toEqual(['mod.cjs']);
  });
});
