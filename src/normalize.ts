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
 * - ResolvedIPs of a domain: the A/AAAA values of `last_dns_records`, then its resolutions; ResolvedDomains of
 *   an IP: the host names of its resolutions. The first page comes with the object (`?relationships=resolutions`,
 *   descriptors whose id is the IP followed by the host name), further pages only with `--resolutions`.
 * - With `--context` (hits only): ContactedDomains/IPs/Urls of a file, CommunicatingFiles (sha256) of a domain
 *   or IP, from the relationships of the object reply. A relationship the key may not read (an `error` member,
 *   or left out) is an empty cell.
 * - DetectedUrls on v3: the URLs of a domain's or IP's `urls` relationship (Enterprise keys, with `--context`),
 *   read from the descriptors' `context_attributes.url`; one whose descriptor carries a verdict of no malicious
 *   engine is left out. Without it (public keys) the cell stays empty.
 * - VerboseMsg: v2's verbose_msg; on v3, which has none, `Found in VirusTotal` / `Not found in VirusTotal`.
 * - v2 domain/IP Positives is msticpy's sum of detected_urls positives (0 for an empty list); MD5/SHA1/SHA256
 *   are read from every file report, whichever hash was sent (msticpy's `sh256_hash` typo is not copied).
 *
 * A reply is attacker-reachable input (a hostile or broken server, a tampered cache): every field is validated
 * where it is read. A count that is not a non-negative safe integer, a date outside what a Date can hold, a
 * string where an array belongs: each becomes an empty cell, never an exception. Only a reply without the
 * object itself (no `data.attributes` in v3, not an object in v2) is `Failed: malformed reply`. The API key,
 * should a server echo it, is redacted from every text cell, not only from RawResponse.
 */
import { redact } from './redact.js';
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
  contactedDomains: '',
  contactedIps: '',
  contactedUrls: '',
  communicatingFiles: '',
  submitted: false,
  cacheHit: false,
  fetchedAt: '',
};

/** A result with no reply: `Failed: …` or `NotSubmitted: …`, every other field empty. */
export function failedResult(status: LookupStatus): LookupResult {
  return { ...EMPTY, status };
}

/** VerboseMsg of a URL this run submitted whose analysis completed: the row carries the analysis verdict. */
const SUBMITTED_MESSAGE = 'Submitted for analysis in this run: analysis completed';

/**
 * A URL submitted in this run whose analysis did not finish in time: ResponseCode -2 (v2's "queued"), the
 * analysis id in ScanId. Nothing of it is cached, so the next run asks again.
 */
