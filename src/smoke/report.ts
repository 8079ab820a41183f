/**
 * `orderlink smoke` results: one check per (connection, aspect), rendered as JSON or as a JUnit
 * report with one testcase per check. Every string may be provider-derived: all of it is
 * XML-escaped, and no value from a record (only paths and types) ever reaches a check.
 */
import { xml } from '../ui/junit.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  connection: string;
  name: 'link' | 'fetch' | 'schema' | 'drift';
  status: CheckStatus;
  /** A stable code for failures and warnings (PROVIDER_TIMEOUT, INVALID_RECORDS, SCHEMA_DRIFT…). */
  code?: string;
  message: string;
  details?: string[];
  durationMs?: number;
}

export function smokeJunit(checks: readonly Check[], o: { runId: string; at: Date }): string {
  const failures = checks.filter((c) => c.status === 'fail').length;
  const skipped = checks.filter((c) => c.status === 'skip').length;
  const secs = (ms = 0) => (ms / 1000).toFixed(3);
  const total = checks.reduce((s, c) => s + (c.durationMs ?? 0), 0);
  const cases = checks.map((c) => {
    const body: string[] = [];
    if (c.status === 'fail') body.push(`      <failure type="${xml(c.code ?? 'FAILED')}" message="${xml(c.message)}">${xml((c.details ?? []).join('\n'))}</failure>`);
    if (c.status === 'skip') body.push(`      <skipped message="${xml(c.message)}"/>`);
    if (c.status !== 'fail') body.push(`      <system-out>${xml([c.status === 'warn' ? `warning ${c.code ?? ''}: ${c.message}` : c.message, ...(c.details ?? [])].join('\n'))}</system-out>`);
    return `    <testcase classname="orderlink.smoke.${xml(c.connection)}" name="${xml(c.name)}" time="${secs(c.durationMs)}">\n${body.join('\n')}\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="orderlink smoke" tests="${checks.length}" failures="${failures}" time="${secs(total)}">`,
    `  <testsuite name="orderlink smoke" id="${xml(o.runId)}" timestamp="${o.at.toISOString()}" tests="${checks.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${secs(total)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
