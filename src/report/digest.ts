/**
 * A run's digest: what the HTML report and the STIX and MISP exports are made from. It is built from enrich output
 * rows alone (one per occurrence, as enrich hands them out or as they are read back from its CSV, JSON lines or
 * JSON), so `enrich --report` and `ioc-enrich report results.csv` give the same thing.
 *
 * Design decision: memory and the report's size follow the DISTINCT observables, not the occurrences: each
 * observable keeps its verdict, how many rows it appears in, and the first few SourceTexts (truncated), never
 * every row.
 */
import { accountingTerm } from '../accounting.js';
import { readResultRows } from '../io/result-rows.js';
import { TextIds, ValuesRow, textOf as text, type ResultRow } from '../io/result-row.js';
import { isHashType, isIocType, type EnrichedRow, type Severity } from '../types.js';
import { guiLink, urlIdSha256 } from '../vt/ids.js';

/** The columns the digest reads from a result row, in the order {@link DigestBuilder.add} takes them. */
export const DIGEST_COLUMNS = [
  'Observable',
  'IoCType',
  'Status',
  'ResponseCode',
  'Positives',
  'Suspicious',
  'Total',
  'Severity',
  'MD5',
  'SHA1',
  'SHA256',
  'Reputation',
  'LastAnalysisDate',
  'Tags',
  'CacheHit',
  'FetchedAt',
  'SourceIndex',
  'SourceField',
  'SourceText',
] as const;

/** Columns without which a file is not an enrich output. */
export const DIGEST_REQUIRED = ['Observable', 'IoCType', 'Status', 'Positives', 'Severity', 'SourceIndex'] as const;

/** SourceTexts kept per observable. */
export const SAMPLES_PER_OBSERVABLE = 3;
/** Longest SourceText kept, in characters; longer ones end with `…`. */
export const SAMPLE_CHARS = 300;

/** Where an observable was seen: one source row. */
export interface Sample {
  readonly sourceIndex: string;
  readonly field: string;
  readonly text: string;
}

/** One distinct observable (type and normalised value) with its verdict and where it appears. */
export interface ObservableDigest {
  readonly type: string;
  readonly value: string;
  /** The lookup's Status (Success, NotFound, Failed: …, NotSubmitted: …), Allowlisted, or Duplicate when every row was one (a hash of a file answered under another hash). */
  status: string;
  responseCode: number | '';
  positives: number | '';
  suspicious: number | '';
  total: number | '';
  severity: Severity;
  md5: string;
  sha1: string;
  sha256: string;
  reputation: number | '';
  lastAnalysisDate: string;
  tags: string;
  cacheHit: boolean;
  fetchedAt: string;
  /** Source rows (occurrences) it appears in. */
  occurrences: number;
  /** The first {@link SAMPLES_PER_OBSERVABLE} occurrences. */
  readonly samples: Sample[];
}

/** The accounting identity: occurrences = rejected + allowlisted + duplicates + lookedUp + notSubmitted + failed. */
export interface Accounting {
  occurrences: number;
  rejected: number;
  allowlisted: number;
  duplicates: number;
  lookedUp: number;
  notSubmitted: number;
  failed: number;
}

/** What the results cannot tell: the quota as the client knew it at the end of the run (enrich --report only). */
export interface QuotaState {
  readonly dayUsed: number;
  readonly perDay: number;
  readonly monthUsed: number;
  readonly perMonth: number;
  readonly requests: number;
}

/** Facts about the run that are not in its rows. */
export interface RunInfo {
  /** The input (or results file) the run is named after. */
  readonly source: string;
  /** When the run started and ended (the report command: the results file's modification time for both). */
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly quota?: QuotaState | undefined;
}

/** A run's digest. */
export interface RunDigest {
  readonly accounting: Accounting;
  /** Rows by Status. */
  readonly byStatus: Record<string, number>;
  /** Rows by Severity (rows with a verdict). */
  readonly bySeverity: Record<string, number>;
  /** Rejected rows by screening message. */
  readonly rejectedByReason: Record<string, number>;
  /** Distinct observables (every accepted or allowlisted one), in order of first appearance. */
  readonly observables: readonly ObservableDigest[];
  /** Distinct observables answered from the cache, and looked up in VirusTotal by this run. */
  readonly cacheHits: number;
  readonly lookupsSent: number;
}

function count(value: unknown): number | '' {
  if (typeof value === 'number') return Number.isFinite(value) ? value : '';
  // Number('') is 0: an empty cell is no count.
  if (typeof value !== 'string' || value.trim() === '') return '';
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : '';
}

