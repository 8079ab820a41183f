/**
 * Which connector an id names: the static registry first (built-in connectors can never be
 * shadowed), then the descriptors added to the current profile (`orderlink connector add`).
 */
import type { Context } from '../context.js';
import { OrderlinkError } from '../errors.js';
import { connectorFromDescriptor } from './generic/index.js';
import { descriptorPath, listDescriptorNames, readDescriptor } from './generic/files.js';
import { CONNECTORS, listConnectors } from './registry.js';
import type { Connector } from './types.js';

export function resolveConnector(ctx: Pick<Context, 'paths'>, id: string): Connector {
  const builtIn = (CONNECTORS as Record<string, Connector<any, any>>)[id]; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (builtIn) return builtIn as Connector;
  const d = readDescriptor(ctx.paths, id);
  if (d) return connectorFromDescriptor(id, d, descriptorPath(ctx.paths, id)) as Connector;
  const added = listDescriptorNames(ctx.paths);
  throw new OrderlinkError('UNKNOWN_CONNECTOR', `no connector called "${id.slice(0, 40)}"`, {
    kind: 'usage',
    hint: `Available: ${[...Object.keys(CONNECTORS), ...added].join(', ')}. Add one from a descriptor: orderlink connector add NAME --from FILE`,
  });
}

/** Every connector this profile can use: built-in, then added. A broken descriptor file is skipped, not fatal. */
export function listAllConnectors(ctx: Pick<Context, 'paths'>): Array<{ connector: Connector; added: boolean }> {
  const out = listConnectors().map((connector) => ({ connector, added: false }));
  for (const name of listDescriptorNames(ctx.paths)) {
    if (name in CONNECTORS) continue;
    try {
      out.push({ connector: resolveConnector(ctx, name), added: true });
    } catch {
      /* `connector show NAME` reports what is wrong with it */
    }
  }
  return out;
}
