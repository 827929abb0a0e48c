/**
 * Secret redaction: the one place that decides how a secret (the VirusTotal API key, a proxy password) is cut
 * out of text. The client, the normaliser, the cache, the pipeline and the CLI's output streams all use it, so
 * a fresh row, a cached row, a log line and a stored reply read the same.
 *
 * Design decisions:
 * - A secret is replaced by {@link REDACTED} both as it is and URL-encoded (it rides in a v2 query string and
 *   in the overall_quotas path).
 * - The marker holds no character that CSV, JSON or a URL would quote or escape, so replacing bytes inside an
 *   already formatted row keeps the row valid.
 * - Secrets shorter than {@link MIN_SECRET_LENGTH} are not redacted: replacing every `a` of a test key would
 *   garble the output and protect nothing (VirusTotal keys are 64 hex characters).
 */
import { Writable } from 'node:stream';
import { BufferPool } from './buffer-pool.js';

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/** Shorter secrets are left alone (see the module comment). */
const MIN_SECRET_LENGTH = 8;

/** The forms of the secrets worth searching for: each as it is and URL-encoded, longest first, no duplicates. */
export function secretForms(secrets: Iterable<string | undefined>): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** `text` with every form of every secret replaced by {@link REDACTED}. */
export function redactText(text: string, forms: readonly string[]): string {
  let result = text;
  for (const form of forms) if (result.includes(form)) result = result.split(form).join(REDACTED);
  return result;
}

// The forms of the last secret given to redact(): a run redacts one key, thousands of times.
let lastSecret: string | undefined;
let lastForms: string[] = [];

/** Redacts one secret (the API key) from a text; a convenience over {@link secretForms} and {@link redactText}. */
export function redact(text: string, secret: string | undefined): string {
  if (secret === undefined || secret.length < MIN_SECRET_LENGTH) return text;
  if (secret !== lastSecret) {
    lastForms = secretForms([secret]);
    lastSecret = secret;
  }
  return redactText(text, lastForms);
}

/**
 * The pool of a {@link RedactingWriter}: buffers of at least POOLED_BYTES, at most POOL_SIZE kept; and the bytes it
 * lets the destination hold unwritten before it makes its own writer wait.
 */
const POOLED_BYTES = 256 * 1024;
const POOL_SIZE = 8;
const IN_FLIGHT_BYTES = 1024 * 1024;

/**
 * A writable stream that writes what it is given on to `destination` with every form of the secrets replaced:
 * the last line of defence on every output the CLI writes. A secret cut across two chunks is still found: the
 * stream holds back the last `longest - 1` bytes of each chunk until the next one (or the end) arrives.
 *
 * Design decisions:
 * - Each chunk is copied, after the bytes held back, into a buffer of a small pool, searched there and written
 *   on from it; the buffer goes back to the pool when the destination says it has written it. The writer is
 *   told to go on at once while the destination holds less than IN_FLIGHT_BYTES unwritten (so a chunk is
 *   copied as it is written, not kept in this stream's queue), and waits for the destination beyond that. A stream of
 *   strings (a row writer's) or of buffers made for it (the native engine's rows) then leaves no buffer behind
 *   for the garbage collector: handing each chunk on as it came, or joined to the held-back bytes, left every
 *   one alive until the destination had written it, long enough to outlive the young generation, and a
 *   million-row enrich run held 30-45 MB of such buffers at a time (its peak RSS: issue 12).
 * - Only the rare chunk with a secret in it is copied again, with the secret replaced.
 * - Without secrets, chunks go on as they are.
 * - `end: false` leaves the destination open when this stream ends (stdout, or a file its owner commits).
 */
export class RedactingWriter extends Writable {
  readonly #destination: NodeJS.WritableStream;
  readonly #endDestination: boolean;
  readonly #forms: Buffer[];
  readonly #keep: number;
  readonly #marker = Buffer.from(REDACTED, 'utf8');
  readonly #pool = new BufferPool(POOLED_BYTES, POOL_SIZE);
  #tail: Buffer = Buffer.alloc(0);
  #failure: Error | undefined;
  /** Bytes handed to the destination and not yet written by it. */
  #inFlight = 0;
  /** Goes on when the destination has written enough of them (or has failed). */
  #waiting: (() => void) | undefined;

