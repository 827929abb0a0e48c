import { describe, expect, it } from 'vitest';
import { observableKey } from '../src/dedup.js';

describe('observableKey', () => {
  it('builds keys as type:value', () => {
    expect(observableKey('url', 'http://a.com/x:y')).toBe('url:http://a.com/x:y');
  });
});
