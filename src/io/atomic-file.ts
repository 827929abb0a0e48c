/**
 * Output files that appear complete or not at all: data goes to a temporary file next to the target, which is
 * flushed to disk and renamed over the target on commit (a rename within one folder is atomic), so a reader, a
 * scheduled job or a resumed run never sees a half-written file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';

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
 * True when `path` exists and is not a regular file or folder: a device (`/dev/null`, `/dev/stdout`), a pipe
 * (`-o >(gzip > out.gz)`, a FIFO) or a socket. Renaming a temporary file over one of those would replace it (as
 * root, `/dev/null` itself), so such a target is written in place.
 */
function isSpecialFile(path: string): boolean {
  try {
    const stats = statSync(path);
    return !stats.isFile() && !stats.isDirectory();
  } catch {
    return false;
  }
}

/** A file stream whose first error is kept (not thrown), and a wait for its closing. */
function watchedStream(path: string, options: { flags: string; flush?: boolean }): {
  stream: ReturnType<typeof createWriteStream>;
  failure: () => Error | undefined;
  closed: () => Promise<void>;
} {
  const stream = createWriteStream(path, options);
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure ??= error;
  });
  const closed = async (): Promise<void> => {
    if (!stream.closed) await once(stream, 'close').catch(() => undefined);
  };
  return { stream, failure: () => failure, closed };
}

/** Writes straight into a device, pipe or socket: there is nothing to make atomic, and nothing to drop. */
function directOutput(path: string): AtomicOutput {
  const { stream, failure, closed } = watchedStream(path, { flags: 'w' });
  let settled: Promise<void> | undefined;
  return {
    stream,
    commit() {
      settled ??= (async () => {
        if (failure() === undefined) stream.end();
        else stream.destroy();
        await closed();
        const error = failure();
        if (error !== undefined) throw error;
      })();
      return settled;
    },
    abort() {
      if (settled !== undefined) return settled.catch(() => undefined);
      stream.destroy();
      settled = closed();
      return settled;
    },
  };
}

/**
 * Opens `path` for writing atomically: the data goes to `<path>.tmp-<pid>-<random>` in the same folder until
 * {@link AtomicOutput.commit}. `-` means stdout; a device, pipe or socket is written in place (see
 * isSpecialFile). An error opening or writing the file (no such folder, no
 * permission, disk full) is reported by `commit()`, and by a RowWriter writing to the stream.
 */
export function openAtomicOutput(path: string, options: AtomicOutputOptions = {}): AtomicOutput {
  if (path === '-') return stdoutOutput(options.stdout ?? process.stdout);
  if (isSpecialFile(path)) return directOutput(path);
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  // `wx`: never write into an existing file; `flush`: fsync before close, so the rename never exposes a file
  // whose data is still only in the page cache (a crash would leave it empty).
  const { stream, failure, closed } = watchedStream(temporary, { flags: 'wx', flush: true });
  let settled: Promise<void> | undefined;
  const removeTemporary = async (): Promise<void> => {
    await unlink(temporary).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
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
        if (failure() === undefined) {
          stream.end();
          await closed();
        }
        const error = failure();
        if (error !== undefined) {
          await abort();
          throw error;
        }
        try {
          await rename(temporary, path);
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
