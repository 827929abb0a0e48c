/**
 * Reads an enrich output back: CSV, JSON lines or a JSON array (what `enrich --format csv|jsonl|json` writes), told
 * apart by the first non-blank character. `join` and the report/export commands both read results through here,
 * so the format rules (and the undoing of the CSV writer's formula guard) live in one place.
 */
import { InputError } from '../errors.js';
import { readChunks } from './input-source.js';
import { blankFirstLine, isPowerShellTypeLine, powerShellTypeLineNotice } from './open-input.js';
import { splitLines } from './line-splitter.js';
import { readResultCsv } from './result-csv.js';
import { TextIds, ValuesRow, type ResultRow } from './result-row.js';

export type { ResultRow } from './result-row.js';

/**
 * Called with each result row (see {@link ResultRow}: its values by position in the columns asked for), valid
 * during the call only.
 */
export type ResultRowHandler = (row: ResultRow) => void;

/** What to read. */
export interface ResultColumns {
  /** The columns to hand over, in this order. */
  readonly columns: readonly string[];
  /** Columns without which the file is not an enrich output (a CSV header must name them; a JSON row must have them). */
  readonly required: readonly string[];
  /** False: read a CSV in JavaScript only, even where the native engine is built (`IOC_ENRICH_ENGINE=js`). */
  readonly nativeEngine?: boolean | undefined;
  /** Told what was skipped on the way (PowerShell's `#TYPE` line), for stderr. */
  readonly onNotice?: ((message: string) => void) | undefined;
}

/** The text of the first line of `chunk` (after a UTF-8 BOM), at most its first 256 bytes. */
function firstLineOf(chunk: Buffer): string {
  const start = chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
  const end = chunk.indexOf(0x0a, start);
  return chunk.toString('utf8', start, Math.min(end === -1 ? chunk.length : end, start + 256));
}

/** Peeks at the first non-blank byte to tell CSV from JSON lines (`{`) and a JSON array (`[`). */
async function* peekable(
  chunks: AsyncGenerator<Buffer>,
  seen: (first: number | undefined) => void,
): AsyncGenerator<Buffer> {
  let told = false;
  for await (const chunk of chunks) {
    if (!told) {
      let at = chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
      while (
        at < chunk.length &&
        (chunk[at] === 0x20 || chunk[at] === 0x0a || chunk[at] === 0x0d || chunk[at] === 0x09)
      )
        at++;
      if (at < chunk.length) {
        told = true;
        seen(chunk[at]);
      }
    }
    yield chunk;
  }
  if (!told) seen(undefined);
}

function parseJson(textValue: string, file: string, line: number | undefined): unknown {
  try {
    return JSON.parse(textValue);
  } catch (error) {
    throw new InputError(file, line, `not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function jsonValues(value: unknown, spec: ResultColumns, file: string, line: number | undefined): unknown[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(file, line, 'expected a JSON object (an enrich output row)');
  }
  const row = value as Record<string, unknown>;
  const missing = spec.required.filter((name) => !Object.hasOwn(row, name));
  if (missing.length > 0) throw new InputError(file, line, `not an enrich output row: no ${missing.join(', ')}`);
  return spec.columns.map((name) => (Object.hasOwn(row, name) ? row[name] : undefined));
}

/**
 * Reads the enrich output at `path` and hands each row's values to `onRow`. Returns the number of rows.
 *
 * @throws InputError naming the file and line for unreadable input or a file that is not an enrich output;
 *   IocEnrichError `INPUT_NOT_FOUND` when it does not exist.
 */
export async function readResultRows(path: string, spec: ResultColumns, onRow: ResultRowHandler): Promise<number> {
  let first: number | undefined;
  const chunks = peekable(readChunks({ path }), (byte) => (first = byte));
  // The first chunk decides the format; splitLines keeps pulling from the same generator afterwards.
  const head = await chunks.next();
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (head.done !== true) yield head.value;
      yield* chunks;
    } finally {
      // A reader that stops at the first chunk (a file that is no enrich output) must close the file too.
      await chunks.return(undefined);
    }
  }
  if (first === 0x5b) {
    // A JSON array (`enrich --format json`) is one document: parsed whole, like its writer wrote it.
    const parts: Buffer[] = [];
    for await (const chunk of all()) parts.push(Buffer.from(chunk));
    const rows = parseJson(
      Buffer.concat(parts)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
      path,
      undefined,
    );
    if (!Array.isArray(rows)) throw new InputError(path, 1, 'expected a JSON array of enrich output rows');
    const numbering = new TextIds();
    for (const row of rows) onRow(new ValuesRow(jsonValues(row, spec, path, undefined), numbering));
    return rows.length;
  }
  if (first !== 0x7b) {
    // A results file filtered in Windows PowerShell and saved again with Export-Csv has its `#TYPE` line above the
    // header: skipped with a notice, as a source table's is (src/io/open-input.ts), keeping every line's number.
    const typeLine = first === 0x23 && head.done !== true && isPowerShellTypeLine(firstLineOf(head.value));
    if (typeLine) spec.onNotice?.(powerShellTypeLineNotice(path));
    return readResultCsv(typeLine ? blankFirstLine(all()) : all(), {
      file: path,
      columns: spec.columns,
      nativeEngine: spec.nativeEngine,
      checkHeader: (names, line) => {
        const missing = spec.required.filter((name) => !names.includes(name));
        if (missing.length > 0)
          throw new InputError(path, line, `not an enrich output: no ${missing.join(', ')} column`);
      },
      onRow,
    });
  }
  let count = 0;
  const numbering = new TextIds();
  for await (const { firstLine, lines: batch } of splitLines(all(), path)) {
    for (let offset = 0; offset < batch.length; offset++) {
      const line = batch[offset] as string;
      if (line.trim() === '') continue;
      const lineNumber = firstLine + offset + 1;
      onRow(new ValuesRow(jsonValues(parseJson(line, path, lineNumber), spec, path, lineNumber), numbering));
      count++;
    }
  }
  return count;
}
