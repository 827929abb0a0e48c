/**
 * Parallel extraction of a text or CSV input, for the `extract` command (and library callers that write extract
 * rows): the main thread reads the input and cuts it into parts of whole lines or records (`splitter.ts`),
 * worker threads read, extract, screen and format each part (`chunk-extract.ts`), and the main thread writes the
 * parts' rows in input order, deciding `Valid` or `Duplicate` for each observable's first occurrence in a part.
 * The output is byte for byte what one thread makes: the test suite compares the two.
 *
 * Design decisions:
 * - Dedup stays on the main thread, in one Set of keys: it is the only state that depends on every earlier
 *   row. A thread marks `Duplicate` itself what it has seen in this part or in one of its earlier parts (a
 *   thread gets its parts in input order); the main thread decides only each observable's first sighting on
 *   each thread. On 500 MB of dense text with 2 workers that cut the main thread's work from about 4 s to 0.4 s.
 * - At most two parts per worker are in flight, so memory is bounded by the number of workers, not the input.
 * - Workers' own memos are bounded (see chunk-extract.ts): memory still grows only with the distinct
 *   observables, held once, on the main thread.
 * - `jobs: 0` runs the same code on the main thread, for callers that want no threads (the `extract` command's
 *   default for text and CSV): that thread then sees every part, so it owns dedup and leaves no gaps.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { IocEnrichError } from '../errors.js';
import type { EncodingName } from '../io/decode.js';
import { inputName, type InputSpec } from '../io/input-source.js';
import { openInput, type InputMember } from '../io/open-input.js';
import { mergeReadReport, type ReadReport } from '../io/readers.js';
import { drained } from '../io/writers.js';
import { nativeAvailable, type FirstSighting } from '../native/engine.js';
import { EXTRACT_COLUMNS } from '../types.js';
import type { ExtractStats } from '../pipeline.js';
import {
  extractChunk,
  fromChunkError,
  newChunkState,
  type ChunkContext,
  type ChunkJob,
  type ChunkResult,
  type ChunkState,
} from './chunk-extract.js';
import { BufferPool, PART_BYTES, PartSplitter, type Part } from './splitter.js';

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
  /** Worker threads; 0 runs everything on the calling thread. @default {@link defaultJobs} */
  readonly jobs?: number;
  /** The worker script; default: the built `extract-worker.js` beside this module. */
  readonly workerUrl?: URL;
  /** Target part size in bytes (tests use small parts). @default 1 MiB with workers, 128 KiB with `jobs: 0` */
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
   * left out), in row order. Only with `jobs: 0`, where one thread owns dedup (`enrich` extracts this way).
   */
  readonly onFirstSightings?: ((sightings: readonly FirstSighting[]) => void) | undefined;
}

/**
 * Worker count for library callers who do not choose. With the native engine built (and not turned off), none: one
 * thread in it is faster than workers, which run the JavaScript engine, and needs a third of their memory (see the
 * README's figures). Otherwise one per core the process may use, at most 4; none on a single core. The main thread
 * needs little CPU (reading, cutting, writing), so workers do not leave it a core of its own; the cap bounds memory
 * (each worker has its own heap and memo). The CLI does not use this default (see extract-command.ts).
 * @param nativeEngine - whether the caller lets one-thread extraction use the native engine (its `nativeEngine`).
 */
export function defaultJobs(nativeEngine = true): number {
  if (nativeEngine && nativeAvailable()) return 0;
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(4, cores);
}

/** Runs parts on worker threads; results come back in any order. */
class WorkerPool {
  readonly #workers: Worker[] = [];
  readonly #load: number[] = [];
  readonly #waiting = new Map<number, { resolve: (result: ChunkResult) => void; reject: (error: Error) => void }>();
  #failure: Error | undefined;

