/**
 * Links that stand for another observable, decided once per distinct URL (screening calls this): a wrapped link
 * stands for its target, a VirusTotal GUI link for the object it shows.
 *
 * Design decisions:
 * - Wrappers: Microsoft SafeLinks (`https://<region>.safelinks.protection.outlook.com/?url=<percent-encoded>&…`),
 *   Proofpoint URL Defense v2 (`https://urldefense.proofpoint.com/v2/url?u=<url with - for % and _ for />&…`) and
 *   v3 (`https://urldefense.com/v3/__<url>__;<base64 of the characters replaced by *>!!…`, decoded as Proofpoint's
 *   own decoder does). The wrapper's host is Microsoft's or Proofpoint's, never an IoC: the target replaces it.
 * - A URL in another URL's query (`?url=http%3A%2F%2Fevil.example%2F`, `?q=`, `?redirect=…`, any parameter, percent-
 *   encoded or not) is found by the scan as a url candidate of its own (see src/extract/index.ts scanEmbeddedUrls),
 *   screened as its decoded form ({@link decodeEmbeddedUrl}). The outer URL stays a row of its own unless it is a
 *   known wrapper: an unknown host with a redirect parameter may be the attacker's own page (a phishing login's
 *   `?redirect=`), and a redirector's verdict costs one lookup. A SafeLinks URL, whose target is such an embedded
 *   URL, gives no row at all in extracted text ({@link EMBEDDED}: its target is the embedded candidate's row);
 *   pre-typed, it stands for its target.
 * - VirusTotal links stand for the object they show: analysts paste them for the hash. The GUI's
 *   (`https://www.virustotal.com/gui/file/<hash>/detection`, `…/gui/ip-address/<ip>`, `…/gui/domain/<name>`,
 *   `…/gui/url/<base64 of the URL>`), its older `/#/` and localised forms (`/en/file/<sha256>/analysis/<time>/`,
 *   in years of threat reports and MISP references), API v3's (`/api/v3/files/<hash>`, `…/ip_addresses/<ip>`,
 *   `…/domains/<name>`, `…/urls/<id>`) and API v2's reports (`/vtapi/v2/file/report?resource=<hash>`, `url` with
 *   `resource`, `domain` with `domain`, `ip-address` with `ip`), as scripts' logs hold them. Any other
 *   VirusTotal link stands for nothing (virustotal.com is not an IoC), and so does a URL analysis id that is not the
 *   URL itself (`/gui/url/<sha256>`).
 * Wrapping nests (SafeLinks around Proofpoint): callers unwrap again, a bounded number of times.
 */
import { HASH_TYPE_BY_LENGTH, type IocType } from '../types.js';

/**
 * What a URL stands for: another value of a type, `null` (nothing to look up), `undefined` (itself), or
 * {@link EMBEDDED} (its target is in its query, where the scan finds it as a candidate of its own: no row).
 */
export type Unwrapped = { readonly type: IocType | 'url'; readonly value: string } | null | undefined | typeof EMBEDDED;

/** The hosts of SafeLinks end so (`eur02.safelinks.protection.outlook.com`). */
const SAFELINKS = '.safelinks.protection.outlook.com';

/** See {@link Unwrapped}. */
export const EMBEDDED = 'embedded';

/** A percent-encoded http(s) URL, as the scan finds one after a query's `=` (`http%3A%2F%2F…`). */
const ENCODED_URL = /^https?%3a%2f%2f/i;

/** The URL a percent-encoded embedded URL stands for (`http%3A%2F%2Fevil.example%2F` → `http://evil.example/`). */
export function decodeEmbeddedUrl(value: string): string {
  // `%` right after `http` or `https`, tested before the regular expression: this runs once per distinct URL.
  const percent = value.charCodeAt(4) === 37 || value.charCodeAt(5) === 37;
  return percent && ENCODED_URL.test(value) ? percentDecode(value) : value;
}

/** A parameter value that is itself a URL: one of the schemes extraction knows, then `://`. */
const NESTED_URL = /^(?:https?|s?ftps?):\/\//i;

/** `decodeURIComponent`, keeping the text as it is where it is not valid percent-encoding. */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/%[0-9a-f]{2}/gi, (escape) => {
      const code = parseInt(escape.slice(1), 16);
      return code < 128 ? String.fromCharCode(code) : escape;
    });
  }
}

/** The raw value of each `name=value` pair of a query string (after `?`, before `#`). */
function queryParameters(url: string): Array<readonly [string, string]> {
  const question = url.indexOf('?');
  if (question === -1) return [];
  const hash = url.indexOf('#', question);
  const query = url.slice(question + 1, hash === -1 ? url.length : hash);
  return query.split('&').map((pair) => {
    const equals = pair.indexOf('=');
    return equals === -1 ? ([pair, ''] as const) : ([pair.slice(0, equals), pair.slice(equals + 1)] as const);
  });
}

/** Proofpoint v3's run lengths: `**X` stands for the next N decoded characters, N from 2 by the character X. */
const V3_RUNS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function proofpointV3(url: string): string | null {
  const match = /\/v3\/__(.+?)__;([A-Za-z0-9_-]*)!/.exec(url) ?? /\/v3\/__(.+?)__(?:;|$)/.exec(url);
  if (match === null) return null;
  const embedded = match[1] ?? '';
  const replaced = Array.from(Buffer.from(match[2] ?? '', 'base64url').toString('utf8'));
  let next = 0;
  const decoded = embedded.replace(/\*(\*.)?/g, (token) => {
    const length = token.length === 1 ? 1 : V3_RUNS.indexOf(token.charAt(2)) + 2;
    const run = replaced.slice(next, next + length).join('');
    next += length;
    return run;
  });
  return percentDecode(decoded);
}

