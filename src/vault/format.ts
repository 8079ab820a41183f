/**
 * The vault file: its byte layout, and the only code that reads or writes it.
 *
 *   offset 0   "OLVAULT"                    magic (7 bytes)
 *          7   format version               1 byte (1)
 *          8   header length H              u32 big-endian
 *         12   header                       H bytes of JSON (HeaderSchema)
 *     12 + H   sealed records               one blob per header.records entry, in order:
 *                                           version(1) ‖ nonce(12) ‖ ciphertext ‖ tag(16)
 *    end - 64  file MAC                     HMAC-SHA256 under a subkey of the data key, over all the above
 *    end - 32  checksum                     SHA-256 of all the above
 *
 * The checksum is unkeyed: it only tells "damaged or edited" (VAULT_TAMPERED) apart from "wrong
 * key" (VAULT_WRONG_KEY) before any key is used. The defence is keyed: the key wrap, the file MAC
 * (which authenticates the header, its generation and the record index, so rollback and record
 * swaps are detected) and each record's AEAD tag. Writes are whole-file, atomic and durable
 * (SECURITY.md rule 14): a temporary file in the same directory (0600, O_EXCL|O_NOFOLLOW),
 * fsync, rename, fsync of the directory. Concurrent writers are serialised by an exclusive SQLite
 * transaction on `<vault>.lock`, which the OS releases if the holder dies (as in src/locks.ts).
 */
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { OrderlinkError } from '../errors.js';
import { createLockFile } from '../locks.js';
import { NONCE_BYTES, RECORD_OVERHEAD, TAG_BYTES, equalBytes, hmac, sha256, tampered } from './crypto.js';
import { SourceSchema } from './keysources.js';

export const MAGIC = Buffer.from('OLVAULT', 'ascii');
export const FORMAT_VERSION = 1;
const PREFIX = MAGIC.length + 1 + 4;
const MAC_BYTES = 32;
const SUM_BYTES = 32;
/** A vault holds a few tokens; anything this big is not ours (and is not read into memory). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

const REF_RE = /^[\x21-\x7e]{1,200}$/;
export const isValidRef = (ref: string): boolean => REF_RE.test(ref);

export const HeaderSchema = z.strictObject({
  v: z.literal(1),
  vaultId: z.string().regex(/^[A-Za-z0-9+/]{22}==$/),
  createdAt: z.string().max(40),
  rotatedAt: z.string().max(40).nullable(),
  /** Incremented on every write; also mirrored outside the file (the database) for rollback detection. */
  generation: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  source: SourceSchema,
  /** The data key wrapped under the source's key: nonce ‖ ciphertext ‖ tag, base64 (the key check). */
  wrappedKey: z.string().regex(/^[A-Za-z0-9+/]{80}$/),
  records: z.array(z.strictObject({ ref: z.string().regex(REF_RE), n: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), len: z.number().int().min(RECORD_OVERHEAD) })),
});
export type Header = z.infer<typeof HeaderSchema>;

export interface ParsedFile {
  header: Header;
  /** ref → the record's counter and sealed blob. */
  blobs: Map<string, { n: number; blob: Buffer }>;
  /** Everything the file MAC covers, and the MAC itself. */
  macInput: Buffer;
  mac: Buffer;
}

/** Structure and checksum only: no key needed, nothing decrypted. Any failure is VAULT_TAMPERED. */
export function parseFile(bytes: Buffer): ParsedFile {
  if (bytes.length < PREFIX + MAC_BYTES + SUM_BYTES) throw tampered('the vault file is truncated');
  const sumAt = bytes.length - SUM_BYTES;
  if (!equalBytes(sha256(bytes.subarray(0, sumAt)), bytes.subarray(sumAt))) throw tampered('the vault file fails its checksum (damaged or edited)');
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw tampered('this is not an orderlink vault file');
  const version = bytes[MAGIC.length];
  if (version !== FORMAT_VERSION) throw tampered(`the vault file has an unknown format version (${version}): damaged, or written by a newer orderlink`);
  const hlen = bytes.readUInt32BE(MAGIC.length + 1);
  const macAt = sumAt - MAC_BYTES;
  if (PREFIX + hlen > macAt) throw tampered('the vault header length is out of range');
  let header: Header;
  try {
    header = HeaderSchema.parse(JSON.parse(bytes.subarray(PREFIX, PREFIX + hlen).toString('utf8')));
  } catch {
    throw tampered('the vault header is malformed');
  }
  const blobs = new Map<string, { n: number; blob: Buffer }>();
  let at = PREFIX + hlen;
  for (const r of header.records) {
    if (at + r.len > macAt || blobs.has(r.ref)) throw tampered('the vault record index does not match the file');
    blobs.set(r.ref, { n: r.n, blob: bytes.subarray(at, at + r.len) });
    at += r.len;
  }
  if (at !== macAt) throw tampered('the vault record index does not match the file');
  return { header, blobs, macInput: bytes.subarray(0, macAt), mac: bytes.subarray(macAt, sumAt) };
}

export function verifyMac(parsed: ParsedFile, macKey: Buffer): void {
  if (!equalBytes(hmac(macKey, parsed.macInput), parsed.mac)) throw tampered('the vault file failed authentication (edited, or records swapped)');
}

