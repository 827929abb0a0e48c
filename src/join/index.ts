/**
 * `join`: puts the verdicts back into the table the analyst started from. The results (an enrich output) are
 * indexed by SourceIndex in memory; the source is streamed and written back byte for byte, each record with
 * verdict cells (CSV) or keys (JSON lines) added, so sources larger than memory work.
 */
import { extname } from 'node:path';
import { InputError, OptionError } from '../errors.js';
import { parseLenient, parseUnclosed, uniqueHeader } from '../io/csv-records.js';
import type { EncodingName } from '../io/decode.js';
import { openInput, type InputMember } from '../io/open-input.js';
import { parseJsonPath, valueAt } from '../io/json-fields.js';
import { csvCell } from '../io/writers.js';
import { fileOutput, streamOutput, type JoinOutput } from './output.js';
import { RecordSplitter, type RawRecord } from './record-splitter.js';
import { SEVERITIES, readResultsIndex, type RowVerdict } from './results-index.js';

/** The columns (CSV) or keys (JSON lines) the join adds, in order. */
export const JOIN_COLUMNS = ['vt_max_positives', 'vt_severity', 'vt_malicious', 'vt_observables'] as const;

/** Options of {@link joinResults}. */
export interface JoinOptions {
  /** The source table: the file enrich read. */
  source: string;
  /** Read the source from this stream instead (`source` still names it in errors), e.g. stdin for `-`. */
  sourceStream?: NodeJS.ReadableStream | undefined;
  /** @default from the extension: `.jsonl`, `.ndjson`, `.json` are jsonl, anything else csv */
  sourceFormat?: 'csv' | 'jsonl' | undefined;
  /** The enrich output: CSV, JSON lines or a JSON array (told apart by its first character). */
  results: string;
  /**
   * Where to write: a path (written to a temporary name in the same directory and renamed when complete), or
   * a stream, which is written to but not ended.
   */
  output: NodeJS.WritableStream | string;
  /**
   * The source column (CSV) or dotted path (JSON lines) whose value is the SourceIndex, as given to enrich's
   * `--index-col`. @default the 0-based data row (CSV) or line (JSON lines) number
   */
  indexColumn?: string | undefined;
  /** CSV: the source's delimiter, as enrich was given it. @default sniffed, as enrich sniffs it */
  delimiter?: string | undefined;
  /** The source's encoding, as enrich was given it. @default detected, as enrich detects it */
  encoding?: EncodingName | undefined;
  /** False: read a results CSV in JavaScript only, even where the native engine is built. @default true */
  nativeEngine?: boolean | undefined;
  /** Told what was skipped on the way (PowerShell's `#TYPE` line above the results' header), for stderr. */
  onNotice?: ((message: string) => void) | undefined;
}

/** What a join did. */
export interface JoinStats {
  /** Data rows of the source (CSV records after the header, non-blank JSON lines). */
  sourceRows: number;
  /** Source rows that had result rows. */
  matchedRows: number;
  /** Rows read from the results file. */
  resultRows: number;
  /** SourceIndex values of the results that no source row had: a sign of the wrong source or index column. */
  unmatchedIndexes: number;
}

function csvHeaderSuffix(delimiter: string): string {
  return JOIN_COLUMNS.map((name) => `${delimiter}${name}`).join('');
}

/** The four added values of a row with results. */
function verdictValues(verdict: RowVerdict): [number | null, string | null, string | null, number] {
  return [
    verdict.maxPositives < 0 ? null : verdict.maxPositives,
    verdict.severity === 0 ? null : (SEVERITIES[verdict.severity] ?? null),
    verdict.malicious.length === 0 ? null : verdict.malicious.join('; '),
    verdict.found.length,
  ];
}

function csvSuffix(verdict: RowVerdict | undefined, delimiter: string): string {
  if (verdict === undefined) return delimiter.repeat(JOIN_COLUMNS.length);
  return verdictValues(verdict)
    .map((value) => `${delimiter}${value === null ? '' : csvCell(String(value), delimiter)}`)
    .join('');
}

function jsonMembers(verdict: RowVerdict | undefined): string {
  const values = verdict === undefined ? [null, null, null, null] : verdictValues(verdict);
  return JOIN_COLUMNS.map((name, index) => `"${name}":${JSON.stringify(values[index])}`).join(',');
}

/**
 * A growing byte buffer for one chunk's output, written in one go. Copies of adjacent ranges of the same
 * source are merged: a record's line end and the next record's content go out in one copy (a native copy per
 * call costs more than the bytes of a short record).
 */
