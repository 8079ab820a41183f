/**
 * The work of `orderlink smoke`: choose (or link) the connections, run one bounded dry-run sync
 * of each while recording the SHAPE of what the provider sent, and turn each result into checks.
 */
import { join, sep } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { Context } from '../context.js';
import { CONNECTORS } from '../connectors/registry.js';
import type { Connector } from '../connectors/types.js';
import { OrderlinkError, usageError } from '../errors.js';
import { connectionHandle, type Connection } from '../store/index.js';
import type { SmokeOptions } from '../commands/smoke.js';
import type { ConnectionResult } from '../sync/index.js';
import { addShape, diffShapes, recordedShape, type Shape } from './drift.js';
import type { Check } from './report.js';

interface Target {
  label: string;
  connection?: Connection;
  linkError?: OrderlinkError;
}

const SESSION_CODES = new Set(['REAUTH_REQUIRED', 'NO_TOKEN', 'APP_CREDENTIALS_MISSING', 'TOKEN_RECORD_INVALID', 'OAUTH_REFRESH_FAILED']);

export async function selectSmokeTargets(ctx: Context, o: SmokeOptions): Promise<Target[]> {
  const store = ctx.store();
  if (o.targets.length === 0) {
    const { selectConnections } = await import('../sync/index.js');
    return selectConnections(ctx, []).map((c) => ({ label: connectionHandle(c), connection: c }));
  }
  const out: Target[] = [];
  for (const spec of o.targets) {
    try {
      const c = store.connections.resolve(spec);
      if (c.providerType === 'file') throw usageError('IMPORT_ONLY', `${connectionHandle(c)} is an import; smoke checks provider APIs`, `Check the file with: orderlink import ${c.connector} PATH --dry-run`);
      out.push({ label: connectionHandle(c), connection: c });
      continue;
    } catch (err) {
      if (!(err instanceof OrderlinkError) || err.code !== 'CONNECTION_NOT_FOUND' || !(spec in CONNECTORS)) throw err;
    }
    const connector = (CONNECTORS as Record<string, Connector>)[spec]!;
    const live = store.connections.list().filter((c) => c.connector === spec && c.status !== 'revoked');
    if (live.length) {
      out.push(...live.map((c) => ({ label: connectionHandle(c), connection: c })));
      continue;
    }
    out.push(await linkForSmoke(ctx, connector, o));
  }
  return out;
}

/** The existing CI linking: a refresh token from a named variable (OAuth), a test login (aggregators). */
async function linkForSmoke(ctx: Context, connector: Connector, o: SmokeOptions): Promise<Target> {
  const label = `${connector.id}:smoke`;
  if (connector.auth.type === 'fileImport') {
    return { label, linkError: usageError('IMPORT_ONLY', `${connector.displayName} is an import; smoke checks provider APIs`) };
  }
  if (connector.auth.type === 'oauth' && !o.refreshTokenEnv) {
    return { label, linkError: usageError('NOT_LINKED', `${connector.id} has no connection to check`, `Link it first, or pass --refresh-token-env VAR (and --base-url) to link one for the check.`) };
  }
  const { linkAccount } = await import('../link/index.js');
  try {
    const r = await linkAccount(ctx, {
      connector: connector.id,
      alias: 'smoke',
      browser: false,
      timeoutSeconds: 120,
      manual: false,
      refreshTokenStdin: false,
      ...(o.refreshTokenEnv && connector.auth.type === 'oauth' ? { refreshTokenEnv: o.refreshTokenEnv } : {}),
      ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
      nonInteractive: connector.auth.type === 'hostedLink',
    });
    return { label, connection: ctx.store().connections.get(r.connection.id)! };
  } catch (err) {
    if (!(err instanceof OrderlinkError)) throw err;
    return { label, linkError: err };
  }
}

export function fixturesDir(connectorId: string): string {
  // From the package root (src/, dist/ and the bundle sit at different depths below it).
  return join(packageRoot(), 'src', 'connectors', connectorId, 'fixtures') + sep;
}

