/**
 * Where input bytes come from: a file read in large chunks, stdin, or a caller's stream. The readers only see an
 * async iterable of Buffers, so every format shares one fast path.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InputError, IocEnrichError } from '../errors.js';

/** What to read: a file path, `-` for stdin, or a stream that overrides the path (tests, library callers). */
export interface InputSpec {
  /** File path, or `-` for standard input. Also names the input in error messages. */
  readonly path: string;
  /** Read this instead of opening `path`; `path` still names it in error messages. */
  readonly stream?: NodeJS.ReadableStream;
}

/**
 * Read size. Design decision: 1 MiB reads amortise the cost of a read (a thread-pool round trip and an await);
 * the line splitter then cuts them into smaller batches (see BATCH_BYTES in line-splitter.ts).
 */
const CHUNK_BYTES = 1 << 20;

/** The name an input has in error messages. */
export function inputName(input: InputSpec): string {
  return input.path === '-' ? '<stdin>' : input.path;
}

/** Opens a file for reading, turning "no such file" into a one-line INPUT_NOT_FOUND error. */
async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new IocEnrichError('INPUT_NOT_FOUND', `Input file not found: ${path}`, { cause: error });
    }
    throw new InputError(path, undefined, `cannot open: ${(error as Error).message}`, { cause: error });
  }
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const handle = await openFile(path);
  // Two buffers used in turn, one being filled while the caller reads the other. Design decision: reusing them
  // keeps RSS flat; fresh 1 MiB buffers per read piled up as garbage (external memory) and RSS reached 100 MB.
  const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)] as const;
  let turn = 0;
  const readChunk = async (): Promise<Buffer | undefined> => {
    const buffer = turn === 0 ? buffers[0] : buffers[1];
    turn = 1 - turn;
    try {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      return bytesRead === 0 ? undefined : buffer.subarray(0, bytesRead);
    } catch (error) {
      throw new InputError(path, undefined, `cannot read: ${(error as Error).message}`, { cause: error });
    }
  };
  // One read ahead: the disk (or the page-cache copy) works while the caller processes the previous chunk.
  let next = readChunk();
  try {
    for (;;) {
      const chunk = await next;
      if (chunk === undefined) return;
      next = readChunk();
      yield chunk;
    }
  } finally {
    await next.catch(() => undefined);
    await handle.close();
  }
}

async function* streamChunks(stream: NodeJS.ReadableStream, name: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  } catch (error) {
    if (error instanceof IocEnrichError) throw error;
    throw new InputError(name, undefined, `cannot read: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The input's bytes, in chunks. A chunk is valid only until the next one is asked for (file buffers are
 * reused): copy what must outlive it. A missing file fails on the first `next()` with code `INPUT_NOT_FOUND`.
 * @param stdin - the stream `-` stands for; default `process.stdin`.
 */
export function readChunks(input: InputSpec, stdin?: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  if (input.stream !== undefined) return streamChunks(input.stream, inputName(input));
  // process.stdin is only touched when `-` is read: its getter opens the stream.
  if (input.path === '-') return streamChunks(stdin ?? process.stdin, inputName(input));
  return fileChunks(input.path);
}
