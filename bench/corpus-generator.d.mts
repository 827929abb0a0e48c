// Types of corpus-generator.mjs (plain JS, run by node in the benches), for the tests that import it.

export interface CorpusOptions {
  readonly seed?: number;
  readonly format?: 'text' | 'csv';
  /** Draw every observable afresh instead of from the bounded pools. */
  readonly unique?: boolean;
  /** Distinct values per kind in the pools. */
  readonly poolSize?: number;
}

/** One observable that extract + screen must accept: `line` is the 0-based text line or CSV data row. */
export interface CorpusTruth {
  readonly line: number;
  readonly type: string;
  readonly value: string;
}

export function generateCorpus(options?: CorpusOptions & { readonly lines?: number }): {
  text: string;
  truth: CorpusTruth[];
};

export function writeCorpus(
  path: string,
  options?: CorpusOptions & { readonly bytes?: number },
): Promise<{ bytes: number; lines: number }>;

export function writeProxyCorpus(
  path: string,
  options?: {
    readonly seed?: number;
    readonly bytes?: number;
    readonly distinctUrls?: number;
    readonly hosts?: number;
  },
): Promise<{ bytes: number; lines: number }>;
