import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RedactingWriter, redact, secretForms } from '../src/redact.js';

const KEY = 'f3c1d9e8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9';

/**
 * A slow destination, as a file is: each chunk is read into `out` later (`later`), so a buffer reused before the
 * destination said it was written would show there as garbled output.
 */
function slowDestination(out: Buffer[], highWaterMark: number, later: (next: () => void) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      later(() => {
        out.push(Buffer.from(chunk));
        callback();
      });
    },
    highWaterMark,
  });
}

/** What a RedactingWriter writes on to its destination, given `chunks` (as buffers, or as strings). */
async function through(chunks: string[], secrets: string[], asStrings = false): Promise<string> {
  const out: Buffer[] = [];
  const destination = slowDestination(out, 16, (next) => setImmediate(next));
  const stream = new RedactingWriter(destination, secrets);
  for (const chunk of chunks) {
    if (!stream.write(asStrings ? chunk : Buffer.from(chunk))) await once(stream, 'drain');
  }
  stream.end();
  await once(destination, 'finish');
  return Buffer.concat(out).toString('utf8');
}

describe('redaction', () => {
  it('replaces a secret as it is and URL-encoded', () => {
    const secret = 'pass word/with+signs';
    expect(redact(`a ${secret} b ${encodeURIComponent(secret)} c`, secret)).toBe('a [redacted] b [redacted] c');
  });

  it('leaves text alone when there is no secret, or one too short to mean anything', () => {
    expect(redact(`x ${KEY}`, undefined)).toBe(`x ${KEY}`);
    expect(redact('a b c', 'a')).toBe('a b c');
    expect(secretForms(['', 'short', undefined])).toEqual([]);
  });

  it.each([1, 2, 7, 63, 64, 65, 200])('a stream finds the key cut across chunks of %i bytes', async (size) => {
    const text = `row1,${KEY}\nrow2,x${KEY}${KEY}y\nrow3,end`;
    const chunks: string[] = [];
    for (let at = 0; at < text.length; at += size) chunks.push(text.slice(at, at + size));
    const out = await through(chunks, [KEY]);
    expect(out).toBe('row1,[redacted]\nrow2,x[redacted][redacted]y\nrow3,end');
  });

  it('a stream finds every secret whatever the chunking: long clean runs, a key at a seam, a key in a chunk', async () => {
    // Two secrets of different lengths (the URL-encoded form of the second is longer than it): the chunks that
    // hold none pass through as they are, the rest are joined and replaced.
    const other = 'proxy pass/word';
    const pieces = ['x'.repeat(500), KEY, 'y'.repeat(300), encodeURIComponent(other), 'z'.repeat(90), other, KEY];
    const text = `${pieces.join(',')}\n`.repeat(5);
    const expected = redact(redact(text, KEY), other);
    expect(expected.split('[redacted]').length - 1).toBe(20);
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 40; round++) {
      const chunks: string[] = [];
      for (let at = 0; at < text.length;) {
        const size = 1 + Math.floor(random() * (round % 2 === 0 ? 80 : 900));
        chunks.push(text.slice(at, at + size));
        at += size;
      }
      expect(await through(chunks, [KEY, other], round % 4 < 2)).toBe(expected);
    }
  });

  it('a stream lets a slow destination hold about 1 MiB unwritten, no more, and loses nothing', async () => {
    const out: Buffer[] = [];
    const destination = slowDestination(out, 64 * 1024 * 1024, (next) => setTimeout(next, 1));
    const stream = new RedactingWriter(destination, [KEY]);
    const chunk = `${'row,'.repeat(25_000)}${KEY}\n`;
    let waited = 0;
    let most = 0;
    for (let i = 0; i < 40; i++) {
      if (!stream.write(chunk)) {
        waited++;
        await once(stream, 'drain');
      }
      most = Math.max(most, destination.writableLength);
    }
    stream.end();
    await once(destination, 'finish');
    expect(Buffer.concat(out).toString()).toBe(redact(chunk, KEY).repeat(40));
    expect(waited).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(1024 * 1024 + chunk.length);
    expect(most).toBeGreaterThan(4 * chunk.length);
  });

  it('a stream with no secret passes bytes through unchanged', async () => {
    expect(await through(['a', 'b'], [])).toBe('ab');
  });
});
