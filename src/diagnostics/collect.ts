/**
 * What `orderlink doctor --bundle FILE` writes: facts about the installation and the shape of the
 * data, never the data. It is built by ALLOW-LIST — every field is a version, a kind, a count, a
 * duration, a date, a status or an error CODE checked against a strict pattern — so an account
 * label, an alias, an order id, an amount, an item name, an address in an error message or a
 * token in an audit detail has no field to travel in. Connections are named by stable
 * placeholders (`conn-1` is the oldest connection). A last pass (redact.ts) then looks for every
 * sensitive value this profile holds and removes any that still appears.
 */
import { packageVersion } from '../package-root.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import type { Context } from '../context.js';
import type { Check } from '../commands/doctor.js';

export const BUNDLE_FORMAT = 'orderlink-diagnostics';
export const BUNDLE_VERSION = 1;
/** How many of the latest sync runs a bundle describes. */
const RECENT_RUNS = 30;

/** An error code of ours (`PROVIDER_TIMEOUT`), or nothing: free text never passes. */
const CODE = /^[A-Z][A-Z0-9_]{1,60}$/;
/** An audit action of ours (`link.success`), or nothing. */
const ACTION = /^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30}){0,3}$/;
/** Words we write ourselves (statuses, modes, connector ids, environments). */
const WORD = /^[a-z][a-z0-9_-]{0,30}$/;

const code = (v: unknown): string | null => (typeof v === 'string' && CODE.test(v) ? v : v == null ? null : 'OTHER');
const word = (v: unknown): string | null => (typeof v === 'string' && WORD.test(v) ? v : v == null ? null : 'other');

function ageHours(iso: string | null, now: Date): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : Math.round(((now.getTime() - t) / 3_600_000) * 10) / 10;
}

function durationMs(start: string, end: string | null): number | null {
  if (!end) return null;
  const d = Date.parse(end) - Date.parse(start);
  return Number.isFinite(d) ? d : null;
}

/**
 * What a connection's last error was, without its words: the text may hold a provider's message
 * (an address, a name). Only our own fixed prefixes are recognised; everything else is "other".
 */
function lastErrorOf(text: string | null, runCode: string | null): { present: boolean; kind: string | null; code: string | null } {
  if (text === null) return { present: false, kind: null, code: null };
  const reauth = /^reauth required: ([A-Za-z_]{1,40})$/.exec(text);
  if (reauth) return { present: true, kind: 'reauth_required', code: code(reauth[1]!.toUpperCase()) };
  if (/^\d+ invalid record\(s\) skipped$/.test(text)) return { present: true, kind: 'invalid_records', code: runCode };
  if (text === 'the vault was recreated; link again') return { present: true, kind: 'vault_recreated', code: null };
  return { present: true, kind: 'other', code: runCode };
}

function version(): string {
  try {
    return packageVersion();
  } catch {
    return 'unknown';
  }
}

/** The kind of key source sealing vault.bin, read from its header (no key needed, nothing decrypted). */
async function keySourceKind(ctx: Context): Promise<string> {
  if (!ctx.hasVault()) return 'none (no vault yet)';
  try {
    const { parseFile } = await import('../vault/format.js');
    return word(parseFile(readFileSync(ctx.paths.vault)).header.source.kind) ?? 'unknown';
  } catch {
    return 'unreadable (see the vault check)';
  }
}

interface Count {
  n: number;
}

