/**
 * `orderlink doctor`: is this machine ready, and if not, what to do. Each check reports ok / warn /
 * fail with a fix; any fail makes the exit code non-zero. Doctor never creates a vault and never
 * prints a secret.
 */
import { accessSync, constants, existsSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, ExitCode, VAULT_LOCKED_HINT, DB_DAMAGED_HINT } from '../errors.js';
import { pickFormat, printJson, renderRows, type Column } from '../ui/render.js';
import { statusColor } from '../ui/format.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  /** Write a diagnostic bundle (JSON, safe to share) to this file instead of the report. */
  bundle?: string;
}

export function register(cmd: Command, app: App): void {
  cmd
    .option('--bundle <file>', 'write a diagnostic bundle (JSON, 0600, a new file) that is safe to attach to a public bug report')
    .addHelpText(
      'after',
      `
Exit codes: 0 when no check failed (warnings included: they are named, with a fix, and counted in
the last line), 1 when any check failed.

--bundle FILE writes what a bug report needs — versions (orderlink, Node, SQLite, OS), settings
(the kind of key source, never the key), each connection's connector, status, counts and last
error code (connections are conn-1, conn-2…), recent sync runs (codes, counts, durations), the
schema version, the audit chain's verification and these checks — with every secret, token,
account name, alias, order id, amount, address and item name left out. Read it before you share
it: it is plain JSON. It never replaces an existing file. The exit code is the report's (the
bundle is written either way).

Examples:
  $ orderlink doctor
  $ orderlink doctor --json | jq ".checks[] | select(.status != \\"ok\\")"
  $ orderlink doctor --bundle orderlink-diagnostics.json
`,
    )
    .action((o: DoctorOptions) => app.run('doctor', o.bundle === undefined ? {} : ({ bundle: o.bundle } satisfies DoctorOptions), runDoctor));
}

export async function runDoctor(ctx: Context, o: DoctorOptions = {}): Promise<number> {
  if (o.bundle !== undefined) {
    const { runBundle } = await import('../diagnostics/index.js');
    return runBundle(ctx, o.bundle, await doctorChecks(ctx));
  }
  const checks = await doctorChecks(ctx);
  const failed = checks.some((c) => c.status === 'fail');
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, { ok: !failed, home: ctx.paths.home, profile: ctx.profile, checks });
  } else {
    const format = pickFormat(io, {});
    const columns: Column<Check>[] = [
      { key: 'check', get: (c) => c.name },
      { key: 'status', get: (c) => c.status, style: (v) => statusColor(io.color, v) },
      { key: 'detail', get: (c) => c.detail },
    ];
    renderRows(io, checks, columns, format);
    for (const c of checks.filter((c) => c.status !== 'ok' && c.fix)) {
      io.err(`${c.status === 'fail' ? io.errColor.red('✗') : io.errColor.yellow('!')} ${c.name}: ${c.fix}`);
    }
    io.err(verdict(io, checks));
  }
  return failed ? ExitCode.FAILURE : ExitCode.OK;
}

/** Every check, in the order of the report (also what a diagnostic bundle carries). */
export async function doctorChecks(ctx: Context): Promise<Check[]> {
  return [checkRuntime(), checkDataDir(ctx), ...(await checkDatabase(ctx)), ...(await checkVault(ctx))];
}

/** The last line: "All checks passed." only when every check is ok — never beside a warning. */
export function verdict(io: Context['io'], checks: readonly Check[]): string {
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  const n = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  const failed = count('fail');
  const warned = count('warn');
  if (failed) return io.errColor.red(`${n(failed, 'check')} failed${warned ? `, ${n(warned, 'warning')}` : ''}.`);
  if (warned) return io.errColor.yellow(`No check failed; ${n(warned, 'warning')} (see above).`);
  return io.errColor.green('All checks passed.');
}

function checkRuntime(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 18)) {
    return { name: 'runtime', status: 'fail', detail: `Node ${process.versions.node}`, fix: 'Install Node.js 24 LTS (or at least 20.18).' };
  }
  if (major === 20) {
    return { name: 'runtime', status: 'warn', detail: `Node ${process.versions.node} (end of life since April 2026)`, fix: 'Upgrade to Node.js 24 LTS; orderlink supports both.' };
  }
  return { name: 'runtime', status: 'ok', detail: `Node ${process.versions.node}` };
}

function modeText(path: string): string {
  return (statSync(path).mode & 0o777).toString(8).padStart(4, '0');
}

