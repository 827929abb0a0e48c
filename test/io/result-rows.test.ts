import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { readResultCsv, type ResultCsvOptions } from '../../src/io/result-csv.js';
import { readResultRows, type ResultColumns } from '../../src/io/result-rows.js';
import { createRowWriter, type OutputRow } from '../../src/io/writers.js';
import { ENRICH_COLUMNS } from '../../src/types.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-result-rows-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What enrich writes for the rows, through the project's own CSV writer. */
async function writeEnrichCsv(path: string, rows: readonly OutputRow[]): Promise<string> {
  const stream = createWriteStream(path);
  const writer = createRowWriter(ENRICH_COLUMNS, 'csv', stream);
  for (const row of rows) await writer.write(row);
  await writer.end();
  stream.end();
  await once(stream, 'finish');
  return path;
}

const COLUMNS: ResultColumns = {
  columns: ['Observable', 'IoCType', 'SourceIndex', 'RawResponse', 'SourceText', 'Note', 'NoSuchColumn'],
  required: ['Observable', 'IoCType'],
};

/** Every row's values as readResultRows hands them over, and their ids. */
async function readAll(
  path: string,
  spec: ResultColumns = COLUMNS,
): Promise<{ values: unknown[][]; ids: number[][]; count: number }> {
  const values: unknown[][] = [];
  const ids: number[][] = [];
  const count = await readResultRows(path, spec, (row) => {
    values.push(spec.columns.map((_, column) => row.value(column)));
    ids.push(spec.columns.map((_, column) => row.id(column)));
  });
  return { values, ids, count };
}

/** Values a SIEM export really holds, and what our writer must quote or guard. */
const TRICKY = [
  'plain.example.com',
  'a, with commas, and "quotes"',
  'line one\nline two',
  'crlf one\r\ncrlf two\r\n',
  "=cmd|' /C calc'!A0",
  '+1+1',
  '-2',
  '@SUM(1)',
  '\t=1',
  '\r=1',
  "'already quoted",
  '"',
  '""',
  ',',
  '',
  'ünïcödé ✓ 日本',
  '{"data":{"attributes":{"last_analysis_stats":{"malicious":3}}}}',
];

function trickyRows(): OutputRow[] {
  return TRICKY.map((text, index) => ({
    Observable: `host-${index}.example.com`,
    IoCType: 'dns',
    SourceIndex: index % 3 === 0 ? `-${index}` : String(index),
    RawResponse: index % 2 === 0 ? text : '',
    SourceText: text,
    Note: TRICKY[TRICKY.length - 1 - index] as string,
  }));
}

