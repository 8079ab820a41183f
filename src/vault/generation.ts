/**
 * The vault's rollback high-water mark (the generation mirrored in the database) and the
 * integrity errors tied to it: an older file (VAULT_ROLLBACK) and a missing one
 * (VAULT_FILE_MISSING). Split from index.ts to keep each file readable.
 */
import { OrderlinkError } from '../errors.js';
import type { GenerationMirror } from './types.js';

export function rollback(found: number, expected: number): OrderlinkError {
  return new OrderlinkError('VAULT_ROLLBACK', `the vault file is older than the last one written (generation ${found}, expected at least ${expected})`, {
    kind: 'integrity',
    hint: 'vault.bin was replaced by an older copy, whose tokens may since have been rotated or revoked. If you restored a backup on purpose, restore orderlink.db from the same backup (docs/backup.md); otherwise put the newer vault.bin back. The file was not changed.',
  });
}

export function missingFile(path: string, mark: number): OrderlinkError {
  return new OrderlinkError('VAULT_FILE_MISSING', `the vault file ${path} is missing, but this profile's database recorded one (generation ${mark}): the tokens of your linked connections were in it; nothing was recreated`, {
    kind: 'integrity',
    hint: `Restore vault.bin from your backup (\`orderlink backup FILE --with-vault\` makes FILE.vault.bin; see docs/backup.md): copy it to ${path} with mode 0600 and run the command again. With no backup: \`orderlink vault recreate --yes\` starts an empty vault, then re-link each connection with \`orderlink link --reconnect ID\`.`,
  });
}

export function checkGeneration(found: number, expected: number): void {
  if (found < expected) throw rollback(found, expected);
}

export function getMirror(m: GenerationMirror | undefined, warnings: string[]): number {
  if (!m) return 0;
  try {
    const n = m.get();
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  } catch {
    warnings.push('could not read the rollback high-water mark from the database');
    return 0;
  }
}

export function setMirror(m: GenerationMirror | undefined, n: number, warnings: string[]): void {
  try {
    m?.set(n);
  } catch {
    // Safe direction: a stale mirror can only under-report. The file is already written.
    warnings.push('could not record the vault generation in the database (rollback detection is weaker until the next write)');
  }
}
