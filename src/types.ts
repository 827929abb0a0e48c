/**
 * The data that flows between the pipeline's stages. Every stage module imports its shapes from here, so
 * this file is the contract between extract, screen, dedup, lookup, normalize, cache and the writers.
 */

/** The IoC types VirusTotal can look up, with msticpy's names. */
export const IOC_TYPES = ['ipv4', 'ipv6', 'dns', 'url', 'md5_hash', 'sha1_hash', 'sha256_hash'] as const;

/** One of {@link IOC_TYPES}. */
export type IocType = (typeof IOC_TYPES)[number];

/** The three hash types; a file is one object whichever of them names it. */
export type HashType = 'md5_hash' | 'sha1_hash' | 'sha256_hash';

/** Each hash type's length in hex digits (msticpy's patterns). */
export const HASH_LENGTHS: Readonly<Record<HashType, number>> = { md5_hash: 32, sha1_hash: 40, sha256_hash: 64 };

/** The hash type of a hex digest of that many digits ({@link HASH_LENGTHS} read the other way). */
export const HASH_TYPE_BY_LENGTH: Readonly<Record<number, HashType>> = Object.fromEntries(
  Object.entries(HASH_LENGTHS).map(([type, length]) => [length, type]),
) as Record<number, HashType>;

/** True when `value` is one of the known IoC type names. */
export function isIocType(value: string): value is IocType {
  return (IOC_TYPES as readonly string[]).includes(value);
}

/** True for md5_hash, sha1_hash and sha256_hash. */
export function isHashType(type: string): type is HashType {
  return type === 'md5_hash' || type === 'sha1_hash' || type === 'sha256_hash';
}

/** One named piece of text in an input record: a CSV column, a JSON field path, or the whole text line. */
export interface SourceField {
  /** Column name, dotted JSON path (`a.b.0`), or `''` for a text line. */
  readonly name: string;
  readonly value: string;
}

/** An input record whose fields are scanned with the extraction regexes. */
export interface SourceRecord {
  /** 0-based position of the record in the input: data row for CSV, line for text and JSON lines. */
  readonly recordNumber: number;
  /** The SourceIndex written to output: `String(recordNumber)`, or the value of the index column. */
  readonly sourceIndex: string;
  readonly fields: readonly SourceField[];
}

/** A pre-typed input record (msticpy's `lookup_iocs` table): no regex extraction, the value is screened as `type`. */
export interface TypedRecord {
  readonly recordNumber: number;
  readonly sourceIndex: string;
  /** The observable column's text, as given. */
  readonly observable: string;
  /** The type column's text, as given (may be an unknown type). */
  readonly type: string;
  /** The observable column's name. */
  readonly field: string;
}

/** A candidate IoC found by extraction, before screening. */
export interface Candidate {
  readonly type: IocType;
  /** The refanged, normalised value (lower-case hashes and host names; URL path and query keep their case). */
  readonly value: string;
  /** The text as it stood in the source. */
  readonly original: string;
  /** True when the original text was defanged (`hxxp`, `[.]`, …). */
  readonly defanged: boolean;
  /**
   * What stood next to it that screening must know (`imphash=` before a hash, `version/` for an address in a
   * version's place; see src/extract/context.ts), or ''. Screening gets `context + value`.
   */
  readonly context: string;
}

/** Status of an occurrence after screening and dedup. Rejections carry msticpy's exact messages. */
export type ScreenStatus = 'Valid' | 'Duplicate' | 'Allowlisted' | (string & {});

/** One occurrence of an observable in the input: one output row. */
export interface Occurrence {
  readonly recordNumber: number;
  readonly sourceIndex: string;
  /** The field the value came from (column, JSON path, `''` for text). */
  readonly field: string;
  /** The source text as matched (or the pre-typed value as given). */
  readonly original: string;
  /** The normalised observable. */
  readonly observable: string;
  /** An {@link IocType}, or the unknown type name a pre-typed row gave. */
  readonly type: string;
  readonly status: ScreenStatus;
  /** The Note column: `Lookalike` for an internationalised name that mixes scripts, else ''. */
  readonly note: string;
  /**
   * Dedup key (`type:value`), set for every occurrence of an accepted observable (Valid or Duplicate) and for
   * allowlisted ones; `''` for rejected ones.
   */
  readonly key: string;
}

/** A distinct observable to look up. */
export interface Observable {
  readonly type: IocType;
  readonly value: string;
  /** `type:value`, as in {@link Occurrence.key}. */
  readonly key: string;
}

