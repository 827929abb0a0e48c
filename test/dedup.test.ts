import { describe, expect, it } from 'vitest';
import { Deduper, observableKey } from '../src/dedup.js';

describe('Deduper', () => {
  it('marks only the first sighting of each type and value as first', () => {
    const deduper = new Deduper();
    expect(deduper.observe('ipv4', '8.8.8.8')).toEqual({ key: 'ipv4:8.8.8.8', first: true });
    expect(deduper.observe('ipv4', '8.8.8.8')).toEqual({ key: 'ipv4:8.8.8.8', first: false });
    expect(deduper.observe('dns', 'evil.com')).toEqual({ key: 'dns:evil.com', first: true });
    expect(deduper.size).toBe(2);
  });

  it('keeps the same value under different types apart', () => {
    const deduper = new Deduper();
    const hash = 'd41d8cd98f00b204e9800998ecf8427e';
    expect(deduper.observe('md5_hash', hash).first).toBe(true);
    expect(deduper.observe('sha1_hash', hash).first).toBe(true);
    expect(deduper.size).toBe(2);
  });

  it('grows with distinct observables only', () => {
    const deduper = new Deduper();
    for (let round = 0; round < 100; round += 1) {
      for (let host = 0; host < 10; host += 1) deduper.observe('dns', `h${host}.evil.com`);
    }
    expect(deduper.size).toBe(10);
  });

  it('builds keys as type:value', () => {
    expect(observableKey('url', 'http://a.com/x:y')).toBe('url:http://a.com/x:y');
  });
});
