import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openResultCache, SqliteResultCache } from '../../src/cache/index.js';
import { dropSchema, pgCacheUrl, postgresMissing, uniqueName } from '../support/services.js';
import { runMain, type MainResult } from '../support/run-main.js';
import { FILE, v3Reply } from './replies.js';

const DAY = 86_400_000;
let dir: string;
let cachePath: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-cache-cli-'));
  cachePath = join(dir, 'cache.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(...args: string[]): Promise<MainResult> {
  return runMain(args, { env: { XDG_CACHE_HOME: join(dir, 'xdg') } });
}

async function fill(location = cachePath): Promise<void> {
  const now = Date.now();
  const cache = await openResultCache(location);
  cache.put(v3Reply('md5_hash', FILE.md5, { malicious: 3 }, now - 2 * DAY));
  cache.put(v3Reply('dns', 'clean.example.com', { malicious: 0 }, now - DAY));
  cache.put(v3Reply('ipv4', '8.8.8.8', null, now - 60_000));
  await cache.close();
}

const pgMissing = await postgresMissing();

describe('ioc-enrich cache', () => {
  it('stats counts entries by verdict and stale ones under --max-age', async () => {
    await fill();
    const text = await run('cache', 'stats', '--cache', cachePath);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^entries +3 \(v3 3, v2 0\)$/m);
    expect(text.stdout).toMatch(/^stale +1 \(max age: malicious 1d, suspicious 1d, clean 7d, not found 1d\)$/m);
    const json = await run('cache', 'stats', '--cache', cachePath, '--json', '--max-age', 'clean=12h');
    expect(JSON.parse(json.stdout)).toMatchObject({
      entries: 3,
      stale: 2,
      fileAliases: 3,
      exists: true,
      maxAge: { clean: DAY / 2 },
    });
  });

  it('stats on a cache not created yet reports it empty without creating it', async () => {
    const result = await run('cache', 'stats');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${join(dir, 'xdg', 'ioc-enrich', 'cache.db')} (not created yet)`);
    expect(existsSync(join(dir, 'xdg'))).toBe(false);
  });

  it.each([
    [[], 1],
    [['--older-than', '36h'], 1],
    [['--older-than', '30s'], 3],
    [['--all'], 3],
  ])('purge %j deletes %i entries', async (options, purged) => {
    await fill();
    const result = await run('cache', 'purge', '--cache', cachePath, ...options);
    expect(result).toMatchObject({ code: 0, stdout: `purged ${purged} entries from ${cachePath}\n` });
    const cache = SqliteResultCache.open(cachePath);
    expect((await cache.stats()).entries).toBe(3 - purged);
    await cache.close();
  });

  it('export writes one JSON object per entry', async () => {
    await fill();
    const out = join(dir, 'export.jsonl');
    const result = await run('cache', 'export', '--cache', cachePath, '-o', out);
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: `exported 3 entries from ${cachePath}\n` });
    const records = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => record['value']).sort()).toEqual(['8.8.8.8', 'clean.example.com', FILE.md5].sort());
    const toStdout = await run('cache', 'export', '--cache', cachePath);
    expect(toStdout.stdout.trimEnd().split('\n')).toHaveLength(3);
  });

  it.each([
    [['cache']],
    [['cache', 'vacuum']],
    [['cache', 'stats', 'extra']],
    [['cache', 'stats', '--all']],
    [['cache', 'export', '--older-than', '1d']],
    [['cache', 'purge', '--all', '--older-than', '1d']],
    [['cache', 'purge', '--older-than', '7']],
    [['cache', 'purge', '--max-age', 'fresh=1d']],
    [['cache', 'stats', '--bogus']],
  ])('%j is a usage error: exit 2, one line on stderr', async (args) => {
    const result = await run(...args, '--cache', cachePath);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(pgMissing !== undefined)('ioc-enrich cache on a shared PostgreSQL cache', () => {
  let schema: string;
  beforeEach(() => {
    schema = uniqueName('ioc_cli');
  });
  afterEach(async () => {
    await dropSchema(schema);
  });

  it('stats, export and purge work on a postgres:// URL, also from IOC_ENRICH_CACHE_URL', async () => {
    const url = pgCacheUrl(schema);
    await fill(url);
    const stats = await run('cache', 'stats', '--cache', url, '--json');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ entries: 3, stale: 1, fileAliases: 3, exists: true });
    const fromEnv = await runMain(['cache', 'export'], { env: { IOC_ENRICH_CACHE_URL: url } });
    expect(fromEnv.code).toBe(0);
    expect(
      fromEnv.stdout
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { value: string }).value)
        .sort(),
    ).toEqual(['8.8.8.8', 'clean.example.com', FILE.md5].sort());
    const purge = await run('cache', 'purge', '--cache', url, '--older-than', '36h');
    expect(purge).toMatchObject({ code: 0, stdout: `purged 1 entries from ${url}\n` });
    const after = await run('cache', 'stats', '--cache', url, '--json');
    expect(JSON.parse(after.stdout)).toMatchObject({ entries: 2, fileAliases: 0 });
  });

  it('never shows the password of the URL', async () => {
    const url = pgCacheUrl(schema).replace('postgres@', 'postgres:hunter2-pw@');
    const result = await run('cache', 'stats', '--cache', url);
    expect(result.stdout + result.stderr).not.toContain('hunter2-pw');
  });
});
