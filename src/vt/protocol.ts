/**
 * The wire protocol of VirusTotal v3 and v2, free of I/O: request paths, the classification of a reply into
 * what the client must do next, v2 batch answer matching, the overall_quotas reply, and key redaction.
 */
import type { ApiVersion, IocType, Observable } from '../types.js';
import type { HttpReply } from './http-client.js';
import { NetworkFailure, REPLY_TOO_LARGE } from './http-client.js';
import { NestedTooDeeply, nestsDeeperThan, parseReply } from './lean-json.js';
import { PROXY_AUTHENTICATION, PROXY_DENIED, PROXY_FAILURE, UNTRUSTED_CERTIFICATE } from './proxy.js';
import { urlIdBase64, v3Collection } from './ids.js';
import type { ServerUsage } from './rate-limiter.js';

export { redact } from '../redact.js';

/** What one HTTP exchange means for the items it carried. */
export type Classified =
  | { readonly kind: 'ok'; readonly json: unknown }
  /** v3 404 NotFoundError: a normal answer, "not in VirusTotal". */
  | { readonly kind: 'notFound' }
  /**
   * 401, a proxy's 407, a server certificate not trusted: no later request can succeed. `message` says why when
   * the lookup stage cannot tell from the status.
   */
  | { readonly kind: 'auth'; readonly code: string; readonly status: number; readonly message?: string }
  /** 403: this endpoint is not open to the key. */
  | { readonly kind: 'forbidden'; readonly code: string }
  /** A permanent failure of these items (400 and the like). */
  | { readonly kind: 'failed'; readonly code: string }
  /** Transient: retry after a backoff. */
  | { readonly kind: 'retry'; readonly code: string; readonly retryAfter: string | undefined }
  /** A quota refusal (v3 429 QuotaExceededError, v2 204): per-minute, or the day/month is spent. */
  | { readonly kind: 'quota'; readonly code: string; readonly retryAfter: string | undefined };

/** The Status code of items a proxy refused for want of (other) credentials: `Failed: proxy requires authentication (407)`. */
const PROXY_AUTHENTICATION_CODE = 'proxy requires authentication (407)';

/** Which v2 endpoint an IoC type uses; file and url reports take batches. */
export type V2Endpoint = 'file' | 'url' | 'domain' | 'ip-address';

/** The v2 endpoint of an IoC type. */
export function v2Endpoint(type: IocType): V2Endpoint {
  switch (type) {
    case 'md5_hash':
    case 'sha1_hash':
    case 'sha256_hash':
      return 'file';
    case 'url':
      return 'url';
    case 'dns':
      return 'domain';
    case 'ipv4':
    case 'ipv6':
      return 'ip-address';
  }
}

// Hashes, host names and IP literals are plain ASCII; encodeURIComponent guards anything else, but IPv6 colons
// stay readable (they are legal in a path segment).
function segment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':');
}

/** The v3 object id of an observable in its collection's path. */
export function v3ObjectPath(observable: Observable): string {
  const id = observable.type === 'url' ? urlIdBase64(observable.value) : observable.value;
  return `/api/v3/${v3Collection(observable.type)}/${segment(id)}`;
}

/** True for the types whose v3 object has resolutions (IPs and domains). */
export function hasResolutions(type: IocType): boolean {
  return type === 'dns' || type === 'ipv4' || type === 'ipv6';
}

/**
 * The v3 lookup path. IPs and domains ask for their resolutions in the same request
 * (`?relationships=resolutions`: descriptors of the first page, at no extra cost).
 */
export function v3LookupPath(observable: Observable): string {
  const path = v3ObjectPath(observable);
  return hasResolutions(observable.type) ? `${path}?relationships=resolutions` : path;
}

/**
 * The relationships `--context` asks for, by v3 collection: what a file talked to, and what talks to (or is
 * served from) a domain or IP. URLs have none: their context is their host, looked up on its own.
 */
export const CONTEXT_RELATIONSHIPS: Readonly<Record<string, readonly string[]>> = {
  files: ['contacted_domains', 'contacted_ips', 'contacted_urls'],
  domains: ['communicating_files', 'urls'],
  ip_addresses: ['communicating_files', 'urls'],
};

