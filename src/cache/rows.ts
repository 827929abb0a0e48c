/**
 * What both backends store and read, decided in one place: the row a reply becomes, freshness, the stats
 * summary and the export record. The backends only move these rows in and out of their databases.
 */
import { redactText, secretForms } from '../redact.js';
import { parseReply, parseStoredReply, replyJsonText } from '../vt/lean-json.js';
import { OptionError } from '../errors.js';
import type { ApiVersion, IocType, VtReply } from '../types.js';
import { classifyReply, storageKey, type CacheOutcome, type CacheVerdict } from './classify.js';
import type { CacheExportRecord, CacheStats, PurgeOptions } from './contract.js';
import type { ResolvedMaxAgePolicy } from './max-age.js';

/** A reply as stored: the small lookup row, its JSON texts, and the file hashes that must find it. */
export interface StoredReply {
  readonly api: ApiVersion;
  /** The IoC type, or `file` for the three hash types. */
  readonly kind: string;
  /** The normalised observable; for a found file its SHA-256. */
  readonly id: string;
  readonly type: IocType;
  readonly value: string;
  readonly outcome: CacheOutcome;
  readonly verdict: CacheVerdict;
  readonly positives: number | null;
  readonly fetchedAt: number;
  /** Reply body as JSON, secrets scrubbed; null for a not-found reply. */
  readonly body: string | null;
  readonly resolutions: string | null;
  /** Files: every hash that finds this entry (the one asked and those the reply names). */
  readonly aliases: readonly string[];
  /** Files: hashes other than `id` whose own earlier entries (a "not found" under that hash) are superseded. */
  readonly superseded: readonly string[];
}

/**
 * The JSON of a value with every secret (as it is and URL-encoded) replaced, as everywhere else (src/redact.ts).
 * A reply body is stored as the text VirusTotal sent where there is one (src/vt/lean-json.ts replyJsonText).
 */
export function redactedJson(value: unknown, secrets: readonly string[]): string {
  return redactText(replyJsonText(value), secretForms(secrets));
}

/** The row a reply is stored as. Pure. */
export function storedReply(reply: VtReply, secrets: readonly string[]): StoredReply {
  const classified = classifyReply(reply);
  const { kind, id: asked } = storageKey(reply.type, reply.value);
  const sha256 = classified.hashes.find((hash) => hash.length === 64);
  const id = kind === 'file' && sha256 !== undefined ? sha256 : asked;
  const aliases = kind === 'file' ? [...new Set([asked, ...classified.hashes])] : [];
  return {
    api: reply.api,
    kind,
    id,
    type: reply.type,
    value: reply.value,
    outcome: classified.outcome,
    verdict: classified.verdict,
    positives: classified.positives,
    fetchedAt: Math.round(reply.fetchedAt),
    body: reply.body === undefined || reply.body === null ? null : redactedJson(reply.body, secrets),
    resolutions: reply.resolutions === undefined ? null : redactedJson(reply.resolutions, secrets),
    aliases,
    superseded: aliases.filter((hash) => hash !== id),
  };
}

/** The fetch-time cutoff of each verdict: a reply fetched at or before it is stale. */
export interface Cutoffs {
  malicious: number;
  suspicious: number;
  clean: number;
  not_found: number;
}

/** Freshness under one policy and clock. */
export class Freshness {
  constructor(
    readonly policy: ResolvedMaxAgePolicy,
    private readonly now: () => number,
  ) {}

  isStale(verdict: CacheVerdict, fetchedAt: number): boolean {
    const maxAge = verdict === 'not_found' ? this.policy.notFound : this.policy[verdict];
    return this.now() - fetchedAt >= maxAge;
  }

  cutoffs(): Cutoffs {
    const now = this.now();
    return {
      malicious: now - this.policy.malicious,
      suspicious: now - this.policy.suspicious,
      clean: now - this.policy.clean,
      not_found: now - this.policy.notFound,
    };
  }

  /** Epoch ms at or before which `purge({ olderThanMs })` deletes. */
  olderThan(olderThanMs: number): number {
    return this.now() - olderThanMs;
  }
}

/**
 * The SQL condition "this row is stale", given how the dialect names a parameter: the twin of
 * {@link Freshness.isStale}, so that stats and purge count in the database what a lookup would decide.
 */
