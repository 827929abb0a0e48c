/**
 * The default cache backend: VirusTotal replies in an embedded SQLite file, so that scheduled and resumed
 * runs never pay twice for the same lookup.
 *
 * Design decisions:
 * - SQLite (better-sqlite3) in WAL mode with a busy timeout: several runs may share one file at once, readers
 *   never block the writer. Replies are committed in batches, one transaction per event-loop turn (see
 *   contract.ts): a killed run loses at most the requests in flight. synchronous=NORMAL is durable against a
 *   killed process under WAL; only a power cut may lose the last few commits, which costs a re-lookup, never
 *   a corrupt file.
 * - Writes use BEGIN IMMEDIATE: a deferred transaction that upgrades from read to write can fail with
 *   SQLITE_BUSY at once, whatever the busy timeout, when another process wrote in between.
 * - Freshness is decided when reading, from the stored verdict and fetch time, so a different `--max-age`
 *   applies to replies already stored.
 * - The reply JSON lives in a table of its own (see schema.ts) and is read and parsed on first use of
 *   `entry.reply`: a freshness check, or an entry that turns out stale, reads a small row only.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { IocEnrichError } from '../errors.js';
import { isHashType, type ApiVersion, type IocType, type VtReply } from '../types.js';
import { storageKey, type CacheOutcome, type CacheVerdict } from './classify.js';
import type {
  CacheExportRecord,
  CacheKey,
  CacheStats,
  CachedEntry,
  PurgeOptions,
  ResultCache,
  ResultCacheOptions,
} from './contract.js';
import { resolveMaxAge } from './max-age.js';
import {
  checkPurgeOptions,
  exportRecord,
  Freshness,
  replyOf,
  staleSql,
  storedReply,
  summarizeStats,
  type ExportRow,
  type StatsGroup,
} from './rows.js';
import { ensureSchema } from './schema.js';
import { WriteBatcher, type QueuedWrite } from './write-batcher.js';

/** A `replies` row as read. */
interface ReplyRow {
  reply_id: number;
  type: IocType;
  value: string;
  outcome: CacheOutcome;
  verdict: CacheVerdict;
  fetched_at: number;
}

/** A `bodies` row as read: UTF-8 JSON as BLOBs (a string, should a writer have stored TEXT). */
interface BodyRow {
  fetched_at: number;
  body: Buffer | string | null;
  resolutions: Buffer | string | null;
}

const ROW_COLUMNS = 'r.reply_id, r.type, r.value, r.outcome, r.verdict, r.fetched_at';
const STALE_SQL = staleSql((name) => `@${name}`);

/**
 * An entry as returned by a lookup. Design decision: a class with a `reply` accessor rather than a plain
 * object, so that a lookup allocates one small object and reads no JSON (measured: defining a lazy property
 * per entry cost a tenth of a lookup). `toJSON` includes the reply; an object spread (`{...entry}`) does not.
 */
class StoredEntry implements CachedEntry {
  readonly outcome: CacheOutcome;
  readonly fetchedAt: number;
  readonly stale: boolean;
  readonly #cache: SqliteResultCache;
  readonly #api: ApiVersion;
  readonly #row: ReplyRow;
  #reply: VtReply | undefined;

  constructor(cache: SqliteResultCache, api: ApiVersion, row: ReplyRow, stale: boolean) {
    this.outcome = row.outcome;
    this.fetchedAt = row.fetched_at;
    this.stale = stale;
    this.#cache = cache;
    this.#api = api;
    this.#row = row;
  }

  get reply(): VtReply {
    this.#reply ??= this.#cache.readReply(this.#api, this.#row);
    return this.#reply;
  }

  toJSON(): { reply: VtReply; outcome: CacheOutcome; fetchedAt: number; stale: boolean } {
    return { reply: this.reply, outcome: this.outcome, fetchedAt: this.fetchedAt, stale: this.stale };
  }
}

