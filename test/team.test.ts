/**
 * A team on one key (issue 15): separate CLI processes, each with its own home directory as if on its own host,
 * share one PostgreSQL cache and one Redis quota, against one emulator that counts and dates every charge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import {
  dropSchema,
  pgCacheUrl,
  postgresMissing,
  REDIS_URL,
  redisMissing,
  startOwnRedis,
  uniqueName,
  type OwnRedis,
} from './support/services.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const KEY = 'team-shared-key';
const MD5 = 'e85bcfce6f59e0c96ea44b4c59d00ea1';

const pgSkip = await postgresMissing();
const redisSkip = await redisMissing();

let work: string;
let schema: string;
let prefix: string;
let emulator: Emulator | undefined;
const children: ChildProcess[] = [];

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ioc-enrich-team-'));
  schema = uniqueName('ioc_team');
  prefix = uniqueName('ioc-team');
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await emulator?.close();
  emulator = undefined;
  if (pgSkip === undefined) await dropSchema(schema);
  if (redisSkip === undefined) {
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(keys);
    client.destroy();
  }
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  readonly process: ChildProcess;
  readonly done: Promise<{ code: number | null; stderr: string }>;
}

/** Runs the built CLI as one "host": its own home and working directory. */
function host(name: string, args: string[]): Run {
  const home = join(work, name);
  mkdirSync(home, { recursive: true });
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: home, VT_API_KEY: KEY },
    cwd: home,
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { process: child, done };
}

/** An input file of `hosts` domain names, one per row. */
function input(name: string, indexes: number[]): string {
  const path = join(work, `${name}.csv`);
  writeFileSync(path, `id,message\n${indexes.map((i) => `${i},seen h-${i}.team-test.example.com`).join('\n')}\n`);
  return path;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, index) => from + index);
}

function rows(path: string): Array<Record<string, string>> {
  return parse<Record<string, string>>(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true });
}

/** The most charges the server saw in any sliding 60 s window. */
function busiestMinute(times: readonly number[]): number {
  let most = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] as number) - (times[start] as number) >= 60_000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

function enrichArgs(file: string, out: string, extra: string[]): string[] {
  return ['enrich', '--vt-url', (emulator as Emulator).url, '--tier', 'premium', ...extra, file, '-o', out];
}

describe.skipIf(pgSkip !== undefined)('hosts sharing one PostgreSQL cache', () => {
  it('three hosts enrich overlapping inputs, each observable is looked up once, and a fourth run costs nothing', async () => {
    emulator = await startEmulator({ unlimited: true, tier: 'premium' });
    const cache = ['--cache', pgCacheUrl(schema), '--concurrency', '4'];
    const runs = [
      host('a', enrichArgs(input('a', range(0, 60)), 'a.csv', cache)),
      host('b', enrichArgs(input('b', range(30, 90)), 'b.csv', cache)),
      host('c', enrichArgs(input('c', [...range(60, 120), ...range(0, 10)]), 'c.csv', cache)),
    ];
    const results = await Promise.all(runs.map((run) => run.done));
    expect(results.map((result) => result.code)).toEqual([0, 0, 0]);
    for (const [name, count] of [
      ['a', 60],
      ['b', 60],
      ['c', 70],
    ] as const) {
      const table = rows(join(work, name, `${name}.csv`));
      expect(table).toHaveLength(count);
      expect(table.every((row) => row['Status'] === 'Success' || row['Status'] === 'NotFound')).toBe(true);
    }
    // 120 distinct observables, 190 rows: the hosts looked each one up once between them.
    expect(emulator.stats().byEndpoint['v3/domains']).toBe(120);

    emulator.resetStats();
    const fourth = await host('d', enrichArgs(input('d', range(0, 120)), 'd.csv', cache)).done;
    expect(fourth.code).toBe(0);
    expect(emulator.stats().requests).toBe(0);
    expect(rows(join(work, 'd', 'd.csv')).every((row) => row['CacheHit'] === 'true')).toBe(true);
  }, 120_000);

  it('an md5 looked up on one host answers its sha256 on another', async () => {
    emulator = await startEmulator({ unlimited: true, tier: 'premium' });
    const cache = ['--cache', pgCacheUrl(schema)];
    const first = join(work, 'md5.csv');
    writeFileSync(first, `id,hash\n1,${MD5}\n`);
    expect((await host('a', enrichArgs(first, 'out.csv', cache)).done).code).toBe(0);
    const sha256 = rows(join(work, 'a', 'out.csv'))[0]?.['SHA256'] ?? '';
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    emulator.resetStats();
    const second = join(work, 'sha256.csv');
    writeFileSync(second, `id,hash\n1,${sha256}\n`);
    expect((await host('b', enrichArgs(second, 'out.csv', cache)).done).code).toBe(0);
    expect(emulator.stats().requests).toBe(0);
    expect(rows(join(work, 'b', 'out.csv'))[0]).toMatchObject({ Status: 'Success', CacheHit: 'true', MD5: MD5 });
  }, 60_000);
});

