/**
 * Extraction: find candidate IoCs in free text.
 *
 * Design: one linear, hand-written pass over the refanged text, no backtracking regexes. The pass walks maximal
 * runs of host characters (letters, digits, `-`, `_`, `.`); only runs with a dot, runs of 32+ characters, runs
 * followed by `://`, and colons are looked at more closely, so plain words cost one table lookup per character.
 * Every decision looks at a bounded neighbourhood or at a run once, which keeps hostile lines (`a.a.a.…`,
 * `1.1.1.…`, a megabyte of hex) linear.
 *
 * Boundary rules:
 * - IPv4: a run made only of digits and dots that is exactly four parts of 1–3 digits, each ≤ 255 (leading zeros
 *   are kept so screening can report `IP address is invalid format` for zero-padded addresses). Because runs are
 *   maximal, `10.4.27.5423`, `1.2.3.4.5` and the address inside `rev.1.2.3.4.in-addr.arpa` are never cut out.
 *   A dotted quad ending in `.0.0` right after `Letters/` is a product version (the reduced user agents of
 *   Chrome, Edge and Opera: `Chrome/120.0.0.0`), not an address; Squid's `HIER_DIRECT/93.184.216.34` stays one.
 *   A run that is neither a domain nor an address is split at `-` and `_` for ranges like `10.0.0.1-10.0.0.9`.
 * - Hashes: a maximal hex run of exactly 32, 40 or 64 characters whose neighbours are not letters or digits
 *   (`_`, `-`, `.` and punctuation are boundaries, so `sample_<md5>.exe` yields the hash).
 * - Domains: the whole run (leading and trailing dots dropped) must be a valid public domain (see `domain.ts`);
 *   a run with an `_` or an invalid label yields no domain rather than a piece of one. A name followed by `=`
 *   is a key (`user.name=bob`). File names: see {@link FILE_EXTENSION_TLDS}.
 * - URLs: one of msticpy's schemes, `://`, then URL characters up to white space, a quote, `<`, `>`, `\`, `^`,
 *   `` ` ``, `{`, `|`, `}` or a non-ASCII character; trailing `.,;:!?*` and unbalanced `)` / `]` are dropped.
 *   Nothing inside a URL is reported separately; its host is reported as dns only with `urlHostsAsDns`.
 * - IPv6: a run of hex digits, colons and dots with two or more colons, not touching letters, digits or colons,
 *   that parses strictly; a trailing `.` or `:` is dropped.
 */
import type { Candidate, IocType } from '../types.js';
import { DomainKind, isPublicDomain, publicDomainKind } from './domain.js';
import { canonicalIpv6, isValidIpv6 } from './ip.js';
import { refangWithMap, type OffsetMap } from './refang.js';
import { URL_SCHEMES, normaliseUrl, splitUrl } from './url.js';

export { refang } from './refang.js';

/** Options of {@link extractCandidates}. */
export interface ExtractOptions {
  /**
   * Also report each URL's host as a dns candidate (each one costs a lookup later).
   * @default false
   */
  readonly urlHostsAsDns?: boolean;
}

const HOST = 1;
const ALNUM = 2;
const HEX = 4;
const URL_CHAR = 8;
const LETTER = 16;
const IPV6_CHAR = 32;
const DIGIT = 64;

/** Character classes of the ASCII range; anything else is class 0 (a boundary for everything). */
const CLASS = new Uint8Array(128);
function addClass(chars: string, flags: number): void {
  for (let index = 0; index < chars.length; index += 1) {
    const code = chars.charCodeAt(index);
    CLASS[code] = (CLASS[code] ?? 0) | flags;
  }
}
const DIGITS = '0123456789';
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
for (let code = 33; code < 127; code += 1) CLASS[code] = URL_CHAR;
for (const char of '"\'<>\\^`{|}') CLASS[char.charCodeAt(0)] = 0;
addClass(DIGITS, HOST | ALNUM | HEX | IPV6_CHAR | DIGIT);
addClass(LETTERS, HOST | ALNUM | LETTER);
addClass('abcdefABCDEF', HEX | IPV6_CHAR);
addClass('-_.', HOST);
addClass(':.', IPV6_CHAR);

function classOf(code: number): number {
  return code < 128 ? (CLASS[code] ?? 0) : 0;
}

const DOT = 46;
const COLON = 58;
const SLASH = 47;

/** State of one extraction pass. */
interface Pass {
  readonly original: string;
  readonly text: string;
  readonly map: OffsetMap | null;
  readonly urlHostsAsDns: boolean;
  readonly out: Candidate[];
}

