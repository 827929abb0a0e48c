/**
 * Extraction of a text or CSV input to extract rows, for the `extract` command, `enrich` (which spools the rows) and
 * library callers that write extract rows: the input is read and cut into parts of whole lines or records
 * (`splitter.ts`); each part is read, extracted, screened, deduplicated and formatted straight into bytes
 * (`chunk-extract.ts`: in the native engine where it is built, else in JavaScript), and written in input order.
 * The output is byte for byte what the generic pipeline (`extractOccurrences`) makes: the test suite compares them.
 *
 * Design decisions:
 * - One thread. JavaScript worker threads (`extract --jobs N`) were removed: on 50 MB of dense text, two of them
 *   did 26.5 MiB/s at 243 MB peak RSS, one thread in the native engine 69 MiB/s at 100 MB (README, Performance).
 * - Parts are extracted and written one after the other, in input order, so the dedup state kept from part to part
 *   decides `Valid` or `Duplicate` as a single reader would. Besides that state (the distinct observables), what is
 *   held is bounded whatever the input's size: the parts cut from one input chunk, one part's rows, and at most
 *   OUTPUT_AHEAD bytes of rows in the stream.
 */
import { WriteStream } from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import { IocEnrichError } from '../errors.js';
import type { EncodingName } from '../io/decode.js';
import { LazyFileStream } from '../io/atomic-file.js';
import { inputName, type InputSpec } from '../io/input-source.js';
import { openInput, type InputMember } from '../io/open-input.js';
import { mergeReadReport, type ReadReport } from '../io/readers.js';
import { drained } from '../io/writers.js';
import type { FirstSighting } from '../native/engine.js';
import { RedactingWriter } from '../redact.js';
import { EXTRACT_COLUMNS } from '../types.js';
import type { ExtractStats } from '../extract-stage.js';
import { extractChunk, newChunkState, type ChunkContext } from './chunk-extract.js';
import { PART_BYTES, PartSplitter, type Part } from './splitter.js';
import { BufferPool } from '../buffer-pool.js';

/** Options of {@link extractParallel}. */
export interface ParallelExtractOptions extends Omit<ChunkContext, 'file'> {
  readonly input: InputSpec;
  /**
   * The input already opened (its first and only member: not a zip archive), as the CLI opens it to choose the
   * path; default: `input` opened here with `inputFormat`, `delimiter` and `encoding`.
   */
  readonly member?: InputMember | undefined;
  /** Decode the input as this (when it is opened here). */
  readonly encoding?: EncodingName | undefined;
  /** Filled in as parts are written: repaired records, what the columns matched. */
  readonly report?: ReadReport | undefined;
  /** Where the rows go (CSV with its header row, or JSON lines). Not ended: its owner ends it. */
  readonly output: NodeJS.WritableStream;
  /** Target part size in bytes (tests use small parts). @default {@link PART_BYTES} */
  readonly partBytes?: number;
  /** Counts, updated as parts are written: what was written is counted even if the run fails. */
  readonly stats: ExtractStats;
  /**
   * Aborted (Ctrl-C, SIGTERM): reading stops, the records read so far are extracted and written, and the promise
   * resolves with `interrupted: true`.
   */
  readonly signal?: AbortSignal | undefined;
  /** Called after each part is written (the CLI checks its memory settings there). */
  readonly onPart?: (() => void) | undefined;
  /**
   * Called with each part's first sightings as the part is written: the distinct observables (allowlisted ones
   * left out), in row order (`enrich` looks them up).
   */
  readonly onFirstSightings?: ((sightings: readonly FirstSighting[]) => void) | undefined;
}

/**
 * Writes `chunk`, waiting when the stream asks to (backpressure); rejects if the stream has failed. `written` runs
 * once the stream is done with the chunk (see {@link releasesChunks}).
 */
