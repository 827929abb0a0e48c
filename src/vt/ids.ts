/**
 * VirusTotal object identifiers, shared by the client and the emulator so that both agree.
 */
import { oneShotHash } from '../one-shot-hash.js';
import type { IocType } from '../types.js';

/** v3 URL id, first form: unpadded URL-safe base64 of the URL exactly as given. */
export function urlIdBase64(url: string): string {
  return Buffer.from(url, 'utf8').toString('base64url');
}

/**
 * VirusTotal's URL canonicalisation, as far as it is public: default scheme `http://`, lower-case scheme and
 * host, empty path becomes `/`. Path, query and fragment keep their case.
 */
export function canonicalUrl(url: string): string {
  const trimmed = url.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/is.exec(withScheme);
  if (match === null) return withScheme;
  const scheme = (match[1] ?? '').toLowerCase();
  const authority = (match[2] ?? '').toLowerCase();
  const rest = match[3] ?? '';
  return `${scheme}://${authority}${rest === '' || rest.startsWith('?') || rest.startsWith('#') ? `/${rest}` : rest}`;
}

/** v3 URL id, second form (the one VirusTotal returns): SHA-256 hex of the canonical URL. */
export function urlIdSha256(url: string): string {
  return oneShotHash('sha256', canonicalUrl(url), 'hex');
}

/** The v3 collection for an IoC type. */
export function v3Collection(type: IocType): 'files' | 'urls' | 'domains' | 'ip_addresses' {
  switch (type) {
    case 'md5_hash':
    case 'sha1_hash':
    case 'sha256_hash':
      return 'files';
    case 'url':
      return 'urls';
    case 'dns':
      return 'domains';
    case 'ipv4':
    case 'ipv6':
      return 'ip_addresses';
  }
}

/** The GUI link VirusTotal shows for an object (v3 has no `permalink`). */
export function guiLink(type: IocType, id: string): string {
  const kind = { files: 'file', urls: 'url', domains: 'domain', ip_addresses: 'ip-address' }[v3Collection(type)];
  return `https://www.virustotal.com/gui/${kind}/${id}`;
}
