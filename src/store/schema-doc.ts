/**
 * docs/schema.md, generated from the migrations: every table a person (or Datasette, or
 * sqlite-utils) will find in their orderlink.db, with its columns, types and keys. The docs test
 * regenerates it from a fresh database and fails when the committed page is out of date.
 */
import type { DB } from './db.js';

/** What each table is for, in the reader's words; tables without a line here are listed plainly. */
const PURPOSE: Record<string, string> = {
  meta: 'Key/value facts about this database (the profile it belongs to, settings).',
  connections: 'One row per linked account. Holds a reference into the vault (`token_ref`), never a token. `config` is JSON (issuer, API base, environment…); `account_id` is the provider\'s stable id.',
  orders: 'One row per order per connection, keyed by (`connection_id`, `order_id`). Money columns are integers in minor units of `currency` (1234 USD = $12.34; JPY has no minor unit). Dates are UTC ISO 8601 text. `deleted_at` marks a provider-side deletion (the row is kept).',
  order_items: 'The line items of an order (`order_ref` = `orders.id`). `unit_price` is in the order\'s minor units.',
  orders_fts: 'Full-text index of item names (FTS5, contentless; `rowid` = `orders.id`).',
  sync_runs: 'One row per connection per `sync` or `import`, with its counters and error.',
  audit_log: 'The hash-chained audit trail: `hash = sha256(prev_hash || canonical row)`. Never edit it; `orderlink audit --verify` checks it.',
  order_rollup: 'Cached totals per month (`m`) and day (`d`); rebuilt lazily. Derived data: safe to ignore.',
  order_category_month: 'Cached item totals per category per month (unit price × quantity; an order spanning categories counts once in each); rebuilt lazily. Derived data: safe to ignore.',
  order_rollup_stale: 'Which rollup slices need rebuilding; derived data.',
  order_category_rollup_stale: 'Which category rollup slices need rebuilding; derived data.',
  schema_migrations: 'The migrations applied to this file, in order.',
  charges: 'Card and bank transactions from aggregators such as Plaid: not orders, never counted with them. `amount` is in minor units; positive is money out.',
  reconciliations: 'Card charges matched to the orders they paid for (`kind` payment) or refunded (refund), by `orderlink reconcile`. `status`: matched (by the matcher), confirmed or rejected (by you, at `decided_at`), ambiguous (a question: `order_ref` is NULL and `candidates` lists the choices). `charge_refs` is a JSON array of `charges.id`; `provenance` (JSON) says which connection supplied which field.',
  reconciliation_charges: 'The charges of each reconciliation (the same as its `charge_refs`), so deleting a charge removes the matches that used it.',
  reconciliation_orders: 'The orders each reconciliation names (its `order_ref`, or every candidate of a question), so deleting an order removes the rows that name it.',
};

interface Col {
  name: string;
  type: string;
  notnull: number;
  pk: number;
  dflt_value: string | null;
}

export function schemaMarkdown(db: DB): string {
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'orders_fts_%' ORDER BY name")
    .all() as Array<{ name: string; sql: string }>;
  const out: string[] = [
    '# The database schema',
    '',
    '<!-- Generated from src/store/migrations.ts by test/schema-doc.test.ts (ORDERLINK_UPDATE_EXPECTED=1 rewrites it). Do not edit by hand. -->',
    '',
    `orderlink keeps each profile in one SQLite file, \`<home>/profiles/<profile>/orderlink.db\` (see \`orderlink doctor\`),`,
    `at schema version **${version}**. Open it read-only with any SQLite tool — \`sqlite3\`, Datasette, \`sqlite-utils\` —`,
    'or export a standalone copy first (`orderlink backup FILE`). The schema only grows: columns are added, never renamed,',
    'and a new version is a new migration.',
    '',
    'Conventions: money is an INTEGER in minor units of the row\'s `currency` (ISO 4217 exponent: 2 for USD, 0 for JPY,',
    '3 for KWD); dates are TEXT in UTC ISO 8601 (`2026-03-01T10:00:00.000Z`), which sorts as time; tables are STRICT.',
    '',
  ];
  for (const t of tables) {
    out.push(`## \`${t.name}\``, '');
    if (PURPOSE[t.name]) out.push(PURPOSE[t.name]!, '');
    if (/VIRTUAL TABLE/i.test(t.sql)) {
      out.push('A virtual table:', '', '```sql', t.sql.trim(), '```', '');
      continue;
    }
    const cols = db.prepare(`SELECT name, type, "notnull", pk, dflt_value FROM pragma_table_info(?)`).all(t.name) as Col[];
    out.push('| column | type | null | key | default |', '|---|---|---|---|---|');
    for (const c of cols) out.push(`| \`${c.name}\` | ${c.type || 'ANY'} | ${c.notnull ? 'no' : 'yes'} | ${c.pk ? `primary (${c.pk})` : ''} | ${c.dflt_value ?? ''} |`);
    const fks = db.prepare('SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)').all(t.name) as Array<{ from: string; table: string; to: string; on_delete: string }>;
    const idx = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name").all(t.name) as Array<{ name: string }>;
    out.push('');
    for (const f of fks) out.push(`- \`${f.from}\` references \`${f.table}(${f.to})\`${f.on_delete && f.on_delete !== 'NO ACTION' ? `, on delete ${f.on_delete.toLowerCase()}` : ''}`);
    if (idx.length) out.push(`- indexes: ${idx.map((i) => `\`${i.name}\``).join(', ')}`);
    if (fks.length || idx.length) out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
