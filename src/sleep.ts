/**
 * The one abortable wait: backoff, Retry-After, rate-limit pacing and polling all sleep through it,
 * so Ctrl-C ends every wait at once with the same `interrupted` error (exit 130).
 */
import { OrderlinkError } from './errors.js';

export function abortableSleep(ms: number, signal: AbortSignal, message = 'interrupted'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stop = () => new OrderlinkError('INTERRUPTED', message, { kind: 'interrupted' });
    if (signal.aborted) return reject(stop());
    const onAbort = () => {
      clearTimeout(t);
      reject(stop());
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
