/**
 * VirusTotal replies → {@link LookupResult}s with msticpy's meaning. Pure functions: the lookup stage uses them
 * on fresh replies and the cache on stored ones, so a replayed reply reads exactly like a fresh one.
 *
 * Mapping decisions (v3 has no msticpy reference, so it is mapped to the same meaning as v2):
 * - ResponseCode 1 found, 0 not found (v3 404 or v2 response_code 0); v2's own codes (-2 queued) pass through.
 * - Positives = engines whose category is `malicious`; Suspicious = `suspicious`.
 * - Total = engines that gave a verdict: harmless + malicious + suspicious + undetected. Engines that timed
 *   out, failed or do not support the file type (`timeout`, `confirmed-timeout`, `failure`,
 *   `type-unsupported`) did not answer, so they are left out, which keeps Positives/Total comparable with v2's
 *   positives/total (v2 counted only engines with a result).
 * - ScanId = `<id>-<last_analysis_date>` (v2's scan_id shape); Permalink = the GUI link (v3 has no permalink).
 * - ResolvedIPs of a domain: the A/AAAA values of `last_dns_records` (free), then the resolutions when fetched.
 *   ResolvedDomains of an IP: the host names of its resolutions (fetched only with `--resolutions`).
 * - DetectedUrls stays empty on v3: its only equivalent (`urls` of a domain/IP) is Enterprise-only.
 * - VerboseMsg: v2's verbose_msg; on v3, which has none, `Found in VirusTotal` / `Not found in VirusTotal`.
 * - v2 domain/IP Positives is msticpy's sum of detected_urls positives (0 for an empty list); MD5/SHA1/SHA256
 *   are read from every file report, whichever hash was sent (msticpy's `sh256_hash` typo is not copied).
 */
import { guiLink } from './vt/ids.js';
import type { IocType, LookupResult, LookupStatus, Severity, VtReply } from './types.js';

/** msticpy's severity over Positives: > 1 high, 1 warning, 0 information, '' when unknown. */
export function severity(positives: number | ''): Severity {
  if (positives === '') return '';
  if (positives > 1) return 'high';
  if (positives === 1) return 'warning';
  return 'information';
}

const EMPTY: LookupResult = {
  status: 'NotSubmitted: interrupted',
  responseCode: '',
  resource: '',
  verboseMsg: '',
  scanId: '',
  permalink: '',
  positives: '',
  suspicious: '',
  total: '',
  md5: '',
  sha1: '',
  sha256: '',
  resolvedDomains: '',
  resolvedIps: '',
  detectedUrls: '',
  reputation: '',
  lastAnalysisDate: '',
  tags: '',
  rawResponse: '',
  cacheHit: false,
  fetchedAt: '',
};

/** A result with no reply: `Failed: …` or `NotSubmitted: …`, every other field empty. */
export function failedResult(status: LookupStatus): LookupResult {
  return { ...EMPTY, status };
}

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

