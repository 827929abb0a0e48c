import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvRowBatches } from '../../src/io/csv-records.js';
import { splitLines } from '../../src/io/line-splitter.js';
import { RecordSplitter } from '../../src/join/record-splitter.js';

const CSV =
  '\uFEFFh1,"h,2",h3\r\n' +
  'a,"multi\nline ""x""\r\nfield",c\r\n' +
  '\r\n' +
  '"","",""\n' +
  'plain,"quote at end""",z\n' +
  '"a\n\n\nb",,\n' +
  'x,y,"é ü"\r\n' +
  'last,line,"no end"';

interface Seen {
  content: string;
  lineEnd: string;
  line: number;
}

function split(bytes: Buffer, mode: 'csv' | 'lines', chunkSize: number): Seen[] {
  const splitter = new RecordSplitter('test.csv', mode);
  const seen: Seen[] = [];
  const onRecord = ({
    data,
    start,
    contentEnd,
    end,
    line,
  }: {
    data: Buffer;
    start: number;
    contentEnd: number;
    end: number;
    line: number;
  }): void => {
    seen.push({
      content: data.toString('utf8', start, contentEnd),
      lineEnd: data.toString('utf8', contentEnd, end),
      line,
    });
  };
  for (let at = 0; at < bytes.length; at += chunkSize) {
    // A reused buffer, as the file reader hands out: the splitter must copy what it keeps.
    const chunk = Buffer.from(bytes.subarray(at, at + chunkSize));
    splitter.push(chunk, onRecord);
    chunk.fill(0);
  }
  splitter.end(onRecord);
  return seen;
}

describe('RecordSplitter', () => {
  const bytes = Buffer.from(CSV);
  const whole = split(bytes, 'csv', bytes.length);

  it('splits CSV records at line ends outside quoted fields', () => {
    expect(whole).toEqual([
      { content: '\uFEFFh1,"h,2",h3', lineEnd: '\r\n', line: 0 },
      { content: 'a,"multi\nline ""x""\r\nfield",c', lineEnd: '\r\n', line: 1 },
      { content: '', lineEnd: '\r\n', line: 4 },
      { content: '"","",""', lineEnd: '\n', line: 5 },
      { content: 'plain,"quote at end""",z', lineEnd: '\n', line: 6 },
      { content: '"a\n\n\nb",,', lineEnd: '\n', line: 7 },
      { content: 'x,y,"é ü"', lineEnd: '\r\n', line: 11 },
      { content: 'last,line,"no end"', lineEnd: '', line: 12 },
    ]);
  });

  it.each([1, 2, 3, 5, 7, 16, 64])('gives the same records with %i-byte chunks', (size) => {
    expect(split(bytes, 'csv', size)).toEqual(whole);
  });

  it('numbers data records and lines as the extract reader does', async () => {
    const rows = [];
    for await (const batch of csvRowBatches(splitLines(Readable.from([bytes]), 'test.csv'), { file: 'test.csv' }))
      rows.push(...batch.rows);
    const dataRecords = whole.slice(1).filter((record) => record.content !== '');
    expect(dataRecords.map((record) => record.line)).toEqual(rows.map((row) => row.line));
  });

  it('treats a quote inside an unquoted field as text, so the record still ends at its line end', () => {
    expect(split(Buffer.from('a,5" screen,b\nnext,1,2\n'), 'csv', 4).map((record) => record.content)).toEqual([
      'a,5" screen,b',
      'next,1,2',
    ]);
  });

  it('ignores quotes in lines mode', () => {
    expect(split(Buffer.from('{"a":"\\""}\n{"b":1}'), 'lines', 3).map((record) => record.content)).toEqual([
      '{"a":"\\""}',
      '{"b":1}',
    ]);
  });

  it('a quoted field left open at the end runs to the end of the input (as the lenient reader reads it)', () => {
    expect(split(Buffer.from('h\nok\n"open\nmore\n'), 'csv', 4).map((record) => record.line)).toEqual([0, 1, 2]);
  });
});