function proofpointV2(url: string): string | null {
  const value = queryParameters(url).find(([name]) => name === 'u')?.[1];
  if (value === undefined) return null;
  return percentDecode(value.replaceAll('-', '%').replaceAll('_', '/'));
}

/** The GUI's object pages: `/gui/…`, `/#/…`, the older localised `/en/file/<id>/analysis/…`, or none of those. */
const VT_OBJECT = /^\/(?:gui\/|#\/|[a-z]{2}(?:-[a-z]{2,4})?\/)?(file|ip-address|domain|url)\/([^/?#]+)/;

/** API v3's objects, by their collection's name (`/api/v3/files/<id>`). */
const VT_API_OBJECT = /^\/api\/v3\/(files|ip_addresses|domains|urls)\/([^/?#]+)/;
const API_KINDS: Readonly<Record<string, string>> = {
  files: 'file',
  ip_addresses: 'ip-address',
  domains: 'domain',
  urls: 'url',
};

/** API v2's reports (`/vtapi/v2/file/report?apikey=…&resource=<hash>`), and the parameter that names the object. */
const VT_V2_REPORT = /^\/vtapi\/v2\/(file|url|domain|ip-address)\/report(?:[?#]|$)/;
const V2_PARAMETERS: Readonly<Record<string, string>> = {
  file: 'resource',
  url: 'resource',
  domain: 'domain',
  'ip-address': 'ip',
};

/** The kind and id of the object a VirusTotal link's path (and query) names, or null. */
function virusTotalLink(path: string): readonly [string, string] | null {
  const match = VT_OBJECT.exec(path) ?? VT_API_OBJECT.exec(path);
  if (match !== null) return [API_KINDS[match[1] ?? ''] ?? match[1] ?? '', match[2] ?? ''];
  const report = VT_V2_REPORT.exec(path);
  if (report === null) return null;
  const kind = report[1] ?? '';
  const id = queryParameters(path).find(([name]) => name === V2_PARAMETERS[kind])?.[1];
  return id === undefined || id === '' ? null : [kind, id];
}

/** What a VirusTotal link shows (see the module's head). */
function virusTotalObject(path: string, extracted: boolean): Unwrapped {
  const link = virusTotalLink(path);
  if (link === null) return null;
  const id = percentDecode(link[1]);
  // API v2's `resource` may be the URL itself, in the query, where the scan finds it as a candidate of its own
  // (encoded or not): in extracted text that candidate is the row, as a SafeLinks target is.
  if (extracted && link[0] === 'url' && NESTED_URL.test(id)) return EMBEDDED;
  switch (link[0]) {
    case 'file': {
      const type = HASH_TYPE_BY_LENGTH[id.length];
      return type === undefined ? null : { type, value: id };
    }
    case 'ip-address':
      return { type: id.includes(':') ? 'ipv6' : 'ipv4', value: id };
    case 'domain':
      return { type: 'dns', value: id };
    default: {
      // A URL itself (API v2's `resource`), its base64url (the GUI's and API v3's id), or its analysis's sha256,
      // which does not give the URL back.
      if (NESTED_URL.test(id)) return { type: 'url', value: id };
      if (/^[0-9a-f]{64}$/i.test(id)) return null;
      const decoded = Buffer.from(id, 'base64url').toString('utf8');
      return NESTED_URL.test(decoded) ? { type: 'url', value: decoded } : null;
    }
  }
}

/**
 * True for the hosts of the wrappers above and VirusTotal's: as a dns observable (a URL's host with
 * `urlHostsAsDns`, or a name in text) they are no IoC either.
 */
export function isWrapperHost(host: string): boolean {
  // Comparisons that fail at the length for almost every name first: this runs once per distinct name.
  if (host.length > SAFELINKS.length) return host.endsWith(SAFELINKS);
  return (
    host === 'urldefense.proofpoint.com' ||
    host === 'urldefense.com' ||
    host === 'www.virustotal.com' ||
    host === 'virustotal.com'
  );
}

/**
 * What the URL stands for (see the module's head), given its lower-case host and where its path starts.
 * `extracted`: the URL was found in text, where a URL embedded in its query is a candidate of its own.
 */
export function unwrapUrl(url: string, host: string, pathStart: number, extracted: boolean): Unwrapped {
  if (host === 'www.virustotal.com' || host === 'virustotal.com')
    return virusTotalObject(url.slice(pathStart), extracted);
  let target: string | null = null;
  if (host.length > SAFELINKS.length && host.endsWith(SAFELINKS)) {
    const value = queryParameters(url).find(([name]) => name === 'url')?.[1];
    if (value !== undefined && extracted && ENCODED_URL.test(value)) return EMBEDDED;
    target = value === undefined ? null : percentDecode(value);
  } else if (host === 'urldefense.proofpoint.com' && url.startsWith('/v2/', pathStart)) {
    target = proofpointV2(url);
  } else if (host === 'urldefense.com' && url.startsWith('/v3/', pathStart)) {
    target = proofpointV3(url);
  }
  return target !== null && NESTED_URL.test(target) ? { type: 'url', value: target } : undefined;
}
