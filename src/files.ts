/**
 * Every file orderlink creates for the person (reports, bundles, exports) is written the same way
 * (SECURITY.md rule 32): a temporary file beside the target with an unpredictable name, created
 * O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600 (a planted file or symlink makes it fail, never
 * followed), filled and fsynced, then published — by a hard link when nothing may be replaced
 * (it fails if anything appeared at the target), or by a rename when replacing is allowed (a
 * symlink at the target is replaced itself, never the file it points to). A crash leaves at most
 * `.NAME.<random>.tmp`, never a partial file. (The vault keeps its own writer: it also keeps a
 * generation mark and a directory lock.)
 */
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** A new empty 0600 file beside `path`, with an unpredictable name. */
export function createTemp(path: string): string {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  closeSync(openSync(tmp, CREATE_EXCLUSIVE, 0o600));
  return tmp;
}

export function removeQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* renamed or gone */
  }
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Thrown by publish() when the target exists and may not be replaced. */
export class TargetExists extends Error {
  override readonly name = 'TargetExists';
}

/** Give a finished temp file its name: a hard link (never over anything) or, with `replace`, a rename. */
export function publish(tmp: string, path: string, replace: boolean): void {
  if (replace) renameSync(tmp, path);
  else {
    try {
      linkSync(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new TargetExists(path);
      // A file system without hard links: rename, after checking again that nothing is there.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
      if (lstatSync(path, { throwIfNoEntry: false })) throw new TargetExists(path);
      renameSync(tmp, path);
      return;
    }
    unlinkSync(tmp);
  }
  if (process.platform !== 'win32') {
    try {
      fsyncPath(dirname(path));
    } catch {
      /* a directory that cannot be opened for fsync: the rename itself is done */
    }
  }
}

/** Write `data` to a new file at `path` the safe way; `replace` allows an existing target to be replaced. */
export function writeFileSafely(path: string, data: string | Buffer, replace: boolean): void {
  if (!replace && lstatSync(path, { throwIfNoEntry: false })) throw new TargetExists(path);
  const tmp = createTemp(path);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    publish(tmp, path, replace);
  } finally {
    removeQuiet(tmp);
  }
}
