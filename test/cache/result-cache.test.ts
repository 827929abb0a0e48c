import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultCache, type MaxAgePolicy } from '../../src/cache/index.js';
import { IocEnrichError } from '../../src/errors.js';
import type { IocType } from '../../src/types.js';
import { FILE, reply, v2FileReply, v3Reply } from './replies.js';
import { errorWith } from '../support/matchers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 10, 12);

let dir: string;
let clock: number;
const now = (): number => clock;
const open = (options: { maxAge?: Partial<MaxAgePolicy>; redact?: string[] } = {}): ResultCache =>
  ResultCache.open(join(dir, 'nested', 'dirs', 'cache.db'), { now, ...options });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-cache-'));
  clock = T0;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ResultCache put/get', () => {
  it('round-trips a reply through a closed and reopened file, creating parent directories', () => {
    const stored = v3Reply('ipv4', '8.8.8.8', { malicious: 0 }, T0 - HOUR);
    const first = open();
    expect(first.get('v3', 'ipv4', '8.8.8.8')).toBeUndefined();
    first.put(stored);
    first.close();

    const second = open();
    const entry = second.get('v3', 'ipv4', '8.8.8.8');
    expect(entry).toMatchObject({ outcome: 'found', fetchedAt: T0 - HOUR, stale: false });
    expect(entry?.reply).toEqual(stored);
    // The lazily parsed reply survives JSON serialisation of the entry.
    expect((JSON.parse(JSON.stringify(entry)) as { reply: { body: unknown } }).reply.body).toEqual(stored.body);
    second.close();
  });

  it('keeps API versions and types apart', () => {
    const cache = open();
    cache.put(v3Reply('dns', 'evil.example.com', { malicious: 3 }, T0));
    expect(cache.get('v2', 'dns', 'evil.example.com')).toBeUndefined();
    expect(cache.get('v3', 'url', 'evil.example.com')).toBeUndefined();
    expect(cache.get('v3', 'dns', 'EVIL.example.com ')?.outcome).toBe('found');
    cache.close();
  });

  it('finds a URL by any spelling of its canonical form', () => {
    const cache = open();
    cache.put(v3Reply('url', 'HTTP://Evil.Example.com', { malicious: 1 }, T0));
    expect(cache.get('v3', 'url', 'http://evil.example.com/')?.reply.value).toBe('HTTP://Evil.Example.com');
    expect(cache.get('v3', 'url', 'http://evil.example.com/Path')).toBeUndefined();
    cache.close();
  });

  it('stores not-found replies with a null body', () => {
    const cache = open();
    cache.put(v3Reply('dns', 'unknown.example.org', null, T0));
    const entry = cache.get('v3', 'dns', 'unknown.example.org');
    expect(entry).toMatchObject({ outcome: 'not_found', stale: false });
    expect(entry?.reply.body).toBeNull();
    cache.close();
  });

  it('replaces an entry with a newer reply but never with an older one', () => {
    const cache = open();
    cache.put(v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0 - 2 * HOUR));
    cache.put(v3Reply('ipv4', '1.2.3.4', { malicious: 5 }, T0 - HOUR));
    cache.put(v3Reply('ipv4', '1.2.3.4', { malicious: 9 }, T0 - 3 * HOUR));
    const entry = cache.get('v3', 'ipv4', '1.2.3.4');
    expect(entry?.fetchedAt).toBe(T0 - HOUR);
    expect(entry?.reply.body).toMatchObject({ data: { attributes: { last_analysis_stats: { malicious: 5 } } } });
    expect(cache.stats().entries).toBe(1);
    cache.close();
  });

  it('reads the newer reply when another writer replaced the entry after the lookup', () => {
    const reader = open();
    reader.put(v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0 - HOUR));
    const entry = reader.get('v3', 'ipv4', '1.2.3.4');
    const writer = open();
    writer.put(v3Reply('ipv4', '1.2.3.4', { malicious: 8 }, T0));
    writer.close();
    expect(entry?.reply).toMatchObject({
      fetchedAt: T0,
      body: { data: { attributes: { last_analysis_stats: { malicious: 8 } } } },
    });
    reader.close();
  });

  it('keeps v3 resolutions', () => {
    const cache = open();
    const resolutions = [{ type: 'resolution', attributes: { host_name: 'a.example.com', ip_address: '1.2.3.4' } }];
    cache.put({ ...v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0), resolutions });
    expect(cache.get('v3', 'ipv4', '1.2.3.4')?.reply.resolutions).toEqual(resolutions);
    cache.close();
  });
});

