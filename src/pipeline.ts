/**
 * The generic pipeline: streams, input order and counting for `enrich`. It wires the stages together: records →
 * occurrences (src/extract-stage.ts: extract, screen, allowlist, dedup) → distinct lookups → rows in input order.
 * (The `extract` command's text and CSV path, src/parallel, keeps input order and counts on its own: its parts run
 * in the native engine, or in JavaScript where it is not built, and are written in order, with the same rows as
 * here.)
 *
 * Design: enrichment is done in two passes so that memory grows with the number of DISTINCT observables,
 * never with the number of occurrences or the input size. Pass one streams the input once, spooling each
 * occurrence to a temporary file (one compact JSON line) and keeping only the distinct observables in memory.
 * The lookups then run (paced to the quota, for hours if need be). Pass two streams the spool back and writes
 * one row per occurrence, in input order, joined to the results (kept in a file beside the spool, by observable
 * number: src/result-store.ts). A spool (rather than re-reading the input) lets the library accept any async
 * iterable, stdin included. What stays in memory per distinct observable is its value and number
 * (src/distinct-observables.ts) and where its result is in the file: about 100 bytes.
 */
import { accountingTerm } from './accounting.js';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { failedResult, normalizeReply, severity } from './normalize.js';
import type { FirstSighting } from './native/engine.js';
import { RedactingWriter, redact } from './redact.js';
import { lookupObservables, normalizeLookupOptions } from './vt/lookup-stage.js';
import type { LookupOptions, LookupProgress, LookupStats, NormalizedLookupOptions } from './vt/lookup-stage.js';
import type { CachedEntry, ResultCache } from './cache/index.js';
import { SharedWork } from './cache/shared-work.js';
import { DistinctObservables } from './distinct-observables.js';
import { codeUnitOrder } from './order.js';
import { ResultStore } from './result-store.js';
import { readSpool, type SpoolLine } from './spool-reader.js';
import {
  extractOccurrenceBatches,
  extractedRow,
  newExtractStats,
  type ExtractOptions,
  type ExtractStats,
  type RecordInput,
} from './extract-stage.js';
import {
  isHashType,
  isIocType,
  type EnrichedRow,
  type IocType,
  type LookupResult,
  type Observable,
  type VtReply,
} from './types.js';

/**
 * An input that extracts itself, as the `extract` command's text and CSV path does (src/parallel:
 * the native engine where it is built, else the same rows from JavaScript): it writes its extract rows as JSON
 * lines to `spool`, counts them in `stats`, and hands over each observable's first sighting. This is how the
 * CLI's `enrich` reads text and CSV inputs; other inputs (JSON, pre-typed, a library's records) are records.
 */
export interface SelfExtractingInput {
  extractTo(
    spool: NodeJS.WritableStream,
    stats: ExtractStats,
    onFirstSightings: (sightings: readonly FirstSighting[]) => void,
  ): Promise<unknown>;
}

/** What {@link enrich} reads. */
export type EnrichInput = RecordInput | SelfExtractingInput;

/** Options of {@link enrich}. */
export interface EnrichOptions extends ExtractOptions {
  /** VirusTotal client options (API, key, tier, pacing, retries). */
  lookup: LookupOptions;
  /** A persistent cache: answers from it cost no lookup, and each new reply is committed to it as it arrives. */
  cache?: ResultCache;
  /**
   * Plan only: everything but the lookups.
   * @default false
   */
  dryRun?: boolean;
  /** Where the occurrence spool goes. @default os.tmpdir() */
  spoolDirectory?: string;
  /** Called while lookups run, for progress displays. */
  onProgress?: (progress: EnrichProgress) => void;
}

/** Lookup progress with what the pipeline knows on top: how many lookups in all, and when they should end. */
export interface EnrichProgress extends LookupProgress {
  /** Lookups this run needs (distinct observables not answered by the cache). */
  readonly total: number;
  /** Time left at the configured per-minute rate; undefined when unthrottled. */
  readonly etaMs: number | undefined;
}

/** What a dry run (and every run) plans to look up. */
export interface LookupPlan {
  /** Distinct observables that need a lookup (not allowlisted, not answered by the cache), by type. */
  byType: Record<IocType, number>;
  lookups: number;
  /**
   * Requests beyond the lookups, at most (the dry run cannot know which observables are hits, which have more
   * resolutions or which URLs VirusTotal does not know, so it counts the worst case): `--resolutions` pages,
   * `--context` requests, and URL submissions and analysis polls (`--submit-unknown-urls`).
   */
  extra: { resolutionPages: number; context: number; submissions: number; polls: number };
  /** Quota items they cost at most: lookups plus {@link LookupPlan.extra}. */
  quotaItems: number;
  /** Answered from the cache. */
  cached: number;
  /** Minutes the lookups take at the configured per-minute rate (ignoring the daily budget). */
  minutes: number;
  /** Days the lookups span at the configured daily budget. */
  days: number;
  perMinute: number;
  perDay: number;
}

