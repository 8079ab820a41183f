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
import { cacheDir, requireCached } from '../src/v8-cache.js';

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

  it('with Node\'s own compile cache it is a plain require()', () => {
    const r = requireCached<{ answer(): number }>(file, { base, ownCache: false });
    expect(r.exports.answer()).toBe(42);
    expect(r.cached).toBe(false);
    r.save();
    expect(readdirSync(base)).toEqual(['mod.cjs']);
  });
});