/**
 * Relationships VirusTotal documents as Enterprise-only (`urls` and `downloaded_files` of domains and IPs):
 * when a context request is refused whole (403), they are dropped and the rest asked again.
 */
export const ENTERPRISE_RELATIONSHIPS: ReadonlySet<string> = new Set(['urls', 'downloaded_files']);

/** The v3 path of an object with some of its relationships (descriptors) in the same reply. */
export function v3ContextPath(observable: Observable, relationships: readonly string[]): string {
  return `${v3ObjectPath(observable)}?relationships=${relationships.join(',')}`;
}

/** A relationship page cursor as VirusTotal sends them (opaque, base64-ish); anything else is not followed. */
export function pageCursor(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9+/=_-]{1,512}$/.test(value) ? value : undefined;
}

/** The v3 path of a page of an IP's or domain's resolution descriptors after `cursor`. */
export function v3ResolutionsPagePath(observable: Observable, cursor: string): string {
  return `${v3ObjectPath(observable)}/relationships/resolutions?limit=40&cursor=${encodeURIComponent(cursor)}`;
}

/** The v3 path a URL is submitted to (POST, form field `url`). */
export const V3_SUBMIT_URL_PATH = '/api/v3/urls';

/** The v3 path of an analysis. */
export function v3AnalysisPath(id: string): string {
  return `/api/v3/analyses/${segment(id)}`;
}

/** The v3 quota status path; it holds the key, so it is only ever logged redacted. */
export function v3QuotasPath(apiKey: string): string {
  return `/api/v3/users/${segment(apiKey)}/overall_quotas`;
}

/**
 * The v2 report path for one batch (file/url) or one item (domain/ip-address); the key rides in `apikey`.
 * `scan` (url/report only) asks VirusTotal to queue the URLs it does not know for analysis.
 */
export function v2ReportPath(endpoint: V2Endpoint, values: readonly string[], apiKey: string, scan = false): string {
  const parameter = endpoint === 'domain' ? 'domain' : endpoint === 'ip-address' ? 'ip' : 'resource';
  // url/report separates URLs with newlines (a URL may hold commas); file/report with commas.
  const value = values.join(endpoint === 'url' ? '\n' : ',');
  const path = `/vtapi/v2/${endpoint}/report?apikey=${encodeURIComponent(apiKey)}&${parameter}=${encodeURIComponent(value)}`;
  return scan && endpoint === 'url' ? `${path}&scan=1` : path;
}

/**
 * Whether a v2 url/report answer is a queued analysis rather than a report: response_code -2, or (the answer
 * to `scan=1`) a scan_id without a verdict ("Scan request successfully queued").
 */
export function v2Queued(answer: Record<string, unknown>): boolean {
  const code = answer['response_code'];
  return (
    code === -2 || (code === 1 && typeof answer['scan_id'] === 'string' && typeof answer['positives'] !== 'number')
  );
}

/** What an analysis reply says: its status, and the URL object's verdict once completed. */
export interface AnalysisState {
  readonly completed: boolean;
  /** The analysis stats (when completed) and date, as a v3 URL object's `last_analysis_stats`/`_date`. */
  readonly stats: Record<string, unknown> | undefined;
  readonly date: unknown;
  /** The URL object's id (sha256), from `meta.url_info.id`. */
  readonly urlId: string | undefined;
}

