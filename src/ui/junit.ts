/**
 * `sync --junit FILE`: a JUnit XML report for CI dashboards (DESIGN.md, CI smoke tests). One
 * testsuite per run, one testcase per connection; `partial`, `failure` and `reauth_required`
 * are failures with the stable error code as their type. Every string is provider- or
 * user-derived text, so all of it is XML-escaped; no token ever reaches a ConnectionResult.
 */
import { lstatSync } from 'node:fs';
import { writeFileSafely } from '../files.js';
import type { ConnectionResult } from '../sync/index.js';

export const xml = (s: string): string =>
  s
    // Not allowed in XML 1.0 (C0), or able to act on a terminal that shows the report (DEL, C1).
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function junitReport(results: readonly ConnectionResult[], o: { runId: string; at: Date; dryRun: boolean }): string {
  const failed = results.filter((r) => r.status !== 'success');
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const total = results.reduce((s, r) => s + r.durationMs, 0);
  const cases = results.map((r) => {
    const name = `sync ${r.handle}${o.dryRun ? ' (dry run)' : ''}`;
    const figures = `pages=${r.pages} fetched=${r.fetched} added=${r.added} updated=${r.updated} unchanged=${r.unchanged} deleted=${r.deleted} errors=${r.errors} requests=${r.requests}`;
    let body = `      <system-out>${xml(figures)}</system-out>\n`;
    if (r.status !== 'success') {
      const type = r.error?.code ?? r.status.toUpperCase();
      const msg = r.error?.message ?? `${r.recordErrors.length} invalid record(s) skipped`;
      const detail = [
        ...(r.error?.hint ? [`hint: ${r.error.hint}`] : []),
        ...r.recordErrors.slice(0, 50).map((e) => `record ${e.orderId ?? `#${e.index + 1} on page ${e.page}`}: ${e.field}: ${e.message}`),
      ].join('\n');
      body = `      <failure type="${xml(type)}" message="${xml(msg)}">${xml(detail)}</failure>\n` + body;
    }
    return `    <testcase classname="orderlink.sync" name="${xml(name)}" time="${secs(r.durationMs)}">\n${body}    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="orderlink" tests="${results.length}" failures="${failed.length}" time="${secs(total)}">`,
    `  <testsuite name="orderlink sync" id="${xml(o.runId)}" timestamp="${o.at.toISOString()}" tests="${results.length}" failures="${failed.length}" errors="0" skipped="0" time="${secs(total)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/**
 * Written whole or not at all: a temp file beside the target with an unpredictable name, created
 * exclusively without following links (O_EXCL|O_NOFOLLOW, 0600: SECURITY.md rule 32), then a
 * rename. rename() replaces a symlink at `path` itself, never the file it points to.
 */
export function writeJunit(path: string, text: string): void {
  if (lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  writeFileSafely(path, text, true);
}