function count(value: unknown): number | '' {
  return typeof value === 'number' && Number.isFinite(value) ? value : '';
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Distinct non-empty strings joined with msticpy's `", "`. */
function joined(values: Iterable<string>): string {
  const seen = new Set<string>();
  for (const value of values) if (value !== '') seen.add(value);
  return [...seen].join(', ');
}

/**
 * ISO 8601 of epoch milliseconds, remembering the last one: replies arriving within the same millisecond (a
 * few per millisecond at full speed) share their FetchedAt, and Date formatting is a visible share of a result.
 */
let lastIsoMs = Number.NaN;
let lastIso = '';

function isoFromEpochMs(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

function isoFromEpochSeconds(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  const iso = new Date(value * 1000).toISOString();
  // Whole seconds (as VirusTotal's dates are) print without `.000`.
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** v2 dates are `YYYY-MM-DD HH:MM:SS` in UTC. */
function isoFromV2Date(value: unknown): string {
  if (typeof value !== 'string') return '';
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value.trim());
  return match === null ? '' : `${match[1]}T${match[2]}Z`;
}

function isHash(type: IocType): boolean {
  return type === 'md5_hash' || type === 'sha1_hash' || type === 'sha256_hash';
}

function rawText(body: unknown, options: { raw: boolean; redact?: string }): string {
  if (!options.raw || body === null || body === undefined) return '';
  const json = JSON.stringify(body);
  // The key can only be in a body a server echoed back; it must never reach the output.
  return options.redact === undefined || options.redact === '' ? json : json.split(options.redact).join('[redacted]');
}

function notFound(reply: VtReply, verboseMsg: string, options: { raw: boolean; redact?: string }): LookupResult {
  return {
    ...EMPTY,
    status: 'NotFound',
    responseCode: 0,
    resource: reply.value,
    verboseMsg,
    rawResponse: rawText(reply.body, options),
    fetchedAt: isoFromEpochMs(reply.fetchedAt),
  };
}

function normalizeV3(reply: VtReply, options: { raw: boolean; redact?: string }): LookupResult {
  const data = object(object(reply.body)?.['data']);
  const attributes = object(data?.['attributes']);
  if (data === undefined || attributes === undefined) return failedResult('Failed: malformed reply');
  const id = text(data['id']);
  const stats = object(attributes['last_analysis_stats']);
  const verdict = (key: string): number => {
    const count = stats?.[key];
    return typeof count === 'number' ? count : 0;
  };
  const date = attributes['last_analysis_date'];
  const resolutions = (reply.resolutions ?? []).map((item) => object(object(item)?.['attributes']));
  let resolvedIps = '';
  let resolvedDomains = '';
  if (reply.type === 'dns') {
    const dnsIps = list(attributes['last_dns_records'])
      .map(object)
      .filter((record) => record?.['type'] === 'A' || record?.['type'] === 'AAAA')
      .map((record) => text(record?.['value']));
    resolvedIps = joined([...dnsIps, ...resolutions.map((resolution) => text(resolution?.['ip_address']))]);
  } else if (reply.type === 'ipv4' || reply.type === 'ipv6') {
    resolvedDomains = joined(resolutions.map((resolution) => text(resolution?.['host_name'])));
  }
  const file = isHash(reply.type);
  return {
    status: 'Success',
    responseCode: 1,
    resource: reply.value,
    verboseMsg: 'Found in VirusTotal',
    scanId: id === '' ? '' : typeof date === 'number' ? `${id}-${date}` : id,
    permalink: id === '' ? '' : guiLink(reply.type, id),
    positives: stats === undefined ? '' : verdict('malicious'),
    suspicious: stats === undefined ? '' : verdict('suspicious'),
    total:
      stats === undefined
        ? ''
        : verdict('harmless') + verdict('malicious') + verdict('suspicious') + verdict('undetected'),
    md5: file ? text(attributes['md5']) : '',
    sha1: file ? text(attributes['sha1']) : '',
    sha256: file ? text(attributes['sha256']) || id : '',
    resolvedDomains,
    resolvedIps,
    detectedUrls: '',
    reputation: count(attributes['reputation']),
    lastAnalysisDate: isoFromEpochSeconds(date),
    tags: list(attributes['tags'])
      .map(text)
      .filter((tag) => tag !== '')
      .join(', '),
    rawResponse: rawText(reply.body, options),
    cacheHit: false,
    fetchedAt: isoFromEpochMs(reply.fetchedAt),
  };
}

function normalizeV2(reply: VtReply, options: { raw: boolean; redact?: string }): LookupResult {
  const body = object(reply.body);
  if (body === undefined) return failedResult('Failed: malformed reply');
  const responseCode = count(body['response_code']);
  if (responseCode === 0) return notFound(reply, text(body['verbose_msg']), options);
  const base = {
    ...EMPTY,
    // msticpy: every parsed reply is a Success; the caller reads ResponseCode (-2 = queued for analysis).
    status: 'Success' as const,
    responseCode,
    resource: text(body['resource']) || reply.value,
    verboseMsg: text(body['verbose_msg']),
    rawResponse: rawText(reply.body, options),
    fetchedAt: isoFromEpochMs(reply.fetchedAt),
  };
  if (reply.type === 'dns' || reply.type === 'ipv4' || reply.type === 'ipv6') {
    const detected = body['detected_urls'];
    const detectedUrls = list(detected).map(object);
    const resolutions = list(body['resolutions']).map(object);
    return {
      ...base,
      positives: Array.isArray(detected)
        ? detectedUrls.reduce((sum, item) => sum + (count(item?.['positives']) || 0), 0)
        : '',
      detectedUrls: joined(detectedUrls.map((item) => text(item?.['url']))),
      resolvedIps: reply.type === 'dns' ? joined(resolutions.map((item) => text(item?.['ip_address']))) : '',
      resolvedDomains: reply.type === 'dns' ? '' : joined(resolutions.map((item) => text(item?.['hostname']))),
    };
  }
  const file = isHash(reply.type);
  return {
    ...base,
    scanId: text(body['scan_id']),
    permalink: text(body['permalink']),
    positives: count(body['positives']),
    total: count(body['total']),
    md5: file ? text(body['md5']) : '',
    sha1: file ? text(body['sha1']) : '',
    sha256: file ? text(body['sha256']) : '',
    lastAnalysisDate: isoFromV2Date(body['scan_date']),
  };
}

/**
 * Turns one reply into the result shared by every occurrence of its observable. `raw` keeps the reply JSON in
 * RawResponse; `redact` (the API key) is cut out of it.
 */
export function normalizeReply(reply: VtReply, options: { raw: boolean; redact?: string }): LookupResult {
  if (reply.body === null) return notFound(reply, 'Not found in VirusTotal', options);
  return reply.api === 'v3' ? normalizeV3(reply, options) : normalizeV2(reply, options);
}
