/**
 * Turns input records into occurrences (one output row each): extract, screen, allowlist, dedup. Pure per record
 * except for the dedup state, so a pipeline can call it record by record in input order.
 */
import type { Allowlist } from './allowlist.js';
import { observableKey } from './dedup.js';
import { extractCandidates } from './extract/index.js';
import { screenRefanged, screenValue } from './screen.js';
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

/** Receives the occurrences of {@link OccurrenceBuilder.scanRecord}. */
export interface VerdictSink {
  /** One occurrence: what its value comes to, the field it was found in, and its text as written there. */
  occurrence(verdict: Verdict, field: string, original: string): void;
}

/**
 * What one distinct value of one type comes to: a rejection or an allowlisted observable (a fixed status), or an
 * accepted observable, which counts its sightings: the first is `Valid`, later ones `Duplicate`.
 */
export class Verdict {
  sightings = 0;
  #key: string | undefined;

  constructor(
    readonly type: string,
    readonly observable: string,
    readonly status: string,
    /** True for an observable (accepted, allowlisted or not); false for a rejection. */
    readonly isObservable: boolean,
    /** True for an accepted, not allowlisted observable: it is deduplicated. */
    readonly counted: boolean,
    /** The Note column (see ScreenNote in src/screen.ts), '' for none. */
    readonly note = '',
    /** True for a value that gives no row (ScreenOutcome.silent: a wrapper whose target has a row of its own). */
    readonly silent = false,
  ) {}

  /**
   * The dedup key (`type:value`) of an observable, '' for a rejection. Built on first use: one-thread extraction
   * never needs it, and 115,000 of them held about 8 MB.
   */
  get key(): string {
    if (!this.isObservable) return '';
    return (this.#key ??= observableKey(this.type as IocType, this.observable));
  }

  /** The status of one more occurrence. */
  next(): string {
    if (!this.counted) return this.status;
    return this.sightings++ === 0 ? 'Valid' : 'Duplicate';
  }
}

/**
 * Bound of the memo entries that are not observables (rejected values, and spellings such as `evil.com.` that
 * normalise to another value): past it they are dropped. Observables are never dropped: they are the dedup state,
 * which grows with the distinct observables, as it must.
 */
const MEMO_LIMIT = 100_000;

/** A copy of `text` that does not keep a larger string alive (`text` is often a slice of an input line). */
function detached(text: string): string {
  return ` ${text}`.slice(1);
}

/**
 * Builds occurrences in input order; the first accepted sighting of an observable is `Valid`, later ones `Duplicate`.
 * Design decision: screening, the allowlist and dedup share one table, a Map per type keyed by value, whose
 * entries are both the screening memo and the dedup state: a value seen before (most of them, in logs) costs one
 * Map lookup, and no `type:value` string is built for it.
 */
export class OccurrenceBuilder {
  readonly #allowlist: Allowlist | undefined;
  readonly #urlHostsAsDns: boolean;
  readonly #verdicts = new Map<string, Map<string, Verdict>>();
  /** Entries of #verdicts that are not observables (see MEMO_LIMIT). */
  #memoOnly = 0;
  #distinct = 0;

  constructor(options: OccurrenceOptions = {}) {
    this.#allowlist = options.allowlist;
    this.#urlHostsAsDns = options.urlHostsAsDns === true;
  }