function originalSlice(pass: Pass, start: number, end: number): string {
  const { map } = pass;
  if (map === null) return pass.text.slice(start, end);
  return pass.original.slice(map.original(start), map.original(end));
}

/** Record a candidate; `raw` is the refanged text of [start, end) when the caller already sliced it. */
function emit(pass: Pass, type: IocType, value: string, start: number, end: number, raw?: string): void {
  if (pass.map === null) {
    pass.out.push({ type, value, original: raw ?? pass.text.slice(start, end), defanged: false });
    return;
  }
  const original = originalSlice(pass, start, end);
  pass.out.push({ type, value, original, defanged: original !== (raw ?? pass.text.slice(start, end)) });
}

function wasDefanged(pass: Pass, start: number, end: number): boolean {
  return pass.map !== null && originalSlice(pass, start, end) !== pass.text.slice(start, end);
}

const HASH_TYPES: Readonly<Record<number, IocType>> = { 32: 'md5_hash', 40: 'sha1_hash', 64: 'sha256_hash' };

/** Report the hex runs of hash length in [start, end), split at non-alphanumerics. */
function scanHashes(pass: Pass, start: number, end: number): void {
  const { text } = pass;
  let index = start;
  while (index < end) {
    while (index < end && (classOf(text.charCodeAt(index)) & ALNUM) === 0) index += 1;
    const runStart = index;
    let allHex = true;
    while (index < end) {
      const cls = classOf(text.charCodeAt(index));
      if ((cls & ALNUM) === 0) break;
      if ((cls & HEX) === 0) allHex = false;
      index += 1;
    }
    const type = HASH_TYPES[index - runStart];
    if (allHex && type !== undefined) {
      const raw = text.slice(runStart, index);
      emit(pass, type, raw.toLowerCase(), runStart, index, raw);
    }
  }
}

/** An IPv4 candidate in [start, end) of digits and dots, unless it is a product version (`Chrome/1.2.3.4`). */
function tryIpv4(pass: Pass, start: number, end: number): boolean {
  const { text } = pass;
  if (end - start > 15 || end - start < 7) return false;
  // Four parts of 1-3 digits, each <= 255, read from the character codes without allocating.
  let parts = 0;
  let digits = 0;
  let part = 0;
  for (let index = start; index <= end; index += 1) {
    const code = index < end ? text.charCodeAt(index) : DOT;
    if (code === DOT) {
      if (digits === 0 || part > 255) return false;
      parts += 1;
      digits = 0;
      part = 0;
    } else {
      digits += 1;
      part = part * 10 + code - 48;
      if (digits > 3) return false;
    }
  }
  if (parts !== 4) return false;
  if (
    start >= 2 &&
    text.charCodeAt(start - 1) === SLASH &&
    text.charCodeAt(end - 1) === 48 &&
    text.charCodeAt(end - 2) === DOT &&
    text.charCodeAt(end - 3) === 48 &&
    text.charCodeAt(end - 4) === DOT &&
    (classOf(text.charCodeAt(start - 2)) & LETTER) !== 0
  ) {
    return false;
  }
  const raw = text.slice(start, end);
  emit(pass, 'ipv4', raw, start, end, raw);
  return true;
}

/** A run of host characters containing a dot: an IPv4, a domain, hashes, or IPv4s of a range. */
function scanDottedRun(pass: Pass, runStart: number, runEnd: number): void {
  const { text } = pass;
  let start = runStart;
  let end = runEnd;
  while (start < end && text.charCodeAt(start) === DOT) start += 1;
  while (end > start && text.charCodeAt(end - 1) === DOT) end -= 1;
  let digitsAndDots = true;
  let separators = false;
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 45 || code === 95) separators = true;
    else if (code !== DOT && (classOf(code) & DIGIT) === 0) digitsAndDots = false;
  }
  if (digitsAndDots && !separators) {
    tryIpv4(pass, start, end);
    return;
  }
  if (!digitsAndDots && isDomainAt(pass, start, end, runEnd)) return;
  if (separators) scanRangeParts(pass, start, end);
  if (end - start >= 32) scanHashes(pass, start, end);
}