export async function runChecks(ctx: Context, targets: Target[], o: SmokeOptions): Promise<Check[]> {
  const checks: Check[] = [];
  for (const t of targets.filter((x) => x.linkError)) {
    checks.push({ connection: t.label, name: 'link', status: 'fail', code: t.linkError!.code, message: t.linkError!.message, ...(t.linkError!.hint ? { details: [t.linkError!.hint] } : {}) });
  }
  const connections = targets.flatMap((t) => (t.connection ? [t.connection] : []));
  if (!connections.length) return checks;
  const shapes = new Map<number, { shape: Shape; records: number }>();
  const { syncAll } = await import('../sync/index.js');
  const { createTokenManager } = await import('../tokens/oauth.js');
  const results = await syncAll(ctx, {
    connections,
    full: false,
    since: null,
    dryRun: true,
    concurrency: 4,
    pageSize: 100,
    maxPages: o.maxPages,
    waitSeconds: 0,
    tokens: createTokenManager(ctx),
    onProgress: () => undefined,
    onRawPage: (id, records) => {
      const s = shapes.get(id) ?? { shape: new Map(), records: 0 };
      for (const r of records) addShape(s.shape, r);
      s.records += records.length;
      shapes.set(id, s);
    },
  });
  for (const r of results) checks.push(...checksFor(r, connections.find((c) => c.id === r.connectionId)!, shapes.get(r.connectionId), o));
  return checks;
}

function checksFor(r: ConnectionResult, conn: Connection, live: { shape: Shape; records: number } | undefined, o: SmokeOptions): Check[] {
  const c = r.handle;
  const out: Check[] = [];
  const sessionFailed = r.error !== null && (r.status === 'reauth_required' || SESSION_CODES.has(r.error.code));
  out.push(sessionFailed ? { connection: c, name: 'link', status: 'fail', code: r.status === 'reauth_required' ? 'REAUTH_REQUIRED' : r.error!.code, message: r.error!.message, ...(r.error!.hint ? { details: [r.error!.hint] } : {}) } : { connection: c, name: 'link', status: 'pass', message: 'a usable session' });
  if (sessionFailed) return out;
  if (r.status === 'failure') {
    out.push({ connection: c, name: 'fetch', status: 'fail', code: r.error?.code ?? 'FAILED', message: r.error?.message ?? 'failed', durationMs: r.durationMs, ...(r.error?.hint ? { details: [r.error.hint] } : {}) });
    return out;
  }
  out.push({ connection: c, name: 'fetch', status: 'pass', message: `${r.pages} page(s), ${r.fetched} record(s), ${r.requests} request(s)`, durationMs: r.durationMs });
  if (r.fetched === 0) out.push({ connection: c, name: 'schema', status: 'skip', message: 'the provider returned no records to check' });
  else if (r.recordErrors.length) {
    out.push({
      connection: c, name: 'schema', status: 'fail', code: 'INVALID_RECORDS', message: `${r.recordErrors.length} of ${r.fetched} record(s) do not match the connector's schema`,
      details: r.recordErrors.slice(0, 50).map((e) => `record ${e.orderId ?? `#${e.index + 1} on page ${e.page}`}: ${e.field}: ${e.message}`),
    });
  } else out.push({ connection: c, name: 'schema', status: 'pass', message: `${r.fetched} record(s) valid` });
  const recorded = recordedShape(fixturesDir(conn.connector));
  if (!recorded) out.push({ connection: c, name: 'drift', status: 'skip', message: 'the connector has no recorded payloads to compare with' });
  else if (!live || live.records === 0) out.push({ connection: c, name: 'drift', status: 'skip', message: 'no records to compare' });
  else {
    const drift = diffShapes(recorded, live.shape);
    if (!drift.length) out.push({ connection: c, name: 'drift', status: 'pass', message: 'same fields and types as the recorded payloads' });
    else {
      const details = drift.map((d) => (d.kind === 'renamed' ? `renamed: ${d.path} → ${d.detail}` : d.kind === 'retyped' ? `retyped: ${d.path} (${d.detail})` : `${d.kind}: ${d.path}`));
      out.push({ connection: c, name: 'drift', status: o.strict ? 'fail' : 'warn', code: 'SCHEMA_DRIFT', message: `${drift.length} field change(s) since the recorded payloads`, details });
    }
  }
  return out;
}
