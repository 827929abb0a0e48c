/**
 * The default cache backend: VirusTotal replies in an embedded SQLite file, so that scheduled and resumed
 * runs never pay twice for the same lookup.
 *
 * Design decisions:
 * - SQLite (better-sqlite3) in WAL mode with a busy timeout (sqlite-store.ts): several runs may share one file
 *   at once, readers never block the writer. Replies are committed in batches, one transaction per event-loop
 *   turn (see contract.ts), on a writer thread with its own connection (sqlite-writer.ts): a killed run loses
 *   at most the requests in flight and the batch being committed.
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
import { openCacheDatabase, replyStorer, sqliteRow, type SqliteRow } from './sqlite-store.js';
import { WriterThread, writerWorkerUrl } from './sqlite-writer.js';
import { WriteBatcher } from './write-batcher.js';

/** What a failed commit of `count` replies could not do. */
const stored = (count: number): string => `cannot store ${count} repl${count === 1 ? 'y' : 'ies'}`;

/** How long a statement waits for another process's lock before it fails. */
const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

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
  readonly #writes: WriteBatcher<SqliteRow>;
  readonly #secrets: readonly string[];
  /** The writer thread, once the first reply is stored (see the constructor). */
  #thread: WriterThread | undefined;

  private constructor(path: string, db: Database.Database, options: ResultCacheOptions) {
    this.path = path;
    this.#db = db;
    this.#freshness = new Freshness(resolveMaxAge(options.maxAge), options.now ?? Date.now);
    this.#secrets = (options.redact ?? []).filter((secret) => secret !== '');
    this.#selectDirect = db.prepare(`SELECT ${ROW_COLUMNS} FROM replies r WHERE r.api = ? AND r.kind = ? AND r.id = ?`);
    this.#selectFile = db.prepare(
      `SELECT ${ROW_COLUMNS} FROM file_aliases a
       JOIN replies r ON r.api = a.api AND r.kind = 'file' AND r.id = a.id
       WHERE a.api = ? AND a.hash = ?`,
    );
    this.#selectBody = db.prepare('SELECT fetched_at, body, resolutions FROM bodies WHERE reply_id = ?');
    // Commits run on a writer thread of the file's own (see sqlite-writer.ts), or here for a private in-memory
    // cache (which no other connection can see) and where the thread's script is missing.
    const threadUrl = path === ':memory:' || options.writerThread === false ? undefined : writerWorkerUrl();
    let storeHere: ((rows: readonly SqliteRow[]) => void) | undefined;
    let thread: WriterThread | undefined;
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.#writes = new WriteBatcher<SqliteRow>(async (rows) => {
      const failed = (error: unknown): IocEnrichError => this.#failure(stored(rows.length), error);
      try {
        if (threadUrl !== undefined) thread ??= this.#thread = new WriterThread(threadUrl, { path, busyTimeoutMs });
        // Here until the thread has opened the file (see WriterThread.ready).
        if (thread === undefined || !thread.ready) {
          storeHere ??= replyStorer(db);
          storeHere(rows);
          return;
        }
      } catch (error) {
        throw failed(error);
      }
      await thread.commit(rows).catch((error: unknown) => {
        throw failed(error);
      });
    }, options.flushDelayMs ?? 0);
  }

  /**
   * Opens (creating it and its directory if needed) the cache file at `path`; `:memory:` gives a private
   * in-memory cache.
   *
   * @throws IocEnrichError `CACHE_ERROR` when the file cannot be opened, is not a cache, or has a newer schema.
   */
  static open(path: string, options: ResultCacheOptions = {}): SqliteResultCache {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') createPrivately(path);
      db = openCacheDatabase(path, busyTimeoutMs);
      ensureSchema(db, path);
      return new SqliteResultCache(path, db, options);
    } catch (error) {
      db?.close();
      if (error instanceof IocEnrichError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new IocEnrichError('CACHE_ERROR', `${path}: cannot open the cache: ${reason}`, { cause: error });
    }
  }

  async getMany(api: ApiVersion, keys: readonly CacheKey[]): Promise<Array<CachedEntry | undefined>> {
    // What this cache was given is read back: the queued replies are committed first.
    await this.#writes.flush();
    return keys.map(({ type, value }) => this.#fresh(this.#lookup(api, type, value)));
  }

  async get(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined> {
    return this.#fresh(await this.getIncludingStale(api, type, value));
  }

  async getIncludingStale(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined> {
    await this.#writes.flush();
    return this.#lookup(api, type, value);
  }

  put(reply: VtReply): void {
    let row: SqliteRow;
    try {
      row = sqliteRow(storedReply(reply, this.#secrets));
    } catch (error) {
      // As a failed commit: thrown by the next put, flush, read or close (see contract.ts).
      this.#writes.fail(this.#failure(stored(1), error));
      return;
    }
    this.#writes.add(row);
  }

  flush(): Promise<void> {
    return this.#writes.flush();
  }

  /**
   * Whether replies are now committed on the writer thread: false while it starts (or where there is none).
   * Waits for a thread that is starting. For tests and diagnostics.
   */
  async committingOnThread(): Promise<boolean> {
    return this.#thread === undefined ? false : (await this.#thread.started) && this.#thread.ready;
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
      try {
        await this.#thread?.close();
      } finally {
        this.#db.close();
      }
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