describe('readResultRows on CSV', () => {
  it('reads back every cell our writer wrote: quoted commas and quotes, newlines, CRLF, guarded formulas', async () => {
    const rows = trickyRows();
    const path = await writeEnrichCsv(join(dir, 'tricky.csv'), rows);
    const { values, count } = await readAll(path);
    expect(count).toBe(rows.length);
    expect(values).toEqual(
      rows.map((row) => [
        row['Observable'],
        row['IoCType'],
        row['SourceIndex'],
        row['RawResponse'],
        row['SourceText'],
        row['Note'],
        undefined,
      ]),
    );
  });

  it('agrees with csv-parse on the same file, cell for cell (the guard undone)', async () => {
    const path = await writeEnrichCsv(join(dir, 'agree.csv'), trickyRows());
    const records = parse<Record<string, string>>(readFileSync(path), { columns: true });
    const unguard = (cell: string): string => (/^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell);
    const { values } = await readAll(path);
    expect(values).toEqual(
      records.map((record) => [
        ...COLUMNS.columns.slice(0, -1).map((name) => unguard(record[name] as string)),
        undefined,
      ]),
    );
  });

  it('reads CRLF line ends, a BOM and blank lines as the writer of another tool would leave them', async () => {
    const path = join(dir, 'crlf.csv');
    writeFileSync(
      path,
      '\uFEFFObservable,IoCType,SourceIndex,SourceText\r\n' +
        '\r\n' +
        'a.example.com,dns,0,"x, ""y""\r\nz"\r\n' +
        '\n' +
        "b.example.com,dns,'-1,last\r\n",
    );
    const { values, count } = await readAll(path, {
      columns: ['Observable', 'SourceIndex', 'SourceText'],
      required: ['Observable'],
    });
    expect(count).toBe(2);
    expect(values).toEqual([
      ['a.example.com', '0', 'x, "y"\r\nz'],
      ['b.example.com', '-1', 'last'],
    ]);
  });

  it('reads a last record without a line end, and a header alone as no rows', async () => {
    const path = join(dir, 'no-eol.csv');
    writeFileSync(path, 'Observable,IoCType\na,dns\nb,"ur""l"');
    expect((await readAll(path, { columns: ['Observable', 'IoCType'], required: [] })).values).toEqual([
      ['a', 'dns'],
      ['b', 'ur"l'],
    ]);
    writeFileSync(path, 'Observable,IoCType\r\n');
    expect((await readAll(path, { columns: ['Observable'], required: ['IoCType'] })).count).toBe(0);
  });

  it('numbers equal values alike and different ones apart, per column, in order of first appearance', async () => {
    const path = join(dir, 'ids.csv');
    writeFileSync(
      path,
      'Observable,IoCType\n' +
        'a.example.com,dns\n' +
        '"b,example",dns\n' +
        'a.example.com,url\n' +
        "'=x,dns\n" +
        '"b,example",dns\n' +
        '=x,dns\n' +
        'a.example.com,dns\n',
    );
    const { ids, values } = await readAll(path, { columns: ['Observable', 'IoCType', 'Missing'], required: [] });
    // The guarded '=x and a bare =x are the same value (the guard undone), so the same number.
    expect(values.map((row) => row[0])).toEqual([
      'a.example.com',
      'b,example',
      'a.example.com',
      '=x',
      'b,example',
      '=x',
      'a.example.com',
    ]);
    expect(ids).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
      [2, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
      [0, 0, 0],
    ]);
  });

  it.each([
    [
      'a row with a cell too few',
      'a.example.com,dns,0,x\nb.example.com,dns,1\n',
      3,
      'expected 4 fields as in the header, got 3',
    ],
    [
      'a row with a cell too many',
      'a.example.com,dns,0,x\nb.example.com,dns,1,x,y\n',
      3,
      'expected 4 fields as in the header, got 5',
    ],
    // The record after a quoted field of three lines starts on line 5.
    [
      'a short row after a multi-line cell',
      'a.example.com,dns,0,"x\ny\nz"\nb,dns,1\n',
      5,
      'expected 4 fields as in the header, got 3',
    ],
    ['a quote inside an unquoted cell', 'a.example.com,dns,0,say "hi"\n', 2, 'a quote inside unquoted field 4'],
    [
      'text after a closing quote',
      'a.example.com,dns,0,"x"y\n',
      2,
      'unexpected text after the closing quote of field 4',
    ],
    ['a quote never closed', 'a.example.com,dns,0,x\nb.example.com,dns,1,"open\nmore\n', 3, 'quoted field not closed'],
  ])('stops at %s with one line naming the file and the line', async (_name, body, line, problem) => {
    const path = join(dir, 'bad.csv');
    writeFileSync(path, `Observable,IoCType,SourceIndex,SourceText\n${body}`);
    const error = await readAll(path).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error).toMatchObject({ code: 'BAD_INPUT', file: path, line });
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message.startsWith(`${path}:${line}: `)).toBe(true);
    expect(message).toContain(problem);
  });

  it.each([
    ['the native scanner', true],
    ['JavaScript', false],
  ])(
    "reads results re-saved by Windows PowerShell's Export-Csv: its '#TYPE' line skipped and said, lines kept (%s)",
    async (_engine, nativeEngine) => {
      // What `Import-Csv results.csv | Where-Object Positives -gt 0 | Export-Csv hits.csv` writes in PowerShell 5.1:
      // the type line, every field quoted, CRLF.
      const path = join(dir, 'powershell-hits.csv');
      writeFileSync(
        path,
        '#TYPE System.Management.Automation.PSCustomObject\r\n' +
          '"Observable","IoCType","Status","Positives","SourceIndex"\r\n' +
          '"evil.example.com","dns","Success","7","3"\r\n' +
          '"5.6.7.8","ipv4","Success","2","11"\r\n' +
          '"bad.example.net","dns","Success","1","12\r\n',
      );
      const notices: string[] = [];
      const spec = {
        columns: ['Observable', 'Positives', 'SourceIndex'],
        required: ['Observable', 'IoCType'],
        nativeEngine,
        onNotice: (message: string) => notices.push(message),
      };
      await expect(readAll(path, spec)).rejects.toMatchObject({ code: 'BAD_INPUT', line: 5 });
      expect(notices).toEqual([
        `${path}: skipped PowerShell's '#TYPE …' line above the header (Export-Csv without -NoTypeInformation)`,
      ]);
      writeFileSync(path, readFileSync(path, 'utf8').replace('"12\r\n', '"12"\r\n'));
      const { values, count } = await readAll(path, spec);
      expect(count).toBe(3);
      expect(values).toEqual([
        ['evil.example.com', '7', '3'],
        ['5.6.7.8', '2', '11'],
        ['bad.example.net', '1', '12'],
      ]);
    },
  );

  it("leaves a first line that only starts with '#' to the header check", async () => {
    const path = join(dir, 'hash-comment.csv');
    writeFileSync(path, '#Observable,IoCType\na.example.com,dns\n');
    const notices: string[] = [];
    await expect(
      readAll(path, { columns: ['Observable'], required: ['Observable'], onNotice: (m) => notices.push(m) }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT', line: 1 });
    expect(notices).toEqual([]);
  });

  it('names the line of a header without a required column', async () => {
    const path = join(dir, 'other.csv');
    writeFileSync(path, '\n\nObservable,Severity\nx,high\n');
    await expect(readAll(path)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      line: 3,
      message: `${path}:3: not an enrich output: no IoCType column`,
    });
  });
});

