/**
 * Bytes as they come from a file to UTF-8 text with LF or CRLF line ends: gzip is inflated, the encoding is found
 * (or forced) and decoded, old-Mac CR-only line ends become LF. Everything after this stage (line splitter, CSV
 * reader, part splitter, native engine) reads UTF-8 only.
 *
 * Design decisions:
 * - Containers by magic bytes, not by extension: a `.csv` that is really gzip'd, or gzip on stdin, is inflated all
 *   the same. Other compressors (bzip2, xz, zstd, 7-Zip, RAR) and tar archives are named in a one-line error rather
 *   than scanned as text.
 * - Plain UTF-8 is checked, not copied: each chunk is validated in place (`buffer.isUtf8`, native) and handed on as
 *   it is; only the up to 3 bytes of a character cut by a chunk boundary are copied. This is the fast path.
 * - A file that is not valid UTF-8 and has no BOM is Windows-1252 (what Excel and Windows tools write in Western
 *   Europe and the Americas): from the first chunk that fails the check on, the rest is decoded as Windows-1252 and
 *   a notice says so once. The chunks before it were valid UTF-8 and are kept as they were.
 * - UTF-16 by its BOM (Excel's "Unicode Text", PowerShell 5's `>`), or without one when the first bytes are ASCII
 *   with every other byte zero.
 * - `latin1` is ISO-8859-1 proper (bytes 0x80-0x9f are C1 controls); `windows-1252` maps them to `€`, `’`, etc.
 *   (our own table: see CP1252_HIGH).
 */
import { isUtf8 } from 'node:buffer';
import { createGunzip } from 'node:zlib';
import { InputError } from '../errors.js';

/** The encodings `--encoding` accepts. */
export const ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'latin1'] as const;
export type EncodingName = (typeof ENCODINGS)[number];

/** How much of the start of a stream the sniffers look at. */
export const SNIFF_BYTES = 64 * 1024;

/** The container a stream's first bytes announce. */
export type Container = 'gzip' | 'zip' | undefined;

const UNSUPPORTED: ReadonlyArray<{ readonly magic: readonly number[]; readonly name: string; readonly hint: string }> =
  [
    { magic: [0x42, 0x5a, 0x68], name: 'bzip2', hint: 'bunzip2 -k FILE' },
    { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], name: 'xz', hint: 'xz -dk FILE' },
    { magic: [0x28, 0xb5, 0x2f, 0xfd], name: 'zstd', hint: 'zstd -d FILE' },
    { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], name: '7-Zip', hint: '7z x FILE' },
    { magic: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], name: 'RAR', hint: 'unrar x FILE' },
  ];

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((byte, index) => head[index] === byte);
}

/**
 * The container of a stream from its first bytes: gzip, zip, or none. A compressor this tool does not read is an
 * InputError that names it and the command that decompresses it.
 */
export function sniffContainer(head: Uint8Array, name: string): Container {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return 'zip';
  for (const { magic, name: format, hint } of UNSUPPORTED) {
    if (startsWith(head, magic)) {
      throw new InputError(
        name,
        undefined,
        `compressed with ${format}, which is not read here: decompress it first (${hint})`,
      );
    }
  }
  return undefined;
}

/** Inflates gzip data, concatenated members included (as `cat a.gz b.gz` makes), keeping memory flat. */
export async function* gunzip(chunks: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  const inflater = createGunzip({ chunkSize: 64 * 1024 });
  const out: Buffer[] = [];
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  inflater.on('data', (data: Buffer) => out.push(data));
  inflater.on('error', (error) => {
    failure ??= error;
    wake?.();
  });
  inflater.on('end', () => {
    ended = true;
    wake?.();
  });
  const fail = (error: Error): InputError =>
    new InputError(name, undefined, `gzip data is damaged or cut short: ${error.message}`, { cause: error });
  // Slices of the input, each inflated before the next is written: the caller's chunk may be reused once it asks for
  // the next one, and what one slice inflates to is bounded (a 64 KiB slice of dense logs is a few MiB).
  const SLICE = 64 * 1024;
  try {
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length; at += SLICE) {
        await new Promise<void>((resolve) => inflater.write(chunk.subarray(at, at + SLICE), () => resolve()));
        while (out.length > 0) yield out.shift() as Buffer;
        if (failure !== undefined) throw fail(failure);
      }
    }
    inflater.end();
    while (!ended && failure === undefined) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (ended || failure !== undefined) resolve();
      });
      while (out.length > 0) yield out.shift() as Buffer;
    }
    while (out.length > 0) yield out.shift() as Buffer;
    if (failure !== undefined) throw fail(failure);
  } finally {
    inflater.destroy();
  }
}