/** A value computed now, as a promise (a throw becomes a rejection): SQLite answers synchronously. */
function answered<T>(compute: () => T): Promise<T> {
  try {
    return Promise.resolve(compute());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** The SQLite backend of {@link ResultCache}. Open with {@link SqliteResultCache.open}. */
/**
 * Creates the cache's folder (0700) and file (0600) when they do not exist, whatever the umask: the cache holds what
 * a team looked up. SQLite gives its -wal and -shm files the database file's mode. Existing ones are left as they are.
 */
function createPrivately(path: string): void {
  const folder = dirname(path);
  if (!existsSync(folder)) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    chmodSync(folder, 0o700);
  }
  if (!existsSync(path)) {
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
}

export class SqliteResultCache implements ResultCache {
  readonly path: string;
  readonly claims = undefined;
  readonly #db: Database.Database;
  readonly #freshness: Freshness;
  readonly #selectDirect: Database.Statement<[string, string, string], ReplyRow>;
  readonly #selectFile: Database.Statement<[string, string], ReplyRow>;
  readonly #selectBody: Database.Statement<[number], BodyRow>;
  readonly #writes: WriteBatcher;

  private constructor(path: string, db: Database.Database, options: ResultCacheOptions) {
    this.path = path;
    this.#db = db;
    this.#freshness = new Freshness(resolveMaxAge(options.maxAge), options.now ?? Date.now);
    const secrets = (options.redact ?? []).filter((secret) => secret !== '');
    this.#selectDirect = db.prepare(`SELECT ${ROW_COLUMNS} FROM replies r WHERE r.api = ? AND r.kind = ? AND r.id = ?`);
    this.#selectFile = db.prepare(
      `SELECT ${ROW_COLUMNS} FROM file_aliases a
       JOIN replies r ON r.api = a.api AND r.kind = 'file' AND r.id = a.id
       WHERE a.api = ? AND a.hash = ?`,
    );
    this.#selectBody = db.prepare('SELECT fetched_at, body, resolutions FROM bodies WHERE reply_id = ?');
    // A reply older than the stored one (two runs racing on one file) does not overwrite it: then no row is
    // returned and the body is left alone.
    const upsert = db.prepare<unknown[], { reply_id: number }>(
      `INSERT INTO replies (api, kind, id, type, value, outcome, verdict, positives, fetched_at)
       VALUES (@api, @kind, @id, @type, @value, @outcome, @verdict, @positives, @fetchedAt)
       ON CONFLICT (api, kind, id) DO UPDATE SET
         type = excluded.type, value = excluded.value, outcome = excluded.outcome, verdict = excluded.verdict,
         positives = excluded.positives, fetched_at = excluded.fetched_at
       WHERE excluded.fetched_at >= replies.fetched_at
       RETURNING reply_id`,
    );
    const storeBody = db.prepare(
      'INSERT OR REPLACE INTO bodies (reply_id, fetched_at, body, resolutions) VALUES (?, ?, ?, ?)',
    );
    // An earlier "not found" stored under one hash is superseded once a reply names that hash as the file's.
    const deleteSupersededBody = db.prepare(
      `DELETE FROM bodies WHERE reply_id IN (SELECT reply_id FROM replies WHERE api = ? AND kind = 'file' AND id = ?)`,
    );
    const deleteSuperseded = db.prepare(`DELETE FROM replies WHERE api = ? AND kind = 'file' AND id = ?`);
    const alias = db.prepare(
      `INSERT INTO file_aliases (api, hash, id) VALUES (?, ?, ?) ON CONFLICT (api, hash) DO UPDATE SET id = excluded.id`,
    );
    const utf8 = (text: string | null): Buffer | null => (text === null ? null : Buffer.from(text, 'utf8'));
    const store = db.transaction((writes: QueuedWrite[]) => {
      for (const write of writes) {
        if (!('put' in write)) continue;
        const row = storedReply(write.put, secrets);
        const stored = upsert.get({
          api: row.api,
          kind: row.kind,
          id: row.id,
          type: row.type,
          value: row.value,
          outcome: row.outcome,
          verdict: row.verdict,
          positives: row.positives,
          fetchedAt: row.fetchedAt,
        });
        if (stored !== undefined) storeBody.run(stored.reply_id, row.fetchedAt, utf8(row.body), utf8(row.resolutions));
        for (const hash of row.superseded) {
          deleteSupersededBody.run(row.api, hash);
          deleteSuperseded.run(row.api, hash);
        }
        for (const hash of row.aliases) alias.run(row.api, hash, row.id);
      }
    });
    this.#writes = new WriteBatcher((writes) => {
      try {
        store.immediate(writes);
      } catch (error) {
        throw this.#failure(`cannot store ${writes.length} repl${writes.length === 1 ? 'y' : 'ies'}`, error);
      }
    }, options.flushDelayMs ?? 0);
  }

  /**
   * Opens (creating it and its directory if needed) the cache file at `path`; `:memory:` gives a private
   * in-memory cache.
   *
   * @throws IocEnrichError `CACHE_ERROR` when the file cannot be opened, is not a cache, or has a newer schema.
   */
  static open(path: string, options: ResultCacheOptions = {}): SqliteResultCache {
    const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') createPrivately(path);
      db = new Database(path, { timeout: busyTimeoutMs });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // 32 MiB of page cache (default 2 MiB): the lookup rows and key indexes of ~200,000 entries stay in memory.
      db.pragma('cache_size = -32768');
      ensureSchema(db, path);
      return new SqliteResultCache(path, db, options);
    } catch (error) {
      db?.close();
      if (error instanceof IocEnrichError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new IocEnrichError('CACHE_ERROR', `${path}: cannot open the cache: ${reason}`, { cause: error });
    }
  }

  getMany(api: ApiVersion, keys: readonly CacheKey[]): Promise<Array<CachedEntry | undefined>> {
    return answered(() => {
      this.#writes.flushSync();
      return keys.map(({ type, value }) => this.#fresh(this.#lookup(api, type, value)));
    });
  }

  async get(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined> {
    return this.#fresh(await this.getIncludingStale(api, type, value));
  }

  getIncludingStale(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined> {
    return answered(() => {
      this.#writes.flushSync();
      return this.#lookup(api, type, value);
    });
  }

  put(reply: VtReply): void {
    this.#writes.add({ put: reply });
  }

  flush(): Promise<void> {
    return this.#writes.flush();
  }

  async stats(): Promise<CacheStats> {
    await this.flush();
    const groups = this.#db
      .prepare(
        `SELECT api, verdict, count(*) AS entries, sum(${STALE_SQL}) AS stale,
                min(fetched_at) AS oldest, max(fetched_at) AS newest
         FROM replies GROUP BY api, verdict`,
      )
      .all(this.#freshness.cutoffs()) as StatsGroup[];
    const aliases = this.#db.prepare('SELECT count(*) AS n FROM file_aliases').get() as { n: number };
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
    return summarizeStats(this.path, groups, aliases.n, pages * pageSize);
  }

  async purge(options: PurgeOptions = {}): Promise<number> {
    checkPurgeOptions(options);
    await this.flush();
    const { olderThanMs, all = false } = options;
    const purge = this.#db.transaction((): number => {
      let deleted: number;
      if (all) {
        this.#db.prepare('DELETE FROM bodies').run();
        deleted = this.#db.prepare('DELETE FROM replies').run().changes;
      } else {
        const [where, parameters] =
          olderThanMs === undefined
            ? [STALE_SQL, this.#freshness.cutoffs()]
            : ['fetched_at <= @cutoff', { cutoff: this.#freshness.olderThan(olderThanMs) }];
        this.#db
          .prepare(`DELETE FROM bodies WHERE reply_id IN (SELECT reply_id FROM replies WHERE ${where})`)
          .run(parameters);
        deleted = this.#db.prepare(`DELETE FROM replies WHERE ${where}`).run(parameters).changes;
      }
      this.#db
        .prepare(
          `DELETE FROM file_aliases WHERE NOT EXISTS (SELECT 1 FROM replies r
             WHERE r.api = file_aliases.api AND r.kind = 'file' AND r.id = file_aliases.id)`,
        )
        .run();
      return deleted;
    });
    try {
      return purge.immediate();
    } catch (error) {
      throw this.#failure('cannot purge', error);
    }
  }

  async *export(): AsyncIterableIterator<CacheExportRecord> {
    await this.flush();
    const statement = this.#db.prepare(
      `SELECT r.api, ${ROW_COLUMNS}, b.body, b.resolutions,
         (SELECT group_concat(a.hash, ',') FROM file_aliases a WHERE a.api = r.api AND a.id = r.id AND r.kind = 'file') AS aliases
       FROM replies r LEFT JOIN bodies b ON b.reply_id = r.reply_id ORDER BY r.api, r.kind, r.id`,
    );
    for (const row of statement.iterate() as IterableIterator<ExportRow>) yield exportRecord(row, this.#freshness);
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#db.close();
    }
  }

  #lookup(api: ApiVersion, type: IocType, value: string): CachedEntry | undefined {
    const { kind, id } = storageKey(type, value);
    const row = isHashType(type) ? this.#selectFile.get(api, id) : this.#selectDirect.get(api, kind, id);
    return row === undefined
      ? undefined
      : new StoredEntry(this, api, row, this.#freshness.isStale(row.verdict, row.fetched_at));
  }

  #fresh(entry: CachedEntry | undefined): CachedEntry | undefined {
    return entry === undefined || entry.stale ? undefined : entry;
  }

  /**
   * Reads an entry's reply. Another run may have replaced it since (then the newer reply is returned, with its
   * own fetchedAt) or purged it in the microseconds between (then this throws).
   * @internal for {@link StoredEntry}
   */
  readReply(api: ApiVersion, row: ReplyRow): VtReply {
    const stored = this.#selectBody.get(row.reply_id);
    if (stored === undefined) {
      throw new IocEnrichError(
        'CACHE_ERROR',
        `${this.path}: the cached reply for ${row.value} was purged while being read`,
      );
    }
    return replyOf(api, row, stored);
  }

  #failure(what: string, error: unknown): IocEnrichError {
    const reason = error instanceof Error ? error.message : String(error);
    return new IocEnrichError('CACHE_ERROR', `${this.path}: ${what}: ${reason}`, { cause: error });
  }
}
