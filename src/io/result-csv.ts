/**
 * Reads the CSV an enrich run writes (see writers.ts) straight from its bytes, for `report`, `join` and anything
 * else that reads results back through result-rows.ts.
 *
 * Design decision: a reader of its own, not csv-records.ts. A results file is wide (33 columns, RawResponse can be
 * kilobytes) and its readers want a handful of columns: the general reader decoded every line to a string and cut
 * every cell out of it (33 strings a row), most of a `report` run's time. Here the bytes are scanned once, only
 * where the wanted cells start and end is noted, and a cell becomes a string only when the caller asks for it
 * (see {@link ResultRow}). The other columns cost the scan and nothing else.
 *
 * It reads what our writer writes, strictly (RFC 4180 as csv-parse reads it by default): `,` separates, a field
 * holding `,` `"` CR or LF is quoted, `""` is a quote inside one, a quoted field may span lines; records end with LF
 * or CRLF; blank lines are not records; a UTF-8 BOM is skipped; every record has the header's number of fields. A
 * quote inside an unquoted field, text after a closing quote, a quote never closed and a record with the wrong
 * number of fields are errors naming the file and the line the record starts on: a results file is our own output,
 * so one that is not what we write is reported, not repaired (the general reader is lenient, for SIEM exports).
 * The writer's formula guard (a `'` before `=`, `+`, `-`, `@`, TAB or CR, see csv-safe.ts) is undone.
 *
 * Design decision (issue 14): where the native engine is built, its scanner (native/result-csv.cc) reads the
 * complete, well-formed records of each buffer, many per call, and numbers the cells the caller numbers; the walk
 * below reads the rest (a record cut by a chunk's end, the last record, any record with an error), so the rules
 * and every error stay here, and test/io/result-csv-native.test.ts holds the two to each other. On the report
 * bench's million rows the read took 1.7-2.3 s with it against 2.7-3.5 s without (alternating runs).
 */
import { InputError } from '../errors.js';
import { ByteIds, hashOf } from './byte-ids.js';
import { uniqueHeader } from './csv-records.js';
import { DEFAULT_MAX_RECORD_BYTES } from './line-splitter.js';
import type { ResultRow } from './result-row.js';
import { nativeResultCsv, type NativeResultCsv } from '../native/engine.js';
import { startsFormula } from './csv-safe.js';

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const APOSTROPHE = 0x27;

const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;
const COMMAS = 0x2c2c2c2c;
const LFS = 0x0a0a0a0a;
const QUOTES = 0x22222222;

/**
 * The index of the first `,`, LF or `"` at or after `from`, or `length`. Design decision: four bytes at a time
 * (the classic "has a zero byte" test on the word XORed with each byte sought; its lowest flagged byte is always a
 * true match): reading the bench's million rows took 10-25 % less CPU than with a loop over single bytes.
 */
function nextSpecial(buffer: Buffer, view: DataView, from: number, length: number): number {
  let index = from;
  while (index + 4 <= length) {
    const word = view.getInt32(index, true);
    const comma = word ^ COMMAS;
    const lf = word ^ LFS;
    const quote = word ^ QUOTES;
    const found = (((comma - ONES) & ~comma) | ((lf - ONES) & ~lf) | ((quote - ONES) & ~quote)) & HIGHS;
    if (found !== 0) return index + ((31 - Math.clz32(found & -found)) >> 3);
    index += 4;
  }
  while (index < length) {
    const byte = buffer[index];
    if (byte === COMMA || byte === LF || byte === QUOTE) return index;
    index++;
  }
  return length;
}

/**
 * Numbers per noted field in a record's cells: its start, its end, 1 when it holds `""` to undo, and (from the native
 * scanner, for a numbered field) the number of its bytes in the scanner's table.
 */
const CELL = 4;
/** Numbers before a record's first cell: the offset after it and the lines it took (the native scanner's). */
const RECORD_HEAD = 2;

/**
 * Where a record's noted fields lie in the buffer. Each noted field has a slot; a slot's numbers are at
 * `cells[base + RECORD_HEAD + CELL * slot]`, in the layout the native scanner writes (see native/result-csv.cc), so
 * a record it read is used where it lies in its output, and a record walked in JavaScript is noted in `own`.
 */
