/**
 * The worker's half of parallel extraction: one part of a text or CSV input (whole lines or records) to formatted
 * extract rows. Everything but dedup happens here: reading, extraction, screening, the allowlist and formatting.
 * Whether an accepted observable is `Valid` or `Duplicate` depends on every earlier part, so the rows are
 * returned as pieces with a gap for the Status of each observable's first occurrence on this thread; the main
 * thread fills the gaps in input order (see `parallel-extract.ts`). Later occurrences, in this part or in a later
 * part of the same thread, are `Duplicate` whatever other threads hold, and are written here.
 *
 * Plain functions over plain data, so the same code runs in a worker and, with `jobs: 0`, on the main thread.
 */
import { Allowlist } from '../allowlist.js';
import { InputError, IocEnrichError } from '../errors.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../io/line-splitter.js';
import type { InputMember } from '../io/open-input.js';
import { memberSourceBatches, newReadReport, type ReadReport } from '../io/readers.js';
import { csvCell, jsonCell } from '../io/writers.js';
import { NativeEngine, nativeAvailable, type FirstSighting } from '../native/engine.js';
import { OccurrenceBuilder, type Verdict, type VerdictSink } from '../occurrences.js';
import type { IocType, SourceRecord } from '../types.js';

/** What every part of one run shares: sent to each worker once. */
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
  /** The allowlist's text and name: each worker parses its own copy. */
  readonly allowlist?: { readonly text: string; readonly source: string } | undefined;
  readonly urlHostsAsDns: boolean;
  readonly outputFormat: 'csv' | 'jsonl';
  /**
   * One-thread extraction (`jobs: 0`) runs in the native engine when it is built (see src/native/engine.ts);
   * false keeps it in JavaScript. Same output either way. @default true
   */
  readonly nativeEngine?: boolean | undefined;
  /**
   * One-thread extraction: list each part's first sightings ({@link ChunkResult.firstSightings}), for a caller
   * that looks the distinct observables up (`enrich`). @default false
   */
  readonly firstSightings?: boolean | undefined;
}

/** One part of the input. */
export interface ChunkJob {
  /** 0-based position of the part in the input. */
  readonly index: number;
  /** The part's bytes: whole lines (text) or whole records, after a copy of the header record for CSV. */
  readonly bytes: Uint8Array;
  /** The number the first line of `bytes` gets (see ReaderOptions.startLine). */
  readonly startLine: number;
  /** The number of the part's first data record (CSV). */
  readonly startRecord: number;
  /** A buffer to encode rows into, handed back by the main thread for reuse (see BufferPool). */
  readonly spare?: Uint8Array | undefined;
}

/** An input error, as it crosses the thread boundary. */
export interface ChunkError {
  readonly code: IocEnrichError['code'];
  readonly message: string;
  readonly file?: string;
  readonly line?: number | undefined;
  readonly problem?: string;
}

/** One part's rows and counts. */
export interface ChunkResult {
  readonly index: number;
  /**
   * The rows, UTF-8, with a gap for a Status at each offset of `gaps` (ascending): the Status there is `Valid` the
   * first time its key is seen in the whole input, `Duplicate` after.
   */
  readonly rows: Uint8Array;
  readonly gaps: Int32Array;
  /** The dedup key of each gap. */
  readonly keys: string[];
  /** Records read (data rows or lines). */
  readonly records: number;
  readonly occurrences: number;
  /** Occurrences of an observable this thread had already seen (written `Duplicate`). */
  readonly duplicates: number;
  /** First sightings written `Valid` by this thread: only when it owns dedup (see newChunkState); else 0. */
  readonly valid: number;
  readonly allowlisted: number;
  /** Rejected occurrences by screening message. */
  readonly rejected: Record<string, number>;
  /** Repaired records and what the columns matched, in this part. */
  readonly report: ReadReport;
  /** Set when the part has malformed input: the rows before it are still in `rows`. */
  readonly error?: ChunkError;
  /** The job's `bytes`, given back for reuse. */
  readonly input: Uint8Array;
  /** True when `rows` is a buffer of its own, never reused (the native engine's): it can be written as it is. */
  readonly ownRows?: boolean;
  /**
   * With {@link ChunkContext.firstSightings}: the observables whose first (`Valid`) row is in this part, in row
   * order, allowlisted ones left out (the same list from either engine).
   */
  readonly firstSightings?: readonly FirstSighting[];
}

