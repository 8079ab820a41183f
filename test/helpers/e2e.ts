/**
 * End-to-end fixtures: an in-process sandbox provider on 127.0.0.1, a temporary home with an env
 * vault key, and a connection linked through the real binary (CI mode: a refresh token from an
 * environment variable, validated by one refresh). Tests then drive `bin/orderlink` like a user.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { startSandbox, type SandboxHandle, type SandboxOptions } from '../../src/sandbox/index.js';
import { profilePaths } from '../../src/paths.js';
import { childEnv, runCli, type CliOptions, type CliResult } from './cli.js';
import { newEnvKey, tempHome } from './context.js';

export interface E2EHome {
  home: string;
  env: NodeJS.ProcessEnv;
  db: string;
  vault: string;
  cli(args: string[], opts?: CliOptions): Promise<CliResult>;
  /** A read-only look at the database, closed before returning. */
  query<T>(sql: string, ...params: unknown[]): T[];
  cleanup(): void;
}

export function e2eHome(extraEnv: NodeJS.ProcessEnv = {}): E2EHome {
  // No keychain for these children: the env key is the key source (the CI path).
  return homeAt(tempHome('orderlink-e2e-'), childEnv({ ORDERLINK_VAULT_KEY: newEnvKey(), DBUS_SESSION_BUS_ADDRESS: '', ...extraEnv }));
}

/** An E2EHome over an existing directory: the binary run with `--home`, and read-only queries. */
export function homeAt(home: string, env: NodeJS.ProcessEnv): E2EHome {
  const p = profilePaths(home, 'default');
  return {
    home,
    env,
    db: p.db,
    vault: p.vault,
    cli: (args, opts = {}) => runCli(['--home', home, ...args], { ...opts, env: { ...env, ...opts.env } }),
    query<T>(sql: string, ...params: unknown[]): T[] {
      const db = new Database(p.db, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** Link `account` of the sandbox into `h` through the binary, the CI way. Returns the connection id. */
export async function linkSandbox(h: E2EHome, sb: SandboxHandle, account: string, alias = account): Promise<number> {
  const rt = await sb.mintRefreshToken(account);
  const r = await h.cli(['--json', 'link', 'sandbox', '--base-url', sb.issuer, '--alias', alias, '--refresh-token-env', 'E2E_RT'], { env: { E2E_RT: rt } });
  if (r.code !== 0) throw new Error(`link failed (${r.code}): ${r.stderr}${r.stdout}`);
  const out = JSON.parse(r.stdout) as { connection: { id: number } };
  return out.connection.id;
}

export async function sandbox(opts: SandboxOptions = {}): Promise<SandboxHandle> {
  return startSandbox({ accounts: 2, orders: 120, ...opts });
}

/** Every byte of these files (those that exist), to search for secrets that must not be there. */
export function readAllBytes(paths: string[]): string {
  return paths.filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('\n');
}
