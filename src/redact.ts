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
import { Transform, type TransformCallback } from 'node:stream';

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
 * A byte stream with every form of the secrets replaced: the last line of defence on every output the CLI
 * writes. A secret cut across two chunks is still found: the stream holds back the last `longest - 1` bytes of
 * each chunk until the next one (or the end) arrives.
 */
export class RedactingStream extends Transform {
  readonly #forms: Buffer[];
  readonly #keep: number;
  readonly #marker = Buffer.from(REDACTED, 'utf8');
  #tail: Buffer = Buffer.alloc(0);

  constructor(secrets: Iterable<string | undefined>) {
    super();
    this.#forms = secretForms(secrets).map((form) => Buffer.from(form, 'utf8'));
    this.#keep = this.#forms.length === 0 ? 0 : Math.max(...this.#forms.map((form) => form.length)) - 1;
  }

  /** Whether there is anything to redact (a stream with no secrets need not be piped through at all). */
  get active(): boolean {
    return this.#forms.length > 0;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const joined = this.#tail.length === 0 ? bytes : Buffer.concat([this.#tail, bytes]);
    const cleaned = this.#replace(joined);
    // Hold back what could be the start of a secret completed by the next chunk.
    const cut = Math.max(0, cleaned.length - this.#keep);
    this.#tail = cleaned.subarray(cut);
    if (cut > 0) this.push(cleaned.subarray(0, cut));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#tail.length > 0) this.push(this.#tail);
    this.#tail = Buffer.alloc(0);
    callback();
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
    return result;
  }
}
