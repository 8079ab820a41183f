/**
 * The vault: sealed secrets in one file, keyed by a data key (DEK) that is wrapped by the key
 * source's outer key (KEK). SECURITY.md rules 10-15; the file layout is in ./format.ts and
 * docs/vault.md.
 *
 * Why a wrapped data key: `vault rotate` must work for every source, including ORDERLINK_VAULT_KEY,
 * which orderlink cannot change. Rotation replaces the DEK (and, in the keychain, the KEK too);
 * migration replaces both. Either way every secret is re-sealed in one atomic write.
 *
 * Several processes may use one vault (a sync refreshing while `link` stores a new token): reads
 * re-read the file when its identity changes, and writes re-read it under the write lock, so no
 * process overwrites a token another one just stored (rule 16's write-ahead depends on it).
 */
import { closeSync, constants, fchmodSync, openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { OrderlinkError } from '../errors.js';
import { openRecord, randomKey, tampered, recordAad, sealRecord, subkeys, unwrapKey, wrapAad, wrapKey, type Subkeys } from './crypto.js';
import { encodeFile, fileSignature, isValidRef, parseFile, readVaultFile, removeStaleTemps, verifyMac, withWriteLock, writeVaultFile, type Header, type ReadResult } from './format.js';
import { realKeychain } from './keychain.js';
import { ENV_KEY, KEYCHAIN_TIMEOUT_MS, canonicalSource, wrongKey, chooseNewSource, createKeychainSource, forgetKeychainKey, prepareTarget, unlockSource, type PreparedSource, type SourceContext, type SourceDescriptor } from './keysources.js';
import type { GenerationMirror, KeySourceKind, MigrateResult, OpenVaultOptions, Vault, VaultStatus } from './types.js';
import { checkGeneration, getMirror, missingFile, setMirror } from './generation.js';

export * from './types.js';
export { realKeychain } from './keychain.js';
export { ENV_KEY, PASSPHRASE_ENV, parseEnvKey, envPassphraseFrom, keychainService } from './keysources.js';

type Blobs = Map<string, { n: number; blob: Buffer }>;

interface State {
  header: Header;
  blobs: Blobs;
  vaultId: Buffer;
  keys: Subkeys;
  signature: string;
}

const keyChanged = () =>
  new OrderlinkError('VAULT_KEY_CHANGED', 'another orderlink process rotated or migrated the vault key while this one was running', { kind: 'vault_locked', hint: 'Run the command again.' });

class FileVault implements Vault {
  private readonly extraWarnings: string[] = [];
  /** The highest generation this process has seen: a lower one later is a rollback. */
  private seen: number;

  constructor(
    private readonly path: string,
    private readonly sctx: SourceContext,
    private readonly mirror: GenerationMirror | undefined,
    private src: PreparedSource,
    private state: State,
    private readonly openWarnings: string[],
  ) {
    this.seen = state.header.generation;
  }

  get keySource(): KeySourceKind {
    return this.src.source.kind;
  }

  put(ref: string, text: string): void {
    if (!isValidRef(ref)) throw new OrderlinkError('VAULT_BAD_REF', 'a vault reference must be 1-200 printable ASCII characters without spaces');
    const plain = Buffer.from(text, 'utf8');
    try {
      this.write((blobs, gen, s) => {
        blobs.set(ref, { n: gen, blob: sealRecord(s.keys.enc, recordAad(s.vaultId, ref, gen), plain) });
        return true;
      });
    } finally {
      plain.fill(0);
    }
  }

  get(ref: string): string | undefined {
    if (!isValidRef(ref)) return undefined;
    this.refresh();
    const r = this.state.blobs.get(ref);
    if (!r) return undefined;
    const plain = openRecord(this.state.keys.enc, recordAad(this.state.vaultId, ref, r.n), r.blob, `the sealed secret "${ref}"`);
    try {
      return plain.toString('utf8');
    } finally {
      plain.fill(0);
    }
  }

  delete(ref: string): boolean {
    if (!isValidRef(ref)) return false;
    return this.write((blobs) => blobs.delete(ref));
  }

  list(): string[] {
    this.refresh();
    return [...this.state.blobs.keys()].sort();
  }

  status(): VaultStatus {
    this.refresh();
    const h = this.state.header;
    return {
      path: this.path,
      keySource: this.keySource,
      backend: this.src.backend,
      durable: this.src.durable,
      secrets: this.state.blobs.size,
      createdAt: h.createdAt,
      rotatedAt: h.rotatedAt,
      generation: h.generation,
      warnings: [...new Set([...this.openWarnings, ...this.extraWarnings])],
    };
  }

  async rotate(): Promise<void> {
    // Keychain: the new outer key goes into a NEW entry first; the file is switched to it
    // atomically; only then is the old entry deleted. A crash at any point leaves the file
    // pointing at an entry that exists. Env and passphrase keep their outer key (orderlink cannot
    // change them; `migrate` does), and get a new data key.
    const next = this.src.source.kind === 'keychain' ? await createKeychainSource(this.sctx, Date.now() + KEYCHAIN_TIMEOUT_MS + 1500) : this.src;
    await this.switchTo(next);
  }

  async migrate(to: KeySourceKind, opts: { passphrase?: string; beforeSwitch?: (r: MigrateResult) => Promise<void> }): Promise<MigrateResult> {
    const next = await prepareTarget(this.sctx, to, opts.passphrase);
    const result: MigrateResult = next.envKey ? { envKey: next.envKey } : {};
    // The new key must be safely out (printed, confirmed) before anything is sealed under it.
    if (opts.beforeSwitch) {
      try {
        await opts.beforeSwitch(result);
      } catch (err) {
        await forgetKeychainKey(this.sctx, next.source);
        next.kek.fill(0);
        throw err;
      }
    }
    await this.switchTo(next);
    return result;
  }

  private async switchTo(next: PreparedSource): Promise<void> {
    let previous: SourceDescriptor;
    try {
      previous = this.rekey(next);
    } catch (err) {
      if (next !== this.src) await forgetKeychainKey(this.sctx, next.source);
      throw err;
    }
    this.src = next;
    if (canonicalSource(previous) !== canonicalSource(next.source)) {
      const w = await forgetKeychainKey(this.sctx, previous);
      if (w) this.extraWarnings.push(w);
    }
  }

  /** A fresh data key wrapped under `next`, every record re-sealed, one atomic write. Returns the source it replaced. */
  private rekey(next: PreparedSource): SourceDescriptor {
    return this.underLock(() => {
      this.refresh();
      removeStaleTemps(this.path);
      const old = this.state;
      const gen = old.header.generation + 1;
      const dek = randomKey();
      const keys = subkeys(dek, old.vaultId);
      const blobs: Blobs = new Map();
      for (const [ref, r] of old.blobs) {
        const plain = openRecord(old.keys.enc, recordAad(old.vaultId, ref, r.n), r.blob, `the sealed secret "${ref}"`);
        blobs.set(ref, { n: gen, blob: sealRecord(keys.enc, recordAad(old.vaultId, ref, gen), plain) });
        plain.fill(0);
      }
      const header: Header = {
        ...old.header,
        generation: gen,
        rotatedAt: new Date().toISOString(),
        source: next.source,
        wrappedKey: wrapKey(next.kek, dek, wrapAad(old.vaultId, canonicalSource(next.source))).toString('base64'),
      };
      dek.fill(0);
      this.commit(header, blobs, { ...old, keys });
      return old.header.source;
    });
  }

  /** True while this process holds the write lock (refresh() must not take it again). */
  private holdingLock = false;

  private underLock<T>(fn: () => T): T {
    return withWriteLock(this.path, () => {
      this.holdingLock = true;
      try {
        return fn();
      } finally {
        this.holdingLock = false;
      }
    });
  }

  /** Re-read under the lock, apply `change`, write if it changed anything. */
  private write(change: (blobs: Blobs, generation: number, s: State) => boolean): boolean {
    return this.underLock(() => {
      this.refresh();
      removeStaleTemps(this.path);
      const s = this.state;
      const gen = s.header.generation + 1;
      const blobs: Blobs = new Map(s.blobs);
      if (!change(blobs, gen, s)) return false;
      this.commit({ ...s.header, generation: gen }, blobs, s);
      return true;
    });
  }

  private commit(header: Header, blobs: Blobs, s: State): void {
    const bytes = encodeFile(header, blobs, s.keys.mac);
    const signature = writeVaultFile(this.path, bytes);
    const records = [...blobs].map(([ref, r]) => ({ ref, n: r.n, len: r.blob.length }));
    this.state = { ...s, header: { ...header, records }, blobs, signature };
    this.seen = header.generation;
    // File first, mirror second: a crash between them leaves file > mirror (accepted), never the reverse.
    setMirror(this.mirror, header.generation, this.extraWarnings);
  }

  /**
   * Pick up another process's write; verify it exactly as on open. The file is read before the
   * generation mark, without the lock, so a writer may land between the two (file N read, then
   * file N+1 and mark N+1 written): a low generation is only a rollback if it is still low when
   * file and mark are read again under the write lock, where every writer leaves them consistent.
   */
  private refresh(): void {
    const sig = fileSignature(this.path);
    if (sig === this.state.signature) return;
    try {
      this.adopt(false);
    } catch (err) {
      if (!(err instanceof OrderlinkError) || err.code !== 'VAULT_ROLLBACK') throw err;
      if (this.holdingLock) this.adopt(true);
      else withWriteLock(this.path, () => this.adopt(true));
    }
  }

  private adopt(locked: boolean): void {
    const read = readVaultFile(this.path);
    if (!read) throw missingFile(this.path, Math.max(this.seen, getMirror(this.mirror, this.extraWarnings)));
    if (locked && read.signature === this.state.signature) return;
    const parsed = parseFile(read.bytes);
    if (canonicalSource(parsed.header.source) !== canonicalSource(this.src.source)) throw keyChanged();
    // Same outer key as ours, so a failed unwrap is a forged header, not a wrong key.
    const next = authenticate(parsed, read, this.src, () => parsedTampered());
    // Check before adopting it: an adopted old file would match its own signature next time.
    checkGeneration(next.header.generation, Math.max(this.seen, getMirror(this.mirror, this.extraWarnings)));
    this.state = next;
    this.seen = next.header.generation;
  }
}

const parsedTampered = () => tampered('the vault key wrap failed authentication (the header was edited)');

function authenticate(parsed: ReturnType<typeof parseFile>, read: ReadResult, src: PreparedSource, onBadKey: () => OrderlinkError): State {
  const h = parsed.header;
  const vaultId = Buffer.from(h.vaultId, 'base64');
  const dek = unwrapKey(src.kek, Buffer.from(h.wrappedKey, 'base64'), wrapAad(vaultId, canonicalSource(h.source)));
  if (!dek) throw onBadKey();
  const keys = subkeys(dek, vaultId);
  dek.fill(0);
  // The MAC covers the header (generation included) and the record index: rollback and swaps show here.
  verifyMac(parsed, keys.mac);
  return { header: h, blobs: parsed.blobs, vaultId, keys, signature: read.signature };
}

/**
 * Open the vault at `path`, creating it (and its key) if there is none. An existing vault is
 * unlocked by the source its header names; a new one takes the first available source (see
 * chooseNewSource). Checks, in order: structure and checksum (VAULT_TAMPERED), the key
 * (VAULT_LOCKED / VAULT_WRONG_KEY), the file MAC (VAULT_TAMPERED), then the generation
 * (VAULT_ROLLBACK). No secret is decrypted here: records are opened one by one in get().
 */
export async function openVault(opts: OpenVaultOptions): Promise<Vault> {
  let keychain: OpenVaultOptions['keychain'];
  const sctx: SourceContext = {
    env: opts.env,
    profile: opts.profile,
    keychain: () => (keychain ??= opts.keychain ?? realKeychain(KEYCHAIN_TIMEOUT_MS, { env: opts.env })),
    promptPassphrase: opts.promptPassphrase,
  };
  const read = readVaultFile(opts.path);
  if (read) return openConsistent(opts, sctx, read);
  refuseIfMissing(opts);
  const created = await createVault(opts, sctx);
  if (created) return created;
  // Another process created it while we were choosing a key: open theirs.
  const theirs = readVaultFile(opts.path);
  if (!theirs) throw new OrderlinkError('VAULT_GONE', `the vault file ${opts.path} appeared and disappeared while being created`, { kind: 'integrity' });
  return openConsistent(opts, sctx, theirs);
}

/**
 * A vault file missing where the database says one was written (its generation mark is set) is
 * never silently replaced: the tokens of every linked connection were in it, and a new empty
 * vault would turn them all `reauth_required` and make restoring the original look like a
 * rollback. `vault recreate` is the explicit way to start again.
 */
function refuseIfMissing(opts: OpenVaultOptions): void {
  if (opts.allowRecreate || !opts.generation) return;
  const mark = opts.generation.get();
  if (Number.isSafeInteger(mark) && mark > 0) throw missingFile(opts.path, mark);
}

/**
 * Open an existing vault with a consistent view of file and generation mark. A writer in another
 * process (an honest `vault rotate`) may replace the file between our read and the key lookup or
 * the mark check: a failure is only reported if the file did not change meanwhile, and a
 * rollback only if it is confirmed under the write lock (where writers leave file ≥ mark).
 */
async function openConsistent(opts: OpenVaultOptions, sctx: SourceContext, first: ReadResult): Promise<Vault> {
  let read = first;
  let underLock = false;
  const sources = new Map<string, PreparedSource>();
  for (let attempt = 1; ; attempt++) {
    try {
      return await openExisting(opts, sctx, read, underLock, sources);
    } catch (err) {
      if (!(err instanceof OrderlinkError)) throw err;
      if (attempt >= 5) throw err.code === 'VAULT_CHANGED' ? keyChanged() : err;
      const next = readVaultFile(opts.path);
      if (!next) throw missingFile(opts.path, getMirror(opts.generation, []));
      const changed = next.signature !== read.signature;
      if (err.code === 'VAULT_ROLLBACK') {
        // Confirmed under the lock on an unchanged file: a real rollback.
        if (underLock && !changed) throw err;
        underLock = true;
      } else if (!changed && err.code !== 'VAULT_CHANGED') throw err;
      read = next;
    }
  }
}

async function openExisting(opts: OpenVaultOptions, sctx: SourceContext, read: ReadResult, underLock: boolean, sources: Map<string, PreparedSource>): Promise<Vault> {
  const parsed = parseFile(read.bytes);
  const id = canonicalSource(parsed.header.source);
  const src = sources.get(id) ?? (await unlockSource(sctx, parsed.header.source));
  sources.set(id, src);
  const warnings: string[] = [];
  const state = authenticate(parsed, read, src, () => wrongKey(parsed.header.source.kind));
  const mark = () => {
    if (fileSignature(opts.path) !== read.signature) throw new OrderlinkError('VAULT_CHANGED', 'the vault file changed while it was being opened', { kind: 'vault_locked' });
    return getMirror(opts.generation, warnings);
  };
  const mirrored = underLock ? withWriteLock(opts.path, mark) : getMirror(opts.generation, warnings);
  checkGeneration(state.header.generation, mirrored);
  if (state.header.generation > mirrored) setMirror(opts.generation, state.header.generation, warnings);
  if (process.platform !== 'win32' && read.mode !== 0o600) {
    // Through a descriptor opened without following links: never chmod a planted link's target.
    const fd = openSync(opts.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
    warnings.push(`vault.bin had mode ${read.mode.toString(8).padStart(4, '0')}; it is now 0600`);
    state.signature = fileSignature(opts.path) ?? state.signature;
  }
  if (src.source.kind !== 'env' && opts.env[ENV_KEY]) warnings.push(`${ENV_KEY} is set but ignored: this vault's key is kept in the ${src.source.kind}`);
  return new FileVault(opts.path, sctx, opts.generation, src, state, warnings);
}

/** Undefined when another process created the vault first (then we open theirs). */
async function createVault(opts: OpenVaultOptions, sctx: SourceContext): Promise<Vault | undefined> {
  const src = await chooseNewSource(sctx);
  const warnings: string[] = [];
  let state: State | undefined;
  try {
    state = withWriteLock(opts.path, () => {
      if (fileSignature(opts.path) !== undefined) return undefined;
      removeStaleTemps(opts.path);
      const previous = getMirror(opts.generation, warnings);
      if (previous > 0) warnings.push(`the database recorded vault generation ${previous} but there was no vault file: secrets stored before are gone, so re-link those connections`);
      const vaultId = randomBytes(16);
      const dek = randomKey();
      const keys = subkeys(dek, vaultId);
      const now = new Date().toISOString();
      // Start above the old high-water mark so a re-created vault is not taken for a rollback.
      const header: Header = {
        v: 1,
        vaultId: vaultId.toString('base64'),
        createdAt: now,
        rotatedAt: null,
        generation: previous + 1,
        source: src.source,
        wrappedKey: wrapKey(src.kek, dek, wrapAad(vaultId, canonicalSource(src.source))).toString('base64'),
        records: [],
      };
      dek.fill(0);
      const signature = writeVaultFile(opts.path, encodeFile(header, new Map(), keys.mac));
      setMirror(opts.generation, header.generation, warnings);
      return { header, blobs: new Map(), vaultId, keys, signature };
    });
  } catch (err) {
    await forgetKeychainKey(sctx, src.source);
    throw err;
  }
  if (!state) {
    await forgetKeychainKey(sctx, src.source);
    return undefined;
  }
  return new FileVault(opts.path, sctx, opts.generation, src, state, warnings);
}