/** A member of a JSON object, or undefined for anything that is not one. */
export function member(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** Reads a v3 analysis reply (`{data: {type: analysis, attributes: {status, stats, date}}, meta: {url_info}}`). */
export function parseAnalysis(json: unknown): AnalysisState {
  const attributes = member(member(json, 'data'), 'attributes');
  const stats = member(attributes, 'stats');
  const urlId = member(member(member(json, 'meta'), 'url_info'), 'id');
  return {
    completed: member(attributes, 'status') === 'completed',
    stats:
      typeof stats === 'object' && stats !== null && !Array.isArray(stats)
        ? (stats as Record<string, unknown>)
        : undefined,
    date: member(attributes, 'date'),
    urlId: typeof urlId === 'string' && /^[0-9a-f]{64}$/.test(urlId) ? urlId : undefined,
  };
}

/** The analysis id of a v3 `POST /urls` reply (`{data: {type: analysis, id}}`), or undefined. */
export function submittedAnalysisId(json: unknown): string | undefined {
  const id = member(member(json, 'data'), 'id');
  return typeof id === 'string' && /^[A-Za-z0-9=_-]{1,200}$/.test(id) ? id : undefined;
}

/**
 * How deep a reply may nest. VirusTotal's real replies nest under 20 levels; a deeper one is refused before it
 * is parsed, because storing or printing it (JSON.stringify, which recurses) would overflow the stack.
 */
const MAX_REPLY_DEPTH = 64;

type Parsed = { ok: true; json: unknown } | { ok: false; tooDeep: boolean };

function parseJson(body: Buffer, lean = false): Parsed {
  try {
    const text = body.toString('utf8');
    if (lean) return { ok: true, json: parseReply(text, MAX_REPLY_DEPTH) };
    if (nestsDeeperThan(text, MAX_REPLY_DEPTH)) return { ok: false, tooDeep: true };
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, tooDeep: error instanceof NestedTooDeeply };
  }
}

function v3ErrorCode(body: Buffer): string | undefined {
  const parsed = parseJson(body);
  if (!parsed.ok || typeof parsed.json !== 'object' || parsed.json === null) return undefined;
  const error = (parsed.json as { error?: unknown }).error;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Za-z]{1,64}$/.test(code) ? code : undefined;
}

/** Classifies a reply (or a network failure) of either API. */
export function classify(api: ApiVersion, reply: HttpReply | NetworkFailure): Classified {
  if (reply instanceof NetworkFailure) {
    // A reply over the size cap would be as large again: not worth a retry.
    if (reply.code === REPLY_TOO_LARGE) return { kind: 'failed', code: 'reply too large' };
    // A proxy's failure, in its own words (they name it by host:port, never with its credentials).
    if (reply.code === PROXY_AUTHENTICATION) return { kind: 'auth', code: PROXY_AUTHENTICATION_CODE, status: 407 };
    if (reply.code === PROXY_DENIED) return { kind: 'failed', code: reply.message };
    if (reply.code === PROXY_FAILURE) return { kind: 'retry', code: reply.message, retryAfter: undefined };
    if (UNTRUSTED_CERTIFICATE.has(reply.code)) {
      return {
        kind: 'auth',
        code: 'TLS certificate not trusted',
        status: 0,
        message:
          `the server's TLS certificate is not trusted (${reply.code}): behind a proxy that inspects TLS, trust ` +
          'its CA certificate (the `ca` option, --ca-file PEM or NODE_EXTRA_CA_CERTS)',
      };
    }
    return {
      kind: 'retry',
      code: reply.code === 'ETIMEDOUT' ? 'timeout' : `network error ${reply.code}`,
      retryAfter: undefined,
    };
  }
  const { status } = reply;
  if (status === 200) {
    // v3 object replies are read without their engine results (see lean-json.ts).
    const parsed = parseJson(reply.body, api === 'v3');
    if (parsed.ok && typeof parsed.json === 'object' && parsed.json !== null) return { kind: 'ok', json: parsed.json };
    // A reply nested too deeply was built that way: asking again gets the same.
    if (!parsed.ok && parsed.tooDeep) return { kind: 'failed', code: 'malformed reply' };
    // A cut or garbled body is a transport accident: the same request will most likely succeed again.
    return { kind: 'retry', code: 'malformed reply', retryAfter: undefined };
  }
  const code = (api === 'v3' ? v3ErrorCode(reply.body) : undefined) ?? `http ${status}`;
  if (status === 204) return { kind: 'quota', code: 'http 204', retryAfter: reply.retryAfter };
  if (status === 404 && api === 'v3') return { kind: 'notFound' };
  if (status === 401) return { kind: 'auth', code, status };
  // Only a proxy sends 407 (a forward proxy answers plain-HTTP requests itself).
  if (status === 407) return { kind: 'auth', code: PROXY_AUTHENTICATION_CODE, status };
  // v2's report endpoints are open to every key, so a v2 403 means the key itself was refused (VirusTotal
  // answers 403, not 401, for a missing or unknown v2 key).
  if (status === 403)
    return api === 'v3' ? { kind: 'forbidden', code } : { kind: 'auth', code: 'ForbiddenError', status };
  if (status === 429) {
    return code === 'QuotaExceededError' || api === 'v2'
      ? { kind: 'quota', code, retryAfter: reply.retryAfter }
      : { kind: 'retry', code, retryAfter: reply.retryAfter };
  }
  // NotAvailableYet: the object is being built; asking again later is what VirusTotal recommends.
  if (code === 'NotAvailableYet' || status === 408 || status >= 500)
    return { kind: 'retry', code, retryAfter: reply.retryAfter };
  return { kind: 'failed', code };
}