/** Serialise a vault. `header.records` is rebuilt from `blobs` so the index always matches. */
export function encodeFile(header: Omit<Header, 'records'>, blobs: Map<string, { n: number; blob: Buffer }>, macKey: Buffer): Buffer {
  const records = [...blobs].map(([ref, r]) => ({ ref, n: r.n, len: r.blob.length }));
  const json = Buffer.from(JSON.stringify({ ...header, records }), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  MAGIC.copy(prefix);
  prefix[MAGIC.length] = FORMAT_VERSION;
  prefix.writeUInt32BE(json.length, MAGIC.length + 1);
  const body = Buffer.concat([prefix, json, ...[...blobs.values()].map((r) => r.blob)]);
  const withMac = Buffer.concat([body, hmac(macKey, body)]);
  return Buffer.concat([withMac, sha256(withMac)]);
}

export type Region = [start: number, end: number];
export interface Layout {
  magic: Region;
  version: Region;
  headerLength: Region;
  header: Region;
  records: Array<{ ref: string; version: Region; nonce: Region; ciphertext: Region; tag: Region }>;
  mac: Region;
  checksum: Region;
}

/** Where each region lies (for tests and docs/vault.md); assumes a well-formed file. */
export function layout(bytes: Buffer): Layout {
  const hlen = bytes.readUInt32BE(MAGIC.length + 1);
  const header = JSON.parse(bytes.subarray(PREFIX, PREFIX + hlen).toString('utf8')) as Header;
  let at = PREFIX + hlen;
  const records = header.records.map((r) => {
    const s = at;
    at += r.len;
    return { ref: r.ref, version: [s, s + 1] as Region, nonce: [s + 1, s + 1 + NONCE_BYTES] as Region, ciphertext: [s + 1 + NONCE_BYTES, at - TAG_BYTES] as Region, tag: [at - TAG_BYTES, at] as Region };
  });
  const end = bytes.length;
  return { magic: [0, MAGIC.length], version: [MAGIC.length, MAGIC.length + 1], headerLength: [MAGIC.length + 1, PREFIX], header: [PREFIX, PREFIX + hlen], records, mac: [end - SUM_BYTES - MAC_BYTES, end - SUM_BYTES], checksum: [end - SUM_BYTES, end] };
}

// --- files ---------------------------------------------------------------------------------

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

function unsafePath(path: string, what: string): OrderlinkError {
  return new OrderlinkError('VAULT_UNSAFE_PATH', `${path} is ${what}; orderlink does not follow links or open special files at the vault path`, {
    kind: 'integrity',
    hint: 'Remove the link and point --home at a real directory you own.',
  });
}

/** Identity of the file now at `path` (inode, size, times): a change means another process wrote it. */
export function fileSignature(path: string): string | undefined {
  try {
    const s = lstatSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface ReadResult {
  bytes: Buffer;
  signature: string;
  mode: number;
}

/** Read the vault without following a symlink (lstat for a clear message, O_NOFOLLOW against a race). */
export function readVaultFile(path: string): ReadResult | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (st.isSymbolicLink()) throw unsafePath(path, 'a symbolic link');
  if (!st.isFile()) throw unsafePath(path, 'not a regular file');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw unsafePath(path, 'a symbolic link');
    throw err;
  }
  try {
    const fst = fstatSync(fd, { bigint: true });
    if (!fst.isFile()) throw unsafePath(path, 'not a regular file');
    if (fst.size > BigInt(MAX_FILE_BYTES)) throw tampered('the vault file is implausibly large');
    const bytes = Buffer.alloc(Number(fst.size));
    let off = 0;
    while (off < bytes.length) {
      const n = readSync(fd, bytes, off, bytes.length - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== bytes.length) throw tampered('the vault file changed size while being read');
    return { bytes, signature: `${fst.dev}:${fst.ino}:${fst.size}:${fst.mtimeNs}:${fst.ctimeNs}`, mode: Number(fst.mode & 0o777n) };
  } finally {
    closeSync(fd);
  }
}

const tempPrefix = (path: string) => `.${basename(path)}.`;
const TEMP_SUFFIX = '.tmp';

/** Replace the vault atomically: the old or the new file survives a crash, never a torn one. Returns the new signature. */
export function writeVaultFile(path: string, bytes: Buffer): string {
  const st = (() => {
    try {
      return lstatSync(path);
    } catch {
      return undefined;
    }
  })();
  if (st?.isSymbolicLink()) throw unsafePath(path, 'a symbolic link');
  const dir = dirname(path);
  const tmp = join(dir, `${tempPrefix(path)}${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or gone */
    }
    throw err;
  }
  // The rename itself must reach the disk, or a power cut could bring back the old file.
  if (process.platform !== 'win32') {
    const dfd = openSync(dir, constants.O_RDONLY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
  return fileSignature(path)!;
}

/** Temporary files left by a crashed writer. Only call while holding the write lock. */
export function removeStaleTemps(path: string): number {
  const prefix = tempPrefix(path);
  let removed = 0;
  for (const name of readdirSync(dirname(path))) {
    if (name.startsWith(prefix) && name.endsWith(TEMP_SUFFIX)) {
      try {
        unlinkSync(join(dirname(path), name));
        removed++;
      } catch {
        /* raced with another cleaner */
      }
    }
  }
  return removed;
}

/**
 * Run `fn` holding the vault's write lock. Synchronous on purpose: put() is synchronous, and the
 * critical section (re-read, seal, write) never awaits, so no caller can hold it across I/O.
 */
export function withWriteLock<T>(path: string, fn: () => T): T {
  const lockPath = `${path}.lock`;
  createLockFile(lockPath);
  const db = new Database(lockPath);
  try {
    db.pragma('busy_timeout = 10000');
    try {
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new OrderlinkError('BUSY', 'another orderlink process kept the vault locked for 10 s', { kind: 'busy', hint: 'Try again when it has finished.' });
      }
      throw err;
    }
    try {
      return fn();
    } finally {
      db.exec('ROLLBACK');
    }
  } finally {
    db.close();
  }
}