async function write(output: NodeJS.WritableStream, chunk: string | Buffer, written?: () => void): Promise<void> {
  const stream = output as NodeJS.WritableStream & { destroyed?: boolean; errored?: Error | null };
  if (stream.destroyed === true || (stream.errored ?? null) !== null) {
    throw stream.errored ?? new Error('the output stream closed before all rows were written');
  }
  // Design decision: the next parts are extracted while the stream writes, up to OUTPUT_AHEAD bytes behind: waiting
  // for 'drain' after every part left this thread idle for each write (about 70 ms of 1 s on 50 MB).
  const accepted = output.write(chunk, written);
  const held = (stream as { writableLength?: number }).writableLength ?? Infinity;
  if (!accepted && held > OUTPUT_AHEAD) {
    await drained(output);
  } else if (held > 0) {
    // The stream holds bytes: let the event loop turn once, so that it sees the writes finished since the last
    // turn and starts its next one now, while the next part is extracted. Without this turn, a file's finished
    // write was seen only at the next read of the input (every eight parts) and the rows piled up past
    // OUTPUT_AHEAD: a 50 MB extract to a file waited for 'drain' 49 times, 65-150 ms in all.
    await setImmediate();
  }
}

/**
 * Whether `stream` is done with a chunk once the chunk's write callback has run, so that the chunk's buffer may
 * be reused: a file stream (it writes the chunk itself, then calls back), the output opened in place for a device or
 * a pipe (it calls back once its file stream or pipe has), or a redacting writer that copies what it is given. Any
 * other stream (a Transform, a caller's collector) may keep the chunk: it gets buffers of its own. Issue 12: rows
 * written to `/dev/null` or a FIFO had a fresh buffer per part (fresh pages, and V8's external memory): 50 MB of
 * all-unique text, 10 alternating runs, 890 -> 850 ms median.
 */
function releasesChunks(stream: NodeJS.WritableStream): boolean {
  return (
    stream instanceof WriteStream ||
    stream instanceof LazyFileStream ||
    (stream instanceof RedactingWriter && stream.copiesChunks)
  );
}

/** Bytes of rows the output stream may hold, not yet written, while extraction goes on. */
const OUTPUT_AHEAD = 1 << 20;

/**
 * A row buffer's first size, per byte of a part: a part's JSON-lines rows are about three times its bytes on dense
 * logs. Larger rows get a larger buffer from then on.
 */
const ROW_BYTES_PER_PART_BYTE = 4;

/** Buffers kept for reuse, of parts and of rows each: more than the parts read ahead and written behind. */
const POOL_KEEP = 16;

/** An input that is one text or CSV member (not a zip archive), opened: its decoded chunks and its delimiter. */
async function openMember(input: InputSpec, options: ParallelExtractOptions): Promise<InputMember | undefined> {
  const members = openInput(input, {
    format: options.inputFormat,
    delimiter: options.delimiter,
    encoding: options.encoding,
  });
  const first = await members.next();
  if (first.done === true) return undefined;
  if (first.value.container === 'zip') {
    await members.return(undefined);
    throw new IocEnrichError(
      'BAD_INPUT',
      `${inputName(input)}: a zip archive is read by the record readers, not in parts`,
    );
  }
  return first.value;
}

/**
 * Extracts a text or CSV input to extract rows (the `extract` command's output), on the calling thread.
 * Resolves when every row is written; `options.stats` holds the counts. Malformed input rejects with the
 * {@link InputError} a single reader would give, after every row before it was written.
 */