/** `text` cut into chunks of `size` bytes, each a reused buffer as the file reader gives them. */
function* chunked(text: string | Buffer, size: number): Generator<Buffer> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const reused = Buffer.alloc(size);
  for (let at = 0; at < bytes.length; at += size) {
    const length = bytes.copy(reused, 0, at, at + size);
    yield reused.subarray(0, length);
    // What the reader did not copy is gone: the next chunk overwrites it (as the file reader's buffers are reused).
    reused.fill(0x21);
  }
}

async function readChunked(
  text: string | Buffer,
  size: number,
  columns: readonly string[],
  options: Partial<ResultCsvOptions> = {},
): Promise<{ values: unknown[][]; ids: number[][] }> {
  const values: unknown[][] = [];
  const ids: number[][] = [];
  await readResultCsv(chunked(text, size), {
    file: 'chunked.csv',
    columns,
    checkHeader: () => undefined,
    onRow: (row) => {
      values.push(columns.map((_, column) => row.value(column)));
      ids.push(columns.map((_, column) => row.id(column)));
    },
    ...options,
  });
  return { values, ids };
}

describe('readResultCsv across chunks', () => {
  it('reads the same records whatever the chunk size, a BOM and CRLF cut anywhere', async () => {
    const path = await writeEnrichCsv(join(dir, 'chunks.csv'), [...trickyRows(), ...trickyRows()]);
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(path)]);
    const text = bytes.toString('latin1').replaceAll('\n', '\r\n');
    const crlf = Buffer.from(text, 'latin1');
    const columns = ['Observable', 'SourceText', 'Note', 'RawResponse'];
    const whole = await readChunked(bytes, bytes.length, columns);
    expect(whole.values).toHaveLength(2 * TRICKY.length);
    expect(whole.values.map((row) => row[1])).toEqual([...TRICKY, ...TRICKY]);
    for (const size of [1, 2, 3, 5, 64, 1000]) {
      expect(await readChunked(bytes, size, columns), `chunks of ${size}`).toEqual(whole);
    }
    // CRLF record ends: the same values, except that a CR inside a quoted cell before its LF is now doubled.
    const crlfWhole = await readChunked(crlf, crlf.length, columns);
    expect(crlfWhole.values.map((row) => row[0])).toEqual(whole.values.map((row) => row[0]));
    for (const size of [1, 7, 333]) expect(await readChunked(crlf, size, columns)).toEqual(crlfWhole);
    // Lines are counted across chunks: a short record after all that is reported on its line, whatever the cuts.
    const lines = crlf.toString('latin1').split('\n').length;
    const bad = Buffer.concat([crlf, Buffer.from('x,y\r\n')]);
    for (const size of [1, 2, 7, 333, bad.length]) {
      await expect(readChunked(bad, size, columns), `chunks of ${size}`).rejects.toMatchObject({ line: lines });
    }
  });

  it('reads a cell of megabytes (a RawResponse) that spans many chunks, in linear time', async () => {
    const raw = `{"data":"${'x,"'.repeat(1_000_000)}"}`;
    const quoted = `"${raw.replaceAll('"', '""')}"`;
    const text = `Observable,RawResponse,SourceIndex\na,${quoted},1\nb,,2\n`;
    const { values } = await readChunked(text, 65536, ['Observable', 'RawResponse', 'SourceIndex']);
    expect(values).toEqual([
      ['a', raw, '1'],
      ['b', '', '2'],
    ]);
  });

  it('stops at a record longer than the limit, naming its line', async () => {
    const text = `Observable,SourceText\na,b\nc,"${'y'.repeat(5000)}\n`;
    await expect(readChunked(text, 1024, ['Observable'], { maxRecordBytes: 4096 })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      line: 3,
      message: 'chunked.csv:3: record longer than 4096 bytes',
    });
  });

  it('reads a header wider than 64 columns', async () => {
    const names = Array.from({ length: 100 }, (_, index) => `c${index}`);
    const text = `${names.join(',')}\n${names.map((name) => `v-${name}`).join(',')}\n`;
    expect((await readChunked(text, 50, ['c99', 'c0', 'c64'])).values).toEqual([['v-c99', 'v-c0', 'v-c64']]);
  });
});