class Spans {
  /** By field: its slot among the noted fields, or -1. */
  readonly slotOf: Int32Array;
  /**
   * By slot: 1 once the caller has asked a column there for its {@link ResultRow.id}: from the next batch on, the
   * native scanner numbers it too (so a caller declares nothing: what it asks for is what is numbered).
   */
  readonly numbered: Uint8Array;
  /** By slot: what {@link numbered} was when the native scanner read the batch at hand. */
  readonly batchNumbered: Uint8Array;
  /** The cells of a record walked in JavaScript. */
  readonly own: Int32Array;
  /** The record at hand's cells start at `cells[base]`: in {@link own}, or in the native scanner's output. */
  cells: Int32Array;
  base = 0;
  /** True when the record at hand was read by the native scanner (its cells hold the numbered slots' numbers). */
  native = false;

  /** `noted`: by field, whether to note it. */
  constructor(noted: readonly boolean[]) {
    this.slotOf = new Int32Array(noted.length).fill(-1);
    const fields: number[] = [];
    noted.forEach((note, field) => {
      if (note) this.slotOf[field] = fields.push(field) - 1;
    });
    this.numbered = new Uint8Array(fields.length);
    this.batchNumbered = new Uint8Array(fields.length);
    this.own = new Int32Array(RECORD_HEAD + CELL * fields.length);
    this.cells = this.own;
  }

  /** Where field `field`'s cell is, relative to a record's base, or -1 when it is not noted. */
  cellOf(field: number): number {
    const slot = this.slotOf[field];
    return slot === undefined || slot === -1 ? -1 : RECORD_HEAD + CELL * slot;
  }

  /** Notes a field of a record walked in JavaScript. */
  note(field: number, start: number, end: number, doubled: number): void {
    const cell = this.cellOf(field);
    if (cell === -1) return;
    this.own[cell] = start;
    this.own[cell + 1] = end;
    this.own[cell + 2] = doubled;
  }

  /** Where the value of the field whose cell is at `cell` starts: after the formula guard, when `unguard` and it has one. */
  start(buffer: Buffer, cell: number, unguard: boolean): number {
    const at = this.base + cell;
    const start = this.cells[at] as number;
    const guarded =
      unguard &&
      (this.cells[at + 1] as number) - start > 1 &&
      buffer[start] === APOSTROPHE &&
      startsFormula(buffer[start + 1]);
    return guarded ? start + 1 : start;
  }

  /** The text of the field whose cell is at `cell` (with `""` undone, and the formula guard when `unguard`). */
  text(buffer: Buffer, cell: number, unguard: boolean): string {
    // toString without an encoding goes straight to the UTF-8 decoder (invalid bytes become U+FFFD).
    const at = this.base + cell;
    const start = this.start(buffer, cell, unguard);
    const end = this.cells[at + 1] as number;
    // An empty cell (most of a result row's) costs no call to the decoder.
    if (start === end) return '';
    const text = buffer.toString(undefined, start, end);
    return this.cells[at + 2] === 1 ? text.replaceAll('""', '"') : text;
  }
}

/** The native scanner and its tables, for a reader that uses it. */
interface NativeNumbering {
  readonly native: NativeResultCsv;
  readonly tables: object;
}

/** The numbers of one column's values. */
class ColumnIds {
  /** Bytes to number (the JavaScript reading), and text to number (both readings). */
  readonly bytes = new ByteIds();
  /** The native scanner's number of a value's bytes → the value's number, or -1 (not met yet). */
  ofKey = new Int32Array(1024).fill(-1);
}

class CsvResultRow implements ResultRow {
  buffer: Buffer = Buffer.alloc(0);
  /** A DataView of all of {@link buffer}. */
  view: DataView = new DataView(new ArrayBuffer(0));
  readonly numbering = {};
  readonly #spans: Spans;
  /** By column asked for: where its cell is in a record, or -1 when the file has no such column. */
  readonly #cells: Int32Array;
  /** By column asked for: its slot when the native scanner is used (it numbers the column), else -1. */
  readonly #nativeSlots: Int32Array;
  readonly #native: NativeNumbering | undefined;
  /** By column asked for: the numbers of its values, made when first asked for. */
  readonly #ids: (ColumnIds | undefined)[];

