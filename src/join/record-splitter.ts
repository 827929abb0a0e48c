/**
 * Splits a byte stream into raw records, keeping every byte, for the join (which must write the source back
 * byte for byte with cells appended).
 *
 * Design decision: a splitter over bytes, not a CSV parser. csv-parse with `raw: true` measured 8.6 MiB/s
 * here (and its raw text drops the `\n` of a CRLF); the join needs only where each record ends, so a line
 * without a quote is skipped with `indexOf` (hundreds of MiB/s) and only quoted fields are walked. It counts
 * records exactly as the extract reader does (src/io/csv-records.ts, lenient or strict: they end records alike on
 * what the strict reader accepts): blank lines are not records, a quote opens a field only at the start of a field,
 * `""` inside a quoted field is a quote, a quoted field may span lines, one never closed runs to the end of the input. Working on bytes keeps the source's bytes exact, invalid UTF-8 included: `"`, `,`, CR and LF never
 * occur inside a multi-byte UTF-8 sequence.
 */
import { InputError } from '../errors.js';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/** Where one record lies in `data` (valid only during the callback: `data` may be reused afterwards). */
export interface RawRecord {
  readonly data: Buffer;
  readonly start: number;
  /** End of the record's content: before its CR LF, LF, or the end of the input. */
  readonly contentEnd: number;
  /** End of the record including its line end. */
  readonly end: number;
  /** 0-based physical line the record starts on. */
  readonly line: number;
}

/** The longest record accepted (as the extract reader): a longer one means an unbalanced quote. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Feeds chunks in, gets records out. `csv` mode honours quotes; `lines` mode (JSON lines) splits on LF only.
 */
export class RecordSplitter {
  readonly #file: string;
  readonly #quoted: boolean;
  /** Copy of the unfinished record's bytes from earlier chunks. */
  #carry: Buffer | undefined;
  /** Where scanning resumes in the carried bytes. */
  #resumeAt = 0;
  #inQuotes = false;
  /** A quote was seen inside a quoted field at the very end of the carried bytes: `""` or a closing quote? */
  #quoteAtEnd = false;
  /** The position just scanned ended a field (record start or a comma): a quote there opens a field. */
  #fieldStart = true;
  /** The current record contains a quoted field (so it may contain LFs to count). */
  #hadQuotes = false;
  #line = 0;
  /** The field delimiter's byte. */
  readonly #delimiter: number;

  constructor(file: string, mode: 'csv' | 'lines', delimiter = ',') {
    this.#file = file;
    this.#quoted = mode === 'csv';
    this.#delimiter = delimiter.charCodeAt(0);
  }

  /** Scans one chunk; calls `onRecord` for each record completed in it. The chunk may be reused afterwards. */
  push(chunk: Buffer, onRecord: (record: RawRecord) => void): void {
    const data = this.#carry === undefined ? chunk : Buffer.concat([this.#carry, chunk]);
    let start = 0;
    let at = this.#resumeAt;
    let nextQuote = this.#quoted ? data.indexOf(QUOTE, at) : -1;
    let nextLf = data.indexOf(LF, at);
    for (;;) {
      if (this.#inQuotes) {
        if (this.#quoteAtEnd) {
          // The quote before `at` either doubles (`""`) or closes the field.
          if (at >= data.length) break;
          this.#quoteAtEnd = false;
          if (data[at] === QUOTE) {
            at++;
            continue;
          }
          this.#inQuotes = false;
          this.#fieldStart = false;
          continue;
        }
        if (nextQuote !== -1 && nextQuote < at) nextQuote = data.indexOf(QUOTE, at);
        if (nextQuote === -1) {
          at = data.length;
          break;
        }
        at = nextQuote + 1;
        this.#quoteAtEnd = true;
        continue;
      }
      if (nextLf !== -1 && nextLf < at) nextLf = data.indexOf(LF, at);
      if (nextQuote !== -1 && nextQuote < at) nextQuote = data.indexOf(QUOTE, at);
      if (nextQuote !== -1 && (nextLf === -1 || nextQuote < nextLf)) {
        // A quote before the line end: it opens a quoted field only at the start of a field (else it is text,
        // and the extract reader reports the row as malformed; the row still ends at its line end).
        const opens = nextQuote === at ? this.#fieldStart : data[nextQuote - 1] === this.#delimiter;
        at = nextQuote + 1;
        this.#fieldStart = false;
        if (opens) {
          this.#inQuotes = true;
          this.#hadQuotes = true;
        }
        continue;
      }
      if (nextLf === -1) {
        if (at < data.length) this.#fieldStart = data[data.length - 1] === this.#delimiter;
        at = data.length;
        break;
      }
      const contentEnd = nextLf > start && data[nextLf - 1] === CR ? nextLf - 1 : nextLf;
      onRecord({ data, start, contentEnd, end: nextLf + 1, line: this.#line });
      this.#line += 1 + (this.#hadQuotes ? countLf(data, start, nextLf) : 0);
      start = nextLf + 1;
      at = start;
      this.#fieldStart = true;
      this.#hadQuotes = false;
    }
    if (start < data.length) {
      if (data.length - start > MAX_RECORD_BYTES) {
        throw new InputError(
          this.#file,
          this.#line + 1,
          `record longer than ${MAX_RECORD_BYTES} bytes (a quote left open?)`,
        );
      }
      // A copy: the caller may reuse `chunk`.
      this.#carry = Buffer.from(data.subarray(start));
      this.#resumeAt = at - start;
    } else {
      this.#carry = undefined;
      this.#resumeAt = 0;
    }
  }

  /**
   * Ends the input: a last record without a line end is emitted, a quoted field never closed included (the
   * extract reader reads the rest of the input as that field, as Python's csv module does).
   */
  end(onRecord: (record: RawRecord) => void): void {
    const data = this.#carry;
    if (data === undefined) return;
    this.#carry = undefined;
    const contentEnd = data[data.length - 1] === CR ? data.length - 1 : data.length;
    onRecord({ data, start: 0, contentEnd, end: data.length, line: this.#line });
  }
}

function countLf(data: Buffer, from: number, to: number): number {
  let count = 0;
  for (let at = data.indexOf(LF, from); at !== -1 && at < to; at = data.indexOf(LF, at + 1)) count++;
  return count;
}