describe.skipIf(pgSkip !== undefined || redisSkip !== undefined)('hosts sharing one Redis quota', () => {
  let own: OwnRedis | undefined;
  afterAll(async () => {
    await own?.stop();
  });

  it('four hosts at 30/min: no 429, never more than 30 in a minute, one lookup per observable, a killed host changes nothing', async () => {
    emulator = await startEmulator({ tier: 'premium', perMinute: 30, recordCharges: true });
    const shared = [
      '--rate',
      '30',
      '--concurrency',
      '2',
      '--cache',
      pgCacheUrl(schema),
      '--quota-store',
      `${REDIS_URL}?prefix=${prefix}&lease=2s`,
    ];
    // 40 distinct observables: the first 30 fill the first minute, the last 10 need the next one.
    const a = host('a', enrichArgs(input('a', range(0, 20)), 'a.csv', shared));
    const b = host('b', enrichArgs(input('b', range(10, 30)), 'b.csv', shared));
    const c = host('c', enrichArgs(input('c', range(20, 40)), 'c.csv', shared));
    const d = host('d', enrichArgs(input('d', [...range(0, 10), ...range(30, 40)]), 'd.csv', shared));
    // Host d dies (kill -9) once it has had lookups, maybe holding slots and claims.
    while ((emulator.stats().chargeTimes?.length ?? 0) < 4) await new Promise((done) => setTimeout(done, 20));
    d.process.kill('SIGKILL');
    const results = await Promise.all([a.done, b.done, c.done]);
    expect(results.map((result) => result.code)).toEqual([0, 0, 0]);
    for (const name of ['a', 'b', 'c']) {
      const table = rows(join(work, name, `${name}.csv`));
      expect(table).toHaveLength(20);
      expect(table.every((row) => row['Status'] === 'Success' || row['Status'] === 'NotFound')).toBe(true);
    }
    const stats = emulator.stats();
    expect(stats.byStatus['429'] ?? 0).toBe(0);
    expect(stats.quotaRefusals).toBe(0);
    const times = stats.chargeTimes ?? [];
    expect(busiestMinute(times)).toBeLessThanOrEqual(30);
    // The second minute was needed and used.
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual(59_000);
    // One lookup per distinct observable, plus at most what the killed host had looked up but not yet committed
    // to the cache: one chunk of claims (4 observables at concurrency 1; a fresh-clone run saw 43).
    expect(stats.byEndpoint['v3/domains']).toBeGreaterThanOrEqual(40);
    expect(stats.byEndpoint['v3/domains']).toBeLessThanOrEqual(44);
  }, 180_000);

  it('Redis stopped mid-run: the hosts pause (saying so) and go on when it is back, without a 429 or overspend', async () => {
    own = await startOwnRedis();
    // Slow replies spread the 30 lookups over several seconds, so Redis goes away in the middle of them.
    emulator = await startEmulator({
      tier: 'premium',
      perMinute: 30,
      recordCharges: true,
      faults: { slow: 1, slowDelayMs: 400 },
    });
    const shared = [
      '--rate',
      '30',
      '--concurrency',
      '1',
      '--log-level',
      'warn',
      '--quota-store',
      `${own.url}?prefix=${prefix}&lease=2s`,
    ];
    // Without a shared cache, each host looks up its own 15: 30 in all, the whole minute's allowance.
    const a = host('a', enrichArgs(input('a', range(0, 15)), 'a.csv', shared));
    const b = host('b', enrichArgs(input('b', range(15, 30)), 'b.csv', shared));
    while ((emulator.stats().chargeTimes?.length ?? 0) < 6) await new Promise((done) => setTimeout(done, 20));
    await own.stop();
    const stoppedAt = Date.now();
    await new Promise((done) => setTimeout(done, 3_000));
    const restartedAt = Date.now();
    await own.start();
    const results = await Promise.all([a.done, b.done]);
    expect(results.map((result) => result.code)).toEqual([0, 0]);
    for (const result of results) expect(result.stderr).toContain('quota store unreachable');
    const stats = emulator.stats();
    const times = stats.chargeTimes ?? [];
    // 30 lookups and each host's overall_quotas request: every request takes its slot of the minute.
    expect(times).toHaveLength(32);
    expect(stats.itemsLookedUp).toBe(30);
    expect(stats.byStatus['429'] ?? 0).toBe(0);
    // Nothing was granted while Redis was down: only requests already sent (one per host) landed after the stop.
    expect(times.filter((time) => time > stoppedAt + 100 && time < restartedAt).length).toBeLessThanOrEqual(2);
    expect(busiestMinute(times)).toBeLessThanOrEqual(30);
  }, 120_000);
});
