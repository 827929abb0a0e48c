import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { ApiError } from '../src/errors.js';
import { extractOccurrences, newExtractStats } from '../src/extract-stage.js';
import { enrich, type EnrichSummary } from '../src/pipeline.js';
import type { LookupOptions } from '../src/vt/lookup-stage.js';
import type { EnrichedRow, SourceRecord, TypedRecord } from '../src/types.js';
import { virtualClock, type VirtualClock } from './support/virtual-clock.js';

function text(lines: string[]): SourceRecord[] {
  return lines.map((line, index) => ({
    recordNumber: index,
    sourceIndex: String(index),
    fields: [{ name: '', value: line }],
  }));
}

function typed(values: Array<[string, string]>): TypedRecord[] {
  return values.map(([observable, type], index) => ({
    recordNumber: index,
    sourceIndex: String(index),
    observable,
    type,
    field: 'Observable',
  }));
}

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function run(
  records: Array<SourceRecord | TypedRecord>,
  lookup: Partial<LookupOptions>,
  clock: VirtualClock,
): Promise<{ rows: EnrichedRow[]; summary: EnrichSummary }> {
  const rows: EnrichedRow[] = [];
  const summary = await enrich(
    records,
    { lookup: { baseUrl: emulator?.url ?? '', apiKey: 'test-key', tier: 'public', clock, ...lookup } },
    (row) => {
      rows.push(row);
    },
  );
  return { rows, summary };
}

function accountingHolds(summary: EnrichSummary): boolean {
  return (
    summary.occurrences ===
    summary.rejected +
      summary.allowlisted +
      summary.duplicates +
      summary.lookedUp +
      summary.notSubmitted +
      summary.failed
  );
}

describe('extractOccurrences', () => {
  it('marks refanged and padded repeats of one observable as duplicates, in input order', async () => {
    const stats = newExtractStats();
    const occurrences = [];
    for await (const occurrence of extractOccurrences(
      text(['from 8.8.8.8 to 10.1.2.3', 'again 8[.]8[.]8[.]8', 'evil[.]com and evil.com']),
      {},
      stats,
    )) {
      occurrences.push(occurrence);
    }
    expect(occurrences.map((o) => [o.sourceIndex, o.observable, o.status])).toEqual([
      ['0', '8.8.8.8', 'Valid'],
      ['0', '10.1.2.3', 'IP address is not global'],
      ['1', '8.8.8.8', 'Duplicate'],
      ['2', 'evil.com', 'Valid'],
      ['2', 'evil.com', 'Duplicate'],
    ]);
    expect(stats).toMatchObject({ records: 3, occurrences: 5, valid: 2, duplicates: 2 });
    expect(stats.rejected).toEqual({ 'IP address is not global': 1 });
  });

  it('gives exactly one occurrence per pre-typed record, whatever its type', async () => {
    const occurrences = [];
    for await (const occurrence of extractOccurrences(
      typed([
        [' 8.8.8.8', 'ipv4'],
        ['x', 'email'],
        ['8.8.8.8', 'ipv4'],
      ]),
    )) {
      occurrences.push(occurrence);
    }
    expect(occurrences).toHaveLength(3);
    expect(occurrences[0]?.status).toBe('Valid');
    expect(occurrences[1]?.status).not.toBe('Valid');
    expect(occurrences[2]?.status).toBe('Duplicate');
  });
});