function checkDataDir(ctx: Context): Check {
  const dir = ctx.paths.dir;
  // The same refusal every command makes (paths.ts): a directory others can write to.
  for (const d of [ctx.paths.home, join(ctx.paths.home, 'profiles'), dir]) {
    if (process.platform === 'win32' || !existsSync(d)) continue;
    const st = lstatSync(d);
    if (st.isSymbolicLink() || !st.isDirectory()) return { name: 'data directory', status: 'fail', detail: `${d} is not a plain directory`, fix: 'Point --home at a real directory you own (symlinks are refused).' };
    if ((st.mode & 0o022) !== 0) {
      return { name: 'data directory', status: 'fail', detail: `${d} is writable by other users (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`, fix: `chmod go-w ${d} if it is yours alone, or use another --home (orderlink never changes an existing directory's mode).` };
    }
  }
  if (!existsSync(dir)) {
    return { name: 'data directory', status: 'ok', detail: `${dir} (not created yet; made 0700 on first use)` };
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return { name: 'data directory', status: 'fail', detail: `${dir} is not writable`, fix: `Fix the permissions of ${dir} or use --home.` };
  }
  const mode = modeText(dir);
  if (process.platform !== 'win32' && mode !== '0700') {
    return { name: 'data directory', status: 'warn', detail: `${dir} has mode ${mode}`, fix: `chmod 700 ${dir} (orderlink never changes the mode of an existing directory).` };
  }
  return { name: 'data directory', status: 'ok', detail: `${dir} (0700)` };
}

async function checkDatabase(ctx: Context): Promise<Check[]> {
  const path = ctx.paths.db;
  if (!existsSync(path)) return [{ name: 'database', status: 'ok', detail: 'not created yet (created on first use)' }];
  try {
    const store = ctx.store();
    const problems = store.integrityProblems();
    const mode = modeText(path);
    const checks: Check[] = [];
    if (problems.length) {
      checks.push({ name: 'database', status: 'fail', detail: `integrity_check: ${problems.slice(0, 3).join('; ')}`, fix: restoreFix(path) });
    } else {
      checks.push({ name: 'database', status: mode === '0600' || process.platform === 'win32' ? 'ok' : 'warn', detail: `integrity ok, schema v${store.schemaVersion()}, mode ${mode}`, ...(mode === '0600' ? {} : { fix: `chmod 600 ${path}` }) });
    }
    const audit = store.audit.verify();
    checks.push(
      audit.ok
        ? { name: 'audit chain', status: 'ok', detail: `${audit.rows} rows verified` }
        : { name: 'audit chain', status: 'fail', detail: audit.problems.map((p) => p.message).slice(0, 2).join('; '), fix: 'Run `orderlink audit --verify` for every problem; restore from a backup if you have one.' },
    );
    return checks;
  } catch (err) {
    const { mapError } = await import('../errors.js');
    const m = mapError(err);
    const msg = err instanceof OrderlinkError || !m.internal ? `${m.code}: ${m.message}` : 'cannot open or read the database';
    return [{ name: 'database', status: 'fail', detail: msg, fix: m.code === 'DB_DAMAGED' || m.internal ? restoreFix(path) : (m.hint ?? 'Run the command again with --verbose.') }];
  }
}

/**
 * Advice that works: connections and their vault references live in orderlink.db, so a rebuilt
 * empty database cannot "re-sync" anything. Restore a backup (docs/backup.md), else start over.
 */
function restoreFix(path: string): string {
  return `${DB_DAMAGED_HINT} Commands: for f in ${path} ${path}-wal ${path}-shm; do [ -e "$f" ] && mv "$f" "$f.damaged"; done; cp BACKUP.db ${path} && chmod 600 ${path}`;
}

/** The database says a vault was written (its generation mark): a missing vault.bin is then lost, not "not created yet". */
function recordedVault(ctx: Context): boolean {
  try {
    return existsSync(ctx.paths.db) && ctx.store().vaultGeneration().get() > 0;
  } catch {
    return false;
  }
}

async function checkVault(ctx: Context): Promise<Check[]> {
  const { probeKeySources } = await import('../vault/probe.js');
  const probe = await probeKeySources(ctx.env);
  const checks: Check[] = [];
  if (!ctx.hasVault() && !recordedVault(ctx)) {
    const chosen = probe.find((p) => p.usable);
    checks.push(
      chosen
        ? { name: 'key source', status: chosen.durable ? 'ok' : 'warn', detail: `${chosen.source}: ${chosen.detail} (would be used for a new vault)`, ...(chosen.fix ? { fix: chosen.fix } : {}) }
        : { name: 'key source', status: 'fail', detail: 'none usable: ' + probe.map((p) => `${p.source}: ${p.detail}`).join('; '), fix: VAULT_LOCKED_HINT },
    );
    checks.push({ name: 'vault', status: 'ok', detail: 'not created yet (created when you first link)' });
    return checks;
  }
  try {
    const vault = await ctx.vault();
    const s = vault.status();
    const p = probe.find((x) => x.source === s.keySource);
    checks.push({ name: 'key source', status: s.durable ? 'ok' : 'warn', detail: `${s.keySource} (${s.backend})${s.durable ? '' : ', NOT durable'}`, ...(s.durable ? {} : { fix: p?.fix ?? 'Move the key to a durable source with `orderlink vault migrate`.' }) });
    checks.push({ name: 'vault', status: s.warnings.length ? 'warn' : 'ok', detail: `opens; ${s.secrets} secret${s.secrets === 1 ? '' : 's'}, generation ${s.generation}${s.warnings.length ? '; ' + s.warnings.join('; ') : ''}` });
  } catch (err) {
    const e = err instanceof OrderlinkError ? err : undefined;
    checks.push({ name: 'vault', status: 'fail', detail: e ? `${e.code}: ${e.message}` : 'cannot open the vault', fix: e?.hint ?? 'Run `orderlink vault status` for details.' });
  }
  return checks;
}
