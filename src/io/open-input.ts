/**
 * The one way every command opens its input: a file, stdin or a caller's stream becomes one or more members (one,
 * or one per file of a zip archive), each decoded to UTF-8 (see decode.ts) with its format and, for CSV, its
 * delimiter decided. The readers and the part splitter only ever see a member's UTF-8 chunks.
 *
 * Design decisions:
 * - The format of a compressed file comes from the name inside (`x.csv.gz` is CSV, a zip member's own name), and
 *   what the name does not settle from the first 64 KiB of text: a Zeek header (`#separator`) makes a Zeek log
 *   whatever the name, a first line that is a JSON object makes JSON lines of a file with no known extension.
 * - Zip with yauzl: it reads the archive's central directory (the only reliable list of members; a zip read as a
 *   stream from its local headers can be misread, as yauzl's author explains), streams each member, is small, has
 *   no dependencies and is maintained. The central directory is at the end of the file, so a zip must be a file,
 *   not stdin. Folders and macOS `__MACOSX/` resource forks are not members.
 */
import { basename, extname } from 'node:path';
import { promisify } from 'node:util';
import type yauzl from 'yauzl';
import { InputError } from '../errors.js';
import {
  SNIFF_BYTES,
  binaryProblem,
  crOnly,
  crToLf,
  decodeText,
  gunzip,
  sniffContainer,
  sniffEncoding,
  type Container,
  type DecodeOptions,
} from './decode.js';
import { inputName, readChunks, type InputSpec } from './input-source.js';

/** The input formats. `zeek`: a Zeek TSV log (`#separator`, `#fields` header lines). */
export type InputFormat = 'csv' | 'text' | 'jsonl' | 'zeek';

/** The CSV delimiters accepted and sniffed. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

/** Options of {@link openInput}. */
export interface OpenInputOptions extends DecodeOptions {
  /** Force the format of every member rather than infer it. */
  readonly format?: InputFormat | undefined;
  /** Force the CSV delimiter rather than sniff it. */
  readonly delimiter?: string | undefined;
  /** The stream `-` stands for; default process.stdin. */
  readonly stdin?: NodeJS.ReadableStream | undefined;
}

/** One readable text of the input: the input itself, or one file of a zip archive. */
export interface InputMember {
  /** Names it in errors: the path, or `archive.zip:member.csv`. */
  readonly name: string;
  /** The zip member's name, or undefined. Its records' SourceIndex is prefixed with `member:`. */
  readonly member: string | undefined;
  readonly format: InputFormat;
  /** CSV: the field delimiter. */
  readonly delimiter: string;
  /** How the input was packed: gzip, zip or not at all. */
  readonly container: Container;
  /** It started with a byte order mark (removed from `chunks`); the join writes one back. */
  readonly bom?: boolean | undefined;
  /** UTF-8, LF or CRLF line ends, no BOM. A chunk is valid until the next one is asked for. */
  readonly chunks: AsyncGenerator<Buffer>;
}

/**
 * The format a file name implies, with `.gz` taken off: `.csv` csv, `.tsv`/`.tab` tab-delimited csv, `.psv`
 * pipe-delimited csv, `.jsonl`/`.ndjson`/`.json` jsonl; undefined for anything else (the content decides).
 */
export function formatFromName(path: string): { format: InputFormat; delimiter?: string } | undefined {
  let name = basename(path).toLowerCase();
  if (name.endsWith('.gz')) name = name.slice(0, -3);
  else if (name.endsWith('.gzip')) name = name.slice(0, -5);
  const extension = extname(name);
  if (extension === '.csv') return { format: 'csv' };
  if (extension === '.tsv' || extension === '.tab') return { format: 'csv', delimiter: '\t' };
  if (extension === '.psv') return { format: 'csv', delimiter: '|' };
  if (extension === '.jsonl' || extension === '.ndjson' || extension === '.json') return { format: 'jsonl' };
  return undefined;
}

/**
 * The first `bytes` of a stream (or all of it, if shorter), and an iterator over everything (those bytes again, then
 * the rest). Design decision: no copy when the first chunk is long enough (the usual case: file reads are 1 MiB):
 * a chunk stays valid until the next is asked for, and the next is asked for only after `head` was used. Pieces of
 * a stream of small chunks are joined (a copy). Nothing keeps `head` once it was handed on.
 */
async function peek(
  chunks: AsyncIterator<Buffer>,
  bytes: number,
): Promise<{ head: Buffer; all: AsyncGenerator<Buffer> }> {
  const pieces: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < bytes) {
    const next = await chunks.next();
    if (next.done === true) {
      done = true;
      break;
    }
    // Copied once a second piece is needed: the first one's buffer may be reused for the second read.
    if (pieces.length === 1) pieces[0] = Buffer.from(pieces[0] as Buffer);
    pieces.push(pieces.length === 0 ? next.value : Buffer.from(next.value));
    length += next.value.length;
  }
  const head = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, length);
  let first: Buffer | undefined = head.length > 0 ? head : undefined;
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (first !== undefined) {
        const value = first;
        first = undefined;
        yield value;
      }
      if (done) return;
      for (let next = await chunks.next(); next.done !== true; next = await chunks.next()) yield next.value;
    } finally {
      await chunks.return?.(undefined);
    }
  }
  return { head, all: all() };
}

