import { describe, expect, it } from 'vitest';
import { OptionError } from '../../src/errors.js';
import { normalizeLookupOptions, type LookupOptions } from '../../src/vt/options.js';
import { errorWith } from '../support/matchers.js';

const KEY = 'secret-key-0123456789';

describe('normalizeLookupOptions', () => {
  it('applies the public tier’s defaults', () => {
    expect(normalizeLookupOptions({ apiKey: KEY })).toMatchObject({
      api: 'v3',
      baseUrl: 'https://www.virustotal.com',
      tier: 'public',
      perMinute: 4,
      perDay: 500,
      perMonth: 15_500,
      concurrency: 1,
      batchSize: 4,
      resolutions: false,
      raw: false,
      maxRetries: 5,
    });
  });

  it('applies the premium tier’s defaults, and explicit values win', () => {
    expect(normalizeLookupOptions({ apiKey: KEY, tier: 'premium' })).toMatchObject({
      perMinute: 1_000,
      perDay: Infinity,
      perMonth: Infinity,
      concurrency: 8,
      batchSize: 25,
    });
    expect(normalizeLookupOptions({ apiKey: KEY, tier: 'premium', perDay: 20_000, concurrency: 32 })).toMatchObject({
      perDay: 20_000,
      concurrency: 32,
    });
  });

  it('caps the v2 batch at the per-minute limit, so a batch can always be sent whole', () => {
    expect(normalizeLookupOptions({ apiKey: KEY, tier: 'premium', perMinute: 10 }).batchSize).toBe(10);
  });

  it('strips a trailing slash from the base URL', () => {
    expect(normalizeLookupOptions({ apiKey: KEY, baseUrl: 'http://127.0.0.1:8080/' }).baseUrl).toBe(
      'http://127.0.0.1:8080',
    );
  });

  it('is idempotent', () => {
    const normalized = normalizeLookupOptions({ apiKey: KEY, tier: 'premium' });
    expect(normalizeLookupOptions(normalized)).toBe(normalized);
  });

  it.each([
    ['api', { api: 'v4' }],
    ['tier', { tier: 'gold' }],
    ['baseUrl', { baseUrl: 'ftp://example.com' }],
    ['baseUrl', { baseUrl: 'not a url' }],
    ['perMinute', { perMinute: 0 }],
    ['perMinute', { perMinute: 2.5 }],
    ['perDay', { perDay: -1 }],
    ['perMonth', { perMonth: Number.NaN }],
    ['concurrency', { concurrency: 0 }],
    ['batchSize', { batchSize: 26 }],
    ['maxRetries', { maxRetries: -1 }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['backoffMaxMs', { backoffBaseMs: 5_000, backoffMaxMs: 1_000 }],
  ])('rejects a bad %s', (option, partial) => {
    const attempt = (): unknown => normalizeLookupOptions({ apiKey: KEY, ...(partial as Partial<LookupOptions>) });
    expect(attempt).toThrow(OptionError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'BAD_OPTION', option });
    }
  });

  it('rejects an empty key without echoing anything secret', () => {
    expect(() => normalizeLookupOptions({ apiKey: '  ' })).toThrow(errorWith({ code: 'BAD_OPTION', option: 'apiKey' }));
  });
});
