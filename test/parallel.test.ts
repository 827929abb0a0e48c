// Extraction in parts (src/parallel, the `extract` command's text and CSV path) must give, byte for byte, what the
// generic pipeline gives: same rows in the same order, same Valid/Duplicate decisions, same counts, same errors
// (file and line) with every row before them written, in the native engine and in the JavaScript one. Inputs are
// cut into small parts (a few KiB) so that a test file spans many parts and every kind of cut (inside quotes,
// after blank lines, at a header copy) happens.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../bench/corpus-generator.mjs';
import { Allowlist } from '../src/allowlist.js';
import { InputError } from '../src/errors.js';
import { LazyFileStream, openAtomicOutput } from '../src/io/atomic-file.js';
import { parseRecord } from '../src/io/csv-records.js';
import { readSourceBatches } from '../src/io/readers.js';
import { createRowWriter } from '../src/io/writers.js';
import { extractParallel } from '../src/parallel/parallel-extract.js';
import { PartSplitter, openFieldAt } from '../src/parallel/splitter.js';
import { BufferPool } from '../src/buffer-pool.js';
import { extractOccurrenceBatches, extractedRow, newExtractStats, type ExtractStats } from '../src/extract-stage.js';
import { RedactingWriter } from '../src/redact.js';
import { EXTRACT_COLUMNS } from '../src/types.js';

