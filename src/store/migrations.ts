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

/**
 * Minor units → an integer in major units × 10^4 (4 = the largest ISO 4217 exponent): 12.34 USD
 * (1234) → 123400, ¥1200 → 12000000, 12.345 KWD → 123450. Exact, and comparable with an amount a
 * person typed (`--min 10`) once that is scaled the same way.
 *
 * FROZEN: migration 2 indexes this exact expression, and SQLite only uses an expression index
 * when the query's expression is identical. Currencies are listed by exponent as of migration 2;
 * changing the list needs a new migration that rebuilds the index. test/store.queries.test.ts
 * checks the list against connectors/money.ts.
 */
export const AMOUNT_4DP_FACTORS: Readonly<Record<string, number>> = {
  BIF: 10000, CLP: 10000, DJF: 10000, GNF: 10000, ISK: 10000, JPY: 10000, KMF: 10000, KRW: 10000, PYG: 10000, RWF: 10000,
  UGX: 10000, UYI: 10000, VND: 10000, VUV: 10000, XAF: 10000, XOF: 10000, XPF: 10000,
  BHD: 10, IQD: 10, JOD: 10, KWD: 10, LYD: 10, OMR: 10, TND: 10,
  CLF: 1, UYW: 1,
};

/** The indexed amount expression over `total` and `currency`, qualified by `alias` ('' or 'o.'). */
export function amount4dp(alias: '' | 'o.'): string {
  const whens = Object.entries(AMOUNT_4DP_FACTORS).map(([c, f]) => `WHEN '${c}' THEN ${f}`).join(' ');
  return `${alias}total * CASE ${alias}currency ${whens} ELSE 100 END`;
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
  {
    version: 2,
    name: 'read paths for orders: covering date index, case-insensitive retailer and category, amount index, monthly and daily rollups',
    sql: `
-- Listing newest-first and filtering while scanning by date: the columns the filters test live in
-- the index, so a scan that skips non-matching orders never touches the table rows. It replaces
-- the plain date index (same leading column, so nothing that used it loses). The id makes the
-- newest-first order (date, then id) come straight from the index, with no sort step.
DROP INDEX orders_by_date;
CREATE INDEX orders_by_date_cover ON orders (order_date, id, deleted_at, connection_id, retailer, status, currency, total, refunded);

-- People type "target" for "Target". BINARY-collated indexes cannot serve COLLATE NOCASE
-- comparisons, so the indexes of migration 1 are replaced by NOCASE ones.
DROP INDEX orders_by_retailer;
CREATE INDEX orders_by_retailer_nocase ON orders (retailer COLLATE NOCASE, order_date DESC);
DROP INDEX order_items_by_category;
CREATE INDEX order_items_by_category_nocase ON order_items (category COLLATE NOCASE);

-- The total in major units as an exact integer with 4 decimals (see AMOUNT_4DP below): --min,
-- --max and --sort total compare orders as people read them, in each order's own currency.
CREATE INDEX orders_by_amount ON orders (${amount4dp('')});

-- Totals per month and per day, so "orders stats" and the list footer read a few thousand rows
-- instead of every order: whole months come from 'm' rows, the days at the edges of a
-- --since/--until range from 'd' rows, and only the partial days at its two ends from the orders
-- themselves. Keyed by what those commands filter on without reading orders.
CREATE TABLE order_rollup (
  grain         TEXT NOT NULL CHECK (grain IN ('m', 'd')),
  period        TEXT NOT NULL, -- 'YYYY-MM' or 'YYYY-MM-DD' of order_date (UTC)
  connection_id INTEGER NOT NULL,
  retailer      TEXT NOT NULL,
  currency      TEXT NOT NULL,
  status        TEXT NOT NULL,
  orders        INTEGER NOT NULL,
  total         INTEGER NOT NULL,
  refunded      INTEGER NOT NULL,
  PRIMARY KEY (grain, period, connection_id, retailer, currency, status)
) STRICT, WITHOUT ROWID;

-- Item amounts per category (an order spanning categories counts once in each). A NULL category
-- is stored as '' because primary-key columns of a WITHOUT ROWID table cannot be NULL.
CREATE TABLE order_category_rollup (
  grain         TEXT NOT NULL CHECK (grain IN ('m', 'd')),
  period        TEXT NOT NULL,
  connection_id INTEGER NOT NULL,
  retailer      TEXT NOT NULL,
  currency      TEXT NOT NULL,
  status        TEXT NOT NULL,
  category      TEXT NOT NULL,
  orders        INTEGER NOT NULL,
  total         INTEGER NOT NULL,
  PRIMARY KEY (grain, period, connection_id, retailer, currency, status, category)
) STRICT, WITHOUT ROWID;

-- The rollups are rebuilt lazily, one (connection, month) slice at a time, by the first read
-- that needs them (OrderQueries.refreshRollups); writes only mark the slices they touch. Sums
-- kept current by triggers made page writes about 3.5× slower, and any INSERT or UPDATE trigger
-- on orders still costs (FTS5 flushes its pending rows at the statement savepoint a trigger
-- forces), so the page writer marks the months of each page itself, once per month
-- (OrderWriter). Deletes are rare and come from several paths (purge, a connection deleted with
-- ON DELETE CASCADE), so they keep a trigger. Items change only with their order row.
CREATE TABLE order_rollup_stale (
  connection_id INTEGER NOT NULL,
  month         TEXT NOT NULL,
  PRIMARY KEY (connection_id, month)
) STRICT, WITHOUT ROWID;
CREATE TABLE order_category_rollup_stale (
  connection_id INTEGER NOT NULL,
  month         TEXT NOT NULL,
  PRIMARY KEY (connection_id, month)
) STRICT, WITHOUT ROWID;

INSERT INTO order_rollup_stale SELECT DISTINCT connection_id, substr(order_date, 1, 7) FROM orders;
INSERT INTO order_category_rollup_stale SELECT connection_id, month FROM order_rollup_stale;

CREATE TRIGGER orders_stale_delete AFTER DELETE ON orders BEGIN
  INSERT OR IGNORE INTO order_rollup_stale VALUES (OLD.connection_id, substr(OLD.order_date, 1, 7));
  INSERT OR IGNORE INTO order_category_rollup_stale VALUES (OLD.connection_id, substr(OLD.order_date, 1, 7));
END;
`,
  },
  {
    version: 3,
    name: 'connector platform: per-connection config and account identity; import runs',
    sql: `
-- Per-connection configuration (issuer, API base, environment, region, client id...) as JSON.
-- Never a secret: those live in the vault.
ALTER TABLE connections ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
-- The provider's stable account id, so a reconnect can prove it is the same account.
ALTER TABLE connections ADD COLUMN account_id TEXT;
UPDATE connections SET config = json_object('issuer', base_url) WHERE base_url IS NOT NULL;

-- File imports are runs too. SQLite cannot alter a CHECK constraint: rebuild the table.
CREATE TABLE sync_runs_v3 (
  id            INTEGER PRIMARY KEY,
  run_id        TEXT NOT NULL,
  connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  mode          TEXT NOT NULL CHECK (mode IN ('incremental', 'full', 'dry-run', 'import')),
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
INSERT INTO sync_runs_v3 SELECT * FROM sync_runs;
DROP TABLE sync_runs;
ALTER TABLE sync_runs_v3 RENAME TO sync_runs;
CREATE INDEX sync_runs_by_connection ON sync_runs (connection_id, started_at);
`,
  },
  {
    version: 4,
    name: 'charges: card and bank transactions (Plaid), kept apart from orders',
    sql: `
-- Charges are not orders: a card charge and the order it paid for are one purchase, so charges
-- live here and never count in orders or orders stats. Upserts key on (connection, provider
-- transaction id); a provider removal sets deleted_at (recorded, never silently dropped).
CREATE TABLE charges (
  id                     INTEGER PRIMARY KEY,
  connection_id          INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
  transaction_id         TEXT NOT NULL,
  account_id             TEXT NOT NULL,
  date                   TEXT NOT NULL,
  datetime               TEXT,
  merchant               TEXT NOT NULL,
  amount                 INTEGER NOT NULL,
  currency               TEXT NOT NULL,
  pending                INTEGER NOT NULL CHECK (pending IN (0, 1)),
  category               TEXT,
  pending_transaction_id TEXT,
  content_hash           TEXT NOT NULL,
  first_seen_at          TEXT NOT NULL,
  updated_at             TEXT NOT NULL,
  deleted_at             TEXT,
  UNIQUE (connection_id, transaction_id)
) STRICT;
CREATE INDEX charges_by_date ON charges (date, transaction_id) WHERE deleted_at IS NULL;
CREATE INDEX charges_by_pending_id ON charges (connection_id, pending_transaction_id) WHERE pending_transaction_id IS NOT NULL;
`,
  },
  {
    version: 5,
    name: 'reconciliations: card charges matched to the orders they paid for or refunded',
    sql: `
-- One row per match (status matched: by the matcher; confirmed or rejected: by a person) or per
-- open question (ambiguous: order_ref is NULL and candidates lists the choices). charge_refs is a
-- JSON array of charges.id, kept in step with reconciliation_charges (and the orders named, with
-- reconciliation_orders), which lets SQLite drop a reconciliation when one of its charges or
-- orders is deleted (disconnect --purge) without scanning JSON. Money stays in orders and charges; provenance says which source gave which field.
CREATE TABLE reconciliations (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
  order_ref   INTEGER REFERENCES orders(id) ON DELETE CASCADE,
  charge_refs TEXT NOT NULL CHECK (json_valid(charge_refs) AND json_type(charge_refs) = 'array'),
  status      TEXT NOT NULL CHECK (status IN ('matched', 'confirmed', 'rejected', 'ambiguous')),
  method      TEXT NOT NULL CHECK (method IN ('exact', 'split')),
  score       INTEGER NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
  candidates  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(candidates)),
  provenance  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(provenance)),
  created_at  TEXT NOT NULL,
  decided_at  TEXT
) STRICT;
CREATE INDEX reconciliations_by_order ON reconciliations (order_ref);
CREATE INDEX reconciliations_by_status ON reconciliations (status, kind);

CREATE TABLE reconciliation_charges (
  charge_ref        INTEGER NOT NULL REFERENCES charges(id) ON DELETE CASCADE,
  reconciliation_id INTEGER NOT NULL REFERENCES reconciliations(id) ON DELETE CASCADE,
  PRIMARY KEY (charge_ref, reconciliation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX reconciliation_charges_by_reconciliation ON reconciliation_charges (reconciliation_id);

-- A match that lost one of its charges is void (the charge row is gone, its id may be reused).
CREATE TRIGGER reconciliation_charge_gone AFTER DELETE ON reconciliation_charges BEGIN
  DELETE FROM reconciliations WHERE id = OLD.reconciliation_id;
END;
-- The orders a row names (order_ref, or every candidate of a question), for the same reason: an
-- order deleted for good takes the rows naming it along. A cascade, not a trigger on orders (the
-- order writer stays free of triggers).
CREATE TABLE reconciliation_orders (
  order_ref         INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  reconciliation_id INTEGER NOT NULL REFERENCES reconciliations(id) ON DELETE CASCADE,
  PRIMARY KEY (order_ref, reconciliation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX reconciliation_orders_by_reconciliation ON reconciliation_orders (reconciliation_id);
CREATE TRIGGER reconciliation_order_gone AFTER DELETE ON reconciliation_orders BEGIN
  DELETE FROM reconciliations WHERE id = OLD.reconciliation_id;
END;
`,
  },
  {
    version: 6,
    name: 'category totals per month only: the partial months of a range are read from the orders',
    sql: `
-- Category totals kept per day had a row per (day, connection, retailer, currency, status,
-- category): ~207,000 rows at 1M orders, and building them after a big sync took ~5 s. Per month
-- they are a few thousand rows; the partial months at the ends of a --since/--until range are
-- summed from the orders and their items instead (src/store/rollups.ts). Keyed by connection and
-- month first, the unit in which writes mark them stale (order_category_rollup_stale, unchanged).
CREATE TABLE order_category_month (
  connection_id INTEGER NOT NULL,
  month         TEXT NOT NULL, -- 'YYYY-MM' of order_date (UTC)
  retailer      TEXT NOT NULL,
  currency      TEXT NOT NULL,
  status        TEXT NOT NULL,
  category      TEXT NOT NULL, -- '' for items without one
  orders        INTEGER NOT NULL,
  total         INTEGER NOT NULL,
  PRIMARY KEY (connection_id, month, retailer, currency, status, category)
) STRICT, WITHOUT ROWID;

-- The month rows already built are kept (they mean the same); stale months stay stale and are
-- rebuilt by the next read that needs them.
INSERT INTO order_category_month
  SELECT connection_id, period, retailer, currency, status, category, orders, total FROM order_category_rollup WHERE grain = 'm';
DROP TABLE order_category_rollup;
`,
  },
];