/** What the start of a text stream says about its encoding. */
export interface EncodingGuess {
  readonly encoding: EncodingName;
  /** Bytes of BOM to skip. */
  readonly bom: number;
}

/** The encoding of a stream by its BOM, or by its zero bytes for UTF-16 without one; UTF-8 otherwise. */
export function sniffEncoding(head: Uint8Array): EncodingGuess {
  if (startsWith(head, [0xef, 0xbb, 0xbf])) return { encoding: 'utf-8', bom: 3 };
  if (startsWith(head, [0xff, 0xfe])) return { encoding: 'utf-16le', bom: 2 };
  if (startsWith(head, [0xfe, 0xff])) return { encoding: 'utf-16be', bom: 2 };
  // UTF-16 without a BOM: ASCII text with a zero byte beside every character.
  const pairs = Math.min(64, head.length >> 1);
  if (pairs >= 2) {
    let low = 0;
    let high = 0;
    for (let index = 0; index < pairs; index++) {
      const first = head[2 * index] as number;
      const second = head[2 * index + 1] as number;
      if (first !== 0 && second === 0) low++;
      else if (first === 0 && second !== 0) high++;
    }
    if (low === pairs) return { encoding: 'utf-16le', bom: 0 };
    if (high === pairs) return { encoding: 'utf-16be', bom: 0 };
  }
  return { encoding: 'utf-8', bom: 0 };
}

/** The length of a UTF-8 sequence from its lead byte (1 for a byte that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0 && lead < 0xf0) return 3;
  if (lead >= 0xc2 && lead < 0xe0) return 2;
  return 1;
}

/** Where a UTF-8 sequence left incomplete at the end of `bytes` (from `start`) begins, or `bytes.length`. */
function incompleteTail(bytes: Uint8Array, start: number): number {
  for (let index = bytes.length - 1; index >= Math.max(start, bytes.length - 3); index--) {
    const byte = bytes[index] as number;
    if (byte < 0x80) return bytes.length;
    if (byte >= 0xc0) return sequenceLength(byte) > bytes.length - index ? index : bytes.length;
  }
  return bytes.length;
}

/**
 * Windows-1252's characters for bytes 0x80-0x9f (the rest is Latin-1); 0x81, 0x8d, 0x8f, 0x90 and 0x9d are unassigned
 * and kept as the C1 controls they are in Latin-1. Design decision: our own table, not `TextDecoder('windows-1252')`:
 * Node 20's decoder maps these bytes as Latin-1 (checked: 0x92 came out U+0092, not `’`), so `l’adresse` and `€`
 * would be lost.
 */
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** Windows-1252 bytes as UTF-8. */
export function cp1252ToUtf8(bytes: Buffer): Buffer {
  const latin1 = bytes.toString('latin1');
  // Only text with bytes 0x80-0x9f needs the table (a regular expression test is native and fast).
  if (!/[\u0080-\u009f]/.test(latin1)) return Buffer.from(latin1, 'utf8');
  return Buffer.from(
    latin1.replace(/[\u0080-\u009f]/g, (char) => CP1252_HIGH[char.charCodeAt(0) - 0x80] as string),
    'utf8',
  );
}

/** Options of {@link decodeText}. */
export interface DecodeOptions {
  /** Force this encoding rather than sniff it. */
  readonly encoding?: EncodingName | undefined;
  /** Called once with a one-line notice (the Windows-1252 fallback); the CLI prints it on stderr. */
  readonly onNotice?: ((message: string) => void) | undefined;
}

/**
 * A text stream as UTF-8 (see the module comment), without a BOM. `head` is the stream's first bytes, already read,
 * and `rest` what follows them. Chunks yielded are valid until the next is asked for.
 */
