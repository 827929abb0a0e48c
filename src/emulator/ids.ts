/**
 * Validation and normalisation of the ids in request paths and v2 parameters. Returns the store's id, or
 * `undefined` for a malformed id (v3 400 InvalidArgumentError, v2 response_code -1).
 */
import { isIP } from 'node:net';
import { ipaddr } from '../ipaddr.js';

const HASH = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i;
const SHA256 = /^[0-9a-f]{64}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
/** Host-name labels; the last one (the TLD) must hold a letter. Bounded quantifiers: no backtracking blow-up. */
const DOMAIN =
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// A URL with control characters is not one VirusTotal would know.
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A file id: md5, sha1 or sha256, lower-cased. */
export function normalizeHash(value: string): string | undefined {
  return HASH.test(value) ? value.toLowerCase() : undefined;
}

/** A v2 file resource: a hash, or a scan id `<sha256>-<epoch>`. */
export function normalizeFileResource(value: string): string | undefined {
  const scanId = /^([0-9a-f]{64})-\d+$/i.exec(value);
  return scanId?.[1] !== undefined ? scanId[1].toLowerCase() : normalizeHash(value);
}

/** A v3 URL id: `{kind: 'sha256', id}` or `{kind: 'url', url}` (the URL the base64 form encodes). */
export function parseUrlId(value: string): { kind: 'sha256'; id: string } | { kind: 'url'; url: string } | undefined {
  if (SHA256.test(value)) return { kind: 'sha256', id: value.toLowerCase() };
  if (!BASE64URL.test(value)) return undefined;
  const bytes = Buffer.from(value.replace(/=+$/, ''), 'base64url');
  const url = bytes.toString('utf8');
  // A lossy decode (invalid UTF-8) or a control character means it was not the encoding of a URL.
  if (url === '' || !Buffer.from(url, 'utf8').equals(bytes) || CONTROL.test(url)) return undefined;
  return { kind: 'url', url };
}

/** A URL as a v2 resource: trimmed, non-empty, no control characters. */
export function normalizeUrlResource(value: string): string | undefined {
  const url = value.trim();
  return url === '' || CONTROL.test(url) ? undefined : url;
}

/** A domain, lower-cased, without a trailing dot. */
export function normalizeDomain(value: string): string | undefined {
  const domain = value.toLowerCase().replace(/\.$/, '');
  return DOMAIN.test(domain) ? domain : undefined;
}

/** An IPv4 address as given, an IPv6 address in its compressed lower-case form. */
export function normalizeIp(value: string): string | undefined {
  const version = isIP(value);
  if (version === 4) return value;
  if (version === 6) return ipaddr().IPv6.parse(value).toString();
  return undefined;
}