/** Lines of `text` (up to `max`), complete ones only unless the text ends there. */
function firstLines(text: string, max: number, complete: boolean): string[] {
  const lines = text.split('\n', max + 1).map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.length > max || !complete) lines.pop();
  return lines.slice(0, max);
}

/** Occurrences of `delimiter` outside double quotes in `line`, with the quote state carried from line to line. */
function countOutsideQuotes(line: string, delimiter: string, state: { quoted: boolean }): number {
  let count = 0;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (char === '"') state.quoted = !state.quoted;
    else if (char === delimiter && !state.quoted) count++;
  }
  return count;
}

/**
 * The delimiter of a CSV from its header and first records: among `,` `;` tab `|`, the one found in the header
 * that the most records repeat as often (ties go to the earlier in that list); a comma when none is in the header.
 */
function sniffDelimiter(lines: readonly string[]): string {
  let best: { delimiter: string; score: number } = { delimiter: ',', score: -1 };
  const header = lines.findIndex((line) => line.trim() !== '');
  if (header === -1) return ',';
  for (const delimiter of DELIMITERS) {
    const state = { quoted: false };
    const counts = lines.slice(header).map((line) => countOutsideQuotes(line, delimiter, state));
    const inHeader = counts[0] as number;
    if (inHeader === 0) continue;
    const data = counts.slice(1).filter((_, index) => (lines[header + 1 + index] as string).trim() !== '');
    const agreeing = data.filter((count) => count === inHeader).length;
    // Records that agree with the header, as a share; a header alone counts as agreeing.
    const score = data.length === 0 ? 1 : agreeing / data.length;
    if (score > best.score) best = { delimiter, score };
  }
  return best.delimiter;
}

function isJsonObjectLine(line: string): boolean {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return false;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}

/** The member of a decoded text stream: its format and delimiter decided from its name and first bytes. */
async function member(
  name: string,
  memberName: string | undefined,
  container: Container,
  decoded: AsyncGenerator<Buffer>,
  options: OpenInputOptions,
  bom: boolean,
): Promise<InputMember> {
  const { head: first, all } = await peek(decoded, SNIFF_BYTES);
  // The first 64 KiB decide (the first chunk may be longer).
  const head = first.subarray(0, SNIFF_BYTES);
  const cr = crOnly(head);
  const lfOnly = cr ? crToLf(all) : all;
  const text = (cr ? Buffer.from(head).map((byte) => (byte === 0x0d ? 0x0a : byte)) : head).toString('utf8');
  const complete = first.length < SNIFF_BYTES;
  const byName = formatFromName(memberName ?? name);
  let format = options.format ?? byName?.format;
  if (options.format === undefined && text.startsWith('#separator')) format = 'zeek';
  if (format === undefined) {
    const [first] = firstLines(text, 1, complete);
    format = first !== undefined && isJsonObjectLine(first) ? 'jsonl' : 'text';
  }
  let chunks = lfOnly;
  let lines = firstLines(text, 21, complete);
  if (format === 'csv' && isPowerShellTypeLine(lines[0])) {
    // Read as the header, the line would name every column `#2`, `#3`… and shift every SourceIndex by one.
    chunks = blankFirstLine(lfOnly);
    lines = lines.slice(1);
    options.onNotice?.(powerShellTypeLineNotice(name));
  }
  let delimiter = options.delimiter ?? byName?.delimiter ?? ',';
  if (format === 'csv' && options.delimiter === undefined && byName?.delimiter === undefined) {
    delimiter = sniffDelimiter(lines.slice(0, 20));
    if (delimiter !== ',') {
      options.onNotice?.(
        `${name}: fields separated by ${delimiter === '\t' ? 'tabs' : `'${delimiter}'`} (sniffed; --delimiter chooses)`,
      );
    }
  }
  return { name, member: memberName, format, delimiter, container, bom, chunks };
}

/**
 * Whether `line` is the first line of Windows PowerShell's Export-Csv output: `#TYPE <.NET type>` above the header,
 * unless told -NoTypeInformation. A source table and a results file re-exported from PowerShell both have it.
 */
export function isPowerShellTypeLine(line: string | undefined): boolean {
  return line?.startsWith('#TYPE ') === true;
}

/** What is said on stderr when that line is skipped. */
export function powerShellTypeLineNotice(name: string): string {
  return `${name}: skipped PowerShell's '#TYPE …' line above the header (Export-Csv without -NoTypeInformation)`;
}

/**
 * `chunks` with the first line's text removed and its line end kept: a blank line, which the CSV readers skip
 * before the header, so every later line keeps its number in errors. The line is short and in the first chunk
 * (the sniffed head); should it not end there, the input is left as it is.
 */