describe('ResultCache file aliases', () => {
  it.each([
    ['md5 then sha256 and sha1 (v3)', 'v3', 'md5_hash', FILE.md5],
    ['sha256 then md5 and sha1 (v3)', 'v3', 'sha256_hash', FILE.sha256],
    ['sha1 then the others (v3)', 'v3', 'sha1_hash', FILE.sha1],
  ] as const)('%s', (_name, api, type, value) => {
    const cache = open();
    cache.put(v3Reply(type, value, { malicious: 2 }, T0));
    for (const [otherType, other] of [
      ['md5_hash', FILE.md5],
      ['sha1_hash', FILE.sha1],
      ['sha256_hash', FILE.sha256.toUpperCase()],
    ] as const) {
      const entry = cache.get(api, otherType, other);
      expect(entry?.reply.value).toBe(value);
    }
    expect(cache.stats()).toMatchObject({ entries: 1, fileAliases: 3 });
    cache.close();
  });

  it('resolves v2 aliases from the report hashes, whatever their case', () => {
    const cache = open();
    cache.put(v2FileReply(FILE.md5, 30, T0));
    expect(cache.get('v2', 'sha256_hash', FILE.sha256)?.reply.value).toBe(FILE.md5);
    expect(cache.get('v3', 'sha256_hash', FILE.sha256)).toBeUndefined();
    cache.close();
  });

  it('drops an earlier not-found under one hash once a reply names it as the file', () => {
    const cache = open();
    cache.put(v3Reply('md5_hash', FILE.md5, null, T0 - HOUR));
    expect(cache.get('v3', 'md5_hash', FILE.md5)?.outcome).toBe('not_found');
    cache.put(v3Reply('sha256_hash', FILE.sha256, { malicious: 1 }, T0));
    expect(cache.get('v3', 'md5_hash', FILE.md5)?.outcome).toBe('found');
    expect(cache.stats().entries).toBe(1);
    cache.close();
  });

  it('does not alias a hash that was not found to anything else', () => {
    const cache = open();
    cache.put(v3Reply('sha256_hash', FILE.sha256, null, T0));
    expect(cache.get('v3', 'sha256_hash', FILE.sha256)?.outcome).toBe('not_found');
    expect(cache.get('v3', 'md5_hash', FILE.md5)).toBeUndefined();
    cache.close();
  });
});

