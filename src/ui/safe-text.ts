/**
 * Text that came from outside (provider data, imported files, error messages) is made safe HERE,
 * once, for every human rendering (SECURITY.md rule 30): tables, `orders show`, charts, audit and
 * connection listings, piped TSV, and every stderr line (io.err). Nothing from a provider may
 * move the cursor, rewrite a line (CR), set the clipboard (OSC 52), make a hyperlink (OSC 8),
 * change the window title, or reorder what the person reads (bidi overrides, "Trojan Source").
 *
 * - Whole escape sequences are removed (CSI `ESC [ … final`, OSC/DCS/SOS/PM/APC strings up to BEL
 *   or ST, and two-byte `ESC x`), including their 8-bit C1 forms (U+009B CSI, U+009D OSC, …), so
 *   no half-sequence such as "[31m" is left to confuse the eye.
 * - Tab, newline, CR, vertical tab and form feed become a space (a cell is one line).
 * - Every other C0 control, DEL and C1 control becomes U+FFFD (visible: "something was here").
 * - Bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069), the Arabic letter mark,
 *   LRM/RLM and the line/paragraph separators U+2028/2029 are removed.
 *
 * Truncation (`truncateCells`) happens after sanitising and only at grapheme boundaries, so it
 * can neither cut an escape sequence in half nor split an emoji or a letter with its accents.
 */

// Strings: OSC, DCS, SOS, PM, APC (7-bit ESC ] P X ^ _ and 8-bit 9D 90 98 9E 9F), ended by BEL or
// ST (ESC \ or 9C), or by the end of the text when unterminated (a terminal would swallow it all).
const STRING_SEQ = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)/g;
// CSI: ESC [ or 9B, parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte.
const CSI_SEQ = /(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?/g;
// Any other escape: ESC, optional intermediates, one final byte (ESC 7, ESC c, ESC ( B, …).
const ESC_SEQ = /\x1b[\x20-\x2f]*[\x30-\x7e]?/g;
const SPACES = /[\t\n\r\v\f]/g;
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;
const BIDI = /[\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\u2028\u2029]/g;

/** The one sanitiser for text shown to people. Accepts anything; null/undefined become ''. */
export function safeText(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : String(value);
  // Fast path: plain printable text (the common case) is returned as is.
  if (!/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\u2028\u2029]/.test(s)) return s;
  return s.replace(STRING_SEQ, '').replace(CSI_SEQ, '').replace(ESC_SEQ, '').replace(SPACES, ' ').replace(CONTROLS, '\ufffd').replace(BIDI, '');
}

/**
 * For stderr lines that mix our own colours with outside text (io.err): the colours orderlink
 * itself emits are SGR sequences (`ESC [ digits ; m`), which are kept; everything else is
 * sanitised as by safeText, except that a newline inside the line is kept (multi-line hints).
 * Renderers still call safeText on outside values: this is the net under them, for lines built
 * in modules that interpolate provider text directly (a provider's error message, an account
 * label, a skipped record's id).
 */
export function safeLine(line: string): string {
  if (!/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\u2028\u2029]/.test(line)) return line;
  const parts = line.split(/(\x1b\[[0-9;]*m|\n)/);
  return parts.map((p, i) => (i % 2 === 1 ? p : safeText(p))).join('');
}

/**
 * For whole chunks going to a terminal's stdout (io.write on a TTY: `orders --csv` or `--json`
 * typed at a prompt): like safeLine, but tabs, newlines and CRLF line ends are kept, so the
 * output still looks like what it is; a bare CR (overwrite) becomes a space.
 */
export function safeChunk(chunk: string): string {
  if (!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\u2028\u2029]/.test(chunk)) return chunk;
  const parts = chunk.split(/(\x1b\[[0-9;]*m|\r\n|\n|\t)/);
  return parts.map((p, i) => (i % 2 === 1 ? p : safeText(p))).join('');
}

// Made on first use: creating it loads ICU's break iterator data, ~7 ms of every start-up otherwise.
let segmenter: Intl.Segmenter | undefined;

/** The grapheme clusters of a string (what a person sees as one character). */
export function graphemes(s: string): string[] {
  return Array.from((segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(s), (x) => x.segment);
}

/**
 * Terminal cells a string takes: East Asian wide characters and emoji count two, combining marks
 * and zero-width characters none. Close enough to wcwidth for labels and cells.
 */
export function displayWidth(s: string): number {
  // Printable ASCII: one cell per character, each its own grapheme (and no segmenter to load).
  if (/^[\x20-\x7e]*$/.test(s)) return s.length;
  let w = 0;
  for (const g of graphemes(s)) w += graphemeWidth(g);
  return w;
}

function graphemeWidth(g: string): number {
  const cp = g.codePointAt(0)!;
  if (/^[\p{M}\u200b\u200c\u200d\ufe0f]/u.test(g)) return 0;
  // An emoji presentation sequence or a ZWJ sequence is drawn as one wide glyph.
  if (g.includes('\ufe0f') || g.includes('\u200d') || /\p{Regional_Indicator}/u.test(g)) return 2;
  return isWide(cp) ? 2 : 1;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/**
 * Sanitise, then cut to at most `max` terminal cells with an ellipsis, at a grapheme boundary.
 * Text that fits is returned sanitised and uncut.
 */
export function truncateCells(value: unknown, max: number): string {
  const s = safeText(value);
  if (displayWidth(s) <= max) return s;
  let out = '';
  let w = 0;
  for (const g of graphemes(s)) {
    const gw = graphemeWidth(g);
    if (w + gw > max - 1) break;
    out += g;
    w += gw;
  }
  return out + '…';
}

/** Sanitise, cut to `max` cells (see truncateCells), then pad with spaces to exactly `max` cells. */
export function fitCells(value: unknown, max: number): string {
  const s = truncateCells(value, max);
  return s + ' '.repeat(Math.max(0, max - displayWidth(s)));
}

/**
 * JSON for `--json` / `--ndjson`: JSON.stringify escapes C0 controls but leaves DEL, the C1
 * controls and the bidi and separator characters raw; these become \u escapes here, so a
 * terminal that shows the JSON is as safe as one that shows a table. The value is unchanged for
 * any JSON parser.
 */
export function safeJson(value: unknown, indent?: number): string {
  return jsonEscapeRaw(JSON.stringify(value, bigintReplacer, indent));
}

/** What jsonEscapeRaw rewrites: a test before the replace spares text that has none a copy. */
export const JSON_ESCAPED = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\u2028\u2029]/;

/** Post-process JSON text (already valid) so DEL, C1, bidi and U+2028/2029 appear as \u escapes. */
export function jsonEscapeRaw(json: string): string {
  return json.replace(/[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** BigInt totals (beyond 2^53) become digit strings: exact for every JSON reader. */
function bigintReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * One cell of piped (TSV) output: sanitised like any human text, so it never carries a tab,
 * newline, escape sequence or control character (a tab or newline in a value becomes a space).
 */
export function tsvCell(value: unknown): string {
  return safeText(value);
}
