/**
 * The writer thread of a SQLite cache file. Design decision (issue 13 §5): SQLite's own work when replies are
 * committed (B-tree and overflow pages of 7–10 KB bodies, WAL frames, checkpoints) ran on the main thread,
 * between the lookups: a premium run with the cache on spent about 150 µs of its main thread per reply there
 * (15 s of a 42 s run of 100,000 lookups), against about 50 µs measured alone. The commits now run on a thread
 * of their own, with its own connection (WAL lets the cache's connection read meanwhile); the main thread
 * only prepares each row when it is put (src/cache/rows.ts storedReply: classification and redaction; its texts
 * as UTF-8, see sqlite-store.ts SqliteRow) and posts it, moving the texts' buffers to the thread uncopied.
 *
 * What a commit promises does not change: the cache's write batcher posts one batch at a time and waits for
 * its answer, so a reply is committed within a commit of its arrival, a killed run loses at most the requests
 * in flight and the replies of the batch being committed, and a failed commit is thrown by the next put, flush,
 * read or close.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { rowBuffers, type SqliteRow } from './sqlite-store.js';

/** What the thread is started with. */
export interface WriterSetup {
  readonly path: string;
  readonly busyTimeoutMs: number;
}

/** A batch to store, or the request to close the connection and end. */
export type WriterRequest =
  { readonly id: number; readonly rows: readonly SqliteRow[]; readonly close?: undefined } | { readonly close: true };

/** The answer to a batch: its id, and why it failed; or, once, that the thread has opened the file. */
export type WriterReply = { readonly id: number; readonly error?: string } | { readonly ready: true };

/**
 * The thread's script: beside this module in the build; from the sources (the tests run them), the build's
 * (test/global-setup.ts builds dist/ first). Undefined when there is none: commits then run on the main thread.
 */
export function writerWorkerUrl(): URL | undefined {
  for (const candidate of ['./sqlite-writer-worker.js', '../../dist/cache/sqlite-writer-worker.js']) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

/** A running writer thread. */
export class WriterThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #next = 0;
  #ended: Error | undefined;
  #ready = false;
  #announce: (ready: boolean) => void = () => undefined;
  /** Settles once the thread has opened the file (true) or ended before (false). */
  readonly started = new Promise<boolean>((resolve) => {
    this.#announce = resolve;
  });

  constructor(url: URL, setup: WriterSetup) {
    // None of the process's own Node options: the thread needs none, and some refuse a script file
    // (`node --input-type=module -e …` made every commit fail). A small young generation: the thread only holds
    // one batch at a time (with its page cache, see the worker, 50 MB less peak RSS and no slower on 100,000
    // distinct lookups with the cache on: 302-320 MB against 357-362 MB).
    this.#worker = new Worker(url, {
      workerData: setup,
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    // Held only while a batch is out: an idle writer never keeps the process alive.
    this.#worker.unref();
    this.#worker.on('message', (message: WriterReply) => {
      if ('ready' in message) {
        this.#ready = true;
        this.#announce(true);
        return;
      }
      const waiter = this.#waiting.get(message.id);
      if (waiter === undefined) return;
      this.#waiting.delete(message.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if (message.error === undefined) waiter.resolve();
      else waiter.reject(new Error(message.error));
    });
    this.#worker.on('error', (error) => this.#end(error));
    this.#worker.on('exit', (code) => this.#end(new Error(`the cache's writer thread ended (exit code ${code})`)));
  }

  /**
   * True once the thread has opened the file and until it ends. Until then the cache commits on its own
   * thread: a reply must never wait for the thread to start (a run killed meanwhile would lose it).
   */
  get ready(): boolean {
    return this.#ready && this.#ended === undefined;
  }

  /** Stores `rows` in one transaction on the thread. Their texts' buffers are moved there: `rows` are spent. */
  commit(rows: readonly SqliteRow[]): Promise<void> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, rows } satisfies WriterRequest, rowBuffers(rows));
    });
  }

  /** Closes the thread's connection and ends it (after the batches already posted). */
  async close(): Promise<void> {
    if (this.#ended !== undefined) return;
    const exited = once(this.#worker, 'exit');
    // Held until it has ended: an unreferenced thread would let the process exit before its connection closed.
    this.#worker.ref();
    this.#worker.postMessage({ close: true } satisfies WriterRequest);
    await exited;
  }

  #end(error: Error): void {
    this.#announce(false);
    this.#ended ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(this.#ended);
    this.#waiting.clear();
  }
}