describe('ResultCache freshness', () => {
  const cases: [string, IocType, { malicious: number; suspicious?: number } | null, number][] = [
    ['malicious', 'ipv4', { malicious: 4 }, DAY],
    ['suspicious', 'ipv4', { malicious: 0, suspicious: 2 }, DAY],
    ['clean', 'ipv4', { malicious: 0 }, 7 * DAY],
    ['not found', 'ipv4', null, DAY],
  ];

  it.each(cases)('a %s reply is fresh until its default maximum age', (_name, type, stats, maxAge) => {
    const cache = open();
    cache.put(v3Reply(type, '9.9.9.9', stats, T0));
    clock = T0 + maxAge - 1;
    expect(cache.get('v3', type, '9.9.9.9')?.stale).toBe(false);
    clock = T0 + maxAge;
    expect(cache.get('v3', type, '9.9.9.9')).toBeUndefined();
    expect(cache.getIncludingStale('v3', type, '9.9.9.9')).toMatchObject({ stale: true, fetchedAt: T0 });
    cache.close();
  });

  it('applies a policy given at open to replies stored before', () => {
    const writer = open();
    writer.put(v3Reply('dns', 'clean.example.com', { malicious: 0 }, T0));
    writer.put(v3Reply('dns', 'bad.example.com', { malicious: 1 }, T0));
    writer.put(v3Reply('dns', 'gone.example.com', null, T0));
    writer.close();
    clock = T0 + 13 * HOUR;
    const reader = open({ maxAge: { malicious: 2 * DAY, notFound: 12 * HOUR } });
    expect(reader.get('v3', 'dns', 'clean.example.com')).toBeDefined();
    expect(reader.get('v3', 'dns', 'bad.example.com')).toBeDefined();
    expect(reader.get('v3', 'dns', 'gone.example.com')).toBeUndefined();
    expect(reader.stats().stale).toBe(1);
    reader.close();
  });

  it('treats a v2 queued report (response_code -2) as not found', () => {
    const cache = open();
    cache.put(reply('v2', 'url', 'http://queued.example.com/', { response_code: -2, resource: 'x' }, T0));
    expect(cache.get('v2', 'url', 'http://queued.example.com/')?.outcome).toBe('not_found');
    cache.close();
  });
});

describe('ResultCache never stores the API key', () => {
  it('scrubs a secret echoed in a reply from every column and from the files', () => {
    const key = 'f3c1d9e8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9';
    const cache = open({ redact: [key] });
    const echoed = v3Reply('url', 'http://evil.example.com/', { malicious: 1 }, T0, {
      last_final_url: `https://www.virustotal.com/vtapi/v2/url/report?apikey=${key}`,
    });
    cache.put(echoed);
    cache.put({ ...v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0), resolutions: [{ note: key }] });
    cache.put(v2FileReply(FILE.md5, 1, T0));
    expect(JSON.stringify(cache.get('v3', 'url', 'http://evil.example.com/')?.reply)).toContain('[redacted]');
    cache.close();

    const db = new Database(join(dir, 'nested', 'dirs', 'cache.db'), { readonly: true });
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    expect(tables).toEqual(expect.arrayContaining(['replies', 'file_aliases', 'schema_version']));
    let cells = 0;
    for (const table of tables) {
      for (const row of db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][]) {
        for (const cell of row) {
          cells += 1;
          expect(String(cell)).not.toContain(key);
        }
      }
    }
    expect(cells).toBeGreaterThan(20);
    db.close();
    for (const name of readdirSync(join(dir, 'nested', 'dirs'))) {
      expect(readFileSync(join(dir, 'nested', 'dirs', name)).includes(key)).toBe(false);
    }
  });
});