class OutputBuffer {
  #buffer = Buffer.allocUnsafe(1 << 16);
  #length = 0;
  #source: Buffer | undefined;
  #start = 0;
  #end = 0;

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }

  #flush(): void {
    if (this.#source === undefined) return;
    this.#reserve(this.#end - this.#start);
    this.#length += this.#source.copy(this.#buffer, this.#length, this.#start, this.#end);
    this.#source = undefined;
  }

  bytes(source: Buffer, start: number, end: number): void {
    if (source === this.#source && start === this.#end) {
      this.#end = end;
      return;
    }
    this.#flush();
    this.#source = source;
    this.#start = start;
    this.#end = end;
  }

  text(value: string): void {
    this.#flush();
    this.#reserve(value.length * 3);
    this.#length += this.#buffer.write(value, this.#length);
  }

  /** The bytes so far, as a new Buffer (the output may hold it while the source chunk is reused). */
  take(): Buffer {
    this.#flush();
    const taken = Buffer.from(this.#buffer.subarray(0, this.#length));
    this.#length = 0;
    return taken;
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function startsWithBom(record: RawRecord): boolean {
  return record.line === 0 && record.data.subarray(record.start, record.start + 3).equals(BOM);
}

/** The row handler of one source format: appends one record, with its additions, to `out`. */
type RowWriter = (record: RawRecord, out: OutputBuffer) => void;

interface JoinState {
  readonly file: string;
  readonly verdicts: Map<string, RowVerdict>;
  /**
   * The verdicts whose SourceIndex is a row number, by number: without an index column every row is looked up
   * by its number, and a number key spares making and hashing a string per row.
   */
  readonly byRow: Map<number, RowVerdict>;
  readonly indexColumn: string | undefined;
  readonly stats: JoinStats;
}

/** Looks a row's verdict up (by SourceIndex text or row number), marks it used and counts the row. */
function lookUp(state: JoinState, sourceIndex: string | number | undefined): RowVerdict | undefined {
  state.stats.sourceRows++;
  if (sourceIndex === undefined) return undefined;
  const verdict = typeof sourceIndex === 'number' ? state.byRow.get(sourceIndex) : state.verdicts.get(sourceIndex);
  if (verdict !== undefined && !verdict.matched) {
    verdict.matched = true;
    state.stats.matchedRows++;
  }
  return verdict;
}

function byRowNumber(verdicts: Map<string, RowVerdict>): Map<number, RowVerdict> {
  const byRow = new Map<number, RowVerdict>();
  for (const [index, verdict] of verdicts) {
    if (/^(?:0|[1-9]\d{0,14})$/.test(index)) byRow.set(Number(index), verdict);
  }
  return byRow;
}

function csvRowWriter(state: JoinState, delimiter: string): RowWriter {
  let header: readonly string[] | undefined;
  let indexAt = -1;
  let row = 0;
  // Read as the extract reader reads them by default (leniently), so that rows and their cells agree with enrich's.
  const cellsOf = (record: RawRecord, skip: number): string[] => {
    const text = record.data.toString('utf8', record.start + skip, record.contentEnd);
    const parsed = parseLenient(text, delimiter);
    return parsed.kind === 'ok' ? parsed.cells : parseUnclosed(text, delimiter);
  };
  return (record, out) => {
    // Blank lines above the header (where the input's reader dropped PowerShell's `#TYPE` line, see
    // src/io/open-input.ts) are left out: the joined table starts with its header, as a spreadsheet expects.
    if (header === undefined && record.contentEnd === record.start) return;
    out.bytes(record.data, record.start, record.contentEnd);
    if (record.contentEnd > record.start) {
      if (header === undefined) {
        header = uniqueHeader(cellsOf(record, startsWithBom(record) ? 3 : 0));
        if (state.indexColumn !== undefined) {
          indexAt = header.indexOf(state.indexColumn);
          if (indexAt === -1) {
            throw new OptionError('--index-col', state.indexColumn, `a column of ${state.file} (${header.join(', ')})`);
          }
        }
        out.text(csvHeaderSuffix(delimiter));
      } else {
        const sourceIndex = indexAt === -1 ? row : cellsOf(record, 0)[indexAt];
        row++;
        out.text(csvSuffix(lookUp(state, sourceIndex), delimiter));
      }
    }
    // Blank lines are not rows (as in the extract reader): kept as they are.
    out.bytes(record.data, record.contentEnd, record.end);
  };
}

const WHITESPACE = new Set([0x20, 0x09, 0x0d, 0x0a]);

function jsonlRowWriter(state: JoinState): RowWriter {
  const indexPath = state.indexColumn === undefined ? undefined : parseJsonPath(state.indexColumn);
  return (record, out) => {
    const { data, start, end, line } = record;
    const skip = startsWithBom(record) ? 3 : 0;
    let last = end - 1;
    while (last >= start + skip && WHITESPACE.has(data[last] as number)) last--;
    if (last < start + skip) {
      // A blank line: not a row, but it keeps its number (SourceIndex is the line number).
      out.bytes(data, start, end);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8', start + skip, last + 1));
    } catch (error) {
      throw new InputError(state.file, line + 1, `not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError(state.file, line + 1, 'expected a JSON object');
    }
    let sourceIndex: string | number | undefined = line;
    if (indexPath !== undefined) {
      const index = valueAt(value, indexPath);
      // A line without its index was a bad row to enrich: it can have no results.
      sourceIndex = typeof index === 'string' || typeof index === 'number' ? String(index) : undefined;
    }
    const members = jsonMembers(lookUp(state, sourceIndex));
    // The object's text stays as it was; the new members go before its closing brace.
    out.bytes(data, start, last);
    out.text(Object.keys(value).length === 0 ? members : `,${members}`);
    out.bytes(data, last, end);
  };
}

/** The source format a path implies. */
function inferSourceFormat(path: string): 'csv' | 'jsonl' {
  const extension = extname(path).toLowerCase();
  return extension === '.jsonl' || extension === '.ndjson' || extension === '.json' ? 'jsonl' : 'csv';
}

/**
 * Writes the source table with verdict columns (CSV) or keys (JSON lines) added to each row, matched with the
 * results by SourceIndex: `vt_max_positives` (highest Positives of the row's observables), `vt_severity` (the
 * worst: high > warning > information), `vt_malicious` (observables with Positives > 0, joined `; `) and
 * `vt_observables` (how many VirusTotal found). Rows without results get empty cells (`null` in JSON lines).
 * The source's own bytes (columns, order, quoting, line ends, BOM) are kept; added CSV cells are
 * spreadsheet-safe. In JSON lines, a source key of the same name is not removed (the added one comes last).
 *
 * @throws InputError naming file and line for unreadable input; OptionError for an unknown index column;
 *   IocEnrichError `INPUT_NOT_FOUND` for a missing file. A path output is then left untouched.
 */
export async function joinResults(options: JoinOptions): Promise<JoinStats> {
  const format = options.sourceFormat ?? inferSourceFormat(options.source);
  if (format !== 'csv' && format !== 'jsonl') {
    throw new OptionError('--input-format', format, 'csv or jsonl');
  }
  if (options.indexColumn === '') throw new OptionError('--index-col', '', 'a non-empty column name');
  const { verdicts, resultRows } = await readResultsIndex(options.results, options.nativeEngine, options.onNotice);
  const state: JoinState = {
    file: options.source,
    verdicts,
    byRow: options.indexColumn === undefined ? byRowNumber(verdicts) : new Map<number, RowVerdict>(),
    indexColumn: options.indexColumn,
    stats: { sourceRows: 0, matchedRows: 0, resultRows, unmatchedIndexes: 0 },
  };
  const input =
    options.sourceStream === undefined
      ? { path: options.source }
      : { path: options.source, stream: options.sourceStream };
  // The source is opened as enrich opened it (src/io/open-input.ts: gzip, encodings, CR-only line ends, the
  // delimiter): its rows are numbered alike. The joined table is UTF-8, as every output.
  const members = openInput(input, { format, delimiter: options.delimiter, encoding: options.encoding });
  const first = await members.next();
  await members.return(undefined).catch(() => undefined);
  const member: InputMember | undefined = first.done === true ? undefined : first.value;
  if (member?.container === 'zip') {
    throw new InputError(state.file, undefined, 'a zip archive cannot be joined: join each of its files');
  }
  const delimiter = member?.delimiter ?? ',';
  const writeRow = format === 'csv' ? csvRowWriter(state, delimiter) : jsonlRowWriter(state);
  const splitter = new RecordSplitter(options.source, format === 'csv' ? 'csv' : 'lines', delimiter);
  const output: JoinOutput =
    typeof options.output === 'string' ? fileOutput(options.output) : streamOutput(options.output);
  try {
    const out = new OutputBuffer();
    const onRecord = (record: RawRecord): void => writeRow(record, out);
    // The decoded text has no BOM; a source that had one gets a UTF-8 one back (Excel reads the file as UTF-8).
    if (member?.bom === true) out.text('\ufeff');
    for await (const chunk of member?.chunks ?? []) {
      splitter.push(chunk, onRecord);
      await output.write(out.take());
    }
    splitter.end(onRecord);
    await output.write(out.take());
    await output.commit();
  } catch (error) {
    await output.abort();
    throw error;
  }
  for (const verdict of verdicts.values()) if (!verdict.matched) state.stats.unmatchedIndexes++;
  return state.stats;
}
