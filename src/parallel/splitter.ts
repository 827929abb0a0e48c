/**
 * Cutting an input into parts for extraction (parallel-extract.ts): whole lines (text) or whole records (CSV) of
 * about {@link PART_BYTES}, each with the number of its first line and record, so that each part's reader can
 * number SourceIndex and errors as a single reader of the whole input would.
 *
 * Design decisions:
 * - Only byte searches here (`indexOf` for `\n` and `"`): cutting must stay cheap next to the parts' reading and
 *   parsing. `\n` and `"` never occur inside a multi-byte UTF-8 sequence, so cuts are safe.
 * - CSV records end at a `\n` outside quotes, found by the parity of the quotes before it. For well-formed CSV
 *   that is exactly where the reader's records end. A malformed quote makes the reader stop with an error at
 *   that record (the parts before it were cut right, so the error and every row before it come out as they
 *   would unsplit); `--skip-bad-rows` for CSV therefore does not use part extraction.
 * - CSV parts after the first are given a copy of the header record in front, so each is a CSV file of its own.
 */
import { InputError } from '../errors.js';
import type { BufferPool } from '../buffer-pool.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../io/line-splitter.js';

/**
 * Target part size: 128 KiB. A part's text stays a young-generation string (V8 puts strings over 128 KiB in the
 * large-object space, freed only by a full collection). On 500 MB of dense logs, text and CSV, peak RSS with
 * 256 KiB parts 138-141 MiB, with 128 KiB 131-134 MiB, at the same speed.
 */
export const PART_BYTES = 1 << 17;

/** One part of the input. */
export interface Part {
  /** The part's bytes: whole lines (text) or whole records, after a copy of the header record for CSV. */
  readonly bytes: Buffer;
  /** The number the first line of `bytes` gets (see ReaderOptions.startLine). */
  readonly startLine: number;
  /** The number of the part's first data record (CSV). */
  readonly startRecord: number;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const CR = 0x0d;

const COMMA = 0x2c;

/**
 * Parses the record text in [start, end) as the reader's parseRecord does (csv-records.ts) and says whether it
 * ends inside a quoted field: -1 when it does not (a complete record, or a malformed one: the reader reports
 * that), otherwise where the search for the field's closing quote stands, to resume from once more lines came
 * (`resume`; the reader parses the whole record again, which comes to the same). Bytes, not characters: `"`,
 * `,` and CR never occur inside a multi-byte UTF-8 sequence. Linear: every search moves forward.
 */
export function openFieldAt(bytes: Uint8Array, start: number, end: number, resume = -1, delimiter = COMMA): number {
  // A view that ends at `end`: no search looks past the record.
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, end);
  let index = start;
  let from = resume;
  let nextQuote = from >= 0 ? -1 : view.indexOf(QUOTE, index);
  for (;;) {
    if (from < 0) {
      if (index < end && view[index] === QUOTE) {
        from = index + 1;
      } else {
        const comma = view.indexOf(delimiter, index);
        const cellEnd = comma === -1 ? end : comma;
        // A quote inside an unquoted field (malformed), or the last field: the record ends here.
        if ((nextQuote !== -1 && nextQuote < cellEnd) || cellEnd === end) return -1;
        index = cellEnd + 1;
        continue;
      }
    }
    const quote = view.indexOf(QUOTE, from);
    if (quote === -1) return end;
    // (The view ends at `end`: past it, bytes read as undefined.)
    if (view[quote + 1] === QUOTE) {
      from = quote + 2;
      continue;
    }
    const after = quote + 1;
    // Not a comma after the closing quote: the end of the record, the CR of a CRLF, or malformed text. It ends.
    if (view[after] !== delimiter) return -1;
    index = after + 1;
    from = -1;
    nextQuote = view.indexOf(QUOTE, index);
  }
}

/**
 * The lenient reader's rule (csv-records.ts, lenientOpenAfter), on the bytes of one line [start, end): whether the
 * record is in a quoted field at the end of the line, given whether it was at its start.
 */