  constructor(count: number, context: ChunkContext, url: URL) {
    for (let index = 0; index < count; index++) {
      // A young generation of 24 MB: what a part allocates must die young. Measured on 150 MB of dense CSV with
      // 2 workers: 8 MB promoted it to the old generation (workers' heaps grew to 140 MB, 451 MB RSS, 13.6 s),
      // 24 MB kept them at about 75 MB (280 MB RSS, 12.0 s), 48 MB gave 320 MB RSS.
      const worker = new Worker(url, { workerData: context, resourceLimits: { maxYoungGenerationSizeMb: 24 } });
      worker.on('message', (result: ChunkResult) => {
        this.#load[index] = (this.#load[index] ?? 1) - 1;
        const waiter = this.#waiting.get(result.index);
        this.#waiting.delete(result.index);
        waiter?.resolve(result);
      });
      worker.on('error', (error) => this.#fail(error));
      worker.on('exit', (code) => {
        // A worker that stops with parts still to answer fails the run, whatever its exit code: waiting for
        // answers that cannot come would hang it.
        if (code !== 0 || (this.#load[index] ?? 0) > 0)
          this.#fail(new Error(`an extraction worker stopped with exit code ${code}`));
      });
      this.#workers.push(worker);
      this.#load.push(0);
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }

  /** Sends a part to the least loaded worker. */
  run(job: ChunkJob): Promise<ChunkResult> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    let best = 0;
    for (let index = 1; index < this.#load.length; index++)
      if ((this.#load[index] ?? 0) < (this.#load[best] ?? 0)) best = index;
    this.#load[best] = (this.#load[best] ?? 0) + 1;
    const promise = new Promise<ChunkResult>((resolve, reject) => this.#waiting.set(job.index, { resolve, reject }));
    const { bytes } = job;
    // The part's memory moves to the worker rather than being copied (it is a fresh buffer of its own).
    const transfer = [bytes.buffer as ArrayBuffer];
    if (job.spare !== undefined) transfer.push(job.spare.buffer as ArrayBuffer);
    (this.#workers[best] as Worker).postMessage(job, transfer);
    return promise;
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}

const VALID = Buffer.from('Valid');
const DUPLICATE = Buffer.from('Duplicate');

/** Writes `chunk`, waiting when the stream asks to (backpressure); rejects if the stream has failed. */
async function write(output: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  const stream = output as NodeJS.WritableStream & { destroyed?: boolean; errored?: Error | null };
  if (stream.destroyed === true || (stream.errored ?? null) !== null) {
    throw stream.errored ?? new Error('the output stream closed before all rows were written');
  }
  // Design decision: the next parts are extracted while the stream writes, up to OUTPUT_AHEAD bytes behind: waiting
  // for 'drain' after every part left this thread idle for each write (about 70 ms of 1 s on 50 MB).
  if (!output.write(chunk) && ((stream as { writableLength?: number }).writableLength ?? Infinity) > OUTPUT_AHEAD)
    await drained(output);
}

/** Bytes of rows the output stream may hold, not yet written, while extraction goes on. */
const OUTPUT_AHEAD = 1 << 20;

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
 * Extracts a text or CSV input to extract rows (the `extract` command's output) using worker threads.
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
  const jobs = options.jobs ?? defaultJobs(options.nativeEngine !== false);
  if (options.onFirstSightings !== undefined && jobs !== 0) throw new Error('onFirstSightings needs jobs: 0');
  // Design decision: the first part runs on this thread and the workers start with the second, so an input of
  // one part (most interactive uses) costs no thread start-up (about 50 ms a worker).
  let workers: WorkerPool | undefined;
  // With no workers this thread sees every part and owns dedup (see newChunkState); with workers it runs only
  // the first part, and the set below decides.
  let local: ChunkState | undefined;
  // Parts on this thread run one after the other, as on a worker: the reader is asynchronous, and two parts
  // interleaved on one memo would see each other's observables out of input order. The loop below does not
  // interleave them today (the tests pass without this queue); the queue makes that a rule, not an accident.
  let localQueue: Promise<unknown> = Promise.resolve();
  const run = (job: ChunkJob): Promise<ChunkResult> => {
    if (jobs === 0 || job.index === 0) {
      const state = (local ??= newChunkState(context, jobs === 0));
      const result = localQueue.then(() => extractChunk(job, state));
      localQueue = result.catch(() => undefined);
      return result;
    }
    local = undefined; // the first part's memo: not needed any more
    workers ??= new WorkerPool(jobs, context, options.workerUrl ?? new URL('./extract-worker.js', import.meta.url));
    return workers.run(job);
  };
  const seen = new Set<string>();
  // Parts of 128 KiB on one thread, where a part costs no message: less in flight, and a part's text stays a
  // young-generation string (V8 puts strings over 128 KiB in the large-object space, freed only by a full
  // collection). On 500 MB of dense logs, text and CSV, peak RSS with 256 KiB parts 138-141 MiB, with 128 KiB
  // 131-134 MiB, at the same speed. Workers get 1 MiB parts (fewer messages; smaller ones measured no faster).
  const partBytes = options.partBytes ?? (jobs === 0 ? PART_BYTES >> 3 : PART_BYTES);
  const pool = new BufferPool(partBytes);
  /** Rows buffers back from the threads, for the next parts to encode into. */
  const spares: ArrayBuffer[] = [];
  const inFlight: Array<Promise<ChunkResult>> = [];
  const limit = Math.max(2, jobs * 2);
  let nextIndex = 0;
  let failure: IocEnrichError | undefined;

  // The CSV header goes out with the first rows, or at the end: an input that fails before any record (a missing
  // file, a bad header) writes nothing at all.
  let header = options.outputFormat === 'csv' ? `${EXTRACT_COLUMNS.join(',')}\n` : '';
  const writeHeader = async (): Promise<void> => {
    if (header !== '') await write(output, header);
    header = '';
  };

  /** Writes the oldest part in flight; returns false when it ended with an input error. */
  const writeOldest = async (): Promise<boolean> => {
    const result = await (inFlight.shift() as Promise<ChunkResult>);
    const { rows, gaps, keys } = result;
    // The rows with each gap filled: one buffer, one write. A fresh buffer each time: a stream may keep a
    // reference to what it was given (a sink collecting chunks), so a written buffer is never reused.
    if (result.ownRows === true && keys.length === 0) {
      // Rows in a buffer of their own (the native engine's), with no gap: written as they are.
      pool.give(result.input.buffer as ArrayBuffer);
      return finishPart(result, Buffer.from(rows.buffer, rows.byteOffset, rows.length), 0, 0);
    }
    const text = Buffer.allocUnsafe(rows.length + keys.length * DUPLICATE.length);
    let length = 0;
    let from = 0;
    let valid = 0;
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index] as string;
      const gap = gaps[index] as number;
      text.set(rows.subarray(from, gap), length);
      length += gap - from;
      from = gap;
      let status = DUPLICATE;
      if (!seen.has(key)) {
        seen.add(key);
        valid++;
        status = VALID;
      }
      text.set(status, length);
      length += status.length;
    }
    text.set(rows.subarray(from), length);
    length += rows.length - from;
    pool.give(result.input.buffer as ArrayBuffer);
    if (spares.length <= limit) spares.push(rows.buffer as ArrayBuffer);
    return finishPart(result, text.subarray(0, length), valid, keys.length - valid);
  };

  /** Counts a part written as `text`, its gaps filled with `gapsValid` Valid and `gapsDuplicate` Duplicate; false on an input error. */
  const finishPart = async (
    result: ChunkResult,
    text: Buffer,
    gapsValid: number,
    gapsDuplicate: number,
  ): Promise<boolean> => {
    stats.valid += result.valid + gapsValid;
    stats.records += result.records;
    stats.occurrences += result.occurrences;
    stats.duplicates += result.duplicates + gapsDuplicate;
    stats.allowlisted += result.allowlisted;
    if (options.report !== undefined) mergeReadReport(options.report, result.report);
    if (result.firstSightings !== undefined && result.firstSightings.length > 0)
      options.onFirstSightings?.(result.firstSightings);
    for (const [status, count] of Object.entries(result.rejected))
      stats.rejected[status] = (stats.rejected[status] ?? 0) + count;
    if (result.records > 0 || text.length > 0) await writeHeader();
    if (text.length > 0) await write(output, text);
    options.onPart?.();
    if (result.error !== undefined) {
      failure = fromChunkError(result.error);
      return false;
    }
    return true;
  };

  const dispatch = async (part: Part): Promise<boolean> => {
    const spare = spares.pop();
    inFlight.push(
      run({
        index: nextIndex++,
        bytes: part.bytes,
        startLine: part.startLine,
        startRecord: part.startRecord,
        spare: spare === undefined ? undefined : new Uint8Array(spare),
      }),
    );
    // Catch now, handled in order by writeOldest: a part that fails while older ones are pending is not unhandled.
    inFlight[inFlight.length - 1]?.catch(() => undefined);
    if (inFlight.length >= limit) return writeOldest();
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
        if (!(await dispatch(part))) {
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
    if (rest !== undefined && failure === undefined) await dispatch(rest);
    while (failure === undefined && inFlight.length > 0) await writeOldest();
    if (failure !== undefined) throw failure;
    if (readError !== undefined) throw readError.error;
    await writeHeader();
    return { interrupted };
  } finally {
    inFlight.length = 0;
    await chunks.return(undefined).catch(() => undefined);
    await workers?.close();
    output.removeListener('error', ignoreOutputError);
  }
}
