import { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { safeCell } from '../../src/io/csv-safe.js';
import { createRowWriter, type CellValue, type OutputFormat, type OutputRow } from '../../src/io/writers.js';

/** A stream that keeps what it is given; `delay` defers each write's completion to a later turn of the event loop. */
class Sink extends Writable {
  chunks: string[] = [];
  constructor(options: { highWaterMark?: number; delay?: boolean; fail?: Error } = {}) {
    super({ highWaterMark: options.highWaterMark ?? 16384, decodeStrings: false });
    this.delay = options.delay ?? false;
    this.fail = options.fail;
  }
  private readonly delay: boolean;
  private readonly fail: Error | undefined;
  override _write(chunk: string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.fail !== undefined) {
      callback(this.fail);
      return;
    }
    this.chunks.push(chunk);
    if (this.delay) setImmediate(callback);
    else callback();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

async function written(columns: readonly string[], format: OutputFormat, rows: readonly OutputRow[]): Promise<string> {
  const sink = new Sink();
  const writer = createRowWriter(columns, format, sink);
  for (const row of rows) await writer.write(row);
  await writer.end();
  return sink.text;
}

describe('safeCell', () => {
  it.each([
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(1)', "'@SUM(1)"],
    ['\t=1', "'\t=1"],
    ['\r=1', "'\r=1"],
    ['http://x/=y', 'http://x/=y'],
    ['8.8.8.8', '8.8.8.8'],
    ['a=b', 'a=b'],
    ['', ''],
  ])('%j becomes %j', (value, safe) => {
    expect(safeCell(value)).toBe(safe);
  });
});

describe('CSV writer', () => {
  const columns = ['Observable', 'Count', 'Hit', 'Text'];

  it('writes a header and quotes fields only as needed; booleans as true/false; numbers as numbers', async () => {
    const text = await written(columns, 'csv', [
      { Observable: '8.8.8.8', Count: 3, Hit: true, Text: 'plain' },
      { Observable: 'a,b', Count: -1, Hit: false, Text: 'say "hi"\nnext line\r\n' },
      { Observable: 'only' },
    ]);
    expect(text).toBe(
      'Observable,Count,Hit,Text\n8.8.8.8,3,true,plain\n"a,b",-1,false,"say ""hi""\nnext line\r\n"\nonly,,,\n',
    );
  });

  it('a header only when there is no row', async () => {
    expect(await written(['a', 'b,c'], 'csv', [])).toBe('a,"b,c"\n');
  });

  it.each([
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(1)', "'@SUM(1)"],
    ['\t=1', "'\t=1"],
    ['http://x/=y', 'http://x/=y'],
    [-2, '-2'],
    [-1.5, '-1.5'],
  ] as Array<[CellValue, string]>)('formula injection: %j is written as %s', async (value, cell) => {
    expect(await written(['v'], 'csv', [{ v: value }])).toBe(`v\n${cell}\n`);
  });

  it('matches csv-stringify and reads back with csv-parse, on generated rows', async () => {
    const pieces = ['a', '1.2.3.4', ',', '"', '\n', '\r\n', ' ', 'é', '😀', "'", ''];
    let state = 7;
    const random = (below: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % below;
    };
    const rows = Array.from({ length: 500 }, () => {
      const row: Record<string, string> = {};
      for (const column of columns) {
        let value = '';
        for (let count = random(4); count > 0; count--) value += pieces[random(pieces.length)];
        row[column] = value;
      }
      return row;
    });
    const text = await written(columns, 'csv', rows);
    const safeRows = rows.map((row) =>
      Object.fromEntries(Object.entries(row).map(([key, value]) => [key, safeCell(value)])),
    );
    expect(text).toBe(stringify(safeRows, { header: true, columns }));
    expect(parse(text, { columns: true })).toEqual(safeRows);
  });
});

describe('JSON writers', () => {
  const columns = ['Observable', 'Count', 'Hit'];
  const rows: OutputRow[] = [
    { Hit: true, Observable: '=cmd|calc', Count: -2 },
    { Observable: 'line\nbreak "q"', Count: 0, Hit: false, Extra: 'ignored' },
    { Observable: 'missing' },
  ];
  const expected = [
    { Observable: '=cmd|calc', Count: -2, Hit: true },
    { Observable: 'line\nbreak "q"', Count: 0, Hit: false },
    { Observable: 'missing', Count: '', Hit: '' },
  ];

  it('jsonl: one object per line, keys in column order, values unaltered', async () => {
    const text = await written(columns, 'jsonl', rows);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(expected);
    expect(lines.map((line) => Object.keys(JSON.parse(line) as object))).toEqual(expected.map(() => columns));
  });

  it('jsonl: each line is what JSON.stringify makes of the row, for every kind of value', async () => {
    const values: CellValue[] = [
      'plain',
      'quote " and \\ backslash',
      'tab\tnew\nline\u0001',
      'é 日本 😀',
      '\ud800 lone',
      '',
      0,
      -1.5,
      1e21,
      Number.NaN,
      true,
      false,
    ];
    const text = await written(
      ['v'],
      'jsonl',
      values.map((v) => ({ v })),
    );
    expect(text).toBe(values.map((v) => `${JSON.stringify({ v })}\n`).join(''));
  });

  it('json: one array', async () => {
    expect(JSON.parse(await written(columns, 'json', rows))).toEqual(expected);
    expect(await written(columns, 'json', [])).toBe('[]\n');
  });
});

describe('backpressure and errors', () => {
  it.each(['csv', 'jsonl', 'json'] as const)(
    '%s: waits for a slow stream, and every row arrives in order',
    async (format) => {
      const sink = new Sink({ highWaterMark: 1, delay: true });
      const writer = createRowWriter(['n', 'text'], format, sink);
      let waits = 0;
      const count = 20_000;
      for (let n = 0; n < count; n++) {
        const pending = writer.write({ n, text: 'x'.repeat(20) });
        if (pending !== undefined) {
          waits++;
          await pending;
        }
      }
      await writer.end();
      expect(waits).toBeGreaterThan(0);
      expect(sink.writableNeedDrain).toBe(false);
      const values =
        format === 'csv'
          ? sink.text
              .trimEnd()
              .split('\n')
              .slice(1)
              .map((line) => Number(line.split(',')[0]))
          : format === 'jsonl'
            ? sink.text
                .trimEnd()
                .split('\n')
                .map((line) => (JSON.parse(line) as { n: number }).n)
            : (JSON.parse(sink.text) as Array<{ n: number }>).map((row) => row.n);
      expect(values).toEqual(Array.from({ length: count }, (_, n) => n));
    },
  );

  it('a failing stream makes end() reject with its error', async () => {
    const failure = new Error('disk full');
    const writer = createRowWriter(['a'], 'csv', new Sink({ fail: failure }));
    await writer.write({ a: 'x' });
    await expect(writer.end()).rejects.toBe(failure);
  });

  it('a failing stream makes later writes throw', async () => {
    const failure = new Error('EPIPE');
    const writer = createRowWriter(['a'], 'jsonl', new Sink({ fail: failure, highWaterMark: 1 }));
    const attempt = async (): Promise<void> => {
      for (let n = 0; n < 100_000; n++) await writer.write({ a: 'y'.repeat(100) });
    };
    await expect(attempt()).rejects.toBe(failure);
  });

  it('end() twice is one end; write() after end() throws', async () => {
    const sink = new Sink();
    const writer = createRowWriter(['a'], 'json', sink);
    await writer.write({ a: 1 });
    const first = writer.end();
    expect(writer.end()).toBe(first);
    await first;
    expect(sink.text).toBe('[\n{"a":1}\n]\n');
    expect(() => writer.write({ a: 2 })).toThrow(/after end/);
  });
});
