/**
 * Reads an enrich output (CSV, JSON lines or a JSON array) into one small verdict per SourceIndex. Memory is
 * proportional to the source rows that have results, not to the result file (RawResponse is never kept).
 */
import { InputError } from '../errors.js';
import { csvRowBatches } from '../io/csv-records.js';
import { readChunks } from '../io/input-source.js';
import { splitLines } from '../io/line-splitter.js';

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

/**
 * Our CSV writer puts `'` before a cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
 * CR). An index or observable read back from such a file gets its own value again, so that it matches the
 * source.
 */
function withoutFormulaGuard(cell: string): string {
  return cell.length > 1 && cell.charCodeAt(0) === 0x27 && /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

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

/** Peeks at the first non-blank byte to tell CSV from JSON lines (`{`) and a JSON array (`[`). */
async function* peekable(
  chunks: AsyncGenerator<Buffer>,
  seen: (first: number | undefined) => void,
): AsyncGenerator<Buffer> {
  let told = false;
  for await (const chunk of chunks) {
    if (!told) {
      let at = chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
      while (
        at < chunk.length &&
        (chunk[at] === 0x20 || chunk[at] === 0x0a || chunk[at] === 0x0d || chunk[at] === 0x09)
      )
        at++;
      if (at < chunk.length) {
        told = true;
        seen(chunk[at]);
      }
    }
    yield chunk;
  }
  if (!told) seen(undefined);
}

async function readCsv(
  lines: AsyncIterable<{ firstLine: number; lines: readonly string[] }>,
  file: string,
  verdicts: Map<string, RowVerdict>,
): Promise<number> {
  let rows = 0;
  let columns: Record<keyof ResultFields, number> | undefined;
  for await (const batch of csvRowBatches(lines, { file })) {
    if (columns === undefined) {
      const at = (name: string): number => batch.header.indexOf(name);
      const missing = REQUIRED.filter((name) => at(name) === -1);
      if (missing.length > 0) {
        throw new InputError(file, batch.headerLine + 1, `not an enrich output: no ${missing.join(', ')} column`);
      }
      columns = {
        sourceIndex: at('SourceIndex'),
        observable: at('Observable'),
        status: at('Status'),
        responseCode: at('ResponseCode'),
        positives: at('Positives'),
        severity: at('Severity'),
      };
    }
    const hasResponseCode = columns.responseCode !== -1;
    for (const { cells } of batch.rows) {
      const cell = (index: number): string => (index === -1 ? '' : (cells[index] ?? ''));
      accumulate(
        verdicts,
        {
          sourceIndex: withoutFormulaGuard(cell(columns.sourceIndex)),
          observable: withoutFormulaGuard(cell(columns.observable)),
          status: cell(columns.status),
          responseCode: cell(columns.responseCode),
          positives: cell(columns.positives),
          severity: cell(columns.severity),
        },
        hasResponseCode,
      );
      rows++;
    }
  }
  return rows;
}

function fieldsOf(value: unknown, file: string, line: number | undefined): ResultFields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(file, line, 'expected a JSON object (an enrich output row)');
  }
  const row = value as Record<string, unknown>;
  if (!Object.hasOwn(row, 'SourceIndex') || !Object.hasOwn(row, 'Observable')) {
    throw new InputError(file, line, 'not an enrich output row: no SourceIndex or Observable');
  }
  return {
    sourceIndex: row['SourceIndex'],
    observable: row['Observable'],
    status: row['Status'],
    responseCode: row['ResponseCode'],
    positives: row['Positives'],
    severity: row['Severity'],
  };
}

function parseJson(textValue: string, file: string, line: number | undefined): unknown {
  try {
    return JSON.parse(textValue);
  } catch (error) {
    throw new InputError(file, line, `not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Reads the results file at `path` (CSV, JSON lines or a JSON array, told apart by the first character) into
 * a verdict per SourceIndex.
 *
 * @throws InputError naming the file and line for unreadable input or a file that is not an enrich output;
 *   IocEnrichError `INPUT_NOT_FOUND` when it does not exist.
 */
export async function readResultsIndex(path: string): Promise<ResultsIndex> {
  const verdicts = new Map<string, RowVerdict>();
  let first: number | undefined;
  const chunks = peekable(readChunks({ path }), (byte) => (first = byte));
  // The first chunk decides the format; splitLines keeps pulling from the same generator afterwards.
  const head = await chunks.next();
  async function* all(): AsyncGenerator<Buffer> {
    if (head.done !== true) yield head.value;
    yield* chunks;
  }
  if (first === 0x5b) {
    // A JSON array (`enrich --format json`) is one document: parsed whole, like its writer wrote it.
    const parts: Buffer[] = [];
    for await (const chunk of all()) parts.push(Buffer.from(chunk));
    const rows = parseJson(
      Buffer.concat(parts)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
      path,
      undefined,
    );
    if (!Array.isArray(rows)) throw new InputError(path, 1, 'expected a JSON array of enrich output rows');
    for (const row of rows)
      accumulate(verdicts, fieldsOf(row, path, undefined), Object.hasOwn(row as object, 'ResponseCode'));
    return { verdicts, resultRows: rows.length };
  }
  const lines = splitLines(all(), path);
  if (first !== 0x7b) return { verdicts, resultRows: await readCsv(lines, path, verdicts) };
  let rows = 0;
  for await (const { firstLine, lines: batch } of lines) {
    for (let offset = 0; offset < batch.length; offset++) {
      const line = batch[offset] as string;
      if (line.trim() === '') continue;
      const lineNumber = firstLine + offset + 1;
      const value = parseJson(line, path, lineNumber);
      accumulate(verdicts, fieldsOf(value, path, lineNumber), Object.hasOwn(value as object, 'ResponseCode'));
      rows++;
    }
  }
  return { verdicts, resultRows: rows };
}