/** IPv4 addresses in the `-`/`_` separated parts of a run (`10.0.0.1-10.0.0.9`). */
function scanRangeParts(pass: Pass, start: number, end: number): void {
  const { text } = pass;
  let partStart = start;
  for (let index = start; index <= end; index += 1) {
    const code = index < end ? text.charCodeAt(index) : 45;
    if (code !== 45 && code !== 95) continue;
    let from = partStart;
    let to = index;
    while (from < to && text.charCodeAt(from) === DOT) from += 1;
    while (to > from && text.charCodeAt(to - 1) === DOT) to -= 1;
    if (to - from >= 7 && /^[\d.]+$/.test(text.slice(from, to))) tryIpv4(pass, from, to);
    partStart = index + 1;
  }
}

/**
 * Cheap syntax test on the character codes before any allocation: labels of 1-63 letters, digits and inner
 * hyphens, at least two labels, a last label with a letter. `isPublicDomain` repeats the label test on the
 * survivors; this only spares it the hopeless runs.
 */
function hasHostSyntax(text: string, start: number, end: number): boolean {
  let labelStart = start;
  let labels = 0;
  let letterInLabel = false;
  for (let index = start; index <= end; index += 1) {
    const code = index < end ? text.charCodeAt(index) : DOT;
    if (code === DOT) {
      const length = index - labelStart;
      if (length === 0 || length > 63) return false;
      if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(index - 1) === 45) return false;
      labels += 1;
      labelStart = index + 1;
      if (index === end) return labels > 1 && letterInLabel;
      letterInLabel = false;
    } else {
      const cls = classOf(code);
      if ((cls & ALNUM) === 0 && code !== 45) return false;
      if ((cls & LETTER) !== 0) letterInLabel = true;
    }
  }
  return false;
}

/** Report [start, end) as a dns candidate when it is a public domain the file-name policy lets through. */
function isDomainAt(pass: Pass, start: number, end: number, runEnd: number): boolean {
  const { text } = pass;
  if (end - start < 3 || end - start > 253 || !hasHostSyntax(text, start, end)) return false;
  const raw = text.slice(start, end);
  const name = raw.toLowerCase();
  // hasHostSyntax has ruled out `_`.
  const kind = publicDomainKind(name);
  if (kind === DomainKind.None) return false;
  const after = runEnd === end ? text.charCodeAt(end) : DOT;
  if (after === 61) return false; // '=': a key such as `host.name=`, not a domain
  if (kind === DomainKind.FileExtensionTld) {
    const port = after === COLON && (classOf(text.charCodeAt(end + 1)) & DIGIT) !== 0;
    if (!port && !name.startsWith('www.') && !wasDefanged(pass, start, end)) return false;
  }
  emit(pass, 'dns', name, start, end, raw);
  return true;
}

/** Trailing characters a sentence or a wrapper adds after a URL. */
function trimUrlEnd(text: string, start: number, end: number): number {
  let open = 0;
  let close = 0;
  let openSquare = 0;
  let closeSquare = 0;
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 40) open += 1;
    else if (code === 41) close += 1;
    else if (code === 91) openSquare += 1;
    else if (code === 93) closeSquare += 1;
  }
  let stop = end;
  while (stop > start) {
    const code = text.charCodeAt(stop - 1);
    if (code === 46 || code === 44 || code === 59 || code === 58 || code === 33 || code === 63 || code === 42) {
      stop -= 1;
    } else if (code === 41 && close > open) {
      close -= 1;
      stop -= 1;
    } else if (code === 93 && closeSquare > openSquare) {
      closeSquare -= 1;
      stop -= 1;
    } else {
      break;
    }
  }
  return stop;
}

/**
 * True when the URL whose authority starts at `from` has an empty host (`http:///`, `http://?`, `http://user@/`,
 * `http://:80/`), read up to the end of its authority in the untrimmed text: `/`, `?`, `#`, or the first character
 * that is no URL character. Such a URL is rejected whatever trimUrlEnd makes of its end (trimming removes only
 * `.,;:!?*)]` from the end, which cannot make an empty host non-empty), so scanUrl rejects it without reading to
 * the end of the run first: reading it for each of the `://` of a line like `http:///http:///…` was quadratic
 * (a 256 KB line took 15 s).
 */
function hasEmptyHost(text: string, from: number): boolean {
  let end = from;
  let hostStart = from;
  for (; end < text.length; end += 1) {
    const code = text.charCodeAt(end);
    if ((classOf(code) & URL_CHAR) === 0 || code === SLASH || code === 63 || code === 35) break;
    if (code === 64) hostStart = end + 1;
  }
  // As splitUrl reads it: a bracketed host is never empty; another one ends at its first `:`.
  return hostStart === end || text.charCodeAt(hostStart) === COLON;
}

