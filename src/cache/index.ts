/**
 * The persistent result cache: one contract (contract.ts), two backends. An embedded SQLite file is the
 * default and needs no server; a `postgres://` URL shares one cache between the hosts of a team.
 */
import type { ResultCache, ResultCacheOptions } from './contract.js';
import { isPostgresUrl, PostgresResultCache } from './postgres.js';
import { SqliteResultCache } from './sqlite.js';

export { classifyReply, type CacheOutcome, type CacheVerdict } from './classify.js';
export type {
  CachedEntry,
  CacheExportRecord,
  CacheKey,
  CacheStats,
  LookupClaims,
  PurgeOptions,
  ResultCache,
  ResultCacheOptions,
} from './contract.js';
export { defaultCachePath } from './location.js';
export {
  DEFAULT_MAX_AGE,
  parseDuration,
  parseMaxAge,
  resolveMaxAge,
  type MaxAgePolicy,
  type ResolvedMaxAgePolicy,
} from './max-age.js';
export { displayUrl, isPostgresUrl, PostgresResultCache } from './postgres.js';
export { SqliteResultCache } from './sqlite.js';

/**
 * Opens the cache at `location`: a `postgres://` (or `postgresql://`) URL, else a SQLite file path
 * (`:memory:` for a private in-memory cache).
 *
 * @throws IocEnrichError `CACHE_ERROR` when it cannot be opened, is not a cache, or has a newer schema.
 */
export async function openResultCache(location: string, options: ResultCacheOptions = {}): Promise<ResultCache> {
  return isPostgresUrl(location)
    ? PostgresResultCache.open(location, options)
    : SqliteResultCache.open(location, options);
}
