/**
 * Streaming input readers: CSV, text lines and JSON lines become {@link SourceRecord}s (fields to scan), a
 * pre-typed CSV becomes {@link TypedRecord}s. Memory stays flat whatever the input size: a few 1 MiB chunks and
 * the records of one chunk are held at a time.
 *
 * Design decision: the `…Batches` functions yield one array of records per chunk read. Per-record async
 * iteration costs a promise round trip per record, which at millions of records is a visible share of the
 * extract command's time budget; the per-record functions are there for callers who prefer them.
 */
import { extname } from 'node:path';
import { InputError, OptionError } from '../errors.js';
import type { SourceField, SourceRecord, TypedRecord } from '../types.js';
import { csvRowBatches, type CsvRowBatch } from './csv-records.js';
import { inputName, readChunks, type InputSpec } from './input-source.js';
import { collectStrings, parseJsonPath, valueAt, type JsonPath } from './json-fields.js';
import { splitLines, withoutCr, type LineBatch } from './line-splitter.js';

export type { InputSpec } from './input-source.js';

/** The input formats. */
export type InputFormat = 'csv' | 'text' | 'jsonl';

/** Options shared by all readers. */
interface CommonReaderOptions {
  /**
   * Leave malformed rows (CSV records with a wrong field count or bad quoting, lines that are not JSON) out
   * and report each to `onBadRow`, instead of failing with an {@link InputError}.
   * @default false
   */
  skipBadRows?: boolean | undefined;
  /** Called with each malformed row left out when `skipBadRows` is set (to count and report them). */
  onBadRow?: ((error: InputError) => void) | undefined;
  /**
   * The longest line, or CSV record, accepted: a longer one (or a quote left open that long) is an
   * {@link InputError}, so that a broken file cannot exhaust memory.
   * @default 67108864 (64 MiB)
   */
  maxRecordBytes?: number | undefined;
  /**
   * For reading one part of a larger input (parallel extraction): the number its first line gets, which error
   * messages and text's SourceIndex count from. A CSV part is read with a copy of the input's header record in
   * front of it; the caller passes a `startLine` that gives the part's own lines their numbers in the whole input.
   * @default 0
   */
  startLine?: number | undefined;
  /** For reading one part of a larger CSV input: the number of its first data record. @default 0 */
  startRecord?: number | undefined;
}

/** Options of {@link readSourceRecords} and {@link readSourceBatches}. */
export interface ReaderOptions extends CommonReaderOptions {
  format: InputFormat;
  /** CSV only: scan only these columns. Each must be in the header. Default: every column but `indexColumn`. */
  columns?: readonly string[] | undefined;
  /**
   * JSON lines only: scan only the strings at (or below) these dotted paths (`a.b`, `items.0.url`).
   * Default: every string of the line.
   */
  fields?: readonly string[] | undefined;
  /**
   * CSV: the column whose value is the SourceIndex (it must be in the header). JSON lines: the dotted path of a
   * string or number that is the SourceIndex (a line without it is a bad row). Not for text. The index is an
   * identifier, so it is not scanned unless `columns`/`fields` name it. Default: the 0-based record number.
   */
  indexColumn?: string | undefined;
}

/** Options of {@link readTypedRecords} and {@link readTypedBatches} (pre-typed CSV, msticpy's lookup_iocs). */
export interface TypedReaderOptions extends CommonReaderOptions {
  /** The column holding the observable. */
  observableColumn: string;
  /** The column holding its type (an IoC type name, or anything: the pipeline reports unknown types). */
  typeColumn: string;
  /** The column whose value is the SourceIndex. Default: the 0-based data row number. */
  indexColumn?: string | undefined;
}

/**
 * The input format a path implies: `.csv` is csv; `.jsonl`, `.ndjson` and `.json` are jsonl; anything else,
 * and `-` (stdin), is text.
 */
export function inferInputFormat(path: string): InputFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.jsonl' || extension === '.ndjson' || extension === '.json') return 'jsonl';
  return 'text';
}

/** The input's lines, in batches. */
function lineBatches(input: InputSpec, options: CommonReaderOptions): AsyncGenerator<LineBatch> {
  return splitLines(readChunks(input), inputName(input), options.maxRecordBytes, options.startLine ?? 0);
}

/** What a malformed row leads to: an exception, or a report and a skip. */
function badRowHandler(options: CommonReaderOptions): ((error: InputError) => void) | undefined {
  if (options.skipBadRows !== true) return undefined;
  return options.onBadRow ?? (() => {});
}

function csvBatches(input: InputSpec, options: CommonReaderOptions): AsyncGenerator<CsvRowBatch> {
  return csvRowBatches(lineBatches(input, options), {
    file: inputName(input),
    onBadRow: badRowHandler(options),
    maxRecordBytes: options.maxRecordBytes,
    startRecord: options.startRecord,
  });
}

