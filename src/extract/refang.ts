/**
 * Refanging: undo the ways analysts "defang" indicators so they cannot be clicked. Case-insensitive (msticpy's is
 * not, its defect 8).
 *
 * Forms handled (any bracket pair of `[]`, `()`, `{}`, optional inner spaces):
 * - dot: `[.]`, `(.)`, `{.}`, `[dot]`, `(DOT)`, ` [.] ` (surrounding single spaces are eaten too), `\.` between
 *   letters or digits;
 * - at: `[at]`, `(@)`, …;
 * - colon and slashes: `[:]`, `(:)`, `[://]`, `(://)`, `[/]`, `[//]`;
 * - schemes, only when a colon (plain or bracketed) follows: `hxxp`, `hXXps`, `hxtp`, `htxp`, `h**p`, `h__p`,
 *   `h[tt]p`, `meow` → `http`; `fxp`, `fxps` → `ftp(s)`; `sfxp` → `sftp`.
 */

const DEFANG =
  /( ?[[({] ?(?:\.|dot) ?[\])}] ?)|([[({] ?(?:@|at) ?[\])}])|([[({]:\/\/[\])}])|([[({]:[\])}])|(\[\/\/\])|(\[\/\])|((?<=[a-z0-9])\\\.(?=[a-z0-9]))|\b(hxxp|hxtp|htxp|h\*\*p|h__p|h\[tt\]p|meow|fxp|sfxp)(?=s?(?:[[({]:|:))/gi;

/** Quick test: only text containing one of these characters or words can hold a defanged form. */
const MAYBE_DEFANGED = /[[({\\]|x[tp]|h\*|h_|meow/i;

function replacement(match: RegExpExecArray): string {
  if (match[1] !== undefined) return '.';
  if (match[2] !== undefined) return '@';
  if (match[3] !== undefined) return '://';
  if (match[4] !== undefined) return ':';
  if (match[5] !== undefined) return '//';
  if (match[6] !== undefined) return '/';
  if (match[7] !== undefined) return '.';
  const scheme = (match[8] ?? '').toLowerCase();
  if (scheme === 'fxp') return 'ftp';
  if (scheme === 'sfxp') return 'sftp';
  return 'http';
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
  if (!MAYBE_DEFANGED.test(text)) return { text, map: null };
  DEFANG.lastIndex = 0;
  let match = DEFANG.exec(text);
  if (match === null) return { text, map: null };
  const parts: string[] = [];
  // Triples of (refanged start, original start, original end) for each replacement, to build the map after.
  const edits: number[] = [];
  let position = 0;
  let outLength = 0;
  while (match !== null) {
    const start = match.index;
    const end = start + match[0].length;
    const piece = text.slice(position, start);
    parts.push(piece);
    outLength += piece.length;
    const replaced = replacement(match);
    edits.push(outLength, start, end, replaced.length);
    parts.push(replaced);
    outLength += replaced.length;
    position = end;
    match = DEFANG.exec(text);
  }
  parts.push(text.slice(position));
  const refanged = parts.join('');
  const map = new Int32Array(refanged.length + 1);
  let out = 0;
  let original = 0;
  for (let index = 0; index < edits.length; index += 4) {
    const outStart = edits[index] ?? 0;
    const originalStart = edits[index + 1] ?? 0;
    const originalEnd = edits[index + 2] ?? 0;
    const length = edits[index + 3] ?? 0;
    while (out < outStart) map[out++] = original++;
    for (let k = 0; k < length; k += 1) map[out++] = originalStart;
    original = originalEnd;
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
