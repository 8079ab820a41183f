/**
 * Writing a file that must never land somewhere else or replace something (SECURITY.md rule 32),
 * as `backup` does: a temporary file with an unpredictable name beside the target, created
 * O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600 (a planted symlink is refused, never followed), written
 * and fsynced, then hard-linked to the target — which fails if anything (a file, a symlink) is
 * there already — and the temporary name removed. A crash leaves at most `.NAME.<random>.tmp`.
 */
import { TargetExists, writeFileSafely } from '../files.js';
import { OrderlinkError } from '../errors.js';

const taken = (path: string) =>
  new OrderlinkError('FILE_EXISTS', `${path} already exists; nothing was written`, { kind: 'usage', hint: 'Choose a new file name (orderlink never replaces a file here).' });

export function writeNewFile(path: string, text: string): void {
  try {
    writeFileSafely(path, text, false);
  } catch (err) {
    if (err instanceof TargetExists) throw taken(path);
    throw failed(path, err);
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
