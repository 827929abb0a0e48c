/**
 * Output writers: rows as CSV, JSON lines or one JSON array, written to a stream as they come, with the stream's
 * backpressure respected.
 *
 * Design decision: the CSV is formatted here rather than by csv-stringify, whose stream measured 15 MiB/s on this
 * machine, well below what the extract command must write. The format is the same (RFC 4180, as csv-stringify's
 * defaults: a field is quoted only when it holds a comma, a quote, CR or LF; quotes are doubled; `\n` ends a
 * record), and the test suite checks the output against csv-stringify's.
 * Rows are gathered into strings of about 64 KiB before they are written: one stream write per row would cost
 * more than formatting the row.
 */
import { safeCell } from './csv-safe.js';

/** One output cell. Booleans are written `true`/`false`; a missing column is written as an empty string. */
export type CellValue = string | number | boolean;

/** One output row: values by column name. Columns not in the writer's list are ignored. */
export type OutputRow = Readonly<Record<string, CellValue>>;

/** The output formats. */
export type OutputFormat = 'csv' | 'jsonl' | 'json';

/** Writes rows to a stream. */
export interface RowWriter {
  /**
   * Queues one row. Returns a promise when the stream asked to wait (backpressure): await it before writing
   * more. Throws the stream's error if it failed.
   */
  write(row: OutputRow): void | Promise<void>;
  /**
   * Writes what is left (the JSON array's closing bracket, and for CSV the header if no row came) and waits until
   * the stream has taken it. It does not end the stream: its owner does (for example `openAtomicOutput`'s
   * `commit`), so stdout can be used. Calling it again does nothing.
   */
  end(): Promise<void>;
}

/** Flush threshold, in characters. */
const FLUSH_CHARS = 64 * 1024;

/**
 * True when `text` holds a quote, CR, LF or `delimiter` (one character). A plain loop measured 3x faster than a
 * regex test.
 */
function needsQuotes(text: string, delimiter: string): boolean {
  const separator = delimiter.charCodeAt(0);
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x22 || code === separator || code === 0x0a || code === 0x0d) return true;
  }
  return false;
}

/** A CSV field: quoted when needed, quotes doubled. Not made formula-safe: for our own header names. */
function csvField(text: string, delimiter = ','): string {
  return needsQuotes(text, delimiter) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A CSV cell: strings made formula-safe ({@link safeCell}) and quoted when needed, numbers and booleans as they
 * are. The one cell rule of every CSV this tool writes: the row writers here, the native and parallel engines'
 * extract rows, and `join`, which passes the source table's delimiter (`;`, tab, `|`) instead of the comma.
 */
export function csvCell(value: CellValue | undefined, delimiter = ','): string {
  if (typeof value === 'string') return csvField(safeCell(value), delimiter);
  if (value === undefined) return '';
  return String(value);
}

/** True when `text` can be put between quotes as it is in JSON (no quote, backslash, control or surrogate). */
function isPlainJsonString(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return false;
  }
  return true;
}

/**
 * A cell as JSON. Plain strings (nearly all of them) skip JSON.stringify, which measured a third slower per row;
 * anything that needs escaping still goes through it.
 */
export function jsonCell(value: CellValue | undefined): string {
  if (typeof value === 'string') return isPlainJsonString(value) ? `"${value}"` : JSON.stringify(value);
  if (value === undefined) return '""';
  return JSON.stringify(value);
}

function formatter(
  columns: readonly string[],
  format: OutputFormat,
): { header: string; row: (row: OutputRow) => string } {
  if (format === 'csv') {
    return {
      header: `${columns.map((column) => csvField(column)).join(',')}\n`,
      row: (row) => {
        let line = '';
        for (let index = 0; index < columns.length; index++) {
          if (index > 0) line += ',';
          line += csvCell(row[columns[index] as string]);
        }
        return `${line}\n`;
      },
    };
  }
  // Keys are encoded once; rows are built by hand so that keys come in column order whatever the row's order.
  const keys = columns.map((column) => `${JSON.stringify(column)}:`);
  const object = (row: OutputRow): string => {
    let text = '{';
    for (let index = 0; index < columns.length; index++) {
      if (index > 0) text += ',';
      text += (keys[index] as string) + jsonCell(row[columns[index] as string]);
    }
    return `${text}}`;
  };
  return { header: '', row: format === 'jsonl' ? (row) => `${object(row)}\n` : object };
}

/**
 * Resolves when `output` drains; rejects if it fails, closes or was already destroyed first (it would never drain).
 */
export function drained(output: NodeJS.WritableStream): Promise<void> {
  const stream = output as NodeJS.WritableStream & { destroyed?: boolean; errored?: Error | null };
  if (stream.destroyed === true) {
    return Promise.reject(stream.errored ?? new Error('the output stream closed before all rows were written'));
  }
  return new Promise((resolve, reject) => {
    const done = (error?: Error): void => {
      output.off('drain', onDrain);
      output.off('error', onError);
      output.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = (): void => done();
    const onError = (error: unknown): void => done(error instanceof Error ? error : new Error(String(error)));
    const onClose = (): void =>
      done(stream.errored ?? new Error('the output stream closed before all rows were written'));
    output.on('drain', onDrain);
    output.on('error', onError);
    output.on('close', onClose);
  });
}

function needsDrain(output: NodeJS.WritableStream): boolean {
  return (output as NodeJS.WritableStream & { writableNeedDrain?: boolean }).writableNeedDrain === true;
}

/**
 * A writer of `columns` (in this order) as `format` to `output`. CSV starts with a header row and makes string
 * cells formula-safe ({@link safeCell}); `jsonl` writes one object per line; `json` writes one array, streamed
 * (`[]` when there is no row).
 */
export function createRowWriter(
  columns: readonly string[],
  format: OutputFormat,
  output: NodeJS.WritableStream,
): RowWriter {
  const { header, row: formatRow } = formatter(columns, format);
  let buffered = header;
  let rows = 0;
  let failure: Error | undefined;
  let ended: Promise<void> | undefined;
  // Kept until end(): without a listener a stream error would crash the process instead of reaching the caller.
  const onError = (error: Error): void => {
    failure ??= error;
  };
  output.on('error', onError);

  const flush = (): void | Promise<void> => {
    if (failure !== undefined) throw failure;
    const text = buffered;
    buffered = '';
    if (text !== '' && !output.write(text)) return drained(output);
    return undefined;
  };

  return {
    write(row) {
      if (ended !== undefined) throw new Error('RowWriter.write() called after end()');
      if (format === 'json') buffered += rows === 0 ? `[\n${formatRow(row)}` : `,\n${formatRow(row)}`;
      else buffered += formatRow(row);
      rows++;
      return buffered.length >= FLUSH_CHARS ? flush() : undefined;
    },
    end() {
      ended ??= (async () => {
        try {
          if (format === 'json') buffered += rows === 0 ? '[]\n' : '\n]\n';
          await flush();
          if (needsDrain(output)) await drained(output);
          if (failure !== undefined) throw failure;
        } finally {
          output.off('error', onError);
        }
      })();
      return ended;
    },
  };
}