  constructor(spans: Spans, positions: readonly number[], native: NativeNumbering | undefined) {
    this.#spans = spans;
    this.#native = native;
    this.#cells = Int32Array.from(positions, (position) => (position === -1 ? -1 : spans.cellOf(position)));
    this.#nativeSlots = Int32Array.from(positions, (position) => {
      const slot = position === -1 ? -1 : (spans.slotOf[position] as number);
      return native !== undefined ? slot : -1;
    });
    this.#ids = positions.map(() => undefined);
  }

  value(column: number): string | undefined {
    const cell = this.#cells[column];
    return cell === undefined || cell === -1 ? undefined : this.#spans.text(this.buffer, cell, true);
  }

  id(column: number): number {
    let ids = this.#ids[column];
    if (ids === undefined) {
      ids = new ColumnIds();
      this.#ids[column] = ids;
    }
    const cell = this.#cells[column];
    if (cell === undefined || cell === -1) return ids.bytes.idOfText('');
    const { buffer } = this;
    const spans = this.#spans;
    const { cells } = spans;
    const at = spans.base + cell;
    // Keyed by the field's bytes as they are (the formula guard and doubled quotes included): the same bytes always
    // make the same text.
    const start = cells[at] as number;
    const end = cells[at + 1] as number;
    const slot = this.#nativeSlots[column] as number;
    if (slot !== -1) {
      // Numbered by the native scanner's table: as it read the record, or now (a record the walk read, or one of a
      // batch read before this column was first asked for).
      spans.numbered[slot] = 1;
      const native = this.#native as NativeNumbering;
      const key =
        spans.native && spans.batchNumbered[slot] === 1
          ? (cells[at + 3] as number)
          : native.native.key(native.tables, slot, buffer, start, end);
      if (key >= ids.ofKey.length) {
        const larger = new Int32Array(Math.max(ids.ofKey.length * 2, key + 1)).fill(-1);
        larger.set(ids.ofKey);
        ids.ofKey = larger;
      }
      let id = ids.ofKey[key] as number;
      if (id === -1) {
        id = ids.bytes.idOfText(spans.text(buffer, cell, true));
        ids.ofKey[key] = id;
      }
      return id;
    }
    const hash = hashOf(buffer, start, end);
    const id = ids.bytes.find(buffer, this.view, start, end, hash);
    return id !== -1 ? id : ids.bytes.add(buffer, start, end, hash, spans.text(buffer, cell, true));
  }
}

/** The columns to hand over, and what to do with the header and each row. */
export interface ResultCsvOptions {
  /** Names the file in errors. */
  readonly file: string;
  /** The columns to hand over, in this order (header names, made unique as csv-records.ts does). */
  readonly columns: readonly string[];
  /** Called with the header's names and its line; throws to refuse the file (a required column missing). */
  readonly checkHeader: (names: readonly string[], line: number) => void;
  readonly onRow: (row: ResultRow) => void;
  /** A record (or a blank-free run of bytes) longer than this is an error, not a reason to buffer more. */
  readonly maxRecordBytes?: number | undefined;
  /**
   * False: read in JavaScript only, even where the native engine is built (the CLI's `IOC_ENRICH_ENGINE=js`, and
   * the tests that hold the two to each other). By default the native scanner reads the well-formed records.
   */
  readonly nativeEngine?: boolean | undefined;
}

/** Records the native scanner reads per call. */
const NATIVE_RECORDS = 1024;
/** Its offsets are 32-bit: a longer buffer (a record of gigabytes) is walked in JavaScript. */
const MAX_NATIVE_BYTES = 0x7fffffff;

/** What a record's walk returns when the buffer ends inside it (more input may complete it). */
const INCOMPLETE = -1;

/** Reads records from buffers: the header, then the data records, handed over one at a time. */
class ResultCsvScanner {
  readonly #options: ResultCsvOptions;
  /** Fields per record, from the header; 0 until the header is read. */
  #fields = 0;
  /** Before the header every field is noted (room for 64, more as needed). */
  #spans = new Spans(new Array<boolean>(64).fill(true));
  #row: CsvResultRow | undefined;
  /** Fields in, and newlines inside quoted fields of, the record walked last. */
  #count = 0;
  #newlines = 0;
  /** 1-based line the next record starts on. */
  line = 1;
  /** Data records handed over. */
  rows = 0;
  #atStart = true;
  /** The native scanner, when it is used (see {@link ResultCsvOptions.nativeEngine}). */
  readonly #native: NativeResultCsv | undefined;
  /** Where it writes its records, and its tables (made with the header). */
  #out = new Int32Array(0);
  #tables: object = {};

  constructor(options: ResultCsvOptions) {
    this.#options = options;
    this.#native = options.nativeEngine === false ? undefined : nativeResultCsv();
  }

