/**
 * stdout and stderr written straight to their descriptors (src/ui/fd-sink.ts) when they are a
 * pipe, a file or a socket. Proven here, through the binary: the bytes are the same whichever
 * the destination, a reader that leaves early ends the command quietly with 0; and on a real
 * non-blocking FIFO: a full pipe (EAGAIN) hands the rest to a stream, in order, with no byte lost;
 * a failing descriptor is an OUTPUT_FAILED error, as with a stream.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { createIO } from '../src/ui/io.js';
import { directWritable, FdSink } from '../src/ui/fd-sink.js';
import { BIN } from './helpers/cli.js';
import { tempHome } from './helpers/context.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';

describe('output straight to the descriptor, through the binary', () => {
  let sb: SandboxHandle;
  let h: E2EHome;
  let scratch: string;
  beforeAll(async () => {
    sb = await sandbox({ accounts: 1, orders: 3_000 });
    h = e2eHome();
    await linkSandbox(h, sb, 'alice');
    const r = await h.cli(['sync']);
    expect(r.code, r.stderr).toBe(0);
    scratch = tempHome('orderlink-fd-');
  }, 120_000);
  afterAll(async () => {
    await sb?.close();
    h?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The binary with stdout on a regular file; returns the file's bytes and the exit code. */
  function toFile(args: string[]): { code: number | null; bytes: Buffer; stderr: string } {
    const file = join(scratch, `out-${Math.random().toString(36).slice(2)}`);
    const fd = openSync(file, 'w');
    try {
      const r = spawnSync(process.execPath, [BIN, '--home', h.home, ...args], { env: h.env, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      return { code: r.status, bytes: readFileSync(file), stderr: r.stderr };
    } finally {
      closeSync(fd);
    }
  }

  /** The binary through a shell pipe (a FIFO, where spawn's 'pipe' is a socket pair), read by `reader`. */
  function throughShellPipe(args: string[], reader: string): { status: string; out: string; err: string } {
    const errFile = join(scratch, `err-${Math.random().toString(36).slice(2)}`);
    const quoted = [process.execPath, BIN, '--home', h.home, ...args].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('bash', ['-c', `${quoted} 2>'${errFile}' | ${reader}; echo "status=\${PIPESTATUS[0]}" >&2`], { env: h.env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    return { status: /status=(\d+)/.exec(r.stderr)?.[1] ?? '?', out: r.stdout, err: readFileSync(errFile, 'utf8') };
  }

  it('writes the same bytes to a socket (spawn), a file and a shell pipe', async () => {
    for (const args of [['orders', '--ndjson'], ['orders', '--limit', '50'], ['orders', 'stats', '--json'], ['--help']]) {
      const socket = await h.cli(args);
      expect(socket.code, socket.stderr).toBe(0);
      const file = toFile(args);
      expect(file.code, file.stderr).toBe(0);
      expect(file.bytes.toString('utf8')).toBe(socket.stdout);
      const pipe = throughShellPipe(args, 'cat');
      expect(pipe.status, pipe.err).toBe('0');
      expect(pipe.out).toBe(socket.stdout);
    }
    expect(toFile(['orders', '--ndjson']).bytes.toString('utf8').trim().split('\n')).toHaveLength(3_000);
  });

  it.each([[['orders', '--ndjson']], [['export', '--format', 'ndjson', '--items']]])('Ctrl-C while the reader has stalled (a pager left open): heard at once, exit 130 (%j)', async (args) => {
    // stdout is a pipe nobody reads: 3,000 orders are far more than it holds.
    const child = spawn(process.execPath, [BIN, '--home', h.home, ...args], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pause();
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    // Wait until the pipe is full (the child has written all it can), then interrupt.
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (child.stdout!.readableLength > 0) {
          clearInterval(t);
          resolve();
        }
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).not.toMatch(/at .*\.js:\d+/);
  });

  it('a reader that leaves early (| head -n 2, or a closed socket): the command stops, exits 0, says nothing', async () => {
    const head = throughShellPipe(['orders', '--ndjson'], 'head -n 2');
    expect(head.status).toBe('0');
    expect(head.err).toBe('');
    expect(head.out.trim().split('\n').map((l) => typeof JSON.parse(l).order_id)).toEqual(['string', 'string']);
    const child = spawn(process.execPath, [BIN, '--home', h.home, 'orders', '--ndjson'], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(err).toBe('');
  });
});

describe('FdSink on a real FIFO', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempHome('orderlink-fifo-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A FIFO opened at both ends without blocking (as a pipe shared with a parent whose libuv set O_NONBLOCK). */
  function fifo(): { reader: number; writer: number } {
    const path = join(dir, `f-${Math.random().toString(36).slice(2)}`);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    return { reader, writer };
  }

  it('is used for pipes and files only: a terminal-capable device keeps the stream', () => {
    const { reader, writer } = fifo();
    expect(directWritable(writer)).toBe(true);
    const nul = openSync('/dev/null', 'w');
    expect(directWritable(nul)).toBe(false);
    expect(directWritable(987_654)).toBe(false);
    for (const fd of [reader, writer, nul]) closeSync(fd);
  });

  it('a full pipe (EAGAIN) hands the rest to a stream: every byte arrives, in order', async () => {
    const { reader, writer } = fifo();
    let handedOver = false;
    const sink = new FdSink(
      writer,
      () => {
        handedOver = true;
        return new net.Socket({ fd: writer, readable: false, writable: true }) as unknown as NodeJS.WriteStream;
      },
      Infinity, // no size limit: the pipe's own refusal hands over
    );
    const io = createIO({ stdout: sink, stderr: { write: () => true }, stdoutIsTTY: false, stderrIsTTY: false, env: {}, stdoutIsProcess: true });
    const chunks: Buffer[] = [];
    const source = new net.Socket({ fd: reader, readable: true, writable: false });
    source.on('data', (d: Buffer) => chunks.push(d));
    const ended = new Promise((resolve) => source.on('end', resolve));
    // 64 KiB fills a Linux pipe: 40 writes of 10 KiB must hit EAGAIN with nobody reading yet.
    const parts = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(4, '0')}:${'x'.repeat(10_235)}\n`);
    for (const p of parts) {
      expect(await io.write(p)).toBe(true);
      // Direct writes are in the kernel's hands at once (a buffer may be reused).
      if (!handedOver) expect(io.stdoutHandedOff()).toBe(true);
    }
    expect(handedOver).toBe(true);
    await new Promise<void>((resolve) => (sink as unknown as { stream: net.Socket }).stream.end(resolve));
    await ended;
    expect(Buffer.concat(chunks).toString('utf8')).toBe(parts.join(''));
  });

  it('past the first 64 KiB the stream takes over (a stalled reader must not block the event loop), in order', () => {
    const file = join(dir, 'direct.out');
    const fd = openSync(file, 'w');
    let handedOverAt = -1;
    let written = 0;
    const later: string[] = [];
    const stream = { write: (c: Uint8Array | string) => (later.push(Buffer.from(c).toString('utf8')), true), on: () => stream, once: () => stream, removeListener: () => stream, destroyed: false, writableLength: 0 };
    const sink = new FdSink(fd, () => {
      handedOverAt = written;
      return stream as unknown as NodeJS.WriteStream;
    });
    const parts = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(4, '0')}:${'y'.repeat(5_000)}\n`);
    for (const p of parts) {
      expect(sink.write(p)).toBe(true);
      written += Buffer.byteLength(p);
    }
    closeSync(fd);
    // 13 parts of 5,006 bytes fit in 65,536; the 14th and every later one are the stream's.
    expect(handedOverAt).toBe(13 * 5_006);
    expect(readFileSync(file, 'utf8')).toBe(parts.slice(0, 13).join(''));
    expect(later.join('')).toBe(parts.slice(13).join(''));
  });

  it('a descriptor that fails (here not open for writing) is an OUTPUT_FAILED error, and later writes are dropped', async () => {
    const { reader, writer } = fifo();
    const sink = new FdSink(reader, () => {
      throw new Error('no stream for a failed descriptor');
    });
    const io = createIO({ stdout: sink, stderr: { write: () => true }, stdoutIsTTY: false, stderrIsTTY: false, env: {}, stdoutIsProcess: true });
    await expect(io.write('x\n')).rejects.toMatchObject({ code: 'OUTPUT_FAILED' });
    expect(io.stdoutClosed).toBe(true);
    expect(() => io.out('dropped')).not.toThrow();
    await expect(io.deliver('key')).rejects.toMatchObject({ code: 'OUTPUT_FAILED' });
    for (const fd of [reader, writer]) closeSync(fd);
  });

  it('a reader that went away (EPIPE) closes the output quietly', async () => {
    const { reader, writer } = fifo();
    closeSync(reader);
    const sink = new FdSink(writer, () => {
      throw new Error('no stream for a broken pipe');
    });
    const io = createIO({ stdout: sink, stderr: { write: () => true }, stdoutIsTTY: false, stderrIsTTY: false, env: {}, stdoutIsProcess: true });
    expect(await io.write('x\n')).toBe(false);
    expect(io.stdoutClosed).toBe(true);
    closeSync(writer);
  });
});
