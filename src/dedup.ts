/**
 * Dedup on type + normalised value. Memory grows with the number of distinct observables only: one entry per
 * distinct observable, holding one string (its key; the value is a view of it).
 */
import type { IocType } from './types.js';

/** The dedup key of an observable: `type:value`. */
export function observableKey(type: IocType, value: string): string {
  return `${type}:${value}`;
}

/** One distinct observable and how often it was seen. */
export interface DedupEntry {
  readonly type: IocType;
  /** The normalised value: a slice of `key`, so the entry keeps no larger string (an input line) alive. */
  readonly value: string;
  /** `type:value`, built once per distinct observable. */
  readonly key: string;
  /** Sightings so far; the caller that makes it go from 0 to 1 has the first one. */
  sightings: number;
}

/**
 * Remembers which observables were seen; the first sighting of each is `first`.
 * Design decision: one Map per type keyed by the value, not one keyed by `type:value`: a lookup then hashes the
 * value as it comes, where a composite key would build (and hash) a new string per sighting.
 */
export class Deduper {
  readonly #byType = new Map<IocType, Map<string, DedupEntry>>();
  #size = 0;

  /** The entry of an observable, created (with no sightings) the first time it is asked for. */
  entry(type: IocType, value: string): DedupEntry {
    let values = this.#byType.get(type);
    if (values === undefined) {
      values = new Map();
      this.#byType.set(type, values);
    }
    const known = values.get(value);
    if (known !== undefined) return known;
    const key = observableKey(type, value);
    // Slicing the fresh key flattens it: the stored value shares the key's characters, not the input's.
    const entry: DedupEntry = { type, value: key.slice(type.length + 1), key, sightings: 0 };
    values.set(entry.value, entry);
    this.#size++;
    return entry;
  }

  /** Record one sighting of an observable; `first` is true the first time its key is seen. */
  observe(type: IocType, value: string): { key: string; first: boolean } {
    const entry = this.entry(type, value);
    entry.sightings++;
    return { key: entry.key, first: entry.sightings === 1 };
  }

  /** Number of distinct observables seen. */
  get size(): number {
    return this.#size;
  }
}
