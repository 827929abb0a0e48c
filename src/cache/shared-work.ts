/**
 * Several hosts enriching overlapping inputs into one shared cache: each observable is looked up once by the
 * team, not once per host.
 *
 * Design decisions:
 * - What the lookup stage reads is fed by this source, a few items at a time: each item is claimed, then looked
 *   up in the shared cache again (another host may have answered it since this run started); an item claimed
 *   by a live other host is put aside and retried once the rest is done. It then comes back as a
 *   cache answer (the other host stored it), or as a claim of ours (the other host finished without an answer,
 *   or died: its claims expire after `claimTtlMs`).
 * - Waiting for another host never deadlocks in v3 (every item read is sent at once). A v2 file/url batch is
 *   sent only when full or when the input ends, so two hosts each holding a partial batch and waiting for the
 *   other's items could wait forever: in v2, items claimed by others are then read anyway (a few may be looked
 *   up twice at the end of a run), never waited for while ours are unsent.
 */
import { isHashType, type ApiVersion, type Observable } from '../types.js';
import { systemClock } from '../vt/options.js';
import type { CachedEntry, LookupClaims, ResultCache } from './contract.js';

/** Options of {@link SharedWork}. */
export interface SharedWorkOptions {
  /** Items looked up and claimed per round trip. */
  readonly chunk: number;
  /** How often items claimed by others are tried again. @default 500 */
  readonly pollMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** The lookups of one run, shared with the other hosts of a team through the cache's claims. */
export class SharedWork {
  #outstandingBatchable = 0;
  readonly #mine = new Set<string>();

  constructor(
    private readonly cache: ResultCache,
    private readonly claims: LookupClaims,
    private readonly api: ApiVersion,
    private readonly options: SharedWorkOptions,
  ) {}

  /** The observables this host should look up, claimed; cache answers found on the way go to `onCached`. */
  async *source(
    pending: readonly Observable[],
    onCached: (observable: Observable, entry: CachedEntry) => void,
  ): AsyncGenerator<Observable> {
    const { chunk, signal } = this.options;
    const pollMs = this.options.pollMs ?? 500;
    let queue = [...pending];
    let deferred: Observable[] = [];
    while (queue.length > 0 || deferred.length > 0) {
      if (signal?.aborted === true) {
        // Interrupted: the stage gives everything left NotSubmitted at once; nothing is claimed.
        yield* queue;
        yield* deferred;
        return;
      }
      if (queue.length === 0) {
        if (this.api === 'v2' && this.#outstandingBatchable > 0) {
          yield* deferred;
          return;
        }
        await systemClock.sleep(pollMs, signal);
        queue = deferred;
        deferred = [];
      }
      const batch = queue.splice(0, chunk);
      // Claim first, then look in the cache: the other way round, a host that stores its reply and drops its
      // claim between our two steps would see its observable looked up again.
      const won = await this.claims.claim(this.api, batch);
      const claimed = batch.filter((observable, index) => {
        if (won[index] !== true) deferred.push(observable);
        return won[index] === true;
      });
      const cached = await this.cache.getMany(this.api, claimed);
      for (const [index, observable] of claimed.entries()) {
        const entry = cached[index];
        if (entry !== undefined) {
          this.claims.release(this.api, observable);
          onCached(observable, entry);
          continue;
        }
        this.#mine.add(observable.key);
        if (this.api === 'v2' && (isHashType(observable.type) || observable.type === 'url'))
          this.#outstandingBatchable++;
        yield observable;
      }
    }
  }

  /** The stage gave `observable` its result: its claim is given up (with the reply's commit). */
  finished(observable: Observable): void {
    if (!this.#mine.delete(observable.key)) return;
    if (this.api === 'v2' && (isHashType(observable.type) || observable.type === 'url')) this.#outstandingBatchable--;
    this.claims.release(this.api, observable);
  }
}
