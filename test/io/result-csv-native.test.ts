/**
 * The results-CSV reader's native fast path (native/result-csv.cc) against its JavaScript walk, the reference:
 * the same values, the same numbers, the same errors on the same lines, on random records cut into random chunks.
 * Skipped where the native engine is not built, unless CI asks for it (as test/native/native-engine.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 as random } from '../../src/emulator/random.js';
import { readResultCsv } from '../../src/io/result-csv.js';
import { nativeAvailable, nativeResultCsv } from '../../src/native/engine.js';

const REQUIRED =
  process.env['CI'] === 'true' ||
  process.env['IOC_ENRICH_REQUIRE_NATIVE'] === '1' ||
  process.env['IOC_ENRICH_REQUIRE_SERVICES'] === '1';
const SKIP = !nativeAvailable() && !REQUIRED;

/** Pieces cells are made of: what our writer quotes or guards, and what other tools leave. */
const PIECES = ['a', 'host.example', ',', '"', '""', '\n', '\r\n', '\r', "'=", "'+1", '=', ' ', 'ü', '日本', '-1', ''];

function cell(next: () => number): string {
  let text = '';
  const pieces = Math.floor(next() * 4);
  for (let i = 0; i < pieces; i++) text += PIECES[Math.floor(next() * PIECES.length)] as string;
  return /[",\r\n]/.test(text) || next() < 0.2 ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Cells an RFC 4180 writer would not make, and records of the wrong width: the errors must agree too. */
const FAULTS = [
  (fields: string[]) => fields.slice(1), // a field too few
  (fields: string[]) => [...fields, 'x'], // one too many
  (fields: string[]) => [...fields.slice(1), 'say "hi"'], // a quote inside an unquoted field
  (fields: string[]) => [...fields.slice(1), '"x"y'], // text after the closing quote
  (fields: string[]) => [...fields.slice(1), '"never closed'],
];

function file(seed: number, fields: number, records: number): Buffer {
  const next = random(seed);
  const header = Array.from({ length: fields }, (_, field) => `c${field}`).join(',');
  const lines = [header];
  // Half the files have one faulty record somewhere.
  const faulty = next() < 0.5 ? Math.floor(next() * records) : -1;
  const fault = FAULTS[Math.floor(next() * FAULTS.length)] as (fields: string[]) => string[];
  for (let record = 0; record < records; record++) {
    if (next() < 0.05) lines.push(''); // a blank line
    const cells = Array.from({ length: fields }, () => cell(next));
    lines.push((record === faulty ? fault(cells) : cells).join(','));
  }
  const end = next() < 0.5 ? '\n' : '\r\n';
  return Buffer.from(lines.join(end) + (next() < 0.8 ? end : ''));
}

/** `bytes` in chunks of random sizes, each a reused buffer (as the file reader gives them). */
function* chunks(bytes: Buffer, next: () => number, largest: number): Generator<Buffer> {
  const reused = Buffer.alloc(largest);
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(next() * largest);
    const length = bytes.copy(reused, 0, at, at + size);
    at += length;
    yield reused.subarray(0, length);
    reused.fill(0x21);
  }
}

interface Reading {
  readonly values: unknown[][];
  readonly ids: number[][];
  readonly error?: string;
}

async function read(bytes: Buffer, columns: string[], chunkSeed: number, nativeEngine: boolean): Promise<Reading> {
  const values: unknown[][] = [];
  const ids: number[][] = [];
  const next = random(chunkSeed);
  try {
    await readResultCsv(chunks(bytes, next, next() < 0.5 ? 64 : 8192), {
      file: 'random.csv',
      columns,
      checkHeader: () => undefined,
      onRow: (row) => {
        values.push(columns.map((_, column) => row.value(column)));
        ids.push(columns.map((_, column) => row.id(column)));
      },
      nativeEngine,
    });
    return { values, ids };
  } catch (error) {
    return { values, ids, error: (error as Error).message };
  }
}

describe.skipIf(SKIP)('the native results-CSV scanner', () => {
  it('is built and loads (where CI asks for it)', () => {
    expect(nativeResultCsv(), 'the native engine is not built').toBeTypeOf('object');
  });

  it('notes the wanted fields of the records it reads, numbers the numbered ones, and stops before a malformed one', () => {
    const native = nativeResultCsv();
    if (native === undefined) throw new Error('the native engine is not built');
    const text = 'a,"b,""c""",x\r\n\r\n"l1\nl2",,\'=1\na,"b,""c""",y\nbad,"x"y,z\n';
    const bytes = Buffer.from(text);
    // Fields 0 and 1 noted (slots 1 and 0), field 2 not; slot 0 numbered.
    const tables = native.tables(2);
    const out = new Int32Array(10 * 10);
    const records = native.spans(tables, bytes, 0, 3, Int32Array.of(1, 0, -1), Uint8Array.of(1, 0), out);
    expect(records).toBe(3);
    const cellText = (base: number, slot: number): string =>
      bytes.toString('utf8', out[base + 2 + 4 * slot], out[base + 3 + 4 * slot]);
    // Record 1: ends after its CRLF; one line.
    expect(out[0]).toBe(text.indexOf('\r\n') + 2);
    expect(out[1]).toBe(1);
    expect(cellText(0, 1)).toBe('a');
    expect(cellText(0, 0)).toBe('b,""c""');
    expect(out[2 + 2]).toBe(1); // doubled quotes to undo
    // Record 2: after a blank line, with a line end inside a quoted field: three lines.
    expect(out[10 + 1]).toBe(3);
    expect(cellText(10, 1)).toBe('l1\nl2');
    expect(cellText(10, 0)).toBe('');
    // The numbers of slot 0's bytes: 0 and 1 for the first two values, 0 again for the first one's bytes.
    expect([out[2 + 3], out[12 + 3], out[22 + 3]]).toEqual([0, 1, 0]);
    expect(native.key(tables, 0, Buffer.from('b,""c""'), 0, 7)).toBe(0);
    expect(native.key(tables, 0, Buffer.from('new'), 0, 3)).toBe(2);
    // It stopped before `bad,"x"y,z`, for the JavaScript walk (which reports it).
    expect(out[20]).toBe(text.indexOf('bad'));
  });

  it('gives what the JavaScript walk gives: values, numbers and errors, whatever the chunks', async () => {
    let compared = 0;
    let errors = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const fields = 2 + (seed % 5);
      const bytes = file(seed, fields, 40 + seed * 3);
      const columns = ['c1', 'c0', `c${fields - 1}`, 'missing'];
      const reference = await read(bytes, columns, seed * 7, false);
      const native = await read(bytes, columns, seed * 7, true);
      expect(native, `seed ${seed}`).toEqual(reference);
      // And cut elsewhere: the same again.
      expect(await read(bytes, columns, seed * 13, true), `seed ${seed}, other chunks`).toEqual(reference);
      compared += reference.values.length;
      if (reference.error !== undefined) errors++;
    }
    // The random files hold both readable records and each kind of error (not a comparison of empty readings).
    expect(compared).toBeGreaterThan(1000);
    expect(errors).toBeGreaterThan(15);
    expect(errors).toBeLessThan(45);
  });
});
