/**
 * Splits a byte stream into lines. Design decisions:
 * - Split Buffers on 0x0a with `indexOf` instead of using readline: readline decodes everything and emits an
 *   event per line, several times slower, and it has no bound on line length.
 * - Decode each line on its own (`toString(start, end)`) rather than decoding a chunk and slicing it: a slice of
 *   a big string keeps the whole chunk alive, and later stages keep small pieces of lines (observables) in memory.
 * - Lines keep a trailing `\r`: CSV needs the exact bytes inside quoted fields; the readers strip it elsewhere.
 * 0x0a never occurs inside a multi-byte UTF-8 sequence, so every line is a complete UTF-8 sequence.
 */
import { InputError } from '../errors.js';

/** Consecutive lines of the input. */
export interface LineBatch {
  /** 0-based line number of `lines[0]`. */
  readonly firstLine: number;
  /** The lines without their `\n` (a `\r` before it is kept); a BOM on the first line is removed. */
  readonly lines: readonly string[];
}

/**
 * Lines per batch, in bytes. Design decision: measured, not guessed: a batch of records from a whole 1 MiB chunk
 * outlives V8's young generation while it is built, and copying and promoting it made garbage collection take
 * more than half the time of reading a CSV (21 MiB/s); batches of about 64 KiB die young (70 MiB/s).
 */
const BATCH_BYTES = 64 * 1024;

/** The default longest line (and, for CSV, longest record) accepted: longer ones are an input error. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Yields the lines of `chunks`, in batches of about {@link BATCH_BYTES}. A last line without
 * `\n` is yielded too; an input ending in `\n` has no empty last line.
 * @param file - names the input in errors.
 * @param maxLineBytes - a longer line fails with an InputError rather than exhausting memory.
 * @param startLine - the number of the first line (a part of a larger input, as src/parallel reads it).
 *   A BOM is removed only from line 0.
 */
export async function* splitLines(
  chunks: AsyncIterable<Buffer>,
  file: string,
  maxLineBytes: number = DEFAULT_MAX_RECORD_BYTES,
  startLine = 0,
): AsyncGenerator<LineBatch> {
  // The start of a line that continues in a later chunk, as copies of the pieces in each chunk it spans (the
  // chunk's memory is reused by the next read); joined once, when its end arrives, so a long line costs linear time.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let nextLine = startLine;
  for await (const chunk of chunks) {
    let lines: string[] = [];
    let firstLine = nextLine;
    let start = 0;
    let batchStart = 0;
    let newline = chunk.indexOf(0x0a);
    if (newline !== -1 && carryBytes > 0) {
      carry.push(chunk.subarray(0, newline));
      lines.push(Buffer.concat(carry, carryBytes + newline).toString('utf8'));
      carry = [];
      carryBytes = 0;
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    while (newline !== -1) {
      if (newline - start > maxLineBytes) {
        const error = new InputError(file, firstLine + lines.length + 1, `line is longer than ${maxLineBytes} bytes`);
        // The lines before it are complete: hand them out first (nothing already read is lost).
        if (lines.length > 0) yield { firstLine, lines: firstLine === 0 ? withoutBom(lines) : lines };
        throw error;
      }
      lines.push(chunk.toString('utf8', start, newline));
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
      if (start - batchStart >= BATCH_BYTES) {
        nextLine += lines.length;
        yield { firstLine, lines: firstLine === 0 ? withoutBom(lines) : lines };
        lines = [];
        firstLine = nextLine;
        batchStart = start;
      }
    }
    if (start < chunk.length) {
      carry.push(Buffer.from(chunk.subarray(start)));
      carryBytes += chunk.length - start;
      if (carryBytes > maxLineBytes) {
        const error = new InputError(file, firstLine + lines.length + 1, `line is longer than ${maxLineBytes} bytes`);
        if (lines.length > 0) yield { firstLine, lines: firstLine === 0 ? withoutBom(lines) : lines };
        throw error;
      }
    }
    nextLine += lines.length;
    if (lines.length > 0) yield { firstLine, lines: firstLine === 0 ? withoutBom(lines) : lines };
  }
  if (carryBytes > 0) {
    const lines = [Buffer.concat(carry, carryBytes).toString('utf8')];
    yield { firstLine: nextLine, lines: nextLine === 0 ? withoutBom(lines) : lines };
  }
}

function withoutBom(lines: string[]): string[] {
  const first = lines[0];
  if (first !== undefined && first.charCodeAt(0) === 0xfeff) lines[0] = first.slice(1);
  return lines;
}

/** `line` without a trailing `\r` (the CR of a CRLF line end). */
export function withoutCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line;
}
