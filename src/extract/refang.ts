/**
 * Refanging: undo the ways analysts "defang" indicators so they cannot be clicked. Case-insensitive (msticpy's is
 * not, its defect 8).
 *
 * Forms handled (any bracket pair of `[]`, `()`, `{}`, optional inner spaces):
 * - dot: `[.]`, `(.)`, `{.}`, `[dot]`, `(DOT)`, ` [.] ` (surrounding single spaces are eaten too). `\.` is
 *   deliberately not refanged: Windows paths are full of it (`C:\Users\bob\.aws`) and `bob.aws` is a domain;
 * - at: `[at]`, `(@)`, …;
 * - colon and slashes: `[:]`, `(:)`, `[://]`, `(://)`, `[/]`, `[//]`;
 * - schemes, only when a colon (plain or bracketed) follows: `hxxp`, `hXXps`, `hxtp`, `htxp`, `h**p`, `h__p`,
 *   `h[tt]p`, `meow` → `http`; `fxp`, `fxps` → `ftp(s)`; `sfxp` → `sftp`.
 */

/*
 * Trigger characters: every defanged form contains a bracket or a colon (the schemes are only refanged when a
 * colon follows). Each is found with `indexOf` (native, no allocation) and then checked by hand, so there is no
 * alternation to backtrack over.
 */

const OPEN_TO_CLOSE: Readonly<Record<string, string>> = { '[': ']', '(': ')', '{': '}' };

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

/** One replacement: [start, end) of the original becomes `text`. */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** A defanged scheme ending just before `position` (where a colon or a bracketed colon starts), or null. */
function schemeBefore(text: string, position: number, floor: number): Edit | null {
  // Every form ends in p, s or w: most colons (times, ports, `http:`) are dismissed by this one test.
  const last = text.charCodeAt(position - 1) | 0x20;
  const previous = text.charCodeAt(position - 2) | 0x20;
  // p: ...xp, ...tp, *p, _p, ]p; s: ...ps; w: meow. Dismisses `queries:`, `info:` and times without slicing.
  if (last === 0x70) {
    if (previous !== 0x78 && previous !== 0x74 && previous !== 0x2a && previous !== 0x7f && previous !== 0x7d) return null;
  } else if (last === 0x73) {
    if (previous !== 0x70) return null;
  } else if (last !== 0x77 || previous !== 0x6f) {
    return null;
  }
  const from = Math.max(floor, position - 7);
  const tail = text.slice(from, position).toLowerCase();
  if (tail.endsWith('http') || tail.endsWith('https') || tail.endsWith('ftp')) return null;
  for (const [form, replacement] of SCHEME_FORMS) {
    if (!tail.endsWith(form)) continue;
    const start = position - form.length;
    if (start > 0 && isAlphanumeric(text.charCodeAt(start - 1))) continue;
    return { start, end: position, text: replacement };
  }
  return null;
}

/** First characters of the bracket forms' inner texts (`.`, `dot`, `@`, `at`, `:`, `/`). */
function mayStartForm(code: number): boolean {
  return code === 46 || code === 64 || code === 58 || code === 47 || (code | 0x20) === 0x64 || (code | 0x20) === 0x61;
}

/** A bracket form starting at `position` (an opening bracket), or null. Eats one space each side of a dot form. */
function bracketAt(text: string, position: number): Edit | null {
  const close = OPEN_TO_CLOSE[text[position] ?? ''];
  if (close === undefined) return null;
  // The closing bracket may be of any kind (`[.)` is seen in the wild); inner spaces are optional.
  let inner = position + 1;
  if (text.charCodeAt(inner) === 32) inner += 1;
  if (!mayStartForm(text.charCodeAt(inner))) return null;
  for (const [form, replacement] of BRACKET_FORMS) {
    if (text.slice(inner, inner + form.length).toLowerCase() !== form) continue;
    let end = inner + form.length;
    if (text.charCodeAt(end) === 32) end += 1;
    const closing = text[end];
    if (closing !== ']' && closing !== ')' && closing !== '}') continue;
    end += 1;
    let start = position;
    if (replacement === '.' && text.charCodeAt(start - 1) === 32 && text.charCodeAt(end) === 32) {
      start -= 1;
      end += 1;
    }
    return { start, end, text: replacement };
  }
  return null;
}

/** The edits that refang `text`, in order and not overlapping. */
function findEdits(text: string): Edit[] | null {
  let edits: Edit[] | null = null;
  let floor = 0;
  // The next position of each trigger; plain variables rather than an array: this runs once per field.
  let square = text.indexOf('[');
  let round = text.indexOf('(');
  let curly = text.indexOf('{');
  let colon = text.indexOf(':');
  for (;;) {
    let position = text.length;
    if (square !== -1) position = square;
    if (round !== -1 && round < position) position = round;
    if (curly !== -1 && curly < position) position = curly;
    if (colon !== -1 && colon < position) position = colon;
    if (position === text.length) return edits;
    if (position === square) square = text.indexOf('[', position + 1);
    else if (position === round) round = text.indexOf('(', position + 1);
    else if (position === curly) curly = text.indexOf('{', position + 1);
    else colon = text.indexOf(':', position + 1);
    if (position < floor) continue;
    edits ??= [];
    floor = addEditsAt(text, position, floor, edits);
  }
}

/** Append the edits a trigger at `position` starts (a scheme before a bracketed colon makes two); returns the new floor. */
function addEditsAt(text: string, position: number, floor: number, edits: Edit[]): number {
  if (text.charCodeAt(position) === 58) {
    const scheme = schemeBefore(text, position, floor);
    if (scheme === null) return floor;
    edits.push(scheme);
    return scheme.end;
  }
  const bracket = bracketAt(text, position);
  if (bracket === null || bracket.start < floor) return floor;
  if (bracket.text.startsWith(':')) {
    const scheme = schemeBefore(text, position, floor);
    if (scheme !== null) edits.push(scheme);
  }
  edits.push(bracket);
  return bracket.end;
}

/** Refanged text plus, when anything changed, the original offset of every refanged character. */
export interface RefangResult {
  readonly text: string;
  /**
   * `map[k]` is the offset in the original text of refanged character `k`, and `map[text.length]` the original
   * length; a replacement's characters all map to the start of what they replaced. `null` when nothing changed.
   */
  readonly map: Int32Array | null;
}

/** Refang `text` and keep the offset map extraction needs to report the original text of each candidate. */
export function refangWithMap(text: string): RefangResult {
  const edits = findEdits(text);
  if (edits === null || edits.length === 0) return { text, map: null };
  const parts: string[] = [];
  let position = 0;
  for (const edit of edits) {
    parts.push(text.slice(position, edit.start), edit.text);
    position = edit.end;
  }
  parts.push(text.slice(position));
  const refanged = parts.join('');
  const map = new Int32Array(refanged.length + 1);
  let out = 0;
  let original = 0;
  for (const edit of edits) {
    while (original < edit.start) map[out++] = original++;
    for (let k = 0; k < edit.text.length; k += 1) map[out++] = edit.start;
    original = edit.end;
  }
  while (out <= refanged.length) map[out++] = original++;
  return { text: refanged, map };
}

/**
 * Undo defanging in `text`, case-insensitively: `hXXps[:]//evil[.]com` → `https://evil.com`,
 * `8(.)8(.)8(.)8` → `8.8.8.8`, `bob[at]evil[dot]com` → `bob@evil.com`.
 */
export function refang(text: string): string {
  return refangWithMap(text).text;
}
