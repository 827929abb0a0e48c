/**
 * Streaming input readers: CSV (any of four delimiters, lenient or strict), text lines, JSON (lines, arrays,
 * Elasticsearch responses) and Zeek logs become {@link SourceRecord}s (fields to scan), a pre-typed CSV becomes
 * {@link TypedRecord}s. Inputs are opened by open-input.ts (containers, encodings, format and delimiter), so the
 * readers see UTF-8 only. Memory stays flat whatever the input size: a few 1 MiB chunks and the records of one
 * chunk are held at a time.
 *
 * Design decision: the `…Batches` functions yield one array of records per chunk read. Per-record async
 * iteration costs a promise round trip per record, which at millions of records is a visible share of the
 * extract command's time budget; the per-record functions are there for callers who prefer them.
 */
import { InputError, OptionError } from '../errors.js';
import type { SourceField, SourceRecord, TypedRecord } from '../types.js';
import { csvRowBatches, type CsvRowBatch } from './csv-records.js';
import type { EncodingName } from './decode.js';
import type { InputSpec } from './input-source.js';
import { collectStrings, parseJsonPath, valueAt, valuesAt, type JsonPath } from './json-fields.js';
import { jsonItems } from './json-stream.js';
import { DEFAULT_MAX_RECORD_BYTES, splitLines, withoutCr, type LineBatch } from './line-splitter.js';
import { DELIMITERS, formatFromName, openInput, type InputFormat, type InputMember } from './open-input.js';
export type { InputSpec } from './input-source.js';

export type { InputFormat } from './open-input.js';

/** What reading found that the caller should say: repaired CSV records, and what each column or field matched. */
export interface ReadReport {
  /** CSV records read leniently that had to be repaired (see csv-records.ts). */
  repaired: number;
  /** The first repair, as `file:line: what was done`. */
  firstRepair: string | undefined;
  /** For each `columns`/`fields` entry: the records in which it found a non-empty value. */
  matched: Record<string, number>;
  /** The first CSV header read, as it was in the file, and where (to tell a data line taken for a header). */
  header?: { readonly cells: readonly string[]; readonly file: string; readonly line: number } | undefined;
}

/** An empty {@link ReadReport}. */
export function newReadReport(): ReadReport {
  return { repaired: 0, firstRepair: undefined, matched: {} };
}

/** Adds `part` (a part of the same input, read elsewhere) into `total`. */
export function mergeReadReport(total: ReadReport, part: ReadReport): void {
  total.repaired += part.repaired;
  total.firstRepair ??= part.firstRepair;
  total.header ??= part.header;
  for (const [name, count] of Object.entries(part.matched)) total.matched[name] = (total.matched[name] ?? 0) + count;
}

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
   * For reading one part of a larger input (src/parallel): the number its first line gets, which error
   * messages and text's SourceIndex count from. A CSV part is read with a copy of the input's header record in
   * front of it; the caller passes a `startLine` that gives the part's own lines their numbers in the whole input.
   * @default 0
   */
  startLine?: number | undefined;
  /** For reading one part of a larger CSV input: the number of its first data record. @default 0 */
  startRecord?: number | undefined;
  /** CSV: the field delimiter, one of `,` `;` tab `|`. Default: from the extension (`.tsv`), else sniffed. */
  delimiter?: string | undefined;
  /**
   * CSV: stop at the first malformed record (RFC 4180, as csv-parse reads it) rather than read it as Python's csv
   * module does. `skipBadRows` implies it (a record must be found bad to be skipped). @default false
   */
  strictCsv?: boolean | undefined;
  /** Decode the input as this rather than detect it (BOM, UTF-8 check, Windows-1252 fallback). */
  encoding?: EncodingName | undefined;
  /** One-line notices about how the input was read (the Windows-1252 fallback, a sniffed delimiter). */
  onNotice?: ((message: string) => void) | undefined;
  /** Filled in as reading goes: repairs, and what `columns`/`fields` matched. */
  report?: ReadReport | undefined;
}

