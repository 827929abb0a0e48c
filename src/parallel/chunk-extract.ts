/**
 * One part of a text or CSV input (whole lines or records) to formatted extract rows: reading, extraction,
 * screening, the allowlist, dedup and formatting, in the native engine where it is built (src/native/engine.ts),
 * else in JavaScript, with the same rows. Parts come in input order, so the state kept from part to part (the
 * dedup table) decides `Valid` or `Duplicate` as a single reader of the whole input does.
 */
import type { Allowlist } from '../allowlist.js';
import { InputError, IocEnrichError } from '../errors.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../io/line-splitter.js';
import type { InputMember } from '../io/open-input.js';
import { memberSourceBatches, newReadReport, type ReadReport } from '../io/readers.js';
import { csvCell, jsonCell } from '../io/writers.js';
import { NativeEngine, nativeAvailable, type FirstSighting } from '../native/engine.js';
import { OccurrenceBuilder, type Verdict, type VerdictSink } from '../occurrences.js';
import type { IocType, SourceRecord } from '../types.js';
import type { Part } from './splitter.js';

/** What every part of one run shares. */
export interface ChunkContext {
  /** Names the input in errors. */
  readonly file: string;
  readonly inputFormat: 'csv' | 'text';
  readonly columns?: readonly string[] | undefined;
  readonly indexColumn?: string | undefined;
  readonly maxRecordBytes?: number | undefined;
  /** CSV: the field delimiter (decided when the input was opened). @default ',' */
  readonly delimiter?: string | undefined;
  /** CSV: strict reading (see csv-records.ts). @default false: lenient, repairs reported */
  readonly strictCsv?: boolean | undefined;
  /** Observables that get Status `Allowlisted` (never looked up). */
  readonly allowlist?: Allowlist | undefined;
  readonly urlHostsAsDns: boolean;
  readonly outputFormat: 'csv' | 'jsonl';
  /**
   * Extract in the native engine when it is built (see src/native/engine.ts); false keeps it in JavaScript. Same
   * output either way. @default true
   */
  readonly nativeEngine?: boolean | undefined;
  /**
   * List each part's first sightings ({@link ChunkResult.firstSightings}), for a caller that looks the distinct
   * observables up (`enrich`). @default false
   */
  readonly firstSightings?: boolean | undefined;
}

/** One part's rows and counts. */
export interface ChunkResult {
  /**
   * The rows, UTF-8: in the buffer given to {@link extractChunk} when they fit in it, else in a buffer of their own
   * (either may be written as it is and kept by the stream).
   */
  readonly rows: Buffer;
  /** Records read (data rows or lines). */
  readonly records: number;
  readonly occurrences: number;
  /** Occurrences of an observable seen before, in this part or an earlier one (written `Duplicate`). */
  readonly duplicates: number;
  /** First sightings (written `Valid`). */
  readonly valid: number;
  readonly allowlisted: number;
  /** Rejected occurrences by screening message. */
  readonly rejected: Record<string, number>;
  /** Repaired records and what the columns matched, in this part. */
  readonly report: ReadReport;
  /** Set when the part has malformed input: the rows before it are still in `rows`. */
  readonly error?: IocEnrichError;
  /**
   * With {@link ChunkContext.firstSightings}: the observables whose first (`Valid`) row is in this part, in row
   * order, allowlisted ones left out (the same list from either engine).
   */
  readonly firstSightings?: readonly FirstSighting[];
}

/** State kept from part to part: the dedup table (with the screening memo), and a buffer to encode rows into. */
export interface ChunkState {
  readonly context: ChunkContext;
  /** The JavaScript engine's screening memo and dedup state: it never forgets an observable. */
  readonly builder: OccurrenceBuilder;
  /** Rows are encoded here, reused from part to part (a fresh buffer per part piled up as external garbage). */
  buffer: Buffer;
  /** The native engine, when it does the work (see newChunkState). */
  readonly native?: NativeEngine | undefined;
}

