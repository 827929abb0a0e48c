/**
 * Output files that appear complete or not at all: data goes to a temporary file next to the target, which is
 * flushed to disk and renamed over the target on commit (a rename within one folder is atomic), so a reader, a
 * scheduled job or a resumed run never sees a half-written file.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  createWriteStream,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { chmod, rename, stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { IocEnrichError } from '../errors.js';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';

/** An output being written. */
export interface AtomicOutput {
  /** Where to write. */
  readonly stream: NodeJS.WritableStream;
  /**
   * Ends the stream, flushes it to disk and renames it to the target path. For stdout (`-`), waits until
   * stdout has taken the data, without closing it. Rejects (and removes the temporary file) if writing failed.
   */
  commit(): Promise<void>;
  /**
   * Drops the temporary file (the target is left as it was). For stdout, or after `commit()`, does nothing.
   */
  abort(): Promise<void>;
}

/** Options of {@link openAtomicOutput}. */
export interface AtomicOutputOptions {
  /**
   * The stream `-` stands for.
   * @default process.stdout
   */
  stdout?: NodeJS.WritableStream;
}

function stdoutOutput(stdout: NodeJS.WritableStream): AtomicOutput {
  return {
    stream: stdout,
    async commit() {
      // stdout stays open: the process may still write to it.
      if ((stdout as NodeJS.WritableStream & { writableNeedDrain?: boolean }).writableNeedDrain === true) {
        await once(stdout, 'drain');
      }
    },
    async abort() {},
  };
}

/**
 * How a target is written. `replace`: a temporary file renamed over `path` (a regular file, a new one, or the
 * regular file a symbolic link leads to: the link stays). `inPlace`: written through as it is, appending, for
 * what a rename would wrongly replace (as root, `/dev/null` itself): devices (`/dev/null`), pipes (a FIFO,
 * `-o >(gzip > out.gz)`), sockets, and this process's own descriptors (`/dev/stdout`, `/dev/fd/N`,
 * `/proc/self/fd/N`, links whose target may be a regular file: `-o /dev/stdout >> log.txt` must not truncate
 * log.txt, hence appending).
 */
function targetOf(path: string): { readonly mode: 'replace'; readonly path: string } | { readonly mode: 'inPlace' } {
  let link;
  try {
    link = lstatSync(path);
  } catch {
    return { mode: 'replace', path };
  }
  if (!link.isSymbolicLink())
    return link.isFile() || link.isDirectory() ? { mode: 'replace', path } : { mode: 'inPlace' };
  refuseForeignLinkInStickyFolder(path, link.uid);
  try {
    if (readlinkSync(path).startsWith('/proc/') || realpathSync(dirname(path)).startsWith('/proc/'))
      return { mode: 'inPlace' };
    const real = realpathSync(path);
    return statSync(real).isFile() ? { mode: 'replace', path: real } : { mode: 'inPlace' };
  } catch {
    // A dangling link, or one to `pipe:[…]`: write through it (a dangling one gets created, as a shell would).
    return { mode: 'inPlace' };
  }
}

/**
 * The kernel's `protected_symlinks` rule, for a link we are about to follow: in a sticky, world-writable folder
 * (`/tmp`), a link is followed only when it is the user's own or the folder owner's. Anyone can plant a link in
 * `/tmp`; following it would replace (or create) the file it names with the user's rights. Root's links are the
 * folder owner's in `/tmp`, so they are followed.
 */
function refuseForeignLinkInStickyFolder(path: string, linkOwner: number): void {
  let folder;
  try {
    folder = statSync(dirname(path));
  } catch {
    return;
  }
  const sticky = (folder.mode & 0o1000) !== 0 && (folder.mode & 0o002) !== 0;
  const user = process.geteuid?.() ?? -1;
  if (!sticky || linkOwner === user || linkOwner === folder.uid || linkOwner === 0) return;
  throw new IocEnrichError(
    'OUTPUT_FAILED',
    `${path}: not followed: a symbolic link owned by another user (uid ${linkOwner}) in a shared sticky folder ` +
      '(the kernel refuses such links too: protected_symlinks); remove it or write elsewhere',
  );
}

/**
 * Temporary files this process has open, removed on exit whatever the way out (a second Ctrl-C, process.exit, an
 * uncaught error): a later run must not find them. The listener is added with the first one.
 */
const temporaries = new Set<string>();
let exitHook = false;

function track(temporary: string): void {
  temporaries.add(temporary);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const path of temporaries) {
      try {
        unlinkSync(path);
      } catch {
        // Gone already.
      }
    }
  });
}

/** True when process `pid` is gone (a process of another user is alive: EPERM). */
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes temporary files of `path` left by runs whose process is dead (killed by SIGKILL, a power cut). */
function removeStaleTemporaries(path: string): void {
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const match = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length)) : null;
    if (match === null || Number(match[1]) === process.pid || !isDead(Number(match[1]))) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      // Not ours to remove (another user's folder), or gone.
    }
  }
}

/** True when `path` leads to a FIFO (a named pipe, or a pipe reached through `/dev/stdout` and the like). */
function isFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false;
  }
}

/** Opens a FIFO for writing without blocking: a descriptor, or undefined while no reader has it open (ENXIO). */
function openFifoNow(path: string): number | undefined {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return undefined;
    throw error;
  }
}

/** How often a FIFO without a reader is tried again, in ms. */
const FIFO_POLL_MS = 50;

/**
 * A stream that opens its target only when the first byte comes (or at the end, for an empty output), appending.
 * A FIFO is opened without blocking, tried again until a reader has it open, and written as a pipe: a blocking
 * open would hold one of libuv's threads until a reader came, and then not even a second Ctrl-C could end the
 * process (its exit waits for that thread). A chunk's write calls back once the target's write of it has called
 * back, so that a writer may reuse the chunk's buffer then (src/parallel/parallel-extract.ts releasesChunks).
 */