/** State a worker keeps from part to part: the screening memo (bounded) and the formatters. */
export interface ChunkState {
  readonly context: ChunkContext;
  readonly builder: OccurrenceBuilder;
  /** True when this thread sees every part: its memo is the dedup state and it writes `Valid` itself. */
  readonly ownsDedup: boolean;
  /** Rows are encoded here, reused from part to part (a fresh buffer per part piled up as external garbage). */
  buffer: Buffer;
  /** The native engine, when it does this thread's work (see newChunkState). */
  readonly native?: NativeEngine | undefined;
}

/**
 * Verdicts a worker remembers before starting over. Design decision: the memo saves screening a value again,
 * it is not the dedup state (the main thread holds that), so it can be bounded. It must hold the values that
 * recur: below that, it is cleared again and again, and the verdicts dropped each time pile up in the old
 * generation (a 100,000 limit under a working set of 130,000 values made runs slower and RSS grow with the input).
 * 250,000 verdicts are about 60 MB at most.
 */
const WORKER_MEMO_LIMIT = 250_000;

/**
 * A thread's state. `ownsDedup`: the thread gets every part of the input, in order (one-thread extraction): it
 * then never forgets an observable, its memo is the dedup state (held once, as the single-threaded pipeline
 * holds it), and it writes `Valid` itself rather than leaving gaps.
 */
export function newChunkState(context: ChunkContext, ownsDedup = false): ChunkState {
  const allowlist =
    context.allowlist === undefined ? undefined : Allowlist.parse(context.allowlist.text, context.allowlist.source);
  const builder = new OccurrenceBuilder({
    ...(allowlist === undefined ? {} : { allowlist }),
    urlHostsAsDns: context.urlHostsAsDns,
    ...(ownsDedup ? {} : { forgetAfter: WORKER_MEMO_LIMIT }),
  });
  // Design decision: the native engine (when built) takes one-thread extraction, where it owns dedup; workers keep
  // the JavaScript engine, whose gaps and keys the main thread's dedup reads (with the native engine one thread
  // outruns them: see README, Performance).
  const native =
    ownsDedup && context.nativeEngine !== false && nativeAvailable()
      ? new NativeEngine({
          outputFormat: context.outputFormat,
          urlHostsAsDns: context.urlHostsAsDns,
          allowlist,
          firstSightings: context.firstSightings === true,
        })
      : undefined;
  return { context, builder, ownsDedup, buffer: Buffer.allocUnsafeSlow(0), native };
}

function toChunkError(error: unknown): ChunkError {
  if (error instanceof InputError) {
    return { code: error.code, message: error.message, file: error.file, line: error.line, problem: error.problem };
  }
  if (error instanceof IocEnrichError) return { code: error.code, message: error.message };
  throw error;
}

/** Turns a {@link ChunkError} back into the error it was. */
export function fromChunkError(error: ChunkError): IocEnrichError {
  if (error.file !== undefined && error.problem !== undefined)
    return new InputError(error.file, error.line, error.problem);
  return new IocEnrichError(error.code, error.message);
}

/** Characters of rows gathered before they are encoded. */
const ENCODE_CHARS = 16 * 1024;

/**
 * Builds the rows of one part, as text encoded into bytes every few KiB. Design decision: the Observable and
 * IoCType cells are formatted per occurrence, not cached on the verdict: the cache held a string per distinct
 * observable (about 10 MB of heap on 115,000 of them) and measured no faster.
 */
class RowBuilder implements VerdictSink {
  readonly keys: string[] = [];
  #gaps = new Int32Array(1024);
  /** Rows not yet encoded; encoded into #bytes every {@link ENCODE_CHARS} characters and at each gap. */
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
  /** The current record's SourceIndex cell followed by the separator, and the current field's cell cache. */
  indexCell = '';
  readonly #fieldCells = new Map<string, string>();
  readonly #csv: boolean;
  readonly #part: number;
  readonly #ownsDedup: boolean;

