/**
 * node:crypto on first use. Loading it costs ~2.5 ms (twenty internal modules), and the commands
 * people run most (`orders`, `orders stats`) read without hashing anything: the modules that hash
 * when writing (the order and charge writers, the audit chain) and the run id take it from here
 * instead of importing it at load (docs/performance.md, start-up).
 */
import type * as Crypto from 'node:crypto';

let loaded: typeof Crypto | undefined;

export function nodeCrypto(): typeof Crypto {
  return (loaded ??= process.getBuiltinModule('node:crypto'));
}
