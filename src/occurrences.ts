/**
 * Turns input records into occurrences (one output row each): extract, screen, allowlist, dedup. Pure per record
 * except for the dedup state, so a pipeline can call it record by record in input order.
 */
import type { Allowlist } from './allowlist.js';
import { Deduper, observableKey } from './dedup.js';
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

/** Bound of the screening memo: repeated values (the same IPs on every log line) skip re-screening. */
const MEMO_LIMIT = 50_000;

/** Builds occurrences in input order; the first accepted sighting of an observable is `Valid`, later ones `Duplicate`. */
export class OccurrenceBuilder {
  readonly #allowlist: Allowlist | undefined;
  readonly #urlHostsAsDns: boolean;
  readonly #deduper = new Deduper();
  readonly #screened = new Map<string, ScreenOutcome>();

  constructor(options: OccurrenceOptions = {}) {
    this.#allowlist = options.allowlist;
    this.#urlHostsAsDns = options.urlHostsAsDns === true;
  }

  /** Extract every field of `record` in order and return one occurrence per candidate found. */
  fromRecord(record: SourceRecord): Occurrence[] {
    const occurrences: Occurrence[] = [];
    for (const field of record.fields) {
      for (const candidate of extractCandidates(field.value, { urlHostsAsDns: this.#urlHostsAsDns })) {
        const outcome = this.#screen(candidate.type, candidate.value);
        occurrences.push(this.#occurrence(record, field.name, candidate.original, outcome));
      }
    }
    return occurrences;
  }

  /** Screen a pre-typed record's value as its given type: exactly one occurrence per record. */
  fromTyped(record: TypedRecord): Occurrence {
    return this.#occurrence(record, record.field, record.observable, screenValue(record.type, record.observable));
  }

  /** Number of distinct accepted observables seen so far. */
  distinct(): number {
    return this.#deduper.size;
  }

  /** Screen an extracted candidate (already refanged and trimmed), memoised per type and value. */
  #screen(type: IocType, value: string): ScreenOutcome {
    const memoKey = `${type}:${value}`;
    const known = this.#screened.get(memoKey);
    if (known !== undefined) return known;
    const outcome = screenRefanged(type, value);
    if (this.#screened.size >= MEMO_LIMIT) this.#screened.clear();
    this.#screened.set(memoKey, outcome);
    return outcome;
  }

  #occurrence(
    record: SourceRecord | TypedRecord,
    field: string,
    original: string,
    outcome: ScreenOutcome,
  ): Occurrence {
    // Object literals written out in full, not spread: this runs once per occurrence on the hot path.
    const { recordNumber, sourceIndex } = record;
    if (!outcome.accepted) {
      const { type, value, status } = outcome;
      return { recordNumber, sourceIndex, field, original, observable: value, type, status, key: '' };
    }
    const { type, value } = outcome;
    if (this.#allowlist?.matches(type, value) === true) {
      const key = observableKey(type, value);
      return { recordNumber, sourceIndex, field, original, observable: value, type, status: 'Allowlisted', key };
    }
    const { key, first } = this.#deduper.observe(type, value);
    const status = first ? 'Valid' : 'Duplicate';
    return { recordNumber, sourceIndex, field, original, observable: value, type, status, key };
  }
}
