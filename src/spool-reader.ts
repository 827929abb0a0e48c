/**
 * Reading `enrich`'s occurrence spool back in pass two (src/pipeline.ts): `extract` rows as JSON lines, each the
 * fields of EXTRACT_COLUMNS in order, every value a JSON string, as both extraction paths write them.
 *
 * Design decision: a line is read by hand from the bytes, not with JSON.parse. V8 interns every string value of
 * ten characters or fewer that JSON.parse makes (a SourceIndex, an IPv4 address, `Valid`), and interned strings
 * are made in the old generation: a SourceIndex per row is a million of them per million rows, left for the
 * full collections. Measured on a million spool lines: JSON.parse 1.0 s and 25 MB of old space; read by hand
 * 0.6 s and none (pass two of the enrich bench: the old space grew 9-13 MB over what was live before each full
 * collection). Each value is decoded from the bytes as a string of its own, never a slice of a larger one that
 * a kept value would hold on to. A line with a backslash (an escaped character) or of any other shape is given
 * to JSON.parse, which reads it whatever it holds.
 */
import { createReadStream } from 'node:fs';
import { EXTRACT_COLUMNS } from './types.js';

/**
 * A spooled occurrence: an `extract` row as JSON lines (EXTRACT_COLUMNS), the format both extraction paths write
 * (the one-thread extract path writes the rows itself, in the native engine where it is built).
 */
export interface SpoolLine {
  readonly Observable: string;
  readonly IoCType: string;
  readonly Status: string;
  readonly SourceIndex: string;
  readonly SourceField: string;
  readonly SourceText: string;
  readonly Note: string;
}

/** What comes before each value in a line, in order: `{"Observable":"`, `,"IoCType":"`, … */
const KEYS = EXTRACT_COLUMNS.map((column, index) => Buffer.from(`${index === 0 ? '{' : ','}"${column}":"`, 'latin1'));

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;

/** Whether `bytes` holds `key` at `at`. */
function hasAt(bytes: Buffer, key: Buffer, at: number): boolean {
  if (at + key.length > bytes.length) return false;
  for (let index = 0; index < key.length; index++) if (bytes[at + index] !== key[index]) return false;
  return true;
}

/** The line in `bytes` [start, end) (no newline); `escaped`: it holds a backslash. */
export function parseSpoolLine(bytes: Buffer, start: number, end: number, escaped: boolean): SpoolLine {
  if (!escaped) {
    const values: string[] = [];
    let at = start;
    for (const key of KEYS) {
      if (!hasAt(bytes, key, at)) break;
      const from = at + key.length;
      const quote = bytes.indexOf(QUOTE, from);
      if (quote === -1 || quote >= end) break;
      values.push(bytes.toString('utf8', from, quote));
      at = quote + 1;
    }
    if (values.length === KEYS.length && at === end - 1 && bytes[at] === CLOSE_BRACE) {
      const [Observable, IoCType, Status, SourceIndex, SourceField, SourceText, Note] = values as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      return { Observable, IoCType, Status, SourceIndex, SourceField, SourceText, Note };
    }
  }
  return JSON.parse(bytes.toString('utf8', start, end)) as SpoolLine;
}

/** The lines of `bytes` [0, end), each ending in a newline. */
function linesOf(bytes: Buffer, end: number, into: SpoolLine[]): void {
  let start = 0;
  let backslash = bytes.indexOf(BACKSLASH);
  let newline = bytes.indexOf(NEWLINE);
  while (newline !== -1 && newline < end) {
    if (backslash !== -1 && backslash < start) backslash = bytes.indexOf(BACKSLASH, start);
    into.push(parseSpoolLine(bytes, start, newline, backslash !== -1 && backslash < newline));
    start = newline + 1;
    newline = bytes.indexOf(NEWLINE, start);
  }
}

/**
 * The spool's lines, one array per chunk read that ends a line: one async step per chunk, not per line. A last
 * line without a newline is read too.
 */
export async function* readSpool(path: string): AsyncGenerator<SpoolLine[]> {
  // The bytes of the line not yet ended, copied (the stream may reuse what it read into), joined once it ends: a
  // line over many chunks costs its length, not its length times its chunks.
  let partial: Buffer[] = [];
  for await (const read of createReadStream(path, { highWaterMark: 1 << 16 })) {
    const bytes = read as Buffer;
    const last = bytes.lastIndexOf(NEWLINE);
    if (last === -1) {
      partial.push(Buffer.from(bytes));
      continue;
    }
    const chunk = partial.length === 0 ? bytes : Buffer.concat([...partial, bytes]);
    const end = chunk.length - (bytes.length - last - 1);
    const lines: SpoolLine[] = [];
    linesOf(chunk, end, lines);
    partial = end === chunk.length ? [] : [Buffer.from(chunk.subarray(end))];
    yield lines;
  }
  const rest = Buffer.concat(partial);
  if (rest.length > 0) yield [parseSpoolLine(rest, 0, rest.length, rest.includes(BACKSLASH))];
}
