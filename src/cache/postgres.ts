/**
 * The shared cache backend: VirusTotal replies in a PostgreSQL database that every host of a team reaches,
 * so that what one job learned an hour ago costs the next job nothing.
 *
 * Design decisions:
 * - The `pg` client (node-postgres): the most used and best kept PostgreSQL client for Node, pure JavaScript
 *   (nothing to build), with a pool. The pool is sized to the lookup concurrency by the caller.
 * - Same tables and rules as the SQLite file (schema.ts, rows.ts), in a PostgreSQL schema of their own
 *   (`ioc_enrich`, or `?schema=NAME` in the URL, so one database can hold several caches or a test's own).
 *   The tool creates it and migrates it with a version table, under an advisory lock so that several hosts
 *   starting at once do not race.
 * - Writes are batched (one transaction per event-loop turn, see contract.ts) as multi-row statements over
 *   arrays (`unnest`), sorted by key so that concurrent writers lock rows in one order (no deadlock), and
 *   upserts that never replace a newer reply with an older one (no lost update). A transaction that still
 *   meets a deadlock or serialization failure is retried.
 * - Reads fetch the rows and the bodies of the fresh ones in one query per 5,000 keys.
 * - Claims (see {@link LookupClaims}) live in a table with an expiry taken from the server's clock (the hosts'
 *   clocks may differ); each process renews its own every third of their lifetime and drops them on close.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { IocEnrichError, OptionError } from '../errors.js';
import type { ApiVersion, IocType, VtReply } from '../types.js';
import { storageKey, type CacheOutcome, type CacheVerdict } from './classify.js';
import type {
  CacheExportRecord,
  CacheKey,
  CacheStats,
  CachedEntry,
  LookupClaims,
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
  type Cutoffs,
  type ExportRow,
  type StatsGroup,
  type StoredReply,
} from './rows.js';
import { SCHEMA_VERSION } from './schema.js';
import { WriteBatcher, type QueuedWrite } from './write-batcher.js';

/** True for a `postgres://` or `postgresql://` location. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location);
}

/** The URL as it may be shown: without its password. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

const DEFAULT_SCHEMA = 'ioc_enrich';
const CHUNK = 5_000;
const CLAIM_TTL_MS = 30_000;
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;
const RETRIED_CODES = new Set(['40P01', '40001']);
const TABLES = ['schema_version', 'replies', 'bodies', 'file_aliases', 'claims'];

function tablesSql(s: string): string {
  return `
CREATE TABLE ${s}.replies (
  reply_id    bigserial PRIMARY KEY,
  api         text NOT NULL CHECK (api IN ('v3', 'v2')),
  kind        text NOT NULL,
  id          text NOT NULL,
  type        text NOT NULL,
  value       text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('found', 'not_found')),
  verdict     text NOT NULL CHECK (verdict IN ('malicious', 'suspicious', 'clean', 'not_found')),
  positives   double precision,
  fetched_at  bigint NOT NULL,
  UNIQUE (api, kind, id)
);
CREATE INDEX replies_fetched_at ON ${s}.replies (fetched_at);
CREATE TABLE ${s}.bodies (
  reply_id    bigint PRIMARY KEY,
  fetched_at  bigint NOT NULL,
  body        text,
  resolutions text
);
CREATE TABLE ${s}.file_aliases (
  api  text NOT NULL,
  hash text NOT NULL,
  id   text NOT NULL,
  PRIMARY KEY (api, hash)
);
CREATE INDEX file_aliases_id ON ${s}.file_aliases (api, id);
CREATE TABLE ${s}.claims (
  api        text NOT NULL,
  kind       text NOT NULL,
  id         text NOT NULL,
  owner      text NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (api, kind, id)
);`;
}

interface PgRow {
  ord: number;
  type: IocType;
  value: string;
  outcome: CacheOutcome;
  verdict: CacheVerdict;
  fetched_at: number;
  body_fetched_at: number | null;
  body: string | null;
  resolutions: string | null;
}

/** The PostgreSQL backend of {@link ResultCache}. Open with {@link PostgresResultCache.open}. */
export class PostgresResultCache implements ResultCache {
  readonly path: string;
  readonly claims: LookupClaims;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #freshness: Freshness;
  readonly #secrets: readonly string[];
  readonly #writes: WriteBatcher;
  readonly #owner = randomUUID();
  #renewal: NodeJS.Timeout | undefined;
  #claimed = 0;

