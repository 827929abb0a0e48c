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
 *   Chrome, Edge and Opera: `Chrome/120.0.0.0`), not an address, and gives nothing; one in another version's place
 *   (`Agent/3.4.5.6`, `ProductVersion=5.2.3.4`) is passed to screening as a version (see context.ts);
 *   Squid's `HIER_DIRECT/93.184.216.34` stays an address.
 *   A run that is neither a domain nor an address is split at `-` and `_` for ranges like `10.0.0.1-10.0.0.9`.
 * - Hashes: a maximal hex run of exactly 32, 40 or 64 characters whose neighbours are not letters or digits
 *   (`_`, `-`, `.` and punctuation are boundaries, so `sample_<md5>.exe` yields the hash). A `key=` before it goes
 *   to screening with it (`IMPHASH=<md5>`, see context.ts).
 * - Domains: the whole run (leading and trailing dots dropped) must be a valid public domain (see `domain.ts`);
 *   a run with an `_` or an invalid label yields no domain rather than a piece of one. A name followed by `=`
 *   is a key (`user.name=bob`). File names: see FILE_EXTENSION_TLDS and SOURCE_FILE_TLDS in domain.ts. A run
 *   with non-ASCII letters is an internationalised name when it is one as a whole (reported as its punycode),
 *   else its ASCII pieces are read as before (see wideClassOf).
 * - URLs: one of msticpy's schemes, `://`, then URL characters up to white space, a quote, `<`, `>`, `\`, `^`,
 *   `` ` ``, `{`, `|`, `}`, a Markdown link's `](`, or a non-ASCII character other than a letter, mark or digit
 *   (see wideClassOf); trailing `.,;:!?*` and unbalanced `)` / `]` are dropped. Nothing inside a URL is reported
 *   separately; its host is reported (as dns, ipv4 or ipv6) only with `urlHostsAsDns`. What a URL stands for (a
 *   wrapped link's target, a VirusTotal link's object) is screening's decision, once per URL (unwrap.ts).
 * - IPv6: a run of hex digits, colons and dots with two or more colons, not touching letters, digits or colons,
 *   that parses strictly; a trailing `.` or `:` is dropped.
 */
import { HASH_TYPE_BY_LENGTH, type Candidate, type IocType } from '../types.js';
import { HASH_KEY_SEPARATOR, MAX_HASH_KEY, VERSION_PREFIX, isTellingHashKey } from './context.js';
import { DomainKind, asciiHostName, publicDomainKind } from './domain.js';
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
/** A non-ASCII letter, mark or digit (of a script other than CJK's, see wideClassOf): part of hosts and URLs. */
const UNICODE = 128;

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

/** Classes of the other UTF-16 code units, worked out on first use; 256 marks a known one. */
const WIDE_CLASS = new Uint16Array(65536);
const WIDE_HOST = /^[\p{L}\p{M}\p{Nd}]$/u;
const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]$/u;

/**
 * Non-ASCII letters, marks and digits are host and URL characters, so that an internationalised name
 * (`bücher.de`, `paypаl.com` with a Cyrillic `а`, `пример.рф`) is read whole rather than cut at its first non-ASCII
 * letter. Design decision: CJK scripts (Han, kana, Hangul) stay boundaries: those languages write no space around
 * a name (`访问evil.com获取`), and a domain glued to them is far more common than a CJK domain name, which is
 * therefore not extracted. Surrogates (letters beyond the BMP) are boundaries too.
 */
function wideClassOf(code: number): number {
  const known = WIDE_CLASS[code] ?? 0;
  if (known !== 0) return known & 255;
  const char = String.fromCharCode(code);
  const cls = WIDE_HOST.test(char) && !CJK.test(char) ? HOST | URL_CHAR | UNICODE : 0;
  WIDE_CLASS[code] = cls | 256;
  return cls;
}

function classOf(code: number): number {
  return code < 128 ? (CLASS[code] ?? 0) : wideClassOf(code);
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
  return pass.original.slice(map.original(start), map.originalEnd(end));
}

/**
 * Record a candidate; `raw` is the refanged text of [start, end) when the caller already sliced it; `context`, what
 * screening must know of its neighbourhood (see Candidate.context).
 */
function emit(pass: Pass, type: IocType, value: string, start: number, end: number, raw?: string, context = ''): void {
  if (pass.map === null) {
    pass.out.push({ type, value, original: raw ?? pass.text.slice(start, end), defanged: false, context });
    return;
  }
  const original = originalSlice(pass, start, end);
  pass.out.push({ type, value, original, defanged: original !== (raw ?? pass.text.slice(start, end)), context });
}

function wasDefanged(pass: Pass, start: number, end: number): boolean {
  return pass.map !== null && originalSlice(pass, start, end) !== pass.text.slice(start, end);
}

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
    const type = HASH_TYPE_BY_LENGTH[index - runStart];
    if (allHex && type !== undefined) {
      const raw = text.slice(runStart, index);
      emit(pass, type, raw.toLowerCase(), runStart, index, raw, hashKey(text, runStart));
    }
  }
}

const EQUALS = 61;
const BACKSLASH = 92;

function isWordChar(code: number): boolean {
  return (classOf(code) & ALNUM) !== 0 || code === 95;
}

/** `key=` (lower case) when the hash at `start` follows a telling `key=`, else '' (see src/extract/context.ts). */
function hashKey(text: string, start: number): string {
  if (text.charCodeAt(start - 1) !== EQUALS) return '';
  let keyStart = start - 1;
  while (keyStart > 0 && start - keyStart <= MAX_HASH_KEY + 1 && isWordChar(text.charCodeAt(keyStart - 1))) {
    keyStart -= 1;
  }
  if (keyStart === start - 1 || isWordChar(text.charCodeAt(keyStart - 1))) return '';
  const key = text.slice(keyStart, start - 1).toLowerCase();
  return isTellingHashKey(key) ? key + HASH_KEY_SEPARATOR : '';
}

/** True when `text` holds `word` (lower case) ending just before `end`. */
function endsWithAt(text: string, end: number, word: string): boolean {
  if (end < word.length) return false;
  for (let index = 0; index < word.length; index += 1) {
    if ((text.charCodeAt(end - word.length + index) | 0x20) !== word.charCodeAt(index)) return false;
  }
  return true;
}

/** The bound of what the version test reads back. */
const VERSION_CONTEXT = 64;

/** True when a dotted quad at `start` stands where a version number does (see src/extract/context.ts). */
function isVersionContext(text: string, start: number): boolean {
  const before = text.charCodeAt(start - 1);
  if (before === SLASH) {
    // A product token: a letter first, a lower-case letter in it, not itself a path component.
    let tokenStart = start - 1;
    let lower = false;
    while (tokenStart > 0 && start - tokenStart < VERSION_CONTEXT) {
      const code = text.charCodeAt(tokenStart - 1);
      if ((classOf(code) & HOST) === 0 || code >= 128) break;
      if (code >= 97 && code <= 122) lower = true;
      tokenStart -= 1;
    }
    const previous = text.charCodeAt(tokenStart - 1);
    return (
      lower && (classOf(text.charCodeAt(tokenStart)) & LETTER) !== 0 && previous !== SLASH && previous !== BACKSLASH
    );
  }
  if (isAdobeVersion(text, start)) return true;
  // `version`, `ProductVersion`, `ver`, `build`, then `=`, `:`, quotes or spaces (a few), then the number.
  let wordEnd = start;
  while (wordEnd > 0 && start - wordEnd < 4 && SEPARATORS.has(text.charCodeAt(wordEnd - 1))) wordEnd -= 1;
  if (wordEnd === start) return false;
  let wordStart = wordEnd;
  while (
    wordStart > 0 &&
    wordEnd - wordStart < VERSION_CONTEXT &&
    (classOf(text.charCodeAt(wordStart - 1)) & LETTER) !== 0
  ) {
    wordStart -= 1;
  }
  const length = wordEnd - wordStart;
  if (length >= 7 && endsWithAt(text, wordEnd, 'version')) return true;
  return (length === 3 && endsWithAt(text, wordEnd, 'ver')) || (length === 5 && endsWithAt(text, wordEnd, 'build'));
}

/** Adobe's product names, which put a version after `DC `: `Reader DC 21.1.20.155`, case as Adobe writes them. */
function isAdobeVersion(text: string, start: number): boolean {
  // `C ` first: this runs for every dotted quad.
  if (text.charCodeAt(start - 2) !== 67 || text.charCodeAt(start - 1) !== 32) return false;
  return text.startsWith('Reader DC ', start - 10) || text.startsWith('Acrobat DC ', start - 11);
}

/** What may stand between a version word and its number. */
const SEPARATORS: ReadonlySet<number> = new Set([32, 9, EQUALS, COLON, 34, 39]);

/** True when [start, end) holds only digits and dots. */
function isDigitsAndDots(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (code !== DOT && (code < 48 || code > 57)) return false;
  }
  return true;
}

/**
 * True when [start, end), of digits and dots, is a dotted quad: four parts of 1-3 digits, each <= 255, read from the
 * character codes without allocating (leading zeros are kept, for screening's `IP address is invalid format`).
 */
function isDottedQuad(text: string, start: number, end: number): boolean {
  if (end - start > 15 || end - start < 7) return false;
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
  return parts === 4;
}

/**
 * An IPv4 candidate in [start, end) of digits and dots, unless it is a product version written the way Chrome's
 * reduced user agent writes it (`Chrome/120.0.0.0`: no candidate at all). In a version's place (`Agent/3.4.5.6`,
 * `ProductVersion=5.2.3.4`) it is passed to screening as a version, which rejects it with its own status.
 */
function tryIpv4(pass: Pass, start: number, end: number): boolean {
  const { text } = pass;
  if (!isDottedQuad(text, start, end)) return false;
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
  emit(pass, 'ipv4', raw, start, end, raw, isVersionContext(text, start) ? VERSION_PREFIX : '');
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
  let unicode = false;
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 45 || code === 95) separators = true;
    else if (code !== DOT && (classOf(code) & DIGIT) === 0) {
      digitsAndDots = false;
      if (code >= 128) unicode = true;
    }
  }
  if (digitsAndDots && !separators) {
    tryIpv4(pass, start, end);
    return;
  }
  if (!digitsAndDots && isDomainAt(pass, start, end, runEnd)) return;
  if (unicode) {
    scanAsciiPieces(pass, start, end);
    return;
  }
  if (separators) scanRangeParts(pass, start, end);
  if (end - start >= 32) scanHashes(pass, start, end);
}

/**
 * A run with non-ASCII letters that is no internationalised name as a whole: its ASCII pieces are read as runs of
 * their own, as they were before non-ASCII letters joined runs (`Сайт:evil.com` stays `evil.com`).
 */
function scanAsciiPieces(pass: Pass, start: number, end: number): void {
  const { text } = pass;
  let piece = start;
  let dotted = false;
  for (let index = start; index <= end; index += 1) {
    const code = index < end ? text.charCodeAt(index) : 0;
    if (code === DOT) dotted = true;
    if (index < end && code < 128) continue;
    if (dotted) scanDottedRun(pass, piece, index);
    piece = index + 1;
    dotted = false;
  }
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

/** What {@link hostSyntax} says of a run. */
const NO_HOST = 0;
const ASCII_HOST = 1;
const UNICODE_HOST = 2;

/**
 * Cheap syntax test on the character codes before any allocation: labels of 1-63 letters, digits and inner
 * hyphens (or non-ASCII letters), at least two labels, a last label with a letter. `isPublicDomain` repeats the
 * label test on the survivors (on their punycode); this only spares it the hopeless runs.
 */
function hostSyntax(text: string, start: number, end: number): number {
  let labelStart = start;
  let labels = 0;
  let letterInLabel = false;
  let unicode = false;
  for (let index = start; index <= end; index += 1) {
    const code = index < end ? text.charCodeAt(index) : DOT;
    if (code === DOT) {
      const length = index - labelStart;
      if (length === 0 || length > 63) return NO_HOST;
      if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(index - 1) === 45) return NO_HOST;
      labels += 1;
      labelStart = index + 1;
      if (index === end) return labels > 1 && letterInLabel ? (unicode ? UNICODE_HOST : ASCII_HOST) : NO_HOST;
      letterInLabel = false;
    } else {
      const cls = classOf(code);
      if ((cls & (ALNUM | UNICODE)) === 0 && code !== 45) return NO_HOST;
      if ((cls & (LETTER | UNICODE)) !== 0) letterInLabel = true;
      if ((cls & UNICODE) !== 0) unicode = true;
    }
  }
  return NO_HOST;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

/** An option on a command line: `-` or `--` then a letter (`-c`, `--mode=link`; not a dash in a sentence). */
function isOptionAt(text: string, at: number): boolean {
  if (text.charCodeAt(at) !== 45) return false;
  const next = text.charCodeAt(at + 1) === 45 ? text.charCodeAt(at + 2) : text.charCodeAt(at + 1);
  return (classOf(next) & LETTER) !== 0;
}

/** The bound of what the file-name context test reads around a name. */
const FILE_CONTEXT = 256;

/**
 * True when the name at [start, end) stands where a file name does (see SOURCE_FILE_TLDS in domain.ts): right
 * after a path separator, or as a command-line argument, the token before or after it being an option.
 */
function isFileContext(text: string, start: number, end: number): boolean {
  const before = text.charCodeAt(start - 1);
  if (before === SLASH || before === BACKSLASH) return true;
  let next = end;
  while (next < text.length && next - end < 8 && isSpace(text.charCodeAt(next))) next += 1;
  if (next > end && isOptionAt(text, next)) return true;
  let previousEnd = start;
  while (previousEnd > 0 && start - previousEnd < 8 && isSpace(text.charCodeAt(previousEnd - 1))) previousEnd -= 1;
  if (previousEnd === start) return false;
  let tokenStart = previousEnd;
  while (tokenStart > 0 && previousEnd - tokenStart < FILE_CONTEXT && !isSpace(text.charCodeAt(tokenStart - 1))) {
    tokenStart -= 1;
  }
  return tokenStart < previousEnd && isOptionAt(text, tokenStart);
}

/** Report [start, end) as a dns candidate when it is a public domain the file-name policy lets through. */
function isDomainAt(pass: Pass, start: number, end: number, runEnd: number): boolean {
  const { text } = pass;
  if (end - start < 3 || end - start > 253) return false;
  const syntax = hostSyntax(text, start, end);
  if (syntax === NO_HOST) return false;
  const raw = text.slice(start, end);
  // An internationalised name is reported as its punycode, which is what VirusTotal knows; SourceText keeps it
  // as written.
  const name = syntax === UNICODE_HOST ? asciiHostName(raw) : raw.toLowerCase();
  if (name === null) return false;
  // hostSyntax has ruled out `_`.
  const kind = publicDomainKind(name);
  if (kind === DomainKind.None) return false;
  const after = runEnd === end ? text.charCodeAt(end) : DOT;
  if (after === 61) return false; // '=': a key such as `host.name=`, not a domain
  if (kind === DomainKind.FileExtensionTld || kind === DomainKind.SourceFileTld) {
    const port = after === COLON && (classOf(text.charCodeAt(end + 1)) & DIGIT) !== 0;
    const host = port || name.startsWith('www.') || wasDefanged(pass, start, end);
    if (!host && (kind === DomainKind.FileExtensionTld || isFileContext(text, start, runEnd))) return false;
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
  // The first `?`, noted on the way: only a URL with a query is searched for the URLs in it.
  let query = -1;
  while (end < text.length && (classOf(text.charCodeAt(end)) & URL_CHAR) !== 0) {
    const code = text.charCodeAt(end);
    // `](`: a Markdown link's text ends here and its target follows (`[https://a/x](https://a/x)`).
    if (code === 93 && text.charCodeAt(end + 1) === 40) break;
    if (code === 63 && query === -1) query = end;
    end += 1;
  }
  end = trimUrlEnd(text, colon + 3, end);
  const parts = splitUrl(text, start, end);
  if (parts === null || (parts.hostEnd === parts.hostStart && parts.scheme !== 'file') || end === colon + 3) {
    return colon + 3;
  }
  emit(pass, 'url', normaliseUrl(text, parts, end), start, end);
  if (pass.urlHostsAsDns) emitUrlHost(pass, parts.hostStart, parts.hostEnd);
  if (query !== -1) scanEmbeddedUrls(pass, query, end);
  return end;
}