function severityOf(value: unknown): Severity {
  return value === 'high' || value === 'warning' || value === 'information' ? value : '';
}

function truncated(value: string): string {
  return value.length <= SAMPLE_CHARS ? value : `${value.slice(0, SAMPLE_CHARS - 1)}…`;
}

/** Rows of one Status, and which term of the accounting they count in. */
interface StatusCount {
  readonly status: string;
  readonly term: Exclude<keyof Accounting, 'occurrences'>;
  rows: number;
}

/** Builds a {@link RunDigest} from result rows, one at a time. */
export class DigestBuilder {
  // Per-row work is kept to small integers where it can be: a million rows hold a handful of statuses, severities
  // and types and 100,000 observables, and the reader numbers each column's values (ResultRow.id, from the CSV's
  // bytes), so a row already seen costs array lookups, no string and no map of strings. A number's first row
  // looks its value up by name (below), so that numbers from another reader (or addRow) still meet the same
  // observables.
  readonly #statuses = new Map<string, StatusCount>();
  readonly #severityRows = { high: 0, warning: 0, information: 0 };
  /** By type, then value: every observable. */
  readonly #observables = new Map<string, Map<string, ObservableDigest>>();
  readonly #order: ObservableDigest[] = [];
  /** Whose numbers the arrays below hold; by a row's number of its Status, Severity, IoCType and Observable. */
  #numbering: object | undefined;
  #statusById: StatusCount[] = [];
  #severityById: Severity[] = [];
  #typeById: string[] = [];
  /** The observable of that value and the first type it came with (a value of two types: see #observableOf). */
  #observableById: ObservableDigest[] = [];
  /** Numbers the rows {@link addRow} is given. */
  readonly #ownNumbering = new TextIds();

  /** Adds one row whose values are in {@link DIGEST_COLUMNS} order (as `readResultRows` hands them over). */
  add(row: ResultRow): void {
    if (row.numbering !== this.#numbering) {
      this.#numbering = row.numbering;
      this.#statusById = [];
      this.#severityById = [];
      this.#typeById = [];
      this.#observableById = [];
    }
    const statusId = row.id(2);
    const counted = this.#statusById[statusId] ?? this.#statusOf(row, statusId);
    counted.rows++;
    const severityId = row.id(7);
    let severity = this.#severityById[severityId];
    if (severity === undefined) {
      severity = severityOf(row.value(7));
      this.#severityById[severityId] = severity;
    }
    if (severity !== '') this.#severityRows[severity]++;
    if (counted.term === 'rejected') return;
    const typeId = row.id(1);
    let typeName = this.#typeById[typeId];
    if (typeName === undefined) {
      typeName = text(row.value(1));
      this.#typeById[typeId] = typeName;
    }
    const valueId = row.id(0);
    let digest = this.#observableById[valueId];
    if (digest === undefined || digest.type !== typeName) {
      digest = this.#observableOf(row, valueId, typeName, counted.status, severity);
    } else if (digest.status === 'Duplicate' && counted.term !== 'duplicates') {
      // The lookup's own row says what happened to it; a Duplicate row only carries its verdict.
      digest.status = counted.status;
    }
    digest.occurrences++;
    if (digest.samples.length < SAMPLES_PER_OBSERVABLE) {
      digest.samples.push({
        sourceIndex: text(row.value(16)),
        field: text(row.value(17)),
        text: truncated(text(row.value(18))),
      });
    }
  }

