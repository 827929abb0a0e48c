/**
 * Property test (issue 11): a random table written as CSV with each delimiter, quoting style and line end, gzip'd or
 * not, UTF-8 or UTF-16, is read back as the same rows, with the delimiter and encoding found by the readers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSourceRecords } from '../../src/io/readers.js';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ioc-dialects-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % below;
  };
}

const PIECES = ['a', '45.33.32.156', 'evil.example.com', ' ', ',', ';', '\t', '|', '"', 'é', '’', '日本', '😀', '3,5'];

function table(next: (below: number) => number, multiline: boolean): string[][] {
  const columns = 2 + next(4);
  const header = Array.from({ length: columns }, (_, column) => `col${column}`);
  const rows = [header];
  for (let row = 0; row < 30; row++) {
    const cells: string[] = [];
    for (let column = 0; column < columns; column++) {
      let value = '';
      for (let count = next(4); count > 0; count--) value += PIECES[next(PIECES.length)] as string;
      if (multiline && next(10) === 0) value += '\nnext line';
      cells.push(value);
    }
    // A row of empty cells would be a blank line (not a record) with one column: keep one cell.
    if (!cells.some((cell) => cell !== '')) cells[0] = 'x';
    rows.push(cells);
  }
  return rows;
}

function write(rows: string[][], delimiter: string, quoteAll: boolean, lineEnd: string): string {
  const quote = (cell: string): string =>
    quoteAll || cell.includes(delimiter) || cell.includes('"') || /[\r\n]/.test(cell) || cell === ''
      ? `"${cell.replaceAll('"', '""')}"`
      : cell;
  return rows.map((row) => row.map(quote).join(delimiter)).join(lineEnd) + lineEnd;
}

describe('CSV in every dialect reads back the same rows', () => {
  const cases: Array<[string, string, boolean, string, boolean, 'utf-8' | 'utf-16le']> = [];
  for (const delimiter of [',', ';', '\t', '|'])
    for (const quoteAll of [false, true])
      for (const lineEnd of ['\n', '\r\n', '\r'])
        for (const gzip of [false, true])
          for (const encoding of ['utf-8', 'utf-16le'] as const)
            cases.push([JSON.stringify(delimiter), delimiter, quoteAll, lineEnd, gzip, encoding]);
  it.each(cases)('delimiter %s, quote all %s, line end %j, gzip %s, %s', async (...args) => {
    const [, delimiter, quoteAll, lineEnd, gzip, encoding] = args;
    for (let seed = 1; seed <= 3; seed++) {
      // CR-only files cannot hold a line break inside a field (it would be an LF, and then not CR-only).
      const rows = table(random(seed * 97 + cases.length), lineEnd !== '\r');
      const text = write(rows, delimiter, quoteAll, lineEnd);
      let bytes =
        encoding === 'utf-8'
          ? Buffer.from(text)
          : Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      if (gzip) bytes = gzipSync(bytes);
      const path = join(folder, `table-${seed}-${Math.random().toString(16).slice(2)}.csv${gzip ? '.gz' : ''}`);
      await writeFile(path, bytes);
      const got: string[][] = [];
      for await (const record of readSourceRecords({ path }, { strictCsv: true })) {
        got.push(record.fields.map((field) => `${field.name}=${field.value}`));
      }
      const [header, ...data] = rows as [string[], ...string[][]];
      // Line ends inside a field come back as written, but a CR-only file's CRs are read as LF.
      const expected = data.map((row) =>
        row.flatMap((cell, column) => (cell === '' ? [] : [`${header[column] as string}=${cell}`])),
      );
      expect(got).toEqual(expected);
    }
  });
});