  constructor(
    destination: NodeJS.WritableStream,
    secrets: Iterable<string | undefined>,
    { end = true }: { end?: boolean } = {},
  ) {
    super({ decodeStrings: false });
    this.#destination = destination;
    this.#endDestination = end;
    this.#forms = secretForms(secrets).map((form) => Buffer.from(form, 'utf8'));
    this.#keep = this.#forms.length === 0 ? 0 : Math.max(...this.#forms.map((form) => form.length)) - 1;
    // The destination's errors are its owner's to report (an atomic output names its file when committed; the
    // enrich spool's wait for 'finish' rejects): this stream stops writing to it and lets its writer go on to
    // that point, rather than leaving it waiting for a 'drain' that will never come.
    const onError = (error: Error): void => {
      this.#failure ??= error;
      this.#waiting?.();
    };
    destination.on('error', onError);
    this.once('close', () => destination.removeListener('error', onError));
  }

  /**
   * True when every chunk written is copied before its write callback runs (there is a secret to look for), so the
   * writer may reuse the chunk's buffer then; false when chunks are passed on as they are.
   */
  get copiesChunks(): boolean {
    return this.#keep > 0;
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#keep === 0) {
      this.#forward(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk, undefined, callback);
      return;
    }
    const size = this.#tail.length + (typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.length);
    const pooled = this.#pool.take(size);
    this.#tail.copy(pooled, 0);
    if (typeof chunk === 'string') pooled.write(chunk, this.#tail.length, encoding);
    else chunk.copy(pooled, this.#tail.length);
    const joined = pooled.subarray(0, size);
    if (this.#forms.every((form) => !joined.includes(form))) {
      // Hold back what could be the start of a secret completed by the next chunk.
      const cut = Math.max(0, size - this.#keep);
      this.#tail = Buffer.from(joined.subarray(cut));
      this.#forward(joined.subarray(0, cut), pooled, callback);
      return;
    }
    const cleaned = this.#replace(joined);
    this.#pool.give(pooled);
    const cut = Math.max(0, cleaned.length - this.#keep);
    this.#tail = cleaned.subarray(cut);
    this.#forward(cleaned.subarray(0, cut), undefined, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const tail = this.#tail;
    this.#tail = Buffer.alloc(0);
    const finish = (error?: Error | null): void => {
      if (error !== undefined && error !== null) {
        callback(error);
        return;
      }
      if (!this.#endDestination) {
        callback();
        return;
      }
      if (this.#failure === undefined) this.#destination.end(() => callback());
      else callback();
    };
    if (tail.length > 0) this.#forward(tail, undefined, finish);
    else finish();
  }

  /** Writes `bytes` on; `pooled` (the buffer they are in) goes back to the pool once written. */
  #forward(bytes: Buffer, pooled: Buffer | undefined, callback: (error?: Error | null) => void): void {
    if (this.#failure !== undefined || bytes.length === 0) {
      if (pooled !== undefined) this.#pool.give(pooled);
      callback();
      return;
    }
    this.#inFlight += bytes.length;
    this.#destination.write(bytes, () => {
      this.#inFlight -= bytes.length;
      if (pooled !== undefined) this.#pool.give(pooled);
      if (this.#inFlight <= IN_FLIGHT_BYTES) this.#waiting?.();
    });
    if (this.#inFlight <= IN_FLIGHT_BYTES) {
      callback();
      return;
    }
    this.#waiting = () => {
      this.#waiting = undefined;
      callback();
    };
  }

  #replace(bytes: Buffer): Buffer {
    let result = bytes;
    for (const form of this.#forms) {
      let at = result.indexOf(form);
      if (at === -1) continue;
      const parts: Buffer[] = [];
      let from = 0;
      while (at !== -1) {
        parts.push(result.subarray(from, at), this.#marker);
        from = at + form.length;
        at = result.indexOf(form, from);
      }
      parts.push(result.subarray(from));
      result = Buffer.concat(parts);
    }
    // Always a copy: `bytes` is a pooled buffer, about to be used again.
    return result === bytes ? Buffer.from(bytes) : result;
  }
}