  private constructor(path: string, pool: pg.Pool, schema: string, options: ResultCacheOptions) {
    this.path = path;
    this.#pool = pool;
    this.#schema = schema;
    this.#freshness = new Freshness(resolveMaxAge(options.maxAge), options.now ?? Date.now);
    this.#secrets = (options.redact ?? []).filter((secret) => secret !== '');
    this.#writes = new WriteBatcher((writes) => this.#commit(writes), options.flushDelayMs ?? 0);
    this.claims = {
      claimTtlMs: CLAIM_TTL_MS,
      claim: (api, keys) => this.#claim(api, keys),
      release: (api, key) => this.#writes.add({ release: { api, key } }),
    };
  }

  /**
   * Connects, and creates or migrates the cache's tables.
   *
   * @throws IocEnrichError `CACHE_ERROR` when the server cannot be reached, the schema holds other tables, or
   * it was written by a newer ioc-enrich.
   */
  static async open(url: string, options: ResultCacheOptions = {}): Promise<PostgresResultCache> {
    const shown = displayUrl(url);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OptionError('--cache', shown, 'a postgres://user@host:port/database URL');
    }
    const schemaName = parsed.searchParams.get('schema') ?? DEFAULT_SCHEMA;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schemaName)) {
      throw new OptionError('--cache', shown, 'a schema name of lower-case letters, digits and _ (?schema=NAME)');
    }
    parsed.searchParams.delete('schema');
    const pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.busyTimeoutMs ?? 10_000,
      application_name: 'ioc-enrich',
    });
    // An idle client losing its connection (a server restart) must not crash the process: the next query
    // gets a new connection, or fails with a CACHE_ERROR.
    pool.on('error', () => undefined);
    const schema = `"${schemaName}"`;
    try {
      await ensurePgSchema(pool, schema, schemaName, shown);
    } catch (error) {
      await pool.end();
      if (error instanceof IocEnrichError) throw error;
      throw new IocEnrichError('CACHE_ERROR', `${shown}: cannot open the cache: ${reason(error)}`, { cause: error });
    }
    return new PostgresResultCache(shown, pool, schema, options);
  }

  async getMany(api: ApiVersion, keys: readonly CacheKey[]): Promise<Array<CachedEntry | undefined>> {
    return this.#read(api, keys, false);
  }

  async get(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined> {
    return (await this.#read(api, [{ type, value }], false))[0];
  }

  async getIncludingStale(api: ApiVersion, type: IocType, value: string): Promise<CachedEntry | undefined> {
    return (await this.#read(api, [{ type, value }], true))[0];
  }

  put(reply: VtReply): void {
    this.#writes.add({ put: reply });
  }

  flush(): Promise<void> {
    return this.#writes.flush();
  }

  async stats(): Promise<CacheStats> {
    await this.flush();
    const s = this.#schema;
    const cutoffs = this.#freshness.cutoffs();
    const stale = staleSql(parameterOf(cutoffs, 0).name);
    const { rows: groups } = await this.#query<StatsGroup>(
      'cannot read the stats',
      `SELECT api, verdict, count(*)::int AS entries, (count(*) FILTER (WHERE ${stale}))::int AS stale,
              min(fetched_at)::float8 AS oldest, max(fetched_at)::float8 AS newest
       FROM ${s}.replies GROUP BY api, verdict`,
      parameterOf(cutoffs, 0).values,
    );
    const { rows } = await this.#query<{ aliases: number; size: number }>(
      'cannot read the stats',
      `SELECT (SELECT count(*) FROM ${s}.file_aliases)::int AS aliases,
              (pg_total_relation_size('${s}.replies') + pg_total_relation_size('${s}.bodies')
               + pg_total_relation_size('${s}.file_aliases'))::float8 AS size`,
    );
    return summarizeStats(this.path, groups, rows[0]?.aliases ?? 0, rows[0]?.size ?? 0);
  }

  async purge(options: PurgeOptions = {}): Promise<number> {
    checkPurgeOptions(options);
    await this.flush();
    const s = this.#schema;
    const { olderThanMs, all = false } = options;
    let where = 'true';
    let values: unknown[] = [];
    if (!all && olderThanMs === undefined) {
      const cutoffs = parameterOf(this.#freshness.cutoffs(), 0);
      where = staleSql(cutoffs.name);
      values = cutoffs.values;
    } else if (!all) {
      where = 'fetched_at <= $1';
      values = [this.#freshness.olderThan(olderThanMs ?? 0)];
    }
    return this.#transaction('cannot purge', async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `WITH gone AS (DELETE FROM ${s}.replies WHERE ${where} RETURNING reply_id),
              bodies_gone AS (DELETE FROM ${s}.bodies b USING gone WHERE b.reply_id = gone.reply_id)
         SELECT count(*)::int AS n FROM gone`,
        values,
      );
      await client.query(
        `DELETE FROM ${s}.file_aliases a WHERE NOT EXISTS (SELECT 1 FROM ${s}.replies r
           WHERE r.api = a.api AND r.kind = 'file' AND r.id = a.id)`,
      );
      return rows[0]?.n ?? 0;
    });
  }

  async *export(): AsyncIterableIterator<CacheExportRecord> {
    await this.flush();
    const s = this.#schema;
    // Keyset pages: no server-side cursor to hold open while the caller writes.
    let after: [string, string, string] = ['', '', ''];
    for (;;) {
      const { rows } = await this.#query<ExportRow & { kind: string; id: string }>(
        'cannot export',
        `SELECT r.api, r.kind, r.id, r.type, r.value, r.outcome, r.verdict, r.fetched_at::float8 AS fetched_at,
                b.body, b.resolutions,
                (SELECT string_agg(a.hash, ',') FROM ${s}.file_aliases a
                  WHERE r.kind = 'file' AND a.api = r.api AND a.id = r.id) AS aliases
         FROM ${s}.replies r LEFT JOIN ${s}.bodies b ON b.reply_id = r.reply_id
         WHERE (r.api, r.kind, r.id) > ($1, $2, $3)
         ORDER BY r.api, r.kind, r.id LIMIT 1000`,
        after,
      );
      for (const row of rows) yield exportRecord(row, this.#freshness);
      const last = rows.at(-1);
      if (last === undefined || rows.length < 1000) return;
      after = [last.api, last.kind, last.id];
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#renewal);
    try {
      await this.flush();
      if (this.#claimed > 0) {
        await this.#pool.query(`DELETE FROM ${this.#schema}.claims WHERE owner = $1`, [this.#owner]);
      }
    } finally {
      await this.#pool.end();
    }
  }

  async #read(
    api: ApiVersion,
    keys: readonly CacheKey[],
    includeStale: boolean,
  ): Promise<Array<CachedEntry | undefined>> {
    await this.flush();
    const s = this.#schema;
    const entries: Array<CachedEntry | undefined> = new Array<CachedEntry | undefined>(keys.length);
    for (let start = 0; start < keys.length; start += CHUNK) {
      const chunk = keys.slice(start, start + CHUNK);
      const stored = chunk.map(({ type, value }) => storageKey(type, value));
      const cutoffs = parameterOf(this.#freshness.cutoffs(), 5);
      const { rows } = await this.#query<PgRow>(
        'cannot read',
        `SELECT q.ord, r.type, r.value, r.outcome, r.verdict, r.fetched_at::float8 AS fetched_at,
                b.fetched_at::float8 AS body_fetched_at, b.body, b.resolutions
         FROM unnest($2::text[], $3::text[], $4::int[]) AS q(kind, id, ord)
         LEFT JOIN ${s}.file_aliases a ON q.kind = 'file' AND a.api = $1 AND a.hash = q.id
         JOIN ${s}.replies r ON r.api = $1 AND r.kind = q.kind
           AND r.id = (CASE WHEN q.kind = 'file' THEN a.id ELSE q.id END)
         LEFT JOIN ${s}.bodies b ON b.reply_id = r.reply_id AND ($5 OR NOT ${staleSql(cutoffs.name, 'r.')})`,
        [
          api,
          stored.map((key) => key.kind),
          stored.map((key) => key.id),
          chunk.map((_key, index) => start + index),
          includeStale,
          ...cutoffs.values,
        ],
      );
      for (const row of rows) {
        const stale = this.#freshness.isStale(row.verdict, row.fetched_at);
        // A body purged between the two writes of another process reads as no entry.
        if ((stale && !includeStale) || row.body_fetched_at === null) continue;
        const reply = replyOf(api, row, {
          fetched_at: row.body_fetched_at,
          body: row.body,
          resolutions: row.resolutions,
        });
        entries[row.ord] = { reply, outcome: row.outcome, fetchedAt: row.fetched_at, stale };
      }
    }
    return entries;
  }

  /** Commits one batch of queued writes in one transaction. */
  async #commit(writes: QueuedWrite[]): Promise<void> {
    const s = this.#schema;
    // One row per key (the newest reply wins, as the upsert would decide), in key order.
    const byKey = new Map<string, StoredReply>();
    const releases: Array<{ api: ApiVersion; kind: string; id: string }> = [];
    for (const write of writes) {
      if ('put' in write) {
        const row = storedReply(write.put, this.#secrets);
        const key = `${row.api}\t${row.kind}\t${row.id}`;
        const earlier = byKey.get(key);
        if (earlier === undefined || row.fetchedAt >= earlier.fetchedAt) byKey.set(key, row);
      } else {
        const { kind, id } = storageKey(write.release.key.type, write.release.key.value);
        releases.push({ api: write.release.api, kind, id });
      }
    }
    const rows = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
    const superseded = sortedUnique(rows.flatMap((row) => row.superseded.map((hash) => [row.api, hash] as const)));
    const aliases = new Map<string, readonly [ApiVersion, string, string]>();
    for (const row of rows) for (const hash of row.aliases) aliases.set(`${row.api}\t${hash}`, [row.api, hash, row.id]);
    const aliasRows = [...aliases.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, alias]) => alias);
    const count = rows.length;
    await this.#transaction(`cannot store ${count} repl${count === 1 ? 'y' : 'ies'}`, async (client) => {
      // Like SQLite's synchronous=NORMAL: a server crash may lose the last commits (a re-lookup), never corrupt.
      await client.query('SET LOCAL synchronous_commit = off');
      if (superseded.length > 0) {
        // An earlier "not found" stored under one hash is superseded once a reply names that hash as the file's.
        await client.query(
          `WITH gone AS (DELETE FROM ${s}.replies r USING unnest($1::text[], $2::text[]) AS d(api, id)
                         WHERE r.api = d.api AND r.kind = 'file' AND r.id = d.id RETURNING r.reply_id)
           DELETE FROM ${s}.bodies b USING gone WHERE b.reply_id = gone.reply_id`,
          [superseded.map(([api]) => api), superseded.map(([, hash]) => hash)],
        );
      }
      if (rows.length > 0) {
        const { rows: stored } = await client.query<{ reply_id: string; api: string; kind: string; id: string }>(
          `INSERT INTO ${s}.replies (api, kind, id, type, value, outcome, verdict, positives, fetched_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $8::float8[], $9::bigint[])
           ON CONFLICT (api, kind, id) DO UPDATE SET
             type = excluded.type, value = excluded.value, outcome = excluded.outcome, verdict = excluded.verdict,
             positives = excluded.positives, fetched_at = excluded.fetched_at
           WHERE excluded.fetched_at >= ${s}.replies.fetched_at
           RETURNING reply_id, api, kind, id`,
          [
            rows.map((row) => row.api),
            rows.map((row) => row.kind),
            rows.map((row) => row.id),
            rows.map((row) => row.type),
            rows.map((row) => row.value),
            rows.map((row) => row.outcome),
            rows.map((row) => row.verdict),
            rows.map((row) => row.positives),
            rows.map((row) => row.fetchedAt),
          ],
        );
        // A reply older than the stored one (two hosts racing) returned no row: its body is left alone.
        const kept = stored.map((returned) => ({
          replyId: returned.reply_id,
          row: byKey.get(`${returned.api}\t${returned.kind}\t${returned.id}`) as StoredReply,
        }));
        if (kept.length > 0) {
          await client.query(
            `INSERT INTO ${s}.bodies (reply_id, fetched_at, body, resolutions)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])
             ON CONFLICT (reply_id) DO UPDATE SET
               fetched_at = excluded.fetched_at, body = excluded.body, resolutions = excluded.resolutions`,
            [
              kept.map(({ replyId }) => replyId),
              kept.map(({ row }) => row.fetchedAt),
              kept.map(({ row }) => row.body),
              kept.map(({ row }) => row.resolutions),
            ],
          );
        }
      }
      if (aliasRows.length > 0) {
        await client.query(
          `INSERT INTO ${s}.file_aliases (api, hash, id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
           ON CONFLICT (api, hash) DO UPDATE SET id = excluded.id`,
          [aliasRows.map(([api]) => api), aliasRows.map(([, hash]) => hash), aliasRows.map(([, , id]) => id)],
        );
      }
      if (releases.length > 0) {
        await client.query(
          `DELETE FROM ${s}.claims c USING unnest($2::text[], $3::text[], $4::text[]) AS k(api, kind, id)
           WHERE c.owner = $1 AND c.api = k.api AND c.kind = k.kind AND c.id = k.id`,
          [this.#owner, releases.map((r) => r.api), releases.map((r) => r.kind), releases.map((r) => r.id)],
        );
      }
    });
  }

  async #claim(api: ApiVersion, keys: readonly CacheKey[]): Promise<boolean[]> {
    const stored = keys.map(({ type, value }) => storageKey(type, value));
    const unique = sortedUnique(stored.map((key) => [key.kind, key.id] as const));
    if (unique.length === 0) return [];
    const { rows } = await this.#query<{ kind: string; id: string }>(
      'cannot claim lookups',
      `INSERT INTO ${this.#schema}.claims (api, kind, id, owner, expires_at)
       SELECT $1, k.kind, k.id, $4, ${NOW_MS} + $5 FROM unnest($2::text[], $3::text[]) AS k(kind, id)
       ON CONFLICT (api, kind, id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE ${this.#schema}.claims.expires_at < ${NOW_MS} OR ${this.#schema}.claims.owner = excluded.owner
       RETURNING kind, id`,
      [api, unique.map(([kind]) => kind), unique.map(([, id]) => id), this.#owner, CLAIM_TTL_MS],
    );
    const won = new Set(rows.map((row) => `${row.kind}\t${row.id}`));
    this.#claimed += won.size;
    if (won.size > 0 && this.#renewal === undefined) {
      // The claims of a live process never expire under it; a dead one's do after CLAIM_TTL_MS at most.
      this.#renewal = setInterval(() => {
        this.#pool
          .query(`UPDATE ${this.#schema}.claims SET expires_at = ${NOW_MS} + $2 WHERE owner = $1`, [
            this.#owner,
            CLAIM_TTL_MS,
          ])
          .catch(() => undefined);
      }, CLAIM_TTL_MS / 3);
      this.#renewal.unref();
    }
    return stored.map((key) => won.has(`${key.kind}\t${key.id}`));
  }

  async #query<R extends pg.QueryResultRow>(
    what: string,
    sql: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, values);
    } catch (error) {
      throw this.#failure(what, error);
    }
  }

  async #transaction<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient | undefined;
      try {
        client = await this.#pool.connect();
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        if (client !== undefined) {
          await client.query('ROLLBACK').catch(() => undefined);
          client.release();
        }
        const code = (error as { code?: string }).code;
        if (attempt < 5 && code !== undefined && RETRIED_CODES.has(code)) continue;
        throw this.#failure(what, error);
      }
    }
  }

  #failure(what: string, error: unknown): IocEnrichError {
    if (error instanceof IocEnrichError) return error;
    return new IocEnrichError('CACHE_ERROR', `${this.path}: ${what}: ${reason(error)}`, { cause: error });
  }
}