/** The state of a run, before its first part. */
export function newChunkState(context: ChunkContext): ChunkState {
  const { allowlist } = context;
  const builder = new OccurrenceBuilder({
    ...(allowlist === undefined ? {} : { allowlist }),
    urlHostsAsDns: context.urlHostsAsDns,
  });
  const native =
    context.nativeEngine !== false && nativeAvailable()
      ? new NativeEngine({
          outputFormat: context.outputFormat,
          urlHostsAsDns: context.urlHostsAsDns,
          allowlist,
          firstSightings: context.firstSightings === true,
        })
      : undefined;
  return { context, builder, buffer: Buffer.allocUnsafeSlow(0), native };
}

/** An input error, kept with the part's result; any other error is a bug, thrown. */
function partError(error: unknown): IocEnrichError {
  if (error instanceof IocEnrichError) return error;
  throw error;
}

/** Characters of rows gathered before they are encoded. */
const ENCODE_CHARS = 16 * 1024;

/**
 * Builds the rows of one part, as text encoded into bytes every few KiB. Design decision: the Observable and
 * IoCType cells are formatted per occurrence, not cached on the verdict: the cache held a string per distinct
 * observable (about 10 MB of heap on 115,000 of them) and measured no faster.
 */
class RowBuilder implements VerdictSink {
  /** Rows not yet encoded; encoded into #bytes every {@link ENCODE_CHARS} characters. */
  #text = '';
  #bytes: Buffer;
  #length = 0;
  occurrences = 0;
  duplicates = 0;
  valid = 0;
  allowlisted = 0;
  readonly rejected: Record<string, number> = {};
  /** First sightings, when they are asked for (see ChunkContext.firstSightings). */
  readonly firstSightings: FirstSighting[] | undefined;
  /** The current record's SourceIndex cell, and the current field's cell cache. */
  indexCell = '';
  readonly #fieldCells = new Map<string, string>();
  readonly #csv: boolean;

  constructor(csv: boolean, buffer: Buffer, firstSightings: boolean) {
    this.#csv = csv;
    this.#bytes = buffer;
    this.firstSightings = firstSightings ? [] : undefined;
  }

