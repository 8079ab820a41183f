/**
 * Writing a file that must never land somewhere else or replace something (SECURITY.md rule 32),
 * as `backup` does: a temporary file with an unpredictable name beside the target, created
 * O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600 (a planted symlink is refused, never followed), written
 * and fsynced, then hard-linked to the target — which fails if anything (a file, a symlink) is
 * there already — and the temporary name removed. A crash leaves at most `.NAME.<random>.tmp`.
 */
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { OrderlinkError } from '../errors.js';

const exists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

const taken = (path: string) =>
  new OrderlinkError('FILE_EXISTS', `${path} already exists; nothing was written`, { kind: 'usage', hint: 'Choose a new file name (orderlink never replaces a file here).' });

export function writeNewFile(path: string, text: string): void {
  if (exists(path)) throw taken(path);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    throw failed(path, err);
  }
  try {
    try {
      const buf = Buffer.from(text, 'utf8');
      for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw taken(path);
      // A file system without hard links: rename, after checking again that nothing is there.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
      if (exists(path)) throw taken(path);
      renameSync(tmp, path);
      return;
    }
  } catch (err) {
    throw failed(path, err);
  } finally {
    if (exists(tmp)) unlinkSync(tmp);
  }
}

function failed(path: string, err: unknown): OrderlinkError {
  if (err instanceof OrderlinkError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' ? code : 'write failed';
  const full = why === 'ENOSPC' || why === 'EDQUOT';
  return new OrderlinkError(full ? 'DISK_FULL' : 'WRITE_FAILED', `could not write ${path} (${why}); nothing was written there`, {
    hint: full ? 'Free some space on that disk, or write the file to another one.' : 'Check that the folder exists and that you can write to it.',
  });
}