/** The accounting of an enrich run: occurrences = rejected + allowlisted + duplicates + lookedUp + notSubmitted + failed. */
export interface EnrichSummary {
  extract: ExtractStats;
  plan: LookupPlan;
  /** Undefined on a dry run. */
  lookup: LookupStats | undefined;
  occurrences: number;
  rejected: number;
  allowlisted: number;
  /** Later occurrences of an observable, and hashes of a file already returned under another hash. */
  duplicates: number;
  /** Valid occurrences with an answer (found or not found), from VirusTotal or the cache. */
  lookedUp: number;
  cacheHits: number;
  notSubmitted: number;
  failed: number;
  /** Rows by Status. */
  byStatus: Record<string, number>;
  /** Rows by Severity (looked-up and duplicate rows with a Positives value). */
  bySeverity: Record<string, number>;
  /** Why lookups stopped. */
  stopReason: LookupStats['stopReason'] | 'dry run';
  /** The most-detected distinct observables (Positives > 0), most detections first, at most 10. */
  topFindings: Finding[];
}

/** A detected observable, for the summary. */
export interface Finding {
  observable: string;
  type: string;
  positives: number;
  total: number | '';
  /** How many rows (occurrences) it has. */
  occurrences: number;
}

const TOP_FINDINGS = 10;

/** Observables asked of the cache at a time: the objects and keys of no more than these exist at once. */
const CACHE_SLICE = 10_000;

// The result fields of a row that had no lookup (screened out, allowlisted).
const NO_RESULT: LookupResult = failedResult('NotSubmitted: no lookup');

/**
 * One output row. Design decision: a single object literal in column order, not spreads: spreading 20-odd
 * properties into a literal measured 30 µs a row (V8's slow clone path), more than everything else per row.
 */
function makeRow(spooled: SpoolLine, status: string, result: LookupResult | undefined): EnrichedRow {
  const r = result ?? NO_RESULT;
  return {
    Observable: spooled.Observable,
    IoCType: spooled.IoCType,
    Status: status,
    ResponseCode: r.responseCode,
    RawResponse: r.rawResponse,
    Resource: r.resource,
    SourceIndex: spooled.SourceIndex,
    VerboseMsg: r.verboseMsg,
    ScanId: r.scanId,
    Permalink: r.permalink,
    Positives: r.positives,
    MD5: r.md5,
    SHA1: r.sha1,
    SHA256: r.sha256,
    ResolvedDomains: r.resolvedDomains,
    ResolvedIPs: r.resolvedIps,
    DetectedUrls: r.detectedUrls,
    Suspicious: r.suspicious,
    Total: r.total,
    Severity: severity(r.positives),
    Reputation: r.reputation,
    LastAnalysisDate: r.lastAnalysisDate,
    Tags: r.tags,
    // Rows without a lookup say nothing about the cache.
    CacheHit: result === undefined ? '' : r.cacheHit,
    FetchedAt: r.fetchedAt,
    SourceField: spooled.SourceField,
    SourceText: spooled.SourceText,
    ContactedDomains: r.contactedDomains,
    ContactedIPs: r.contactedIps,
    ContactedUrls: r.contactedUrls,
    CommunicatingFiles: r.communicatingFiles,
    Submitted: result === undefined ? '' : r.submitted,
    Note: spooled.Note,
  };
}

/**
 * Minutes the remaining quota items take. At slow rates (a public key's 4/min) work goes in whole minute
 * windows, the last item of a window waiting for it to roll over, so the estimate is rounded up to them.
 */
function etaMinutes(items: number, perMinute: number): number {
  const minutes = items / perMinute;
  return perMinute <= 60 ? Math.ceil(minutes) : minutes;
}

function zeroByType(): Record<IocType, number> {
  return { ipv4: 0, ipv6: 0, dns: 0, url: 0, md5_hash: 0, sha1_hash: 0, sha256_hash: 0 };
}

