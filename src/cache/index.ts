/**
 * The persistent result cache: VirusTotal replies in an embedded SQLite file, so that scheduled and resumed
 * runs never pay twice for the same lookup.
 *
 * Design decisions:
 * - SQLite (better-sqlite3) in WAL mode with a busy timeout: several runs may share one file at once, readers
 *   never block the writer, and each reply is committed as it arrives (a killed run loses at most the
 *   requests in flight). synchronous=NORMAL is durable against a killed process under WAL; only a power cut
 *   may lose the last few commits, which costs a re-lookup, never a corrupt file.
 * - Writes use BEGIN IMMEDIATE: a deferred transaction that upgrades from read to write can fail with
 *   SQLITE_BUSY at once, whatever the busy timeout, when another process wrote in between.
 * - Freshness is decided when reading, from the stored verdict and fetch time, so a different `--max-age`
 *   applies to replies already stored.
 * - The reply JSON lives in a table of its own (see schema.ts) and is read and parsed on first use of
 *   `entry.reply`: a freshness check, or an entry that turns out stale, reads a small row only.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { redactText, secretForms } from '../redact.js';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { IocEnrichError, OptionError } from '../errors.js';
import { isHashType, type ApiVersion, type IocType, type VtReply } from '../types.js';
import { classifyReply, storageKey, type CacheOutcome, type CacheVerdict } from './classify.js';
import { resolveMaxAge, type MaxAgePolicy, type ResolvedMaxAgePolicy } from './max-age.js';
import { ensureSchema } from './schema.js';

export { classifyReply, type CacheOutcome, type CacheVerdict } from './classify.js';
export { defaultCachePath } from './location.js';
export {
  DEFAULT_MAX_AGE,
  parseDuration,
  parseMaxAge,
  resolveMaxAge,
  type MaxAgePolicy,
  type ResolvedMaxAgePolicy,
} from './max-age.js';

/** A cached reply and what the cache knows about it. */
export interface CachedEntry {
  /** The reply as stored. For a file, `reply.value` is the hash first looked up, maybe another of its hashes. */
  readonly reply: VtReply;
  readonly outcome: CacheOutcome;
  /** Epoch milliseconds when the reply was fetched from VirusTotal. */
  readonly fetchedAt: number;
  /** True when the entry is at least as old as the policy's maximum age for its verdict. */
  readonly stale: boolean;
}

/** Options of {@link ResultCache.open}. */
export interface ResultCacheOptions {
  /** The clock, epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Maximum ages; unset verdicts keep {@link DEFAULT_MAX_AGE}. */
  maxAge?: Partial<MaxAgePolicy>;
  /**
   * Secrets (the API key) replaced by `[redacted]` in every stored text, should a server ever echo one in a
   * reply body. Empty strings are ignored. @default []
   */
  redact?: readonly string[];
  /** How long a write waits for another process holding the file's write lock. @default 10000 */
  busyTimeoutMs?: number;
}

/** Counts returned by {@link ResultCache.stats}. */
export interface CacheStats {
  readonly path: string;
  readonly entries: number;
  readonly byApi: Readonly<Record<ApiVersion, number>>;
  readonly byVerdict: Readonly<Record<CacheVerdict, number>>;
  /** Entries the current policy would look up again. */
  readonly stale: number;
  /** Hashes that resolve to a file entry (each file counts its md5, sha1 and sha256). */
  readonly fileAliases: number;
  /** Epoch milliseconds of the oldest and newest reply; undefined when empty. */
  readonly oldestFetchedAt: number | undefined;
  readonly newestFetchedAt: number | undefined;
  /** Size of the database pages in bytes (excluding the WAL file). */
  readonly sizeBytes: number;
}

/** One line of {@link ResultCache.export}. */
export interface CacheExportRecord {
  readonly api: ApiVersion;
  readonly type: IocType;
  readonly value: string;
  readonly outcome: CacheOutcome;
  readonly verdict: CacheVerdict;
  /** ISO 8601 UTC. */
  readonly fetchedAt: string;
  readonly stale: boolean;
  /** For a file: every hash that finds this entry. */
  readonly aliases?: readonly string[];
  readonly body: unknown;
  readonly resolutions?: readonly unknown[];
}

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

function parseJson(stored: Buffer | string): unknown {
  return JSON.parse(typeof stored === 'string' ? stored : stored.toString('utf8'));
}

/** Named parameters of the statements that compare fetch times with the policy. */
interface Cutoffs {
  malicious: number;
  suspicious: number;
  clean: number;
  not_found: number;
}

/** `fetched_at` at or before the cutoff of its verdict: the SQL twin of {@link ResultCache.isStale}. */
const STALE_SQL = `(CASE verdict
  WHEN 'malicious' THEN fetched_at <= @malicious
  WHEN 'suspicious' THEN fetched_at <= @suspicious
  WHEN 'clean' THEN fetched_at <= @clean
  ELSE fetched_at <= @not_found END)`;

