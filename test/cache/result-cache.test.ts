import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { errorWith } from '../support/matchers.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openResultCache,
  PostgresResultCache,
  SqliteResultCache,
  type CacheExportRecord,
  type MaxAgePolicy,
  type ResultCache,
} from '../../src/cache/index.js';
import { IocEnrichError } from '../../src/errors.js';
import type { IocType, VtReply } from '../../src/types.js';
import { parseReply } from '../../src/vt/lean-json.js';
import { dropSchema, pgCacheUrl, pgQuery, postgresMissing, uniqueName } from '../support/services.js';
import { FILE, reply, v2FileReply, v3Reply } from './replies.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 10, 12);

const pgMissing = await postgresMissing();

let dir: string;
let clock: number;
const now = (): number => clock;

/** Where a backend keeps one test's cache, and how to read every stored cell back. */
interface Backend {
  readonly name: string;
  readonly skip: string | undefined;
  /** A fresh, empty location for the test. */
  setUp(): void;
  tearDown(): Promise<void>;
  location(): string;
  /** Every cell of every table, as text. */
  cells(): Promise<string[]>;
}

let schema = '';
const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    skip: undefined,
    setUp: () => undefined,
    tearDown: () => Promise.resolve(),
    location: () => join(dir, 'nested', 'dirs', 'cache.db'),
    cells: () => {
      const db = new Database(join(dir, 'nested', 'dirs', 'cache.db'), { readonly: true });
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
      const cells = tables.flatMap((table) =>
        (db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][]).flat().map((cell) => String(cell)),
      );
      db.close();
      const files = readdirSync(join(dir, 'nested', 'dirs')).map((name) =>
        readFileSync(join(dir, 'nested', 'dirs', name)).toString('latin1'),
      );
      return Promise.resolve([...cells, ...files]);
    },
  },
  {
    name: 'PostgreSQL',
    skip: pgMissing,
    setUp: () => {
      schema = uniqueName('ioc_test');
    },
    tearDown: () => dropSchema(schema),
    location: () => pgCacheUrl(schema),
    cells: async () => {
      const tables = await pgQuery<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
        [schema],
      );
      const cells: string[] = [];
      for (const { table_name: table } of tables) {
        for (const row of await pgQuery<Record<string, unknown>>(`SELECT * FROM "${schema}"."${table}"`)) {
          for (const cell of Object.values(row)) cells.push(String(cell));
        }
      }
      return cells;
    },
  },
];

async function collect(cache: ResultCache): Promise<CacheExportRecord[]> {
  const records: CacheExportRecord[] = [];
  for await (const record of cache.export()) records.push(record);
  return records;
}

