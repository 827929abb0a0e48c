/**
 * Reads an enrich output back: CSV, JSON lines or a JSON array (what `enrich --format csv|jsonl|json` writes), told
 * apart by the first non-blank character. `join` and the report/export commands both read results through here,
 * so the format rules (and the undoing of the CSV writer's formula guard) live in one place.
 */
import { InputError } from '../errors.js';
import { csvRowBatches } from './csv-records.js';
import { readChunks } from './input-source.js';
import { splitLines } from './line-splitter.js';

/**
 * Called with each result row's values, in the order of the columns asked for: strings from CSV; strings, numbers,
 * booleans or null from JSON; `undefined` for a column the file (or the JSON row) does not have.
 */
export type ResultRowHandler = (values: readonly unknown[]) => void;

/** What to read. */
export interface ResultColumns {
  /** The columns to hand over, in this order. */
  readonly columns: readonly string[];
  /** Columns without which the file is not an enrich output (a CSV header must name them; a JSON row must have them). */
  readonly required: readonly string[];
}

/**
 * Our CSV writer puts `'` before a string cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
 * CR, see csv-safe.ts). A cell read back from such a file gets its own value again.
 */
export function withoutFormulaGuard(cell: string): string {
  return cell.length > 1 && cell.charCodeAt(0) === 0x27 && /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
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
    if (head.done !== true) yield head.value;
    yield* chunks;
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
    for (const row of rows) onRow(jsonValues(row, spec, path, undefined));
    return rows.length;
  }
  const lines = splitLines(all(), path);
  let count = 0;
  if (first !== 0x7b) {
    let at: number[] | undefined;
    for await (const batch of csvRowBatches(lines, { file: path })) {
      if (at === undefined) {
        const missing = spec.required.filter((name) => !batch.header.includes(name));
        if (missing.length > 0) {
          throw new InputError(path, batch.headerLine + 1, `not an enrich output: no ${missing.join(', ')} column`);
        }
        at = spec.columns.map((name) => batch.header.indexOf(name));
      }
      const positions = at;
      for (const { cells } of batch.rows) {
        const values: unknown[] = new Array(positions.length);
        for (let column = 0; column < positions.length; column++) {
          const index = positions[column] as number;
          values[column] = index === -1 ? undefined : withoutFormulaGuard(cells[index] ?? '');
        }
        onRow(values);
        count++;
      }
    }
    return count;
  }
  for await (const { firstLine, lines: batch } of lines) {
    for (let offset = 0; offset < batch.length; offset++) {
      const line = batch[offset] as string;
      if (line.trim() === '') continue;
      const lineNumber = firstLine + offset + 1;
      onRow(jsonValues(parseJson(line, path, lineNumber), spec, path, lineNumber));
      count++;
    }
  }
  return count;
}