  /**
   * Reads the records of `buffer` from `from`; returns where the first incomplete one starts (`buffer.length` when
   * none is). When `last`, the buffer ends the input: every record is complete, or an error.
   */
  scan(buffer: Buffer, from: number, last: boolean): number {
    const length = buffer.length;
    const view = new DataView(buffer.buffer, buffer.byteOffset, length);
    let at = from;
    if (this.#atStart && at < length) {
      // A UTF-8 byte-order mark before the header is no part of it.
      if (buffer[at] === 0xef && length - at < 3 && !last) return at;
      if (buffer[at] === 0xef && buffer[at + 1] === 0xbb && buffer[at + 2] === 0xbf) at += 3;
      this.#atStart = false;
    }
    while (at < length) {
      if (this.#native !== undefined && this.#fields > 0 && length <= MAX_NATIVE_BYTES) {
        at = this.#scanNative(buffer, view, at);
        if (at >= length) break;
      }
      const first = buffer[at];
      if (first === LF) {
        at++;
        this.line++;
        continue;
      }
      if (first === CR && (at + 1 < length ? buffer[at + 1] === LF : last)) {
        at += 2;
        this.line++;
        continue;
      }
      const next = this.#walk(buffer, view, at, last);
      if (next === INCOMPLETE) return at;
      if (this.#fields === 0) {
        if (this.#count > this.#spans.slotOf.length) {
          // A header wider than the room for it: walk it again with room for every field.
          this.#spans = new Spans(new Array<boolean>(this.#count).fill(true));
          continue;
        }
        this.#header(buffer);
      } else if (this.#count !== this.#fields) {
        throw new InputError(
          this.#options.file,
          this.line,
          `expected ${this.#fields} fields as in the header, got ${this.#count}`,
        );
      } else {
        const row = this.#row as CsvResultRow;
        row.buffer = buffer;
        row.view = view;
        this.#options.onRow(row);
        this.rows++;
      }
      this.line += 1 + this.#newlines;
      at = next;
    }
    return length;
  }

  #header(buffer: Buffer): void {
    const spans = this.#spans;
    const cells: string[] = [];
    for (let field = 0; field < this.#count; field++) cells.push(spans.text(buffer, spans.cellOf(field), false));
    const names = uniqueHeader(cells);
    this.#options.checkHeader(names, this.line);
    const positions = this.#options.columns.map((name) => names.indexOf(name));
    this.#fields = names.length;
    this.#spans = new Spans(names.map((_name, field) => positions.includes(field)));
    const native = this.#native;
    if (native !== undefined) this.#tables = native.tables(this.#spans.numbered.length);
    this.#row = new CsvResultRow(
      this.#spans,
      positions,
      native === undefined ? undefined : { native, tables: this.#tables },
    );
    this.#out = new Int32Array(NATIVE_RECORDS * this.#spans.own.length);
  }

  /**
   * Hands over the records the native scanner reads from `at` (complete, well-formed ones; see
   * native/result-csv.cc) and returns where it stopped: the record there, if any, is for {@link #walk}.
   */
  #scanNative(buffer: Buffer, view: DataView, at: number): number {
    const native = this.#native as NativeResultCsv;
    const spans = this.#spans;
    const row = this.#row as CsvResultRow;
    const out = this.#out;
    const stride = spans.own.length;
    let from = at;
    for (;;) {
      spans.batchNumbered.set(spans.numbered);
      const records = native.spans(this.#tables, buffer, from, this.#fields, spans.slotOf, spans.batchNumbered, out);
      if (records === 0) return from;
      // The rows are handed over where the scanner wrote them: no copy.
      spans.cells = out;
      spans.native = true;
      row.buffer = buffer;
      row.view = view;
      let base = 0;
      for (let record = 0; record < records; record++, base += stride) {
        spans.base = base;
        this.#options.onRow(row);
        this.rows++;
        this.line += out[base + 1] as number;
      }
      from = out[base - stride] as number;
      if (records < NATIVE_RECORDS) return from;
    }
  }

