import { describe, expect, it } from 'vitest';
import { cp1252ToUtf8, decodeText, sniffContainer, sniffEncoding, type DecodeOptions } from '../../src/io/decode.js';

/** `bytes` decoded, fed in pieces of `size` bytes; the notices it gave. */
async function decode(
  bytes: Buffer,
  size: number,
  options: DecodeOptions = {},
): Promise<{ text: string; notices: string[] }> {
  const notices: string[] = [];
  // The head is what the input layer peeks (64 KiB, here 16 bytes: enough for any BOM); the rest comes in pieces.
  const head = bytes.subarray(0, 16);
  const rest: Buffer[] = [];
  for (let at = head.length; at < bytes.length; at += size) rest.push(bytes.subarray(at, at + size));
  const iterator = rest[Symbol.iterator]();
  const source: AsyncIterator<Buffer> = {
    next: () => Promise.resolve(iterator.next()),
  };
  const out: Buffer[] = [];
  for await (const chunk of decodeText(head, source, 'in.csv', { ...options, onNotice: (n) => notices.push(n) }))
    out.push(Buffer.from(chunk));
  return { text: Buffer.concat(out).toString('utf8'), notices };
}

describe('decodeText', () => {
  const text = 'Hôte,l’adresse 日本 😀 €\n45.33.32.156,é\n';

  it.each([1, 2, 3, 4, 5, 7, 64])(
    'UTF-8 cut into %i-byte chunks after the head: unchanged, no fallback',
    async (size) => {
      expect(await decode(Buffer.from(text), size)).toEqual({ text, notices: [] });
    },
  );

  it.each([1, 3, 1000])('Windows-1252 (%i-byte chunks): decoded, said once, with the first bad byte', async (size) => {
    const bytes = Buffer.concat([Buffer.from('a'.repeat(2000)), cp1252(text.replace(/[日本😀]/gu, ''))]);
    const { text: got, notices } = await decode(bytes, size);
    expect(got).toBe('a'.repeat(2000) + text.replace(/[日本😀]/gu, ''));
    expect(notices).toEqual([
      'in.csv: not valid UTF-8 (from byte 2001): read as Windows-1252 (--encoding chooses another encoding)',
    ]);
  });

  it('UTF-16LE and BE by BOM, cut anywhere, BOM removed', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(Buffer.from(text, 'utf16le')).swap16()]);
    for (const size of [1, 3, 5]) {
      expect((await decode(le, size)).text).toBe(text);
      expect((await decode(be, size)).text).toBe(text);
    }
  });

  it('a UTF-8 BOM is removed; --encoding latin1 is ISO-8859-1 proper', async () => {
    expect((await decode(Buffer.from(`\ufeff${text}`), 2)).text).toBe(text);
    expect((await decode(Buffer.from([0x92, 0xe9]), 1, { encoding: 'latin1' })).text).toBe('\u0092é');
    expect((await decode(Buffer.from([0x92, 0xe9]), 1, { encoding: 'windows-1252' })).text).toBe('’é');
  });
});

function cp1252(value: string): Buffer {
  const high: Record<string, number> = { '’': 0x92, '€': 0x80 };
  return Buffer.from([...value].map((char) => high[char] ?? (char.codePointAt(0) as number)));
}

describe('sniffing', () => {
  it('containers and encodings by their first bytes', () => {
    expect(sniffContainer(Buffer.from([0x1f, 0x8b, 8]), 'x')).toBe('gzip');
    expect(sniffContainer(Buffer.from('PK\x03\x04', 'latin1'), 'x')).toBe('zip');
    expect(sniffContainer(Buffer.from('ip,host'), 'x')).toBeUndefined();
    expect(() => sniffContainer(Buffer.from('BZh91AY'), 'x.bz2')).toThrow(/bzip2.*bunzip2/);
    expect(sniffEncoding(Buffer.from('a\0b\0', 'latin1'))).toEqual({ encoding: 'utf-16le', bom: 0 });
    expect(sniffEncoding(Buffer.from('\0a\0b', 'latin1'))).toEqual({ encoding: 'utf-16be', bom: 0 });
    expect(sniffEncoding(Buffer.from('ab'))).toEqual({ encoding: 'utf-8', bom: 0 });
    expect(cp1252ToUtf8(Buffer.from([0x80, 0x41]))).toEqual(Buffer.from('€A'));
  });
});
