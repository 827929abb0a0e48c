import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RedactingStream, redact, secretForms } from '../src/redact.js';

const KEY = 'f3c1d9e8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9';

async function through(chunks: string[], secrets: string[]): Promise<string> {
  const stream = new RedactingStream(secrets);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  await new Promise<void>((resolve, reject) => {
    Readable.from(chunks.map((chunk) => Buffer.from(chunk)))
      .pipe(stream)
      .on('end', resolve)
      .on('error', reject);
  });
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

  it('a stream with no secret passes bytes through unchanged', async () => {
    const stream = new RedactingStream([]);
    expect(stream.active).toBe(false);
    expect(await through(['a', 'b'], [])).toBe('ab');
  });
});
