/**
 * Where data lives. Home: --home, ORDERLINK_HOME, else the platform data directory
 * (XDG_DATA_HOME/orderlink or ~/.local/share/orderlink on Linux, ~/Library/Application
 * Support/orderlink on macOS, %LOCALAPPDATA%\orderlink on Windows). Each profile is a
 * directory of its own under the home, holding its database, its vault and its lock files,
 * so profiles never share a key or a row.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
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
 * Create a directory (and parents) with mode 0700 and make sure an existing one is 0700 and
 * not a symlink. Parents we create are 0700 too; parents that exist are left alone.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new OrderlinkError('UNSAFE_PATH', `${dir} is not a plain directory`, {
      hint: 'Point --home at a real directory you own (symlinks are refused).',
    });
  }
  if (process.platform !== 'win32' && (st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

export function ensureProfileDirs(p: ProfilePaths): void {
  ensurePrivateDir(p.home);
  ensurePrivateDir(join(p.home, 'profiles'));
  ensurePrivateDir(p.dir);
  ensurePrivateDir(p.locks);
}
