import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProgressReporter, formatExtractSummary, formatNumber } from '../../src/cli/render.js';
import { newExtractStats } from '../../src/extract-stage.js';
import type { EnrichProgress } from '../../src/pipeline.js';

function progress(done: number, total = 10): EnrichProgress {
  return {
    done,
    total,
    lookedUp: done,
    failed: 0,
    notSubmitted: 0,
    requests: done,
    retries: 0,
    dayUsed: done,
    perDay: 500,
    monthUsed: done,
    perMonth: 15_500,
    perMinute: 4,
    etaMs: ((total - done) / 4) * 60_000,
  };
}

function terminal(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    }),
    { isTTY: true },
  );
  return { stream, text: () => text };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('formatExtractSummary', () => {
  it('lists the 19 most frequent reasons and sums the others on one line, for any number of them', () => {
    const stats = newExtractStats();
    stats.rejected['IP address is not global'] = 500_000;
    // A reason per value, as with file URLs without a host: 250,000 of them (a spread of them overflowed the stack).
    for (let index = 0; index < 250_000; index++)
      stats.rejected[`Could not obtain scheme or host from file:///x${index}`] = 1;
    const reasons =
      formatExtractSummary(stats, { count: 0, first: undefined })
        .split('  rejected by reason:\n')[1]
        ?.trimEnd()
        .split('\n') ?? [];
    expect(reasons).toHaveLength(20);
    expect(reasons[0]).toMatch(/^ {4}IP address is not global +500,000$/);
    expect(reasons[19]).toMatch(/^ {4}\(249,982 other reasons\) +249,982$/);
  });
});

describe('ProgressReporter', () => {
  it('draws a bar with done/needed, quota and ETA, at most every 100 ms, with a trailing redraw after a burst', async () => {
    vi.useFakeTimers();
    const { stream, text } = terminal();
    const reporter = new ProgressReporter(stream, pino({ level: 'silent' }), () => Date.now());
    reporter.update(progress(1));
    reporter.update(progress(2));
    reporter.update(progress(3));
    expect(text()).toContain('1/10 lookups · quota today 1/500 · ETA 3 min');
    expect(text()).not.toContain('3/10');
    await vi.advanceTimersByTimeAsync(150);
    expect(text()).toContain('3/10 lookups');
    expect(text().match(/lookups/g)).toHaveLength(2);
    reporter.update(progress(10));
    expect(text()).toContain('[########################] 10/10');
    reporter.done();
    expect(text().endsWith('\n')).toBe(true);
  });

  it('logs a line every 30 s off a terminal instead of drawing', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const reporter = new ProgressReporter(stream, logger, () => Date.now());
    reporter.update(progress(1));
    reporter.update(progress(2));
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(25_000);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ msg: 'lookup progress', done: 2, total: 10 });
  });
});

describe('formatNumber', () => {
  it("writes every number as Intl.NumberFormat('en-US') does, grouping safe integers itself", () => {
    const intl = new Intl.NumberFormat('en-US');
    const values = [0, -0, 1, -1, 12, 123, 999, 1000, -1000, 1234, 12345, 123456, 1234567, 1e15, -1e15];
    values.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 1e21, 1.5, -2.25, 0.0004, 1234.5678);
    values.push(Number.NaN, Infinity, -Infinity);
    for (let digits = 1; digits <= 16; digits += 1) {
      for (const lead of [1, 5, 9]) values.push(lead * 10 ** (digits - 1) + (digits > 1 ? 7 : 0));
    }
    for (const value of values)
      expect({ value, text: formatNumber(value) }).toEqual({ value, text: intl.format(value) });
  });
});
