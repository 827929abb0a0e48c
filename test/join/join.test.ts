import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IocEnrichError } from '../../src/errors.js';
import { joinResults, type JoinOptions, type JoinStats } from '../../src/join/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-join-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A result row: the enrich columns the join reads (others are irrelevant to it). */
interface Result {
  SourceIndex: string | number;
  Observable: string;
  IoCType?: string;
  Status?: string;
  ResponseCode?: number | '';
  Positives?: number | '';
  Severity?: string;
}

const RESULT_COLUMNS = [
  'Observable',
  'IoCType',
  'Status',
  'ResponseCode',
  'RawResponse',
  'SourceIndex',
  'Positives',
  'Severity',
] as const;

function csvField(value: string | number | undefined): string {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function found(index: string | number, observable: string, positives: number, severity: string): Result {
  return {
    SourceIndex: index,
    Observable: observable,
    IoCType: 'dns',
    Status: 'Success',
    ResponseCode: 1,
    Positives: positives,
    Severity: severity,
  };
}

function writeResults(results: Result[], format: 'csv' | 'jsonl' | 'json' = 'csv'): string {
  const rows = results.map((row) => ({
    Status: 'Success',
    IoCType: 'dns',
    ResponseCode: 1,
    Positives: '',
    Severity: '',
    RawResponse: '',
    ...row,
  }));
  const path = join(dir, `results.${format}`);
  if (format === 'json') writeFileSync(path, JSON.stringify(rows, null, 2));
  else if (format === 'jsonl') writeFileSync(path, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  else {
    const lines = [
      RESULT_COLUMNS.join(','),
      ...rows.map((row) => RESULT_COLUMNS.map((name) => csvField(row[name])).join(',')),
    ];
    writeFileSync(path, `${lines.join('\r\n')}\r\n`);
  }
  return path;
}

async function joined(
  source: string | Buffer,
  name: string,
  results: string,
  options: Partial<JoinOptions> = {},
): Promise<{ text: string; stats: JoinStats }> {
  const sourcePath = join(dir, name);
  writeFileSync(sourcePath, source);
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  const stats = await joinResults({ source: sourcePath, results, output, ...options });
  return { text: Buffer.concat(chunks).toString('utf8'), stats };
}

async function failure(promise: Promise<unknown>): Promise<IocEnrichError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof IocEnrichError) return error;
    throw error;
  }
  throw new Error('expected the join to fail');
}