  constructor(csv: boolean, part: number, buffer: Buffer, ownsDedup: boolean, firstSightings: boolean) {
    this.#csv = csv;
    this.#part = part;
    this.#bytes = buffer;
    this.#ownsDedup = ownsDedup;
    this.firstSightings = firstSightings && ownsDedup ? [] : undefined;
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

  /** The encoded rows (a view of the working buffer, which goes with them) and their gaps. */
  finish(): { rows: Uint8Array; gaps: Int32Array } {
    this.#encode();
    return { rows: this.#bytes.subarray(0, this.#length), gaps: this.#gaps.slice(0, this.keys.length) };
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
    const head = this.#csv
      ? `${csvCell(verdict.observable)},${verdict.type},`
      : `{"Observable":${jsonCell(verdict.observable)},"IoCType":"${verdict.type}","Status":"`;
    let status: string | undefined;
    if (!verdict.counted) {
      status = verdict.status;
      if (status === 'Allowlisted') this.allowlisted++;
      else this.rejected[status] = (this.rejected[status] ?? 0) + 1;
    } else if (verdict.mark !== -1) {
      // Seen before in this part or in an earlier one of this thread: parts reach a thread in input order, so
      // an earlier part of this thread is an earlier part of the input, and this occurrence is not the first.
      status = 'Duplicate';
      this.duplicates++;
    } else {
      verdict.mark = this.#part;
      if (this.#ownsDedup) {
        status = 'Valid';
        this.valid++;
        this.firstSightings?.push({
          type: verdict.type as IocType,
          observable: verdict.observable,
          note: verdict.note === '' ? undefined : verdict.note,
        });
      }
    }
    const tail = this.#csv
      ? `,${this.indexCell},${this.#fieldCell(field)},${csvCell(original)},${verdict.note}\n`
      : `","SourceIndex":${this.indexCell},"SourceField":${this.#fieldCell(field)},"SourceText":${jsonCell(original)},"Note":"${verdict.note}"}\n`;
    if (status === undefined) {
      this.#text += head;
      this.#encode();
      if (this.keys.length === this.#gaps.length) {
        const grown = new Int32Array(this.#gaps.length * 2);
        grown.set(this.#gaps);
        this.#gaps = grown;
      }
      this.#gaps[this.keys.length] = this.#length;
      this.keys.push(verdict.key);
      this.#text = tail;
    } else {
      // A fixed status can need CSV quoting (a rejection message never does today: cheap to keep it right).
      this.#text += head + (this.#csv ? csvCell(status) : jsonCell(status).slice(1, -1)) + tail;
      if (this.#text.length >= ENCODE_CHARS) this.#encode();
    }
  }
}

/** The records of a part, as the JavaScript readers give them. The part's bytes are UTF-8 already (decoded once). */
function partRecords(job: ChunkJob, context: ChunkContext, report: ReadReport): AsyncGenerator<SourceRecord[]> {
  const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
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
    startLine: job.startLine,
    startRecord: job.startRecord,
    strictCsv: context.strictCsv,
    report,
  });
}

/**
 * {@link extractChunk} in the native engine. Text parts go to it as bytes (it splits the lines as the text reader
 * does); CSV records are read in JavaScript (src/io/csv-records.ts, with its errors) and handed over a batch at a time.
 */
async function extractNativeChunk(job: ChunkJob, state: ChunkState, native: NativeEngine): Promise<ChunkResult> {
  const { context } = state;
  const report = newReadReport();
  let error: ChunkError | undefined;
  try {
    if (context.inputFormat === 'text') {
      const maxBytes = context.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
      const longLine = native.text(job.bytes, job.startLine, maxBytes);
      if (longLine >= 0) throw new InputError(context.file, longLine + 1, `line is longer than ${maxBytes} bytes`);
    } else {
      for await (const batch of partRecords(job, context, report)) native.records(batch);
    }
  } catch (caught) {
    error = toChunkError(caught);
  }
  const made = native.take();
  return {
    index: job.index,
    rows: made.rows,
    ownRows: true,
    gaps: new Int32Array(0),
    keys: [],
    input: job.bytes,
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

/** Reads, extracts, screens and formats one part. Never throws for malformed input: see {@link ChunkResult.error}. */
export async function extractChunk(job: ChunkJob, state: ChunkState): Promise<ChunkResult> {
  if (state.native !== undefined) return extractNativeChunk(job, state, state.native);
  const { context, builder } = state;
  const rows = new RowBuilder(
    context.outputFormat === 'csv',
    job.index,
    state.buffer,
    state.ownsDedup,
    context.firstSightings === true,
  );
  // The working buffer goes out with the rows; the next part encodes into the spare, or a new one.
  // Rows take about 1.5 times the input's bytes on dense logs: twice leaves room, and #encode grows it if needed.
  state.buffer =
    job.spare === undefined
      ? Buffer.allocUnsafeSlow(2 * job.bytes.length)
      : Buffer.from(job.spare.buffer, 0, job.spare.buffer.byteLength);
  let records = 0;
  const report = newReadReport();
  let error: ChunkError | undefined;
  try {
    for await (const batch of partRecords(job, context, report)) {
      for (const record of batch) {
        records++;
        rows.setIndex(record.sourceIndex);
        builder.scanRecord(record, rows);
      }
    }
  } catch (caught) {
    error = toChunkError(caught);
  }
  return {
    index: job.index,
    ...rows.finish(),
    input: job.bytes,
    keys: rows.keys,
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
