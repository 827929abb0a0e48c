/**
 * Screening: msticpy's VTLookup rules and its exact status messages, for pre-typed values and extracted candidates
 * alike. Values are stripped of surrounding white space and refanged first; accepted values come back normalised
 * (lower-case hashes, host names and IPv6; canonical IPv6; URL scheme and host lower-cased).
 *
 * Where msticpy's own code cannot reach a message of its table (`Domain is unqualified domain name` and
 * `Domain is an IP address` are hidden behind its dns regex), the rule is ordered so that each is reachable
 * while its observed edge cases hold: an IP literal given as dns → `Domain is an IP address`; a dot-less valid
 * label (`WORKSTATION01`) → `Domain is unqualified domain name`; special-use names (`localhost`) and everything
 * else that is not a public domain → `Observable does not match expected pattern for dns`.
 */
import {
  asciiHostName,
  hasPublicSuffix,
  isLookalike,
  isPublicDomain,
  isSpecialUseName,
  isValidLabel,
} from './extract/domain.js';
import {
  canonicalIpv6,
  ipv4Value,
  ipv6Range,
  isMulticastIpv4Value,
  isNonGlobalIpv4Value,
  isPrivateIp,
  isValidIpv4,
  isValidIpv6,
  looksLikeIpv4,
  looksLikeIpv6,
} from './extract/ip.js';
import { refang } from './extract/refang.js';
import { EMBEDDED, decodeEmbeddedUrl, isWrapperHost, unwrapUrl } from './extract/unwrap.js';
import { URL_SCHEMES, normaliseUrl, splitUrl } from './extract/url.js';
import { HASH_KEY_SEPARATOR, NOT_FILE_HASH_KEYS, VERSION_PREFIX } from './extract/context.js';
import { HASH_LENGTHS, HASH_TYPE_BY_LENGTH, type HashType, type IocType, isIocType } from './types.js';

/** The result of screening one value: accepted with its normalised value, or rejected with msticpy's status. */
export type ScreenOutcome =
  | { readonly accepted: true; readonly type: IocType; readonly value: string; readonly note?: ScreenNote }
  | {
      readonly accepted: false;
      readonly type: string;
      readonly value: string;
      readonly status: string;
      /**
       * True for a value that gives no row at all: a link wrapper found in text whose target, embedded in it, is
       * a candidate of its own (see src/extract/unwrap.ts). Never for a pre-typed value.
       */
      readonly silent?: true;
    };

/**
 * A note on an accepted observable, written in the Note column: `Lookalike` for an internationalised name that
 * mixes scripts (see isLookalike in src/extract/domain.ts).
 */
export type ScreenNote = 'Lookalike';

/** msticpy's status messages, verbatim, and ours in its style after them. */
export const SCREEN_MESSAGES = {
  pattern: (type: string) => `Observable does not match expected pattern for ${type}`,
  ipInvalid: 'IP address is invalid format',
  ipNotGlobal: 'IP address is not global',
  domainUnqualified: 'Domain is unqualified domain name',
  domainIsIp: 'Domain is an IP address',
  urlNoSchemeOrHost: (url: string) => `Could not obtain scheme or host from ${url}`,
  urlPrivateHost: 'Host part of URL is a private IP address',
  urlUnqualifiedHost: 'Host is unqualified domain name',
  urlFileScheme: 'file URL scheme is not supported',
  lowEntropy: 'String has too low an entropy to be a hash',
  unsupportedType: (type: string) => `Unsupported IoC type: ${type}`,
  ipMulticast: 'IP address is multicast',
  ipVersion: 'IP address is a version number',
  domainReverse: 'Domain is a reverse-DNS name',
  domainWrapper: "Domain is a link wrapper's or VirusTotal's",
  urlNoPublicSuffix: 'Host part of URL has no public suffix',
  urlVirusTotal: 'Link to VirusTotal without an observable',
  urlWrapper: 'Link wrapper (its target is reported on its own)',
  hashNotFile: (key: string) => `Hash is not a file hash (${key})`,
  hashEmptyFile: 'Known benign hash (empty file)',
} as const;

