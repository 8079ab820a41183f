/**
 * Descriptors added to a profile (`orderlink connector add NAME --from FILE`): one JSON file per
 * connector in `<profile>/connectors/NAME.json`, mode 0600, created exclusively (an existing one
 * is never overwritten: remove it first). The file holds the validated descriptor — never a
 * secret: a confidential client's secret is in the vault.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OrderlinkError, usageError } from '../../errors.js';
import { ensurePrivateDir, type ProfilePaths } from '../../paths.js';
import { descriptorSchema, type Descriptor } from './schema.js';

/** Names users type: lowercase, digits and "-", 2–32, starting with a letter. */
export const CONNECTOR_NAME = /^[a-z][a-z0-9-]{1,31}$/;

export const descriptorsDir = (p: ProfilePaths): string => join(p.dir, 'connectors');
export const descriptorPath = (p: ProfilePaths, name: string): string => join(descriptorsDir(p), `${name}.json`);

export function checkName(name: string): string {
  if (!CONNECTOR_NAME.test(name)) throw usageError('BAD_CONNECTOR_NAME', `"${name.slice(0, 40)}" is not a connector name`, 'Use 2–32 lowercase letters, digits or "-", starting with a letter (it becomes /callback/NAME).');
  return name;
}

/** Parse and validate descriptor text; every problem is named by its path in the file. */
export function parseDescriptor(text: string, where: string): Descriptor {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // Where, never what: the file could be something else entirely (a key file passed by mistake).
    const at = err instanceof SyntaxError ? /position (\d+)/.exec(err.message)?.[1] : undefined;
    throw usageError('BAD_DESCRIPTOR', `${where} is not JSON${at ? ` (a syntax error at character ${at})` : ''}`, 'A descriptor is a JSON file; see examples/connectors/sandbox.json.');
  }
  const r = descriptorSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 8).map((i) => `  ${i.path.map(String).join('.') || '(top level)'}: ${i.message}`);
    throw new OrderlinkError('BAD_DESCRIPTOR', `${where} is not a valid connector descriptor:\n${lines.join('\n')}${r.error.issues.length > 8 ? `\n  … and ${r.error.issues.length - 8} more` : ''}`, {
      kind: 'usage',
      hint: 'The fields are described in docs/connector-author.md and docs/connector-descriptor.schema.json.',
    });
  }
  return r.data;
}

/**
 * Write the descriptor: created exclusively (an existing one is an error), or with `replace` a new
 * version written beside it (exclusively too) and renamed over it — never a half-written file.
 */
export function writeDescriptor(p: ProfilePaths, name: string, d: Descriptor, replace = false): string {
  ensurePrivateDir(descriptorsDir(p));
  const final = descriptorPath(p, name);
  const path = replace ? `${final}.${process.pid}.tmp` : final;
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw usageError('CONNECTOR_EXISTS', `a connector called ${name} is already added to this profile`, `Remove it first (orderlink connector remove ${name}), then add it again.`);
    }
    throw err;
  }
  try {
    writeSync(fd, `${JSON.stringify(d, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (replace) renameSync(path, final);
  return final;
}

export function readDescriptor(p: ProfilePaths, name: string): Descriptor | undefined {
  if (!CONNECTOR_NAME.test(name)) return undefined;
  const path = descriptorPath(p, name);
  if (!existsSync(path)) return undefined;
  return parseDescriptor(readFileSync(path, 'utf8'), path);
}

export function listDescriptorNames(p: ProfilePaths): string[] {
  const dir = descriptorsDir(p);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).filter((n) => CONNECTOR_NAME.test(n)).sort();
}

export function deleteDescriptor(p: ProfilePaths, name: string): boolean {
  const path = descriptorPath(p, name);
  if (!existsSync(path)) return false;
  unlinkSync(path);
  return true;
}
