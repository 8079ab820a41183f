/**
 * Laying out a help template (scripts/gen-help.mjs) at a width, exactly as commander 14's Help
 * does: the command's description wrapped to the help width, and each item (an option, an
 * argument, a subcommand) with its term padded to the longest term and its description wrapped
 * in the column beside it. Wrapping is at whitespace, keeps existing line breaks, and is skipped
 * below 40 columns or for a description that is already laid out (a line break then spaces).
 * test/help-fast.test.ts compares the result with commander's own output at many widths for
 * every command, so a commander upgrade that changes its layout fails there, not for users.
 */

/** A slot: the description (`b`, wrapped to the help width) or an item (term, term column width, description). */
export type HelpSlot = { k: 'b'; s: string } | { k: 'i'; t: string; w: number; d: string };
export interface HelpTemplate {
  text: string;
  slots: HelpSlot[];
}

const MIN_WIDTH_TO_WRAP = 40;
const ITEM_INDENT = '  ';
const SPACER = 2;
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[\d*(;\d*)*m/g;
const displayWidth = (s: string): number => s.replace(SGR, '').length;

export function renderHelp(t: HelpTemplate, width: number): string {
  // eslint-disable-next-line no-control-regex
  return t.text.replace(/\u0001(\d+)\u0002/g, (_, i: string) => {
    const s = t.slots[Number(i)]!;
    return s.k === 'b' ? boxWrap(s.s, width) : item(s.t, s.w, s.d, width);
  });
}

function item(term: string, termWidth: number, description: string, width: number): string {
  if (!description) return ITEM_INDENT + term;
  const padded = term.padEnd(termWidth + term.length - displayWidth(term));
  const remaining = width - termWidth - SPACER - ITEM_INDENT.length;
  const text =
    remaining < MIN_WIDTH_TO_WRAP || /\n[^\S\r\n]/.test(description)
      ? description
      : boxWrap(description, remaining).replace(/\n/g, `\n${' '.repeat(termWidth + SPACER)}`);
  return ITEM_INDENT + padded + ' '.repeat(SPACER) + text.replace(/\n/g, `\n${ITEM_INDENT}`);
}

/** Words (with the whitespace before them) gathered into lines of at most `width` columns. */
function boxWrap(str: string, width: number): string {
  if (width < MIN_WIDTH_TO_WRAP) return str;
  const out: string[] = [];
  for (const line of str.split(/\r\n|\n/)) {
    const chunks = line.match(/[\s]*[^\s]+/g);
    if (chunks === null) {
      out.push('');
      continue;
    }
    let current = [chunks[0]!];
    let used = displayWidth(chunks[0]!);
    for (const chunk of chunks.slice(1)) {
      const w = displayWidth(chunk);
      if (used + w <= width) {
        current.push(chunk);
        used += w;
        continue;
      }
      out.push(current.join(''));
      const next = chunk.trimStart();
      current = [next];
      used = displayWidth(next);
    }
    out.push(current.join(''));
  }
  return out.join('\n');
}
