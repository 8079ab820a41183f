import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/store/index.js';

function setup(rows = 5) {
  const dir = mkdtempSync(join(tmpdir(), 'ol-audit-'));
  const store = Store.open(join(dir, 'a.db'), 'default');
  for (let i = 1; i <= rows; i++) store.audit.append('run-1', i % 2 ? 'token.use' : 'sync.finish', 1, { n: i });
  return { store, done: () => (store.close(), rmSync(dir, { recursive: true, force: true })) };
}

describe('audit log hash chain', () => {
  it('verifies an untouched log', () => {
    const { store, done } = setup();
    expect(store.audit.verify()).toEqual({ ok: true, rows: 5, problems: [] });
    done();
  });

  it('detects and names an edited row', () => {
    const { store, done } = setup();
    store.db.prepare("UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 3").run();
    const r = store.audit.verify();
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ seq: 3, kind: 'edited' })]);
    done();
  });

  it('detects a deleted row in the middle and a truncated tail', () => {
    const { store, done } = setup();
    store.db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    expect(store.audit.verify().problems[0]).toMatchObject({ seq: 2, kind: 'deleted' });
    store.db.prepare('DELETE FROM audit_log WHERE seq >= 4').run();
    expect(store.audit.verify().problems.map((p) => p.kind)).toContain('truncated');
    done();
  });

  it('never stores values under secret-looking keys', () => {
    const { store, done } = setup(0);
    store.audit.append('r', 'x', null, { refresh_token: 'rt-SECRET', accessToken: 'at-SECRET', code: 'c-SECRET', token_ref: 'ok-ref', error_code: 'E1' });
    const d = store.audit.list()[0]!.detail;
    expect(JSON.stringify(d)).not.toContain('SECRET');
    expect(d).toMatchObject({ token_ref: 'ok-ref', error_code: 'E1' });
    done();
  });

  it('filters by action prefix, connection and since', () => {
    const { store, done } = setup();
    expect(store.audit.list({ action: 'token' }).length).toBe(3);
    expect(store.audit.list({ connectionId: 2 }).length).toBe(0);
    expect(store.audit.list({ since: '2999-01-01' }).length).toBe(0);
    expect(store.audit.list({ limit: 2 }).map((e) => e.seq)).toEqual([4, 5]);
    done();
  });
});