/** Which VirusTotal API. */
export type ApiVersion = 'v3' | 'v2';

/**
 * A VirusTotal reply for one observable, as fetched: what the cache stores and what normalize reads.
 * `body` is the parsed JSON of the object reply (v3 `{"data": …}`, v2 the report object), or `null` when
 * VirusTotal does not know the observable (v3 404, v2 response_code 0).
 */
export interface VtReply {
  readonly api: ApiVersion;
  readonly type: IocType;
  /** The observable as looked up. */
  readonly value: string;
  readonly body: unknown;
  /**
   * v3 only, with `--resolutions`: the resolutions of an IP or domain beyond the first page (which the object
   * reply carries in `data.relationships.resolutions`): descriptors `{type, id}` or, from older caches, objects.
   */
  readonly resolutions?: readonly unknown[];
  /**
   * Set when this run submitted the URL for analysis (`--submit-unknown-urls`): the body then holds the
   * analysis verdict as a URL object. A note about this run only; the cache does not keep it.
   */
  readonly submitted?: boolean;
  /** Epoch milliseconds when it was fetched. */
  readonly fetchedAt: number;
}

/** Outcome status of a lookup. */
export type LookupStatus =
  | 'Success'
  | 'NotFound'
  /** A URL submitted for analysis whose analysis had not finished when `--analysis-timeout` passed. */
  | 'Queued'
  | `Failed: ${string}`
  | `NotSubmitted: ${string}`;

/** The normalised result of looking up one distinct observable (shared by all its occurrences). */
export interface LookupResult {
  readonly status: LookupStatus;
  /** 1 found, 0 not found, -2 queued (v2), '' when no reply. */
  readonly responseCode: number | '';
  readonly resource: string;
  readonly verboseMsg: string;
  readonly scanId: string;
  readonly permalink: string;
  /** Malicious engines (v3), positives (v2); '' when unknown. */
  readonly positives: number | '';
  readonly suspicious: number | '';
  /** Engines that answered; '' when unknown. */
  readonly total: number | '';
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
  readonly resolvedDomains: string;
  readonly resolvedIps: string;
  readonly detectedUrls: string;
  readonly reputation: number | '';
  /** ISO 8601 UTC, '' when unknown. */
  readonly lastAnalysisDate: string;
  readonly tags: string;
  /** The reply JSON, only when raw output was asked for; '' otherwise. */
  readonly rawResponse: string;
  /** With `--context`: a file's contacted domains, IPs and URLs; a domain's or IP's communicating files (sha256). */
  readonly contactedDomains: string;
  readonly contactedIps: string;
  readonly contactedUrls: string;
  readonly communicatingFiles: string;
  /** True when this run submitted the URL for analysis (`--submit-unknown-urls`). */
  readonly submitted: boolean;
  /** True when the answer came from the persistent cache. */
  readonly cacheHit: boolean;
  /** ISO 8601 UTC time the reply was fetched, '' when there was none. */
  readonly fetchedAt: string;
}

/** msticpy's severity scale over Positives. */
export type Severity = 'high' | 'warning' | 'information' | '';

/** The enrich output columns, in order: msticpy's, then ours. */
export const ENRICH_COLUMNS = [
  'Observable',
  'IoCType',
  'Status',
  'ResponseCode',
  'RawResponse',
  'Resource',
  'SourceIndex',
  'VerboseMsg',
  'ScanId',
  'Permalink',
  'Positives',
  'MD5',
  'SHA1',
  'SHA256',
  'ResolvedDomains',
  'ResolvedIPs',
  'DetectedUrls',
  'Suspicious',
  'Total',
  'Severity',
  'Reputation',
  'LastAnalysisDate',
  'Tags',
  'CacheHit',
  'FetchedAt',
  'SourceField',
  'SourceText',
  'ContactedDomains',
  'ContactedIPs',
  'ContactedUrls',
  'CommunicatingFiles',
  'Submitted',
  'Note',
] as const;

/** One enrich output row: one per occurrence. */
export type EnrichedRow = { [K in (typeof ENRICH_COLUMNS)[number]]: string | number | boolean };

/** The extract output columns, in order. */
export const EXTRACT_COLUMNS = [
  'Observable',
  'IoCType',
  'Status',
  'SourceIndex',
  'SourceField',
  'SourceText',
  'Note',
] as const;

/** One extract output row: one per occurrence. */
export type ExtractedRow = { [K in (typeof EXTRACT_COLUMNS)[number]]: string };
