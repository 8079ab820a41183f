/**
 * Connections: one linked account each. The row holds a reference into the vault, never a token.
 * Users name a connection by its number, by `connector:alias` (e.g. `sandbox:work`), or by its
 * alias alone when that is unique.
 */
import type { ConnectionConfig, ConnectionStatus, ProviderType } from '../domain.js';
import { OrderlinkError } from '../errors.js';
import type { DB } from './db.js';

export type { ConnectionStatus, ProviderType } from '../domain.js';

export interface Connection {
  id: number;
  profile: string;
  connector: string;
  retailer: string;
  alias: string;
  providerType: ProviderType;
  tokenRef: string | null;
  status: ConnectionStatus;
  scopes: string;
  accountLabel: string | null;
  baseUrl: string | null;
  connectedAt: string;
  lastSyncAt: string | null;
  syncCursor: string | null;
  lastError: string | null;
  /** Per-connection configuration (never a secret). */
  config: ConnectionConfig;
  /** The provider's stable account id, when known. */
  accountId: string | null;
}

interface Row {
  id: number;
  profile: string;
  connector: string;
  retailer: string;
  alias: string;
  provider_type: ProviderType;
  token_ref: string | null;
  status: ConnectionStatus;
  scopes: string;
  account_label: string | null;
  base_url: string | null;
  connected_at: string;
  last_sync_at: string | null;
  sync_cursor: string | null;
  last_error: string | null;
  config: string;
  account_id: string | null;
}

function parseConfig(text: string): ConnectionConfig {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as ConnectionConfig) : {};
  } catch {
    return {};
  }
}

const fromRow = (r: Row): Connection => ({
  id: r.id,
  profile: r.profile,
  connector: r.connector,
  retailer: r.retailer,
  alias: r.alias,
  providerType: r.provider_type,
  tokenRef: r.token_ref,
  status: r.status,
  scopes: r.scopes,
  accountLabel: r.account_label,
  baseUrl: r.base_url,
  connectedAt: r.connected_at,
  lastSyncAt: r.last_sync_at,
  syncCursor: r.sync_cursor,
  lastError: r.last_error,
  config: parseConfig(r.config),
  accountId: r.account_id,
});

export const connectionHandle = (c: Pick<Connection, 'connector' | 'alias'>): string => `${c.connector}:${c.alias}`;

export interface NewConnection {
  connector: string;
  retailer: string;
  alias: string;
  providerType: ProviderType;
  tokenRef: string | null;
  scopes: string;
  accountLabel: string | null;
  baseUrl: string | null;
  config?: ConnectionConfig;
  accountId?: string | null;
}

export class Connections {
  constructor(
    private readonly db: DB,
    private readonly profile: string,
  ) {}

  list(): Connection[] {
    return (this.db.prepare('SELECT * FROM connections WHERE profile = ? ORDER BY id').all(this.profile) as Row[]).map(fromRow);
  }

  get(id: number): Connection | undefined {
    const r = this.db.prepare('SELECT * FROM connections WHERE id = ? AND profile = ?').get(id, this.profile) as Row | undefined;
    return r && fromRow(r);
  }

  findByAlias(connector: string, alias: string): Connection | undefined {
    const r = this.db
      .prepare('SELECT * FROM connections WHERE profile = ? AND connector = ? AND alias = ? ORDER BY id LIMIT 1')
      .get(this.profile, connector, alias) as Row | undefined;
    return r && fromRow(r);
  }

  /** Resolve what a user typed: "3", "sandbox:work", or "work". */
  resolve(spec: string): Connection {
    const all = this.list();
    let matches: Connection[];
    if (/^\d+$/.test(spec)) matches = all.filter((c) => c.id === Number(spec));
    else if (spec.includes(':')) matches = all.filter((c) => connectionHandle(c) === spec);
    else matches = all.filter((c) => c.alias === spec || c.connector === spec);
    if (matches.length === 1) return matches[0]!;
    const known = all.map((c) => `${c.id} (${connectionHandle(c)})`).join(', ') || 'none yet';
    if (matches.length === 0) {
      throw new OrderlinkError('CONNECTION_NOT_FOUND', `no connection matches "${spec.slice(0, 60)}"`, {
        kind: 'usage',
        hint: `Known connections: ${known}. Run \`orderlink connections\` to list them.`,
      });
    }
    throw new OrderlinkError('CONNECTION_AMBIGUOUS', `"${spec.slice(0, 60)}" matches ${matches.length} connections`, {
      kind: 'usage',
      hint: `Name it by number or connector:alias: ${matches.map((c) => `${c.id} (${connectionHandle(c)})`).join(', ')}.`,
    });
  }

  insert(c: NewConnection, now = new Date()): Connection {
    const info = this.db
      .prepare(
        `INSERT INTO connections (profile, connector, retailer, alias, provider_type, token_ref, status, scopes, account_label, base_url, connected_at, config, account_id)
         VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)`,
      )
      .run(this.profile, c.connector, c.retailer, c.alias, c.providerType, c.tokenRef, c.scopes, c.accountLabel, c.baseUrl, now.toISOString(), JSON.stringify(c.config ?? {}), c.accountId ?? null);
    return this.get(Number(info.lastInsertRowid))!;
  }

  update(id: number, patch: Partial<Omit<Connection, 'id' | 'profile'>>): void {
    const cols: Record<keyof Omit<Connection, 'id' | 'profile'>, string> = {
      connector: 'connector',
      retailer: 'retailer',
      alias: 'alias',
      providerType: 'provider_type',
      tokenRef: 'token_ref',
      status: 'status',
      scopes: 'scopes',
      accountLabel: 'account_label',
      baseUrl: 'base_url',
      connectedAt: 'connected_at',
      lastSyncAt: 'last_sync_at',
      syncCursor: 'sync_cursor',
      lastError: 'last_error',
      config: 'config',
      accountId: 'account_id',
    };
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const col = cols[k as keyof typeof cols];
      if (!col || v === undefined) continue;
      sets.push(`${col} = ?`);
      args.push(k === 'config' ? JSON.stringify(v) : v);
    }
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE connections SET ${sets.join(', ')} WHERE id = ? AND profile = ?`).run(...args, id, this.profile);
  }

  delete(id: number): void {
    this.db.prepare('DELETE FROM connections WHERE id = ? AND profile = ?').run(id, this.profile);
  }
}
