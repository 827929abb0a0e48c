import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DistinctObservables } from '../src/distinct-observables.js';
import { failedResult } from '../src/normalize.js';
import { ResultStore } from '../src/result-store.js';
import type { LookupResult } from '../src/types.js';

/** A result with every field set, each to something of its own (`n` makes them differ from result to result). */
function fullResult(n: number, extra: Partial<LookupResult> = {}): LookupResult {
  return {
    status: 'Success',
    responseCode: 1,
    resource: `evil-${n}.example.com`,
    verboseMsg: 'Found in VirusTotal',
    scanId: `evil-${n}.example.com-1706508143`,
    permalink: `https://www.virustotal.com/gui/domain/evil-${n}.example.com`,
    positives: n % 70,
    suspicious: 0,
    total: 94,
    md5: `${n}`.padStart(32, 'a'),
    sha1: `${n}`.padStart(40, 'b'),
    sha256: `${n}`.padStart(64, 'c'),
    resolvedDomains: 'a.example, b.example',
    resolvedIps: '1.2.3.4, 5.6.7.8',
    detectedUrls: `https://evil-${n}.example.com/x`,
    reputation: 5 - n,
    lastAnalysisDate: '2024-01-29T06:02:23Z',
    tags: 'peexe, ünïcødé, 日本',
    rawResponse: '{"data":{"id":"x"}}',
    contactedDomains: 'c2.example',
    contactedIps: '9.9.9.9',
    contactedUrls: 'http://c2.example/a',
    communicatingFiles: 'f'.repeat(64),
    submitted: n % 2 === 0,
    cacheHit: n % 3 === 0,
    fetchedAt: '2026-12-03T07:44:21.542Z',
    ...extra,
  };
}

let folder: string;
let store: ResultStore;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'result-store-'));
  store = new ResultStore(join(folder, 'results'));
});
afterEach(() => {
  store.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('ResultStore', () => {
  it('gives back every field of every result as it was set, numbers and booleans included', () => {
    const results = Array.from({ length: 5_000 }, (_, n) => fullResult(n));
    results.forEach((result, n) => store.set(n, result));
    // Read in an order that defeats the memo, then again.
    for (const n of [4_999, 0, 2_500, 1, 4_998, 0]) expect(store.get(n)).toEqual(results[n]);
    for (let n = 0; n < results.length; n++) expect(store.get(n)).toEqual(results[n]);
    // The results are in the file, not held in memory: far more than one write's worth reached it.
    expect(statSync(join(folder, 'results')).size).toBeGreaterThan(1_000_000);
  });

  it("keeps empty cells empty and numbers' types: '' stays '', 0 and negative numbers stay numbers", () => {
    const empty = failedResult('NotSubmitted: no lookup');
    store.set(7, empty);
    store.set(8, fullResult(0, { positives: 0, reputation: -12, responseCode: -2, status: 'Queued' }));
    expect(store.get(7)).toEqual(empty);
    const queued = store.get(8);
    expect(queued?.positives).toBe(0);
    expect(queued?.reputation).toBe(-12);
    expect(queued?.responseCode).toBe(-2);
    expect(queued?.status).toBe('Queued');
  });

  it('reads a result not yet written to the file, and one set again after it was read', () => {
    store.set(0, fullResult(1));
    expect(store.get(0)).toEqual(fullResult(1));
    store.set(0, fullResult(2));
    expect(store.get(0)).toEqual(fullResult(2));
  });

  it('keeps a result whose field holds the separator (NUL) as it is', () => {
    const hostile = fullResult(3, { tags: 'a\u0000b', verboseMsg: '\u0000' });
    store.set(3, hostile);
    store.set(4, fullResult(4));
    expect(store.get(3)).toEqual(hostile);
    expect(store.get(4)).toEqual(fullResult(4));
  });

  it('says which numbers have a result, numbers far apart included', () => {
    store.set(100_000, fullResult(5));
    expect(store.has(100_000)).toBe(true);
    expect(store.has(99_999)).toBe(false);
    expect(store.has(5_000_000)).toBe(false);
    expect(store.get(99_999)).toBeUndefined();
    expect(store.get(100_000)).toEqual(fullResult(5));
  });

  it('holds a 16 MB raw reply', () => {
    const raw = `{"data":"${'x'.repeat(16 * 1024 * 1024)}"}`;
    store.set(0, fullResult(6, { rawResponse: raw }));
    store.set(1, fullResult(7));
    expect(store.get(0)?.rawResponse).toBe(raw);
    expect(store.get(1)).toEqual(fullResult(7));
  });
});

describe('DistinctObservables', () => {
  it('numbers values by first sighting, per type, and makes their observables', () => {
    const distinct = new DistinctObservables();
    distinct.add('dns', 'evil.com');
    distinct.add('url', 'evil.com');
    distinct.add('dns', 'evil.com');
    distinct.add('ipv4', '8.8.8.8');
    expect(distinct.size).toBe(3);
    expect(distinct.number('dns', 'evil.com')).toBe(0);
    expect(distinct.number('url', 'evil.com')).toBe(1);
    expect(distinct.number('ipv4', '8.8.8.8')).toBe(2);
    expect(distinct.number('ipv6', '8.8.8.8')).toBeUndefined();
    expect(distinct.observable(1)).toEqual({ type: 'url', value: 'evil.com', key: 'url:evil.com' });
  });

  it('gives what a map per type gives, over many values, characters above U+00FF and values that differ by one', () => {
    const distinct = new DistinctObservables();
    const oracle = new Map<string, number>();
    const types = ['dns', 'url', 'ipv4', 'sha256_hash'] as const;
    const values: string[] = [];
    for (let index = 0; index < 20_000; index++) {
      values.push(`host-${index}.example.com`, `host-${index}.example.con`, `ü-${index}.de`, `пример-${index}.рф`);
    }
    values.push('', 'a', 'ÿ', '\u0100', 'x'.repeat(5000));
    let count = 0;
    for (const [index, value] of values.entries()) {
      const type = types[index % types.length] as (typeof types)[number];
      for (const again of [value, value.slice(0, -1)]) {
        distinct.add(type, again);
        const key = `${type}\u0000${again}`;
        if (!oracle.has(key)) oracle.set(key, count++);
      }
    }
    expect(distinct.size).toBe(oracle.size);
    for (const [key, number] of oracle) {
      const [type, value] = key.split('\u0000') as [(typeof types)[number], string];
      expect(distinct.number(type, value)).toBe(number);
      expect(distinct.value(number)).toBe(value);
      expect(distinct.type(number)).toBe(type);
    }
    // The same text under another type is another observable, or none.
    expect(distinct.number('ipv6', 'host-0.example.com')).toBeUndefined();
    expect(distinct.number('dns', 'host-0.example.comx')).toBeUndefined();
  });
});
