/**
 * Where the join writes: a file, made visible under its name only when complete (src/io/atomic-file.ts), or a
 * caller's stream.
 */
import { openAtomicOutput } from '../io/atomic-file.js';

/** An output the join writes chunks to. */
export interface JoinOutput {
  /** Writes a chunk, waiting while the stream asks for back-pressure. Rejects once the stream has failed. */
  write(chunk: Buffer): Promise<void>;
  /** The output is complete: a file gets its final name. */
  commit(): Promise<void>;
  /** The join failed: a file's temporary copy is removed and an existing file of that name is left as it was. */
  abort(): Promise<void>;
}

/** A caller's stream: written with back-pressure, never ended (the caller owns it: it may be stdout). */
export function streamOutput(stream: NodeJS.WritableStream): JoinOutput {
  // Boxed: whatever the stream emitted is rethrown as it was, even a falsy value.
  let failure: { error: unknown } | undefined;
  const onError = (error: unknown): void => {
    failure ??= { error };
  };
  stream.on('error', onError);
  const check = (): void => {
    if (failure !== undefined) throw failure.error;
  };
  return {
    async write(chunk) {
      check();
      if (chunk.length === 0 || stream.write(chunk)) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done);
          stream.off('error', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('error', done);
      });
      check();
    },
    commit() {
      stream.off('error', onError);
      // check() throwing inside the executor rejects the promise with what the stream emitted.
      return new Promise<void>((resolve) => {
        check();
        resolve();
      });
    },
    abort() {
      stream.off('error', onError);
      return Promise.resolve();
    },
  };
}

/** A file written under a temporary name and renamed over `path` when complete. */
export function fileOutput(path: string): JoinOutput {
  const atomic = openAtomicOutput(path);
  const writer = streamOutput(atomic.stream);
  return {
    write: (chunk) => writer.write(chunk),
    async commit() {
      await writer.commit();
      await atomic.commit();
    },
    async abort() {
      await writer.abort();
      await atomic.abort();
    },
  };
}
