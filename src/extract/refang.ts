/**
 * Refanging: undo the ways analysts "defang" indicators so they cannot be clicked. Case-insensitive (msticpy's is
 * not, its defect 8).
 *
 * Forms handled (any bracket pair of `[]`, `()`, `{}`, optional inner spaces):
 * - dot: `[.]`, `(.)`, `{.}`, `[dot]`, `(DOT)`, ` [.] ` (surrounding single spaces are eaten too), and doubled
 *   brackets as in `[[.]]` and `((dot))`;
 * - `\.`, only where it cannot be part of a Windows path (`C:\Users\bob\.aws` must not give `bob.aws`, a real
 *   domain): in a run of host characters and escaped dots that follows a scheme's `//` (`hxxp://app\.evil\.site`),
 *   or whose every dot is escaped and that no other backslash touches (`evil\.com`, `10\.10\.10\.10`);
 * - at: `[at]`, `(@)`, …;
 * - colon and slashes: `[:]`, `(:)`, `[://]`, `(://)`, `[/]`, `[//]`;
 * - schemes, only when a colon (plain or bracketed) follows: `hxxp`, `hXXps`, `hxtp`, `htxp`, `h**p`, `h__p`,
 *   `h[tt]p`, `meow` → `http`; `fxp`, `fxps` → `ftp(s)`; `sfxp` → `sftp`;
 * - invisible characters, removed: the zero-width space (U+200B), the word joiner (U+2060), the zero-width
 *   no-break space (U+FEFF) and the soft hyphen (U+00AD). Blogs put them into indicators so that they are not made
 *   links (`login-micro\u200Bsoft[.]com` gave `soft.com`, a real and unrelated domain) and word processors put
 *   soft hyphens into long words. They are the characters IDNA's mapping (UTS #46) ignores, so a browser given
 *   such a name goes where the name without them goes. The zero-width joiner and non-joiner are left alone:
 *   IDNA keeps them in some scripts' names. Non-ASCII, so the native engine hands such fields to this code.
 */

/*
 * Trigger characters: every defanged form contains a bracket or a colon (the schemes are only refanged when a
 * colon follows). Each is found with `indexOf` (native, no allocation) and then checked by hand, so there is no
 * alternation to backtrack over.
 */

/** Inner texts of bracket forms, lower case, and what they stand for. */
const BRACKET_FORMS: ReadonlyArray<readonly [string, string]> = [
  ['.', '.'],
  ['dot', '.'],
  ['@', '@'],
  ['at', '@'],
  ['://', '://'],
  [':', ':'],
  ['//', '//'],
  ['/', '/'],
];

/** Defanged schemes, lower case, longest first so that `hxxps` wins over `hxxp`; and their refanged form. */
const SCHEME_FORMS: ReadonlyArray<readonly [string, string]> = [
  ['h[tt]ps', 'https'],
  ['h[tt]p', 'http'],
  ['hxxps', 'https'],
  ['hxtps', 'https'],
  ['htxps', 'https'],
  ['h**ps', 'https'],
  ['h__ps', 'https'],
  ['meows', 'https'],
  ['sfxp', 'sftp'],
  ['fxps', 'ftps'],
  ['hxxp', 'http'],
  ['hxtp', 'http'],
  ['htxp', 'http'],
  ['h**p', 'http'],
  ['h__p', 'http'],
  ['meow', 'http'],
  ['fxp', 'ftp'],
];

