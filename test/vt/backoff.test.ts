import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, retryDelay } from '../../src/vt/backoff.js';

const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

describe('backoffDelay (full jitter)', () => {
  it.each([
    [0, 1_000],
    [1, 2_000],
    [3, 8_000],
    [6, 60_000],
    [40, 60_000],
  ])('retry %i stays in [0, %i)', (retry, ceiling) => {
    const options = { baseMs: 1_000, maxMs: 60_000 };
    expect(backoffDelay(retry, { ...options, random: () => 0 })).toBe(0);
    expect(backoffDelay(retry, { ...options, random: () => 0.999_999 })).toBe(Math.floor(0.999_999 * ceiling));
    expect(backoffDelay(retry, { ...options, random: () => 0.5 })).toBe(ceiling / 2);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['0', 0],
    ['7', 7_000],
    ['1.5', 1_500],
    ['999999', 3_600_000],
    [new Date(NOW + 30_000).toUTCString(), 30_000],
    [new Date(NOW - 30_000).toUTCString(), 0],
  ])('%j → %j ms', (header, expected) => {
    expect(parseRetryAfter(header, NOW)).toBe(expected);
  });
});

describe('retryDelay', () => {
  it('never waits less than Retry-After asked for, and keeps the jitter when it is longer', () => {
    const options = { baseMs: 1_000, maxMs: 60_000, random: () => 0.5 };
    expect(retryDelay(0, 5_000, options)).toBe(5_000);
    expect(retryDelay(5, 5_000, options)).toBe(16_000);
    expect(retryDelay(2, undefined, options)).toBe(2_000);
  });
});
