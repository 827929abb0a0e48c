/**
 * API v2 reports, derived from the same v3-shaped objects as the v3 replies, so that both APIs agree about
 * every observable. Field names and value types follow recorded v2 replies.
 */
import type { AnalysisStats, EngineResult } from './engines.js';
import type { VtObject } from './model.js';

/** `YYYY-MM-DD HH:MM:SS` UTC, v2's date format. */
export function v2Date(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function numberAttribute(object: VtObject, name: string): number {
  const value = object.attributes[name];
  return typeof value === 'number' ? value : 0;
}

function results(object: VtObject): Record<string, EngineResult> {
  return (object.attributes['last_analysis_results'] ?? {}) as Record<string, EngineResult>;
}

/** positives (malicious engines) and total (engines that answered) of an object. */
function positivesAndTotal(object: VtObject): { positives: number; total: number } {
  const stats = (object.attributes['last_analysis_stats'] ?? {}) as AnalysisStats;
  return {
    positives: stats['malicious'] ?? 0,
    total: Object.values(stats).reduce((sum, count) => sum + count, 0),
  };
}

/** A v2 reply for a resource that is not in the dataset, or that is not valid. */
export function v2Missing(responseCode: 0 | -1 | -2, verboseMsg: string, resource?: string): Record<string, unknown> {
  return resource === undefined
    ? { response_code: responseCode, verbose_msg: verboseMsg }
    : { response_code: responseCode, resource, verbose_msg: verboseMsg };
}

/** `file/report` for one found file. */
export function v2FileReport(object: VtObject, resource: string): Record<string, unknown> {
  const date = numberAttribute(object, 'last_analysis_date');
  const scans: Record<string, unknown> = {};
  for (const [engine, result] of Object.entries(results(object))) {
    scans[engine] = {
      detected: result.category === 'malicious',
      version: result.engine_version ?? null,
      result: result.result,
      update: result.engine_update ?? null,
    };
  }
  const { positives, total } = positivesAndTotal(object);
  return {
    scans,
    scan_id: `${object.id}-${date}`,
    sha1: object.attributes['sha1'],
    resource,
    response_code: 1,
    scan_date: v2Date(date),
    permalink: `https://www.virustotal.com/file/${object.id}/analysis/${date}/`,
    verbose_msg: 'Scan finished, information embedded',
    total,
    positives,
    sha256: object.id,
    md5: object.attributes['md5'],
  };
}

/** `url/report` for one found URL; `resource` is what was sent, `url` the canonical form. */
export function v2UrlReport(object: VtObject, resource: string, url: string): Record<string, unknown> {
  const date = numberAttribute(object, 'last_analysis_date');
  const scans: Record<string, unknown> = {};
  for (const [engine, result] of Object.entries(results(object))) {
    // v2 engines said "clean site", "phishing site"; v3 dropped the suffix.
    scans[engine] = { detected: result.category === 'malicious', result: `${result.result ?? 'unrated'} site` };
  }
  const { positives, total } = positivesAndTotal(object);
  return {
    scan_id: `${object.id}-${date}`,
    resource,
    url,
    response_code: 1,
    scan_date: v2Date(date),
    permalink: `https://www.virustotal.com/url/${object.id}/analysis/${date}/`,
    verbose_msg: 'Scan finished, scan information embedded in this object',
    filescan_id: null,
    positives,
    total,
    scans,
  };
}

/** The v2 listing of a URL hosted on a domain or IP, rendered by the caller from the URL's own object. */
export interface HostedUrl {
  readonly url: string;
  readonly object: VtObject;
}

function urlLists(hosted: readonly HostedUrl[]): { detected_urls: unknown[]; undetected_urls: unknown[] } {
  const detected: unknown[] = [];
  const undetected: unknown[] = [];
  for (const { url, object } of hosted) {
    const { positives, total } = positivesAndTotal(object);
    const scanDate = v2Date(numberAttribute(object, 'last_analysis_date'));
    // detected_urls items are objects; undetected_urls items are arrays [url, sha256, positives, total, date].
    if (positives > 0) detected.push({ url, positives, total, scan_date: scanDate });
    else undetected.push([url, object.id, positives, total, scanDate]);
  }
  return { detected_urls: detected, undetected_urls: undetected };
}

/** `domain/report` for one found domain. */
export function v2DomainReport(object: VtObject, hosted: readonly HostedUrl[]): Record<string, unknown> {
  const categories = (object.attributes['categories'] ?? {}) as Record<string, string>;
  const vendorKeys: Record<string, string> = {};
  for (const [vendor, category] of Object.entries(categories)) vendorKeys[`${vendor} category`] = category;
  return {
    ...vendorKeys,
    undetected_referrer_samples: [],
    whois_timestamp: numberAttribute(object, 'last_update_date'),
    detected_downloaded_samples: [],
    detected_referrer_samples: [],
    undetected_downloaded_samples: [],
    resolutions: object.resolutions.map((resolution) => ({
      last_resolved: v2Date(resolution.date),
      ip_address: resolution.ipAddress,
    })),
    detected_communicating_samples: [],
    undetected_communicating_samples: [],
    categories: [...new Set(Object.values(categories))],
    domain_siblings: [],
    whois: object.attributes['whois'] ?? '',
    response_code: 1,
    verbose_msg: 'Domain found in dataset',
    subdomains: [],
    pcaps: [],
    ...urlLists(hosted),
  };
}

/** `ip-address/report` for one found IP address; `asn` is a string in v2. */
export function v2IpReport(object: VtObject, hosted: readonly HostedUrl[]): Record<string, unknown> {
  return {
    ...urlLists(hosted),
    undetected_downloaded_samples: [],
    detected_downloaded_samples: [],
    response_code: 1,
    as_owner: object.attributes['as_owner'] ?? '',
    verbose_msg: 'IP address in dataset',
    country: object.attributes['country'] ?? '',
    resolutions: object.resolutions.map((resolution) => ({
      last_resolved: v2Date(resolution.date),
      hostname: resolution.hostName,
    })),
    asn: scalarText(object.attributes['asn']),
  };
}

/** A number or string attribute as text; anything else (absent, an object) as ''. */
function scalarText(value: unknown): string {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : '';
}