function reason(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reason(error.errors[0]);
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  return message === '' && code !== undefined ? code : message;
}

/** Positional parameters `$n+1`… for the cutoffs, and their values in that order. */
function parameterOf(cutoffs: Cutoffs, offset: number): { name: (key: keyof Cutoffs) => string; values: number[] } {
  const order: Array<keyof Cutoffs> = ['malicious', 'suspicious', 'clean', 'not_found'];
  return {
    name: (key) => `$${offset + order.indexOf(key) + 1}`,
    values: order.map((key) => cutoffs[key]),
  };
}

function sortedUnique<T extends readonly string[]>(tuples: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const tuple of tuples) seen.set(tuple.join('\t'), tuple);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, tuple]) => tuple);
}

/** Creates the tables, or checks and migrates them, under an advisory lock held for the transaction. */
async function ensurePgSchema(pool: pg.Pool, schema: string, schemaName: string, shown: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`ioc-enrich:${schemaName}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
      [schemaName],
    );
    const tables = rows.map((row) => row.table_name);
    let version: number | null = null;
    if (tables.includes('schema_version')) {
      const result = await client.query<{ version: number | null }>(
        `SELECT max(version) AS version FROM ${schema}.schema_version`,
      );
      version = result.rows[0]?.version ?? null;
    }
    if (version === null && tables.some((name) => name !== 'schema_version')) {
      throw new IocEnrichError(
        'CACHE_ERROR',
        `${shown}: schema ${schemaName} is not an ioc-enrich cache (it has tables ${tables.join(', ')}); give another ?schema=`,
      );
    }
    if (version !== null && version > SCHEMA_VERSION) {
      throw new IocEnrichError(
        'CACHE_ERROR',
        `${shown}: cache schema version ${version} is newer than this ioc-enrich understands (${SCHEMA_VERSION}); upgrade ioc-enrich or use another --cache`,
      );
    }
    if (version !== SCHEMA_VERSION) {
      // An older cache is dropped and created again: it is a cache, the price is looking things up again.
      for (const table of TABLES) await client.query(`DROP TABLE IF EXISTS ${schema}.${table}`);
      await client.query(`CREATE TABLE ${schema}.schema_version (version integer NOT NULL)`);
      await client.query(tablesSql(schema));
      await client.query(`INSERT INTO ${schema}.schema_version (version) VALUES ($1)`, [SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
