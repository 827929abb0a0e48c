/**
 * The records of a JSON document too big to parse whole: the elements of a top-level array (Kibana's and most
 * tools' "Export as JSON", pretty-printed or on one line), the hits of an Elasticsearch `_search` response
 * (`hits.hits[*]`), and any other top-level value (a pretty-printed object, or several one after the other as `jq`
 * writes them) as one record each.
 *
 * Design decision: a small scanner of our own rather than a streaming JSON parser: it only finds where each record's
 * text starts and ends (strings, escapes and nesting), and each record is then parsed by `JSON.parse`, much faster
 * than building values token by token in JavaScript. Memory holds one record's text at a time, whatever the size of
 * the array (a 2 GB array is fine).
 */
import { StringDecoder } from 'node:string_decoder';
import { InputError } from '../errors.js';

/** One record's JSON text and the 0-based line it starts on. */
export interface JsonItem {
  readonly text: string;
  readonly line: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LF = 0x0a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(code: number): boolean {
  return code === 0x20 || code === LF || code === 0x0d || code === 0x09;
}

interface Frame {
  /** `{` or `[`. */
  readonly kind: number;
  /** Objects: the key of the value being read (tracked at the top two levels only, to find `hits.hits`). */
  key: string;
  /** Objects: the next string is a key. */
  expectKey: boolean;
}

/**
 * Yields the records of a JSON document (see the module comment), a batch per chunk read.
 * @throws InputError for a record longer than `maxRecordBytes`, or a document cut short (after the records before).
 */
export async function* jsonItems(
  chunks: AsyncIterable<Buffer>,
  file: string,
  maxRecordBytes: number,
): AsyncGenerator<JsonItem[]> {
  const decoder = new StringDecoder('utf8');
  const stack: Frame[] = [];
  let inString = false;
  let escaped = false;
  /** Accumulates a key's characters while one at the top two levels is read. */
  let key: string | undefined;
  let line = 0;
  /** The depth (stack length) of the array whose elements are records, or -1. */
  let recordDepth = -1;
  /** Capture of the current record's text: pieces of earlier chunks, and where it starts in this one (-1: none). */
  let capturing = false;
  let pieces: string[] = [];
  let pieceBytes = 0;
  let captureFrom = 0;
  let captureLine = 0;
  /** The capture is the whole top-level object (until it turns out to be a _search response). */
  let rootObject = false;
  let openedLine = 0;

  for await (const chunk of chunks) {
    const text = decoder.write(chunk);
    const items: JsonItem[] = [];
    const emit = (end: number): void => {
      const body = (pieces.length === 0 ? text.slice(captureFrom, end) : pieces.join('') + text.slice(0, end)).trim();
      if (body !== '') items.push({ text: body, line: captureLine });
      capturing = false;
      pieces = [];
      pieceBytes = 0;
    };
    const start = (at: number): void => {
      capturing = true;
      captureFrom = at;
      captureLine = line;
    };
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (inString) {
        if (escaped) escaped = false;
        else if (code === BACKSLASH) escaped = true;
        else if (code === QUOTE) {
          inString = false;
          if (key !== undefined) {
            const frame = stack[stack.length - 1] as Frame;
            frame.key = key;
            key = undefined;
          }
        } else if (key !== undefined) key += text[index];
        if (code === LF) line++;
        continue;
      }
      if (isSpace(code)) {
        if (code === LF) line++;
        continue;
      }
      const depth = stack.length;
      const top = stack[depth - 1];
      // A value starts where the record array expects an element, or at the top level.
      if (!capturing && code !== COMMA && code !== CLOSE_ARRAY && code !== CLOSE_OBJECT) {
        if (depth === recordDepth) start(index);
        else if (depth === 0) {
          if (code === OPEN_ARRAY) recordDepth = 1;
          else {
            start(index);
            rootObject = code === OPEN_OBJECT;
          }
          openedLine = line;
        }
      }
      if (code === QUOTE) {
        inString = true;
        if (top?.kind === OPEN_OBJECT && top.expectKey && depth <= 2) key = '';
        if (top?.kind === OPEN_OBJECT) top.expectKey = false;
      } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
        // `hits.hits` of a top-level object: a _search response, whose hits are the records.
        if (
          code === OPEN_ARRAY &&
          depth === 2 &&
          rootObject &&
          top?.key === 'hits' &&
          (stack[0] as Frame).key === 'hits'
        ) {
          recordDepth = 3;
          capturing = false;
          pieces = [];
          pieceBytes = 0;
          rootObject = false;
        }
        stack.push({ kind: code, key: '', expectKey: code === OPEN_OBJECT });
      } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
        if (depth === recordDepth && code === CLOSE_ARRAY) {
          if (capturing) emit(index);
          recordDepth = -1;
        }
        stack.pop();
        if (capturing && stack.length === (recordDepth === -1 ? 0 : recordDepth)) emit(index + 1);
      } else if (code === COMMA) {
        if (top?.kind === OPEN_OBJECT) top.expectKey = true;
        if (capturing && depth === recordDepth) emit(index);
      } else if (code === COLON) {
        if (top?.kind === OPEN_OBJECT) top.expectKey = false;
      }
    }
    if (capturing) {
      const piece = pieces.length === 0 ? text.slice(captureFrom) : text;
      pieces.push(piece);
      pieceBytes += piece.length;
      captureFrom = 0;
      if (pieceBytes > maxRecordBytes) {
        if (items.length > 0) yield items;
        throw new InputError(file, captureLine + 1, `JSON record longer than ${maxRecordBytes} bytes`);
      }
    }
    if (items.length > 0) yield items;
  }
  if (capturing && stack.length === 0) {
    // A top-level number or literal that ran to the end of the input.
    const body = pieces.join('').trim();
    if (body !== '') yield [{ text: body, line: captureLine }];
    return;
  }
  if (stack.length > 0 || inString) {
    throw new InputError(
      file,
      openedLine + 1,
      `the JSON ${stack[0]?.kind === OPEN_ARRAY ? 'array' : 'value'} opened here is not closed: the input is cut short`,
    );
  }
}