export async function* decodeText(
  head: Buffer,
  rest: AsyncIterator<Buffer>,
  name: string,
  options: DecodeOptions,
): AsyncGenerator<Buffer> {
  const sniffed = sniffEncoding(head);
  const encoding = options.encoding ?? sniffed.encoding;
  // A BOM is skipped when it is the encoding's own.
  const bom = options.encoding === undefined || options.encoding === sniffed.encoding ? sniffed.bom : 0;
  let first: Buffer | undefined = head.subarray(bom);
  const source: AsyncIterator<Buffer> = {
    next: async () => {
      if (first !== undefined) {
        const value = first;
        first = undefined;
        return { done: false, value };
      }
      return rest.next();
    },
  };
  if (encoding === 'utf-8' && options.encoding === undefined) {
    yield* checkedUtf8(source, name, options.onNotice);
    return;
  }
  if (encoding === 'utf-8') {
    for (let next = await source.next(); next.done !== true; next = await source.next()) yield next.value;
    return;
  }
  if (encoding === 'latin1') {
    for (let next = await source.next(); next.done !== true; next = await source.next())
      yield Buffer.from(next.value.toString('latin1'), 'utf8');
    return;
  }
  if (encoding === 'windows-1252') {
    for (let next = await source.next(); next.done !== true; next = await source.next()) yield cp1252ToUtf8(next.value);
    return;
  }
  const decoder = new TextDecoder(encoding, { ignoreBOM: true });
  for (let next = await source.next(); next.done !== true; next = await source.next()) {
    const text = decoder.decode(next.value, { stream: true });
    if (text !== '') yield Buffer.from(text, 'utf8');
  }
  const text = decoder.decode();
  if (text !== '') yield Buffer.from(text, 'utf8');
}

/** UTF-8 checked in place; from the first invalid chunk on, Windows-1252 (see the module comment). */
async function* checkedUtf8(
  source: AsyncIterator<Buffer>,
  name: string,
  onNotice: ((message: string) => void) | undefined,
): AsyncGenerator<Buffer> {
  let fallback = false;
  let offset = 0;
  // The start of a character cut by the end of the previous chunk (copied: that chunk may be reused).
  let tail: Buffer | undefined;
  const switchAt = (at: number): void => {
    fallback = true;
    onNotice?.(
      `${name}: not valid UTF-8 (from byte ${at}): read as Windows-1252 (--encoding chooses another encoding)`,
    );
  };
  for (let next = await source.next(); next.done !== true; next = await source.next()) {
    let chunk = next.value;
    if (fallback) {
      yield cp1252ToUtf8(chunk);
      continue;
    }
    let start = 0;
    if (tail !== undefined) {
      const need = Math.min(sequenceLength(tail[0] as number) - tail.length, chunk.length);
      const joined = Buffer.concat([tail, chunk.subarray(0, need)]);
      tail = undefined;
      if (isUtf8(joined)) {
        yield joined;
        start = need;
        offset += joined.length;
      } else {
        // Decoded with the rest of the chunk below.
        chunk = Buffer.concat([joined, chunk.subarray(need)]);
      }
    }
    const cut = incompleteTail(chunk, start);
    const body = chunk.subarray(start, cut);
    if (!isUtf8(body)) {
      switchAt(offset + firstInvalid(body));
      yield cp1252ToUtf8(chunk.subarray(start));
      continue;
    }
    if (body.length > 0) yield body;
    offset += body.length;
    if (cut < chunk.length) tail = Buffer.from(chunk.subarray(cut));
  }
  if (tail !== undefined) {
    if (!fallback) switchAt(offset);
    yield cp1252ToUtf8(tail);
  }
}

/** The offset of the first byte of `bytes` that is not part of valid UTF-8 (for the notice). */
function firstInvalid(bytes: Buffer): number {
  let low = 0;
  let high = bytes.length;
  // Binary search on valid prefixes; a prefix cut inside a character counts as invalid, so step back over it.
  while (high - low > 4) {
    const middle = (low + high) >> 1;
    const end = incompleteTail(bytes.subarray(0, middle), 0);
    if (isUtf8(bytes.subarray(0, end))) low = end;
    else high = middle;
  }
  for (let index = low; index < high; index++) if ((bytes[index] as number) >= 0x80) return index;
  return low;
}

/** Old-Mac line ends (CR only, no LF anywhere in the first bytes): every CR becomes LF. Otherwise unchanged. */
export async function* crToLf(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    const copy = Buffer.from(chunk);
    for (let at = copy.indexOf(0x0d); at !== -1; at = copy.indexOf(0x0d, at + 1)) copy[at] = 0x0a;
    yield copy;
  }
}

/** True when `head` (decoded text) has CRs and no LF: old-Mac line ends. */
export function crOnly(head: Uint8Array): boolean {
  return head.indexOf(0x0a) === -1 && head.indexOf(0x0d) !== -1;
}

/**
 * A problem that makes decoded text unreadable as text, or undefined: NUL bytes (a binary file, or an archive read as
 * text), with what it probably is.
 */
export function binaryProblem(head: Uint8Array): string | undefined {
  const nul = head.indexOf(0);
  if (nul === -1) return undefined;
  if (head.length > 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') {
    return 'a tar archive: extract its files first (tar -xf FILE)';
  }
  return `binary data, not text (a NUL byte at offset ${nul}); if it is UTF-16 text without a BOM, give --encoding utf-16le or utf-16be`;
}