/** The header position of each named column; an unknown name is an InputError that lists the header. */
function columnIndexes(batch: CsvRowBatch, names: readonly string[], file: string): number[] {
  return names.map((name) => {
    const index = batch.header.indexOf(name);
    if (index === -1) {
      const shown = batch.header.slice(0, 20).join(', ') + (batch.header.length > 20 ? ', …' : '');
      throw new InputError(file, batch.headerLine + 1, `no column "${name}" in the header; the columns are: ${shown}`);
    }
    return index;
  });
}

function validateNames(option: string, names: readonly string[] | undefined): void {
  if (names !== undefined && (names.length === 0 || names.some((name) => name === ''))) {
    throw new OptionError(option, names.join(','), 'a non-empty list of non-empty names');
  }
}

function validateReaderOptions(options: ReaderOptions): void {
  const { format } = options;
  if (format !== 'csv' && format !== 'text' && format !== 'jsonl') {
    throw new OptionError('format', format, 'one of csv, text, jsonl');
  }
  validateNames('columns', options.columns);
  validateNames('fields', options.fields);
  if (options.columns !== undefined && format !== 'csv') {
    throw new OptionError('columns', options.columns.join(','), 'given only with csv input (use fields for jsonl)');
  }
  if (options.fields !== undefined && format !== 'jsonl') {
    throw new OptionError('fields', options.fields.join(','), 'given only with jsonl input (use columns for csv)');
  }
  if (options.indexColumn !== undefined && format === 'text') {
    throw new OptionError('indexColumn', options.indexColumn, 'given only with csv or jsonl input');
  }
  if (options.indexColumn === '') throw new OptionError('indexColumn', '', 'a non-empty column name');
}

async function* csvSourceBatches(input: InputSpec, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  const file = inputName(input);
  let scanned: Array<{ readonly index: number; readonly name: string }> | undefined;
  let indexAt = -1;
  for await (const batch of csvBatches(input, options)) {
    if (scanned === undefined) {
      const { header } = batch;
      if (options.indexColumn !== undefined) [indexAt] = columnIndexes(batch, [options.indexColumn], file) as [number];
      const indexes =
        options.columns === undefined
          ? header.map((_, index) => index).filter((index) => index !== indexAt)
          : columnIndexes(batch, options.columns, file);
      scanned = indexes.map((index) => ({ index, name: header[index] as string }));
    }
    const records: SourceRecord[] = [];
    for (const { record, cells } of batch.rows) {
      const fields: SourceField[] = [];
      for (const { index, name } of scanned) {
        const value = cells[index] as string;
        if (value !== '') fields.push({ name, value });
      }
      records.push({
        recordNumber: record,
        sourceIndex: indexAt === -1 ? String(record) : (cells[indexAt] as string),
        fields,
      });
    }
    if (records.length > 0) yield records;
  }
}

async function* textSourceBatches(input: InputSpec, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  for await (const { firstLine, lines } of lineBatches(input, options)) {
    const records: SourceRecord[] = new Array<SourceRecord>(lines.length);
    for (let offset = 0; offset < lines.length; offset++) {
      const value = withoutCr(lines[offset] as string);
      const recordNumber = firstLine + offset;
      records[offset] = {
        recordNumber,
        sourceIndex: String(recordNumber),
        fields: value === '' ? [] : [{ name: '', value }],
      };
    }
    yield records;
  }
}

async function* jsonlSourceBatches(input: InputSpec, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  const file = inputName(input);
  const onBadRow = badRowHandler(options);
  const bad = (line: number, problem: string, cause?: unknown): void => {
    const error = new InputError(file, line + 1, problem, cause === undefined ? undefined : { cause });
    if (onBadRow === undefined) throw error;
    onBadRow(error);
  };
  const paths: Array<{ readonly path: JsonPath; readonly name: string }> | undefined = options.fields?.map((name) => ({
    path: parseJsonPath(name),
    name,
  }));
  const { indexColumn } = options;
  const indexPath = indexColumn === undefined ? undefined : parseJsonPath(indexColumn);
  /** The records of one batch of lines, appended to `records`. */
  const parseLines = (firstLine: number, lines: readonly string[], records: SourceRecord[]): void => {
    for (let offset = 0; offset < lines.length; offset++) {
      const text = lines[offset] as string;
      const recordNumber = firstLine + offset;
      // Blank lines are not records, but keep their number so that SourceIndex is the line number.
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        bad(recordNumber, `not valid JSON: ${(error as Error).message}`, error);
        continue;
      }
      let sourceIndex = String(recordNumber);
      if (indexPath !== undefined) {
        const index = valueAt(value, indexPath);
        if (typeof index !== 'string' && typeof index !== 'number') {
          bad(recordNumber, `no string or number at index field "${indexColumn}"`);
          continue;
        }
        sourceIndex = String(index);
      }
      const fields: SourceField[] = [];
      if (paths === undefined) {
        collectStrings(value, '', fields);
        if (indexColumn !== undefined) {
          const withoutIndex = fields.filter((field) => field.name !== indexColumn);
          fields.length = 0;
          fields.push(...withoutIndex);
        }
      } else {
        for (const { path, name } of paths) collectStrings(valueAt(value, path), name, fields);
      }
      records.push({ recordNumber, sourceIndex, fields });
    }
  };
  for await (const { firstLine, lines } of lineBatches(input, options)) {
    const records: SourceRecord[] = [];
    try {
      parseLines(firstLine, lines, records);
    } catch (error) {
      // The records before a fatal error are complete: hand them out first (nothing already processed is lost).
      if (records.length > 0) yield records;
      throw error;
    }
    if (records.length > 0) yield records;
  }
}

