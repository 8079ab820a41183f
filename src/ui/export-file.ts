/**
 * Writing an export to `-o FILE` as every file orderlink creates (SECURITY.md rule 32): a
 * temporary file beside FILE with an unpredictable name, created O_CREAT|O_EXCL|O_NOFOLLOW 0600
 * (a planted file or symlink there makes it fail, never followed), filled and fsynced, then
 * published by a hard link (fails if FILE appeared meanwhile: never an overwrite) or, with
 * --force, a rename (which replaces a symlink at FILE itself, never the file it points to). A
 * crash leaves at most the `.FILE.<random>.tmp`, never a partial FILE.
 */
import { constants, lstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createTemp, fsyncPath, publish as publishFile, removeQuiet, TargetExists } from '../files.js';

export { createTemp, fsyncPath, removeQuiet };
import { OrderlinkError } from '../errors.js';

/** Refuse an existing FILE (a symlink included) unless --force; a directory always. */
export function checkTarget(path: string, force: boolean): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isDirectory()) throw new OrderlinkError('EXPORT_EXISTS', `${path} is a directory; nothing was written`, { kind: 'usage', hint: `Give a file name, e.g. ${join(path, 'orders.ndjson')}` });
  if (!force) {
    const what = st.isSymbolicLink() ? 'exists (a symbolic link, which orderlink never writes through)' : 'already exists';
    throw new OrderlinkError('EXPORT_EXISTS', `${path} ${what}; nothing was written`, { kind: 'usage', hint: 'Choose a new file name, or pass --force to replace it (a link is replaced, not followed).' });
  }
}


/** Open the temp file for streaming (it was created by createTemp; never follows a link). */
export async function openTemp(tmp: string): Promise<FileHandle> {
  return open(tmp, constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0));
}


/** Give the finished temp file its name: never over an existing file unless forced. */
export function publish(tmp: string, path: string, force: boolean): void {
  try {
    publishFile(tmp, path, force);
  } catch (err) {
    if (err instanceof TargetExists) throw new OrderlinkError('EXPORT_EXISTS', `${path} appeared while the export was written; nothing was replaced`, { kind: 'usage', hint: 'Choose a new file name, or pass --force.' });
    throw err;
  }
}


/** A write failure as what happened and what to do (never a stack trace). */
export function writeFailed(path: string, err: unknown): OrderlinkError {
  if (err instanceof OrderlinkError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? code : 'write failed';
  const full = why === 'ENOSPC' || why === 'SQLITE_FULL' || why === 'EDQUOT';
  return new OrderlinkError(full ? 'DISK_FULL' : 'EXPORT_FAILED', `could not write the export to ${path} (${why}); nothing was written there`, {
    hint: full ? 'Free some space on that disk, or export to another one.' : 'Check that the folder exists and that you can write to it.',
  });
}