/**
 * An entry as returned by a lookup. Design decision: a class with a `reply` accessor rather than a plain
 * object, so that a lookup allocates one small object and reads no JSON (measured: defining a lazy property
 * per entry cost a tenth of a lookup). `toJSON` includes the reply; an object spread (`{...entry}`) does not.
 */
class StoredEntry implements CachedEntry {
  readonly outcome: CacheOutcome;
  readonly fetchedAt: number;
  readonly stale: boolean;
  readonly #cache: ResultCache;
  readonly #api: ApiVersion;
  readonly #row: ReplyRow;
  #reply: VtReply | undefined;

  constructor(cache: ResultCache, api: ApiVersion, row: ReplyRow, stale: boolean) {
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

/** The persistent store of VirusTotal replies. Open with {@link ResultCache.open}; close when done. */
export class ResultCache {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #policy: ResolvedMaxAgePolicy;
  readonly #redact: readonly string[];
  readonly #selectDirect: Database.Statement<[string, string, string], ReplyRow>;
  readonly #selectFile: Database.Statement<[string, string], ReplyRow>;
  readonly #selectBody: Database.Statement<[number], BodyRow>;
  readonly #store: (reply: VtReply) => void;

  private constructor(path: string, db: Database.Database, options: ResultCacheOptions) {
    this.path = path;
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#policy = resolveMaxAge(options.maxAge);
    this.#redact = secretForms(options.redact ?? []);
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
    const store = db.transaction((reply: VtReply) => {
      const classified = classifyReply(reply);
      const { kind, id: asked } = storageKey(reply.type, reply.value);
      const sha256 = classified.hashes.find((hash) => hash.length === 64);
      const id = kind === 'file' && sha256 !== undefined ? sha256 : asked;
      const fetchedAt = Math.round(reply.fetchedAt);
      const stored = upsert.get({
        api: reply.api,
        kind,
        id,
        type: reply.type,
        value: reply.value,
        outcome: classified.outcome,
        verdict: classified.verdict,
        positives: classified.positives,
        fetchedAt,
      });
      if (stored !== undefined) {
        storeBody.run(
          stored.reply_id,
          fetchedAt,
          reply.body === undefined || reply.body === null ? null : this.#json(reply.body),
          reply.resolutions === undefined ? null : this.#json(reply.resolutions),
        );
      }
      if (kind !== 'file') return;
      for (const hash of new Set([asked, ...classified.hashes])) {
        if (hash !== id) {
          deleteSupersededBody.run(reply.api, hash);
          deleteSuperseded.run(reply.api, hash);
        }
        alias.run(reply.api, hash, id);
      }
    });
    this.#store = (reply) => store.immediate(reply);
  }

  /**
   * Opens (creating it and its directory if needed) the cache file at `path`; `:memory:` gives a private
   * in-memory cache.
   *
   * @throws IocEnrichError `CACHE_ERROR` when the file cannot be opened, is not a cache, or has a newer schema.
   */
  static open(path: string, options: ResultCacheOptions = {}): ResultCache {
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
      return new ResultCache(path, db, options);
    } catch (error) {
      db?.close();
      if (error instanceof IocEnrichError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new IocEnrichError('CACHE_ERROR', `${path}: cannot open the cache: ${reason}`, { cause: error });
    }
  }

  /** The fresh entry for an observable, or undefined when there is none or it is stale. */
  get(api: ApiVersion, type: IocType, value: string): CachedEntry | undefined {
    const entry = this.getIncludingStale(api, type, value);
    return entry === undefined || entry.stale ? undefined : entry;
  }

  /** The entry for an observable, fresh or stale (see `entry.stale`), or undefined when there is none. */
  getIncludingStale(api: ApiVersion, type: IocType, value: string): CachedEntry | undefined {
    const { kind, id } = storageKey(type, value);
    const row = isHashType(type) ? this.#selectFile.get(api, id) : this.#selectDirect.get(api, kind, id);
    return row === undefined ? undefined : this.#entry(api, row);
  }

  /** Stores a reply, replacing an older one for the same observable, and commits at once. */
  put(reply: VtReply): void {
    try {
      this.#store(reply);
    } catch (error) {
      throw this.#failure('cannot store a reply', error);
    }
  }

  /** Counts by API and verdict, how many are stale under the current policy, and the file size. */
  stats(): CacheStats {
    const rows = this.#db
      .prepare(
        `SELECT api, verdict, count(*) AS entries, sum(${STALE_SQL}) AS stale,
                min(fetched_at) AS oldest, max(fetched_at) AS newest
         FROM replies GROUP BY api, verdict`,
      )
      .all(this.#cutoffs()) as {
      api: ApiVersion;
      verdict: CacheVerdict;
      entries: number;
      stale: number;
      oldest: number;
      newest: number;
    }[];
    const byApi: Record<ApiVersion, number> = { v3: 0, v2: 0 };
    const byVerdict: Record<CacheVerdict, number> = { malicious: 0, suspicious: 0, clean: 0, not_found: 0 };
    let stale = 0;
    let oldest: number | undefined;
    let newest: number | undefined;
    for (const row of rows) {
      byApi[row.api] += row.entries;
      byVerdict[row.verdict] += row.entries;
      stale += row.stale;
      oldest = oldest === undefined ? row.oldest : Math.min(oldest, row.oldest);
      newest = newest === undefined ? row.newest : Math.max(newest, row.newest);
    }
    const aliases = this.#db.prepare('SELECT count(*) AS n FROM file_aliases').get() as { n: number };
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
    return {
      path: this.path,
      entries: byApi.v3 + byApi.v2,
      byApi,
      byVerdict,
      stale,
      fileAliases: aliases.n,
      oldestFetchedAt: oldest,
      newestFetchedAt: newest,
      sizeBytes: pages * pageSize,
    };
  }

  /**
   * Deletes entries and returns how many: all of them (`all`), those fetched at least `olderThanMs` ago, or by
   * default those stale under the current policy.
   *
   * @throws OptionError for a negative or non-finite `olderThanMs`, or `olderThanMs` with `all`.
   */
  purge(options: { olderThanMs?: number; all?: boolean } = {}): number {
    const { olderThanMs, all = false } = options;
    if (olderThanMs !== undefined && (!Number.isFinite(olderThanMs) || olderThanMs < 0)) {
      throw new OptionError('olderThanMs', olderThanMs, 'a non-negative number of milliseconds');
    }
    if (all && olderThanMs !== undefined) {
      throw new OptionError('all', all, 'not combined with olderThanMs');
    }
    const purge = this.#db.transaction((): number => {
      let deleted: number;
      if (all) {
        this.#db.prepare('DELETE FROM bodies').run();
        deleted = this.#db.prepare('DELETE FROM replies').run().changes;
      } else {
        const [where, parameters] =
          olderThanMs === undefined
            ? [STALE_SQL, this.#cutoffs()]
            : ['fetched_at <= @cutoff', { cutoff: this.#now() - olderThanMs }];
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

  /**
   * Every entry, one record each, in key order: what `ioc-enrich cache export` writes as JSON lines. Do not
   * use the cache for anything else until the iteration ends (SQLite keeps the statement open).
   */
  *export(): IterableIterator<CacheExportRecord> {
    const statement = this.#db.prepare(
      `SELECT r.api, ${ROW_COLUMNS}, b.body, b.resolutions,
         (SELECT group_concat(a.hash, ',') FROM file_aliases a WHERE a.api = r.api AND a.id = r.id AND r.kind = 'file') AS aliases
       FROM replies r LEFT JOIN bodies b ON b.reply_id = r.reply_id ORDER BY r.api, r.kind, r.id`,
    );
    type ExportRow = ReplyRow & Omit<BodyRow, 'fetched_at'> & { api: ApiVersion; aliases: string | null };
    for (const row of statement.iterate() as IterableIterator<ExportRow>) {
      yield {
        api: row.api,
        type: row.type,
        value: row.value,
        outcome: row.outcome,
        verdict: row.verdict,
        fetchedAt: new Date(row.fetched_at).toISOString(),
        stale: this.#isStale(row),
        ...(row.aliases === null ? {} : { aliases: row.aliases.split(',').sort() }),
        body: row.body === null ? null : parseJson(row.body),
        ...(row.resolutions === null ? {} : { resolutions: parseJson(row.resolutions) as unknown[] }),
      };
    }
  }

  /** Closes the file. The cache cannot be used afterwards. */
  close(): void {
    this.#db.close();
  }

  #entry(api: ApiVersion, row: ReplyRow): CachedEntry {
    return new StoredEntry(this, api, row, this.#isStale(row));
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
    return {
      api,
      type: row.type,
      value: row.value,
      body: stored.body === null ? null : parseJson(stored.body),
      ...(stored.resolutions === null ? {} : { resolutions: parseJson(stored.resolutions) as unknown[] }),
      fetchedAt: stored.fetched_at,
    };
  }

  #isStale(row: Pick<ReplyRow, 'verdict' | 'fetched_at'>): boolean {
    const maxAge = row.verdict === 'not_found' ? this.#policy.notFound : this.#policy[row.verdict];
    return this.#now() - row.fetched_at >= maxAge;
  }

  #cutoffs(): Cutoffs {
    const now = this.#now();
    return {
      malicious: now - this.#policy.malicious,
      suspicious: now - this.#policy.suspicious,
      clean: now - this.#policy.clean,
      not_found: now - this.#policy.notFound,
    };
  }

  /** The JSON of a value, secrets scrubbed, as UTF-8 bytes. */
  #json(value: unknown): Buffer {
    return Buffer.from(redactText(JSON.stringify(value), this.#redact), 'utf8');
  }

  #failure(what: string, error: unknown): IocEnrichError {
    const reason = error instanceof Error ? error.message : String(error);
    return new IocEnrichError('CACHE_ERROR', `${this.path}: ${what}: ${reason}`, { cause: error });
  }
}