export function staleSql(parameter: (name: keyof Cutoffs) => string, table = ''): string {
  const at = `${table}fetched_at`;
  return `(CASE ${table}verdict
    WHEN 'malicious' THEN ${at} <= ${parameter('malicious')}
    WHEN 'suspicious' THEN ${at} <= ${parameter('suspicious')}
    WHEN 'clean' THEN ${at} <= ${parameter('clean')}
    ELSE ${at} <= ${parameter('not_found')} END)`;
}

/** Validates purge options the same way for every backend. */
export function checkPurgeOptions(options: PurgeOptions): void {
  const { olderThanMs, all = false } = options;
  if (olderThanMs !== undefined && (!Number.isFinite(olderThanMs) || olderThanMs < 0)) {
    throw new OptionError('olderThanMs', olderThanMs, 'a non-negative number of milliseconds');
  }
  if (all && olderThanMs !== undefined) {
    throw new OptionError('all', all, 'not combined with olderThanMs');
  }
}

/** One (api, verdict) group of the stats query. */
export interface StatsGroup {
  api: ApiVersion;
  verdict: CacheVerdict;
  entries: number;
  stale: number;
  oldest: number;
  newest: number;
}

/** Sums the stats query's groups. */
export function summarizeStats(
  path: string,
  groups: readonly StatsGroup[],
  fileAliases: number,
  sizeBytes: number,
): CacheStats {
  const byApi: Record<ApiVersion, number> = { v3: 0, v2: 0 };
  const byVerdict: Record<CacheVerdict, number> = { malicious: 0, suspicious: 0, clean: 0, not_found: 0 };
  let stale = 0;
  let oldest: number | undefined;
  let newest: number | undefined;
  for (const group of groups) {
    byApi[group.api] += group.entries;
    byVerdict[group.verdict] += group.entries;
    stale += group.stale;
    oldest = oldest === undefined ? group.oldest : Math.min(oldest, group.oldest);
    newest = newest === undefined ? group.newest : Math.max(newest, group.newest);
  }
  return {
    path,
    entries: byApi.v3 + byApi.v2,
    byApi,
    byVerdict,
    stale,
    fileAliases,
    oldestFetchedAt: oldest,
    newestFetchedAt: newest,
    sizeBytes,
  };
}

/** JSON stored as text (PostgreSQL) or UTF-8 bytes (SQLite), parsed in full (exports). */
export function parseStoredJson(stored: Buffer | string): unknown {
  return parseStoredReply(typeof stored === 'string' ? stored : stored.toString('utf8'));
}

/** A stored reply body for a lookup: read as a fresh reply is (v3 objects without their engine results). */
function parseLookupBody(stored: Buffer | string): unknown {
  return parseReply(typeof stored === 'string' ? stored : stored.toString('utf8'));
}

/** A row of the export query. */
export interface ExportRow {
  api: ApiVersion;
  type: IocType;
  value: string;
  outcome: CacheOutcome;
  verdict: CacheVerdict;
  fetched_at: number;
  body: Buffer | string | null;
  resolutions: Buffer | string | null;
  /** Comma-separated file hashes, or null. */
  aliases: string | null;
}

/** The export record of a row. */
export function exportRecord(row: ExportRow, freshness: Freshness): CacheExportRecord {
  return {
    api: row.api,
    type: row.type,
    value: row.value,
    outcome: row.outcome,
    verdict: row.verdict,
    fetchedAt: new Date(row.fetched_at).toISOString(),
    stale: freshness.isStale(row.verdict, row.fetched_at),
    ...(row.aliases === null ? {} : { aliases: row.aliases.split(',').sort() }),
    body: row.body === null ? null : parseStoredJson(row.body),
    ...(row.resolutions === null ? {} : { resolutions: parseStoredJson(row.resolutions) as unknown[] }),
  };
}

/** The reply of a stored row and body. */
export function replyOf(
  api: ApiVersion,
  row: { type: IocType; value: string },
  stored: { fetched_at: number; body: Buffer | string | null; resolutions: Buffer | string | null },
): VtReply {
  return {
    api,
    type: row.type,
    value: row.value,
    body: stored.body === null ? null : parseLookupBody(stored.body),
    ...(stored.resolutions === null ? {} : { resolutions: parseStoredJson(stored.resolutions) as unknown[] }),
    fetchedAt: Number(stored.fetched_at),
  };
}
