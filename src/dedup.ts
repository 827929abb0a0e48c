/**
 * Dedup on type + normalised value. Memory grows with the number of distinct observables only: one string per
 * distinct key.
 */
import type { IocType } from './types.js';

/** The dedup key of an observable: `type:value`. */
export function observableKey(type: IocType, value: string): string {
  return `${type}:${value}`;
}

/** Remembers which observables were seen; the first sighting of each is `first`. */
export class Deduper {
  readonly #seen = new Set<string>();

  /** Record one sighting of an observable; `first` is true the first time its key is seen. */
  observe(type: IocType, value: string): { key: string; first: boolean } {
    const key = observableKey(type, value);
    if (this.#seen.has(key)) return { key, first: false };
    this.#seen.add(key);
    return { key, first: true };
  }

  /** Number of distinct observables seen. */
  get size(): number {
    return this.#seen.size;
  }
}
