/**
 * The cache's contract: what the pipeline, the CLI and the tests see, whichever backend holds the replies
 * (an embedded SQLite file, the default; or a PostgreSQL database shared by a team).
 *
 * Design decisions:
 * - Reads and writes are asynchronous, since a server cannot answer synchronously; the SQLite backend answers
 *   at once underneath, so awaiting it costs one microtask per call. The pipeline asks for the whole set of
 *   observables at once ({@link ResultCache.getMany}), one call before any lookup.
 * - `put` returns nothing and never waits: replies are queued and every reply queued in one event-loop turn
 *   (or within `flushDelayMs`) is committed in one transaction (issue 13 §5: one commit per reply capped a
 *   premium run at about 5,100 replies/s). One batch is committed at a time, the next as soon as it ends, so a
 *   killed run loses at most the requests in flight and the batch being committed. SQLite commits on a writer
 *   thread (src/cache/sqlite-writer.ts), PostgreSQL on its server. A failed commit is thrown by the next
 *   `put`, `flush`, read or `close`, never swallowed.
 * - Reads see the caller's own queued writes: they flush first.
 */
import type { ApiVersion, IocType, VtReply } from '../types.js';
import type { CacheOutcome, CacheVerdict } from './classify.js';
import type { MaxAgePolicy } from './max-age.js';

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

/** Options of every backend. */
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
  /** SQLite: how long a write waits for another process holding the file's write lock. @default 10000 */
  busyTimeoutMs?: number;
  /**
   * How long queued replies wait before their commit: 0 commits those of one event-loop turn together.
   * @default 0
   */
  flushDelayMs?: number;
  /**
   * SQLite: commit on a writer thread of the file's own (see src/cache/sqlite-writer.ts); false commits on the
   * calling thread. A private `:memory:` cache always commits on the calling thread.
   * @default true
   */
  writerThread?: boolean;
  /** PostgreSQL: connections in the pool (size it to the lookup concurrency). @default 4 */
  poolSize?: number;
}

/** Counts returned by {@link ResultCache.stats}. */
export interface CacheStats {
  /** The file, or the database URL without its password. */
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
  /** Size of the stored data in bytes (SQLite: the database pages without the WAL; PostgreSQL: the tables). */
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

/** What {@link ResultCache.getMany} is asked about. */
export interface CacheKey {
  readonly type: IocType;
  readonly value: string;
}

/** Options of {@link ResultCache.purge}. */
export interface PurgeOptions {
  olderThanMs?: number;
  all?: boolean;
}

/**
 * Lookups several processes are about to make, so that two hosts sharing one cache do not pay twice for one
 * observable: a process claims what it will look up, the others leave it alone while the claim lives.
 * Only shared backends have it.
 */
export interface LookupClaims {
  /** How long a claim lives unless renewed (its owner renews its claims while it runs). */
  readonly claimTtlMs: number;
  /** Claims the observables not claimed by a live other owner; true where this process now owns the claim. */
  claim(api: ApiVersion, keys: readonly CacheKey[]): Promise<boolean[]>;
  /** Gives a claim up (queued: committed with the replies of the same turn). */
  release(api: ApiVersion, key: CacheKey): void;
}

/** The persistent store of VirusTotal replies. Open with `openResultCache`; close when done. */
export interface ResultCache {
  /** The file, or the database URL without its password. */
  readonly path: string;
  /** Present on shared backends: see {@link LookupClaims}. */
  readonly claims: LookupClaims | undefined;
  /** The fresh entry for each key (undefined where there is none or it is stale), in the order asked. */
  getMany(api: ApiVersion, keys: readonly CacheKey[]): Promise<Array<CachedEntry | undefined>>;
  /** The fresh entry for an observable, or undefined when there is none or it is stale. */
  get(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined>;
  /** The entry for an observable, fresh or stale (see `entry.stale`), or undefined when there is none. */
  getIncludingStale(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined>;
  /**
   * Queues a reply (replacing an older one for the same observable, never a newer one); it is committed with
   * the others of the same event-loop turn. Throws the failure of an earlier commit.
   */
  put(reply: VtReply): void;
  /** Commits every queued reply now. */
  flush(): Promise<void>;
  /** Counts by API and verdict, how many are stale under the current policy, and the stored size. */
  stats(): Promise<CacheStats>;
  /**
   * Deletes entries and returns how many: all of them (`all`), those fetched at least `olderThanMs` ago, or by
   * default those stale under the current policy.
   *
   * @throws OptionError for a negative or non-finite `olderThanMs`, or `olderThanMs` with `all`.
   */
  purge(options?: PurgeOptions): Promise<number>;
  /** Every entry, one record each, in key order. Do not use the cache for anything else meanwhile. */
  export(): AsyncIterable<CacheExportRecord>;
  /** Commits what is queued and closes. The cache cannot be used afterwards. */
  close(): Promise<void>;
}