  /**
   * Extract every field of `record` in order and pass each occurrence's verdict to `sink`, without deciding
   * `Valid` or `Duplicate` (the caller does, with the verdict's `next()`).
   */
  scanRecord(record: SourceRecord, sink: VerdictSink): void {
    const extractOptions = { urlHostsAsDns: this.#urlHostsAsDns };
    for (const field of record.fields) {
      if (field.value.length === 0) continue;
      for (const candidate of extractCandidates(field.value, extractOptions)) {
        const verdict = this.#verdict(candidate.type, candidate.context + candidate.value);
        if (!verdict.silent) sink.occurrence(verdict, field.name, candidate.original);
      }
    }
  }

  /** Extract every field of `record` in order and return one occurrence per candidate found. */
  fromRecord(record: SourceRecord): Occurrence[] {
    const occurrences: Occurrence[] = [];
    const { recordNumber, sourceIndex } = record;
    const extractOptions = { urlHostsAsDns: this.#urlHostsAsDns };
    for (const field of record.fields) {
      // Empty cells are common in CSV exports: skip extraction's set-up for them.
      if (field.value.length === 0) continue;
      const name = field.name;
      for (const candidate of extractCandidates(field.value, extractOptions)) {
        const verdict = this.#verdict(candidate.type, candidate.context + candidate.value);
        if (verdict.silent) continue;
        // Object literals written out in full, not spread: this runs once per occurrence on the hot path.
        occurrences.push({
          recordNumber,
          sourceIndex,
          field: name,
          original: candidate.original,
          observable: verdict.observable,
          type: verdict.type,
          status: verdict.next(),
          note: verdict.note,
          key: verdict.key,
        });
      }
    }
    return occurrences;
  }

  /** Screen a pre-typed record's value as its given type: exactly one occurrence per record. */
  fromTyped(record: TypedRecord): Occurrence {
    const outcome = screenValue(record.type, record.observable);
    const verdict = outcome.accepted
      ? this.#observable(this.#table(outcome.type), outcome.type, outcome.value, outcome.note)
      : new Verdict(outcome.type, outcome.value, outcome.status, false, false);
    return {
      recordNumber: record.recordNumber,
      sourceIndex: record.sourceIndex,
      field: record.field,
      original: record.observable,
      observable: verdict.observable,
      type: verdict.type,
      status: verdict.next(),
      note: verdict.note,
      key: verdict.key,
    };
  }

  /** Number of distinct accepted (not allowlisted) observables seen so far. */
  distinct(): number {
    return this.#distinct;
  }

  #table(type: string): Map<string, Verdict> {
    let table = this.#verdicts.get(type);
    if (table === undefined) {
      table = new Map();
      this.#verdicts.set(type, table);
    }
    return table;
  }

  /** The verdict on an extracted candidate (already refanged and trimmed), memoised per type and value. */
  #verdict(type: IocType, value: string): Verdict {
    const table = this.#table(type);
    const known = table.get(value);
    if (known !== undefined) return known;
    const outcome = screenRefanged(type, value);
    if (outcome.accepted && outcome.type === type) {
      const verdict = this.#observable(table, type, outcome.value, outcome.note);
      if (verdict.observable !== value) this.#remember(table, value, verdict);
      return verdict;
    }
    const verdict = outcome.accepted
      ? this.#observable(this.#table(outcome.type), outcome.type, outcome.value, outcome.note)
      : new Verdict(outcome.type, detached(outcome.value), outcome.status, false, false, '', outcome.silent === true);
    this.#remember(table, value, verdict);
    return verdict;
  }

  /** The verdict of an accepted observable, created (allowlist applied) the first time it is seen. */
  #observable(table: Map<string, Verdict>, type: IocType, value: string, note: string | undefined): Verdict {
    const known = table.get(value);
    if (known !== undefined && known.observable === value && known.isObservable) return known;
    // A copy: the stored value must not keep the input line it was cut from alive.
    const observable = detached(value);
    const allowlisted = this.#allowlist?.matches(type, value) === true;
    const status = allowlisted ? 'Allowlisted' : 'Valid';
    const verdict = new Verdict(type, observable, status, true, !allowlisted, note);
    if (!allowlisted) this.#distinct++;
    // An entry under the same value that is not this observable is a memo entry being replaced.
    if (known !== undefined) this.#memoOnly--;
    table.set(observable, verdict);
    return verdict;
  }

  /** Memoise a verdict under a value that is not its observable; such entries are bounded. */
  #remember(table: Map<string, Verdict>, value: string, verdict: Verdict): void {
    if (this.#memoOnly >= MEMO_LIMIT) {
      for (const other of this.#verdicts.values()) {
        for (const [memoKey, entry] of other) {
          if (!entry.isObservable || entry.observable !== memoKey) other.delete(memoKey);
        }
      }
      this.#memoOnly = 0;
    }
    table.set(detached(value), verdict);
    this.#memoOnly++;
  }
}
