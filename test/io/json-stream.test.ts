import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { jsonItems, type JsonItem } from '../../src/io/json-stream.js';

/** The records of `text` fed `size` bytes at a time (cutting strings, escapes and UTF-8 characters anywhere). */
async function items(text: string, size: number, maxBytes = 1 << 20): Promise<JsonItem[]> {
  const bytes = Buffer.from(text);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let at = 0; at < bytes.length; at += size) yield await Promise.resolve(bytes.subarray(at, at + size));
  }
  const out: JsonItem[] = [];
  for await (const batch of jsonItems(chunks(), 'x.json', maxBytes)) out.push(...batch);
  return out;
}

describe('jsonItems', () => {
  const tricky = [
    { s: 'a "quoted" ] } [ { , : string \\ with é and 😀', n: [1, [2, { x: ']' }]] },
    'a string element',
    42,
    null,
    { hits: { hits: ['not a response: nested'] } },
  ];

  it.each([1, 2, 3, 7, 1000])('a top-level array in %i-byte chunks: each element, parsed back equal', async (size) => {
    const text = JSON.stringify(tricky, null, 2);
    const got = await items(text, size);
    expect(got.map((item) => JSON.parse(item.text) as unknown)).toEqual(tricky);
    // Lines of each element's start, as an editor counts them (0-based).
    expect(got[0]?.line).toBe(1);
  });

  it('an Elasticsearch response: the hits only; other top-level values as one record each', async () => {
    const response = { took: 1, hits: { total: { value: 2 }, hits: [{ _id: 'a' }, { _id: 'b' }] }, aggregations: {} };
    const text = `${JSON.stringify(response, null, 1)}\n{"lone": "object"}\n[]\n`;
    const got = await items(text, 5);
    expect(got.map((item) => JSON.parse(item.text) as unknown)).toEqual([
      { _id: 'a' },
      { _id: 'b' },
      { lone: 'object' },
    ]);
  });

  it('a document cut short: the records before it, then an error naming the line it opened on', async () => {
    const seen: JsonItem[] = [];
    const error = await (async () => {
      for await (const batch of jsonItems(
        (async function* () {
          yield await Promise.resolve(Buffer.from('\n[{"a":1},\n{"b":"x'));
        })(),
        'cut.json',
        1 << 20,
      ))
        seen.push(...batch);
    })().catch((caught: unknown) => caught);
    expect(seen.map((item) => item.text)).toEqual(['{"a":1}']);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).line).toBe(2);
  });

  it('a record longer than the limit is an error, not memory exhaustion', async () => {
    const text = `[${JSON.stringify({ a: 'x'.repeat(5000) })}]`;
    await expect(items(text, 100, 1000)).rejects.toThrow(/longer than 1000 bytes/);
  });
});