describe('ResultCache stats, purge and export', () => {
  function filled(): ResultCache {
    const cache = open();
    cache.put(v3Reply('md5_hash', FILE.md5, { malicious: 5 }, T0 - 2 * DAY));
    cache.put(v3Reply('dns', 'old-clean.example.com', { malicious: 0 }, T0 - 8 * DAY));
    cache.put(v3Reply('dns', 'new-clean.example.com', { malicious: 0 }, T0 - HOUR));
    cache.put(v3Reply('ipv4', '5.6.7.8', null, T0 - 3 * HOUR));
    cache.put(v2FileReply(FILE.sha1, 0, T0 - 30 * DAY));
    return cache;
  }

  it('counts entries by API and verdict, stale ones and aliases', () => {
    const cache = filled();
    expect(cache.stats()).toMatchObject({
      entries: 5,
      byApi: { v3: 4, v2: 1 },
      byVerdict: { malicious: 1, suspicious: 0, clean: 3, not_found: 1 },
      stale: 3,
      fileAliases: 6,
      oldestFetchedAt: T0 - 30 * DAY,
      newestFetchedAt: T0 - HOUR,
    });
    expect(cache.stats().sizeBytes).toBeGreaterThan(0);
    cache.close();
  });

  it.each([
    ['stale entries by default', {}, 3, 2],
    ['entries older than 2 days', { olderThanMs: 2 * DAY }, 3, 2],
    ['entries older than 2 hours', { olderThanMs: 2 * HOUR }, 4, 1],
    ['everything', { all: true }, 5, 0],
  ])('purges %s', (_name, options, deleted, left) => {
    const cache = filled();
    expect(cache.purge(options)).toBe(deleted);
    expect(cache.stats().entries).toBe(left);
    cache.close();
  });

  it('drops the aliases of purged files', () => {
    const cache = filled();
    cache.purge({ all: true });
    expect(cache.stats().fileAliases).toBe(0);
    expect(cache.get('v3', 'sha256_hash', FILE.sha256)).toBeUndefined();
    cache.close();
  });

  it.each([
    [{ olderThanMs: -1 }, 'olderThanMs'],
    [{ olderThanMs: Number.NaN }, 'olderThanMs'],
    [{ olderThanMs: 5, all: true }, 'all'],
  ])('rejects purge options %o', (options, option) => {
    const cache = filled();
    expect(() => cache.purge(options)).toThrow(errorWith({ code: 'BAD_OPTION', option }));
    cache.close();
  });

  it('exports every entry with its aliases and verdict', () => {
    const cache = filled();
    const records = [...cache.export()];
    expect(records).toHaveLength(5);
    const file = records.find((record) => record.api === 'v3' && record.type === 'md5_hash');
    expect(file).toMatchObject({
      value: FILE.md5,
      verdict: 'malicious',
      outcome: 'found',
      stale: true,
      fetchedAt: new Date(T0 - 2 * DAY).toISOString(),
      aliases: [FILE.md5, FILE.sha1, FILE.sha256].sort(),
    });
    expect(records.find((record) => record.type === 'ipv4')).toMatchObject({ body: null, verdict: 'not_found' });
    expect(records.find((record) => record.type === 'dns')).not.toHaveProperty('aliases');
    // Every record survives a JSON lines round trip.
    for (const record of records) expect(JSON.parse(JSON.stringify(record))).toEqual(record);
    cache.close();
  });
});

describe('ResultCache.open failures', () => {
  it('refuses a file that is not a database', () => {
    const path = join(dir, 'not-a-db.db');
    writeFileSync(path, 'this is not sqlite, just some text that is long enough to be read as a header'.repeat(20));
    expect(() => ResultCache.open(path)).toThrow(errorWith({ code: 'CACHE_ERROR' }));
  });

  it('refuses a cache written by a newer schema', () => {
    const path = join(dir, 'newer.db');
    ResultCache.open(path).close();
    const db = new Database(path);
    db.prepare('UPDATE schema_version SET version = 99').run();
    db.close();
    let error: unknown;
    try {
      ResultCache.open(path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(IocEnrichError);
    expect((error as IocEnrichError).code).toBe('CACHE_ERROR');
    expect((error as IocEnrichError).message).toContain('schema version 99');
  });

  it('refuses another SQLite database and leaves its tables alone', () => {
    const path = join(dir, 'theirs.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE replies (note TEXT); INSERT INTO replies VALUES ('keep me')`);
    db.close();
    expect(() => ResultCache.open(path)).toThrow(
      errorWith({ code: 'CACHE_ERROR', message: expect.stringContaining('not an ioc-enrich cache') }),
    );
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT note FROM replies').pluck().all()).toEqual(['keep me']);
    after.close();
  });

  it('starts afresh on a cache of an older schema', () => {
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
             CREATE TABLE replies (api TEXT, kind TEXT, id TEXT, body TEXT); INSERT INTO replies VALUES ('v3', 'dns', 'a.example.com', '{}')`);
    db.close();
    const cache = ResultCache.open(path, { now });
    expect(cache.stats().entries).toBe(0);
    cache.put(v3Reply('dns', 'a.example.com', { malicious: 0 }, T0));
    expect(cache.get('v3', 'dns', 'a.example.com')?.outcome).toBe('found');
    cache.close();
  });

  it('opens in WAL mode', () => {
    const path = join(dir, 'wal.db');
    ResultCache.open(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});
