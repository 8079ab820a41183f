/**
 * The amazon FileImporter: find the CSVs under PATH, recognise each by its headers, stream its
 * rows into the staging table (a row that cannot be read is named — file, line, column — and
 * skipped), then assemble orders one at a time and hand them out in batches.
 *
 * Nothing is yielded before every file has been read, so a refused file (not an Amazon export)
 * fails the import before it writes anything.
 */
import { promises as fsp } from 'node:fs';
import { OrderlinkError } from '../../errors.js';
import type { FileImporter, ImportBatch } from '../types.js';
import { assemble, type AssemblyIssue } from './assemble.js';
import { detect, EXPECTED_HEADERS, isNoDataRow, type Kind, type Layout } from './columns.js';
import { RowError, stageRow } from './rows.js';
import { listSources, readCsv, type Source } from './sources.js';
import { Staging } from './staging.js';

export const BATCH_SIZE = 500;
/** Row errors kept in detail; beyond this only counted. */
const MAX_DETAILED_ERRORS = 1000;

export interface RowIssue {
  file: string;
  line: number;
  column: string;
  message: string;
}

export interface FileSummary {
  file: string;
  /** Its kind, `empty` for a "No data found" report, or `ignored` (not an order file we read). */
  kind: Kind | 'empty' | 'ignored';
  rows: number;
  orders: number;
  skipped: number;
}

/** The last batch of an amazon import carries the per-file counts. */
export interface AmazonBatch extends ImportBatch {
  summary?: { files: FileSummary[]; skippedRows: number };
}

function usage(code: string, message: string, hint: string): OrderlinkError {
  return new OrderlinkError(code, message, { kind: 'usage', hint });
}

async function ingest(src: Source, index: number, stage: Staging, single: boolean, errors: RowIssue[], counts: { skipped: number }, onBytes: (n: number) => void): Promise<FileSummary> {
  const summary: FileSummary = { file: src.name, kind: 'ignored', rows: 0, orders: 0, skipped: 0 };
  const skip = (line: number, column: string, message: string) => {
    summary.skipped++;
    counts.skipped++;
    if (errors.length < MAX_DETAILED_ERRORS) errors.push({ file: src.name, line, column, message });
  };
  let layout: Layout | undefined;
  try {
    for await (const rec of readCsv(await src.open(), onBytes)) {
      if (layout === undefined) {
        if (isNoDataRow(rec.fields)) return { ...summary, kind: 'empty' };
        const found = detect(rec.fields);
        if (!found) {
          if (!single) return summary;
          const seen = rec.fields.slice(0, 8).map((h) => `"${h.replace(/^\uFEFF/, '').trim().slice(0, 40)}"`).join(', ');
          throw usage('NOT_AN_AMAZON_EXPORT', `${src.name} is not an Amazon order-history export: its headers (${seen}${rec.fields.length > 8 ? ', …' : ''}) match no known layout`, `Expected one of — ${EXPECTED_HEADERS.join('; ')}. Pass the zip Amazon sent you, its unpacked folder, or one of its order CSVs.`);
        }
        layout = found;
        summary.kind = found.kind;
        continue;
      }
      if (isNoDataRow(rec.fields)) {
        summary.kind = summary.rows === 0 ? 'empty' : summary.kind;
        continue;
      }
      if (layout.kind === 'not-needed') continue;
      summary.rows++;
      try {
        const row = stageRow(layout, rec.fields);
        if (row.j.skip === undefined) stage.add(index, rec.line, row);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        skip(rec.line, err.column, err.message);
      }
    }
  } catch (err) {
    if (err instanceof OrderlinkError) throw err;
    const e = err as { code?: string; lines?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
      // A broken CSV (an unclosed quote...): what was read stays, the rest of the file is named.
      skip(e.lines ?? 0, '(file)', `unreadable CSV from here on (${e.code})`);
      return summary;
    }
    throw new OrderlinkError('IMPORT_READ_FAILED', `could not read ${src.name} (${e.code ?? 'read error'})`, { hint: 'Check the file is complete (download the export again if the zip is damaged).' });
  }
  if (layout === undefined && single) return { ...summary, kind: 'empty' };
  return summary;
}

export const amazonImporter: FileImporter = {
  async *read(path, { signal, onProgress }): AsyncGenerator<AmazonBatch> {
    try {
      await fsp.access(path);
    } catch {
      throw usage('IMPORT_PATH_NOT_FOUND', `${path} does not exist or cannot be read`, 'Pass the zip Amazon sent you ("Your Orders.zip"), the folder you unpacked it into, or one CSV from it.');
    }
    const stage = new Staging();
    try {
      const files: FileSummary[] = [];
      const errors: RowIssue[] = [];
      const counts = { skipped: 0 };
      const st = await fsp.stat(path);
      const single = st.isFile() && !/\.zip$/i.test(path);
      // Lazily: a zip stays open while its entries are read, one stream at a time.
      try {
        let i = 0;
        for await (const src of listSources(path)) {
          signal.throwIfAborted();
          let bytes = 0;
          const index = i++;
          files.push(await ingest(src, index, stage, single, errors, counts, (n) => onProgress?.({ file: src.name, bytes: (bytes += n), totalBytes: src.size })));
        }
      } catch (err) {
        if (err instanceof OrderlinkError || (err as Error).name === 'AbortError') throw err;
        throw new OrderlinkError('IMPORT_READ_FAILED', `could not read ${path} (${(err as { code?: string }).code ?? (err as Error).message.slice(0, 80)})`, {
          kind: 'usage',
          hint: 'Pass a zip, a folder or a CSV; if the zip is damaged, download the export again.',
        });
      }
      if (!files.some((f) => f.kind !== 'ignored')) {
        throw usage('NO_AMAZON_FILES', `no Amazon order files found in ${path}${files.length ? ` (${files.length} CSV file${files.length === 1 ? '' : 's'} looked at, none recognised)` : ''}`, `Expected Retail.OrderHistory.N.csv, "Your Amazon Orders/Order History.csv", the legacy order reports, Digital Items.csv or the refund files. Request your data at amazon.com/hz/privacy-central/data-requests (see docs/amazon.md).`);
      }
      const issues: AssemblyIssue[] = [];
      let batch: AmazonBatch['records'] = [];
      let first = true;
      const flush = (): AmazonBatch => {
        const rowErrors = first ? [...errors] : [];
        for (const x of issues.splice(0)) {
          counts.skipped++;
          files[x.src]!.skipped++;
          rowErrors.push({ file: files[x.src]!.file, line: x.line, column: x.column, message: x.message });
        }
        first = false;
        const out: AmazonBatch = { file: path, records: batch, rowErrors };
        batch = [];
        return out;
      };
      for (const group of stage.groups()) {
        for (const a of assemble(group, issues)) {
          files[a.src]!.orders++;
          batch.push({ ...a.raw, _file: files[a.src]!.file });
        }
        if (batch.length >= BATCH_SIZE) {
          signal.throwIfAborted();
          yield flush();
        }
      }
      const last = flush();
      last.summary = { files, skippedRows: counts.skipped };
      yield last;
    } finally {
      stage.close();
    }
  },
};
