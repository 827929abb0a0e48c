/**
 * ioc-enrich's library API. The CLI only wraps these: a caller can feed any (async) iterable of records and
 * get typed rows back.
 *
 * @example
 * ```ts
 * import { enrich, readSourceRecords } from 'ioc-enrich';
 * const records = readSourceRecords({ path: 'export.csv' }, { format: 'csv' });
 * const summary = await enrich(records, { lookup: { apiKey: process.env.VT_API_KEY ?? '' } }, (row) => {
 *   if (row.Severity === 'high') console.log(row.Observable, row.Positives);
 * });
 * ```
 */

// Data shapes and errors.
export { ENRICH_COLUMNS, EXTRACT_COLUMNS, IOC_TYPES, isHashType, isIocType } from './types.js';
export type {
  ApiVersion,
  Candidate,
  EnrichedRow,
  ExtractedRow,
  HashType,
  IocType,
  LookupResult,
  LookupStatus,
  Observable,
  Occurrence,
  ScreenStatus,
  Severity,
  SourceField,
  SourceRecord,
  TypedRecord,
  VtReply,
} from './types.js';
export { ApiError, InputError, IocEnrichError, OptionError } from './errors.js';
export type { ErrorCode } from './errors.js';

// The pipeline.
export { enrich } from './pipeline.js';
export type { EnrichOptions, EnrichProgress, EnrichSummary, Finding, LookupPlan } from './pipeline.js';
export { extractOccurrenceBatches, extractOccurrences, extractedRow, newExtractStats } from './extract-stage.js';
export type { ExtractOptions, ExtractStats, RecordInput, RecordSource } from './extract-stage.js';

// The stages, usable one by one.
export { extractCandidates, refang } from './extract/index.js';
export { extractParallel } from './parallel/parallel-extract.js';
export { nativeAvailable, nativeEngineLoadError } from './native/engine.js';
export type { ParallelExtractOptions } from './parallel/parallel-extract.js';
export { screenValue, SCREEN_MESSAGES } from './screen.js';
export type { ScreenOutcome } from './screen.js';
export { Allowlist } from './allowlist.js';
export { OccurrenceBuilder } from './occurrences.js';
export { lookupObservables, normalizeLookupOptions, TIER_DEFAULTS } from './vt/lookup-stage.js';
export type {
  Clock,
  LookupHooks,
  LookupOptions,
  LookupProgress,
  LookupStats,
  NormalizedLookupOptions,
  Tier,
} from './vt/lookup-stage.js';
export { normalizeReply, severity } from './normalize.js';
export { canonicalUrl, guiLink, urlIdBase64, urlIdSha256 } from './vt/ids.js';

// Input and output.
export {
  inferInputFormat,
  newReadReport,
  readSourceBatches,
  readSourceRecords,
  readTypedBatches,
  readTypedRecords,
} from './io/readers.js';
export type { InputFormat, InputSpec, ReadReport, ReaderOptions, TypedReaderOptions } from './io/readers.js';
export { openInput } from './io/open-input.js';
export type { InputMember, OpenInputOptions } from './io/open-input.js';
export type { EncodingName } from './io/decode.js';
export { createRowWriter } from './io/writers.js';
export type { OutputFormat, RowWriter } from './io/writers.js';
export { openAtomicOutput } from './io/atomic-file.js';
export { safeCell } from './io/csv-safe.js';

// Verdicts back into the source table.
export { JOIN_COLUMNS, joinResults } from './join/index.js';
export type { JoinOptions, JoinStats } from './join/index.js';

// Reports and exports of a run: its digest (from rows or an enrich output file), the HTML report, STIX 2.1, MISP.
export { DigestBuilder, readDigest, detections, virusTotalLink } from './report/digest.js';
export type { ObservableDigest, RunDigest, RunInfo, QuotaState } from './report/digest.js';
export { renderHtmlReport } from './report/html.js';
export type { HtmlReportOptions } from './report/html.js';
export { stixBundle, stixBundleJson, stixObjects } from './export/stix.js';
export type { StixBundle, StixObject, StixOptions } from './export/stix.js';
export { mispEvent, mispEventJson } from './export/misp.js';
export type { MispAttribute, MispEvent, MispOptions } from './export/misp.js';
export { postMispEvent } from './export/misp-client.js';
export type { MispPostOptions, MispPostResult } from './export/misp-client.js';
export { TLP_LEVELS } from './export/tlp.js';
export type { TlpLevel } from './export/tlp.js';

// The persistent cache.
export {
  defaultCachePath,
  openResultCache,
  parseMaxAge,
  PostgresResultCache,
  SqliteResultCache,
} from './cache/index.js';
export type { CachedEntry, CacheStats, ResultCache, ResultCacheOptions } from './cache/index.js';
// Quotas shared by several runs (in one process, or across hosts through Redis).
export { LocalQuotaStore, RedisQuotaStore } from './quota/index.js';
export type { QuotaStore } from './quota/index.js';

// The VirusTotal-compatible emulator.
export { startEmulator } from './emulator/index.js';
export type { Emulator, EmulatorOptions, EmulatorStats } from './emulator/index.js';