export function lenientOpenAt(
  bytes: Uint8Array,
  start: number,
  end: number,
  inQuotes: boolean,
  delimiter: number,
): boolean {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, end);
  let index = start;
  let quoted = inQuotes;
  if (!quoted && view[index] === QUOTE) {
    quoted = true;
    index++;
  }
  for (;;) {
    if (quoted) {
      const quote = view.indexOf(QUOTE, index);
      if (quote === -1) return true;
      if (view[quote + 1] === QUOTE) {
        index = quote + 2;
        continue;
      }
      quoted = false;
      index = quote + 1;
    }
    const comma = view.indexOf(delimiter, index);
    if (comma === -1) return false;
    index = comma + 1;
    if (view[index] === QUOTE) {
      quoted = true;
      index++;
    }
  }
}

/** Where a part may end: after a complete record, with the lines and records from the pending bytes' start. */
interface CutPoint {
  readonly end: number;
  readonly lines: number;
  readonly records: number;
}

/**
 * Cuts an input's bytes into parts of about `partBytes` (each ends at the first record end past that size). Feed
 * it with `push`, then call `end` once. An input error found while cutting (a line or an open quoted field over
 * `maxRecordBytes`) does not throw: it is kept in `failure`, after the parts before it were handed out.
 */
export class PartSplitter {
  readonly #csv: boolean;
  readonly #file: string;
  readonly #maxRecordBytes: number;
  readonly #partBytes: number;
  /** Bytes not yet in a part, at the start of this buffer (reused; it grows for long lines). */
  #pending = Buffer.allocUnsafeSlow(2 * PART_BYTES);
  #pendingBytes = 0;
  /** Where parts' buffers come from. */
  readonly #pool: BufferPool;
  /** Of the pending bytes: how many were scanned, and what the scan found (CSV state at the scanned end). */
  #scanned = 0;
  /** CSV: -1, or the current record is open in a quoted field, whose closing quote is searched from here. */
  #openField = -1;
  /** CSV: quotes of the unfinished line scanned so far. */
  #lineQuotes = 0;
  #lines = 0;
  #records = 0;
  /** Start of the current record in the pending bytes, and the end of the last complete one. */
  #groupStart = 0;
  /** Start of the current physical line in the pending bytes. */
  #lineStart = 0;
  #lastEnd = 0;
  #linesAtLastEnd = 0;
  /** Where the scan found that parts may end, in order. */
  #cuts: CutPoint[] = [];
  /** Numbers of the first line and record of the pending bytes. */
  #nextLine = 0;
  #nextRecord = 0;
  /** CSV: the header record's bytes (without a BOM, with any blank lines before it), and its line count. */
  #header: Buffer | undefined;
  #headerLines = 0;
  /** Whether the first part was made (it carries the header itself). */
  #started = false;
  /** The input error that stopped the cutting, if any. */
  failure: InputError | undefined;
  /** CSV: the delimiter's byte, and whether records are read strictly (see csv-records.ts). */
  readonly #delimiter: number;
  readonly #strict: boolean;

  constructor(
    format: 'csv' | 'text',
    file: string,
    pool: BufferPool,
    maxRecordBytes: number = DEFAULT_MAX_RECORD_BYTES,
    partBytes: number = PART_BYTES,
    dialect: { readonly delimiter?: string | undefined; readonly strict?: boolean | undefined } = {},
  ) {
    this.#delimiter = (dialect.delimiter ?? ',').charCodeAt(0);
    this.#strict = dialect.strict === true;
    this.#pool = pool;
    this.#partBytes = partBytes;
    this.#csv = format === 'csv';
    this.#file = file;
    this.#maxRecordBytes = maxRecordBytes;
  }

