/**
 * Where the CSV files come from: a single file, a folder (walked recursively, zips inside it
 * included), or the downloaded zip read entry by entry as streams (yauzl) without unpacking
 * anything to disk. Then each CSV is parsed as a stream (csv-parse), one record at a time, with
 * the line it starts on, so memory stays flat in the file's size.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import yauzl from 'yauzl';

export interface Source {
  /** Shown to the person: a path relative to what they named (`zip.zip:Retail.OrderHistory.1/...csv`). */
  name: string;
  size: number;
  open(): Promise<Readable>;
}

const isCsv = (n: string) => /\.csv$/i.test(n) && !/(^|\/)__MACOSX\//.test(n) && !/(^|\/)\._/.test(n);
const isZip = (n: string) => /\.zip$/i.test(n);

/** Every CSV under PATH, in a stable (sorted) order. `skipped` gets what is neither CSV nor zip. */
export async function* listSources(path: string): AsyncGenerator<Source> {
  const st = await fsp.stat(path);
  if (st.isDirectory()) {
    for (const file of await walk(path)) {
      const name = relative(path, file).split('\\').join('/');
      if (isZip(file)) yield* zipSources(file, name);
      else if (isCsv(file)) yield fileSource(file, name, (await fsp.stat(file)).size);
    }
  } else if (isZip(path) || (await looksLikeZip(path))) {
    yield* zipSources(path, basename(path));
  } else {
    yield fileSource(path, basename(path), st.size);
  }
}

function fileSource(file: string, name: string, size: number): Source {
  return { name, size, open: async () => createReadStream(file) };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function looksLikeZip(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    await fh.read(buf, 0, 4, 0);
    return buf.readUInt32LE(0) === 0x04034b50;
  } finally {
    await fh.close();
  }
}

const openZip = (path: string): Promise<yauzl.ZipFile> =>
  new Promise((resolve, reject) => yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip))));

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const done = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: yauzl.Entry) => (done(), resolve(e));
    const onEnd = () => (done(), resolve(null));
    const onError = (err: Error) => (done(), reject(err));
    zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
    zip.readEntry();
  });
}

async function* zipSources(path: string, display: string): AsyncGenerator<Source> {
  const zip = await openZip(path);
  try {
    const names: yauzl.Entry[] = [];
    for (let e = await nextEntry(zip); e; e = await nextEntry(zip)) if (isCsv(e.fileName) && !e.fileName.endsWith('/')) names.push(e);
    names.sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
    for (const entry of names) {
      yield {
        name: `${display}:${entry.fileName}`,
        size: entry.uncompressedSize,
        open: () => new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s)))),
      };
    }
  } finally {
    zip.close();
  }
}

export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  fields: string[];
}

/**
 * Records of one CSV stream. BOM stripped, LF or CRLF, quoted newlines and `""` escapes,
 * inconsistent quoting and ragged rows (trailing commas, deleted columns) all accepted.
 */
export async function* readCsv(stream: Readable, onBytes: (n: number) => void): AsyncGenerator<CsvRecord> {
  stream.on('data', (chunk: Buffer) => onBytes(chunk.length));
  const parser = stream.pipe(
    parse({ bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: false, info: true }),
  );
  stream.on('error', (err) => parser.destroy(err));
  let end = 0;
  for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const start = end + 1;
    end = rec.info.lines;
    if (rec.record.length === 1 && rec.record[0]!.trim() === '') continue; // a blank line
    yield { line: start, fields: rec.record };
  }
}