describe.each(BACKENDS)('the cache contract on $name', (backend) => {
  const open = (options: { maxAge?: Partial<MaxAgePolicy>; redact?: string[] } = {}): Promise<ResultCache> =>
    openResultCache(backend.location(), { now, ...options });

  beforeEach((context) => {
    if (backend.skip !== undefined) context.skip();
    dir = mkdtempSync(join(tmpdir(), 'ioc-cache-'));
    clock = T0;
    backend.setUp();
  });
  afterEach(async () => {
    if (backend.skip !== undefined) return;
    await backend.tearDown();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('put/get', () => {
    it('round-trips a reply through a closed and reopened file, creating parent directories', async () => {
      const stored = v3Reply('ipv4', '8.8.8.8', { malicious: 0 }, T0 - HOUR);
      const first = await open();
      expect(await first.get('v3', 'ipv4', '8.8.8.8')).toBeUndefined();
      first.put(stored);
      await first.close();

      const second = await open();
      const entry = await second.get('v3', 'ipv4', '8.8.8.8');
      expect(entry).toMatchObject({ outcome: 'found', fetchedAt: T0 - HOUR, stale: false });
      expect(entry?.reply).toEqual(stored);
      // The lazily parsed reply survives JSON serialisation of the entry.
      expect((JSON.parse(JSON.stringify(entry)) as { reply: { body: unknown } }).reply.body).toEqual(stored.body);
      await second.close();
    });

    it('keeps API versions and types apart', async () => {
      const cache = await open();
      cache.put(v3Reply('dns', 'evil.example.com', { malicious: 3 }, T0));
      expect(await cache.get('v2', 'dns', 'evil.example.com')).toBeUndefined();
      expect(await cache.get('v3', 'url', 'evil.example.com')).toBeUndefined();
      expect((await cache.get('v3', 'dns', 'EVIL.example.com '))?.outcome).toBe('found');
      await cache.close();
    });

    it('finds a URL by any spelling of its canonical form', async () => {
      const cache = await open();
      cache.put(v3Reply('url', 'HTTP://Evil.Example.com', { malicious: 1 }, T0));
      expect((await cache.get('v3', 'url', 'http://evil.example.com/'))?.reply.value).toBe('HTTP://Evil.Example.com');
      expect(await cache.get('v3', 'url', 'http://evil.example.com/Path')).toBeUndefined();
      await cache.close();
    });

    it('stores not-found replies with a null body', async () => {
      const cache = await open();
      cache.put(v3Reply('dns', 'unknown.example.org', null, T0));
      const entry = await cache.get('v3', 'dns', 'unknown.example.org');
      expect(entry).toMatchObject({ outcome: 'not_found', stale: false });
      expect(entry?.reply.body).toBeNull();
      await cache.close();
    });

    it('replaces an entry with a newer reply but never with an older one', async () => {
      const cache = await open();
      cache.put(v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0 - 2 * HOUR));
      cache.put(v3Reply('ipv4', '1.2.3.4', { malicious: 5 }, T0 - HOUR));
      cache.put(v3Reply('ipv4', '1.2.3.4', { malicious: 9 }, T0 - 3 * HOUR));
      const entry = await cache.get('v3', 'ipv4', '1.2.3.4');
      expect(entry?.fetchedAt).toBe(T0 - HOUR);
      expect(entry?.reply.body).toMatchObject({ data: { attributes: { last_analysis_stats: { malicious: 5 } } } });
      expect((await cache.stats()).entries).toBe(1);
      await cache.close();
    });

    it('reads the newer reply when another writer replaced the entry after the lookup', async () => {
      const reader = await open();
      reader.put(v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0 - HOUR));
      const entry = await reader.get('v3', 'ipv4', '1.2.3.4');
      const writer = await open();
      writer.put(v3Reply('ipv4', '1.2.3.4', { malicious: 8 }, T0));
      await writer.close();
      const newer = { fetchedAt: T0, body: { data: { attributes: { last_analysis_stats: { malicious: 8 } } } } };
      expect((await reader.get('v3', 'ipv4', '1.2.3.4'))?.reply).toMatchObject(newer);
      // SQLite reads a reply on first use, so even the entry read before sees the newer one; PostgreSQL sends
      // the reply with the entry, in one round trip.
      if (backend.name === 'SQLite') expect(entry?.reply).toMatchObject(newer);
      else expect(entry?.fetchedAt).toBe(T0 - HOUR);
      await reader.close();
    });

    it('keeps v3 resolutions', async () => {
      const cache = await open();
      const resolutions = [{ type: 'resolution', attributes: { host_name: 'a.example.com', ip_address: '1.2.3.4' } }];
      cache.put({ ...v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0), resolutions });
      expect((await cache.get('v3', 'ipv4', '1.2.3.4'))?.reply.resolutions).toEqual(resolutions);
      await cache.close();
    });
  });

  describe('ResultCache file aliases', () => {
    it.each([
      ['md5 then sha256 and sha1 (v3)', 'v3', 'md5_hash', FILE.md5],
      ['sha256 then md5 and sha1 (v3)', 'v3', 'sha256_hash', FILE.sha256],
      ['sha1 then the others (v3)', 'v3', 'sha1_hash', FILE.sha1],
    ] as const)('%s', async (_name, api, type, value) => {
      const cache = await open();
      cache.put(v3Reply(type, value, { malicious: 2 }, T0));
      for (const [otherType, other] of [
        ['md5_hash', FILE.md5],
        ['sha1_hash', FILE.sha1],
        ['sha256_hash', FILE.sha256.toUpperCase()],
      ] as const) {
        const entry = await cache.get(api, otherType, other);
        expect(entry?.reply.value).toBe(value);
      }
      expect(await cache.stats()).toMatchObject({ entries: 1, fileAliases: 3 });
      await cache.close();
    });

    it('resolves v2 aliases from the report hashes, whatever their case', async () => {
      const cache = await open();
      cache.put(v2FileReply(FILE.md5, 30, T0));
      expect((await cache.get('v2', 'sha256_hash', FILE.sha256))?.reply.value).toBe(FILE.md5);
      expect(await cache.get('v3', 'sha256_hash', FILE.sha256)).toBeUndefined();
      await cache.close();
    });

    it('drops an earlier not-found under one hash once a reply names it as the file', async () => {
      const cache = await open();
      cache.put(v3Reply('md5_hash', FILE.md5, null, T0 - HOUR));
      expect((await cache.get('v3', 'md5_hash', FILE.md5))?.outcome).toBe('not_found');
      cache.put(v3Reply('sha256_hash', FILE.sha256, { malicious: 1 }, T0));
      expect((await cache.get('v3', 'md5_hash', FILE.md5))?.outcome).toBe('found');
      expect((await cache.stats()).entries).toBe(1);
      await cache.close();
    });

    it('does not alias a hash that was not found to anything else', async () => {
      const cache = await open();
      cache.put(v3Reply('sha256_hash', FILE.sha256, null, T0));
      expect((await cache.get('v3', 'sha256_hash', FILE.sha256))?.outcome).toBe('not_found');
      expect(await cache.get('v3', 'md5_hash', FILE.md5)).toBeUndefined();
      await cache.close();
    });
  });

  describe('ResultCache freshness', () => {
    const cases: [string, IocType, { malicious: number; suspicious?: number } | null, number][] = [
      ['malicious', 'ipv4', { malicious: 4 }, DAY],
      ['suspicious', 'ipv4', { malicious: 0, suspicious: 2 }, DAY],
      ['clean', 'ipv4', { malicious: 0 }, 7 * DAY],
      ['not found', 'ipv4', null, DAY],
    ];

    it.each(cases)('a %s reply is fresh until its default maximum age', async (_name, type, stats, maxAge) => {
      const cache = await open();
      cache.put(v3Reply(type, '9.9.9.9', stats, T0));
      clock = T0 + maxAge - 1;
      expect((await cache.get('v3', type, '9.9.9.9'))?.stale).toBe(false);
      clock = T0 + maxAge;
      expect(await cache.get('v3', type, '9.9.9.9')).toBeUndefined();
      expect(await cache.getIncludingStale('v3', type, '9.9.9.9')).toMatchObject({ stale: true, fetchedAt: T0 });
      await cache.close();
    });

    it('applies a policy given at open to replies stored before', async () => {
      const writer = await open();
      writer.put(v3Reply('dns', 'clean.example.com', { malicious: 0 }, T0));
      writer.put(v3Reply('dns', 'bad.example.com', { malicious: 1 }, T0));
      writer.put(v3Reply('dns', 'gone.example.com', null, T0));
      await writer.close();
      clock = T0 + 13 * HOUR;
      const reader = await open({ maxAge: { malicious: 2 * DAY, notFound: 12 * HOUR } });
      expect(await reader.get('v3', 'dns', 'clean.example.com')).toBeDefined();
      expect(await reader.get('v3', 'dns', 'bad.example.com')).toBeDefined();
      expect(await reader.get('v3', 'dns', 'gone.example.com')).toBeUndefined();
      expect((await reader.stats()).stale).toBe(1);
      await reader.close();
    });

    it('treats a v2 queued report (response_code -2) as not found', async () => {
      const cache = await open();
      cache.put(reply('v2', 'url', 'http://queued.example.com/', { response_code: -2, resource: 'x' }, T0));
      expect((await cache.get('v2', 'url', 'http://queued.example.com/'))?.outcome).toBe('not_found');
      await cache.close();
    });
  });

  describe('ResultCache stats, purge and export', () => {
    async function filled(): Promise<ResultCache> {
      const cache = await open();
      cache.put(v3Reply('md5_hash', FILE.md5, { malicious: 5 }, T0 - 2 * DAY));
      cache.put(v3Reply('dns', 'old-clean.example.com', { malicious: 0 }, T0 - 8 * DAY));
      cache.put(v3Reply('dns', 'new-clean.example.com', { malicious: 0 }, T0 - HOUR));
      cache.put(v3Reply('ipv4', '5.6.7.8', null, T0 - 3 * HOUR));
      cache.put(v2FileReply(FILE.sha1, 0, T0 - 30 * DAY));
      return cache;
    }

    it('counts entries by API and verdict, stale ones and aliases', async () => {
      const cache = await filled();
      expect(await cache.stats()).toMatchObject({
        entries: 5,
        byApi: { v3: 4, v2: 1 },
        byVerdict: { malicious: 1, suspicious: 0, clean: 3, not_found: 1 },
        stale: 3,
        fileAliases: 6,
        oldestFetchedAt: T0 - 30 * DAY,
        newestFetchedAt: T0 - HOUR,
      });
      expect((await cache.stats()).sizeBytes).toBeGreaterThan(0);
      await cache.close();
    });

    it.each([
      ['stale entries by default', {}, 3, 2],
      ['entries older than 2 days', { olderThanMs: 2 * DAY }, 3, 2],
      ['entries older than 2 hours', { olderThanMs: 2 * HOUR }, 4, 1],
      ['everything', { all: true }, 5, 0],
    ])('purges %s', async (_name, options, deleted, left) => {
      const cache = await filled();
      expect(await cache.purge(options)).toBe(deleted);
      expect((await cache.stats()).entries).toBe(left);
      await cache.close();
    });

    it('drops the aliases of purged files', async () => {
      const cache = await filled();
      await cache.purge({ all: true });
      expect((await cache.stats()).fileAliases).toBe(0);
      expect(await cache.get('v3', 'sha256_hash', FILE.sha256)).toBeUndefined();
      await cache.close();
    });

    it.each([
      [{ olderThanMs: -1 }, 'olderThanMs'],
      [{ olderThanMs: Number.NaN }, 'olderThanMs'],
      [{ olderThanMs: 5, all: true }, 'all'],
    ])('rejects purge options %o', async (options, option) => {
      const cache = await filled();
      await expect(cache.purge(options)).rejects.toThrow(errorWith({ code: 'BAD_OPTION', option }));
      await cache.close();
    });

    it('exports every entry with its aliases and verdict', async () => {
      const cache = await filled();
      const records = await collect(cache);
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
      await cache.close();
    });
  });

  describe('the cache never stores the API key', () => {
    it('scrubs a secret echoed in a reply from every stored cell (and, for SQLite, from the files)', async () => {
      const key = 'f3c1d9e8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9';
      const cache = await open({ redact: [key] });
      const echoed = v3Reply('url', 'http://evil.example.com/', { malicious: 1 }, T0, {
        last_final_url: `https://www.virustotal.com/vtapi/v2/url/report?apikey=${key}`,
      });
      cache.put(echoed);
      cache.put({ ...v3Reply('ipv4', '1.2.3.4', { malicious: 0 }, T0), resolutions: [{ note: key }] });
      cache.put(v2FileReply(FILE.md5, 1, T0));
      expect(JSON.stringify((await cache.get('v3', 'url', 'http://evil.example.com/'))?.reply)).toContain('[redacted]');
      // Replies as the client reads them (src/vt/lean-json.ts), kept as the text the server sent: the key as it is,
      // and with one character written as a JSON escape, which a search of the text alone would miss.
      const sent = (value: string, escaped: boolean): VtReply => {
        const { body } = v3Reply('dns', value, { malicious: 1 }, T0, {
          whois: `registrant ${key}`,
          last_analysis_results: { Engine: { category: 'malicious', result: 'phishing' } },
        });
        const text = JSON.stringify(body);
        return reply(
          'v3',
          'dns',
          value,
          parseReply(escaped ? text.replace(key, `\\u00${key.charCodeAt(0).toString(16)}${key.slice(1)}`) : text),
          T0,
        );
      };
      cache.put(sent('plain.example.com', false));
      cache.put(sent('escaped.example.com', true));
      for (const name of ['plain.example.com', 'escaped.example.com']) {
        const stored = JSON.stringify((await cache.get('v3', 'dns', name))?.reply.body);
        expect(stored).toContain('registrant [redacted]');
        expect(stored).toContain('phishing');
      }
      await cache.close();
      const cells = await backend.cells();
      expect(cells.length).toBeGreaterThan(20);
      for (const cell of cells) expect(cell).not.toContain(key);
    });
  });

  describe('batched commits', () => {
    it('commits the replies of one event-loop turn together, and each turn before the next', async () => {
      const cache = await open();
      const other = await open();
      for (let index = 0; index < 500; index++) cache.put(v3Reply('dns', `host-${index}.example.com`, null, T0));
      // Not committed yet: another connection does not see them before this turn ends. (SQLite reads answer
      // within the turn; a PostgreSQL read has to wait for the server, by which time the turn is over.)
      if (backend.name === 'SQLite') expect(await other.get('v3', 'dns', 'host-0.example.com')).toBeUndefined();
      await new Promise((resolve) => setImmediate(resolve));
      await cache.flush();
      expect((await other.getMany('v3', [{ type: 'dns', value: 'host-499.example.com' }]))[0]?.outcome).toBe(
        'not_found',
      );
      expect((await other.stats()).entries).toBe(500);
      await other.close();
      await cache.close();
    });

    it('answers many keys at once in the order asked, fresh entries only', async () => {
      const cache = await open();
      cache.put(v3Reply('dns', 'fresh.example.com', { malicious: 0 }, T0));
      cache.put(v3Reply('dns', 'stale.example.com', { malicious: 2 }, T0 - 2 * DAY));
      cache.put(v3Reply('md5_hash', FILE.md5, { malicious: 1 }, T0));
      const entries = await cache.getMany('v3', [
        { type: 'dns', value: 'stale.example.com' },
        { type: 'sha256_hash', value: FILE.sha256 },
        { type: 'dns', value: 'absent.example.com' },
        { type: 'dns', value: 'FRESH.example.com' },
      ]);
      expect(entries.map((entry) => entry?.reply.value)).toEqual([undefined, FILE.md5, undefined, 'fresh.example.com']);
      await cache.close();
    });

    it('throws a failed commit at the next put, never losing it silently', async () => {
      const cache = await open();
      // A reply that cannot be serialised makes the commit fail.
      const circular: Record<string, unknown> = {};
      circular['self'] = circular;
      cache.put({ api: 'v3', type: 'dns', value: 'loop.example.com', body: circular, fetchedAt: T0 });
      await expect(cache.flush()).rejects.toThrow();
      expect(() => cache.put(v3Reply('dns', 'next.example.com', null, T0))).toThrow();
      await expect(cache.close()).rejects.toThrow();
    });
  });
});