  /** Adds input bytes (copied: the caller may reuse `chunk`); returns the parts now complete. */
  push(chunk: Buffer): Part[] {
    if (this.failure !== undefined) return [];
    if (this.#pendingBytes + chunk.length > this.#pending.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.#pendingBytes + chunk.length, 2 * this.#pending.length));
      this.#pending.copy(grown, 0, 0, this.#pendingBytes);
      this.#pending = grown;
    }
    this.#pendingBytes += chunk.copy(this.#pending, this.#pendingBytes);
    if (this.#pendingBytes < this.#partBytes) return [];
    const buffer = this.#pending.subarray(0, this.#pendingBytes);
    this.#scan(buffer);
    const parts = this.#cutAll(buffer);
    // The reader's two limits: any physical line (inside quotes too), and the lines of a record whose quoted field
    // stayed open past them (a newline that ends no record is inside quotes, so those are the lines from the last
    // record end to the current line, without its last newline; the line that closes the field does not count,
    // as in the reader, which counts UTF-8 bytes too, after a BOM).
    if (this.#pendingBytes - this.#lineStart > this.#maxRecordBytes) {
      this.failure = new InputError(
        this.#file,
        this.#nextLine + this.#lines + 1,
        `line is longer than ${this.#maxRecordBytes} bytes`,
      );
    } else if (
      this.#csv &&
      this.#lineStart - (this.#lastEnd === 0 ? this.#recordStart(buffer) : this.#lastEnd) - 1 > this.#maxRecordBytes
    ) {
      this.failure = new InputError(
        this.#file,
        this.#nextLine + this.#linesAtLastEnd + 1,
        `quoted field not closed within ${this.#maxRecordBytes} bytes`,
      );
    }
    return parts;
  }

  /** The last part (what is left, possibly an unterminated last line), or none. */
  end(): Part | undefined {
    if (this.failure !== undefined || this.#pendingBytes === 0) return undefined;
    const part = this.#part(this.#pending.subarray(0, this.#pendingBytes), this.#nextLine, this.#nextRecord);
    this.#pendingBytes = 0;
    return part;
  }

  /**
   * After an input error (a read that failed, or `failure`): the complete records not yet in a part, so that the
   * rows before the error are written as a single reader writes them; or none. Nothing is cut after it.
   */
  complete(): Part | undefined {
    this.#scan(this.#pending.subarray(0, this.#pendingBytes));
    this.#cuts = [];
    const end = this.#lastEnd;
    this.#pendingBytes = 0;
    if (end === 0) return undefined;
    return this.#part(this.#pending.subarray(0, end), this.#nextLine, this.#nextRecord);
  }

  /** Scans the pending bytes from where the last scan stopped, noting where records end and parts may end. */
  #scan(buffer: Buffer): void {
    const at = this.#scanned;
    if (!this.#csv) {
      for (let newline = buffer.indexOf(NEWLINE, at); newline !== -1; newline = buffer.indexOf(NEWLINE, newline + 1)) {
        this.#lines++;
        this.#lineStart = newline + 1;
        this.#recordEnded(newline + 1);
      }
      this.#scanned = buffer.length;
      return;
    }
    // Line by line, deciding where records end exactly as the reader (csv-records.ts) does, malformed records
    // included: a line without quotes ends its record; a line with quotes, or the line that brings a pending
    // record's quote count to odd, ends it unless the record parses as still open. A malformed record (a stray
    // quote) ends there too, so the part that holds it gets the reader's own error for it. An unfinished line's
    // quotes are counted as they come (#lineQuotes), so a long line fed in small chunks is scanned once.
    let quote = buffer.indexOf(QUOTE, at);
    let newline = buffer.indexOf(NEWLINE, at);
    while (newline !== -1) {
      let quotes = this.#lineQuotes;
      this.#lineQuotes = 0;
      for (; quote !== -1 && quote < newline; quote = buffer.indexOf(QUOTE, quote + 1)) quotes++;
      this.#lines++;
      const lineStart = this.#lineStart;
      this.#lineStart = newline + 1;
      if (!this.#strict) {
        // Lenient: any quote may open or close a field; the line is followed through from its state at the start.
        if (quotes > 0) {
          const open = this.#openField >= 0;
          this.#openField = lenientOpenAt(
            buffer,
            open ? lineStart : this.#recordStart(buffer),
            newline,
            open,
            this.#delimiter,
          )
            ? newline
            : -1;
        }
      } else if (this.#openField >= 0 ? quotes % 2 === 1 : quotes > 0) {
        // Pending (inside a quoted field): the reader parses again only on a line with an odd number of quotes.
        this.#openField = openFieldAt(buffer, this.#recordStart(buffer), newline, this.#openField, this.#delimiter);
      }
      if (this.#openField < 0) {
        this.#endRecord(buffer, newline);
        this.#groupStart = newline + 1;
        // Only once the header is known: every part after the first needs a copy of it.
        if (this.#header !== undefined) this.#recordEnded(newline + 1);
      }
      newline = buffer.indexOf(NEWLINE, newline + 1);
    }
    for (; quote !== -1; quote = buffer.indexOf(QUOTE, quote + 1)) this.#lineQuotes++;
    this.#scanned = buffer.length;
  }

  /** The length of a BOM at the very start of the input (not data, and not copied with the header): 3 or 0. */
  #bom(buffer: Buffer): number {
    return this.#nextLine === 0 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  }

  /** Where the current record's text starts (after a BOM at the start of the input). */
  #recordStart(buffer: Buffer): number {
    return this.#groupStart === 0 ? this.#bom(buffer) : this.#groupStart;
  }

