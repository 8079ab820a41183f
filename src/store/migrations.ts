/**
 * Named, ordered migrations (sqlite-utils style). Each runs in its own transaction together with
 * the row that records it, so a crash leaves the database at the previous version, never between.
 * Never edit a migration that has shipped: add a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema: connections, orders, order_items, sync_runs, audit_log',
    sql: `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE connections (
  id            INTEGER PRIMARY KEY,
  profile       TEXT NOT NULL,
  connector     TEXT NOT NULL,
  retailer      TEXT NOT NULL,
  alias         TEXT NOT NULL,
  provider_type TEXT NOT NULL CHECK (provider_type IN ('direct', 'aggregator', 'file')),
  token_ref     TEXT,
  status        TEXT NOT NULL CHECK (status IN ('active', 'reauth_required', 'revoked', 'error')),
  scopes        TEXT NOT NULL DEFAULT '',
  account_label TEXT,
  base_url      TEXT,
  connected_at  TEXT NOT NULL,
  last_sync_at  TEXT,
  sync_cursor   TEXT,
  last_error    TEXT,
  UNIQUE (profile, connector, retailer, alias)
) STRICT;

CREATE TABLE orders (
  id                  INTEGER PRIMARY KEY,
  connection_id       INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  order_id            TEXT NOT NULL,
  retailer            TEXT NOT NULL,
  order_date          TEXT NOT NULL,
  status              TEXT NOT NULL,
  currency            TEXT NOT NULL CHECK (length(currency) = 3),
  subtotal            INTEGER NOT NULL,
  tax                 INTEGER NOT NULL,
  shipping            INTEGER NOT NULL,
  discount            INTEGER NOT NULL,
  total               INTEGER NOT NULL,
  refunded            INTEGER NOT NULL DEFAULT 0,
  item_count          INTEGER NOT NULL DEFAULT 0,
  provider_updated_at TEXT,
  deleted_at          TEXT,
  content_hash        TEXT NOT NULL,
  first_seen_at       TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  UNIQUE (connection_id, order_id)
) STRICT;
CREATE INDEX orders_by_date ON orders (order_date);
CREATE INDEX orders_by_retailer ON orders (retailer, order_date);

CREATE TABLE order_items (
  order_ref  INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line_no    INTEGER NOT NULL,
  name       TEXT NOT NULL,
  sku        TEXT,
  unit_price INTEGER NOT NULL,
  quantity   INTEGER NOT NULL,
  category   TEXT,
  PRIMARY KEY (order_ref, line_no)
) STRICT, WITHOUT ROWID;
CREATE INDEX order_items_by_category ON order_items (category);

-- Full-text search over item names, one document per order (rowid = orders.id), maintained by
-- the store's upsert code rather than triggers so a page of upserts stays one cheap statement each.
CREATE VIRTUAL TABLE orders_fts USING fts5 (items, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');

CREATE TABLE sync_runs (
  id            INTEGER PRIMARY KEY,
  run_id        TEXT NOT NULL,
  connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  mode          TEXT NOT NULL CHECK (mode IN ('incremental', 'full', 'dry-run')),
  started_at    TEXT NOT NULL,
  ended_at      TEXT,
  status        TEXT NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failure', 'reauth_required')),
  pages         INTEGER NOT NULL DEFAULT 0,
  fetched       INTEGER NOT NULL DEFAULT 0,
  added         INTEGER NOT NULL DEFAULT 0,
  updated       INTEGER NOT NULL DEFAULT 0,
  unchanged     INTEGER NOT NULL DEFAULT 0,
  deleted       INTEGER NOT NULL DEFAULT 0,
  errors        INTEGER NOT NULL DEFAULT 0,
  error_code    TEXT,
  error_detail  TEXT
) STRICT;
CREATE INDEX sync_runs_by_connection ON sync_runs (connection_id, started_at);

-- Hash-chained: hash = sha256(prev_hash || canonical row). No foreign key on connection_id: the
-- trail outlives the connections it talks about.
CREATE TABLE audit_log (
  seq           INTEGER PRIMARY KEY,
  at            TEXT NOT NULL,
  run_id        TEXT NOT NULL,
  action        TEXT NOT NULL,
  connection_id INTEGER,
  detail        TEXT NOT NULL DEFAULT '{}',
  prev_hash     TEXT NOT NULL,
  hash          TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_action ON audit_log (action, at);
`,
  },
];