  /**
   * Walks the record at `at`, noting where its wanted fields lie, and how many fields (#count) and newlines inside
   * quotes (#newlines) it has. Returns the offset after its line end, or INCOMPLETE when the buffer ends first and
   * is not the last. Throws on a quote where RFC 4180 allows none. One loop for every record: this is the hot path.
   */
  #walk(buffer: Buffer, view: DataView, at: number, last: boolean): number {
    const spans = this.#spans;
    spans.cells = spans.own;
    spans.base = 0;
    spans.native = false;
    const length = buffer.length;
    let field = 0;
    let newlines = 0;
    let index = at;
    for (;;) {
      let start = index;
      let end: number;
      let quotes = 0;
      if (buffer[index] === QUOTE) {
        start = ++index;
        for (;;) {
          // indexOf is memchr: a long quoted field (a RawResponse) is skipped at memory speed.
          index = buffer.indexOf(QUOTE, index);
          // The quote's meaning (closing, or the first of `""`) depends on the byte after it.
          if ((index === -1 || index + 1 >= length) && !last) return INCOMPLETE;
          if (index === -1) throw this.#malformed(0, 'quoted field not closed before the end of the input');
          if (buffer[index + 1] !== QUOTE) break;
          quotes = 1;
          index += 2;
        }
        end = index++;
        for (let lf = buffer.indexOf(LF, start); lf !== -1 && lf < end; lf = buffer.indexOf(LF, lf + 1)) newlines++;
        let after = index < length ? buffer[index] : LF;
        if (after === CR) {
          if (index + 1 >= length && !last) return INCOMPLETE;
          if (index + 1 >= length || buffer[index + 1] === LF) after = buffer[++index] ?? LF;
        }
        if (after !== COMMA && after !== LF) {
          throw this.#malformed(
            newlines,
            `unexpected text after the closing quote of field ${field + 1}: expected a delimiter or the end of the record`,
          );
        }
      } else {
        index = nextSpecial(buffer, view, index, length);
        if (buffer[index] === QUOTE) {
          throw this.#malformed(
            newlines,
            `a quote inside unquoted field ${field + 1}: quote the whole field and double the quotes in it`,
          );
        }
        if (index >= length && !last) return INCOMPLETE;
        end = index;
        // The CR of a CRLF line end (or of the input's last line) is not data.
        if (end > start && buffer[end - 1] === CR && (index >= length || buffer[index] === LF)) end--;
      }
      spans.note(field, start, end, quotes);
      field++;
      if (index >= length) break;
      if (buffer[index++] === LF) break;
    }
    this.#count = field;
    this.#newlines = newlines;
    return index;
  }

  #malformed(linesIn: number, problem: string): InputError {
    return new InputError(this.#options.file, this.line + linesIn, problem);
  }
}

/**
 * Reads the results CSV whose bytes `chunks` yields and hands each data record to `onRow`; returns the number of
 * records. Chunks may be reused by their source once the next is asked for: a record cut by a chunk's end is
 * copied and completed with the next. An input with no record at all (empty, or blank lines) has no header and
 * no rows, and is not checked.
 *
 * @throws InputError naming the file and line: a malformed record, a record with the wrong number of fields, a
 *   record longer than `maxRecordBytes`, or whatever `checkHeader` throws.
 */
export async function readResultCsv(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  options: ResultCsvOptions,
): Promise<number> {
  const scanner = new ResultCsvScanner(options);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  // The start of a record cut by a chunk's end (copied: the source reuses its chunks), and while that record is
  // longer than a chunk, the chunks after it.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Design decision: a record of many chunks is walked again only once the bytes held have doubled, so a
  // RawResponse of megabytes costs linear time, not one walk per chunk.
  let retryAt = 0;
  for await (const chunk of chunks) {
    let buffer = chunk;
    let from = 0;
    if (pendingBytes > 0) {
      const lineEnd = pending.length === 1 ? chunk.indexOf(LF) : -1;
      if (lineEnd !== -1) {
        // Usually the cut record ends on the chunk's first line: that line is copied, not the whole chunk.
        const joined = Buffer.concat([pending[0] as Buffer, chunk.subarray(0, lineEnd + 1)]);
        const stop = scanner.scan(joined, 0, false);
        pending = stop < joined.length ? [joined.subarray(stop)] : [];
        pendingBytes = joined.length - stop;
        from = lineEnd + 1;
      }
      if (pendingBytes > 0) {
        const rest = chunk.subarray(from);
        pendingBytes += rest.length;
        if (pendingBytes < retryAt && pendingBytes <= maxRecordBytes) {
          pending.push(Buffer.from(rest));
          continue;
        }
        pending.push(rest);
        buffer = Buffer.concat(pending, pendingBytes);
        from = 0;
        pending = [];
        pendingBytes = 0;
      }
    }
    const stop = scanner.scan(buffer, from, false);
    if (stop < buffer.length) {
      const rest = buffer.length - stop;
      if (rest > maxRecordBytes) {
        throw new InputError(options.file, scanner.line, `record longer than ${maxRecordBytes} bytes`);
      }
      pending = [Buffer.from(buffer.subarray(stop))];
      pendingBytes = rest;
      retryAt = rest * 2;
    }
  }
  if (pendingBytes > 0) scanner.scan(Buffer.concat(pending, pendingBytes), 0, true);
  return scanner.rows;
}
