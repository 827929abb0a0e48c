import { once } from 'node:events';
import { IocEnrichError } from '../errors.js';
import { openAtomicOutput } from '../io/atomic-file.js';
import { RedactingWriter, secretForms } from '../redact.js';

/**
 * What a command gets from the process: its streams and environment. Commands take this instead of touching
 * `process`, so tests can run them in-process with captured streams.
 */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Standard input, for `-`. */
  stdin?: NodeJS.ReadableStream;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal?: AbortSignal;
  /**
   * True when the command runs as the process (the bin), not in a caller's process (tests, embedding): it may
   * then tune process-wide V8 settings for its own memory (see young-generation.ts).
   */
  limitYoungGeneration?: boolean;
  /**
   * Secrets this command knows (the API key from the environment or a key file, a proxy password): every output
   * it opens and every error it prints has them replaced by `[redacted]`. Commands add the ones they read.
   */
  secrets?: string[];
}

/** The one-line error for a file named on the command line that cannot be read: `FILE: cannot read the WHAT (ENOENT)`. */
export function unreadableFile(file: string, what: string, error: unknown): IocEnrichError {
  return new IocEnrichError(
    'INPUT_NOT_FOUND',
    `${file}: cannot read the ${what} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
  );
}

/** An environment variable's value, trimmed; undefined when unset or blank. */
export function envValue(io: CommandIo, name: string): string | undefined {
  const value = io.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Documented exit codes. */
export const EXIT = {
  /** Complete. */
  ok: 0,
  /** The run failed: bad input, refused key, unreachable service. */
  failed: 1,
  /** Usage error: bad options. */
  usage: 2,
  /** Finished, but some observables were not submitted (quota exhausted). */
  notSubmitted: 3,
  /** Interrupted by Ctrl-C or SIGTERM; the output holds what was known. */
  interrupted: 130,
} as const;

/** An output destination: a file written atomically, or the command's stdout. */
export interface Output {
  stream: NodeJS.WritableStream;
  /** Makes the output visible under its final name (a file) or flushes it (stdout). */
  commit(): Promise<void>;
  /** Drops a file output's temporary file. */
  abort(): Promise<void>;
}

/** Why an output could not be written, in words, by the system error's code. */
const OUTPUT_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EPIPE: 'the program reading it went away',
  ENXIO: 'nothing can be written there (a socket, or a device without a driver)',
};

/** A failure to write `-o PATH` as one line naming the path (not the temporary file) and the problem. */
export function outputError(path: string, error: unknown): IocEnrichError {
  if (error instanceof IocEnrichError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const problem =
    (code === undefined ? undefined : OUTPUT_PROBLEMS[code]) ??
    (error instanceof Error ? error.message : String(error));
  return new IocEnrichError(
    'OUTPUT_FAILED',
    `${path}: cannot write the output: ${problem}${code === undefined ? '' : ` (${code})`}`,
    { cause: error },
  );
}

/** Opens `-o FILE` atomically, or the command's stdout when no file (or `-`) is given. */
export function openOutput(path: string | undefined, io: CommandIo): Output {
  if (path === undefined || path === '-') {
    // stdout is never closed: the process may still write to it.
    return redacting({ stream: io.stdout, commit: async () => {}, abort: async () => {} }, io);
  }
  const output = openAtomicOutput(path);
  return redacting(
    {
      stream: output.stream,
      commit: () => output.commit().catch((error: unknown) => Promise.reject(outputError(path, error))),
      abort: () => output.abort(),
    },
    io,
  );
}

/**
 * The output with every secret the command knows cut out of its bytes, whatever wrote them (a row writer, the
 * native engine's formatted rows): the last line of defence, behind the redaction of each value where it is
 * read. An output with no secret to look for is returned as it is.
 */
function redacting(output: Output, io: CommandIo): Output {
  if (secretForms(io.secrets ?? []).length === 0) return output;
  const redactor = new RedactingWriter(output.stream, io.secrets ?? [], { end: false });
  return {
    stream: redactor,
    commit: async () => {
      redactor.end();
      // 'finish': every byte has been handed to the output; its own commit then ends and publishes it.
      await once(redactor, 'finish');
      await output.commit();
    },
    abort: () => {
      redactor.destroy();
      return output.abort();
    },
  };
}