function isAlphanumeric(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/*
 * Edits are kept flat, three numbers each (original start, original end, index into REPLACEMENTS), and the
 * finders report through `found`: a hostile line with a quarter of a million `[.]` must not allocate an object
 * per edit.
 */
const REPLACEMENTS: readonly string[] = ['.', '@', '://', ':', '//', '/', 'http', 'https', 'ftp', 'ftps', 'sftp', ''];
/** Index of '' in REPLACEMENTS: an invisible character removed. */
const REMOVED = REPLACEMENTS.length - 1;
/** The invisible characters refanging removes (see the module's head). */
const INVISIBLE = /[\u00AD\u200B\u2060\uFEFF]/g;

/** The position of the first invisible character at or after `from`, or -1. */
function nextInvisible(text: string, from: number): number {
  INVISIBLE.lastIndex = from;
  return INVISIBLE.test(text) ? INVISIBLE.lastIndex - 1 : -1;
}
const found = { start: 0, end: 0, replacement: 0 };

function replacementIndex(text: string): number {
  return REPLACEMENTS.indexOf(text);
}

const BRACKET_TABLE = BRACKET_FORMS.map(([form, replacement]) => [form, replacementIndex(replacement)] as const);
const SCHEME_TABLE = SCHEME_FORMS.map(([form, replacement]) => [form, replacementIndex(replacement)] as const);

/** True when `form` (lower case) is at `position`, ignoring the case of letters. */
function matchesAt(text: string, position: number, form: string): boolean {
  if (position < 0 || position + form.length > text.length) return false;
  for (let index = 0; index < form.length; index += 1) {
    let code = text.charCodeAt(position + index);
    if (code >= 65 && code <= 90) code |= 0x20;
    if (code !== form.charCodeAt(index)) return false;
  }
  return true;
}

/** A defanged scheme ending just before `position` (where a colon or a bracketed colon starts), into `found`. */
function schemeBefore(text: string, position: number, floor: number): boolean {
  const last = text.charCodeAt(position - 1) | 0x20;
  const previous = text.charCodeAt(position - 2) | 0x20;
  // Every form ends in xp, tp, *p, _p, ]p, ps or ow: `queries:`, `info:` and times are dismissed here.
  if (last === 0x70) {
    if (previous !== 0x78 && previous !== 0x74 && previous !== 0x2a && previous !== 0x7f && previous !== 0x7d)
      return false;
  } else if (last === 0x73) {
    if (previous !== 0x70) return false;
  } else if (last !== 0x77 || previous !== 0x6f) {
    return false;
  }
  // Plain schemes are by far the most common colons that get this far.
  if (
    matchesAt(text, position - 4, 'http') ||
    matchesAt(text, position - 5, 'https') ||
    matchesAt(text, position - 3, 'ftp')
  ) {
    return false;
  }
  for (const [form, replacement] of SCHEME_TABLE) {
    const start = position - form.length;
    if (start < floor || !matchesAt(text, start, form)) continue;
    if (start > 0 && isAlphanumeric(text.charCodeAt(start - 1))) continue;
    found.start = start;
    found.end = position;
    found.replacement = replacement;
    return true;
  }
  return false;
}

/** First characters of the bracket forms' inner texts (`.`, `dot`, `@`, `at`, `:`, `/`). */
function mayStartForm(code: number): boolean {
  return code === 46 || code === 64 || code === 58 || code === 47 || (code | 0x20) === 0x64 || (code | 0x20) === 0x61;
}

function isOpening(code: number): boolean {
  return code === 91 || code === 40 || code === 123;
}

function isClosing(code: number): boolean {
  return code === 93 || code === 41 || code === 125;
}

/**
 * A bracket form at `position` (an opening bracket), into `found`. Eats one space each side of a dot form. Doubled
 * brackets (`[[.]]`) are one form.
 */
function bracketAt(text: string, position: number): boolean {
  if (!isOpening(text.charCodeAt(position))) return false;
  // The closing bracket may be of any kind (`[.)` is seen in the wild); inner spaces are optional.
  let inner = position + 1;
  const doubled = isOpening(text.charCodeAt(inner));
  if (doubled) inner += 1;
  if (text.charCodeAt(inner) === 32) inner += 1;
  if (!mayStartForm(text.charCodeAt(inner))) return false;
  for (const [form, replacement] of BRACKET_TABLE) {
    if (!matchesAt(text, inner, form)) continue;
    let end = inner + form.length;
    if (text.charCodeAt(end) === 32) end += 1;
    if (!isClosing(text.charCodeAt(end))) continue;
    end += 1;
    if (doubled) {
      if (!isClosing(text.charCodeAt(end))) continue;
      end += 1;
    }
    let start = position;
    if (replacement === 0 && text.charCodeAt(start - 1) === 32 && text.charCodeAt(end) === 32) {
      start -= 1;
      end += 1;
    }
    found.start = start;
    found.end = end;
    found.replacement = replacement;
    return true;
  }
  return false;
}

const BACKSLASH = 92;
const DOT = 46;

/** A letter, digit, `-` or `_`: what a run of escaped dots holds besides them. */
function isHostCode(code: number): boolean {
  return isAlphanumeric(code) || code === 45 || code === 95;
}

/**
 * The run of host characters and escaped dots (`\.`) around the `\.` at `position` (not before `floor`): its
 * start, its end, and whether its escaped dots are refanged (see the module's head): after a scheme's `//`
 * (`schemeAtFloor`: a bracketed `[://]` edit ends at `floor`) they are, whatever else; elsewhere every dot must be
 * escaped and no other backslash may touch the run. Into `escaped`.
 */
function escapedRun(text: string, position: number, floor: number, schemeAtFloor: boolean): void {
  let start = position;
  let allEscaped = true;
  let host = false;
  for (;;) {
    const code = text.charCodeAt(start - 1);
    if (start <= floor) break;
    if (isHostCode(code)) {
      host = true;
      start -= 1;
    } else if (code === DOT) {
      if (text.charCodeAt(start - 2) === BACKSLASH && start - 1 > floor) start -= 2;
      else {
        allEscaped = false;
        start -= 1;
      }
    } else break;
  }
  let end = position;
  for (;;) {
    const code = text.charCodeAt(end);
    if (isHostCode(code)) {
      host = true;
      end += 1;
    } else if (code === BACKSLASH && text.charCodeAt(end + 1) === DOT) end += 2;
    else if (code === DOT) {
      allEscaped = false;
      end += 1;
    } else break;
  }
  const touched = text.charCodeAt(start - 1) === BACKSLASH || text.charCodeAt(end) === BACKSLASH;
  const afterScheme =
    (schemeAtFloor && start === floor) || (text.charCodeAt(start - 1) === 47 && text.charCodeAt(start - 2) === 47);
  escaped.start = start;
  escaped.end = end;
  escaped.refang = host && (afterScheme || (allEscaped && !touched));
}
const escaped = { start: 0, end: 0, refang: false };

/** Index of `://` in REPLACEMENTS. */
const SCHEME_SEPARATOR = 2;

/** The edits that refang `text` as flat triples, in order and not overlapping; null when there are none. */
function findEdits(text: string): number[] | null {
  let edits: number[] | null = null;
  let floor = 0;
  // The next position of each trigger; plain variables rather than an array: this runs once per field.
  let square = text.indexOf('[');
  let round = text.indexOf('(');
  let curly = text.indexOf('{');
  let colon = text.indexOf(':');
  // Only an escaped dot can start an edit: searched as the pair, Windows paths' other backslashes are skipped.
  let backslash = text.indexOf('\\.');
  let invisible = nextInvisible(text, 0);
  /** The end of the last run of escaped dots looked at: no backslash before it is looked at again. */
  let escapedFloor = 0;
  for (;;) {
    let position = text.length;
    if (square !== -1) position = square;
    if (round !== -1 && round < position) position = round;
    if (curly !== -1 && curly < position) position = curly;
    if (colon !== -1 && colon < position) position = colon;
    if (backslash !== -1 && backslash < position) position = backslash;
    if (invisible !== -1 && invisible < position) position = invisible;
    if (position === text.length) return edits;
    if (position === square) square = text.indexOf('[', position + 1);
    else if (position === round) round = text.indexOf('(', position + 1);
    else if (position === curly) curly = text.indexOf('{', position + 1);
    else if (position === colon) colon = text.indexOf(':', position + 1);
    else if (position === invisible) invisible = nextInvisible(text, position + 1);
    else backslash = text.indexOf('\\.', position + 1);
    if (position < floor) continue;
    // The only triggers beyond ASCII are the invisible characters.
    if (text.charCodeAt(position) > 0x7f) {
      (edits ??= []).push(position, position + 1, REMOVED);
      floor = position + 1;
      continue;
    }
    if (text.charCodeAt(position) === BACKSLASH) {
      if (position < escapedFloor || text.charCodeAt(position + 1) !== DOT) continue;
      // After a bracketed scheme separator (`hxxp[://]`), which the `//` test cannot see.
      const scheme =
        edits !== null && edits[edits.length - 2] === floor && edits[edits.length - 1] === SCHEME_SEPARATOR;
      escapedRun(text, position, floor, scheme);
      escapedFloor = escaped.end;
      if (!escaped.refang) continue;
      const { start, end } = escaped;
      for (let at = start; at < end; at += 1) {
        if (text.charCodeAt(at) === BACKSLASH) (edits ??= []).push(at, at + 2, 0);
      }
      floor = end;
      continue;
    }
    if (text.charCodeAt(position) === 58) {
      if (schemeBefore(text, position, floor)) {
        (edits ??= []).push(found.start, found.end, found.replacement);
        floor = found.end;
      }
      continue;
    }
    if (!bracketAt(text, position) || found.start < floor) continue;
    const { start, end, replacement } = found;
    // A bracketed colon may follow a defanged scheme: `hxxps[:]//`.
    if (REPLACEMENTS[replacement]?.startsWith(':') === true && schemeBefore(text, position, floor)) {
      (edits ??= []).push(found.start, found.end, found.replacement);
    }
    (edits ??= []).push(start, end, replacement);
    floor = end;
  }
}

/**
 * Where each character of a refanged text came from. Design decision: kept as the list of edits (a few per line)
 * and answered by binary search, rather than as an offset per character: filling a typed array a character at
 * a time, and allocating it, cost more than finding the edits on lines with defanged indicators, and made a 1 MB
 * line of defanged URLs slow.
 */
export class OffsetMap {
  /** For each edit in order: where its replacement starts in the refanged text, its length, and the span it replaced. */
  readonly #refangedStart: Int32Array;
  readonly #replacementLength: Int32Array;
  readonly #originalStart: Int32Array;
  readonly #originalEnd: Int32Array;

  constructor(
    refangedStart: Int32Array,
    replacementLength: Int32Array,
    originalStart: Int32Array,
    originalEnd: Int32Array,
  ) {
    this.#refangedStart = refangedStart;
    this.#replacementLength = replacementLength;
    this.#originalStart = originalStart;
    this.#originalEnd = originalEnd;
  }

  /**
   * The offset in the original text of refanged position `k` (0 ≤ k ≤ the refanged length; the end maps to the
   * original length). A replacement's characters all map to the start of what they replaced.
   */
  original(k: number): number {
    const starts = this.#refangedStart;
    // The last edit whose replacement starts at or before k.
    let low = 0;
    let high = starts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((starts[middle] as number) <= k) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    if (found === -1) return k;
    const after = (starts[found] as number) + (this.#replacementLength[found] as number);
    if (k < after) return this.#originalStart[found] as number;
    return (this.#originalEnd[found] as number) + (k - after);
  }

  /**
   * Where in the original text a span that ends at refanged position `k` ends: {@link original}, except that
   * characters removed right at `k` (invisible ones) are left out of the span, as they are left out of its start:
   * the SourceText of `evil.com` in `evil.com\u200B now` is `evil.com`.
   */
  originalEnd(k: number): number {
    const starts = this.#refangedStart;
    // The first edit whose replacement starts at or after k: the edits at k are in the original's order, removals
    // (empty) first.
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((starts[middle] as number) < k) low = middle + 1;
      else high = middle;
    }
    if (low < starts.length && starts[low] === k && this.#replacementLength[low] === 0) {
      return this.#originalStart[low] as number;
    }
    return this.original(k);
  }
}

/** Refanged text plus, when anything changed, where its characters came from. */
export interface RefangResult {
  readonly text: string;
  /** `null` when nothing changed. */
  readonly map: OffsetMap | null;
}

/** Characters per String.fromCharCode call: well under any engine's argument limit. */
const CHUNK = 8192;

/** Above this many edits the refanged text is assembled from character codes rather than from slices. */
const MANY_EDITS = 64;

/** Refang `text` and keep the offset map extraction needs to report the original text of each candidate. */
export function refangWithMap(text: string): RefangResult {
  const edits = findEdits(text);
  if (edits === null) return { text, map: null };
  const count = edits.length / 3;
  const refangedStart = new Int32Array(count);
  const replacementLength = new Int32Array(count);
  const originalStart = new Int32Array(count);
  const originalEnd = new Int32Array(count);
  // Few edits: the text is concatenated from slices. Many (a hostile line): it is written as character codes
  // and decoded in chunks, since a rope of thousands of slices, or joining them, measured several times slower.
  const codes = count > MANY_EDITS ? new Uint16Array(text.length) : null;
  let refanged = '';
  let out = 0;
  let original = 0;
  const copyUpTo = (stop: number): void => {
    if (codes === null) refanged += text.slice(original, stop);
    else for (let at = original; at < stop; at += 1) codes[out + at - original] = text.charCodeAt(at);
    out += stop - original;
  };
  for (let edit = 0; edit < count; edit += 1) {
    const start = edits[edit * 3] ?? 0;
    const replacement = REPLACEMENTS[edits[edit * 3 + 2] ?? 0] ?? '';
    copyUpTo(start);
    refangedStart[edit] = out;
    replacementLength[edit] = replacement.length;
    originalStart[edit] = start;
    if (codes === null) refanged += replacement;
    else for (let k = 0; k < replacement.length; k += 1) codes[out + k] = replacement.charCodeAt(k);
    out += replacement.length;
    original = edits[edit * 3 + 1] ?? original;
    originalEnd[edit] = original;
  }
  copyUpTo(text.length);
  if (codes !== null) {
    // Typed-array chunks through apply: a spread would go through the iterator protocol, one call per character.
    const parts: string[] = [];
    for (let from = 0; from < out; from += CHUNK) {
      parts.push(
        String.fromCharCode.apply(null, codes.subarray(from, Math.min(out, from + CHUNK)) as unknown as number[]),
      );
    }
    refanged = parts.join('');
  }
  return { text: refanged, map: new OffsetMap(refangedStart, replacementLength, originalStart, originalEnd) };
}

/**
 * Undo defanging in `text`, case-insensitively: `hXXps[:]//evil[.]com` → `https://evil.com`,
 * `8(.)8(.)8(.)8` → `8.8.8.8`, `bob[at]evil[dot]com` → `bob@evil.com`.
 */
export function refang(text: string): string {
  return refangWithMap(text).text;
}
