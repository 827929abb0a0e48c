import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, IocEnrichError, OptionError } from '../../src/errors.js';
import {
  inferInputFormat,
  readSourceBatches,
  readSourceRecords,
  readTypedRecords,
  type InputSpec,
  newReadReport,
  type ReaderOptions,
} from '../../src/io/readers.js';
import { uniqueHeader } from '../../src/io/csv-records.js';
import type { SourceRecord } from '../../src/types.js';

let folder: string;
let fileCount = 0;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ioc-readers-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Writes `content` to a new temporary file and returns its path. */
async function file(content: string | Buffer, extension = '.txt'): Promise<string> {
  const path = join(folder, `input-${fileCount++}${extension}`);
  await writeFile(path, content);
  return path;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function read(content: string | Buffer, options: ReaderOptions): Promise<SourceRecord[]> {
  return collect(readSourceRecords({ path: await file(content) }, options));
}

/** Records as [sourceIndex, {field: value}] pairs, easy to compare. */
function simple(records: readonly SourceRecord[]): Array<[string, Record<string, string>]> {
  return records.map((record) => [
    record.sourceIndex,
    Object.fromEntries(record.fields.map((field) => [field.name, field.value])),
  ]);
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<InputError> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

/** A stream that delivers `content` in pieces of `size` bytes, splitting lines and UTF-8 characters anywhere. */
function chunked(content: string, size: number): NodeJS.ReadableStream {
  const bytes = Buffer.from(content, 'utf8');
  const pieces: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) pieces.push(bytes.subarray(start, start + size));
  return Readable.from(pieces);
}

describe('inferInputFormat', () => {
  it.each([
    ['export.csv', 'csv'],
    ['EXPORT.CSV', 'csv'],
    ['events.jsonl', 'jsonl'],
    ['events.ndjson', 'jsonl'],
    ['events.json', 'jsonl'],
    ['report.txt', 'text'],
    ['syslog', 'text'],
    ['-', 'text'],
    ['dir.csv/file.log', 'text'],
  ] as const)('%s is %s', (path, format) => {
    expect(inferInputFormat(path)).toBe(format);
  });
});

describe('missing input and bad options', () => {
  it('a missing file is INPUT_NOT_FOUND with a one-line message', async () => {
    const path = join(folder, 'no-such-file.csv');
    const error: unknown = await collect(readSourceRecords({ path }, { format: 'csv' })).catch(
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(IocEnrichError);
    expect((error as IocEnrichError).code).toBe('INPUT_NOT_FOUND');
    expect((error as IocEnrichError).message).toBe(`Input file not found: ${path}`);
  });

  it.each([
    [{ format: 'text', columns: ['a'] }, 'columns'],
    [{ format: 'csv', fields: ['a'] }, 'fields'],
    [{ format: 'text', indexColumn: 'id' }, 'indexColumn'],
    [{ format: 'csv', columns: [] }, 'columns'],
    [{ format: 'jsonl', fields: ['a', ''] }, 'fields'],
    [{ format: 'xml' }, 'format'],
  ] as const)('%o is an OptionError on %s, thrown at once', (options, option) => {
    let thrown: unknown;
    try {
      readSourceBatches({ path: 'unused' }, options as unknown as ReaderOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OptionError);
    expect((thrown as OptionError).option).toBe(option);
  });
});

describe('CSV', () => {
  it('scans every non-empty cell, SourceIndex = data row number', async () => {
    const records = await read('src,dst,note\n1.2.3.4,5.6.7.8,\n9.9.9.9,,hello\n', { format: 'csv' });
    expect(simple(records)).toEqual([
      ['0', { src: '1.2.3.4', dst: '5.6.7.8' }],
      ['1', { src: '9.9.9.9', note: 'hello' }],
    ]);
    expect(records.map((record) => record.recordNumber)).toEqual([0, 1]);
  });

  it('reads quoted fields with newlines and quotes, a BOM and CRLF', async () => {
    const content = '\uFEFFid,msg\r\n7,"line one\r\nline ""two"", with comma"\r\n8,plain\r\n"9","x"\r\n';
    expect(simple(await read(content, { format: 'csv' }))).toEqual([
      ['0', { id: '7', msg: 'line one\r\nline "two", with comma' }],
      ['1', { id: '8', msg: 'plain' }],
      ['2', { id: '9', msg: 'x' }],
    ]);
  });

  it('skips blank lines without counting them as rows', async () => {
    const records = await read('a,b\n\n1,2\r\n\r\n3,4\n\n', { format: 'csv' });
    expect(simple(records)).toEqual([
      ['0', { a: '1', b: '2' }],
      ['1', { a: '3', b: '4' }],
    ]);
  });

  it('reads a record with two multi-line fields, the second opening on the line that closes the first', async () => {
    const records = await read('a,b,c\n"x\ny","p\nq\nr",z\nafter,1,2\n', { format: 'csv' });
    expect(simple(records)).toEqual([
      ['0', { a: 'x\ny', b: 'p\nq\nr', c: 'z' }],
      ['1', { a: 'after', b: '1', c: '2' }],
    ]);
  });

  it('keeps a blank line inside a quoted field', async () => {
    expect(simple(await read('a,b\n"x\n\ny",2\n', { format: 'csv' }))).toEqual([['0', { a: 'x\n\ny', b: '2' }]]);
  });

  it('scans only `columns`, in the order given', async () => {
    const records = await read('a,b,c\n1,2,3\n', { format: 'csv', columns: ['c', 'a'] });
    expect(records[0]?.fields).toEqual([
      { name: 'c', value: '3' },
      { name: 'a', value: '1' },
    ]);
  });

  it('takes SourceIndex from `indexColumn`, which is not scanned unless listed', async () => {
    const content = 'EventId,msg\nevt-1,x\nevt-2,y\n';
    expect(simple(await read(content, { format: 'csv', indexColumn: 'EventId' }))).toEqual([
      ['evt-1', { msg: 'x' }],
      ['evt-2', { msg: 'y' }],
    ]);
    const listed = await read(content, { format: 'csv', indexColumn: 'EventId', columns: ['EventId'] });
    expect(simple(listed)).toEqual([
      ['evt-1', { EventId: 'evt-1' }],
      ['evt-2', { EventId: 'evt-2' }],
    ]);
  });

  it.each([
    [{ columns: ['src', 'nope'] }, 'nope'],
    [{ indexColumn: 'missing' }, 'missing'],
  ])('an unknown column (%o) is an InputError naming the file and the column', async (options, column) => {
    const path = await file('src,dst\n1,2\n', '.csv');
    const error = await failure(collect(readSourceRecords({ path }, { format: 'csv', ...options })));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.file).toBe(path);
    expect(error.line).toBe(1);
    expect(error.message).toContain(`"${column}"`);
    expect(error.message).toContain('src, dst');
  });

  it.each([
    ['a short row', 3, 'a,b\n1,2\n3\n', 'expected 2 fields as in the header, got 1'],
    ['a long row', 2, 'a,b\n1,2,3\n', 'expected 2 fields as in the header, got 3'],
    ['a short row after a multi-line field', 5, 'a,b\n"x\ny\nz",1\n1,2,3\n', 'got 3'],
    ['a short multi-line row, at its first line', 3, 'a,b\n1,2\n"x\ny"\n', 'got 1'],
    ['a quote inside an unquoted field', 2, 'a,b\n1,x"y\n', 'a quote inside unquoted field 2'],
    ['text after a closing quote', 2, 'a,b\n"x"y,1\n', 'after the closing quote of field 1'],
    ['text after a closing quote on the second line of a record', 3, 'a,b\n"x\ny"z,1\n', 'after the closing quote'],
    ['a quoted field never closed', 3, 'a,b\n1,2\n"open,1\nmore\n', 'not closed before the end of the input'],
    ['a short row in a CRLF file', 3, 'a,b\r\n1,2\r\n3\r\n', 'got 1'],
  ])('%s is an InputError at line %i (strict)', async (_name, line, content, problem) => {
    const path = await file(content, '.csv');
    const error = await failure(collect(readSourceRecords({ path }, { format: 'csv', strictCsv: true })));
    expect(error.code).toBe('BAD_INPUT');
    expect({ file: error.file, line: error.line }).toEqual({ file: path, line });
    expect(error.message).toContain(problem);
    expect(error.message.startsWith(`${path}:${line}: `)).toBe(true);
  });

  it('with skipBadRows, reports bad rows and reads on; later rows keep their numbers', async () => {
    const reported: InputError[] = [];
    const content = 'a,b\n1,2\n3\n4,5\n6,"7\n8"x\n9,10\n';
    const records = await read(content, {
      format: 'csv',
      skipBadRows: true,
      onBadRow: (error) => reported.push(error),
    });
    expect(simple(records)).toEqual([
      ['0', { a: '1', b: '2' }],
      ['2', { a: '4', b: '5' }],
      ['4', { a: '9', b: '10' }],
    ]);
    expect(reported.map((error) => error.line)).toEqual([3, 6]);
  });

  it.each([
    [
      'a short row is padded',
      'a,b\n1,2\n3\n',
      [
        ['0', { a: '1', b: '2' }],
        ['1', { a: '3' }],
      ],
      3,
      'padded',
    ],
    ['a long row keeps its extra field as #3', 'a,b\n1,2,3\n', [['0', { a: '1', b: '2', '#3': '3' }]], 2, 'kept as #3'],
    ['a quote inside an unquoted field is text', 'a,b\n1,x"y\n', [['0', { a: '1', b: 'x"y' }]], 2, 'read as text'],
    ['text after a closing quote joins the field', 'a,b\n"x"y,1\n', [['0', { a: 'xy', b: '1' }]], 2, 'joined'],
    [
      'a quoted field never closed runs to the end of the input',
      'a,b\n1,2\n"open,1\nmore\n',
      [
        ['0', { a: '1', b: '2' }],
        ['1', { a: 'open,1\nmore' }],
      ],
      3,
      'never closed',
    ],
  ] as const)('leniently (Python csv), %s', async (_name, content, records, line, repair) => {
    const repairs: string[] = [];
    const report = newReadReport();
    const got = await read(content, { format: 'csv', report });
    expect(simple(got)).toEqual(records);
    repairs.push(report.firstRepair ?? '');
    expect(report.repaired).toBe(1);
    expect(repairs[0]).toMatch(new RegExp(`:${line}: .*${repair}`));
  });

  it('a malformed header is an error even with skipBadRows', async () => {
    const path = await file('a,"b\n', '.csv');
    const error = await failure(collect(readSourceRecords({ path }, { format: 'csv', skipBadRows: true })));
    expect(error.line).toBe(1);
  });

  it('an empty file and a header alone give no records', async () => {
    expect(await read('', { format: 'csv' })).toEqual([]);
    expect(await read('a,b\n', { format: 'csv' })).toEqual([]);
  });

  it('a quoted field left open past maxRecordBytes is an error', async () => {
    const path = await file(`a,b\n1,"${'x\n'.repeat(100)}`, '.csv');
    const error = await failure(collect(readSourceRecords({ path }, { format: 'csv', maxRecordBytes: 50 })));
    expect(error.line).toBe(2);
  });
});

/** A random CSV with every quoting case, and csv-parse's reading of it. */
function generatedCsv(seed: number): { text: string; expected: string[][] } {
  let state = seed;
  const random = (below: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % below;
  };
  const pieces = [
    'a',
    'b',
    '1.2.3.4',
    'http://x.test/p?q=1',
    ' ',
    ',',
    '"',
    '\n',
    '\r\n',
    'é',
    '日本',
    '😀',
    '=cmd',
    '',
  ];
  const columns = 2 + random(4);
  const newline = random(2) === 0 ? '\n' : '\r\n';
  const lines: string[] = [];
  for (let row = 0; row < 400; row++) {
    const cells: string[] = [];
    for (let column = 0; column < columns; column++) {
      let value = '';
      for (let count = random(5); count > 0; count--) value += pieces[random(pieces.length)];
      const mustQuote = /[",\r\n]/.test(value);
      cells.push(mustQuote || random(4) === 0 ? `"${value.replaceAll('"', '""')}"` : value);
    }
    lines.push(cells.join(','));
    if (random(20) === 0) lines.push('');
  }
  const text = (random(2) === 0 ? '\uFEFF' : '') + lines.join(newline) + (random(2) === 0 ? newline : '');
  const expected = parse(text, { bom: true, skip_empty_lines: true });
  return { text, expected };
}

describe('CSV equivalence with csv-parse', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('generated file %i, from a file and in 7-byte chunks', async (seed) => {
    const { text, expected } = generatedCsv(seed);
    const [rawHeader, ...rows] = expected;
    // Header names as the reader makes them unique (`ip#2`, `#3` for an empty one).
    const header = uniqueHeader(rawHeader ?? []);
    // Duplicate header names would merge in `simple`; the generator's headers may repeat, so compare by position.
    const byPosition = (records: readonly SourceRecord[]): string[][] =>
      records.map((record) => record.fields.map((field) => `${field.name}=${field.value}`));
    const expectedByPosition = rows.map((row) =>
      row.flatMap((value, column) => (value === '' ? [] : [`${header?.[column] ?? ''}=${value}`])),
    );
    for (const strictCsv of [true, false]) {
      const options = { format: 'csv', delimiter: ',', strictCsv } as const;
      const fromFile = await collect(readSourceRecords({ path: await file(text, '.csv') }, options));
      expect(byPosition(fromFile)).toEqual(expectedByPosition);
      expect(fromFile.map((record) => record.sourceIndex)).toEqual(rows.map((_row, index) => String(index)));
      const fromStream = await collect(readSourceRecords({ path: '-', stream: chunked(text, 7) }, options));
      expect(fromStream).toEqual(fromFile);
    }
  });
});

describe('text', () => {
  it('one record per line, CRLF stripped, last line without newline kept, empty lines have no field', async () => {
    const records = await read('first 1.2.3.4\r\n\r\nthird\nlast', { format: 'text' });
    expect(simple(records)).toEqual([
      ['0', { '': 'first 1.2.3.4' }],
      ['1', {}],
      ['2', { '': 'third' }],
      ['3', { '': 'last' }],
    ]);
  });

  it('an input ending in a newline has no empty last record; a BOM is dropped', async () => {
    expect(simple(await read('\uFEFFa\nb\n', { format: 'text' }))).toEqual([
      ['0', { '': 'a' }],
      ['1', { '': 'b' }],
    ]);
  });

  it('reads a 5 MB single line', async () => {
    const line = `${'x'.repeat(5 * 1024 * 1024)} 8.8.8.8`;
    const records = await read(`before\n${line}\nafter\n`, { format: 'text' });
    expect(records.map((record) => record.fields[0]?.value.length)).toEqual([6, line.length, 5]);
    expect(records[1]?.fields[0]?.value.endsWith(' 8.8.8.8')).toBe(true);
  });

  it('splits lines and multi-byte characters across chunk boundaries', async () => {
    const text = 'héllo 日本 😀\nline two\r\n\nend';
    const whole = await collect(readSourceRecords({ path: '-', stream: chunked(text, 1000) }, { format: 'text' }));
    for (const size of [1, 2, 3, 5]) {
      expect(await collect(readSourceRecords({ path: '-', stream: chunked(text, size) }, { format: 'text' }))).toEqual(
        whole,
      );
    }
    expect(whole.map((record) => record.fields[0]?.value ?? '')).toEqual(['héllo 日本 😀', 'line two', '', 'end']);
  });

  it('a line longer than maxRecordBytes is an InputError with its line number', async () => {
    const error = await failure(
      collect(
        readSourceRecords(
          { path: '-', stream: chunked(`ok\n${'y'.repeat(100)}\n`, 10) },
          { format: 'text', maxRecordBytes: 64 },
        ),
      ),
    );
    expect({ file: error.file, line: error.line }).toEqual({ file: '<stdin>', line: 2 });
  });

  it('a line longer than maxRecordBytes within one chunk is an error too', async () => {
    const path = await file(`ok\nok\n${'z'.repeat(100)}\n`);
    const error = await failure(collect(readSourceRecords({ path }, { format: 'text', maxRecordBytes: 64 })));
    expect({ file: error.file, line: error.line }).toEqual({ file: path, line: 3 });
  });

  it('a directory is an InputError naming it', async () => {
    const error = await failure(collect(readSourceRecords({ path: folder }, { format: 'text' })));
    expect(error.file).toBe(folder);
    expect(error.message).toContain('cannot read');
  });

  it('stopping early ends the iteration cleanly', async () => {
    const records = readSourceRecords({ path: await file('a\nb\nc\n') }, { format: 'text' });
    for await (const record of records) {
      expect(record.fields[0]?.value).toBe('a');
      break;
    }
    expect(await records.next()).toEqual({ done: true, value: undefined });
  });

  it('yields batches of records', async () => {
    const lines = Array.from({ length: 30_000 }, (_, index) => `line ${index}`);
    const batches = await collect(readSourceBatches({ path: await file(`${lines.join('\n')}\n`) }, { format: 'text' }));
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flat().map((record) => record.fields[0]?.value)).toEqual(lines);
  });
});

describe('JSON lines', () => {
  const content = [
    '{"src":"1.2.3.4","n":5,"ok":true,"x":null,"nested":{"url":"http://a.test/","list":["b.test",{"h":"c"}]},"empty":""}',
    '',
    '["x.test",["y"]]',
    '"just a string"',
    '42',
    '  ',
    '{"nested":{"url":"http://z.test/"}}',
  ].join('\n');

  it('scans every string, named by dotted path; blank lines are skipped but counted', async () => {
    expect(simple(await read(content, { format: 'jsonl' }))).toEqual([
      ['0', { src: '1.2.3.4', 'nested.url': 'http://a.test/', 'nested.list.0': 'b.test', 'nested.list.1.h': 'c' }],
      ['2', { '0': 'x.test', '1.0': 'y' }],
      ['3', { '': 'just a string' }],
      ['4', {}],
      ['6', { 'nested.url': 'http://z.test/' }],
    ]);
  });

  it('scans only `fields`, including strings below an object path and array indexes', async () => {
    const records = await read(content, {
      format: 'jsonl',
      fields: ['nested.list', 'src', 'nested.list.1.h', 'missing.path'],
    });
    expect(records.map((record) => record.fields)).toEqual([
      [
        { name: 'nested.list.0', value: 'b.test' },
        { name: 'nested.list.1.h', value: 'c' },
        { name: 'src', value: '1.2.3.4' },
        { name: 'nested.list.1.h', value: 'c' },
      ],
      [],
      [],
      [],
      [],
    ]);
  });

  it('takes SourceIndex from `indexColumn` (not scanned); a line without it is a bad row', async () => {
    const input = '{"id":"e1","m":"a"}\n{"id":7,"m":"b"}\n{"m":"c"}\n';
    const reported: InputError[] = [];
    const records = await read(input, {
      format: 'jsonl',
      indexColumn: 'id',
      skipBadRows: true,
      onBadRow: (error) => reported.push(error),
    });
    expect(simple(records)).toEqual([
      ['e1', { m: 'a' }],
      ['7', { m: 'b' }],
    ]);
    expect(reported.map((error) => error.line)).toEqual([3]);
  });

  it('the records before a fatal bad line come out before its error, in JSON lines and CSV alike', async () => {
    for (const [content, format] of [
      ['{"a":"x"}\n{"a":"y"}\n{"a": oops}\n{"a":"z"}\n', 'jsonl'],
      ['a\nx\ny\n"oops\n', 'csv'],
    ] as const) {
      const seen: SourceRecord[] = [];
      const error = await failure(
        (async () => {
          const options = { format, strictCsv: true };
          for await (const record of readSourceRecords({ path: await file(content) }, options)) seen.push(record);
        })(),
      );
      expect(error.line).toBe(format === 'jsonl' ? 3 : 4);
      expect(seen.map((record) => record.fields[0]?.value)).toEqual(['x', 'y']);
    }
  });

  it('a line that is not JSON is an InputError naming its line, or skipped with skipBadRows', async () => {
    const input = '{"a":"x"}\n\n{"a": oops}\n{"a":"y"}\n';
    const path = await file(input, '.jsonl');
    const error = await failure(collect(readSourceRecords({ path }, { format: 'jsonl' })));
    expect({ file: error.file, line: error.line }).toEqual({ file: path, line: 3 });
    expect(error.message).toContain('not valid JSON');
    const reported: InputError[] = [];
    const records = await read(input, { format: 'jsonl', skipBadRows: true, onBadRow: (bad) => reported.push(bad) });
    expect(simple(records)).toEqual([
      ['0', { a: 'x' }],
      ['3', { a: 'y' }],
    ]);
    expect(reported.map((bad) => bad.line)).toEqual([3]);
  });

  it('names and orders strings the same above and below the recursion limit', async () => {
    type Level = { s: string; a: unknown[] };
    let value: Level | string = 'bottom';
    for (let level = 150; level > 0; level--) value = { s: `v${level}`, a: [`x${level}`, 7, null, value, ''] };
    const expected: Array<[string, string]> = [];
    let path = '';
    for (let level = 1; level <= 150; level++) {
      expected.push([`${path}s`, `v${level}`], [`${path}a.0`, `x${level}`]);
      path += 'a.3.';
    }
    expected.push([path.slice(0, -1), 'bottom']);
    const records = await read(`${JSON.stringify(value)}\n`, { format: 'jsonl' });
    expect(records[0]?.fields.map((field) => [field.name, field.value])).toEqual(expected);
  });

  it('handles deep nesting without overflowing the stack', async () => {
    const depth = 100_000;
    const records = await read(`${'['.repeat(depth)}"deep"${']'.repeat(depth)}\n`, { format: 'jsonl' });
    expect(records[0]?.fields[0]?.value).toBe('deep');
  });
});

describe('pre-typed CSV', () => {
  const content = 'Ioc,IocType,EventId,Other\n8.8.8.8,ipv4,e-1,x\n"evil.test",dns,e-2,y\n,unknown_type,e-3,z\n';

  it('yields observable, type and field per row', async () => {
    const records = await collect(
      readTypedRecords({ path: await file(content, '.csv') }, { observableColumn: 'Ioc', typeColumn: 'IocType' }),
    );
    expect(records).toEqual([
      { recordNumber: 0, sourceIndex: '0', observable: '8.8.8.8', type: 'ipv4', field: 'Ioc' },
      { recordNumber: 1, sourceIndex: '1', observable: 'evil.test', type: 'dns', field: 'Ioc' },
      { recordNumber: 2, sourceIndex: '2', observable: '', type: 'unknown_type', field: 'Ioc' },
    ]);
  });

  it('takes SourceIndex from indexColumn', async () => {
    const records = await collect(
      readTypedRecords(
        { path: await file(content, '.csv') },
        { observableColumn: 'Ioc', typeColumn: 'IocType', indexColumn: 'EventId' },
      ),
    );
    expect(records.map((record) => record.sourceIndex)).toEqual(['e-1', 'e-2', 'e-3']);
  });

  it('skips bad rows with skipBadRows', async () => {
    const reported: InputError[] = [];
    const path = await file('Ioc,IocType\n8.8.8.8,ipv4\nbad\nx.test,dns\n', '.csv');
    const options = {
      observableColumn: 'Ioc',
      typeColumn: 'IocType',
      skipBadRows: true,
      onBadRow: (error: InputError) => reported.push(error),
    };
    const records = await collect(readTypedRecords({ path }, options));
    expect(records.map((record) => [record.sourceIndex, record.observable])).toEqual([
      ['0', '8.8.8.8'],
      ['2', 'x.test'],
    ]);
    expect(reported.map((error) => error.line)).toEqual([3]);
  });

  it.each([
    [{ observableColumn: 'Value', typeColumn: 'IocType' }, 'Value'],
    [{ observableColumn: 'Ioc', typeColumn: 'Kind' }, 'Kind'],
    [{ observableColumn: 'Ioc', typeColumn: 'IocType', indexColumn: 'Row' }, 'Row'],
  ])('a missing column (%o) is an InputError', async (options, column) => {
    const path = await file(content, '.csv');
    const error = await failure(collect(readTypedRecords({ path }, options)));
    expect(error.message).toContain(`"${column}"`);
  });
});

describe('stream input', () => {
  it('reads a stdin-like stream; errors name <stdin>', async () => {
    const input: InputSpec = { path: '-', stream: Readable.from(['a,b\n1,', '2\n3\n']) };
    const error = await failure(collect(readSourceRecords(input, { format: 'csv', strictCsv: true })));
    expect({ file: error.file, line: error.line }).toEqual({ file: '<stdin>', line: 3 });
  });

  it('accepts string chunks', async () => {
    const stream = Readable.from(['{"a":"x"}\n{"b":', '"y"}\n'], { objectMode: true });
    expect(simple(await collect(readSourceRecords({ path: 'events.jsonl', stream }, { format: 'jsonl' })))).toEqual([
      ['0', { a: 'x' }],
      ['1', { b: 'y' }],
    ]);
  });
});
