/**
 * Turns input records into occurrences (one output row each): extract, screen, allowlist, dedup. Pure per record
 * except for the dedup state, so a pipeline can call it record by record in input order.
 */
import type { Allowlist } from './allowlist.js';
import { type DedupEntry, Deduper, observableKey } from './dedup.js';
import { extractCandidates } from './extract/index.js';
import { type ScreenOutcome, screenRefanged, screenValue } from './screen.js';
import type { IocType, Occurrence, SourceRecord, TypedRecord } from './types.js';

/** Options of {@link OccurrenceBuilder}. */
export interface OccurrenceOptions {
  /** Observables that are never looked up. */
  readonly allowlist?: Allowlist;
  /**
   * Also report each URL's host as a dns observable.
   * @default false
   */
  readonly urlHostsAsDns?: boolean;
}

/**
 * What one distinct candidate value of one type comes to: a rejection (status, no entry), an allowlisted
 * observable (status `Allowlisted`, its key), or an accepted one (its dedup entry, which says Valid or Duplicate).
 */
interface Verdict {
  readonly type: string;
  readonly observable: string;
  readonly status: string;
  readonly key: string;
  readonly entry: DedupEntry | undefined;
}

/**
 * Bound of the rejected verdicts kept (private addresses, low-entropy hex): past it the verdict memo starts over.
 * Accepted verdicts are not counted: they grow with the distinct observables, as the dedup state must anyway.
 */
const REJECTED_LIMIT = 100_000;

/** A copy of `text` that does not keep a larger string alive (`text` is often a slice of an input line). */
function detached(text: string): string {
  return ` ${text}`.slice(1);
}

/**
 * Builds occurrences in input order; the first accepted sighting of an observable is `Valid`, later ones `Duplicate`.
 * Design decision: screening, the allowlist and dedup are memoised together as one verdict per type and candidate
 * value, so a value seen before (most of them, in logs) costs one Map lookup and no string building.
 */
export class OccurrenceBuilder {
  readonly #allowlist: Allowlist | undefined;
  readonly #urlHostsAsDns: boolean;
  readonly #deduper = new Deduper();
  readonly #verdicts = new Map<IocType, Map<string, Verdict>>();
  #rejected = 0;

  constructor(options: OccurrenceOptions = {}) {
    this.#allowlist = options.allowlist;
    this.#urlHostsAsDns = options.urlHostsAsDns === true;
  }

  /** Extract every field of `record` in order and return one occurrence per candidate found. */
  fromRecord(record: SourceRecord): Occurrence[] {
    const occurrences: Occurrence[] = [];
    const { recordNumber, sourceIndex } = record;
    const extractOptions = { urlHostsAsDns: this.#urlHostsAsDns };
    for (const field of record.fields) {
      const name = field.name;
      for (const candidate of extractCandidates(field.value, extractOptions)) {
        const verdict = this.#verdict(candidate.type, candidate.value);
        const entry = verdict.entry;
        // Object literals written out in full, not spread: this runs once per occurrence on the hot path.
        occurrences.push({
          recordNumber,
          sourceIndex,
          field: name,
          original: candidate.original,
          observable: verdict.observable,
          type: verdict.type,
          status: entry === undefined ? verdict.status : entry.sightings++ === 0 ? 'Valid' : 'Duplicate',
          key: verdict.key,
        });
      }
    }
    return occurrences;
  }

  /** Screen a pre-typed record's value as its given type: exactly one occurrence per record. */
  fromTyped(record: TypedRecord): Occurrence {
    const verdict = this.#judge(screenValue(record.type, record.observable));
    const entry = verdict.entry;
    return {
      recordNumber: record.recordNumber,
      sourceIndex: record.sourceIndex,
      field: record.field,
      original: record.observable,
      observable: verdict.observable,
      type: verdict.type,
      status: entry === undefined ? verdict.status : entry.sightings++ === 0 ? 'Valid' : 'Duplicate',
      key: verdict.key,
    };
  }

  /** Number of distinct accepted observables seen so far. */
  distinct(): number {
    return this.#deduper.size;
  }

  /** The verdict on an extracted candidate (already refanged and trimmed), memoised per type and value. */
  #verdict(type: IocType, value: string): Verdict {
    let verdicts = this.#verdicts.get(type);
    if (verdicts === undefined) {
      verdicts = new Map();
      this.#verdicts.set(type, verdicts);
    }
    const known = verdicts.get(value);
    if (known !== undefined) return known;
    const verdict = this.#judge(screenRefanged(type, value));
    if (verdict.entry === undefined) {
      if (this.#rejected >= REJECTED_LIMIT) {
        // Start over rather than grow: accepted verdicts come back from the deduper's entries when screened again.
        for (const map of this.#verdicts.values()) map.clear();
        this.#rejected = 0;
      }
      this.#rejected++;
    }
    verdicts.set(verdict.observable === value ? verdict.observable : detached(value), verdict);
    return verdict;
  }

  /** A screening outcome with the allowlist and the dedup entry applied. */
  #judge(outcome: ScreenOutcome): Verdict {
    if (!outcome.accepted) {
      const { type, value, status } = outcome;
      return { type, observable: detached(value), status, key: '', entry: undefined };
    }
    const { type, value } = outcome;
    if (this.#allowlist?.matches(type, value) === true) {
      const key = observableKey(type, value);
      return { type, observable: key.slice(type.length + 1), status: 'Allowlisted', key, entry: undefined };
    }
    const entry = this.#deduper.entry(type, value);
    return { type, observable: entry.value, status: 'Valid', key: entry.key, entry };
  }
}