/** A URL whose scheme starts at `start` and whose `://` is at `colon`; returns where scanning resumes. */
function scanUrl(pass: Pass, start: number, colon: number): number {
  const { text } = pass;
  if (hasEmptyHost(text, colon + 3) && !(colon - start === 4 && text.slice(start, colon).toLowerCase() === 'file'))
    return colon + 3;
  let end = colon + 3;
  while (end < text.length && (classOf(text.charCodeAt(end)) & URL_CHAR) !== 0) end += 1;
  end = trimUrlEnd(text, colon + 3, end);
  const parts = splitUrl(text, start, end);
  if (parts === null || (parts.hostEnd === parts.hostStart && parts.scheme !== 'file') || end === colon + 3) {
    return colon + 3;
  }
  emit(pass, 'url', normaliseUrl(text, parts, end), start, end);
  if (pass.urlHostsAsDns) {
    const host = text.slice(parts.hostStart, parts.hostEnd).toLowerCase();
    if (isPublicDomain(host)) emit(pass, 'dns', host, parts.hostStart, parts.hostEnd);
  }
  return end;
}

/** An IPv6 candidate around the colon at `colon`; returns where scanning resumes. */
function scanIpv6(pass: Pass, colon: number): number {
  const { text } = pass;
  let start = colon;
  while (start > 0 && colon - start < 4 && (classOf(text.charCodeAt(start - 1)) & HEX) !== 0) start -= 1;
  if (start > 0) {
    const before = text.charCodeAt(start - 1);
    if (before === COLON || (classOf(before) & HOST) !== 0) return colon + 1;
  }
  let end = colon + 1;
  let colons = 1;
  let hexDigits = colon - start;
  // Only hex digits precede `colon`, so a `::` can only start at or after it: noted on the way, not sliced for.
  let doubleColon = false;
  while (end < text.length) {
    const code = text.charCodeAt(end);
    const cls = classOf(code);
    if ((cls & IPV6_CHAR) === 0) break;
    if (code === COLON) {
      colons += 1;
      if (text.charCodeAt(end - 1) === COLON) doubleColon = true;
    } else if ((cls & HEX) !== 0) hexDigits += 1;
    end += 1;
  }
  if (colons < 2 || hexDigits === 0 || (classOf(text.charCodeAt(end)) & HOST) !== 0) return colon + 1;
  // Without `::` an address has 7 colons (6 before a dotted tail): times like 01:02:03.456 stop here.
  if (colons < 6 && !doubleColon) return colon + 1;
  for (let stop = end, trimmed = 0; stop > start && trimmed <= 2; stop -= 1, trimmed += 1) {
    if (stop - start <= 45) {
      const value = text.slice(start, stop);
      if (isValidIpv6(value)) {
        emit(pass, 'ipv6', canonicalIpv6(value), start, stop);
        return stop;
      }
    }
    const last = text.charCodeAt(stop - 1);
    if (last !== DOT && last !== COLON) break;
  }
  return colon + 1;
}

/**
 * Hex probe stride: a hex run of 32 or more characters always covers one of every 32 consecutive positions, so
 * probing every 32nd character (Boyer-Moore style) finds every hash while touching few characters of text without
 * one.
 */
const HASH_PROBE = 32;

/**
 * The run of host characters around `probe` (not before `floor`), when the probe is a hex digit. A run with a dot
 * is left to the dot trigger, so `<md5>.evil.com` is one domain rather than a hash and a cut-out `evil.com`;
 * otherwise its hashes are reported. Returns where the run stops (the probe itself when it is not a hex digit),
 * or `-(end + 1)` when hashes were reported, so the hot loop allocates nothing.
 */
function scanHashProbe(pass: Pass, probe: number, floor: number): number {
  const { text } = pass;
  if ((classOf(text.charCodeAt(probe)) & HEX) === 0) return probe;
  let dotted = false;
  let start = probe;
  while (start > floor) {
    const code = text.charCodeAt(start - 1);
    if ((classOf(code) & HOST) === 0) break;
    if (code === DOT) dotted = true;
    start -= 1;
  }
  let end = probe + 1;
  while (end < text.length) {
    const code = text.charCodeAt(end);
    if ((classOf(code) & HOST) === 0) break;
    if (code === DOT) dotted = true;
    end += 1;
  }
  if (dotted || end - start < 32) return end;
  const before = pass.out.length;
  scanHashes(pass, start, end);
  return pass.out.length > before ? -(end + 1) : end;
}

