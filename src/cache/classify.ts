/**
 * What the cache needs to know about a reply without keeping it parsed: found or not, the verdict that picks
 * its maximum age, and the other names of a file.
 */
import { canonicalUrl } from '../vt/ids.js';
import { isHashType, type ApiVersion, type IocType, type VtReply } from '../types.js';

/** Whether VirusTotal knew the observable. */
export type CacheOutcome = 'found' | 'not_found';

/** The verdict that selects a reply's maximum age (see {@link MaxAgePolicy}). */
export type CacheVerdict = 'malicious' | 'suspicious' | 'clean' | 'not_found';

/** The classification of one reply. */
export interface ReplyClass {
  readonly outcome: CacheOutcome;
  readonly verdict: CacheVerdict;
  /** Malicious engines (v3) or `positives` (v2); null when the reply has no such count. */
  readonly positives: number | null;
  /** md5, sha1 and sha256 named by a file reply's body (lower case); empty for anything else. */
  readonly hashes: readonly string[];
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The object's own fields: v3 `data.attributes`, v2 the report itself. A v2 report whose response_code is
 * not 1 (0 not in the dataset, -2 queued, -1 invalid) has no verdict, so it counts as not found: the caller
 * learns nothing from it that ages well.
 */
function objectFields(api: ApiVersion, body: unknown): Record<string, unknown> | undefined {
  const top = record(body);
  if (top === undefined) return undefined;
  if (api === 'v3') return record(record(top['data'])?.['attributes']);
  return top['response_code'] === 1 ? top : undefined;
}

/** Classifies a reply for storage. Pure: reads only the reply. */
export function classifyReply(reply: VtReply): ReplyClass {
  const fields = objectFields(reply.api, reply.body);
  if (fields === undefined) {
    return { outcome: 'not_found', verdict: 'not_found', positives: null, hashes: [] };
  }
  let positives: number | null;
  let suspicious: number | null = null;
  if (reply.api === 'v3') {
    const stats = record(fields['last_analysis_stats']);
    positives = count(stats?.['malicious']);
    suspicious = count(stats?.['suspicious']);
  } else {
    // v2 domain and IP reports have no `positives`: msticpy's sum of detected_urls positives is no verdict on
    // the domain itself (its defect 9), so such a report ages as clean.
    positives = count(fields['positives']);
  }
  const verdict: CacheVerdict = (positives ?? 0) > 0 ? 'malicious' : (suspicious ?? 0) > 0 ? 'suspicious' : 'clean';
  const hashes = isHashType(reply.type)
    ? (['md5', 'sha1', 'sha256'] as const)
        .map((name) => fields[name])
        .filter((hash): hash is string => typeof hash === 'string' && /^[0-9a-f]+$/i.test(hash))
        .map((hash) => hash.toLowerCase())
    : [];
  return { outcome: 'found', verdict, positives, hashes };
}

/**
 * The storage key of an observable. The three hash types share kind `file`, so that the alias table can map
 * any of a file's hashes to one entry. Values are normalised again here (idempotent on the extractor's
 * output) so that a caller passing `EVIL.com` or an upper-case hash still hits; URLs use VirusTotal's
 * canonical form, since VirusTotal treats `HTTP://Evil.com` and `http://evil.com/` as one object.
 */
export function storageKey(type: IocType, value: string): { kind: string; id: string } {
  const trimmed = value.trim();
  if (isHashType(type)) return { kind: 'file', id: trimmed.toLowerCase() };
  if (type === 'url') return { kind: 'url', id: canonicalUrl(trimmed) };
  return { kind: type, id: trimmed.toLowerCase() };
}
