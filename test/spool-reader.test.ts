// enrich's spool reader (src/spool-reader.ts) reads by hand what JSON.parse would read: every line must come back
// as JSON.parse gives it, whether it takes the hand-read path or falls back, across chunk boundaries, and on the
// spools both extraction engines really write.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../bench/corpus-generator.mjs';
import { extractParallel } from '../src/parallel/parallel-extract.js';
import { newExtractStats } from '../src/extract-stage.js';
import { parseSpoolLine, readSpool, type SpoolLine } from '../src/spool-reader.js';

const folder = mkdtempSync(join(tmpdir(), 'ioc-spool-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function readAll(path: string): Promise<SpoolLine[]> {
  const lines: SpoolLine[] = [];
  for await (const batch of readSpool(path)) lines.push(...batch);
  return lines;
}

function row(overrides: Partial<SpoolLine>): SpoolLine {
  return {
    Observable: 'evil.example',
    IoCType: 'dns',
    Status: 'Valid',
    SourceIndex: '0',
    SourceField: '',
    SourceText: 'evil[.]example',
    Note: '',
    ...overrides,
  };
}

describe('readSpool', () => {
  it('gives every line as JSON.parse does: escapes, non-ASCII, empty and long values, other shapes', async () => {
    // Over many of the reader's 64 KiB chunks.
    const long = `https://evil.example/${'a/'.repeat(300_000)}ü`;
    const rows: unknown[] = [
      row({}),
      row({ SourceText: 'say "hxxp://a[.]b" and C:\\Users\\x', SourceField: 'Command\tLine' }),
      row({ Observable: 'xn--pypl-53dc.com', SourceText: 'pаypаl.com', Note: 'Lookalike' }),
      row({ SourceText: 'münchen-bank.de 😀 пример.рф', SourceIndex: '123456789' }),
      row({ SourceText: 'control \u0001 and \u2028 line separator' }),
      row({ Observable: long, IoCType: 'url', SourceText: long }),
      row({ SourceText: '[redacted]', Observable: '', Status: '', SourceIndex: '' }),
    ];
    let text = rows.map((value) => JSON.stringify(value)).join('\n');
    // Other shapes a reader of JSON must still take: keys in another order, white space, an extra key.
    text += `\n${JSON.stringify({ IoCType: 'ipv4', Observable: '8.8.8.8', Status: 'Valid', SourceIndex: '7', SourceField: '', SourceText: '8.8.8.8', Note: '' })}`;
    text += `\n${JSON.stringify(row({ SourceIndex: '8' }), null, 1).replaceAll('\n', '')}`;
    text += `\n${JSON.stringify({ ...row({ SourceIndex: '9' }), Extra: 'x' })}`;
    // Many short lines, so that lines and multi-byte characters fall across the reader's 64 KiB chunks.
    for (let index = 0; index < 3000; index++) {
      text += `\n${JSON.stringify(row({ SourceIndex: String(index), SourceText: `ü${'x'.repeat(index % 37)}€` }))}`;
    }
    for (const ending of ['\n', '']) {
      const path = join(folder, `spool-${ending.length}.jsonl`);
      writeFileSync(path, text + ending);
      const expected = (text + ending)
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as SpoolLine);
      expect(await readAll(path)).toEqual(expected);
    }
  });

  it('reads the value bytes between the quotes, and hands a line with a backslash to JSON.parse', () => {
    const plain = Buffer.from(JSON.stringify(row({ SourceText: 'a"b' })));
    expect(plain.includes('\\')).toBe(true);
    expect(parseSpoolLine(plain, 0, plain.length, true).SourceText).toBe('a"b');
    const simple = Buffer.from(`xx${JSON.stringify(row({ Observable: 'ü.example' }))}yy`);
    expect(parseSpoolLine(simple, 2, simple.length - 2, false)).toEqual(row({ Observable: 'ü.example' }));
  });

  it('reads back the spools both extraction engines write', async () => {
    const corpus = generateCorpus({ seed: 31, lines: 4000, format: 'text' }).text;
    const input = join(folder, 'input.txt');
    writeFileSync(input, `${corpus}\nsee "hxxp://bücher[.]de/a\\b" and пример.рф\n`);
    for (const nativeEngine of [true, false]) {
      const path = join(folder, `engine-${String(nativeEngine)}.jsonl`);
      const spool = createWriteStream(path);
      await extractParallel({
        input: { path: input },
        output: spool,
        stats: newExtractStats(),
        inputFormat: 'text',
        urlHostsAsDns: false,
        outputFormat: 'jsonl',
        nativeEngine,
      });
      spool.end();
      await once(spool, 'close');
      const expected = readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as SpoolLine);
      expect(expected.length).toBeGreaterThan(5000);
      expect(await readAll(path)).toEqual(expected);
    }
  });
});