/** The run of host characters around the dot at `dot` (not before `floor`); returns the new floor. */
function scanRunAround(pass: Pass, dot: number, floor: number): number {
  const { text } = pass;
  let runStart = dot;
  while (runStart > floor && (classOf(text.charCodeAt(runStart - 1)) & HOST) !== 0) runStart -= 1;
  let runEnd = dot + 1;
  while (runEnd < text.length && (classOf(text.charCodeAt(runEnd)) & HOST) !== 0) runEnd += 1;
  if (isSchemeSeparator(text, runEnd)) {
    let schemeStart = runEnd;
    while (schemeStart > runStart && (classOf(text.charCodeAt(schemeStart - 1)) & LETTER) !== 0) schemeStart -= 1;
    if (URL_SCHEMES.has(text.slice(schemeStart, runEnd).toLowerCase())) {
      if (schemeStart > runStart) scanDottedRun(pass, runStart, schemeStart);
      return scanUrl(pass, schemeStart, runEnd);
    }
  }
  scanDottedRun(pass, runStart, runEnd);
  return runEnd;
}

function isSchemeSeparator(text: string, index: number): boolean {
  return (
    text.charCodeAt(index) === COLON && text.charCodeAt(index + 1) === SLASH && text.charCodeAt(index + 2) === SLASH
  );
}

/** A colon at `colon`: a URL's `://` after a scheme, or part of an IPv6 address. Returns where scanning resumes. */
function scanColon(pass: Pass, colon: number, floor: number): number {
  const { text } = pass;
  if (isSchemeSeparator(text, colon)) {
    let schemeStart = colon;
    while (schemeStart > floor && (classOf(text.charCodeAt(schemeStart - 1)) & LETTER) !== 0) schemeStart -= 1;
    const glued = schemeStart > 0 && (classOf(text.charCodeAt(schemeStart - 1)) & HOST) !== 0;
    if (!glued && schemeStart < colon && URL_SCHEMES.has(text.slice(schemeStart, colon).toLowerCase())) {
      return scanUrl(pass, schemeStart, colon);
    }
    return colon + 1;
  }
  return scanIpv6(pass, colon);
}

/**
 * Find the candidate IoCs in `text`: ipv4, ipv6, dns, url, md5_hash, sha1_hash and sha256_hash, in text order,
 * refanged and normalised (lower-case hashes and host names; URL paths and queries keep their case). Private
 * addresses and other values that screening rejects are included: screening reports them with a status.
 */
export function extractCandidates(text: string, options: ExtractOptions = {}): Candidate[] {
  const refanged = refangWithMap(text);
  const pass: Pass = {
    original: text,
    text: refanged.text,
    map: refanged.map,
    urlHostsAsDns: options.urlHostsAsDns === true,
    out: [],
  };
  const scan = refanged.text;
  const length = scan.length;
  // Three trigger streams, always serving the nearest: dots (IPv4, domains, and URLs whose scheme follows a
  // dotted run), colons (URLs, IPv6) and hex probes. Dots and colons are found with indexOf (native, no
  // allocation); characters between triggers are never visited. `floor` is the end of what has been consumed,
  // so nothing inside a URL, an address or a domain is looked at twice.
  let floor = 0;
  let nextDot = scan.indexOf('.');
  let nextColon = scan.indexOf(':');
  let nextProbe = HASH_PROBE - 1;
  for (;;) {
    if (nextDot !== -1 && nextDot < floor) nextDot = scan.indexOf('.', floor);
    if (nextColon !== -1 && nextColon < floor) nextColon = scan.indexOf(':', floor);
    if (nextProbe < floor + HASH_PROBE - 1) nextProbe = floor + HASH_PROBE - 1;
    const dot = nextDot === -1 ? length : nextDot;
    const colon = nextColon === -1 ? length : nextColon;
    if (dot < colon && dot < nextProbe) {
      floor = scanRunAround(pass, dot, floor);
      nextDot = scan.indexOf('.', Math.max(floor, dot + 1));
    } else if (colon < length && colon <= nextProbe) {
      const resume = scanColon(pass, colon, floor);
      if (resume > colon + 1) floor = resume;
      nextColon = scan.indexOf(':', colon + 1);
    } else if (nextProbe < length) {
      let end = scanHashProbe(pass, nextProbe, floor);
      if (end < 0) {
        end = -end - 1;
        floor = end;
      }
      nextProbe = end + HASH_PROBE;
    } else {
      break;
    }
  }
  return pass.out;
}