describe('joinResults on CSV', () => {
  it('keeps the bytes of the source (BOM, CRLF, quoting, multi-line fields, blank lines) and appends the verdicts', async () => {
    const source =
      '\uFEFFtime,"message, quoted header",host\r\n' +
      '2026-01-01,"multi\r\nline ""quoted"" 8.8.8.8",a\r\n' +
      '\r\n' +
      '2026-01-02,no iocs here,"b"\r\n' +
      '2026-01-03,evil.example.com and bad.example.net,c\r\n' +
      '2026-01-04,,"d, e"';
    const results = writeResults([
      found(0, '8.8.8.8', 0, 'information'),
      found(2, 'evil.example.com', 5, 'high'),
      found(2, 'bad.example.net', 1, 'warning'),
      { SourceIndex: 2, Observable: 'unknown.example.org', Status: 'NotFound', ResponseCode: 0 },
    ]);
    const { text, stats } = await joined(source, 'source.csv', results);
    expect(text).toBe(
      '\uFEFFtime,"message, quoted header",host,vt_max_positives,vt_severity,vt_malicious,vt_observables\r\n' +
        '2026-01-01,"multi\r\nline ""quoted"" 8.8.8.8",a,0,information,,1\r\n' +
        '\r\n' +
        '2026-01-02,no iocs here,"b",,,,\r\n' +
        '2026-01-03,evil.example.com and bad.example.net,c,5,high,evil.example.com; bad.example.net,2\r\n' +
        '2026-01-04,,"d, e",,,,',
    );
    expect(stats).toEqual({ sourceRows: 4, matchedRows: 2, resultRows: 4, unmatchedIndexes: 0 });
  });

  it('keeps LF line ends and a final line end', async () => {
    const results = writeResults([found(1, 'x.example.com', 2, 'high')]);
    const { text } = await joined('a,b\n1,2\n3,x.example.com\n', 's.csv', results);
    expect(text).toBe(
      'a,b,vt_max_positives,vt_severity,vt_malicious,vt_observables\n1,2,,,,\n3,x.example.com,2,high,x.example.com,1\n',
    );
  });

  it('gives rows whose observables were all screened out or not found zero observables and no verdict', async () => {
    const results = writeResults([
      { SourceIndex: 0, Observable: '10.0.0.1', IoCType: 'ipv4', Status: 'IP address is not global', ResponseCode: '' },
      { SourceIndex: 0, Observable: 'gone.example.com', Status: 'NotFound', ResponseCode: 0 },
    ]);
    const { text } = await joined('msg\n10.0.0.1 gone.example.com\n', 's.csv', results);
    expect(text.split('\n')[1]).toBe('10.0.0.1 gone.example.com,,,,0');
  });

  it('counts a duplicate observable of a row once, and the worst severity and highest positives win', async () => {
    const results = writeResults([
      found(0, 'a.example.com', 1, 'warning'),
      { ...found(0, 'a.example.com', 1, 'warning'), Status: 'Duplicate' },
      found(0, 'b.example.com', 0, 'information'),
      found(0, 'c.example.com', 7, 'high'),
    ]);
    const { text } = await joined('msg\nx\n', 's.csv', results);
    expect(text.split('\n')[1]).toBe('x,7,high,a.example.com; c.example.com,3');
  });

  it('makes added cells spreadsheet-safe and quotes them when needed', async () => {
    const results = writeResults([
      found(0, '=HYPERLINK("http://evil.example.com")', 3, 'high'),
      found(1, 'http://evil.example.com/a,b', 2, 'high'),
      found(2, '-x.example.com', 2, 'high'),
    ]);
    const { text } = await joined('msg\na\nb\nc\n', 's.csv', results);
    expect(text.split('\n').slice(1, 4)).toEqual([
      `a,3,high,"'=HYPERLINK(""http://evil.example.com"")",1`,
      'b,2,high,"http://evil.example.com/a,b",1',
      "c,2,high,'-x.example.com,1",
    ]);
  });

  it('matches by an index column, including values the results file had to guard', async () => {
    const results = writeResults([
      found('ev-2', 'evil.example.com', 4, 'high'),
      found("'-7", 'bad.example.com', 1, 'warning'),
      found('nope', 'x.example.com', 1, 'warning'),
    ]);
    const { text, stats } = await joined(
      'id,msg\nev-1,quiet\nev-2,evil.example.com\n-7,bad.example.com\n',
      's.csv',
      results,
      {
        indexColumn: 'id',
      },
    );
    expect(text.split('\n').slice(1, 4)).toEqual([
      'ev-1,quiet,,,,',
      'ev-2,evil.example.com,4,high,evil.example.com,1',
      '-7,bad.example.com,1,warning,bad.example.com,1',
    ]);
    expect(stats).toMatchObject({ sourceRows: 3, matchedRows: 2, unmatchedIndexes: 1 });
  });

  it('writes a header-only source with the new column names, and an empty source as empty', async () => {
    const results = writeResults([]);
    expect((await joined('a,b\r\n', 's.csv', results)).text).toBe(
      'a,b,vt_max_positives,vt_severity,vt_malicious,vt_observables\r\n',
    );
    expect((await joined('', 'empty.csv', results)).text).toBe('');
  });

  it('reads a source that is not valid UTF-8 as enrich does (Windows-1252), and writes it as UTF-8', async () => {
    const results = writeResults([found(0, 'evil.example.com', 1, 'warning')]);
    const source = Buffer.concat([
      Buffer.from('msg\n'),
      Buffer.from([0xe9, 0x92, 0x41]),
      Buffer.from(',evil.example.com\n'),
    ]);
    const path = join(dir, 'latin.csv');
    writeFileSync(path, source);
    const out = join(dir, 'out.csv');
    await joinResults({ source: path, results, output: out });
    expect(readFileSync(out, 'utf8')).toBe(
      'msg,vt_max_positives,vt_severity,vt_malicious,vt_observables\né’A,evil.example.com,1,warning,evil.example.com,1\n',
    );
  });

  it('reads a gzip of a semicolon CSV, and adds its cells with semicolons', async () => {
    const results = writeResults([found(0, 'evil.example.com', 1, 'warning')]);
    const path = join(dir, 'europe.csv.gz');
    writeFileSync(path, gzipSync('host;score\nevil.example.com;3,5\n'));
    const out = join(dir, 'out-europe.csv');
    await joinResults({ source: path, results, output: out });
    expect(readFileSync(out, 'utf8')).toBe(
      'host;score;vt_max_positives;vt_severity;vt_malicious;vt_observables\nevil.example.com;3,5;1;warning;evil.example.com;1\n',
    );
  });

  it('quotes an added cell on the source delimiter, not on a comma, with the same cell rule as every CSV output', async () => {
    const results = writeResults([
      found(0, 'a.example.com', 3, 'high'),
      found(0, 'http://b.example.com/x,y', 2, 'high'),
      found(1, '=c.example.com', 1, 'high'),
    ]);
    const { text } = await joined('host;score\nx;1\ny;2\n', 'semicolons.csv', results, { delimiter: ';' });
    expect(text.split('\n').slice(1, 3)).toEqual([
      'x;1;3;high;"a.example.com; http://b.example.com/x,y";2',
      "y;2;1;high;'=c.example.com;1",
    ]);
  });

  it('a quote never closed runs to the end of the source, as enrich reads it: one row', async () => {
    const results = writeResults([found(1, 'evil.example.com', 1, 'warning')]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const path = join(dir, 'open.csv');
    writeFileSync(path, 'a,b\n1,2\n3,"open\n4,5\n');
    const stats = await joinResults({ source: path, results, output: out });
    expect(stats).toMatchObject({ sourceRows: 2, matchedRows: 1 });
    expect(text).toBe(
      'a,b,vt_max_positives,vt_severity,vt_malicious,vt_observables\n1,2,,,,\n3,"open\n4,5\n,1,warning,evil.example.com,1',
    );
  });
});

describe('joinResults reads every results format', () => {
  it.each(['csv', 'jsonl', 'json'] as const)('%s', async (format) => {
    const results = writeResults(
      [
        found(1, 'evil.example.com', 3, 'high'),
        { SourceIndex: 1, Observable: 'bad, "quoted".example.com', Positives: 2, Severity: 'high' },
      ],
      format,
    );
    const { text, stats } = await joined('msg\nnothing\nevil.example.com\n', 's.csv', results);
    expect(text.split('\n')[2]).toBe('evil.example.com,3,high,"evil.example.com; bad, ""quoted"".example.com",2');
    expect(stats.resultRows).toBe(2);
  });
});

describe('joinResults on JSON lines', () => {
  it('adds the keys inside each object and keeps the rest of the line', async () => {
    const source =
      '\uFEFF{"msg": "evil.example.com", "n": 1}  \r\n' +
      '\n' +
      '{}\n' +
      '{"msg":"quiet"}\n' +
      '  {"nested": {"a": [1, 2]}, "msg": "bad.example.net"}';
    const results = writeResults([
      found(0, 'evil.example.com', 5, 'high'),
      found(4, 'bad.example.net', 0, 'information'),
    ]);
    const { text, stats } = await joined(source, 'events.jsonl', results);
    expect(text).toBe(
      '\uFEFF{"msg": "evil.example.com", "n": 1,"vt_max_positives":5,"vt_severity":"high","vt_malicious":"evil.example.com","vt_observables":1}  \r\n' +
        '\n' +
        '{"vt_max_positives":null,"vt_severity":null,"vt_malicious":null,"vt_observables":null}\n' +
        '{"msg":"quiet","vt_max_positives":null,"vt_severity":null,"vt_malicious":null,"vt_observables":null}\n' +
        '  {"nested": {"a": [1, 2]}, "msg": "bad.example.net","vt_max_positives":0,"vt_severity":"information","vt_malicious":null,"vt_observables":1}',
    );
    expect(stats).toEqual({ sourceRows: 4, matchedRows: 2, resultRows: 2, unmatchedIndexes: 0 });
    for (const line of text.split('\n').filter((line) => line.trim() !== ''))
      expect(() => JSON.parse(line.replace('\uFEFF', '')) as unknown).not.toThrow();
  });

  it('matches by a dotted index path; a line without it gets no verdict', async () => {
    const results = writeResults([
      found('e-9', 'evil.example.com', 2, 'high'),
      found(12, 'x.example.com', 1, 'warning'),
    ]);
    const { text } = await joined('{"meta":{"id":"e-9"}}\n{"meta":{"id":12}}\n{"other":1}\n', 'e.ndjson', results, {
      indexColumn: 'meta.id',
    });
    expect(
      text
        .split('\n')
        .map((line) => (line === '' ? null : (JSON.parse(line) as Record<string, unknown>)['vt_max_positives'])),
    ).toEqual([2, 1, null, null]);
  });
});

describe('joinResults failures', () => {
  it.each([
    ['a line that is not JSON', 'source.jsonl', '{"a":1}\n\n{"a":\n', 3, 'not valid JSON'],
    ['a JSON line that is not an object', 'source.jsonl', '{"a":1}\n[1,2]\n', 2, 'expected a JSON object'],
  ])('names file and line for %s', async (_name, file, source, line, problem) => {
    const results = writeResults([]);
    const error = await failure(joined(source, file, results));
    expect(error).toMatchObject({ code: 'BAD_INPUT', file: join(dir, file), line });
    expect(error.message).toContain(problem);
  });

  it('rejects a results file that is not an enrich output', async () => {
    const path = join(dir, 'other.csv');
    writeFileSync(path, 'a,b\n1,2\n');
    const error = await failure(joined('x\n', 's.csv', path));
    expect(error).toMatchObject({ code: 'BAD_INPUT', file: path, line: 1 });
    expect(error.message).toContain('SourceIndex');
  });

  it('rejects an index column the source does not have, listing its columns', async () => {
    const error = await failure(joined('a,b\n1,2\n', 's.csv', writeResults([]), { indexColumn: 'id' }));
    expect(error).toMatchObject({ code: 'BAD_OPTION', option: '--index-col' });
    expect(error.message).toContain('a, b');
  });

  it('reports a missing source', async () => {
    const error = await failure(
      joinResults({ source: join(dir, 'missing.csv'), results: writeResults([]), output: new PassThrough() }),
    );
    expect(error.code).toBe('INPUT_NOT_FOUND');
  });
});

describe('joinResults to a file', () => {
  it('writes the file complete, and leaves nothing behind when the join fails', async () => {
    const results = writeResults([found(0, 'evil.example.com', 1, 'warning')]);
    writeFileSync(join(dir, 'good.csv'), 'msg\nevil.example.com\n');
    writeFileSync(join(dir, 'bad.csv'), 'msg\nevil.example.com\0\n');
    const out = join(dir, 'out.csv');
    await joinResults({ source: join(dir, 'good.csv'), results, output: out });
    const complete = readFileSync(out, 'utf8');
    expect(complete).toBe(
      'msg,vt_max_positives,vt_severity,vt_malicious,vt_observables\nevil.example.com,1,warning,evil.example.com,1\n',
    );

    await expect(joinResults({ source: join(dir, 'bad.csv'), results, output: out })).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    expect(readFileSync(out, 'utf8')).toBe(complete);
    expect(readdirSync(dir).filter((name) => name.includes('.tmp'))).toEqual([]);
    expect(existsSync(out)).toBe(true);
  });
});