/** True when `word` (lower case) is at `at`, ignoring case (`| 0x20` leaves `%`, digits and `:` alone). */
function startsWithFolded(text: string, at: number, word: string): boolean {
  for (let index = 0; index < word.length; index += 1) {
    if ((text.charCodeAt(at + index) | 0x20) !== word.charCodeAt(index)) return false;
  }
  return true;
}

/** True when an http(s) URL, plain or percent-encoded (`http%3A%2F%2F`), starts at `at` and has more before `end`. */
function isEmbeddedUrlAt(text: string, at: number, end: number): boolean {
  if (!startsWithFolded(text, at, 'http')) return false;
  let next = at + 4;
  if ((text.charCodeAt(next) | 0x20) === 0x73) next += 1;
  if (text.charCodeAt(next) === COLON) return next + 3 < end && startsWithFolded(text, next, '://');
  return next + 9 < end && startsWithFolded(text, next, '%3a%2f%2f');
}

/**
 * URLs in the query (from its `?` at `query`) of the URL that ends at `end`: a `=` followed by an http(s) URL,
 * plain or percent-encoded (`?url=http%3A%2F%2Fevil.example%2F`), starts one, which runs to the next `&`, `#` or
 * the URL's end. Each is a url candidate of its own, after the URL (screening decodes it; see unwrap.ts).
 */