/** Options of {@link readSourceRecords} and {@link readSourceBatches}. */
export interface ReaderOptions extends CommonReaderOptions {
  /**
   * Force this format. Default: from the name (inside a `.gz`, of each zip member), then the content: a Zeek
   * header is zeek, a first line that is a JSON object is jsonl, anything else text.
   */
  format?: InputFormat | undefined;
  /** CSV only: scan only these columns. Each must be in the header. Default: every column but `indexColumn`. */
  columns?: readonly string[] | undefined;
  /**
   * JSON only: scan only the strings at (or below) these dotted paths (`a.b`, `items.0.url`); a step through an
   * array applies to each element (`a.b` matches `a[*].b`), and a flat key with dots (`{"source.ip": …}`) matches.
   * Default: every string of the record.
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
 * The input format a path implies, `.gz` taken off: `.csv`, `.tsv` are csv; `.jsonl`, `.ndjson` and `.json` are
 * jsonl; anything else, and `-` (stdin), is text (readers then look at the content: see {@link ReaderOptions.format}).
 */
export function inferInputFormat(path: string): InputFormat {
  return formatFromName(path)?.format ?? 'text';
}

/** The member's lines, in batches. */
function lineBatches(member: InputMember, options: CommonReaderOptions): AsyncGenerator<LineBatch> {
  return splitLines(member.chunks, member.name, options.maxRecordBytes, options.startLine ?? 0);
}

/** What a malformed row leads to: an exception, or a report and a skip. */
function badRowHandler(options: CommonReaderOptions): ((error: InputError) => void) | undefined {
  if (options.skipBadRows !== true) return undefined;
  return options.onBadRow ?? (() => {});
}

function csvBatches(member: InputMember, options: CommonReaderOptions): AsyncGenerator<CsvRowBatch> {
  const { report } = options;
  return csvRowBatches(lineBatches(member, options), {
    file: member.name,
    delimiter: member.delimiter,
    strict: options.strictCsv === true || options.skipBadRows === true,
    onRepair:
      report === undefined
        ? undefined
        : (repair) => {
            report.repaired++;
            report.firstRepair ??= repair.message;
          },
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
  if (format !== undefined && format !== 'csv' && format !== 'text' && format !== 'jsonl' && format !== 'zeek') {
    throw new OptionError('format', format, 'one of csv, text, jsonl, zeek');
  }
  validateNames('columns', options.columns);
  validateNames('fields', options.fields);
  if (options.columns !== undefined && (format === 'text' || format === 'jsonl')) {
    throw new OptionError(
      'columns',
      options.columns.join(','),
      'given only with csv or zeek input (use fields for json)',
    );
  }
  if (options.fields !== undefined && format !== undefined && format !== 'jsonl') {
    throw new OptionError('fields', options.fields.join(','), 'given only with json input (use columns for csv)');
  }
  if (options.indexColumn !== undefined && format === 'text') {
    throw new OptionError('indexColumn', options.indexColumn, 'given only with csv, zeek or json input');
  }
  if (options.indexColumn === '') throw new OptionError('indexColumn', '', 'a non-empty column name');
  validateDelimiter(options.delimiter);
}

function validateDelimiter(delimiter: string | undefined): void {
  if (delimiter !== undefined && !(DELIMITERS as readonly string[]).includes(delimiter)) {
    throw new OptionError('delimiter', delimiter, "one of ',', ';', '\\t' (tab), '|'");
  }
}

/** Counts, per scanned column, the records where it had a value (for "matches nothing" warnings). */
class MatchCounter {
  readonly #names: readonly string[];
  readonly #counts: number[];
  readonly #report: ReadReport | undefined;

  constructor(names: readonly string[] | undefined, report: ReadReport | undefined) {
    this.#names = names ?? [];
    this.#counts = this.#names.map(() => 0);
    this.#report = names === undefined ? undefined : report;
    for (const name of this.#names) if (this.#report !== undefined) this.#report.matched[name] ??= 0;
  }

  get active(): boolean {
    return this.#report !== undefined;
  }

  hit(position: number): void {
    this.#counts[position] = (this.#counts[position] ?? 0) + 1;
  }

  /** Adds the counts so far to the report. */
  flush(): void {
    if (this.#report === undefined) return;
    this.#names.forEach((name, position) => {
      const matched = (this.#report as ReadReport).matched;
      matched[name] = (matched[name] ?? 0) + (this.#counts[position] ?? 0);
      this.#counts[position] = 0;
    });
  }
}

/** Records of named cells (CSV rows, Zeek rows): the scanned columns chosen once, from the header. */
class CellRecords {
  /** The scanned columns: position in the record, name, and which `columns` entry chose it (-1: none given). */
  #scanned: Array<{ readonly index: number; readonly name: string; readonly option: number }> | undefined;
  #indexAt = -1;
  #header: readonly string[] = [];
  readonly #options: ReaderOptions;
  readonly #matches: MatchCounter;

  constructor(options: ReaderOptions) {
    this.#options = options;
    this.#matches = new MatchCounter(options.columns, options.report);
  }

  /** Chooses the columns from a header (again when a Zeek log's header changes); an unknown name is an error. */
  header(header: readonly string[], file: string, headerLine: number): void {
    const options = this.#options;
    const positions = (names: readonly string[]): number[] =>
      names.map((name) => {
        const index = header.indexOf(name);
        if (index === -1) {
          const shown = header.slice(0, 20).join(', ') + (header.length > 20 ? ', …' : '');
          throw new InputError(file, headerLine + 1, `no column "${name}" in the header; the columns are: ${shown}`);
        }
        return index;
      });
    this.#header = header;
    this.#indexAt = options.indexColumn === undefined ? -1 : (positions([options.indexColumn])[0] as number);
    if (options.columns === undefined) {
      this.#scanned = header
        .map((name, index) => ({ index, name, option: -1 }))
        .filter(({ index }) => index !== this.#indexAt);
      return;
    }
    // A name chooses its column and the later columns of the same name (`ip` chooses `ip#2` too: a header that
    // repeats a name means the same kind of value); `ip#2` chooses only that one.
    const chosen = positions(options.columns).flatMap((first, option) => {
      const name = options.columns?.[option] as string;
      const same = header.flatMap((other, index) =>
        index !== first && other.startsWith(`${name}#`) && /^\d+$/.test(other.slice(name.length + 1)) ? [index] : [],
      );
      return [first, ...same].map((index) => ({ index, name: header[index] as string, option }));
    });
    this.#scanned = chosen;
  }

  get ready(): boolean {
    return this.#scanned !== undefined;
  }

  record(recordNumber: number, cells: readonly string[], prefix: string): SourceRecord {
    const scanned = this.#scanned ?? [];
    const fields: SourceField[] = [];
    const counting = this.#matches.active;
    for (let position = 0; position < scanned.length; position++) {
      const { index, name, option } = scanned[position] as { index: number; name: string; option: number };
      const value = cells[index] as string;
      if (value !== '') {
        fields.push({ name, value });
        if (counting) this.#matches.hit(option);
      }
    }
    // Fields past the header (a long row, read leniently): scanned too, named by position, unless columns are chosen.
    if (cells.length > this.#header.length && this.#options.columns === undefined) {
      for (let index = this.#header.length; index < cells.length; index++) {
        const value = cells[index] as string;
        if (value !== '') fields.push({ name: `#${index + 1}`, value });
      }
    }
    const index = this.#indexAt === -1 ? String(recordNumber) : (cells[this.#indexAt] as string);
    return { recordNumber, sourceIndex: prefix + index, fields };
  }

  flush(): void {
    this.#matches.flush();
  }
}

/** The SourceIndex prefix of a member's records: `member:` for a zip member, else nothing. */
function indexPrefix(member: InputMember): string {
  return member.member === undefined ? '' : `${member.member}:`;
}

async function* csvSourceBatches(member: InputMember, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  const cells = new CellRecords(options);
  const prefix = indexPrefix(member);
  try {
    for await (const batch of csvBatches(member, options)) {
      if (!cells.ready) {
        cells.header(batch.header, member.name, batch.headerLine);
        if (options.report !== undefined) {
          options.report.header ??= { cells: batch.header, file: member.name, line: batch.headerLine };
        }
      }
      const records: SourceRecord[] = new Array<SourceRecord>(batch.rows.length);
      let at = 0;
      for (const { record, cells: row } of batch.rows) records[at++] = cells.record(record, row, prefix);
      if (records.length > 0) yield records;
    }
  } finally {
    cells.flush();
  }
}

async function* textSourceBatches(member: InputMember, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  const prefix = indexPrefix(member);
  for await (const { firstLine, lines } of lineBatches(member, options)) {
    const records: SourceRecord[] = new Array<SourceRecord>(lines.length);
    for (let offset = 0; offset < lines.length; offset++) {
      const value = withoutCr(lines[offset] as string);
      const recordNumber = firstLine + offset;
      records[offset] = {
        recordNumber,
        sourceIndex: prefix + String(recordNumber),
        fields: value === '' ? [] : [{ name: '', value }],
      };
    }
    yield records;
  }
}

/** Zeek's escapes in its header values (`\x09`). */
function zeekUnescape(value: string): string {
  return value.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * A Zeek TSV log: `#separator`, `#empty_field`, `#unset_field` and `#fields` header lines, then one record per line
 * with those field names; the unset (`-`) and empty (`(empty)`) markers are empty fields. SourceIndex counts data
 * rows only (0-based). Logs written one after another (a new header) are read on, with their own fields.
 */
async function* zeekSourceBatches(member: InputMember, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  const cells = new CellRecords(options);
  const prefix = indexPrefix(member);
  let separator = '\t';
  let empty = '(empty)';
  let unset = '-';
  let header: string[] | undefined;
  let record = options.startRecord ?? 0;
  try {
    for await (const { firstLine, lines } of lineBatches(member, options)) {
      const records: SourceRecord[] = [];
      for (let offset = 0; offset < lines.length; offset++) {
        const line = withoutCr(lines[offset] as string);
        if (line === '') continue;
        if (line.startsWith('#')) {
          const space = line.search(/[ \t]/);
          const directive = space === -1 ? line : line.slice(0, space);
          const value = space === -1 ? '' : line.slice(space + 1);
          if (directive === '#separator') separator = zeekUnescape(value);
          else if (directive === '#empty_field') empty = value;
          else if (directive === '#unset_field') unset = value;
          else if (directive === '#fields') {
            header = value.split(separator);
            cells.header(header, member.name, firstLine + offset);
          }
          continue;
        }
        if (header === undefined) {
          throw new InputError(member.name, firstLine + offset + 1, 'a Zeek log row before its #fields header');
        }
        const values = line.split(separator).map((value) => (value === unset || value === empty ? '' : value));
        records.push(cells.record(record++, values, prefix));
      }
      if (records.length > 0) yield records;
    }
  } finally {
    cells.flush();
  }
}

/** What a JSON value makes of a record: its index and fields, or the problem with it. */
class JsonRecords {
  readonly #paths: Array<{ readonly path: JsonPath; readonly name: string }> | undefined;
  readonly #indexPath: JsonPath | undefined;
  readonly #indexColumn: string | undefined;
  readonly #matches: MatchCounter;

  constructor(options: ReaderOptions) {
    this.#paths = options.fields?.map((name) => ({ path: parseJsonPath(name), name }));
    this.#indexColumn = options.indexColumn;
    this.#indexPath = options.indexColumn === undefined ? undefined : parseJsonPath(options.indexColumn);
    this.#matches = new MatchCounter(options.fields, options.report);
  }

  /** The record of `value`, or a problem (a string). */
  record(value: unknown, recordNumber: number, prefix: string): SourceRecord | string {
    let sourceIndex = String(recordNumber);
    if (this.#indexPath !== undefined) {
      const index = valueAt(value, this.#indexPath);
      if (typeof index !== 'string' && typeof index !== 'number') {
        return `no string or number at index field "${this.#indexColumn}"`;
      }
      sourceIndex = String(index);
    }
    const fields: SourceField[] = [];
    if (this.#paths === undefined) {
      collectStrings(value, '', fields);
      if (this.#indexColumn !== undefined) {
        const withoutIndex = fields.filter((field) => field.name !== this.#indexColumn);
        fields.length = 0;
        fields.push(...withoutIndex);
      }
    } else {
      this.#paths.forEach(({ path }, position) => {
        const before = fields.length;
        for (const found of valuesAt(value, path)) collectStrings(found.value, found.name, fields);
        if (fields.length > before) this.#matches.hit(position);
      });
    }
    return { recordNumber, sourceIndex: prefix + sourceIndex, fields };
  }

  flush(): void {
    this.#matches.flush();
  }
}

/** The first chunk of a member, and the member with it put back. */
async function firstChunk(member: InputMember): Promise<{ first: Buffer; member: InputMember }> {
  const next = await member.chunks.next();
  const first = next.done === true ? Buffer.alloc(0) : Buffer.from(next.value);
  const rest = member.chunks;
  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield first;
      if (next.done !== true) yield* rest;
    } finally {
      await rest.return(undefined);
    }
  }
  return { first, member: { ...member, chunks: all() } };
}

/**
 * Whether a JSON input is one document to stream (a top-level array, an Elasticsearch response, a pretty-printed
 * value) rather than JSON lines: its first line is not a complete JSON object, or is a `_search` response.
 */
function isJsonDocument(first: Buffer): boolean {
  const text = first.toString('utf8').trimStart();
  if (text.startsWith('[')) return true;
  if (!text.startsWith('{')) return false;
  const newline = text.indexOf('\n');
  // A first line longer than the first chunk: one long document (a one-line export).
  if (newline === -1 && first.length >= 64 * 1024) return true;
  try {
    const value = JSON.parse(newline === -1 ? text : text.slice(0, newline)) as unknown;
    const hits = valueAt(value, ['hits', 'hits']);
    return Array.isArray(hits);
  } catch {
    return true;
  }
}

async function* jsonSourceBatches(input: InputMember, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  const { first, member } = await firstChunk(input);
  const file = member.name;
  const prefix = indexPrefix(member);
  const onBadRow = badRowHandler(options);
  const bad = (line: number, problem: string, cause?: unknown): void => {
    const error = new InputError(file, line + 1, problem, cause === undefined ? undefined : { cause });
    if (onBadRow === undefined) throw error;
    onBadRow(error);
  };
  const json = new JsonRecords(options);
  const add = (records: SourceRecord[], text: string, line: number, recordNumber: number): void => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      bad(line, `not valid JSON: ${(error as Error).message}`, error);
      return;
    }
    const made = json.record(value, recordNumber, prefix);
    if (typeof made === 'string') bad(line, made);
    else records.push(made);
  };
  try {
    if (isJsonDocument(first)) {
      // Records numbered from 0 in the order they come: array elements, hits, top-level values.
      let recordNumber = options.startRecord ?? 0;
      const maxBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
      for await (const items of jsonItems(member.chunks, file, maxBytes)) {
        const records: SourceRecord[] = [];
        try {
          for (const { text, line } of items) add(records, text, line, recordNumber++);
        } catch (error) {
          if (records.length > 0) yield records;
          throw error;
        }
        if (records.length > 0) yield records;
      }
      return;
    }
    for await (const { firstLine, lines } of lineBatches(member, options)) {
      const records: SourceRecord[] = [];
      try {
        for (let offset = 0; offset < lines.length; offset++) {
          const text = lines[offset] as string;
          // Blank lines are not records, but keep their number so that SourceIndex is the line number.
          if (text.trim() !== '') add(records, text, firstLine + offset, firstLine + offset);
        }
      } catch (error) {
        // The records before a fatal error are complete: hand them out first (nothing already processed is lost).
        if (records.length > 0) yield records;
        throw error;
      }
      if (records.length > 0) yield records;
    }
  } finally {
    json.flush();
  }
}

/** The records of one member, by its format. */
export function memberSourceBatches(member: InputMember, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  if (member.format === 'csv') return csvSourceBatches(member, options);
  if (member.format === 'jsonl') return jsonSourceBatches(member, options);
  if (member.format === 'zeek') return zeekSourceBatches(member, options);
  return textSourceBatches(member, options);
}

/** The members of an input (see open-input.ts), opened with the readers' options. */
export function inputMembers(input: InputSpec, options: ReaderOptions): AsyncGenerator<InputMember> {
  return openInput(input, {
    format: options.format,
    delimiter: options.delimiter,
    encoding: options.encoding,
    onNotice: options.onNotice,
  });
}

/** Options that do not fit a member's format (found once the input is open): an OptionError. */
export function checkMemberOptions(member: InputMember, options: ReaderOptions): void {
  const { format, name } = member;
  if (options.columns !== undefined && format !== 'csv' && format !== 'zeek') {
    throw new OptionError(
      '--columns',
      options.columns.join(','),
      `given with csv or zeek input (${name} is ${format})`,
    );
  }
  if (options.fields !== undefined && format !== 'jsonl') {
    throw new OptionError('--fields', options.fields.join(','), `given with json input (${name} is ${format})`);
  }
  if (options.indexColumn !== undefined && format === 'text') {
    throw new OptionError('--index-col', options.indexColumn, `given with csv, zeek or json input (${name} is text)`);
  }
}

async function* sourceBatches(input: InputSpec, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  for await (const member of inputMembers(input, options)) {
    checkMemberOptions(member, options);
    yield* memberSourceBatches(member, options);
  }
}

/**
 * The records of an input, one array per chunk read (the fast way to consume them). Every container, encoding and
 * dialect of open-input.ts is read; a zip archive's members one after the other, SourceIndex `member:index`.
 * @throws OptionError at once for bad options. While iterating: IocEnrichError `INPUT_NOT_FOUND` for a missing
 * file; {@link InputError} (file, 1-based line, problem) for malformed input unless `skipBadRows`.
 */
export function readSourceBatches(input: InputSpec, options: ReaderOptions): AsyncGenerator<SourceRecord[]> {
  validateReaderOptions(options);
  return sourceBatches(input, options);
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
  validateDelimiter(options.delimiter);
  const members = openInput(input, {
    format: 'csv',
    delimiter: options.delimiter,
    encoding: options.encoding,
    onNotice: options.onNotice,
  });
  for await (const member of members) {
    const prefix = indexPrefix(member);
    let positions: { observable: number; type: number; index: number } | undefined;
    for await (const batch of csvBatches(member, options)) {
      if (positions === undefined) {
        const names = [options.observableColumn, options.typeColumn];
        if (options.indexColumn !== undefined) names.push(options.indexColumn);
        const [observable, type, index] = columnIndexes(batch, names, member.name) as [number, number, number?];
        positions = { observable, type, index: index ?? -1 };
      }
      const { observable, type, index } = positions;
      const records = batch.rows.map(({ record, cells }) => ({
        recordNumber: record,
        sourceIndex: prefix + (index === -1 ? String(record) : (cells[index] as string)),
        observable: cells[observable] as string,
        type: cells[type] as string,
        field: options.observableColumn,
      }));
      if (records.length > 0) yield records;
    }
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