export class LazyFileStream extends Writable {
  readonly #path: string;
  #target: Promise<Writable> | undefined;

  constructor(path: string) {
    super();
    this.#path = path;
  }

  #open(): Promise<Writable> {
    this.#target ??= (async (): Promise<Writable> => {
      let target: Writable;
      if (isFifo(this.#path)) {
        let fd = openFifoNow(this.#path);
        while (fd === undefined) {
          if (this.destroyed) throw new Error('the output was dropped before a reader opened the pipe');
          await new Promise((resolve) => setTimeout(resolve, FIFO_POLL_MS));
          fd = openFifoNow(this.#path);
        }
        target = new Socket({ fd, readable: false, writable: true });
      } else {
        target = createWriteStream(this.#path, { flags: 'a' });
      }
      target.on('error', (error) => this.destroy(error));
      return target;
    })();
    return this.#target;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#open().then(
      (target) => target.write(chunk, (error) => done(error ?? null)),
      (error: Error) => done(error),
    );
  }

  override _final(done: (error?: Error | null) => void): void {
    this.#open().then(
      (target) => target.end(() => done(null)),
      (error: Error) => done(error),
    );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.#target === undefined) {
      // Never opened: a reader already waiting on a FIFO still gets its end of file (no reader: nothing to do).
      try {
        if (isFifo(this.#path)) {
          const fd = openFifoNow(this.#path);
          if (fd !== undefined) closeSync(fd);
        }
      } catch {
        // Not ours to report: the run already failed, or was dropped.
      }
    } else {
      this.#target.then(
        (target) => target.destroy(),
        () => undefined,
      );
    }
    done(error);
  }
}

/** Writes through a device, pipe, socket or descriptor: there is nothing to make atomic, and nothing to drop. */
function inPlaceOutput(path: string): AtomicOutput {
  const stream = new LazyFileStream(path);
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure ??= error;
  });
  let settled: Promise<void> | undefined;
  return {
    stream,
    commit() {
      settled ??= (async () => {
        if (failure === undefined) {
          stream.end();
          await once(stream, 'finish').catch(() => undefined);
        }
        if (failure !== undefined) throw failure;
      })();
      return settled;
    },
    abort() {
      if (settled !== undefined) return settled.catch(() => undefined);
      // Not waiting for the file to close: its open may be blocked on a FIFO without a reader.
      stream.destroy();
      settled = Promise.resolve();
      return settled;
    },
  };
}

/**
 * Opens `path` for writing atomically: the data goes to `<path>.tmp-<pid>-<random>` in the same folder until
 * {@link AtomicOutput.commit}. `-` means stdout; a device, pipe, socket or descriptor is written in place, and
 * a symbolic link to a regular file has that file replaced (see targetOf). An error opening or writing the file (no such folder, no
 * permission, disk full) is reported by `commit()`, and by a RowWriter writing to the stream.
 */
export function openAtomicOutput(path: string, options: AtomicOutputOptions = {}): AtomicOutput {
  if (path === '-') return stdoutOutput(options.stdout ?? process.stdout);
  const target = targetOf(path);
  if (target.mode === 'inPlace') return inPlaceOutput(path);
  return replacingOutput(target.path);
}

/**
 * What a file output takes before a writer that respects backpressure waits. Design decision: 1 MiB, not the
 * 16 KiB default. With 16 KiB, a writer handing over 64 KiB pieces waited for every write to reach the file
 * before making the next piece, so making and writing never overlapped: `report`'s 63 MiB STIX bundle left the
 * main thread idle for about 0.35 s of its 1.5 s (CPU profile, bench "report").
 */
const OUTPUT_BUFFER_BYTES = 1 << 20;

/** Writes `path` through a temporary file renamed over it on commit. */
function replacingOutput(path: string): AtomicOutput {
  removeStaleTemporaries(path);
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  track(temporary);
  // `wx`: never write into an existing file; `flush`: fsync before close, so the rename never exposes a file
  // whose data is still only in the page cache (a crash would leave it empty). The buffer: see OUTPUT_BUFFER_BYTES.
  const stream = createWriteStream(temporary, { flags: 'wx', flush: true, highWaterMark: OUTPUT_BUFFER_BYTES });
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure ??= error;
  });
  let settled: Promise<void> | undefined;

  const closed = async (): Promise<void> => {
    if (!stream.closed) await once(stream, 'close').catch(() => undefined);
  };
  const removeTemporary = async (): Promise<void> => {
    await unlink(temporary).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    temporaries.delete(temporary);
  };
  const abort = async (): Promise<void> => {
    stream.destroy();
    await closed();
    await removeTemporary();
  };

  return {
    stream,
    commit() {
      settled ??= (async () => {
        if (failure === undefined) {
          stream.end();
          await closed();
        }
        if (failure !== undefined) {
          await abort();
          throw failure;
        }
        try {
          // A file replaced keeps its permission bits (a 0600 output stays 0600), not the umask's.
          const existing = await stat(path).catch(() => undefined);
          if (existing?.isFile() === true) await chmod(temporary, existing.mode & 0o7777);
          await rename(temporary, path);
          temporaries.delete(temporary);
        } catch (error) {
          await removeTemporary();
          throw error;
        }
      })();
      return settled;
    },
    abort() {
      // After a commit (done or failed) there is nothing left to drop.
      if (settled !== undefined) return settled.catch(() => undefined);
      settled = abort();
      return settled;
    },
  };
}