describe('enrich against the emulator (v3)', () => {
  it('writes one row per occurrence in input order, duplicates carrying the first result', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    const records = text([
      'deny 45.77.12.9 -> 10.0.0.5 via 185.220.101.4',
      'dns query malware-c2.example.com from 192.168.1.4',
      'GET hxxp://bad-site[.]example[.]net/payload.exe',
      'again 45.77.12.9 and malware-c2[.]example[.]com',
      'hash 0123456789abcdef0123456789abcdef md5 of dropper',
    ]);
    const { rows, summary } = await run(records, {}, clock);
    expect(rows.map((row) => Number(row.SourceIndex))).toEqual(
      [...rows.map((row) => Number(row.SourceIndex))].sort((a, b) => a - b),
    );
    expect(rows).toHaveLength(summary.occurrences);
    expect(accountingHolds(summary)).toBe(true);
    const first = rows.find((row) => row.Observable === '45.77.12.9' && row.SourceIndex === '0');
    const again = rows.find((row) => row.Observable === '45.77.12.9' && row.SourceIndex === '3');
    expect(first?.Status).toMatch(/^(Success|NotFound)$/);
    expect(again?.Status).toBe('Duplicate');
    expect(again?.Positives).toBe(first?.Positives);
    expect(again?.Permalink).toBe(first?.Permalink);
    expect(rows.find((row) => row.Observable === '10.0.0.5')?.Status).toBe('IP address is not global');
    // Five distinct observables, public pacing at 4/min: one lookup each, and no quota refusal.
    const stats = emulator.stats();
    expect(stats.itemsLookedUp).toBe(summary.plan.lookups);
    expect(stats.byStatus['429'] ?? 0).toBe(0);
    // 5 lookups at 4 a minute need a second minute: the pacing really waited (virtually).
    expect(summary.plan.lookups).toBe(5);
    expect(clock.slept()).toBeGreaterThanOrEqual(50_000);
  });

  it('names the most-detected observables: most Positives, then most rows, then by value, ten at most', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    // 60 domains, the n-th seen n % 4 + 1 times, in a scattered order.
    const lines: string[] = [];
    for (let n = 0; n < 60; n++) for (let seen = 0; seen <= n % 4; seen++) lines.push(`host-${n}.top-test.com`);
    lines.sort((a, b) => ((a.length * 7919 + a.charCodeAt(5)) % 13) - ((b.length * 7919 + b.charCodeAt(5)) % 13));
    const { rows, summary } = await run(text(lines), { tier: 'premium', perMinute: 1_000_000 }, clock);
    // The oracle, from the rows written: each detected observable's Positives and row count.
    const byValue = new Map<string, { positives: number; rows: number; total: unknown }>();
    for (const row of rows) {
      if (typeof row.Positives !== 'number' || row.Positives === 0) continue;
      const seen = byValue.get(String(row.Observable));
      if (seen === undefined)
        byValue.set(String(row.Observable), { positives: row.Positives, rows: 1, total: row.Total });
      else seen.rows++;
    }
    expect(byValue.size).toBeGreaterThan(10);
    const expected = [...byValue]
      .sort(([a, x], [b, y]) => y.positives - x.positives || y.rows - x.rows || (a < b ? -1 : 1))
      .slice(0, 10)
      .map(([observable, { positives, rows: occurrences, total }]) => ({
        observable,
        type: 'dns',
        positives,
        total,
        occurrences,
      }));
    expect(summary.topFindings).toEqual(expected);
  });

  it('looks up the md5 and the sha256 of one file once, the second as a duplicate', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    // A synthetic file: ask for its md5 first, then use the sha256 the emulator reports for it.
    const md5 = '9e107d9d372bb6826bd81d3542a419d6';
    const probe = await run(typed([[md5, 'md5_hash']]), {}, clock);
    const sha256 = String(probe.rows[0]?.SHA256);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    emulator.resetStats();
    const { rows, summary } = await run(
      typed([
        [md5, 'md5_hash'],
        [sha256, 'sha256_hash'],
      ]),
      {},
      clock,
    );
    expect(emulator.stats().itemsLookedUp).toBe(1);
    expect(rows.map((row) => row.Status)).toEqual(['Success', 'Duplicate']);
    expect(rows[1]?.MD5).toBe(md5);
    expect(summary.duplicates).toBe(1);
    expect(accountingHolds(summary)).toBe(true);
  });

  it('stops submitting when the daily quota is spent, and says so in every remaining row', async () => {
    const clock = virtualClock();
    // Four requests today: the overall_quotas request and three lookups.
    emulator = await startEmulator({ now: clock.now, perDay: 4 });
    const values: Array<[string, string]> = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'].map((label) => [
      `${label}-host.example.org`,
      'dns',
    ]);
    const { rows, summary } = await run(typed(values), {}, clock);
    expect(rows).toHaveLength(6);
    expect(rows.filter((row) => row.Status === 'Success' || row.Status === 'NotFound')).toHaveLength(3);
    expect(rows.filter((row) => row.Status === 'NotSubmitted: daily quota exhausted')).toHaveLength(3);
    expect(summary.notSubmitted).toBe(3);
    expect(summary.stopReason).toBe('daily quota exhausted');
    expect(accountingHolds(summary)).toBe(true);
  });

  it('rethrows a refused key after writing a row for every occurrence', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now, keys: [{ key: 'the-right-key', tier: 'public' }] });
    const rows: EnrichedRow[] = [];
    const failure = await enrich(
      typed([
        ['8.8.4.4', 'ipv4'],
        ['example.org', 'dns'],
      ]),
      { lookup: { baseUrl: emulator.url, apiKey: 'the-wrong-key', tier: 'public', clock } },
      (row) => {
        rows.push(row);
      },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).code).toBe('AUTHENTICATION');
    expect((failure as ApiError).message).not.toContain('the-wrong-key');
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => String(row.Status).startsWith('NotSubmitted'))).toBe(true);
  });

  it('stops submitting on abort and marks the rest interrupted', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    const controller = new AbortController();
    const values: Array<[string, string]> = Array.from({ length: 12 }, (_, index) => [
      `h${index}-node.example.org`,
      'dns',
    ]);
    const rows: EnrichedRow[] = [];
    let results = 0;
    const summary = await enrich(
      typed(values),
      {
        lookup: { baseUrl: emulator.url, apiKey: 'k', tier: 'public', clock, signal: controller.signal },
        onProgress: (progress) => {
          results = progress.done;
          if (results >= 2) controller.abort();
        },
      },
      (row) => {
        rows.push(row);
      },
    );
    expect(rows).toHaveLength(12);
    expect(summary.stopReason).toBe('interrupted');
    expect(rows.filter((row) => row.Status === 'NotSubmitted: interrupted').length).toBeGreaterThanOrEqual(6);
    expect(accountingHolds(summary)).toBe(true);
  });

  it('plans without looking anything up on a dry run', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    const rows: EnrichedRow[] = [];
    const summary = await enrich(
      text(['1.2.3.4 5.6.7.8 example.com http://example.net/x 1.2.3.4']),
      { lookup: { baseUrl: emulator.url, apiKey: 'k', tier: 'public', clock }, dryRun: true },
      (row) => {
        rows.push(row);
      },
    );
    expect(emulator.stats().requests).toBe(0);
    expect(summary.plan.lookups).toBe(4);
    expect(summary.plan.byType.ipv4).toBe(2);
    expect(summary.plan.minutes).toBe(1);
    expect(rows).toHaveLength(5);
  });
});

describe('enrich against the emulator (v2)', () => {
  it('batches hashes four to a request on a public key, and answers every one', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    const hashes: Array<[string, string]> = Array.from({ length: 8 }, (_, index) => [
      `${index}f3a9c2e7b1d4${index}0a8e6c5b9f2d7e1a4c`.slice(0, 32),
      'md5_hash',
    ]);
    const { rows, summary } = await run(typed(hashes), { api: 'v2' }, clock);
    expect(rows).toHaveLength(8);
    expect(rows.every((row) => row.Status === 'Success' || row.Status === 'NotFound')).toBe(true);
    expect(summary.lookup?.requests).toBe(2);
    expect(emulator.stats().itemsLookedUp).toBe(8);
    expect(emulator.stats().byStatus['204'] ?? 0).toBe(0);
  });
});