export function queuedResult(value: string, analysisId: string, fetchedAt: number): LookupResult {
  return {
    ...EMPTY,
    status: 'Queued',
    responseCode: -2,
    resource: value,
    verboseMsg: 'Submitted for analysis in this run; the analysis had not finished (--analysis-timeout)',
    scanId: analysisId,
    submitted: true,
    fetchedAt: isoFromEpochMs(fetchedAt),
  };
}

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** A count from a reply: a non-negative safe integer, or '' (VirusTotal's counts are engines and votes). */
function count(value: unknown): number | '' {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : '';
}

/** A signed integer (reputation may be negative), or ''. */
function integer(value: unknown): number | '' {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : '';
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

// The range of a Date (±8.64e15 ms); VirusTotal's dates are seconds since 1970, never before it.
const MAX_EPOCH_MS = 8.64e15;

function isoFromEpochMs(ms: number): string {
  if (ms !== lastIsoMs) {
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_EPOCH_MS) return '';
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/** A v3 date (epoch seconds) as validated epoch seconds, or undefined. */
function epochSeconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value * 1000 <= MAX_EPOCH_MS
    ? value
    : undefined;
}

function isoFromEpochSeconds(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  const iso = new Date(seconds * 1000).toISOString();
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
  // The key can only be in a body a server echoed back; it must never reach the output.
  return redact(JSON.stringify(body), options.redact);
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
  // A missing verdict is none (0); one that is not a count makes its cells empty.
  const verdict = (key: string): number | '' => (stats?.[key] === undefined ? 0 : count(stats[key]));
  const verdicts = [verdict('harmless'), verdict('malicious'), verdict('suspicious'), verdict('undetected')];
  const date = epochSeconds(attributes['last_analysis_date']);
  const relationships = object(data['relationships']);
  const related = (name: string): unknown[] => list(object(relationships?.[name])?.['data']);
  const resolutions = [...related('resolutions'), ...(reply.resolutions ?? [])];
  let resolvedIps = '';
  let resolvedDomains = '';
  if (reply.type === 'dns') {
    const dnsIps = list(attributes['last_dns_records'])
      .map(object)
      .filter((record) => record?.['type'] === 'A' || record?.['type'] === 'AAAA')
      .map((record) => text(record?.['value']));
    const names = [reply.value, id];
    resolvedIps = joined([...dnsIps, ...resolutions.map((item) => resolutionEnd(item, 'ip_address', names))]);
  } else if (reply.type === 'ipv4' || reply.type === 'ipv6') {
    const names = [reply.value, id];
    resolvedDomains = joined(resolutions.map((item) => resolutionEnd(item, 'host_name', names)));
  }
  const file = isHash(reply.type);
  const ids = (name: string): string => joined(related(name).map((item) => text(object(item)?.['id'])));
  const urls = (name: string, detectedOnly: boolean): string =>
    joined(related(name).map((item) => urlOfDescriptor(item, detectedOnly)));
  return {
    status: 'Success',
    responseCode: 1,
    resource: reply.value,
    verboseMsg: reply.submitted === true ? SUBMITTED_MESSAGE : 'Found in VirusTotal',
    scanId: id === '' ? '' : date === undefined ? id : `${id}-${date}`,
    permalink: id === '' ? '' : guiLink(reply.type, id),
    positives: stats === undefined ? '' : verdict('malicious'),
    suspicious: stats === undefined ? '' : verdict('suspicious'),
    total:
      stats === undefined || verdicts.includes('')
        ? ''
        : count(verdicts.reduce<number>((sum, n) => sum + Number(n), 0)),
    md5: file ? text(attributes['md5']) : '',
    sha1: file ? text(attributes['sha1']) : '',
    sha256: file ? text(attributes['sha256']) || id : '',
    resolvedDomains,
    resolvedIps,
    detectedUrls: file ? '' : urls('urls', true),
    reputation: integer(attributes['reputation']),
    lastAnalysisDate: isoFromEpochSeconds(date),
    tags: list(attributes['tags'])
      .map(text)
      .filter((tag) => tag !== '')
      .join(', '),
    rawResponse: rawText(reply.body, options),
    contactedDomains: file ? ids('contacted_domains') : '',
    contactedIps: file ? ids('contacted_ips') : '',
    contactedUrls: file ? urls('contacted_urls', false) : '',
    communicatingFiles: file ? '' : ids('communicating_files'),
    submitted: reply.submitted === true,
    cacheHit: false,
    fetchedAt: isoFromEpochMs(reply.fetchedAt),
  };
}

/**
 * The other end of a resolution: `host_name` or `ip_address` of a resolution object, else cut from a
 * descriptor's id, which is the IP address followed by the host name (`1.2.3.4example.com`). `names` are the
 * observable's own spellings (as looked up, and VirusTotal's id).
 */
function resolutionEnd(item: unknown, wanted: 'host_name' | 'ip_address', names: readonly string[]): string {
  const fromAttributes = text(object(object(item)?.['attributes'])?.[wanted]);
  if (fromAttributes !== '') return fromAttributes;
  const id = text(object(item)?.['id']);
  const lower = id.toLowerCase();
  for (const name of names) {
    const own = name.toLowerCase();
    if (own === '' || own.length >= id.length) continue;
    if (wanted === 'host_name' && lower.startsWith(own)) return id.slice(own.length);
    if (wanted === 'ip_address' && lower.endsWith(own)) return id.slice(0, id.length - own.length);
  }
  return '';
}

/**
 * The URL of a url descriptor: `context_attributes.url` (what VirusTotal puts in relationship listings), else
 * the attributes' `url` when the item is a whole object; '' when it carries only an id. `detectedOnly` leaves
 * out one whose own verdict says no engine found it malicious.
 */
function urlOfDescriptor(item: unknown, detectedOnly: boolean): string {
  const descriptor = object(item);
  const attributes = object(descriptor?.['attributes']);
  if (detectedOnly) {
    const malicious = object(attributes?.['last_analysis_stats'])?.['malicious'];
    if (malicious !== undefined && count(malicious) === 0) return '';
  }
  return text(object(descriptor?.['context_attributes'])?.['url']) || text(attributes?.['url']);
}

function normalizeV2(reply: VtReply, options: { raw: boolean; redact?: string }): LookupResult {
  const body = object(reply.body);
  if (body === undefined) return failedResult('Failed: malformed reply');
  const responseCode = integer(body['response_code']);
  if (responseCode === 0) return notFound(reply, text(body['verbose_msg']), options);
  const base = {
    ...EMPTY,
    // msticpy: every parsed reply is a Success; the caller reads ResponseCode (-2 = queued for analysis).
    status: 'Success' as const,
    responseCode,
    resource: text(body['resource']) || reply.value,
    verboseMsg: reply.submitted === true ? SUBMITTED_MESSAGE : text(body['verbose_msg']),
    rawResponse: rawText(reply.body, options),
    submitted: reply.submitted === true,
    fetchedAt: isoFromEpochMs(reply.fetchedAt),
  };
  if (reply.type === 'dns' || reply.type === 'ipv4' || reply.type === 'ipv6') {
    const detected = body['detected_urls'];
    const detectedUrls = list(detected).map(object);
    const resolutions = list(body['resolutions']).map(object);
    return {
      ...base,
      positives: Array.isArray(detected)
        ? count(detectedUrls.reduce((sum, item) => sum + (count(item?.['positives']) || 0), 0))
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
  let result: LookupResult;
  try {
    if (reply.body === null) result = notFound(reply, 'Not found in VirusTotal', options);
    else result = reply.api === 'v3' ? normalizeV3(reply, options) : normalizeV2(reply, options);
  } catch {
    // Every field is validated above; this is the guarantee that no reply, however built, aborts a run.
    return failedResult('Failed: malformed reply');
  }
  return options.redact === undefined ? result : redactResult(result, options.redact);
}

const TEXT_CELLS = [
  'resource',
  'verboseMsg',
  'scanId',
  'permalink',
  'md5',
  'sha1',
  'sha256',
  'resolvedDomains',
  'resolvedIps',
  'detectedUrls',
  'tags',
  'contactedDomains',
  'contactedIps',
  'contactedUrls',
  'communicatingFiles',
] as const satisfies ReadonlyArray<keyof LookupResult>;

/** The result with the secret cut out of every text cell (RawResponse already is). */
function redactResult(result: LookupResult, secret: string): LookupResult {
  let copy: { -readonly [K in keyof LookupResult]: LookupResult[K] } | undefined;
  for (const cell of TEXT_CELLS) {
    const value = result[cell];
    const cleaned = redact(value, secret);
    if (cleaned !== value) {
      copy ??= { ...result };
      copy[cell] = cleaned;
    }
  }
  return copy ?? result;
}