function usageOf(section: unknown): { used?: number; allowed?: number } {
  if (typeof section !== 'object' || section === null) return {};
  const record = section as Record<string, unknown>;
  const holder =
    typeof record['user'] === 'object' && record['user'] !== null
      ? (record['user'] as Record<string, unknown>)
      : record;
  const used = holder['used'];
  const allowed = holder['allowed'];
  // Counts only: anything else (a negative, a fraction, 1e400) is as if the field were absent.
  const isCount = (value: unknown): value is number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  return {
    ...(isCount(used) ? { used } : {}),
    ...(isCount(allowed) ? { allowed } : {}),
  };
}

/**
 * Reads VirusTotal's overall_quotas reply (`data.api_requests_daily.user.{used,allowed}` and the monthly
 * twin). Its shape is not documented in detail: anything else yields undefined and is ignored.
 */
export function parseOverallQuotas(json: unknown): ServerUsage | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const data = (json as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return undefined;
  const daily = usageOf((data as Record<string, unknown>)['api_requests_daily']);
  const monthly = usageOf((data as Record<string, unknown>)['api_requests_monthly']);
  const minutely = usageOf((data as Record<string, unknown>)['api_requests_minutely']);
  const usage: ServerUsage = {
    ...(minutely.used === undefined ? {} : { minuteUsed: minutely.used }),
    ...(minutely.allowed === undefined ? {} : { minuteAllowed: minutely.allowed }),
    ...(daily.used === undefined ? {} : { dayUsed: daily.used }),
    ...(daily.allowed === undefined ? {} : { dayAllowed: daily.allowed }),
    ...(monthly.used === undefined ? {} : { monthUsed: monthly.used }),
    ...(monthly.allowed === undefined ? {} : { monthAllowed: monthly.allowed }),
  };
  return Object.keys(usage).length === 0 ? undefined : usage;
}

/**
 * Matches a v2 batch reply to the items sent: by `resource` (case-insensitively for hashes), in order; an
 * answer without a resource takes the same position's item. Returns one answer per item, undefined for an
 * item the reply left out (VirusTotal drops what is over its batch limit).
 */
export function matchBatch(
  observables: readonly Observable[],
  json: unknown,
): Array<Record<string, unknown> | undefined> {
  const answers = (Array.isArray(json) ? json : [json]).filter(
    (answer): answer is Record<string, unknown> =>
      typeof answer === 'object' && answer !== null && !Array.isArray(answer),
  );
  const matched: Array<Record<string, unknown> | undefined> = observables.map(() => undefined);
  const keyOf = (observable: Observable): string =>
    observable.type === 'url' ? observable.value : observable.value.toLowerCase();
  answers.forEach((answer, position) => {
    const resource = answer['resource'];
    let index = -1;
    if (typeof resource === 'string') {
      const wanted = resource.trim();
      index = observables.findIndex(
        (observable, i) =>
          matched[i] === undefined && (keyOf(observable) === wanted || keyOf(observable) === wanted.toLowerCase()),
      );
    } else if (position < observables.length && matched[position] === undefined) {
      index = position;
    }
    if (index >= 0) matched[index] = answer;
  });
  return matched;
}