export async function extractParallel(options: ParallelExtractOptions): Promise<{ interrupted: boolean }> {
  const { input, output, stats } = options;
  const file = inputName(input);
  // Opened first: the delimiter it was found to have goes to every part's reader.
  const member = options.member ?? (await openMember(input, options));
  const context: ChunkContext = {
    file,
    inputFormat: options.inputFormat,
    columns: options.columns,
    indexColumn: options.indexColumn,
    maxRecordBytes: options.maxRecordBytes,
    delimiter: member?.delimiter ?? options.delimiter,
    strictCsv: options.strictCsv,
    allowlist: options.allowlist,
    urlHostsAsDns: options.urlHostsAsDns,
    outputFormat: options.outputFormat,
    nativeEngine: options.nativeEngine,
    firstSightings: options.onFirstSightings !== undefined,
  };
  const state = newChunkState(context);
  const partBytes = options.partBytes ?? PART_BYTES;
  // A part's buffer has room for one a quarter larger than the target (a part ends at the line end after it).
  const pool = new BufferPool(partBytes + (partBytes >> 2), POOL_KEEP);
  // Design decision: each part's rows are made into a buffer taken from here and given back once the output has
  // written them, where the output says when (releasesChunks). A fresh buffer per part is external memory that V8
  // frees only at its next collection: `enrich`'s pass one piled up 30 to 50 MB of them at its peak RSS.
  const rowPool = releasesChunks(output) ? new BufferPool(ROW_BYTES_PER_PART_BYTE * partBytes, POOL_KEEP) : undefined;
  let rowBytes = 0;
  let failure: IocEnrichError | undefined;

  // The CSV header goes out with the first rows, or at the end: an input that fails before any record (a missing
  // file, a bad header) writes nothing at all.
  let header = options.outputFormat === 'csv' ? `${EXTRACT_COLUMNS.join(',')}\n` : '';
  const writeHeader = async (): Promise<void> => {
    if (header !== '') await write(output, header);
    header = '';
  };

  /** Extracts, counts and writes one part; returns false when it ended with an input error. */
  const extractPart = async (part: Part): Promise<boolean> => {
    const into = rowPool?.take(rowBytes);
    const result = await extractChunk(part, state, into);
    pool.give(part.bytes);
    stats.valid += result.valid;
    stats.records += result.records;
    stats.occurrences += result.occurrences;
    stats.duplicates += result.duplicates;
    stats.allowlisted += result.allowlisted;
    if (options.report !== undefined) mergeReadReport(options.report, result.report);
    if (result.firstSightings !== undefined && result.firstSightings.length > 0)
      options.onFirstSightings?.(result.firstSightings);
    for (const [status, count] of Object.entries(result.rejected))
      stats.rejected[status] = (stats.rejected[status] ?? 0) + count;
    const { rows } = result;
    if (result.records > 0 || rows.length > 0) await writeHeader();
    // Rows that did not fit are in a buffer of their own: the next parts get a larger one.
    rowBytes = Math.max(rowBytes, rows.length);
    const giveBack = (): void => {
      if (into !== undefined) rowPool?.give(into);
    };
    // `into` goes back once written when the rows are in it, else at once.
    const inUse = rows.length > 0 && rows.buffer === into?.buffer;
    if (rows.length > 0) await write(output, rows, inUse ? giveBack : undefined);
    if (!inUse) giveBack();
    options.onPart?.();
    if (result.error !== undefined) {
      failure = result.error;
      return false;
    }
    return true;
  };

  // Errors of the input (reading it, or cutting it: an over-long line) come after every part cut before them, so
  // those parts are written first; errors of the output stream end the run at once.
  const splitter = new PartSplitter(options.inputFormat, file, pool, options.maxRecordBytes, partBytes, {
    delimiter: context.delimiter,
    strict: options.strictCsv,
  });
  const chunks = member?.chunks ?? (async function* (): AsyncGenerator<Buffer> {})();
  // The output's errors reach the caller as this promise's rejection (write() and drained() see them); while the
  // run lasts, a listener keeps an 'error' event from also being an uncaught exception when the caller has none.
  const ignoreOutputError = (): void => undefined;
  output.on('error', ignoreOutputError);
  let interrupted = false;
  try {
    // Boxed: what the input threw is rethrown as it was, even a falsy value.
    let readError: { error: unknown } | undefined;
    for (;;) {
      if (options.signal?.aborted === true) {
        interrupted = true;
        break;
      }
      let parts: Part[];
      let last = false;
      try {
        const next = await chunks.next();
        if (next.done === true) {
          const rest = splitter.end();
          parts = rest === undefined ? [] : [rest];
          last = true;
        } else {
          parts = splitter.push(next.value);
        }
      } catch (error) {
        readError = { error };
        break;
      }
      let stopped = false;
      for (const part of parts) {
        if (!(await extractPart(part))) {
          stopped = true;
          break;
        }
      }
      if (stopped || last) break;
      if (splitter.failure !== undefined) {
        readError = { error: splitter.failure };
        break;
      }
    }
    // The records complete before an input error still go out (an error inside them is the one to report).
    const rest = readError === undefined && !interrupted ? undefined : splitter.complete();
    if (rest !== undefined && failure === undefined) await extractPart(rest);
    if (failure !== undefined) throw failure;
    if (readError !== undefined) throw readError.error;
    await writeHeader();
    return { interrupted };
  } finally {
    await chunks.return(undefined).catch(() => undefined);
    output.removeListener('error', ignoreOutputError);
  }
}