/** The md5, sha1 and sha256 of the empty file, by length: known, benign, and a wasted lookup. */
const EMPTY_FILE_HASHES: Readonly<Record<number, string>> = {
  32: 'd41d8cd98f00b204e9800998ecf8427e',
  40: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  64: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

/** Where the path of a URL starts: its first `/`, `?` or `#` after the host (or its end). */
function pathEnd(url: string, hostEnd: number): number {
  let at = hostEnd;
  while (at < url.length) {
    const code = url.charCodeAt(at);
    if (code === 47 || code === 63 || code === 35) break;
    at += 1;
  }
  return at;
}

/** Reverse-DNS (PTR) names: `4.3.2.1.in-addr.arpa`, `….ip6.arpa`. They name an address, not a domain. */
const REVERSE_DNS = /(?:^|\.)(?:in-addr|ip6)\.arpa$/;

const DOT = 46;

/** How many wrappers deep a URL is unwrapped (SafeLinks around Proofpoint around a redirector, …). */
const MAX_UNWRAP = 4;

/** Per-character counts of {@link hexHashEntropy}, reused: no allocation per value (zeroed between calls). */
const asciiCounts = new Int32Array(128);

/** Longest value whose entropy terms are kept in {@link entropyTerms} (hashes are 32 to 64 characters). */
const MAX_TERMS_LENGTH = 128;

/**
 * `share * Math.log2(share)` for `share = count / length`, by length and count, filled as met (NaN: not yet): the
 * same expression on the same numbers, so the same double, without a log2 call per character of every hash
 * (it was two thirds of screening a hash). Exactness is tested against the formula (test/screen-fast-paths.test.ts).
 */
const entropyTerms: Array<Float64Array | undefined> = [];

function entropyTerm(count: number, length: number): number {
  if (length > MAX_TERMS_LENGTH) {
    const share = count / length;
    return share * Math.log2(share);
  }
  const terms = (entropyTerms[length] ??= new Float64Array(length + 1).fill(Number.NaN));
  let term = terms[count] as number;
  if (Number.isNaN(term)) {
    const share = count / length;
    term = share * Math.log2(share);
    terms[count] = term;
  }
  return term;
}

/** The digits of the hash {@link hexHashEntropy} reads, in the order they first appear (at most 16). */
const firstSeen = new Uint8Array(16);

/**
 * The Shannon entropy of `value` in bits per character (msticpy's hash test: its terms summed by first
 * appearance), when it is `length` lower-case hex digits; -1 when it is not. The hash pattern and the entropy in
 * one pass over the characters, where a regular expression and a general entropy function took three (a sha256
 * 1.0 µs a value, 0.35 of it the regular expression; issue 12's all-unique text has 72,000 distinct hashes).
 */
export function hexHashEntropy(value: string, length: number): number {
  if (value.length !== length) return -1;
  let distinct = 0;
  for (let index = 0; index < length; index += 1) {
    const code = value.charCodeAt(index);
    if (code > 102 || (code < 97 && (code < 48 || code > 57))) {
      // Leave the counts zeroed for the next call.
      for (let seen = 0; seen < distinct; seen += 1) asciiCounts[firstSeen[seen] as number] = 0;
      return -1;
    }
    const count = asciiCounts[code] as number;
    if (count === 0) firstSeen[distinct++] = code;
    asciiCounts[code] = count + 1;
  }
  let entropy = 0;
  for (let seen = 0; seen < distinct; seen += 1) {
    const code = firstSeen[seen] as number;
    entropy -= entropyTerm(asciiCounts[code] as number, length);
    asciiCounts[code] = 0;
  }
  return entropy;
}

/** Characters a URL may not contain (the URL pattern). */
const URL_FORBIDDEN = /[\s"<>\\^`{|}]/;

function reject(type: string, value: string, status: string): ScreenOutcome {
  return { accepted: false, type, value, status };
}

function accept(type: IocType, value: string): ScreenOutcome {
  return { accepted: true, type, value };
}

function screenIp(type: 'ipv4' | 'ipv6', value: string): ScreenOutcome {
  if (type === 'ipv4') {
    if (value.startsWith(VERSION_PREFIX)) {
      return reject(type, value.slice(VERSION_PREFIX.length), SCREEN_MESSAGES.ipVersion);
    }
    // A valid address has the pattern's shape (four parts of one to three digits): the pattern is only needed to
    // tell an invalid value's two messages apart.
    const address = ipv4Value(value);
    if (address === -1) {
      return reject(type, value, looksLikeIpv4(value) ? SCREEN_MESSAGES.ipInvalid : SCREEN_MESSAGES.pattern(type));
    }
    if (isMulticastIpv4Value(address)) return reject(type, value, SCREEN_MESSAGES.ipMulticast);
    return isNonGlobalIpv4Value(address) ? reject(type, value, SCREEN_MESSAGES.ipNotGlobal) : accept(type, value);
  }
  if (!looksLikeIpv6(value)) return reject(type, value, SCREEN_MESSAGES.pattern(type));
  if (!isValidIpv6(value)) return reject(type, value, SCREEN_MESSAGES.ipInvalid);
  const canonical = canonicalIpv6(value);
  const range = ipv6Range(value);
  if (range === 'multicast') return reject(type, canonical, SCREEN_MESSAGES.ipMulticast);
  return range === 'non-global' ? reject(type, canonical, SCREEN_MESSAGES.ipNotGlobal) : accept(type, canonical);
}

function screenDns(value: string): ScreenOutcome {
  let name = value.toLowerCase();
  // An FQDN's root dot is not part of the name VirusTotal knows.
  if (name.endsWith('.') && !name.endsWith('..')) name = name.slice(0, -1);
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isValidIpv4(bare) || isValidIpv6(bare)) return reject('dns', name, SCREEN_MESSAGES.domainIsIp);
  if (!name.includes('.')) {
    if (isValidLabel(name) && !isSpecialUseName(name)) return reject('dns', name, SCREEN_MESSAGES.domainUnqualified);
    return reject('dns', name, SCREEN_MESSAGES.pattern('dns'));
  }
  // An internationalised name is looked up as its punycode, which is what VirusTotal knows.
  const ascii = asciiHostName(name);
  if (ascii === null || !isPublicDomain(ascii)) return reject('dns', name, SCREEN_MESSAGES.pattern('dns'));
  return screenPublicName(ascii);
}

/**
 * The dns rules past the public-suffix test, for a lower-case ASCII public domain (punycode for an
 * internationalised one): a reverse-DNS name, a wrapper's host, a lookalike. The native engine asks this of the
 * names it extracts (src/native/engine.ts nativeDomainKind) to know which it may accept without screening.
 */
export function screenPublicName(name: string): ScreenOutcome {
  // The last character before the regular expression: this runs once per distinct name.
  if (name.charCodeAt(name.length - 1) === 0x61 && REVERSE_DNS.test(name)) {
    return reject('dns', name, SCREEN_MESSAGES.domainReverse);
  }
  if (isWrapperHost(name)) return reject('dns', name, SCREEN_MESSAGES.domainWrapper);
  return isLookalike(name) ? { accepted: true, type: 'dns', value: name, note: 'Lookalike' } : accept('dns', name);
}

function screenUrl(raw: string, extracted: boolean, depth = 0): ScreenOutcome {
  const value = decodeEmbeddedUrl(raw);
  const parts = splitUrl(value);
  if (parts === null || !URL_SCHEMES.has(parts.scheme) || URL_FORBIDDEN.test(value)) {
    return reject('url', value, SCREEN_MESSAGES.pattern('url'));
  }
  if (parts.hostEnd === parts.hostStart) return reject('url', value, SCREEN_MESSAGES.urlNoSchemeOrHost(value));
  const host = value.slice(parts.hostStart, parts.hostEnd).toLowerCase();
  const bracketed = host.startsWith('[') && host.endsWith(']');
  const literal = bracketed ? host.slice(1, -1) : host;
  // Deliberate difference: msticpy reports every bracketed IPv6 host as unqualified; we test it like an IPv4 host.
  if (isPrivateIp(literal)) return reject('url', value, SCREEN_MESSAGES.urlPrivateHost);
  if (!bracketed && !host.includes('.')) return reject('url', value, SCREEN_MESSAGES.urlUnqualifiedHost);
  if (parts.scheme === 'file') return reject('url', value, SCREEN_MESSAGES.urlFileScheme);
  const ipHost = bracketed || isValidIpv4(host);
  const name = ipHost ? host : asciiHostName(host.charCodeAt(host.length - 1) === DOT ? host.slice(0, -1) : host);
  // A host name must end in a real public suffix, as a dns observable must (msticpy does not test this).
  if (name === null || (!ipHost && !hasPublicSuffix(name))) {
    return reject('url', value, SCREEN_MESSAGES.urlNoPublicSuffix);
  }
  if (depth < MAX_UNWRAP) {
    const inner = unwrapUrl(value, name, pathEnd(value, parts.hostEnd), extracted);
    if (inner === null) return reject('url', value, SCREEN_MESSAGES.urlVirusTotal);
    if (inner === EMBEDDED)
      return { accepted: false, type: 'url', value, status: SCREEN_MESSAGES.urlWrapper, silent: true };
    if (inner !== undefined) {
      if (inner.type === 'url') return screenUrl(inner.value.trim(), extracted, depth + 1);
      return screenRefanged(inner.type, inner.value);
    }
  }
  const normalised = normaliseUrl(value, parts);
  if (ipHost || name === host) return accept('url', normalised);
  // The punycode host in place of the Unicode one (the scheme and host of `normalised` are where they were).
  const start = parts.hostStart - parts.schemeStart;
  const url = `${normalised.slice(0, start)}${name}${normalised.slice(start + host.length)}`;
  return isLookalike(name) ? { accepted: true, type: 'url', value: url, note: 'Lookalike' } : accept('url', url);
}

function screenHash(type: HashType, value: string): ScreenOutcome {
  let hash = value.toLowerCase();
  const separator = hash.indexOf(HASH_KEY_SEPARATOR);
  if (separator !== -1) {
    const key = hash.slice(0, separator);
    hash = hash.slice(separator + 1);
    if (NOT_FILE_HASH_KEYS.has(key)) return reject(type, hash, SCREEN_MESSAGES.hashNotFile(key));
  }
  const entropy = hexHashEntropy(hash, HASH_LENGTHS[type]);
  if (entropy === -1) return reject(type, hash, SCREEN_MESSAGES.pattern(type));
  if (entropy < 3.0) return reject(type, hash, SCREEN_MESSAGES.lowEntropy);
  // One string comparison, which fails at the first character for almost every hash (no Set's hashing).
  if (hash === EMPTY_FILE_HASHES[hash.length]) return reject(type, hash, SCREEN_MESSAGES.hashEmptyFile);
  return accept(type, hash);
}

/**
 * Resolve a pre-typed type name: msticpy's names, any case and surrounding space; `hostname` is dns and
 * `file_hash` picks the hash type from the value's length, as msticpy does. `null` when unknown.
 */
function resolveType(type: string, value: string): IocType | null {
  const name = type.trim().toLowerCase();
  if (isIocType(name)) return name;
  if (name === 'hostname') return 'dns';
  if (name === 'file_hash') return HASH_TYPE_BY_LENGTH[value.length] ?? 'md5_hash';
  return null;
}

/**
 * Screen one value as `type`: strip white space, refang, then apply msticpy's rules. An unknown type name is
 * rejected with `Unsupported IoC type: <type>`.
 */
export function screenValue(type: string, raw: string): ScreenOutcome {
  const value = refang(raw.trim());
  const resolved = resolveType(type, value);
  if (resolved === null) return reject(type, value, SCREEN_MESSAGES.unsupportedType(type));
  return resolved === 'url' ? screenUrl(value, false) : screenRefanged(resolved, value);
}

/**
 * The rules of {@link screenValue} for a value that is already stripped and refanged, such as an extracted
 * candidate's: the same outcome without repeating that work on the hot path.
 */
export function screenRefanged(type: IocType, value: string): ScreenOutcome {
  switch (type) {
    case 'ipv4':
    case 'ipv6':
      return screenIp(type, value);
    case 'dns':
      return screenDns(value);
    case 'url':
      return screenUrl(value, true);
    default:
      return screenHash(type, value);
  }
}
