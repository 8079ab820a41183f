/** Docs are tested artefacts: every command is in the README, and the exit codes agree. */
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MANIFEST } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { listConnectors } from '../src/connectors/registry.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('docs', () => {
  it('the README shows every command with an example', () => {
    for (const m of MANIFEST) expect(readme, m.name).toMatch(new RegExp('`orderlink ' + m.name + '[ `]'));
    for (const sub of ['orders show', 'orders stats', 'vault status', 'vault rotate', 'vault migrate', 'sandbox serve']) {
      expect(readme, sub).toContain(`orderlink ${sub}`);
    }
  });

  it('the README documents every exit code', () => {
    const section = readme.slice(readme.indexOf('## Exit codes'));
    for (const [name, code] of Object.entries(ExitCode)) expect(section, name).toMatch(new RegExp(`\\| ${code} \\|`));
  });

  it('the quick start is exactly two lines: install + demo, and the test command', () => {
    const quick = readme.slice(readme.indexOf('## Quick start'));
    const block = /```sh\n([\s\S]*?)```/.exec(quick)![1]!.trim().split('\n');
    expect(block).toEqual(['npm ci && npm run demo', 'npm test']);
  });

  it('every connector has its docs page, and every linked doc exists', () => {
    for (const c of listConnectors()) expect(existsSync(new URL(`../${c.docs}`, import.meta.url)), c.docs).toBe(true);
    for (const [, path] of readme.matchAll(/\]\((docs\/[^)]+)\)/g)) expect(existsSync(new URL(`../${path}`, import.meta.url)), path).toBe(true);
  });
});