  /** A record (line) ends just before `end`: a part may end there once it is big enough. */
  #recordEnded(end: number): void {
    this.#lastEnd = end;
    this.#linesAtLastEnd = this.#lines;
    const from = this.#cuts.length === 0 ? 0 : (this.#cuts[this.#cuts.length - 1] as CutPoint).end;
    if (end - from >= this.#partBytes) this.#cuts.push({ end, lines: this.#lines, records: this.#records });
  }

  /** A record (or a blank line, which is none) ends at the newline at `newline`. */
  #endRecord(buffer: Buffer, newline: number): void {
    const start = this.#recordStart(buffer);
    const length = newline - start;
    if (length === 0 || (length === 1 && buffer[start] === CR)) return;
    if (this.#header === undefined) {
      // With any blank lines before it, which the header's line count includes.
      this.#header = Buffer.from(buffer.subarray(this.#bom(buffer), newline + 1));
      this.#headerLines = this.#lines;
      return;
    }
    this.#records++;
  }

  /** Makes a part of each stretch between the cut points found, and keeps the rest pending. */
  #cutAll(buffer: Buffer): Part[] {
    const parts: Part[] = [];
    let from = 0;
    let lines = 0;
    let records = 0;
    for (const cut of this.#cuts) {
      parts.push(this.#part(buffer.subarray(from, cut.end), this.#nextLine + lines, this.#nextRecord + records));
      from = cut.end;
      lines = cut.lines;
      records = cut.records;
    }
    this.#cuts = [];
    if (from === 0) return parts;
    this.#pending.copyWithin(0, from, this.#pendingBytes);
    this.#pendingBytes -= from;
    this.#nextLine += lines;
    this.#nextRecord += records;
    this.#scanned -= from;
    if (this.#openField >= 0) this.#openField -= from;
    this.#groupStart -= from;
    this.#lineStart -= from;
    this.#lastEnd -= from;
    this.#lines -= lines;
    this.#linesAtLastEnd -= lines;
    this.#records -= records;
    return parts;
  }

  /** A part of `bytes`, whose first line and record have these numbers. */
  #part(bytes: Buffer, firstLine: number, firstRecord: number): Part {
    const first = !this.#started;
    this.#started = true;
    const header = !this.#csv || first || this.#header === undefined ? undefined : this.#header;
    const size = (header?.length ?? 0) + bytes.length;
    const target = this.#pool.take(size);
    if (header !== undefined) header.copy(target, 0);
    bytes.copy(target, header?.length ?? 0);
    return {
      bytes: target.subarray(0, size),
      startLine: header === undefined ? firstLine : firstLine - this.#headerLines,
      startRecord: firstRecord,
    };
  }
}