function scanEmbeddedUrls(pass: Pass, query: number, end: number): void {
  const { text } = pass;
  for (let at = query; at < end; at += 1) {
    if (text.charCodeAt(at) !== EQUALS || !isEmbeddedUrlAt(text, at + 1, end)) continue;
    let valueEnd = at + 1;
    while (valueEnd < end && text.charCodeAt(valueEnd) !== 38 && text.charCodeAt(valueEnd) !== 35) valueEnd += 1;
    emit(pass, 'url', text.slice(at + 1, valueEnd), at + 1, valueEnd);
    at = valueEnd;
  }
}

/**
 * A URL's host as an observable of its own (`urlHostsAsDns`): a public domain as dns (its punycode when it is
 * internationalised), an IPv4 or a bracketed IPv6 literal as ipv4 or ipv6 (screened as any address is).
 */
function emitUrlHost(pass: Pass, hostStart: number, hostEnd: number): void {
  const { text } = pass;
  if (text.charCodeAt(hostStart) === 91) {
    const literal = text.slice(hostStart + 1, hostEnd - 1);
    if (text.charCodeAt(hostEnd - 1) === 93 && isValidIpv6(literal)) {
      emit(pass, 'ipv6', canonicalIpv6(literal), hostStart + 1, hostEnd - 1);
    }
    return;
  }
  if (isDigitsAndDots(text, hostStart, hostEnd) && isDottedQuad(text, hostStart, hostEnd)) {
    emit(pass, 'ipv4', text.slice(hostStart, hostEnd), hostStart, hostEnd);
    return;
  }
  const host = asciiHostName(text.slice(hostStart, hostEnd));
  if (host !== null && publicDomainKind(host) !== DomainKind.None) emit(pass, 'dns', host, hostStart, hostEnd);
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