/**
 * The records of an input, one array per chunk read (the fast way to consume them).
 * @throws OptionError at once for bad options. While iterating: IocEnrichError `INPUT_NOT_FOUND` for a missing
 * file; {@link InputError} (file, 1-based line, problem) for malformed input unless `skipBadRows`.
 */
export function readSourceBatches(input: InputSpec, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  validateReaderOptions(options);
  if (options.format === 'csv') return csvSourceBatches(input, options);
  if (options.format === 'jsonl') return jsonlSourceBatches(input, options);
  return textSourceBatches(input, options);
}

/**
 * One item at a time from batches. Design decision: a hand-written iterator, not `yield*` in an async generator,
 * which measured twice as slow per item (a generator resumes through several promise jobs per `yield`; here a
 * `next()` is one already-settled promise while the current batch lasts).
 */
function flatten<T>(batches: AsyncGenerator<T[]>): AsyncGenerator<T> {
  let batch: readonly T[] = [];
  let index = 0;
  const iterator: AsyncGenerator<T> = {
    async next() {
      while (index >= batch.length) {
        const result = await batches.next();
        if (result.done === true) return { done: true, value: undefined };
        batch = result.value;
        index = 0;
      }
      return { done: false, value: batch[index++] as T };
    },
    async return() {
      batch = [];
      await batches.return(undefined);
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      batch = [];
      await batches.return(undefined);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * The records of an input, one at a time. CSV: one per data row, a field per non-empty cell. Text: one per
 * line, one field named `''` (none for an empty line). JSON lines: one per non-blank line, a field per
 * non-empty string, named by its dotted path. See {@link readSourceBatches} for the errors.
 */
export function readSourceRecords(input: InputSpec, options: ReaderOptions): AsyncGenerator<SourceRecord> {
  return flatten(readSourceBatches(input, options));
}

async function* typedBatches(input: InputSpec, options: TypedReaderOptions): AsyncGenerator<TypedRecord[]> {
  const file = inputName(input);
  let positions: { observable: number; type: number; index: number } | undefined;
  for await (const batch of csvBatches(input, options)) {
    if (positions === undefined) {
      const [observable, type] = columnIndexes(batch, [options.observableColumn, options.typeColumn], file) as [
        number,
        number,
      ];
      const index =
        options.indexColumn === undefined ? -1 : (columnIndexes(batch, [options.indexColumn], file)[0] as number);
      positions = { observable, type, index };
    }
    const { observable, type, index } = positions;
    const records = batch.rows.map(({ record, cells }) => ({
      recordNumber: record,
      sourceIndex: index === -1 ? String(record) : (cells[index] as string),
      observable: cells[observable] as string,
      type: cells[type] as string,
      field: options.observableColumn,
    }));
    if (records.length > 0) yield records;
  }
}

/**
 * The rows of a pre-typed CSV (msticpy's lookup_iocs table), one array per chunk read.
 * @throws OptionError at once for an empty column name; while iterating, the errors of {@link readSourceBatches}
 * and an InputError naming a column missing from the header.
 */
export function readTypedBatches(input: InputSpec, options: TypedReaderOptions): AsyncGenerator<TypedRecord[]> {
  for (const option of ['observableColumn', 'typeColumn', 'indexColumn'] as const) {
    if (options[option] === '') throw new OptionError(option, '', 'a non-empty column name');
  }
  return typedBatches(input, options);
}

/** The rows of a pre-typed CSV, one at a time; see {@link readTypedBatches}. */
export function readTypedRecords(input: InputSpec, options: TypedReaderOptions): AsyncGenerator<TypedRecord> {
  return flatten(readTypedBatches(input, options));
}
