/**
 * stdout and stderr written straight to their file descriptors when they are a pipe, a file or a
 * socket — never a terminal. Node makes process.stdout a net.Socket for a pipe, and creating it
 * loads the whole stream stack (net, streams, pipe_wrap: ~30 internal modules, a few ms of every
 * `orders | …` start, docs/performance.md). A blocking write(2) does what Node does for files
 * and pipes on Linux anyway: the bytes have reached the kernel when write() returns.
 *
 * What a stream adds is kept: a broken pipe (EPIPE) or a full disk is an 'error' event, as
 * io.ts's watch() expects. Past the first DIRECT_LIMIT bytes the rest goes through the real
 * process stream, in order: a blocking write to a pipe whose reader has stalled would hold the
 * event loop, so Ctrl-C would not be heard until the reader moved (`orders --ndjson | less`);
 * the stream waits for room without blocking. Start-up-sized output never gets there. A
 * descriptor in non-blocking mode (a pipe shared with a parent whose Node or libuv set
 * O_NONBLOCK) can also refuse with EAGAIN when the pipe is full: the stream takes over then too.
 */
import { fstatSync, writeSync } from 'node:fs';

type ErrorListener = (err: unknown) => void;

/** Bytes written directly before the stream takes over: what a Linux pipe holds (64 KiB). */
export const DIRECT_LIMIT = 64 * 1024;

let streamsMade = false;

/**
 * process.stdout or process.stderr, noting that one was made: from then on, output may be waiting
 * in a stream's buffer, and the process must end by itself (bin/orderlink), not by exit().
 */
export function processStream(fd: 1 | 2): NodeJS.WriteStream {
  streamsMade = true;
  return fd === 1 ? process.stdout : process.stderr;
}

/** True while every byte of output went straight to a descriptor: nothing is left to flush. */
export const outputSettled = (): boolean => !streamsMade;
type Event = 'drain' | 'close' | 'error';

/**
 * Whether `fd` is neither a terminal nor anything that might be one: only a character device can
 * be a terminal (/dev/null is one too, and keeps the stream). An fd that cannot be examined keeps
 * the stream, which knows how to report it.
 */
export function directWritable(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

export class FdSink {
  /** The process stream, once the descriptor refused to block (EAGAIN): it writes the rest. */
  private stream: NodeJS.WriteStream | undefined;
  private readonly errorListeners: ErrorListener[] = [];
  /** A write failed (EPIPE, ENOSPC): nothing more is written, as with a destroyed stream. */
  private failed = false;
  private written = 0;

  constructor(
    private readonly fd: number,
    private readonly fallback: () => NodeJS.WriteStream = () => processStream(fd === 2 ? 2 : 1),
    private readonly limit = DIRECT_LIMIT,
  ) {}

  get destroyed(): boolean {
    return this.stream ? this.stream.destroyed : this.failed;
  }

  /** Bytes accepted but not yet handed to the kernel: none while writing directly. */
  get writableLength(): number {
    return this.stream ? this.stream.writableLength : 0;
  }

  write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (this.stream) return cb ? this.stream.write(chunk, cb) : this.stream.write(chunk);
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (this.written + bytes.length > this.limit && !this.failed) return this.handOver(bytes, cb);
    this.written += bytes.length;
    let done = 0;
    while (done < bytes.length && !this.failed) {
      try {
        done += writeSync(this.fd, bytes, done, bytes.length - done);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EINTR') continue;
        if (code === 'EAGAIN') return this.handOver(bytes.subarray(done), cb);
        this.failed = true;
        // Asynchronously, as a stream reports it: the caller sees `false` first, then the error.
        process.nextTick(() => {
          for (const l of this.errorListeners) l(err);
          cb?.(err as Error);
        });
        return false;
      }
    }
    if (this.failed) {
      process.nextTick(() => cb?.(Object.assign(new Error('write after a failed write'), { code: 'ERR_STREAM_DESTROYED' })));
      return false;
    }
    if (cb) process.nextTick(() => cb(null));
    return true;
  }

  private handOver(rest: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    const stream = this.fallback();
    this.stream = stream;
    for (const l of this.errorListeners) stream.on('error', l);
    return cb ? stream.write(rest, cb) : stream.write(rest);
  }

  on(event: 'error', listener: ErrorListener): this {
    this.errorListeners.push(listener);
    this.stream?.on(event, listener);
    return this;
  }

  /** 'drain' and 'close' only ever come from the process stream: a direct write never waits. */
  once(event: Event, listener: () => void): this {
    this.stream?.once(event, listener);
    return this;
  }

  removeListener(event: Event, listener: () => void): this {
    this.stream?.removeListener(event, listener);
    return this;
  }
}
