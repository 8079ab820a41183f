/**
 * amazon: the person's own Amazon order history, imported from the export Amazon gives them (no
 * consumer order API exists). A `file` connector: no credential, `orderlink import amazon PATH`.
 * How the export is requested, what is read and what is dropped: docs/amazon.md.
 *
 * Layout of this folder: columns.ts (header aliases, file kinds), values.ts (cells), sources.ts
 * (zip, folder, CSV streams), rows.ts (a row → a staged row), staging.ts (the temporary SQLite
 * table that groups rows by order), assemble.ts (an order's rows and refunds → a raw record),
 * mapping.ts (raw record → NormalizedOrder), importer.ts (the FileImporter).
 */
import { z } from 'zod';
import { defineConnector } from '../types.js';
import { amazonImporter } from './importer.js';
import { ALLOW_LIST, amazonRecord, toOrder, type AmazonRaw } from './mapping.js';

export const amazon = defineConnector<AmazonRaw, null>({
  id: 'amazon',
  displayName: 'Amazon (order history export)',
  kind: 'file',
  retailers: ['Amazon', 'Whole Foods Market'],
  auth: {
    type: 'fileImport',
    description:
      'Request your data at https://www.amazon.com/hz/privacy-central/data-requests/preview.html ("Your Orders"), wait for the e-mail, download the zip, then run: orderlink import amazon "Your Orders.zip"',
  },
  capabilities: { incremental: false, items: true, refunds: true, deletions: false, revocation: false },
  descriptor: { endpoints: {}, pagination: { style: 'none', pageSize: { default: 500, max: 500 } }, rateLimit: null },
  checkpoint: 'page',
  baseUrl: { default: null, env: 'ORDERLINK_AMAZON_URL' },
  docs: 'docs/amazon.md',
  rawSchema: amazonRecord,
  cursorSchema: z.null(),
  allowList: ALLOW_LIST,
  freeText: ['retailer', 'lines[].name', 'lines[].sku', 'lines[].category'],
  importer: amazonImporter,
  toOrder,
});