export async function* blankFirstLine(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let first = true;
  for await (const chunk of chunks) {
    if (first) {
      first = false;
      const end = chunk.indexOf(0x0a);
      if (end !== -1) {
        yield chunk.subarray(end);
        continue;
      }
    }
    yield chunk;
  }
}

/** Decodes a text stream (after any gzip), refusing binary data. */
async function decodedMember(
  name: string,
  memberName: string | undefined,
  container: Container,
  raw: AsyncIterator<Buffer>,
  options: OpenInputOptions,
): Promise<InputMember> {
  const { head: first, all } = await peek(raw, SNIFF_BYTES);
  const head = first.subarray(0, SNIFF_BYTES);
  const sniffed = sniffEncoding(head);
  const bom = sniffed.bom > 0 && (options.encoding === undefined || options.encoding === sniffed.encoding);
  // Text in a single-byte encoding or UTF-8 has no NUL bytes: such input is binary, or UTF-16 without a BOM.
  if ((options.encoding ?? sniffed.encoding).startsWith('utf-16') === false) {
    const problem = binaryProblem(head);
    if (problem !== undefined) {
      await all.return(undefined);
      throw new InputError(name, undefined, problem);
    }
  }
  const next = await all.next();
  const decoded = decodeText(next.done === true ? Buffer.alloc(0) : next.value, all, name, options);
  return member(name, memberName, container, decoded, options, bom);
}

interface ZipEntry {
  readonly fileName: string;
}

/** The files of a zip archive, in the archive's order, each with its bytes. */
async function* zipEntries(path: string): AsyncGenerator<{ fileName: string; chunks: AsyncGenerator<Buffer> }> {
  let zip: yauzl.ZipFile;
  // Loaded only for a zip: most runs never need it.
  const { open } = (await import('yauzl')).default;
  try {
    zip = await promisify<string, yauzl.Options, yauzl.ZipFile>(open)(path, {
      lazyEntries: true,
      autoClose: false,
    });
  } catch (error) {
    throw new InputError(path, undefined, `not a readable zip archive: ${(error as Error).message}`, { cause: error });
  }
  const nextEntry = (): Promise<ZipEntry | undefined> =>
    new Promise((resolve, reject) => {
      const onEntry = (entry: ZipEntry): void => {
        zip.removeListener('end', onEnd);
        zip.removeListener('error', onError);
        resolve(entry);
      };
      const onEnd = (): void => {
        zip.removeListener('entry', onEntry);
        zip.removeListener('error', onError);
        resolve(undefined);
      };
      const onError = (error: Error): void => {
        zip.removeListener('entry', onEntry);
        zip.removeListener('end', onEnd);
        reject(new InputError(path, undefined, `damaged zip archive: ${error.message}`, { cause: error }));
      };
      zip.once('entry', onEntry);
      zip.once('end', onEnd);
      zip.once('error', onError);
      zip.readEntry();
    });
  try {
    for (let entry = await nextEntry(); entry !== undefined; entry = await nextEntry()) {
      const { fileName } = entry;
      if (fileName.endsWith('/') || fileName.startsWith('__MACOSX/')) continue;
      let stream: NodeJS.ReadableStream;
      try {
        stream = await promisify<yauzl.Entry, NodeJS.ReadableStream>(zip.openReadStream.bind(zip))(
          entry as yauzl.Entry,
        );
      } catch (error) {
        throw new InputError(
          `${path}:${fileName}`,
          undefined,
          `cannot read this zip member: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      yield { fileName, chunks: readChunks({ path: `${path}:${fileName}`, stream }) };
    }
  } finally {
    zip.close();
  }
}

/**
 * The members of an input, each decoded and with its format decided (see the module comment). A missing file fails
 * on the first `next()` with code `INPUT_NOT_FOUND`; a compressor not read here, binary data or a zip on stdin with
 * an {@link InputError}. Members are read one after the other: finish a member's chunks before asking for the next.
 */
export async function* openInput(input: InputSpec, options: OpenInputOptions = {}): AsyncGenerator<InputMember> {
  const name = inputName(input);
  const { head, all } = await peek(readChunks(input, options.stdin), 4);
  const container = sniffContainer(head, name);
  if (container === 'zip') {
    await all.return(undefined);
    if (input.stream !== undefined || input.path === '-') {
      throw new InputError(name, undefined, 'a zip archive can be read from a file only, not from a stream or stdin');
    }
    for await (const entry of zipEntries(input.path)) {
      const memberName = `${name}:${entry.fileName}`;
      const { head: inner, all: entryChunks } = await peek(entry.chunks, 4);
      const packed = sniffContainer(inner, memberName);
      const bytes = packed === 'gzip' ? gunzip(entryChunks, memberName) : entryChunks;
      yield await decodedMember(memberName, entry.fileName, 'zip', bytes, options);
    }
    return;
  }
  const bytes = container === 'gzip' ? gunzip(all, name) : all;
  yield await decodedMember(name, undefined, container, bytes, options);
}
