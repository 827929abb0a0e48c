/**
 * The extract stage of the generic pipeline: records → occurrences (extract, screen, allowlist, dedup), counted.
 * Its own module so that the `extract` command, which needs only this stage, does not load the lookup stage (the
 * HTTP client, TLS, the cache): about 20 ms of every start-up.
 */
import type { Allowlist } from './allowlist.js';
import { OccurrenceBuilder } from './occurrences.js';
import type { ExtractedRow, Occurrence, SourceRecord, TypedRecord } from './types.js';

/** Anything the pipeline can read records from. */
export type RecordSource<T> = AsyncIterable<T> | Iterable<T>;

/** Options of the extract stages. */
export interface ExtractOptions {
  /** Domains, IPs, CIDRs and hashes that are never looked up. */
  allowlist?: Allowlist;
  /**
   * Also report each URL's host as a dns observable (each costs a lookup later).
   * @default false
   */
  urlHostsAsDns?: boolean;
}

/** Counters of the extract stages, filled as records stream through. */
export interface ExtractStats {
  records: number;
  occurrences: number;
  valid: number;
  duplicates: number;
  allowlisted: number;
  /** Rejected occurrences by screening message. */
  rejected: Record<string, number>;
}

/** A fresh, zeroed {@link ExtractStats}. */
export function newExtractStats(): ExtractStats {
  return { records: 0, occurrences: 0, valid: 0, duplicates: 0, allowlisted: 0, rejected: {} };
}

function isTypedRecord(record: SourceRecord | TypedRecord): record is TypedRecord {
  return 'observable' in record;
}

function count(stats: ExtractStats, occurrence: Occurrence): void {
  stats.occurrences++;
  switch (occurrence.status) {
    case 'Valid':
      stats.valid++;
      break;
    case 'Duplicate':
      stats.duplicates++;
      break;
    case 'Allowlisted':
      stats.allowlisted++;
      break;
    default:
      stats.rejected[occurrence.status] = (stats.rejected[occurrence.status] ?? 0) + 1;
  }
}

/** A record source, or (the fast way, as the readers produce them) a source of record batches. */
export type RecordInput =
  | RecordSource<SourceRecord | TypedRecord>
  | { readonly batches: RecordSource<ReadonlyArray<SourceRecord | TypedRecord>> };

function batchesOf(input: RecordInput): RecordSource<ReadonlyArray<SourceRecord | TypedRecord>> {
  return 'batches' in input ? input.batches : singletons(input);
}

async function* singletons<T>(records: RecordSource<T>): AsyncGenerator<readonly T[]> {
  for await (const record of records) yield [record];
}

/**
 * Streams record batches to occurrence batches: one occurrence per extracted candidate, or exactly one per
 * pre-typed record, in input order, screened and deduplicated. Design decision: the pipeline moves arrays, not
 * single items, since one async step per occurrence measured costlier than extracting it.
 */
export async function* extractOccurrenceBatches(
  input: RecordInput,
  options: ExtractOptions = {},
  stats: ExtractStats = newExtractStats(),
): AsyncGenerator<Occurrence[], ExtractStats> {
  const builder = new OccurrenceBuilder({
    ...(options.allowlist === undefined ? {} : { allowlist: options.allowlist }),
    urlHostsAsDns: options.urlHostsAsDns ?? false,
  });
  for await (const records of batchesOf(input)) {
    const occurrences: Occurrence[] = [];
    for (const record of records) {
      stats.records++;
      if (isTypedRecord(record)) {
        const occurrence = builder.fromTyped(record);
        count(stats, occurrence);
        occurrences.push(occurrence);
      } else {
        for (const occurrence of builder.fromRecord(record)) {
          count(stats, occurrence);
          occurrences.push(occurrence);
        }
      }
    }
    if (occurrences.length > 0) yield occurrences;
  }
  return stats;
}

/**
 * Streams records (free-text {@link SourceRecord}s or pre-typed {@link TypedRecord}s) to occurrences: one per
 * extracted candidate, or exactly one per pre-typed record, in input order, screened and deduplicated.
 * `stats` is updated as the iteration goes, so a caller may read it after (or during) the loop.
 */
export async function* extractOccurrences(
  input: RecordInput,
  options: ExtractOptions = {},
  stats: ExtractStats = newExtractStats(),
): AsyncGenerator<Occurrence, ExtractStats> {
  for await (const occurrences of extractOccurrenceBatches(input, options, stats)) yield* occurrences;
  return stats;
}

/** The extract output row of an occurrence. */
export function extractedRow(occurrence: Occurrence): ExtractedRow {
  return {
    Observable: occurrence.observable,
    IoCType: occurrence.type,
    Status: occurrence.status,
    SourceIndex: occurrence.sourceIndex,
    SourceField: occurrence.field,
    SourceText: occurrence.original,
    Note: occurrence.note,
  };
}
