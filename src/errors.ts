/**
 * Errors for the run itself failing. Expected per-item outcomes (screened out, not found, a failed lookup)
 * are values with a status, never exceptions.
 */

/** The closed set of error codes. */
export type ErrorCode =
  | 'BAD_OPTION'
  | 'BAD_INPUT'
  | 'INPUT_NOT_FOUND'
  | 'AUTHENTICATION'
  | 'API_ERROR'
  | 'CACHE_ERROR'
  | 'QUOTA_STORE_ERROR'
  | 'OUTPUT_FAILED'
  | 'INTERRUPTED';

/** Base class: every error the library throws on purpose. */
export class IocEnrichError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IocEnrichError';
    this.code = code;
  }
}

/** A bad option or combination of options. */
export class OptionError extends IocEnrichError {
  readonly option: string;
  readonly value: unknown;

  constructor(option: string, value: unknown, expected: string) {
    super('BAD_OPTION', `Expected \`${option}\` to be ${expected}, got \`${String(value)}\``);
    this.name = 'OptionError';
    this.option = option;
    this.value = value;
  }
}

/** Input that cannot be read: names the file, the line (1-based, as an editor shows it) and the problem. */
export class InputError extends IocEnrichError {
  readonly file: string;
  readonly line: number | undefined;
  /** What is wrong, without the file and line. */
  readonly problem: string;

  constructor(file: string, line: number | undefined, problem: string, options?: { cause?: unknown }) {
    super('BAD_INPUT', `${file}${line === undefined ? '' : `:${line}`}: ${problem}`, options);
    this.name = 'InputError';
    this.file = file;
    this.line = line;
    this.problem = problem;
  }
}

/** A VirusTotal reply that ends the run (bad credentials), or an API failure the caller must see. */
export class ApiError extends IocEnrichError {
  readonly status: number | undefined;
  readonly vtCode: string | undefined;

  constructor(
    code: 'AUTHENTICATION' | 'API_ERROR',
    message: string,
    context: { status?: number; vtCode?: string; cause?: unknown },
  ) {
    super(code, message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'ApiError';
    this.status = context.status;
    this.vtCode = context.vtCode;
  }
}
