/**
 * URL structure, shared by extraction and screening: where the scheme and the host are, and the normalised form.
 */

/**
 * msticpy's URL schemes (`https?|s?ftps?|telnet|ldap|file`): others do not match its URL pattern and are rejected
 * with its message. They cover what VirusTotal analyses (web and FTP URLs); `file` is rejected by screening, as
 * msticpy rejects it. native/extract.cc's isUrlScheme holds the same list (its scan starts a URL at these).
 */
export const URL_SCHEMES: ReadonlySet<string> = new Set([
  'http',
  'https',
  'ftp',
  'ftps',
  'sftp',
  'sftps',
  'telnet',
  'ldap',
  'file',
]);

/** Offsets of a URL's parts, in the string that was split. */
export interface UrlParts {
  /** Lower-case scheme. */
  readonly scheme: string;
  /** Offset of the scheme's first character. */
  readonly schemeStart: number;
  /** Offset just after `://`. */
  readonly authorityStart: number;
  readonly hostStart: number;
  /** Exclusive; equals hostStart when the host is empty. Brackets of an IPv6 literal are included. */
  readonly hostEnd: number;
}

function isSchemeChar(code: number, first: boolean): boolean {
  const letter = (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
  if (first) return letter;
  return letter || (code >= 48 && code <= 57) || code === 43 || code === 45 || code === 46;
}

/**
 * Find the host of the URL that starts at `start` with `scheme://` and ends at `end`: userinfo (`user@`) and
 * port are skipped. `null` when the text does not start with a scheme followed by `://`.
 */
export function splitUrl(text: string, start = 0, end = text.length): UrlParts | null {
  const separator = text.indexOf('://', start);
  if (separator <= start || separator >= end) return null;
  for (let index = start; index < separator; index += 1) {
    if (!isSchemeChar(text.charCodeAt(index), index === start)) return null;
  }
  const authorityStart = separator + 3;
  // One bounded pass over the authority: searches that run past it (lastIndexOf, indexOf) would make a long
  // line of URLs quadratic.
  let authorityEnd = authorityStart;
  let hostStart = authorityStart;
  while (authorityEnd < end) {
    const code = text.charCodeAt(authorityEnd);
    if (code === 47 || code === 63 || code === 35) break; // '/', '?', '#'
    if (code === 64) hostStart = authorityEnd + 1; // '@': the host follows the last one
    authorityEnd += 1;
  }
  let hostEnd = authorityEnd;
  const bracketed = text.charCodeAt(hostStart) === 91;
  for (let index = hostStart; index < authorityEnd; index += 1) {
    const code = text.charCodeAt(index);
    if (bracketed ? code === 93 : code === 58) {
      hostEnd = bracketed ? index + 1 : index;
      break;
    }
  }
  return { scheme: text.slice(start, separator).toLowerCase(), schemeStart: start, authorityStart, hostStart, hostEnd };
}

/**
 * True when [start, end) of `text` is ASCII without an upper-case letter: lower-casing would not change it. Any
 * non-ASCII character answers false (`Ü` lower-cases too), leaving it to toLowerCase.
 */
function isLowerAscii(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    if ((code >= 65 && code <= 90) || code >= 128) return false;
  }
  return true;
}

/** The URL with its scheme and host in lower case; userinfo, port, path, query and fragment keep their case. */
export function normaliseUrl(text: string, parts: UrlParts, end = text.length): string {
  // Most URLs in logs are already lower-case there: then the URL is one slice of the text rather than a
  // concatenation, which every later use (the dedup Map's hashing, formatting) would first have to flatten.
  if (
    isLowerAscii(text, parts.schemeStart, parts.authorityStart) &&
    isLowerAscii(text, parts.hostStart, parts.hostEnd)
  ) {
    return text.slice(parts.schemeStart, end);
  }
  return (
    `${parts.scheme}://${text.slice(parts.authorityStart, parts.hostStart)}` +
    `${text.slice(parts.hostStart, parts.hostEnd).toLowerCase()}${text.slice(parts.hostEnd, end)}`
  );
}
