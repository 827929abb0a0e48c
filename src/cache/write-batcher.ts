/**
 * Groups cache writes: everything queued in one event-loop turn (or within `delayMs`) is committed in one
 * transaction. Both backends use it, so the batching rule and its failure handling live here only.
 */
import type { VtReply } from '../types.js';
import type { CacheKey } from './contract.js';
import type { ApiVersion } from '../types.js';

/** One queued write. */
export type QueuedWrite =
  { readonly put: VtReply } | { readonly release: { readonly api: ApiVersion; readonly key: CacheKey } };

/**
 * Queues writes and commits them in batches, one commit at a time, in order. A write is whatever the backend
 * commits: PostgreSQL queues replies and releases ({@link QueuedWrite}), SQLite the rows it stores.
 */
export class WriteBatcher<Write = QueuedWrite> {
  #queue: Write[] = [];
  #timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  #committing: Promise<void> | undefined;
  #failure: unknown;
  #failed = false;

  /**
   * @param commit - commits one batch.
   * @param delayMs - 0 commits at the end of the current event-loop turn (setImmediate).
   */
  constructor(
    private readonly commit: (writes: Write[]) => void | Promise<void>,
    private readonly delayMs: number,
  ) {}

  /** Queues a write. Throws the failure of an earlier commit (the run must learn its replies were not kept). */
  add(write: Write): void {
    this.#throwIfFailed();
    this.#queue.push(write);
    if (this.#timer === undefined) {
      const run = (): void => {
        this.#timer = undefined;
        // A failure is kept and thrown by the next add/flush: never an unhandled rejection.
        this.flush().catch(() => undefined);
      };
      this.#timer = this.delayMs > 0 ? setTimeout(run, this.delayMs) : setImmediate(run);
    }
  }

  /**
   * Fails the batcher as a failed commit does, for a write that could not even be made (a reply the backend
   * cannot store): thrown by the next add or flush, like the failure of a commit.
   */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#failure = error;
  }

  /** True when nothing is queued or being committed. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#committing === undefined;
  }

  /** Commits everything queued, after any commit under way. */
  async flush(): Promise<void> {
    while (this.#committing !== undefined) await this.#committing;
    this.#throwIfFailed();
    this.#cancelTimer();
    if (this.#queue.length === 0) return;
    const writes = this.#queue;
    this.#queue = [];
    const commit = async (): Promise<void> => {
      try {
        await this.commit(writes);
      } catch (error) {
        this.fail(error);
      }
    };
    const committing = commit();
    this.#committing = committing;
    try {
      await committing;
    } finally {
      if (this.#committing === committing) this.#committing = undefined;
    }
    this.#throwIfFailed();
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer as NodeJS.Timeout);
    clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = undefined;
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }
}
