import { describe, expect, it } from 'vitest';
import { parseReply, parseStoredReply, replyJsonText } from '../../src/vt/lean-json.js';

const RESULTS = {
  Bkav: { category: 'undetected', engine_name: 'Bkav', result: null, method: 'blacklist' },
  'Quote "q" {brace}': { category: 'malicious', engine_name: 'x\\"}', result: 'Trojan.{Gen}', method: 'blacklist' },
};

function body(attributes: Record<string, unknown>, space?: number): string {
  return JSON.stringify({ data: { type: 'domain', id: 'example.com', attributes } }, null, space);
}

function attributesOf(json: unknown): Record<string, unknown> {
  return (json as { data: { attributes: Record<string, unknown> } }).data.attributes;
}

describe('parseReply', () => {
  it.each([
    ['results last', body({ reputation: 3, last_analysis_stats: { malicious: 1 }, last_analysis_results: RESULTS })],
    ['results first', body({ last_analysis_results: RESULTS, reputation: 3, tags: ['a'] })],
    ['results in the middle', body({ reputation: 3, last_analysis_results: RESULTS, whois: 'x' })],
    ['results alone', body({ last_analysis_results: RESULTS })],
    [
      'the name inside a string before it',
      body({ whois: 'say "last_analysis_results": {}', last_analysis_results: RESULTS }),
    ],
    ['pretty-printed', body({ reputation: 3, last_analysis_results: RESULTS, whois: 'x' }, 2)],
  ])('reads a v3 object without its engine results, and serialises it whole (%s)', (_name, text) => {
    const lean = parseReply(text);
    const full = JSON.parse(text) as unknown;
    expect(attributesOf(lean)).not.toHaveProperty('last_analysis_results');
    const { last_analysis_results: _results, ...others } = attributesOf(full);
    expect(attributesOf(lean)).toEqual(others);
    expect(JSON.stringify(lean)).toBe(JSON.stringify(full));
  });

  it.each([
    ['no results', body({ reputation: 3, last_analysis_stats: { malicious: 1 } })],
    ['results deeper than two levels', body({ last_analysis_results: { a: { b: { c: 1 } } }, reputation: 1 })],
    [
      'a nested member of that name first',
      body({ extra: { last_analysis_results: {} }, last_analysis_results: RESULTS }),
    ],
    [
      'a resolutions page',
      JSON.stringify({ data: [{ type: 'resolution', id: 'x', attributes: { date: 1 } }], meta: { count: 1 } }),
    ],
    ['an array', '[1,2]'],
  ])('parses anything else in full (%s)', (_name, text) => {
    expect(parseReply(text)).toEqual(JSON.parse(text));
  });

  it.each([['{"data":'], ['{"data":{"attributes":{"last_analysis_results":{}}}'], ['']])(
    'throws on broken JSON: %j',
    (text) => {
      expect(() => parseReply(text)).toThrow(SyntaxError);
    },
  );

  it('serialises the lean reading when the cut part turns out not to be JSON', () => {
    const text = '{"data":{"id":"x","attributes":{"reputation":1,"last_analysis_results":{"a":{"b" : nope}}}}}';
    const lean = parseReply(text);
    expect(attributesOf(lean)).toEqual({ reputation: 1 });
    expect(JSON.parse(JSON.stringify(lean))).toEqual({ data: { id: 'x', attributes: { reputation: 1 } } });
  });
});

describe('replyJsonText and parseStoredReply (how the cache keeps a reply)', () => {
  const pretty = body({ reputation: 3, last_analysis_results: RESULTS, whois: 'x' }, 2);

  it('keeps a lean reply as the very text it was parsed from, which reads back as the same reply', () => {
    const lean = parseReply(pretty);
    expect(replyJsonText(lean)).toBe(pretty);
    expect(parseStoredReply(replyJsonText(lean))).toEqual(JSON.parse(pretty));
    expect(attributesOf(parseReply(replyJsonText(lean)))).toEqual(attributesOf(lean));
  });

  it('serialises anything else', () => {
    const plain = { data: { attributes: { reputation: 1 } } };
    expect(replyJsonText(plain)).toBe(JSON.stringify(plain));
    const page = JSON.stringify({ data: [{ type: 'resolution', id: 'x' }] });
    expect(replyJsonText(parseReply(page))).toBe(page);
    expect(replyJsonText(null)).toBe('null');
  });

  it('serialises again a text holding a \\u escape, so that no escaped character hides a secret from redaction', () => {
    const text = '{"data":{"attributes":{"whois":"key \\u0061bcdefgh","last_analysis_results":{"a":{"b":"c"}}}}}';
    const lean = parseReply(text);
    expect(replyJsonText(lean)).not.toBe(text);
    expect(replyJsonText(lean)).toContain('key abcdefgh');
    expect(JSON.parse(replyJsonText(lean))).toEqual(JSON.parse(text));
  });

  it('reads a kept text whose engine results are not JSON as its lean reading, as it was read when fetched', () => {
    const text = '{"data":{"id":"x","attributes":{"reputation":1,"last_analysis_results":{"a":{"b" : nope}}}}}';
    expect(replyJsonText(parseReply(text))).toBe(text);
    expect(parseStoredReply(text)).toEqual({ data: { id: 'x', attributes: { reputation: 1 } } });
    expect(() => parseStoredReply('{"data":')).toThrow(SyntaxError);
  });
});
