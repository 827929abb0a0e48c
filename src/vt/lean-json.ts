/**
 * A lean parse of v3 object replies. Most of a VirusTotal object (7–10 KB) is `last_analysis_results`, one
 * small object per engine (about 60), which nothing in a lookup reads: the result is built from
 * `last_analysis_stats` and a few other attributes. Parsing those engines was most of the client's CPU per
 * lookup (the parse and the garbage it leaves), so the member is cut out of the text before `JSON.parse`.
 *
 * Design decisions:
 * - The cut member is skipped by one sticky regular expression (native code, linear: its alternatives start
 *   with disjoint characters, so it never backtracks) that accepts an object of at most two levels, which is
 *   the shape of `last_analysis_results`. Anything else (deeper, escaped oddities, not found) takes the plain
 *   full parse: the lean path is an optimisation, never a different reading.
 * - The cut must have removed `data.attributes.last_analysis_results` itself (the first match in the text
 *   could in principle be a string or a nested member): the parsed attributes must no longer have it, else the
 *   full parse is used.
 * - The lean object serialises as the whole reply: a non-enumerable `toJSON` parses the full text when (and
 *   only when) the reply is kept raw (`JSON.stringify`), so RawResponse sees every byte of information
 *   VirusTotal sent. Property reads see every attribute but the engine results.
 * - The cache stores the text itself ({@link replyJsonText}): parsing the full reply only to serialise it again
 *   was most of what storing a reply cost (about 75 µs of a 7.6 KB reply), and the text is the reply exactly.
 */

// The characters that matter to nesting; the regular expression jumps over everything else in native code.
const STRUCTURE = /["[\]{}]/g;

/** Whether `text` (JSON) nests arrays and objects deeper than `limit`. Linear; brackets in strings are skipped. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  if (limit === Infinity) return false;
  let depth = 0;
  STRUCTURE.lastIndex = 0;
  // test() rather than exec(): no match object per character found.
  while (STRUCTURE.test(text)) {
    const index = STRUCTURE.lastIndex - 1;
    const code = text.charCodeAt(index);
    if (code === 34) {
      // A string: jump to its closing quote (one preceded by an even number of backslashes).
      let end = text.indexOf('"', index + 1);
      for (;;) {
        if (end === -1) return false; // unterminated: JSON.parse refuses it
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 92) backslashes++;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      STRUCTURE.lastIndex = end + 1;
    } else if (code === 123 || code === 91) {
      depth++;
      if (depth > limit) return true;
    } else {
      depth--;
    }
  }
  return false;
}

/** Thrown by {@link parseReply} for a reply that nests deeper than it allows. */
export class NestedTooDeeply extends Error {
  constructor(limit: number) {
    super(`the reply nests deeper than ${limit} levels`);
    this.name = 'NestedTooDeeply';
  }
}

const MEMBER = '"last_analysis_results"';
// A JSON string, unrolled so that runs of plain characters are one step.
const STRING = String.raw`"[^"\\]*(?:\\.[^"\\]*)*"`;
/** `{...}` of at most two levels: the results map, whose members are flat objects of strings and nulls. */
const TWO_LEVELS = new RegExp(String.raw`\{(?:[^{}"]+|${STRING}|\{(?:[^{}"]+|${STRING})*\})*\}`, 'y');
const SPACE = /\s*/y;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Index of the first non-space character at or after `from`. */
function skipSpace(text: string, from: number): number {
  SPACE.lastIndex = from;
  SPACE.test(text);
  return SPACE.lastIndex;
}

/** Index of the last non-space character before `before`. */
function lastNonSpace(text: string, before: number): number {
  let index = before - 1;
  while (index >= 0 && /\s/.test(text.charAt(index))) index -= 1;
  return index;
}

/** The text without its first `"last_analysis_results": {...}` member (and one comma), or undefined. */
function withoutResults(text: string): string | undefined {
  const key = text.indexOf(MEMBER);
  if (key === -1) return undefined;
  const colon = skipSpace(text, key + MEMBER.length);
  if (text.charCodeAt(colon) !== 58) return undefined;
  const value = skipSpace(text, colon + 1);
  TWO_LEVELS.lastIndex = value;
  if (!TWO_LEVELS.test(text)) return undefined;
  const end = TWO_LEVELS.lastIndex;
  const before = lastNonSpace(text, key);
  // A member after others takes the comma before it; the first member takes the comma after it.
  if (text.charAt(before) === ',') return text.slice(0, before) + text.slice(end);
  const after = skipSpace(text, end);
  return text.charAt(after) === ',' ? text.slice(0, key) + text.slice(after + 1) : text.slice(0, key) + text.slice(end);
}

/** The text a lean reply was parsed from (see {@link replyJsonText}). */
const SOURCE = Symbol('reply text');

/**
 * The JSON text of a reply: for a v3 object parsed by {@link parseReply}, the text it was parsed from, as
 * VirusTotal sent it; for anything else `JSON.stringify`. Readers of the text must take it with
 * {@link parseReply} (whose reading it is) or {@link parseStoredReply}.
 *
 * One exception keeps redaction exact: a text with a `\u` escape is serialised again, because an escaped
 * character could hide a secret from a search of the text (`JSON.stringify` writes every character that needs
 * no escape as itself, so the key is found in its output).
 */
export function replyJsonText(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const text = (value as { [SOURCE]?: unknown })[SOURCE];
    if (typeof text === 'string' && !text.includes('\\u')) return text;
  }
  return JSON.stringify(value);
}

/**
 * Parses a stored reply text (see {@link replyJsonText}) in full; a text whose engine results do not parse (a
 * lean reading kept as sent) gives its lean reading, as it did when it was fetched.
 */
export function parseStoredReply(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const lean = withoutResults(text);
    if (lean === undefined) throw error;
    return JSON.parse(lean) as unknown;
  }
}

function fullOrLean(text: string, lean: Record<string, unknown>): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { ...lean };
  }
}

/**
 * Parses a reply body. v3 object replies come back without their engine results (see the module comment);
 * everything else is parsed in full. Throws `SyntaxError` as `JSON.parse` does, and {@link NestedTooDeeply} for a
 * reply that nests deeper than `maxDepth`.
 */
export function parseReply(text: string, maxDepth = Infinity): unknown {
  const lean = withoutResults(text);
  if (lean !== undefined) {
    // The cut member was matched as at most two levels deep, so the lean text alone tells the whole reply's depth
    // (it is most of the text: scanning only the rest keeps the check cheap).
    if (nestsDeeperThan(lean, maxDepth - 2)) throw new NestedTooDeeply(maxDepth);
    let parsed: unknown;
    try {
      parsed = JSON.parse(lean);
    } catch {
      parsed = undefined;
    }
    const data = isRecord(parsed) ? parsed['data'] : undefined;
    const attributes = isRecord(data) ? data['attributes'] : undefined;
    if (isRecord(parsed) && isRecord(attributes) && !Object.hasOwn(attributes, 'last_analysis_results')) {
      // The full reply is parsed (once) only when serialised: for the cache and for RawResponse.
      let full: unknown;
      Object.defineProperty(parsed, 'toJSON', {
        enumerable: false,
        // The cut part was only checked for its shape: should it not parse, the lean reading is what is kept.
        value: (): unknown => (full ??= fullOrLean(text, parsed)),
      });
      Object.defineProperty(parsed, SOURCE, { enumerable: false, value: text });
      return parsed;
    }
  }
  if (nestsDeeperThan(text, maxDepth)) throw new NestedTooDeeply(maxDepth);
  return JSON.parse(text) as unknown;
}
