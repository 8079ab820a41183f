/**
 * The cryptographic primitives of the vault, and nothing else (no I/O).
 *
 * - Records: AES-256-GCM (NIST SP 800-38D) with a fresh random 96-bit nonce per seal and a
 *   16-byte tag, laid out as `version(1) ‖ nonce(12) ‖ ciphertext ‖ tag(16)` (SECURITY.md rule 10).
 *   Random nonces are fine here: SP 800-38D §8.3 caps random-IV use at 2^32 seals per key, and a
 *   key sees one seal per token refresh and is replaced by every rotate/migrate.
 * - The associated data binds each blob to its vault, its reference and its per-record counter,
 *   so a blob moved to another reference, or an older blob of the same reference, fails to open.
 * - The data key (DEK) is random and wrapped with the outer key (KEK, from the key source) by
 *   AES-256-GCM too: that wrap is the header's key check (rule 11), so a wrong key is detected
 *   before any record is touched.
 * - Separate subkeys for sealing and for the whole-file MAC come from HKDF-SHA256 (RFC 5869), so
 *   one key is never used by two algorithms.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import { OrderlinkError } from '../errors.js';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Version byte of a sealed record: 1 = AES-256-GCM, 12-byte nonce, 16-byte tag. */
export const RECORD_VERSION = 1;
export const RECORD_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

const ALG = 'aes-256-gcm';

export function tampered(message: string): OrderlinkError {
  return new OrderlinkError('VAULT_TAMPERED', message, {
    kind: 'integrity',
    hint: 'The vault file was damaged or edited; it was left untouched. Restore vault.bin from a backup, or move it aside and re-link your connections.',
  });
}

export function randomKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** Length-prefixed fields, so ("ab","c") and ("a","bc") never give the same associated data. */
function lp(parts: Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    out.push(len, p);
  }
  return Buffer.concat(out);
}

const RECORD_LABEL = Buffer.from('orderlink/vault/record/v1');
const WRAP_LABEL = Buffer.from('orderlink/vault/key-wrap/v1');

/** Associated data of a record: label ‖ vault id ‖ reference ‖ counter (u64). */
export function recordAad(vaultId: Buffer, ref: string, counter: number): Buffer {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(counter));
  return lp([RECORD_LABEL, vaultId, Buffer.from(ref, 'utf8'), n]);
}

/** Associated data of the key wrap: the vault id and the exact key-source description it was made for. */
export function wrapAad(vaultId: Buffer, sourceDescriptor: string): Buffer {
  return lp([WRAP_LABEL, vaultId, Buffer.from(sourceDescriptor, 'utf8')]);
}

/** Seal one record. The nonce is fresh randomness every time (never derived, never a counter we could repeat after a crash). */
export function sealRecord(key: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_OVERHEAD + plaintext.length);
  out[0] = RECORD_VERSION;
  const nonce = out.subarray(1, 1 + NONCE_BYTES);
  randomFillSync(nonce);
  const c = createCipheriv(ALG, key, nonce, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const n1 = c.update(plaintext).copy(out, 1 + NONCE_BYTES);
  const n2 = c.final().copy(out, 1 + NONCE_BYTES + n1);
  if (n1 + n2 !== plaintext.length) throw new Error('unexpected GCM output length');
  c.getAuthTag().copy(out, 1 + NONCE_BYTES + plaintext.length);
  return out;
}

/**
 * Open one record, all or nothing. GCM's update() hands out plaintext before final() has checked
 * the tag, so the output is held back (and wiped) until the tag verifies: no partial plaintext
 * on tampering (rule 13). The tag length is fixed at 16 on the decipher (SP 800-38D §5.2.1.2),
 * so a truncated tag is rejected rather than checked as a shorter, weaker tag.
 */
export function openRecord(key: Buffer, aad: Buffer, blob: Buffer, what = 'a sealed record'): Buffer {
  if (blob.length < RECORD_OVERHEAD) throw tampered(`${what} is too short to hold a nonce and a 16-byte tag`);
  if (blob[0] !== RECORD_VERSION) throw tampered(`${what} has an unknown version byte (${blob[0]})`);
  const nonce = blob.subarray(1, 1 + NONCE_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const ct = blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES);
  let partial: Buffer | undefined;
  try {
    const d = createDecipheriv(ALG, key, nonce, { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(tag);
    partial = d.update(ct);
    const last = d.final();
    return last.length ? Buffer.concat([partial, last]) : partial;
  } catch {
    partial?.fill(0);
    throw tampered(`${what} failed authentication (edited, moved to another reference, or replaced by an older copy)`);
  }
}

/** Wrap the data key under the outer key: `nonce ‖ ciphertext ‖ tag` (12 + 32 + 16 bytes). */
export function wrapKey(kek: Buffer, dek: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv(ALG, kek, nonce, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(dek), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]);
}

/** The key check: `undefined` means "this is not the key that sealed this vault" (or the wrap was forged). */
export function unwrapKey(kek: Buffer, wrapped: Buffer, aad: Buffer): Buffer | undefined {
  if (kek.length !== KEY_BYTES || wrapped.length !== NONCE_BYTES + KEY_BYTES + TAG_BYTES) return undefined;
  try {
    const d = createDecipheriv(ALG, kek, wrapped.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(wrapped.subarray(NONCE_BYTES + KEY_BYTES));
    return Buffer.concat([d.update(wrapped.subarray(NONCE_BYTES, NONCE_BYTES + KEY_BYTES)), d.final()]);
  } catch {
    return undefined;
  }
}

export interface Subkeys {
  /** Seals records. */
  enc: Buffer;
  /** Authenticates the whole file (header, record index, every blob). */
  mac: Buffer;
}

export function subkeys(dek: Buffer, vaultId: Buffer): Subkeys {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', dek, vaultId, info, KEY_BYTES));
  return { enc: derive('orderlink vault record sealing v1'), mac: derive('orderlink vault file mac v1') };
}

export function hmac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
