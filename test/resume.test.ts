/**
 * Scheduled batch jobs (issue 5): the cache makes repeated and interrupted runs cost nothing twice.
 * In-process runs use a virtual clock shared with the emulator; the kill -9 and concurrency tests spawn the
 * built CLI as real child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteResultCache, type ResultCache } from '../src/cache/index.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { enrich } from '../src/pipeline.js';
import type { EnrichedRow, TypedRecord } from '../src/types.js';
import { virtualClock, type VirtualClock } from './support/virtual-clock.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');

let work: string;
let emulator: Emulator | undefined;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ioc-enrich-resume-'));
});
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function typed(values: Array<[string, string]>): TypedRecord[] {
  return values.map(([observable, type], index) => ({
    recordNumber: index,
    sourceIndex: String(index),
    observable,
    type,
    field: 'Observable',
  }));
}

async function runWith(cache: ResultCache, records: TypedRecord[], clock: VirtualClock): Promise<EnrichedRow[]> {
  const rows: EnrichedRow[] = [];
  await enrich(
    records,
    { lookup: { baseUrl: emulator?.url ?? '', apiKey: 'k', tier: 'premium', clock }, cache },
    (row) => {
      rows.push(row);
    },
  );
  return rows;
}

const MIXED: Array<[string, string]> = [
  ['malware.example.com', 'dns'],
  ['45.33.100.66', 'ipv4'],
  ['http://malware.example.com/payload.exe', 'url'],
  ['e85bcfce6f59e0c96ea44b4c59d00ea1', 'md5_hash'],
  ['unknown.example.com', 'dns'],
  ['a-fresh-name.example.org', 'dns'],
];

describe('the persistent cache in the pipeline', () => {
  it('makes a second identical run cost zero requests, with rows marked as cache hits', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    const cache = SqliteResultCache.open(join(work, 'cache.db'), { now: clock.now });
    const first = await runWith(cache, typed(MIXED), clock);
    const firstRequests = emulator.stats().requests;
    expect(firstRequests).toBeGreaterThanOrEqual(MIXED.length);
    const second = await runWith(cache, typed(MIXED), clock);
    expect(emulator.stats().requests).toBe(firstRequests);
    expect(second.map((row) => row.Status)).toEqual(first.map((row) => row.Status));
    expect(second.map((row) => row.Positives)).toEqual(first.map((row) => row.Positives));
    expect(second.every((row) => row.CacheHit === true)).toBe(true);
    expect(first.every((row) => row.CacheHit === false)).toBe(true);
    expect(second.find((row) => row.Observable === 'unknown.example.com')?.Status).toBe('NotFound');
    await cache.close();
  });

  it('looks a stale entry up again', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    const cache = SqliteResultCache.open(join(work, 'cache.db'), {
      now: clock.now,
      maxAge: { malicious: 60 * 60_000, clean: 7 * 24 * 60 * 60_000, notFound: 24 * 60 * 60_000 },
    });
    await runWith(
      cache,
      typed([
        ['malware.example.com', 'dns'],
        ['www.example.org', 'dns'],
      ]),
      clock,
    );
    emulator.resetStats();
    clock.advance(2 * 60 * 60_000);
    const rows = await runWith(
      cache,
      typed([
        ['malware.example.com', 'dns'],
        ['www.example.org', 'dns'],
      ]),
      clock,
    );
    // The malicious answer (max age 1 h) is refetched; the clean one (7 days) is not.
    expect(emulator.stats().itemsLookedUp).toBe(1);
    expect(rows.map((row) => row.CacheHit)).toEqual([false, true]);
    await cache.close();
  });

  it('finds a file by its sha256 after its md5 was looked up in an earlier run', async () => {
    const clock = virtualClock();
    emulator = await startEmulator({ now: clock.now });
    const cache = SqliteResultCache.open(join(work, 'cache.db'), { now: clock.now });
    const [first] = await runWith(cache, typed([['e85bcfce6f59e0c96ea44b4c59d00ea1', 'md5_hash']]), clock);
    emulator.resetStats();
    const [second] = await runWith(cache, typed([[String(first?.SHA256), 'sha256_hash']]), clock);
    expect(emulator.stats().requests).toBe(0);
    expect(second).toMatchObject({
      Status: 'Success',
      CacheHit: true,
      MD5: 'e85bcfce6f59e0c96ea44b4c59d00ea1',
      Positives: first?.Positives,
    });
    await cache.close();
  });

  it('never caches a failure', async () => {
    const clock = virtualClock();
    // One lookup today after the overall_quotas request (the client charges it to the day).
    emulator = await startEmulator({ now: clock.now, perDay: 2 });
    const cache = SqliteResultCache.open(join(work, 'cache.db'), { now: clock.now });
    const rows = await runWith(
      cache,
      typed([
        ['one.example.com', 'dns'],
        ['two.example.com', 'dns'],
      ]),
      clock,
    );
    expect(rows.filter((row) => String(row.Status).startsWith('NotSubmitted'))).toHaveLength(1);
    expect((await cache.stats()).entries).toBe(1);
    await cache.close();
  });
});

interface Child {
  process: ChildProcess;
  done: Promise<{ code: number | null; stderr: string }>;
}

function spawnCli(args: string[]): Child {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: work, VT_API_KEY: 'resume-key' },
    cwd: work,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { process: child, done };
}

function csvRows(path: string): Array<Record<string, string>> {
  return parse<Record<string, string>>(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true });
}

function hosts(count: number, prefix: string): string {
  return Array.from(
    { length: count },
    (_, index) => `${index},seen ${prefix}-${index}.resume-test.example.com on the proxy\n`,
  ).join('');
}

describe('interrupted and concurrent runs (real processes)', () => {
  it('after kill -9 mid-run, the same command finishes the rest without repeating a lookup', async () => {
    emulator = await startEmulator({ unlimited: true });
    const input = join(work, 'input.csv');
    writeFileSync(input, `id,message\n${hosts(40, 'k9')}`);
    // 10 lookups a second, one at a time: the kill lands mid-run.
    const args = [
      'enrich',
      '--vt-url',
      emulator.url,
      '--tier',
      'premium',
      '--rate',
      '600',
      '--concurrency',
      '1',
      '--cache',
      join(work, 'cache.db'),
      input,
      '-o',
      join(work, 'out.csv'),
    ];
    const first = spawnCli(args);
    while (emulator.stats().itemsLookedUp < 10) await new Promise((resolve) => setTimeout(resolve, 20));
    first.process.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.code).toBe(null);
    const lookedUpBeforeKill = emulator.stats().itemsLookedUp;
    expect(lookedUpBeforeKill).toBeLessThan(40);
    const second = await spawnCli(args).done;
    expect(second.code).toBe(0);
    const rows = csvRows(join(work, 'out.csv'));
    expect(rows).toHaveLength(40);
    expect(rows.every((row) => row['Status'] === 'Success' || row['Status'] === 'NotFound')).toBe(true);
    // At most what was in flight at the kill is asked again: the request sent, and the reply of the event-loop
    // turn whose commit had not run yet (replies are committed once per turn, see src/cache/contract.ts).
    expect(emulator.stats().itemsLookedUp).toBeLessThanOrEqual(42);
    expect(rows.filter((row) => row['CacheHit'] === 'true').length).toBeGreaterThanOrEqual(lookedUpBeforeKill - 2);
  });

  it('lets two runs share one cache file at the same time', async () => {
    emulator = await startEmulator({ unlimited: true });
    const cache = join(work, 'shared.db');
    writeFileSync(join(work, 'a.csv'), `id,message\n${hosts(60, 'shared')}`);
    writeFileSync(join(work, 'b.csv'), `id,message\n${hosts(60, 'shared').split('\n').reverse().join('\n')}`);
    const common = ['--vt-url', emulator.url, '--tier', 'premium', '--concurrency', '4', '--cache', cache];
    const [a, b] = await Promise.all([
      spawnCli(['enrich', ...common, join(work, 'a.csv'), '-o', join(work, 'a-out.csv')]).done,
      spawnCli(['enrich', ...common, join(work, 'b.csv'), '-o', join(work, 'b-out.csv')]).done,
    ]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(csvRows(join(work, 'a-out.csv'))).toHaveLength(60);
    expect(csvRows(join(work, 'b-out.csv'))).toHaveLength(60);
    const store = SqliteResultCache.open(cache);
    expect((await store.stats()).entries).toBe(60);
    await store.close();
    // A third run is answered entirely by the shared cache.
    emulator.resetStats();
    const c = await spawnCli(['enrich', ...common, join(work, 'a.csv'), '-o', join(work, 'c-out.csv')]).done;
    expect(c.code).toBe(0);
    expect(emulator.stats().requests).toBe(0);
  });
});