/** Everything a bug report needs, and nothing personal (see the file comment). */
export async function collectBundle(ctx: Context, checks: readonly Check[]): Promise<Record<string, unknown>> {
  const now = ctx.now();
  const envNames = Object.keys(ctx.env).filter((k) => /^ORDERLINK_[A-Z0-9_]{1,40}$/.test(k) && ctx.env[k] !== undefined).sort();
  const bundle: Record<string, unknown> = {
    format: BUNDLE_FORMAT,
    format_version: BUNDLE_VERSION,
    created_at: now.toISOString(),
    note: 'Diagnostics only: no secret, token, account name, alias, order id, amount, address or item name. Connections are conn-1, conn-2… Read it before you share it.',
    versions: { orderlink: version(), node: process.versions.node, sqlite: null as string | null, os: { platform: platform(), release: release(), arch: arch() } },
    settings: {
      profile: ctx.profile === 'default' ? 'default' : 'named (not default)',
      home: ctx.env.ORDERLINK_HOME ? 'ORDERLINK_HOME' : 'default location or --home',
      key_source: await keySourceKind(ctx),
      // Names only: the values (a vault key, a passphrase) never leave the environment.
      environment_variables_set: envNames,
      pager: ctx.env.ORDERLINK_PAGER !== undefined ? 'ORDERLINK_PAGER' : ctx.env.PAGER !== undefined ? 'PAGER' : 'default',
    },
    // Details name paths (the home becomes <home>) and our own findings; redact.ts checks them too.
    checks: checks.map((c) => ({ name: c.name, status: c.status, detail: c.detail.split(ctx.paths.home).join('<home>') })),
  };
  if (!existsSync(ctx.paths.db)) {
    bundle.database = { present: false };
    return bundle;
  }
  let store: ReturnType<Context['store']>;
  try {
    store = ctx.store();
  } catch (err) {
    bundle.database = { present: true, opens: false, error_code: code((err as { code?: unknown }).code) };
    return bundle;
  }
  const db = store.db;
  const one = (sql: string, ...args: unknown[]): number => (db.prepare(sql).get(...args) as Count).n;
  (bundle.versions as { sqlite: string | null }).sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  bundle.database = {
    present: true,
    opens: true,
    schema_version: store.schemaVersion(),
    size_bytes: statSync(ctx.paths.db).size,
    counts: {
      connections: one('SELECT count(*) AS n FROM connections'),
      orders: one('SELECT count(*) AS n FROM orders WHERE deleted_at IS NULL'),
      orders_deleted_at_provider: one('SELECT count(*) AS n FROM orders WHERE deleted_at IS NOT NULL'),
      items: one('SELECT count(*) AS n FROM order_items'),
      charges: one('SELECT count(*) AS n FROM charges'),
      sync_runs: one('SELECT count(*) AS n FROM sync_runs'),
      audit_rows: one('SELECT count(*) AS n FROM audit_log'),
    },
  };

  // Stable placeholders: conn-1 is the oldest connection (the lowest id), whatever its alias.
  const conns = store.connections.list().sort((a, b) => a.id - b.id);
  const handle = new Map(conns.map((c, i) => [c.id, `conn-${i + 1}`]));
  const lastRun = db.prepare('SELECT status, error_code FROM sync_runs WHERE connection_id = ? ORDER BY id DESC LIMIT 1');
  const lastOk = db.prepare("SELECT max(ended_at) AS at FROM sync_runs WHERE connection_id = ? AND status = 'success'");
  bundle.connections = conns.map((c) => {
    const run = lastRun.get(c.id) as { status: string; error_code: string | null } | undefined;
    return {
      id: handle.get(c.id),
      connector: word(c.connector),
      provider_type: word(c.providerType),
      status: word(c.status),
      environment: word(c.config.environment ?? null),
      base_url: c.baseUrl === null ? null : /^http:\/\/(127\.0\.0\.1|\[::1\])[:/]/.test(c.baseUrl) ? 'loopback' : c.baseUrl.startsWith('https:') ? 'https' : 'other',
      has_secret: c.tokenRef !== null,
      connected_days_ago: Math.floor((ageHours(c.connectedAt, now) ?? 0) / 24),
      last_sync_age_hours: ageHours(c.lastSyncAt, now),
      last_success_age_hours: ageHours((lastOk.get(c.id) as { at: string | null }).at, now),
      last_run_status: word(run?.status ?? null),
      last_error: lastErrorOf(c.lastError, code(run?.error_code ?? null)),
      orders: one('SELECT count(*) AS n FROM orders WHERE connection_id = ? AND deleted_at IS NULL', c.id),
      orders_deleted_at_provider: one('SELECT count(*) AS n FROM orders WHERE connection_id = ? AND deleted_at IS NOT NULL', c.id),
      charges: one('SELECT count(*) AS n FROM charges WHERE connection_id = ?', c.id),
    };
  });

  const runs = store.runs.recent(undefined, RECENT_RUNS);
  bundle.sync_runs = runs.map((r) => ({
    connection: handle.get(r.connectionId) ?? 'removed',
    mode: word(r.mode),
    status: word(r.status),
    started_at: r.startedAt,
    duration_ms: durationMs(r.startedAt, r.endedAt),
    pages: r.pages,
    fetched: r.fetched,
    added: r.added,
    updated: r.updated,
    unchanged: r.unchanged,
    deleted: r.deleted,
    invalid_records: r.errors,
    error_code: code(r.errorCode),
  }));
  const errors = new Map<string, number>();
  for (const r of db.prepare('SELECT error_code AS c, count(*) AS n FROM sync_runs WHERE error_code IS NOT NULL GROUP BY 1').all() as Array<{ c: string; n: number }>) {
    const k = code(r.c)!;
    errors.set(k, (errors.get(k) ?? 0) + r.n);
  }
  bundle.sync_errors_by_code = Object.fromEntries([...errors].sort());

  const verify = store.audit.verify();
  const actions: Record<string, number> = {};
  for (const r of db.prepare('SELECT action AS a, count(*) AS n FROM audit_log GROUP BY 1 ORDER BY 1').all() as Array<{ a: string; n: number }>) {
    const k = ACTION.test(r.a) ? r.a : 'other';
    actions[k] = (actions[k] ?? 0) + r.n;
  }
  bundle.audit = { verified: verify.ok, rows: verify.rows, problems: verify.problems.map((p) => ({ seq: p.seq, kind: p.kind })), actions };
  return bundle;
}
