/**
 * The input and output options shared by `extract` and `enrich`, and the record source they describe.
 */
import { readFile } from 'node:fs/promises';
import type { ParseArgsConfig } from 'node:util';
import { Allowlist } from '../allowlist.js';
import { IocEnrichError, OptionError } from '../errors.js';
import { inferInputFormat, readSourceBatches, readTypedBatches } from '../io/readers.js';
import type { RecordInput } from '../pipeline.js';
import type { InputError } from '../errors.js';

/** parseArgs option definitions for input, screening and output. */
export const INPUT_OPTIONS = {
  'input-format': { type: 'string' },
  columns: { type: 'string' },
  fields: { type: 'string' },
  'index-col': { type: 'string' },
  'skip-bad-rows': { type: 'boolean' },
  'observable-col': { type: 'string' },
  'type-col': { type: 'string' },
  allowlist: { type: 'string' },
  'url-hosts-as-dns': { type: 'boolean' },
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** The parsed values of {@link INPUT_OPTIONS}. */
export interface InputValues {
  'input-format'?: string | undefined;
  columns?: string | undefined;
  fields?: string | undefined;
  'index-col'?: string | undefined;
  'skip-bad-rows'?: boolean | undefined;
  'observable-col'?: string | undefined;
  'type-col'?: string | undefined;
  allowlist?: string | undefined;
  'url-hosts-as-dns'?: boolean | undefined;
  format?: string | undefined;
  output?: string | undefined;
}

/** What the input options resolve to. */
export interface ResolvedInput {
  path: string;
  records: RecordInput;
  allowlist: Allowlist | undefined;
  urlHostsAsDns: boolean;
  /** Rows skipped with --skip-bad-rows, counted as reading goes. */
  badRows: { count: number; first: string | undefined };
  /**
   * Set when the input can be extracted in parallel (see parallel-extract.ts): text, or CSV without
   * --skip-bad-rows, not pre-typed. `records` is then not needed, and not read, by the extract command.
   */
  parallel:
    | {
        inputFormat: 'csv' | 'text';
        columns: string[] | undefined;
        indexColumn: string | undefined;
        allowlist: { text: string; source: string } | undefined;
      }
    | undefined;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length === 0 ? undefined : items;
}

/** The output format, validated against what the command supports. */
export function outputFormat<T extends string>(value: string | undefined, allowed: readonly T[]): T {
  const format = value ?? allowed[0];
  if (format === undefined || !(allowed as readonly string[]).includes(format)) {
    throw new OptionError('--format', value, `one of ${allowed.join(', ')}`);
  }
  return format as T;
}

/** Resolves the input options of a command with one positional INPUT into a record source. */
export async function resolveInput(values: InputValues, positionals: string[]): Promise<ResolvedInput> {
  if (positionals.length !== 1) {
    throw new OptionError('INPUT', positionals.join(' ') || '(nothing)', 'exactly one input file, or - for stdin');
  }
  const path = positionals[0] ?? '-';
  const inputFormat = values['input-format'] ?? inferInputFormat(path);
  if (inputFormat !== 'csv' && inputFormat !== 'text' && inputFormat !== 'jsonl') {
    throw new OptionError('--input-format', inputFormat, 'one of csv, text, jsonl');
  }
  const badRows: ResolvedInput['badRows'] = { count: 0, first: undefined };
  const skipBadRows = values['skip-bad-rows'] === true;
  const onBadRow = (error: InputError): void => {
    badRows.count++;
    badRows.first ??= error.message;
  };
  const observableColumn = values['observable-col'];
  const typeColumn = values['type-col'];
  let records: RecordInput;
  let parallel: ResolvedInput['parallel'];
  if (observableColumn !== undefined || typeColumn !== undefined) {
    if (observableColumn === undefined || typeColumn === undefined) {
      throw new OptionError(
        observableColumn === undefined ? '--observable-col' : '--type-col',
        '(missing)',
        'given together with the other (pre-typed input)',
      );
    }
    if (inputFormat !== 'csv') throw new OptionError('--input-format', inputFormat, 'csv for pre-typed input');
    records = {
      batches: readTypedBatches(
        { path },
        {
          observableColumn,
          typeColumn,
          ...(values['index-col'] === undefined ? {} : { indexColumn: values['index-col'] }),
          skipBadRows,
          onBadRow,
        },
      ),
    };
  } else {
    const columns = list(values.columns);
    const fields = list(values.fields);
    if (inputFormat === 'text' || (inputFormat === 'csv' && !skipBadRows)) {
      parallel = { inputFormat, columns, indexColumn: values['index-col'], allowlist: undefined };
    }
    records = {
      batches: readSourceBatches(
        { path },
        {
          format: inputFormat,
          ...(columns === undefined ? {} : { columns }),
          ...(fields === undefined ? {} : { fields }),
          ...(values['index-col'] === undefined ? {} : { indexColumn: values['index-col'] }),
          skipBadRows,
          onBadRow,
        },
      ),
    };
  }
  let allowlist: Allowlist | undefined;
  if (values.allowlist !== undefined) {
    let text: string;
    try {
      text = await readFile(values.allowlist, 'utf8');
    } catch (error) {
      throw new IocEnrichError(
        'INPUT_NOT_FOUND',
        `${values.allowlist}: cannot read the allowlist (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    allowlist = Allowlist.parse(text, values.allowlist);
    if (parallel !== undefined) parallel.allowlist = { text, source: values.allowlist };
  }
  return { path, records, allowlist, urlHostsAsDns: values['url-hosts-as-dns'] === true, badRows, parallel };
}
