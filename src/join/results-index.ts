/**
 * Reads an enrich output (CSV, JSON lines or a JSON array) into one small verdict per SourceIndex. Memory is
 * proportional to the source rows that have results, not to the result file (RawResponse is never kept).
 */
import { readResultRows } from '../io/result-rows.js';

/** What the join adds to one source row, accumulated over that row's result rows. */
export interface RowVerdict {
  /** The highest Positives; -1 when no result row of the source row had one. */
  maxPositives: number;
  /** The worst Severity as a rank (see {@link SEVERITY_RANK}); 0 when none. */
  severity: number;
  /** Observables with Positives > 0, distinct, in result order. */
  readonly malicious: string[];
  /** Every observable of the row VirusTotal found, distinct (values of different types never coincide). */
  readonly found: string[];
  /** Set when a source row with this index was written (to report results that matched nothing). */
  matched: boolean;
}

/** msticpy's severities, worst last. */
export const SEVERITIES = ['', 'information', 'warning', 'high'] as const;
const SEVERITY_RANK: ReadonlyMap<string, number> = new Map(SEVERITIES.map((name, rank) => [name, rank]));

/** The verdicts of a results file, and how many result rows it had. */
export interface ResultsIndex {
  readonly verdicts: Map<string, RowVerdict>;
  readonly resultRows: number;
}

/** One result row's fields that the join reads, as text or JSON values. */
interface ResultFields {
  sourceIndex: unknown;
  observable: unknown;
  status: unknown;
  responseCode: unknown;
  positives: unknown;
  severity: unknown;
}

const REQUIRED = ['SourceIndex', 'Observable', 'Status', 'Positives', 'Severity'] as const;
const COLUMNS = ['SourceIndex', 'Observable', 'Status', 'ResponseCode', 'Positives', 'Severity'] as const;

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

function number(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  // Number('') and Number(' ') are 0: an empty cell is no count.
  if (typeof value !== 'string' || value === '' || value.charCodeAt(0) === 0x20) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** Adds one result row to its source row's verdict. */
function accumulate(verdicts: Map<string, RowVerdict>, row: ResultFields, hasResponseCode: boolean): void {
  const index = text(row.sourceIndex);
  let verdict = verdicts.get(index);
  if (verdict === undefined) {
    verdict = { maxPositives: -1, severity: 0, malicious: [], found: [], matched: false };
    verdicts.set(index, verdict);
  }
  const observable = text(row.observable);
  const positives = number(row.positives);
  if (positives !== undefined) {
    verdict.maxPositives = Math.max(verdict.maxPositives, positives);
    if (positives > 0 && !verdict.malicious.includes(observable)) verdict.malicious.push(observable);
  }
  verdict.severity = Math.max(verdict.severity, SEVERITY_RANK.get(text(row.severity)) ?? 0);
  // ResponseCode 1 is "found" for v3 and v2 alike; v2 rows say Success even for response_code 0. Without the
  // column, a Success or a Duplicate carrying a verdict counts.
  const status = text(row.status);
  const found = hasResponseCode
    ? number(row.responseCode) === 1
    : status === 'Success' || (status === 'Duplicate' && positives !== undefined);
  if (found && !verdict.found.includes(observable)) verdict.found.push(observable);
}

/**
 * Reads the results file at `path` (CSV, JSON lines or a JSON array, told apart by the first character) into
 * a verdict per SourceIndex.
 *
 * @throws InputError naming the file and line for unreadable input or a file that is not an enrich output;
 *   IocEnrichError `INPUT_NOT_FOUND` when it does not exist.
 */
export async function readResultsIndex(
  path: string,
  nativeEngine?: boolean,
  onNotice?: (message: string) => void,
): Promise<ResultsIndex> {
  const verdicts = new Map<string, RowVerdict>();
  const spec = { columns: COLUMNS, required: REQUIRED, nativeEngine, onNotice };
  const resultRows = await readResultRows(path, spec, (row) => {
    const [sourceIndex, observable, status, responseCode, positives, severity] = [0, 1, 2, 3, 4, 5].map((column) =>
      row.value(column),
    );
    // Without a ResponseCode (column or JSON member), a Success or a Duplicate carrying a verdict counts as found.
    accumulate(
      verdicts,
      { sourceIndex, observable, status, responseCode, positives, severity },
      responseCode !== undefined,
    );
  });
  return { verdicts, resultRows };
}