function planFor(pending: Iterable<IocType>, cached: number, options: NormalizedLookupOptions): LookupPlan {
  const byType = zeroByType();
  let lookups = 0;
  const extra = { resolutionPages: 0, context: 0, submissions: 0, polls: 0 };
  const v3 = options.api === 'v3';
  // Every poll waits analysisPollMs first; none is sent after analysisTimeoutMs.
  const pollsPerUrl = Math.floor(options.analysisTimeoutMs / options.analysisPollMs);
  for (const type of pending) {
    byType[type]++;
    lookups++;
    const hosts = type === 'ipv4' || type === 'ipv6' || type === 'dns';
    if (v3 && options.resolutions && hosts) extra.resolutionPages++;
    if (v3 && options.context && type !== 'url') extra.context++;
    if (options.submitUnknownUrls && type === 'url') {
      // v2 submits within the report request itself (scan=1).
      if (v3) extra.submissions++;
      extra.polls += pollsPerUrl;
    }
  }
  const quotaItems = lookups + extra.resolutionPages + extra.context + extra.submissions + extra.polls;
  return {
    byType,
    lookups,
    extra,
    quotaItems,
    cached,
    minutes: Number.isFinite(options.perMinute) ? quotaItems / options.perMinute : 0,
    days: Number.isFinite(options.perDay) ? Math.ceil(quotaItems / options.perDay) : quotaItems > 0 ? 1 : 0,
    perMinute: options.perMinute,
    perDay: options.perDay,
  };
}

/**
 * Runs the whole pipeline and hands each output row, in input order, to `onRow` (awaited, so a writer's
 * backpressure holds the pipeline). Every occurrence gets exactly one row, whatever happens to its lookup.
 * Throws only when the run itself fails (bad options, bad credentials, unreadable input); on such a failure
 * during the lookups, the rows for everything already known are still written before the error is rethrown.
 */