  #statusOf(row: ResultRow, statusId: number): StatusCount {
    const status = text(row.value(2));
    let counted = this.#statuses.get(status);
    if (counted === undefined) {
      counted = { status, term: accountingTerm(status), rows: 0 };
      this.#statuses.set(status, counted);
    }
    this.#statusById[statusId] = counted;
    return counted;
  }

  /** The observable of a row whose value number is new (or came with another type first), found or made. */
  #observableOf(
    row: ResultRow,
    valueId: number,
    typeName: string,
    status: string,
    severity: Severity,
  ): ObservableDigest {
    const value = text(row.value(0));
    let ofType = this.#observables.get(typeName);
    if (ofType === undefined) {
      ofType = new Map();
      this.#observables.set(typeName, ofType);
    }
    let digest = ofType.get(value);
    if (digest === undefined) {
      const cacheHit = row.value(14);
      digest = {
        type: typeName,
        value,
        status,
        responseCode: count(row.value(3)),
        positives: count(row.value(4)),
        suspicious: count(row.value(5)),
        total: count(row.value(6)),
        severity,
        md5: text(row.value(8)),
        sha1: text(row.value(9)),
        sha256: text(row.value(10)),
        reputation: count(row.value(11)),
        lastAnalysisDate: text(row.value(12)),
        tags: text(row.value(13)),
        cacheHit: cacheHit === true || cacheHit === 'true',
        fetchedAt: text(row.value(15)),
        occurrences: 0,
        samples: [],
      };
      ofType.set(value, digest);
      this.#order.push(digest);
    } else if (digest.status === 'Duplicate' && status !== 'Duplicate') {
      digest.status = status;
    }
    this.#observableById[valueId] ??= digest;
    return digest;
  }

  /** Adds one row as enrich hands it out. */
  addRow(row: EnrichedRow): void {
    this.add(
      new ValuesRow(
        DIGEST_COLUMNS.map((column) => row[column]),
        this.#ownNumbering,
      ),
    );
  }

  /** The digest of the rows added so far. */
  finish(): RunDigest {
    const accounting: Accounting = {
      occurrences: 0,
      rejected: 0,
      allowlisted: 0,
      duplicates: 0,
      lookedUp: 0,
      notSubmitted: 0,
      failed: 0,
    };
    const byStatus: Record<string, number> = {};
    const rejectedByReason: Record<string, number> = {};
    for (const { status, term, rows } of this.#statuses.values()) {
      accounting.occurrences += rows;
      accounting[term] += rows;
      byStatus[status] = rows;
      if (term === 'rejected') rejectedByReason[status] = rows;
    }
    const bySeverity: Record<string, number> = {};
    for (const [severity, rows] of Object.entries(this.#severityRows)) if (rows > 0) bySeverity[severity] = rows;
    const observables = [...this.#order];
    let cacheHits = 0;
    let lookupsSent = 0;
    for (const observable of observables) {
      if (observable.status !== 'Success' && observable.status !== 'NotFound') continue;
      if (observable.cacheHit) cacheHits++;
      else lookupsSent++;
    }
    return { accounting, byStatus, bySeverity, rejectedByReason, observables, cacheHits, lookupsSent };
  }
}

/** True when the observable's Positives reaches `minPositives` (at least 1). */
export function isDetected(observable: ObservableDigest, minPositives: number): boolean {
  return typeof observable.positives === 'number' && observable.positives >= Math.max(1, minPositives);
}

/**
 * Reads an enrich output file (CSV, JSON lines or JSON) into its digest.
 *
 * @throws InputError naming the file and line for unreadable input or a file that is not an enrich output.
 */
export async function readDigest(
  path: string,
  options: { nativeEngine?: boolean; onNotice?: (message: string) => void } = {},
): Promise<RunDigest> {
  const builder = new DigestBuilder();
  await readResultRows(path, { columns: DIGEST_COLUMNS, required: DIGEST_REQUIRED, ...options }, (row) =>
    builder.add(row),
  );
  return builder.finish();
}

/**
 * The VirusTotal GUI link of an observable, built from its type and value (never taken from a row's text):
 * a file by its SHA-256 when known, a URL by VirusTotal's URL id. '' for a type VirusTotal has no page for.
 */
export function virusTotalLink(observable: Pick<ObservableDigest, 'type' | 'value' | 'sha256'>): string {
  const { type, value } = observable;
  if (!isIocType(type)) return '';
  const id =
    type === 'url' ? urlIdSha256(value) : isHashType(type) && observable.sha256 !== '' ? observable.sha256 : value;
  return guiLink(type, encodeURIComponent(id));
}

/** detections() of a digest, by minPositives: the HTML report, STIX and MISP outputs each ask for them. */
const detectionsMade = new WeakMap<RunDigest, Map<number, readonly ObservableDigest[]>>();

/**
 * The detected observables (Positives ≥ `minPositives`), most detections first, then most rows, then by value. Made
 * once per digest and threshold (a digest is not changed once made): 100,000 observables are filtered and a third
 * of them sorted once, not once per output.
 */
export function detections(digest: RunDigest, minPositives: number): readonly ObservableDigest[] {
  let made = detectionsMade.get(digest);
  if (made === undefined) {
    made = new Map();
    detectionsMade.set(digest, made);
  }
  let found = made.get(minPositives);
  if (found === undefined) {
    found = sortedDetections(digest, minPositives);
    made.set(minPositives, found);
  }
  return found;
}

function sortedDetections(digest: RunDigest, minPositives: number): ObservableDigest[] {
  return digest.observables
    .filter((observable) => isDetected(observable, minPositives))
    .sort(
      (a, b) =>
        (b.positives as number) - (a.positives as number) ||
        b.occurrences - a.occurrences ||
        (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
    );
}
