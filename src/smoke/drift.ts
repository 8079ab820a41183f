/**
 * Schema drift: the shape of what a provider sends now, compared with the shape of the payloads
 * its connector was recorded against (the connector's `fixtures/`). A shape is the set of dotted
 * paths (`items[].unit_price`) with the JSON types seen at each — never a value, so no provider
 * data (and no payment field's content) is ever kept or printed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Shape = Map<string, Set<string>>;
/** How often each path was seen ('' counts records): a path seen as often as its parent is required. */
const COUNTS = new WeakMap<Shape, Map<string, number>>();

export interface Drift {
  kind: 'added' | 'removed' | 'renamed' | 'retyped';
  path: string;
  /** renamed: the new path; retyped: "string → number". */
  detail?: string;
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Adds the paths and types of one record to `shape`. Depth- and width-bounded. */
export function addShape(shape: Shape, value: unknown, path = '', depth = 0): void {
  if (depth > 8) return;
  const t = typeOf(value);
  let counts = COUNTS.get(shape);
  if (!counts) COUNTS.set(shape, (counts = new Map()));
  counts.set(path, (counts.get(path) ?? 0) + 1);
  if (path) {
    let s = shape.get(path);
    if (!s) shape.set(path, (s = new Set()));
    s.add(t);
  }
  if (t === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 200)) addShape(shape, v, path ? `${path}.${k}` : k, depth + 1);
  } else if (t === 'array') {
    for (const v of (value as unknown[]).slice(0, 50)) addShape(shape, v, `${path}[]`, depth + 1);
  }
}

export function shapeOf(records: readonly unknown[]): Shape {
  const shape: Shape = new Map();
  for (const r of records) addShape(shape, r);
  return shape;
}

/** The record arrays of a recorded page, whatever the provider calls them. */
export function recordsOfPage(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== 'object') return [];
  const out: unknown[] = [];
  for (const v of Object.values(body as Record<string, unknown>)) if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) out.push(...v);
  return out;
}

/** The shape of a connector's recorded JSON fixtures, or null when it has none to compare with. */
export function recordedShape(fixturesDir: string): Shape | null {
  if (!existsSync(fixturesDir)) return null;
  const files = readdirSync(fixturesDir).filter((n) => n.endsWith('.json'));
  if (!files.length) return null;
  const shape: Shape = new Map();
  for (const f of files) {
    try {
      for (const r of recordsOfPage(JSON.parse(readFileSync(join(fixturesDir, f), 'utf8')))) addShape(shape, r);
    } catch {
      /* not a page of records */
    }
  }
  return shape.size ? shape : null;
}

const parent = (p: string) => (p.endsWith('[]') ? p.slice(0, -2) : p.slice(0, Math.max(p.lastIndexOf('.'), 0)));

/**
 * Present in (nearly) every occurrence of its parent — every record, every item — so its absence
 * is news. "Nearly": a recorded page mixes variants (an order and a deletion), and a field every
 * order has is still absent from the deletions.
 */
function required(shape: Shape, p: string): boolean {
  const counts = COUNTS.get(shape);
  if (!counts) return true;
  return (counts.get(p) ?? 0) >= 0.8 * (counts.get(parent(p)) ?? 0);
}
const concrete = (s: Set<string>) => new Set([...s].filter((t) => t !== 'null'));

/**
 * What changed from `recorded` to `live`. A path gone on one side and a new one beside it (same
 * parent, same types) is a rename; a path whose non-null types no longer overlap is a retype.
 * Paths under an added, removed or renamed container are reported once, at the container.
 */
export function diffShapes(recorded: Shape, live: Shape): Drift[] {
  // A recorded field that was optional (absent from some recorded records) may simply not occur
  // in a small live sample: only a field that was always there counts as removed.
  const removed = [...recorded.keys()].filter((p) => !live.has(p) && required(recorded, p) && (parent(p) === '' || live.has(parent(p))));
  const added = [...live.keys()].filter((p) => !recorded.has(p));
  const top = (paths: string[]) => paths.filter((p) => !paths.some((q) => q !== p && (p.startsWith(`${q}.`) || p.startsWith(`${q}[]`))));
  const out: Drift[] = [];
  const addedTop = top(added);
  const usedAdded = new Set<string>();
  for (const r of top(removed)) {
    const twin = addedTop.find((a) => !usedAdded.has(a) && parent(a) === parent(r) && [...recorded.get(r)!].sort().join() === [...live.get(a)!].sort().join());
    if (twin) {
      usedAdded.add(twin);
      out.push({ kind: 'renamed', path: r, detail: twin });
    } else out.push({ kind: 'removed', path: r });
  }
  for (const a of addedTop) if (!usedAdded.has(a)) out.push({ kind: 'added', path: a });
  for (const [p, types] of live) {
    const before = recorded.get(p);
    if (!before) continue;
    const was = concrete(before);
    const now = concrete(types);
    if (was.size && now.size && ![...now].some((t) => was.has(t))) out.push({ kind: 'retyped', path: p, detail: `${[...was].join('|')} → ${[...now].join('|')}` });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