describe('the SQLite backend', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ioc-cache-'));
    clock = T0;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a file that is not a database', () => {
    const path = join(dir, 'not-a-db.db');
    writeFileSync(path, 'this is not sqlite, just some text that is long enough to be read as a header'.repeat(20));
    expect(() => SqliteResultCache.open(path)).toThrow(errorWith({ code: 'CACHE_ERROR' }));
  });

  it('refuses a cache written by a newer schema', async () => {
    const path = join(dir, 'newer.db');
    await SqliteResultCache.open(path).close();
    const db = new Database(path);
    db.prepare('UPDATE schema_version SET version = 99').run();
    db.close();
    let error: unknown;
    try {
      SqliteResultCache.open(path);
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
    expect(() => SqliteResultCache.open(path)).toThrow(
      errorWith({ code: 'CACHE_ERROR', message: expect.stringContaining('not an ioc-enrich cache') as unknown }),
    );
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT note FROM replies').pluck().all()).toEqual(['keep me']);
    after.close();
  });

  it('starts afresh on a cache of an older schema', async () => {
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
             CREATE TABLE replies (api TEXT, kind TEXT, id TEXT, body TEXT); INSERT INTO replies VALUES ('v3', 'dns', 'a.example.com', '{}')`);
    db.close();
    const cache = SqliteResultCache.open(path, { now });
    expect((await cache.stats()).entries).toBe(0);
    cache.put(v3Reply('dns', 'a.example.com', { malicious: 0 }, T0));
    expect((await cache.get('v3', 'dns', 'a.example.com'))?.outcome).toBe('found');
    await cache.close();
  });

  it.each([
    ['on its writer thread', true],
    ['on the calling thread', false],
  ])(
    'commits %s; a commit the file refuses is thrown by the next flush, naming the file',
    async (_how, writerThread) => {
      const path = join(dir, 'locked.db');
      const cache = SqliteResultCache.open(path, { now, writerThread, busyTimeoutMs: 50 });
      cache.put(v3Reply('dns', 'first.example.com', { malicious: 1 }, T0));
      await cache.flush();
      expect(await cache.committingOnThread()).toBe(writerThread);
      const other = new Database(path);
      other.prepare('BEGIN IMMEDIATE').run();
      cache.put(v3Reply('dns', 'second.example.com', { malicious: 1 }, T0));
      await expect(cache.flush()).rejects.toThrow(
        errorWith({
          code: 'CACHE_ERROR',
          message: expect.stringMatching(/locked\.db: cannot store 1 reply: database is locked/) as unknown,
        }),
      );
      other.prepare('ROLLBACK').run();
      other.close();
      await expect(cache.close()).rejects.toThrow(errorWith({ code: 'CACHE_ERROR' }));
      const reopened = SqliteResultCache.open(path, { now });
      expect((await reopened.get('v3', 'dns', 'first.example.com'))?.outcome).toBe('found');
      expect(await reopened.get('v3', 'dns', 'second.example.com')).toBeUndefined();
      await reopened.close();
    },
  );

  it.each([
    ['on its writer thread', true],
    ['on the calling thread', false],
  ])('stores text beyond ASCII exactly %s, and many replies of one batch each with its own', async (_how, thread) => {
    const path = join(dir, 'utf8.db');
    const cache = SqliteResultCache.open(path, { now, writerThread: thread });
    cache.put(v3Reply('dns', 'warmup.example.com', { malicious: 0 }, T0));
    await cache.flush();
    expect(await cache.committingOnThread()).toBe(thread);
    const names = ['bücher.de', 'пример.рф', '例え.テスト', 'emoji-😀.example'];
    for (const [index, name] of names.entries()) {
      cache.put({
        ...v3Reply('dns', `h${index}.example.com`, { malicious: index }, T0, { whois: `Registrant: ${name}` }),
        resolutions: [{ attributes: { host_name: name, ip_address: `5.6.7.${index}` } }],
      });
    }
    await cache.flush();
    for (const [index, name] of names.entries()) {
      const entry = await cache.get('v3', 'dns', `h${index}.example.com`);
      const attributes = (entry?.reply.body as { data: { attributes: Record<string, unknown> } }).data.attributes;
      expect(attributes['whois']).toBe(`Registrant: ${name}`);
      expect(attributes['last_analysis_stats']).toMatchObject({ malicious: index });
      expect(entry?.reply.resolutions).toEqual([{ attributes: { host_name: name, ip_address: `5.6.7.${index}` } }]);
    }
    await cache.close();
  });

  it('closes its writer thread before the process ends: the file is left whole, without a WAL', () => {
    const path = join(dir, 'closed.db');
    const script = `import { SqliteResultCache } from ${JSON.stringify(new URL('../../dist/cache/sqlite.js', import.meta.url).href)};
      const cache = SqliteResultCache.open(${JSON.stringify(path)});
      for (let i = 0; i < 200; i++) cache.put({ api: 'v3', type: 'dns', value: 'h' + i + '.example.com', body: null, fetchedAt: 1 });
      await cache.close();
      process.stdout.write('closed');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('closed');
    expect(readdirSync(dir).sort()).toEqual(['closed.db']);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM replies').pluck().get()).toBe(200);
    db.close();
  });

  it('opens in WAL mode', async () => {
    const path = join(dir, 'wal.db');
    await SqliteResultCache.open(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});

describe.skipIf(pgMissing !== undefined)('the PostgreSQL backend', () => {
  beforeEach(() => {
    schema = uniqueName('ioc_test');
    clock = T0;
  });
  afterEach(async () => {
    await dropSchema(schema);
  });

  it('refuses a schema holding other tables and leaves them alone', async () => {
    await pgQuery(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".replies (note text)`);
    await pgQuery(`INSERT INTO "${schema}".replies VALUES ('keep me')`);
    await expect(PostgresResultCache.open(pgCacheUrl(schema))).rejects.toThrow(
      errorWith({ code: 'CACHE_ERROR', message: expect.stringContaining('not an ioc-enrich cache') as unknown }),
    );
    expect(await pgQuery(`SELECT note FROM "${schema}".replies`)).toEqual([{ note: 'keep me' }]);
  });

  it('refuses a newer schema and starts afresh on an older one', async () => {
    const cache = await PostgresResultCache.open(pgCacheUrl(schema), { now });
    cache.put(v3Reply('dns', 'a.example.com', { malicious: 0 }, T0));
    await cache.close();
    await pgQuery(`UPDATE "${schema}".schema_version SET version = 99`);
    await expect(PostgresResultCache.open(pgCacheUrl(schema))).rejects.toThrow(/schema version 99/);
    await pgQuery(`UPDATE "${schema}".schema_version SET version = 1`);
    const again = await PostgresResultCache.open(pgCacheUrl(schema), { now });
    expect((await again.stats()).entries).toBe(0);
    await again.close();
  });

  it('creates its schema once when several hosts open it at the same moment', async () => {
    const caches = await Promise.all(Array.from({ length: 5 }, () => PostgresResultCache.open(pgCacheUrl(schema))));
    expect(await pgQuery(`SELECT count(*)::int AS n FROM "${schema}".schema_version`)).toEqual([{ n: 1 }]);
    await Promise.all(caches.map((cache) => cache.close()));
  });

  it('fails with a clear error naming the server, never the password', async () => {
    const url = 'postgres://someone:s3cret-pw@127.0.0.1:1/test';
    const error = await PostgresResultCache.open(url, { busyTimeoutMs: 2_000 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CACHE_ERROR' });
    expect(String((error as Error).message)).toContain('127.0.0.1:1');
    expect(String((error as Error).message)).not.toContain('s3cret-pw');
  });

  it('claims a lookup for one owner at a time, until released', async () => {
    const a = await PostgresResultCache.open(pgCacheUrl(schema));
    const b = await PostgresResultCache.open(pgCacheUrl(schema));
    const keys = [
      { type: 'dns', value: 'one.example.com' },
      { type: 'md5_hash', value: FILE.md5 },
    ] as const;
    expect(await a.claims.claim('v3', keys)).toEqual([true, true]);
    expect(await b.claims.claim('v3', [...keys, { type: 'dns', value: 'two.example.com' }])).toEqual([
      false,
      false,
      true,
    ]);
    // Another API version is another lookup.
    expect(await b.claims.claim('v2', keys)).toEqual([true, true]);
    a.claims.release('v3', keys[0]);
    await a.flush();
    expect(await b.claims.claim('v3', keys)).toEqual([true, false]);
    // Closing gives every claim up.
    await a.close();
    expect(await b.claims.claim('v3', keys)).toEqual([true, true]);
    await b.close();
  });
});
