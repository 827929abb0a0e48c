import { openAtomicOutput } from '../io/atomic-file.js';

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

/** Opens `-o FILE` atomically, or the command's stdout when no file (or `-`) is given. */
export function openOutput(path: string | undefined, io: CommandIo): Output {
  if (path === undefined || path === '-') {
    // stdout is never closed: the process may still write to it.
    return { stream: io.stdout, commit: async () => {}, abort: async () => {} };
  }
  return openAtomicOutput(path);
}
