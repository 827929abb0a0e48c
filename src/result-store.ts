/**
 * The results of a run's distinct observables, by their number ({@link DistinctObservables}), held for pass two
 * of `enrich` (one row per occurrence, in input order, each joined to its observable's result).
 *
 * Design decisions:
 * - On disk, not in memory. A result is packed into one string (its fields joined by NUL) and appended to a file
 *   in the run's spool folder; memory keeps 12 bytes a result (where it is in the file). Kept as the objects
 *   normalising made, 100,000 results took about 85 MB of heap (an object of twenty-odd properties and a string
 *   each: about 850 bytes a result), the larger part of the enrich benchmark's 268 MB peak RSS against a
 *   150 MB target; packed strings in memory still took 34 MB. The file is in the page cache, not the process.
 * - Reading one back is a `readSync` of a few hundred bytes and a split, about 3 µs, paid once per output row;
 *   a small memo of the last results read spares it for runs of the same observable, as logs have them.
 * - Appends are buffered and written with `writeSync` 256 KiB at a time (reading a result not yet written
 *   writes the buffer first): one system call per few hundred results.
 * - A field that holds a NUL itself (a reply can say anything) cannot be joined safely: such a result stays in
 *   memory as its object.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { LookupResult } from './types.js';

const SEPARATOR = '\u0000';
/** Results read back and kept as objects, for runs of the same observable (a direct-mapped memo). */
const MEMO_SLOTS = 256;
/** Bytes of packed results gathered before one write to the file. */
const WRITE_AT = 256 * 1024;

/** The fields of a result in the order they are packed, with how each is written: text, number or flag. */
const FIELDS: ReadonlyArray<readonly [keyof LookupResult, 'text' | 'number' | 'flag']> = [
  ['status', 'text'],
  ['responseCode', 'number'],
  ['resource', 'text'],
  ['verboseMsg', 'text'],
  ['scanId', 'text'],
  ['permalink', 'text'],
  ['positives', 'number'],
  ['suspicious', 'number'],
  ['total', 'number'],
  ['md5', 'text'],
  ['sha1', 'text'],
  ['sha256', 'text'],
  ['resolvedDomains', 'text'],
  ['resolvedIps', 'text'],
  ['detectedUrls', 'text'],
  ['reputation', 'number'],
  ['lastAnalysisDate', 'text'],
  ['tags', 'text'],
  ['rawResponse', 'text'],
  ['contactedDomains', 'text'],
  ['contactedIps', 'text'],
  ['contactedUrls', 'text'],
  ['communicatingFiles', 'text'],
  ['submitted', 'flag'],
  ['cacheHit', 'flag'],
  ['fetchedAt', 'text'],
];

/** The fields of a result joined, or undefined when one holds the separator. */
function pack(result: LookupResult): string | undefined {
  const cells: string[] = [];
  for (const [name, kind] of FIELDS) {
    const value = result[name];
    // Numbers are a number or '' (unknown); flags true or false.
    const cell = kind === 'flag' ? (value === true ? '1' : '') : String(value);
    if (cell.includes(SEPARATOR)) return undefined;
    cells.push(cell);
  }
  // A joined string is one flat string: it keeps no slice of a larger text (a reply's) alive.
  return cells.join(SEPARATOR);
}

function unpack(packed: string): LookupResult {
  const cells = packed.split(SEPARATOR);
  const result: Record<string, string | number | boolean> = {};
  FIELDS.forEach(([name, kind], index) => {
    const cell = cells[index] as string;
    result[name] = kind === 'text' ? cell : kind === 'flag' ? cell === '1' : cell === '' ? '' : Number(cell);
  });
  return result as unknown as LookupResult;
}

/** Results by observable number (see the head of the file). */
export class ResultStore {
  readonly #fd: number;
  /** Where each result is: its byte offset in the file, and its length in bytes (0: none; -1: kept as object). */
  #offsets = new Float64Array(1024);
  #lengths = new Int32Array(1024);
  readonly #objects = new Map<number, LookupResult>();
  /** Packed results not yet written (the first `#bufferedBytes` bytes), and the bytes of the file so far. */
  #buffered = Buffer.allocUnsafe(WRITE_AT);
  #bufferedBytes = 0;
  #written = 0;
  #scratch = Buffer.allocUnsafe(4096);
  readonly #memoNumbers = new Int32Array(MEMO_SLOTS).fill(-1);
  readonly #memo: LookupResult[] = new Array<LookupResult>(MEMO_SLOTS);

  /** `path`: a new file, removed by the caller (with the spool folder). */
  constructor(path: string) {
    this.#fd = openSync(path, 'wx+', 0o600);
  }

  has(number: number): boolean {
    return number < this.#lengths.length && this.#lengths[number] !== 0;
  }

  set(number: number, result: LookupResult): void {
    this.#reserve(number);
    this.#memoNumbers[number % MEMO_SLOTS] = -1;
    const packed = pack(result);
    if (packed === undefined) {
      this.#objects.set(number, result);
      this.#lengths[number] = -1;
      return;
    }
    this.#objects.delete(number);
    const length = Buffer.byteLength(packed, 'utf8');
    if (this.#bufferedBytes + length > this.#buffered.length) {
      this.#flush();
      if (length > this.#buffered.length) this.#buffered = Buffer.allocUnsafe(length);
    }
    this.#offsets[number] = this.#written + this.#bufferedBytes;
    // A result is at least its separators long: never 0.
    this.#lengths[number] = length;
    this.#bufferedBytes += this.#buffered.write(packed, this.#bufferedBytes, 'utf8');
  }

  get(number: number): LookupResult | undefined {
    if (!this.has(number)) return undefined;
    const slot = number % MEMO_SLOTS;
    if (this.#memoNumbers[slot] === number) return this.#memo[slot];
    const length = this.#lengths[number] as number;
    const result = length === -1 ? this.#objects.get(number) : unpack(this.#read(number, length));
    if (result === undefined) return undefined;
    this.#memoNumbers[slot] = number;
    this.#memo[slot] = result;
    return result;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #read(number: number, length: number): string {
    const offset = this.#offsets[number] as number;
    if (offset >= this.#written) this.#flush();
    if (this.#scratch.length < length) this.#scratch = Buffer.allocUnsafe(Math.max(length, this.#scratch.length * 2));
    let done = 0;
    while (done < length) {
      const read = readSync(this.#fd, this.#scratch, done, length - done, offset + done);
      if (read === 0) throw new Error('the results file ended early');
      done += read;
    }
    return this.#scratch.toString('utf8', 0, length);
  }

  #flush(): void {
    let done = 0;
    while (done < this.#bufferedBytes) {
      done += writeSync(this.#fd, this.#buffered, done, this.#bufferedBytes - done, this.#written + done);
    }
    this.#written += this.#bufferedBytes;
    this.#bufferedBytes = 0;
    // A buffer grown for one large result (a raw reply) is not kept for the rest of the run.
    if (this.#buffered.length > WRITE_AT) this.#buffered = Buffer.allocUnsafe(WRITE_AT);
  }

  #reserve(number: number): void {
    if (number < this.#lengths.length) return;
    let size = this.#lengths.length;
    while (size <= number) size *= 2;
    const offsets = new Float64Array(size);
    offsets.set(this.#offsets);
    const lengths = new Int32Array(size);
    lengths.set(this.#lengths);
    this.#offsets = offsets;
    this.#lengths = lengths;
  }
}
