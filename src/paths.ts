/**
 * Where data lives. Home: --home, ORDERLINK_HOME, else the platform data directory
 * (XDG_DATA_HOME/orderlink or ~/.local/share/orderlink on Linux, ~/Library/Application
 * Support/orderlink on macOS, %LOCALAPPDATA%\orderlink on Windows). Each profile is a
 * directory of its own under the home, holding its database, its vault and its lock files,
 * so profiles never share a key or a row.
 */
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { OrderlinkError, usageError } from './errors.js';

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.ORDERLINK_HOME) return resolve(env.ORDERLINK_HOME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'orderlink');
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'orderlink');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'orderlink');
}

const PROFILE_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function validateProfile(name: string): string {
  if (!PROFILE_RE.test(name)) {
    throw usageError(
      'BAD_PROFILE',
      `invalid profile name "${name.slice(0, 40)}"`,
      'Use 1-32 lowercase letters, digits, "-" or "_", starting with a letter or digit.',
    );
  }
  return name;
}

export interface ProfilePaths {
  home: string;
  profile: string;
  dir: string;
  db: string;
  vault: string;
  locks: string;
}

export function profilePaths(home: string, profile: string): ProfilePaths {
  const dir = join(home, 'profiles', validateProfile(profile));
  return { home, profile, dir, db: join(dir, 'orderlink.db'), vault: join(dir, 'vault.bin'), locks: join(dir, 'locks') };
}

/**
 * Create a directory (and parents) with mode 0700. An existing directory is never chmod-ed
 * (SECURITY.md rule 32: it may be shared on purpose, e.g. a 1777 /tmp-like directory); it is
 * refused instead if it is a symlink, not a directory, not ours, or writable by others, since
 * anyone who can write there can plant links or swap our files.
 */
export function ensurePrivateDir(dir: string): void {
  let created = false;
  try {
    lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      created = true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return ensurePrivateDir(dir);
      throw new OrderlinkError('HOME_UNUSABLE', `cannot create the data directory ${dir} (${code ?? 'error'})`, {
        hint: 'Point --home (or ORDERLINK_HOME) at a directory you can write, e.g. under your home directory.',
      });
    }
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new OrderlinkError('UNSAFE_PATH', `${dir} is not a plain directory`, {
      hint: 'Point --home at a real directory you own (symlinks are refused).',
    });
  }
  if (created || process.platform === 'win32') return;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && uid !== 0) {
    throw new OrderlinkError('UNSAFE_PATH', `${dir} belongs to another user (uid ${st.uid})`, {
      hint: 'Point --home at a directory you own; orderlink keeps your tokens there.',
    });
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    throw new OrderlinkError('UNSAFE_PATH', `${dir} is writable by other users (mode ${mode}); orderlink will not keep your tokens there and did not change its mode`, {
      hint: `Use a private directory: --home ~/.local/share/orderlink, or a new subdirectory (orderlink creates it 0700). If this directory is yours alone, chmod go-w ${dir}.`,
    });
  }
}

export function ensureProfileDirs(p: ProfilePaths): void {
  ensurePrivateDir(p.home);
  ensurePrivateDir(join(p.home, 'profiles'));
  ensurePrivateDir(p.dir);
  ensurePrivateDir(p.locks);
}

/** The profiles that exist under a home: the directories under `profiles/` with a valid name. */
export function listProfiles(home: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(home, 'profiles'));
  } catch {
    return [];
  }
  return names
    .filter((n) => PROFILE_RE.test(n))
    .filter((n) => {
      try {
        return lstatSync(join(home, 'profiles', n)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort();
}

/**
 * A mistyped `--profile wrok` must not quietly become a new, empty profile: outside the commands
 * that create one (link, import, connector setup, demo, sandbox), a profile that does not exist
 * yet is a usage error naming the ones that do. `default` is what you get without asking, so it
 * is never refused (a fresh home works as before).
 */
export function assertKnownProfile(home: string, profile: string): void {
  if (profile === 'default' || listProfiles(home).includes(profile)) return;
  const existing = listProfiles(home);
  throw new OrderlinkError('UNKNOWN_PROFILE', `there is no profile "${profile}" in ${home}${existing.length ? ` (profiles: ${existing.join(', ')})` : ' (it has no profiles yet)'}`, {
    kind: 'usage',
    hint: `${existing.length ? `Pick one of: ${existing.map((p) => `--profile ${p}`).join(', ')}. ` : ''}To start a new profile "${profile}", link or import into it: orderlink --profile ${profile} link (or import); \`orderlink profiles\` lists them.`,
    details: { profile, profiles: existing },
  });
}