export async function enrich(
  records: EnrichInput,
  options: EnrichOptions,
  onRow: (row: EnrichedRow) => void | Promise<void>,
): Promise<EnrichSummary> {
  const lookupOptions = normalizeLookupOptions(options.lookup);
  const spoolDirectory = await mkdtemp(join(options.spoolDirectory ?? tmpdir(), 'ioc-enrich-'));
  const spoolPath = join(spoolDirectory, 'occurrences.jsonl');
  let closeResults = (): void => undefined;
  try {
    // Pass one: extract and spool; keep only the distinct observables.
    const extract = newExtractStats();
    const distinct = new DistinctObservables();
    const spool = createWriteStream(spoolPath);
    // An input line may hold the key itself (a proxy log of the user's own VirusTotal calls): the observable is
    // looked up, cached and written with the key cut out.
    const secret = lookupOptions.apiKey;
    const sighted = (type: IocType, observable: string): void => distinct.add(type, redact(observable, secret));
    if ('extractTo' in records) {
      const redacting = new RedactingWriter(spool, [secret]);
      try {
        await records.extractTo(redacting, extract, (sightings) => {
          for (const sighting of sightings) sighted(sighting.type, sighting.observable);
        });
      } finally {
        // A spool that failed destroyed the writer, and the wait for its 'finish' below rejects.
        if (!redacting.destroyed) redacting.end();
      }
    } else {
      let buffered = '';
      for await (const occurrences of extractOccurrenceBatches(records, options, extract)) {
        for (const occurrence of occurrences) {
          if (occurrence.status === 'Valid' && isIocType(occurrence.type))
            sighted(occurrence.type, occurrence.observable);
          buffered += `${redact(JSON.stringify(extractedRow(occurrence)), secret)}\n`;
        }
        if (buffered.length > 1 << 16) {
          if (!spool.write(buffered)) await once(spool, 'drain');
          buffered = '';
        }
      }
      spool.end(buffered);
    }
    await once(spool, 'finish');

    // The cache answers first; what is left is the plan. Observables are referred to by their number in
    // `distinct` from here on (see src/distinct-observables.ts).
    const results = new ResultStore(join(spoolDirectory, 'results'));
    closeResults = () => results.close();
    // A file answered under one hash is the same file under its others: those occurrences become duplicates.
    // By number, the number of the file answered first under another of its hashes (-1: none). Design decision:
    // only the other hashes that are observables of this run matter, so they are kept as numbers, not as the hash
    // texts of every file answered (two maps of 25,000 strings on the enrich bench, about 4.5 MB).
    const aliasOf = new Int32Array(distinct.size).fill(-1);
    const answeredByAlias = new Uint8Array(distinct.size);
    let cacheHits = 0;
    // The numbers left to look up after the cache: the first `pendingCount`.
    const pendingNumbers = new Int32Array(distinct.size);
    let pendingCount = 0;
    // A stored reply that no longer normalises (stored by an older version) is as good as none; with
    // --submit-unknown-urls a URL the cache knows as not found is asked again (and submitted).
    const answerFromCache = (number: number, cached: CachedEntry | undefined): boolean => {
      if (cached === undefined) return false;
      const known = normalizeReply(cached.reply, { raw: lookupOptions.raw, redact: lookupOptions.apiKey });
      if (known.status.startsWith('Failed')) return false;
      if (known.status === 'NotFound' && distinct.type(number) === 'url' && lookupOptions.submitUnknownUrls)
        return false;
      // A cached answer was not submitted by this run, whatever an earlier run did.
      const result: LookupResult = { ...known, cacheHit: true, submitted: false };
      results.set(number, result);
      rememberAliases(number, result);
      return true;
    };
    const rememberAliases = (number: number, result: LookupResult): void => {
      const type = distinct.type(number);
      if (!isHashType(type) || result.status !== 'Success') return;
      for (const [other, hash] of [
        ['md5_hash', result.md5],
        ['sha1_hash', result.sha1],
        ['sha256_hash', result.sha256],
      ] as const) {
        if (hash === '') continue;
        const alias = distinct.number(other, hash);
        if (alias !== undefined && alias !== number && aliasOf[alias] === -1) aliasOf[alias] = number;
      }
    };
    for (let first = 0; first < distinct.size; first += CACHE_SLICE) {
      const numbers = Array.from({ length: Math.min(CACHE_SLICE, distinct.size - first) }, (_, i) => first + i);
      const entries =
        options.cache === undefined
          ? []
          : await options.cache.getMany(
              lookupOptions.api,
              numbers.map((number) => distinct.observable(number)),
            );
      numbers.forEach((number, index) => {
        if (answerFromCache(number, entries[index])) cacheHits++;
        else pendingNumbers[pendingCount++] = number;
      });
    }
    const pending = pendingNumbers.subarray(0, pendingCount);
    const plan = planFor(
      Array.from(pending, (number) => distinct.type(number)),
      cacheHits,
      lookupOptions,
    );
    const numberOf = (observable: Observable): number => distinct.number(observable.type, observable.value) as number;

    const onProgress = options.onProgress;
    let lookup: LookupStats | undefined;
    // Boxed: what lookupObservables threw is rethrown as it was, even a falsy value.
    let failure: { error: unknown } | undefined;
    if (options.dryRun !== true && pending.length > 0) {
      try {
        // A shared cache: other hosts may answer (or be looking up) some of these meanwhile.
        const claims = options.cache?.claims;
        const shared =
          options.cache === undefined || claims === undefined
            ? undefined
            : new SharedWork(options.cache, claims, lookupOptions.api, {
                chunk: Math.max(4, lookupOptions.concurrency * 2),
                signal: lookupOptions.signal,
              });
        // Observables are made as the lookups take them (a shared cache's work list takes them all at once).
        const source =
          shared === undefined
            ? (function* () {
                for (const number of pending) yield distinct.observable(number);
              })()
            : shared.source(
                Array.from(pending, (number) => distinct.observable(number)),
                (observable, cached) => answerFromCache(numberOf(observable), cached),
              );
        lookup = await lookupObservables(source, lookupOptions, {
          before: (observable) => {
            const number = numberOf(observable);
            const first = aliasOf[number] as number;
            const known = first === -1 ? undefined : results.get(first);
            if (known !== undefined) answeredByAlias[number] = 1;
            return known;
          },
          onReply: (_observable: Observable, reply: VtReply) => options.cache?.put(reply),
          onResult: (observable, result) => {
            const number = numberOf(observable);
            results.set(number, result);
            rememberAliases(number, result);
            shared?.finished(observable);
          },
          ...(onProgress === undefined
            ? {}
            : {
                onProgress: (progress: LookupProgress) => {
                  const left = Math.max(0, plan.lookups - progress.done);
                  const itemsPerLookup = plan.lookups === 0 ? 1 : plan.quotaItems / plan.lookups;
                  // A literal, not a spread: this runs once per result (see makeRow).
                  onProgress({
                    done: progress.done,
                    lookedUp: progress.lookedUp,
                    failed: progress.failed,
                    notSubmitted: progress.notSubmitted,
                    requests: progress.requests,
                    retries: progress.retries,
                    dayUsed: progress.dayUsed,
                    perDay: progress.perDay,
                    monthUsed: progress.monthUsed,
                    perMonth: progress.perMonth,
                    perMinute: progress.perMinute,
                    total: plan.lookups,
                    etaMs: Number.isFinite(progress.perMinute)
                      ? etaMinutes(left * itemsPerLookup, progress.perMinute) * 60_000
                      : undefined,
                  });
                },
              }),
        });
        // The last replies are committed before the rows say they were looked up.
        await options.cache?.flush();
      } catch (error) {
        // The run failed (e.g. the key was refused): still write a row for every occurrence, then rethrow.
        failure = { error };
      }
    }

    // Pass two: rows in input order.
    const summary: EnrichSummary = {
      extract,
      plan,
      lookup,
      occurrences: 0,
      rejected: 0,
      allowlisted: 0,
      duplicates: 0,
      lookedUp: 0,
      cacheHits: 0,
      notSubmitted: 0,
      failed: 0,
      byStatus: {},
      bySeverity: {},
      stopReason: options.dryRun === true ? 'dry run' : (lookup?.stopReason ?? 'complete'),
      topFindings: [],
    };
    // The rows and Positives of each detected observable (Positives > 0), by number: eight bytes a distinct
    // observable, where objects for the hits took about a hundred bytes each.
    const hits = { rows: new Uint32Array(distinct.size), positives: new Uint32Array(distinct.size) };
    const notSubmitted = failedResult(
      options.dryRun === true
        ? 'NotSubmitted: dry run'
        : failure === undefined
          ? 'NotSubmitted: interrupted'
          : 'NotSubmitted: run failed',
    );
    for await (const lines of readSpool(spoolPath)) {
      for (const line of lines) {
        const { Observable: observable, IoCType: type, Status: screenStatus } = line;
        let row: EnrichedRow;
        if (screenStatus === 'Valid' || screenStatus === 'Duplicate') {
          const number = distinct.number(type as IocType, observable);
          const result = (number === undefined ? undefined : results.get(number)) ?? notSubmitted;
          const duplicate = screenStatus === 'Duplicate' || (number !== undefined && answeredByAlias[number] === 1);
          const status = duplicate ? 'Duplicate' : result.status;
          row = makeRow(line, status, result);
          if (number !== undefined && typeof result.positives === 'number' && result.positives > 0) {
            hits.rows[number] = (hits.rows[number] as number) + 1;
            hits.positives[number] = result.positives;
          }
          const term = accountingTerm(status);
          summary[term]++;
          if (term === 'lookedUp' && result.cacheHit) summary.cacheHits++;
        } else {
          row = makeRow(line, screenStatus, undefined);
          summary[accountingTerm(screenStatus)]++;
        }
        summary.occurrences++;
        summary.byStatus[String(row.Status)] = (summary.byStatus[String(row.Status)] ?? 0) + 1;
        if (row.Severity !== '')
          summary.bySeverity[String(row.Severity)] = (summary.bySeverity[String(row.Severity)] ?? 0) + 1;
        // Await only what asks to be awaited (a writer's backpressure): an await per row costs more than the row.
        const pending = onRow(row);
        if (pending !== undefined) await pending;
      }
    }
    summary.topFindings = topFindings(hits, distinct, results);
    if (failure !== undefined) throw failure.error;
    return summary;
  } finally {
    closeResults();
    await rm(spoolDirectory, { recursive: true, force: true });
  }
}

/** The most-detected observables: most Positives first, then most rows, then by value; at most TOP_FINDINGS. */
function topFindings(
  hits: { rows: Uint32Array; positives: Uint32Array },
  distinct: DistinctObservables,
  results: ResultStore,
): Finding[] {
  const first = (a: number, b: number): number =>
    (hits.positives[b] as number) - (hits.positives[a] as number) ||
    (hits.rows[b] as number) - (hits.rows[a] as number) ||
    codeUnitOrder(distinct.value(a), distinct.value(b));
  // The best TOP_FINDINGS so far, in order: a sort of a few numbers per hit, not of every hit.
  const best: number[] = [];
  hits.rows.forEach((rows, number) => {
    if (rows === 0) return;
    if (best.length === TOP_FINDINGS && first(number, best[TOP_FINDINGS - 1] as number) >= 0) return;
    best.push(number);
    best.sort(first);
    if (best.length > TOP_FINDINGS) best.pop();
  });
  return best.map((number) => ({
    observable: distinct.value(number),
    type: distinct.type(number),
    positives: hits.positives[number] as number,
    total: results.get(number)?.total ?? '',
    occurrences: hits.rows[number] as number,
  }));
}