const folder = mkdtempSync(join(tmpdir(), 'ioc-parallel-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;
/** `nativeEngine` of each run: the native engine (JavaScript too where it is not built), then JavaScript. */
const ENGINES = [true, false] as const;

function file(content: string | Buffer, extension: string): string {
  const path = join(folder, `input-${files++}${extension}`);
  writeFileSync(path, content);
  return path;
}

/** A stream that keeps what is written: the chunks themselves, so a writer that reuses a written buffer shows. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

interface Options {
  inputFormat: 'csv' | 'text';
  maxRecordBytes?: number;
  outputFormat?: 'csv' | 'jsonl';
  columns?: string[];
  indexColumn?: string;
  allowlist?: string;
  urlHostsAsDns?: boolean;
  strictCsv?: boolean;
}

interface Outcome {
  output: string;
  stats: ExtractStats;
  error: string | undefined;
}

/** The generic pipeline (`extractOccurrences`), as `extract` runs JSON and pre-typed inputs. */
async function sequential(path: string, options: Options): Promise<Outcome> {
  const out = sink();
  const writer = createRowWriter(EXTRACT_COLUMNS, options.outputFormat ?? 'csv', out.stream);
  const stats = newExtractStats();
  let error: string | undefined;
  try {
    const batches = readSourceBatches(
      { path },
      {
        format: options.inputFormat,
        columns: options.columns,
        indexColumn: options.indexColumn,
        maxRecordBytes: options.maxRecordBytes,
        strictCsv: options.strictCsv,
      },
    );
    const allowlist = options.allowlist === undefined ? undefined : Allowlist.parse(options.allowlist, 'allow.txt');
    for await (const occurrences of extractOccurrenceBatches(
      { batches },
      { ...(allowlist === undefined ? {} : { allowlist }), urlHostsAsDns: options.urlHostsAsDns ?? false },
      stats,
    )) {
      for (const occurrence of occurrences) await writer.write(extractedRow(occurrence));
    }
  } catch (caught) {
    error = (caught as Error).message;
  }
  await writer.end();
  return { output: out.text(), stats, error };
}

/** Extraction in parts of `partBytes`, in the native engine or (`nativeEngine: false`) in JavaScript. */
async function inParts(path: string, options: Options, nativeEngine: boolean, partBytes = 4096): Promise<Outcome> {
  const out = sink();
  const stats = newExtractStats();
  let error: string | undefined;
  try {
    await extractParallel({
      input: { path },
      output: out.stream,
      stats,
      partBytes,
      maxRecordBytes: options.maxRecordBytes,
      inputFormat: options.inputFormat,
      columns: options.columns,
      indexColumn: options.indexColumn,
      allowlist: options.allowlist === undefined ? undefined : Allowlist.parse(options.allowlist, 'allow.txt'),
      urlHostsAsDns: options.urlHostsAsDns ?? false,
      outputFormat: options.outputFormat ?? 'csv',
      strictCsv: options.strictCsv,
      nativeEngine,
    });
  } catch (caught) {
    expect(caught).toBeInstanceOf(InputError);
    error = (caught as Error).message;
  }
  return { output: out.text(), stats, error };
}

/** The options of a run over text in parts of 4 KiB, to CSV, with fresh counts. */
function textInParts(nativeEngine: boolean) {
  return {
    stats: newExtractStats(),
    partBytes: 4096,
    inputFormat: 'text',
    urlHostsAsDns: false,
    outputFormat: 'csv',
    nativeEngine,
  } as const;
}

/** How a run ends: 'resolved', its error's message, or 'hung' after 10 s. */
function settled(run: Promise<unknown>): Promise<unknown> {
  return Promise.race([
    run.then(
      () => 'resolved',
      (error: Error) => error.message,
    ),
    new Promise((resolve) => setTimeout(() => resolve('hung'), 10_000)),
  ]);
}

/** CSV with what cutting must respect: quoted fields spanning lines, CRLF, blank lines, a BOM, `""` quotes. */
function trickyCsv(rows: number): string {
  let text = '\uFEFFid,message,"multi\nline header"\r\n\r\n';
  for (let row = 0; row < rows; row++) {
    const ip = `${(row % 200) + 20}.${row % 7}.${row % 250}.${(row * 7) % 250}`;
    if (row % 5 === 0) text += `r${row},"see ""hxxp://evil${row % 13}[.]com/a?x=${row}""\nthen ${ip}",plain\n`;
    else if (row % 5 === 1)
      text += `r${row},"${'a'.repeat(row % 300)} ${ip}\r\n\r\nmore: d41d8cd98f00b204e9800998ecf8427${row % 10}",x\r\n`;
    else if (row % 5 === 2) text += '\n';
    else text += `r${row},host${row % 17}.example.org ${ip},10.0.0.${row % 250}\n`;
  }
  return text;
}

/** `csv` with malformed records mixed in, as real exports have them: every kind the lenient reader repairs. */
function malformedCsv(csv: string): string {
  const bad = [
    'r-stray,he said "hi" to 45.33.32.156,x\n',
    'r-after,"quoted"then text 8.8.4.4,y\n',
    'r-short,only 1.0.0.1\n',
    'r-long,a,b,c 9.9.9.9,d\n',
    'r-mid,x"y"z,"a ""b"" c\nd" 4.2.2.2,e\n',
  ];
  return csv
    .split('\n')
    .map((line, index) => (index > 3 && index % 37 === 0 ? `${bad[index % bad.length] as string}${line}` : line))
    .join('\n');
}

describe('extraction in parts gives what the generic pipeline gives', () => {
  const text = generateCorpus({ seed: 7, lines: 3000, format: 'text' }).text;
  const csv = generateCorpus({ seed: 8, lines: 3000, format: 'csv' }).text;
  const cases: Array<[string, () => string, Options]> = [
    ['text', () => file(text, '.txt'), { inputFormat: 'text' }],
    [
      'text without a last newline, as JSON lines',
      () => file(text.trimEnd(), '.txt'),
      { inputFormat: 'text', outputFormat: 'jsonl' },
    ],
    ['generated CSV', () => file(csv, '.csv'), { inputFormat: 'csv' }],
    [
      'CSV with multi-line quoted fields, CRLF, blank lines and a BOM',
      () => file(trickyCsv(2000), '.csv'),
      { inputFormat: 'csv' },
    ],
    // The first column of a CSV with a BOM: every part's copy of the header must name it without the BOM.
    [
      'CSV with a BOM and --index-col on its first column',
      () => file(trickyCsv(2000), '.csv'),
      { inputFormat: 'csv', indexColumn: 'id' },
    ],
    [
      'CSV with --columns, --index-col, an allowlist and URL hosts as dns',
      () => file(trickyCsv(1500), '.csv'),
      {
        inputFormat: 'csv',
        columns: ['message'],
        indexColumn: 'id',
        allowlist: 'example.org\n20.0.0.0/8\n',
        urlHostsAsDns: true,
        outputFormat: 'jsonl',
      },
    ],
    // The delimiter sniffed when the input is opened reaches every part's reader.
    [
      'semicolon CSV (sniffed), with multi-line quoted fields',
      () => file(trickyCsv(2000).replaceAll(',', ';'), '.csv'),
      { inputFormat: 'csv', indexColumn: 'id' },
    ],
    // Read leniently (the default): the splitter must end records where the lenient reader does.
    [
      'lenient CSV with stray quotes, text after closing quotes, short and long rows',
      () => file(malformedCsv(trickyCsv(1500)), '.csv'),
      { inputFormat: 'csv' },
    ],
    [
      'lenient CSV with a quote that never closes, far into the input',
      () =>
        file(
          `${trickyCsv(1500)}r-open,"never closed 8.8.8.8\n${trickyCsv(50).split('\n').slice(3).join('\n')}`,
          '.csv',
        ),
      { inputFormat: 'csv' },
    ],
  ];
  for (const [name, make, options] of cases) {
    it(name, async () => {
      const path = make();
      const expected = await sequential(path, options);
      expect(expected.error).toBeUndefined();
      expect(expected.stats.occurrences).toBeGreaterThan(1000);
      // Parts of 4 KiB: the input spans dozens of them.
      expect(statSync(path).size).toBeGreaterThan(20 * 4096);
      for (const nativeEngine of ENGINES) {
        const got = await inParts(path, options, nativeEngine);
        expect(got.error).toBeUndefined();
        expect(got.stats).toEqual(expected.stats);
        expect(got.output === expected.output).toBe(true);
      }
    });
  }

  it('into a file, directly or through a redacting writer, row buffers reused: the same bytes as into a collector', async () => {
    // About 600 parts of rows, far more than the writes a file stream has in flight: a row buffer given back
    // before the file has its bytes would be overwritten by a later part's rows, and the file would differ.
    const text = generateCorpus({ seed: 12, lines: 40_000, format: 'text' }).text;
    const path = file(text, '.txt');
    for (const nativeEngine of ENGINES) {
      for (const outputFormat of ['csv', 'jsonl'] as const) {
        const expected = await inParts(path, { inputFormat: 'text', outputFormat }, nativeEngine);
        for (const secrets of [[], ['a-secret-key-that-is-not-there']]) {
          const target = join(folder, `out-${files++}.txt`);
          const fileStream = createWriteStream(target);
          const output = secrets.length === 0 ? fileStream : new RedactingWriter(fileStream, secrets);
          await extractParallel({
            input: { path },
            output,
            stats: newExtractStats(),
            partBytes: 4096,
            inputFormat: 'text',
            urlHostsAsDns: false,
            outputFormat,
            nativeEngine,
          });
          output.end();
          await once(fileStream, 'close');
          expect(readFileSync(target, 'utf8')).toBe(expected.output);
        }
      }
    }
  }, 60_000);

  it('into a pipe opened in place (a device or FIFO output), row buffers reused: the same bytes as into a collector', async () => {
    // The output opened for a FIFO (LazyFileStream) calls a write back once the pipe's write did: its row buffers
    // are reused then. A reader slower than extraction keeps writes in flight, so a buffer given back before the
    // pipe had its bytes would be overwritten by a later part's rows.
    const text = generateCorpus({ seed: 13, lines: 20_000, format: 'text' }).text;
    const path = file(text, '.txt');
    for (const nativeEngine of ENGINES) {
      const expected = await inParts(path, { inputFormat: 'text' }, nativeEngine);
      const fifo = join(folder, `pipe-${files++}`);
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const reader = createReadStream(fifo, { highWaterMark: 4096 });
      const read: Buffer[] = [];
      reader.on('data', (chunk) => {
        read.push(Buffer.from(chunk));
        reader.pause();
        setTimeout(() => reader.resume(), 1);
      });
      const output = openAtomicOutput(fifo);
      expect(output.stream).toBeInstanceOf(LazyFileStream);
      await extractParallel({ input: { path }, output: output.stream, ...textInParts(nativeEngine) });
      await output.commit();
      await once(reader, 'close');
      expect(Buffer.concat(read).toString('utf8') === expected.output).toBe(true);
    }
  }, 60_000);

  it("the output's finished writes are seen part by part: a write starts while the next part is extracted", async () => {
    // A stream whose writes finish in the event loop, as a file's do (the thread pool's completion is seen only
    // when the loop turns). Extraction must let the loop turn after each part: else every part cut from one
    // input chunk (here the whole input) is queued behind the first write before any second write starts.
    const path = file(generateCorpus({ seed: 5, lines: 2_000, format: 'text' }).text, '.txt');
    for (const nativeEngine of ENGINES) {
      let writes = 0;
      let mostQueued = 0;
      const output = new Writable({
        highWaterMark: 1 << 20,
        write(chunk: Buffer, _encoding, done) {
          writes += 1;
          mostQueued = Math.max(mostQueued, this.writableLength - chunk.length);
          setImmediate(done);
        },
      });
      await extractParallel({
        input: { stream: Readable.from([readFileSync(path)]), path },
        output,
        ...textInParts(nativeEngine),
      });
      // Nothing waits behind a write in progress: each part's rows go out after the write before them finished.
      expect(mostQueued).toBe(0);
      expect(writes).toBeGreaterThan(20);
    }
  });

  it('an empty input and a header-only CSV', async () => {
    for (const [content, options] of [
      ['', { inputFormat: 'text' }],
      ['', { inputFormat: 'csv' }],
      ['a,b\n', { inputFormat: 'csv' }],
    ] as const) {
      const path = file(content, '.in');
      const expected = await sequential(path, options);
      for (const nativeEngine of ENGINES) expect(await inParts(path, options, nativeEngine)).toEqual(expected);
    }
  });
});

describe('errors in extraction in parts', () => {
  it('a malformed CSV row far into the input: the same error, and every row before it written', async () => {
    const good = trickyCsv(1200);
    const bad = `${good}r-bad,"unterminated ""quote"" 8.8.8.8,1\nr-after,1.1.1.1,2\n${trickyCsv(300).split('\n').slice(3).join('\n')}`;
    const path = file(bad, '.csv');
    const expected = await sequential(path, { inputFormat: 'csv', strictCsv: true });
    expect(expected.error).toMatch(/input-\d+\.csv:\d+: /);
    // Every row before the bad one comes out: the same as the input cut there.
    const before = await sequential(file(good, '.csv'), { inputFormat: 'csv', strictCsv: true });
    expect(expected.output).toBe(before.output);
    expect(expected.stats).toEqual(before.stats);
    for (const nativeEngine of ENGINES) {
      const got = await inParts(path, { inputFormat: 'csv', strictCsv: true }, nativeEngine);
      expect(got.error).toBe(expected.error);
      expect(got.output).toBe(before.output);
      expect(got.stats).toEqual(before.stats);
    }
  });

  it("a stray quote before many well-formed quoted fields: the reader's error, not an unclosed quoted field", async () => {
    // The quote count after the stray quote stays even on each later line, so counting quotes alone would take
    // every later newline as inside a field and fail at the length limit with the wrong message.
    const good = trickyCsv(600);
    const after = Array.from({ length: 3000 }, (_, row) => `r${row},"quoted ${row} 10.1.${row % 250}.9",plain\n`).join(
      '',
    );
    const path = file(`${good}r-stray,he said "hi 8.8.8.8,x\n${after}`, '.csv');
    const options: Options = { inputFormat: 'csv', maxRecordBytes: 20_000, strictCsv: true };
    const expected = await sequential(path, options);
    expect(expected.error).toMatch(/: a quote inside unquoted field 2/);
    const before = await sequential(file(good, '.csv'), options);
    expect(statSync(path).size - Buffer.byteLength(good)).toBeGreaterThan(2 * 20_000);
    for (const nativeEngine of ENGINES) {
      const got = await inParts(path, options, nativeEngine);
      expect(got.error).toBe(expected.error);
      expect(got.output).toBe(before.output);
    }
  });

  it('a wrong field count names the line, counted over multi-line records and blank lines', async () => {
    const good = trickyCsv(800);
    const path = file(`${good}r-x,1.2.3.4\n`, '.csv');
    const expected = await sequential(path, { inputFormat: 'csv', strictCsv: true });
    const lines = good.split('\n').length;
    expect(expected.error).toContain(`:${lines}: expected 3 fields as in the header, got 2`);
    for (const nativeEngine of ENGINES)
      expect((await inParts(path, { inputFormat: 'csv', strictCsv: true }, nativeEngine)).error).toBe(expected.error);
  });

  it('a line over the length limit: the same error, and every line before it written', async () => {
    const before = Array.from(
      { length: 20_000 },
      (_, line) => `${line} to 8.8.${line % 200}.${line % 250} and evil${line % 50}[.]com`,
    ).join('\n');
    const path = file(`${before}\n${'x'.repeat(300_000)} 1.1.1.1\nafter 9.9.9.9\n`, '.txt');
    const options: Options = { inputFormat: 'text', maxRecordBytes: 100_000 };
    const expected = await sequential(path, options);
    expect(expected.error).toMatch(/:20001: line is longer than 100000 bytes$/);
    expect(expected.stats.records).toBe(20_000);
    for (const nativeEngine of ENGINES) {
      const got = await inParts(path, options, nativeEngine, 64 * 1024);
      expect(got).toEqual(expected);
    }
  });

  it('the records between the last part and an over-long line are written, and an error in them wins', async () => {
    const cases: Array<[string, Options]> = [
      [`a 1.1.1.1\nb 2.2.2.2\n${'x'.repeat(60)}`, { inputFormat: 'text', maxRecordBytes: 40 }],
      [`h\n3.3.3.3\n1.1.1.1,2\n${'x'.repeat(60)}`, { inputFormat: 'csv', maxRecordBytes: 40 }],
    ];
    for (const [content, options] of cases) {
      const path = file(content, '.in');
      const expected = await sequential(path, options);
      expect(expected.error).toBeDefined();
      for (const nativeEngine of ENGINES) expect(await inParts(path, options, nativeEngine, 50)).toEqual(expected);
    }
    expect(
      (await sequential(file(cases[0]?.[0] ?? '', '.in'), { inputFormat: 'text', maxRecordBytes: 40 })).stats.records,
    ).toBe(2);
  });

  it('a failing output stream ends the run with its error (no hang, no uncaught exception)', async () => {
    const text = Buffer.from(generateCorpus({ seed: 9, lines: 3000, format: 'text' }).text);
    for (const nativeEngine of ENGINES) {
      let writes = 0;
      // The write fails later, and the stream never asks to wait (a huge high-water mark): its 'error' event comes
      // while nothing awaits it. No 'error' listener either, as a careless caller would have: the error must
      // still come as the run's rejection, not as an uncaught exception.
      const stream = new Writable({
        highWaterMark: 1 << 30,
        write(_chunk, _encoding, done) {
          writes++;
          const failure = writes >= 3 ? new Error('disk full') : undefined;
          setImmediate(() => done(failure));
        },
      });
      // The input comes slowly, 4 KiB at a time, as from a pipe: the run is still reading when the stream fails.
      const chunks = async function* (): AsyncGenerator<Buffer> {
        for (let at = 0; at < text.length; at += 4096) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          yield text.subarray(at, at + 4096);
        }
      };
      const run = extractParallel({
        input: { path: 'slow.txt' },
        member: {
          name: 'slow.txt',
          member: undefined,
          format: 'text',
          delimiter: ',',
          container: undefined,
          chunks: chunks(),
        },
        output: stream,
        ...textInParts(nativeEngine),
      });
      expect(await settled(run)).toBe('disk full');
    }
  });

  it('a missing column in --columns is the reader error, and no row is written', async () => {
    const path = file(trickyCsv(50), '.csv');
    for (const nativeEngine of ENGINES) {
      const got = await inParts(path, { inputFormat: 'csv', columns: ['nope'] }, nativeEngine);
      expect(got.error).toMatch(/no column "nope" in the header/);
      expect(got.stats.records).toBe(0);
      expect(got.output).toBe('');
    }
  });
});

describe('openFieldAt', () => {
  // Random records of quotes, commas, CR, LF and letters: the splitter must see a record as still open exactly
  // when the reader's parser does, also when it resumes where it stood at an earlier line end.
  it('says open exactly when parseRecord does, whole or resumed line by line', () => {
    let seed = 42;
    const random = (below: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      // The high bits: an LCG's low bits repeat with a short period.
      return (seed >>> 16) % below;
    };
    const alphabet = ['"', '"', ',', 'a', 'b', '\r', '\n', '""'];
    for (let round = 0; round < 20_000; round++) {
      let text = '';
      const length = 1 + random(14);
      for (let index = 0; index < length; index++) text += alphabet[random(alphabet.length)];
      const bytes = Buffer.from(text);
      // Whole: the record is the text itself.
      expect(openFieldAt(bytes, 0, bytes.length) >= 0, JSON.stringify(text)).toBe(parseRecord(text).kind === 'open');
      // Line by line, as the reader goes (csvRowBatches parses a record's text again only at a line that has
      // quotes, or an odd number of them once the record is pending): the splitter resumes where it stood, and
      // must come to what parseRecord says of the whole text so far.
      let open = -1;
      let lineStart = 0;
      for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', newline + 1)) {
        const quotes = text.slice(lineStart, newline).split('"').length - 1;
        lineStart = newline + 1;
        if (open >= 0 ? quotes % 2 === 0 : quotes === 0) {
          if (open < 0) break; // a line without quotes: the record ends here
          continue; // still pending: the reader does not parse
        }
        open = openFieldAt(bytes, 0, newline, open);
        expect(open >= 0, JSON.stringify(text.slice(0, newline))).toBe(
          parseRecord(text.slice(0, newline)).kind === 'open',
        );
        if (open < 0) break;
      }
    }
  });
});