  /**
   * Encodes the pending text. Design decision: rows are kept as text only briefly: a part's rows held as one
   * long concatenated string survived young-generation collections and tripled garbage-collection time.
   */
  #encode(): void {
    const text = this.#text;
    if (text === '') return;
    this.#text = '';
    const needed = this.#length + text.length * 3;
    if (needed > this.#bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.#bytes.length * 2));
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
    }
    this.#length += this.#bytes.write(text, this.#length, 'utf8');
  }

  /**
   * The encoded rows, copied out of the working buffer (a stream may keep what it was given): into `into` when
   * they fit, else into a buffer of their own; and the working buffer, grown as needed, for the next part.
   */
  finish(into: Buffer | undefined): { rows: Buffer; buffer: Buffer } {
    this.#encode();
    const rows = this.#bytes.subarray(0, this.#length);
    if (into === undefined || rows.length > into.length) return { rows: Buffer.from(rows), buffer: this.#bytes };
    rows.copy(into);
    return { rows: into.subarray(0, rows.length), buffer: this.#bytes };
  }
  setIndex(sourceIndex: string): void {
    this.indexCell = this.#csv ? csvCell(sourceIndex) : jsonCell(sourceIndex);
  }

  #fieldCell(name: string): string {
    let cell = this.#fieldCells.get(name);
    if (cell === undefined) {
      cell = this.#csv ? csvCell(name) : jsonCell(name);
      this.#fieldCells.set(name, cell);
    }
    return cell;
  }

  occurrence(verdict: Verdict, field: string, original: string): void {
    this.occurrences++;
    // The verdict counts its sightings across parts: it is the dedup state.
    const status = verdict.next();
    if (!verdict.counted) {
      if (status === 'Allowlisted') this.allowlisted++;
      else this.rejected[status] = (this.rejected[status] ?? 0) + 1;
    } else if (status === 'Valid') {
      this.valid++;
      this.firstSightings?.push({
        type: verdict.type as IocType,
        observable: verdict.observable,
        note: verdict.note === '' ? undefined : verdict.note,
      });
    } else {
      this.duplicates++;
    }
    // A status can need CSV quoting (a rejection message never does today: cheap to keep it right).
    this.#text += this.#csv
      ? `${csvCell(verdict.observable)},${verdict.type},${csvCell(status)},${this.indexCell},${this.#fieldCell(field)},${csvCell(original)},${verdict.note}\n`
      : `{"Observable":${jsonCell(verdict.observable)},"IoCType":"${verdict.type}","Status":"${jsonCell(status).slice(1, -1)}","SourceIndex":${this.indexCell},"SourceField":${this.#fieldCell(field)},"SourceText":${jsonCell(original)},"Note":"${verdict.note}"}\n`;
    if (this.#text.length >= ENCODE_CHARS) this.#encode();
  }
}

/** The records of a part, as the JavaScript readers give them. The part's bytes are UTF-8 already (decoded once). */
function partRecords(part: Part, context: ChunkContext, report: ReadReport): AsyncGenerator<SourceRecord[]> {
  const { bytes } = part;
  const one = async function* (): AsyncGenerator<Buffer> {
    yield await Promise.resolve(bytes);
  };
  const member: InputMember = {
    name: context.file,
    member: undefined,
    format: context.inputFormat,
    delimiter: context.delimiter ?? ',',
    container: undefined,
    chunks: one(),
  };
  return memberSourceBatches(member, {
    format: context.inputFormat,
    columns: context.columns,
    indexColumn: context.indexColumn,
    maxRecordBytes: context.maxRecordBytes,
    startLine: part.startLine,
    startRecord: part.startRecord,
    strictCsv: context.strictCsv,
    report,
  });
}

/**
 * {@link extractChunk} in the native engine. Text parts go to it as bytes (it splits the lines as the text reader
 * does); CSV records are read in JavaScript (src/io/csv-records.ts, with its errors) and handed over a batch at a time.
 */
async function extractNativeChunk(
  part: Part,
  state: ChunkState,
  native: NativeEngine,
  into: Buffer | undefined,
): Promise<ChunkResult> {
  const { context } = state;
  const report = newReadReport();
  let error: IocEnrichError | undefined;
  try {
    if (context.inputFormat === 'text') {
      const maxBytes = context.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
      const longLine = native.text(part.bytes, part.startLine, maxBytes);
      if (longLine >= 0) throw new InputError(context.file, longLine + 1, `line is longer than ${maxBytes} bytes`);
    } else {
      for await (const batch of partRecords(part, context, report)) native.records(batch);
    }
  } catch (caught) {
    error = partError(caught);
  }
  const made = native.take(into);
  return {
    rows: made.rows,
    records: made.records,
    occurrences: made.occurrences,
    duplicates: made.duplicates,
    valid: made.valid,
    allowlisted: made.allowlisted,
    rejected: made.rejected,
    report,
    ...(made.firstSightings === undefined ? {} : { firstSightings: made.firstSightings }),
    ...(error === undefined ? {} : { error }),
  };
}

/**
 * Reads, extracts, screens, deduplicates and formats one part; parts must come in input order. Never throws for
 * malformed input: see {@link ChunkResult.error}. The rows go into `into` when they fit (see ChunkResult.rows).
 */
export async function extractChunk(part: Part, state: ChunkState, into?: Buffer): Promise<ChunkResult> {
  if (state.native !== undefined) return extractNativeChunk(part, state, state.native, into);
  const { context, builder } = state;
  const rows = new RowBuilder(context.outputFormat === 'csv', state.buffer, context.firstSightings === true);
  let records = 0;
  const report = newReadReport();
  let error: IocEnrichError | undefined;
  try {
    for await (const batch of partRecords(part, context, report)) {
      for (const record of batch) {
        records++;
        rows.setIndex(record.sourceIndex);
        builder.scanRecord(record, rows);
      }
    }
  } catch (caught) {
    error = partError(caught);
  }
  const { rows: bytes, buffer } = rows.finish(into);
  state.buffer = buffer;
  return {
    rows: bytes,
    records,
    occurrences: rows.occurrences,
    duplicates: rows.duplicates,
    valid: rows.valid,
    allowlisted: rows.allowlisted,
    rejected: rows.rejected,
    report,
    ...(rows.firstSightings === undefined ? {} : { firstSightings: rows.firstSightings }),
    ...(error === undefined ? {} : { error }),
  };
}
