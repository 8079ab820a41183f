/**
 * docs/schema.md is the documented, stable schema for people who open orderlink.db directly
 * (Datasette, sqlite-utils). It is generated from the migrations; this test regenerates it from a
 * fresh database and fails when the committed page is stale (ORDERLINK_UPDATE_EXPECTED=1 rewrites it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { schemaMarkdown } from '../src/store/schema-doc.js';

const DOC = new URL('../docs/schema.md', import.meta.url);

it('docs/schema.md matches the schema the migrations build', () => {
  const db = openDatabase(':memory:');
  try {
    const md = schemaMarkdown(db);
    if (process.env.ORDERLINK_UPDATE_EXPECTED === '1') writeFileSync(DOC, md);
    expect(readFileSync(DOC, 'utf8')).toBe(md);
    expect(md).toContain(`schema version **${Math.max(...MIGRATIONS.map((m) => m.version))}**`);
    // Every table is documented in words, not only listed.
    for (const t of md.matchAll(/^## `([a-z_]+)`\n\n([^\n|]*)/gm)) expect(t[2]!.length, t[1]).toBeGreaterThan(0);
  } finally {
    db.close();
  }
});