describe('PartSplitter', () => {
  function split(content: string, format: 'csv' | 'text', partBytes: number, maxRecordBytes?: number) {
    const splitter = new PartSplitter(format, 'in', new BufferPool(partBytes, 16), maxRecordBytes, partBytes);
    const parts = [];
    const bytes = Buffer.from(content);
    for (let at = 0; at < bytes.length; at += 1000) parts.push(...splitter.push(bytes.subarray(at, at + 1000)));
    if (splitter.failure !== undefined) throw splitter.failure;
    const last = splitter.end();
    if (last !== undefined) parts.push(last);
    return parts.map((part) => ({ ...part, text: part.bytes.toString('utf8') }));
  }

  it("an open quoted field exactly at the limit passes, one character more fails: the reader's count", async () => {
    // The reader counts a pending record as its lines and the newlines between them: 409 + 1 + 400 = 810 at the
    // second line (the third closes the field). The first 1,000-byte chunk ends inside the third line, so the
    // splitter checks while the field is open.
    const content = `h,x\n1.1.1.1,"${'a'.repeat(400)}\n${'b'.repeat(400)}\n${'c'.repeat(400)}"\n2.2.2.2,y\n`;
    const path = file(content, '.csv');
    expect((await sequential(path, { inputFormat: 'csv', maxRecordBytes: 810 })).error).toBeUndefined();
    expect(() => split(content, 'csv', 16, 810)).not.toThrow();
    expect((await sequential(path, { inputFormat: 'csv', maxRecordBytes: 809 })).error).toMatch(
      /:2: quoted field not closed within 809 bytes$/,
    );
    expect(() => split(content, 'csv', 16, 809)).toThrow(/in:2: quoted field not closed within 809 bytes$/);
  });

  it('an open quoted field in the header: the limit counts from after a BOM, as the reader does', async () => {
    for (const bom of ['', '\uFEFF']) {
      // The reader's count at the header's second line: 402 + 1 + 400 = 803, BOM or not.
      const content = `${bom}"h${'a'.repeat(400)}\n${'b'.repeat(400)}\n${'c'.repeat(300)}",x\n1.1.1.1,y\n`;
      const path = file(content, '.csv');
      for (const limit of [802, 803]) {
        const reader = await sequential(path, { inputFormat: 'csv', maxRecordBytes: limit });
        expect(reader.error === undefined, `${JSON.stringify(bom)} ${limit}`).toBe(limit === 803);
        if (limit === 803) expect(() => split(content, 'csv', 16, limit)).not.toThrow();
        else expect(() => split(content, 'csv', 16, limit)).toThrow(/in:1: quoted field not closed within 802 bytes$/);
      }
    }
  });

  it('the open-field limit counts UTF-8 bytes in the splitter and the reader alike', async () => {
    // 150 `€` are 150 characters but 450 bytes: at the second line the record is 459 + 1 + 450 = 910 bytes (310
    // characters), every line under 700 bytes; the first 1,000-byte chunk ends inside the third line.
    const content = `h,x\n1.1.1.1,"${'€'.repeat(150)}\n${'€'.repeat(150)}\n${'c'.repeat(200)}"\n2.2.2.2,y\n`;
    const path = file(content, '.csv');
    const expected = await sequential(path, { inputFormat: 'csv', maxRecordBytes: 700 });
    expect(expected.error).toMatch(/:2: quoted field not closed within 700 bytes$/);
    expect(() => split(content, 'csv', 16, 700)).toThrow(/in:2: quoted field not closed within 700 bytes$/);
    expect((await sequential(path, { inputFormat: 'csv', maxRecordBytes: 910 })).error).toBeUndefined();
    expect(() => split(content, 'csv', 16, 910)).not.toThrow();
  });

  it('text parts are whole lines that join back to the input, numbered from their first line', () => {
    const content = Array.from({ length: 5000 }, (_, line) => `line ${line} ${'x'.repeat(line % 90)}`).join('\n');
    const parts = split(content, 'text', 4096);
    expect(parts.length).toBeGreaterThan(10);
    expect(parts.map((part) => part.text).join('')).toBe(content);
    for (const part of parts) {
      expect(part.text.startsWith(`line ${part.startLine} `)).toBe(true);
      if (part !== parts.at(-1)) expect(part.text.endsWith('\n')).toBe(true);
    }
  });

  it('CSV parts end outside quotes, start with the header, and know their first record and line', () => {
    const content = trickyCsv(3000);
    const parts = split(content, 'csv', 4096);
    expect(parts.length).toBeGreaterThan(10);
    // The header record (blank lines after it are data's: they are not records), copied without the BOM.
    const header = 'id,message,"multi\nline header"\r\n';
    expect(parts[0]?.text.startsWith(`\uFEFF${header}`)).toBe(true);
    let joined = parts[0]?.text.slice(1) ?? '';
    for (const part of parts.slice(1)) {
      expect(part.text.startsWith(header)).toBe(true);
      joined += part.text.slice(header.length);
      // The first record of the part is the record the numbers say.
      const body = part.text.slice(header.length);
      const firstId = /^r(\d+),/.exec(body.replace(/^(\r?\n)+/, ''))?.[1];
      const linesBefore = content.slice(1, joined.length + 1 - body.length).split('\n').length - 1;
      expect(part.startLine + header.split('\n').length - 1).toBe(linesBefore);
      // Rows are numbered without the blank ones: r<n> with n % 5 == 2 are blank lines.
      if (firstId !== undefined) {
        const n = Number(firstId);
        expect(part.startRecord).toBe(n - Math.floor((n + 2) / 5));
      }
    }
    expect(joined).toBe(content.slice(1));
  });

  it('a line longer than the limit is an error naming it', () => {
    const content = `short\n${'y'.repeat(50_000)}\nafter\n`;
    expect(() => split(content, 'text', 4096, 20_000)).toThrow('in:2: line is longer than 20000 bytes');
    // As the reader: a physical line over the limit, even inside quotes, is a long line; a quoted field open over
    // more than the limit, in short lines, is an unclosed field (named by the line it starts on).
    expect(() => split(`a,b\n1,"open${'z'.repeat(50_000)}\n`, 'csv', 4096, 20_000)).toThrow(
      'in:2: line is longer than 20000 bytes',
    );
    const short = `${'z'.repeat(15_000)}\n`;
    expect(() => split(`a,b\n1,"open\n${short}${short}${short}`, 'csv', 4096, 20_000)).toThrow(
      'in:2: quoted field not closed within 20000 bytes',
    );
    // A closed multi-line record longer than the limit in all, but with short lines, is no error (the reader
    // checks lines, and quoted fields while open): here the input ends with it, unterminated.
    const record = `1,"${'z'.repeat(1500)}\n${'z'.repeat(1500)}",y`;
    const parts = split(`a,b\n${'2,3\n'.repeat(3000)}${record}`, 'csv', 4096, 2000);
    expect(parts.at(-1)?.text.endsWith(record)).toBe(true);
  });
});
