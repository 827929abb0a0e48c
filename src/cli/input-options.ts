/**
 * The input and output options shared by `extract` and `enrich`, and the record source they describe.
 */
import { readFile } from 'node:fs/promises';
import type { ParseArgsConfig } from 'node:util';
import { Allowlist } from '../allowlist.js';
import { InputError, IocEnrichError, OptionError } from '../errors.js';
import { ENCODINGS, type EncodingName } from '../io/decode.js';
import { DELIMITERS, type InputFormat, type InputMember } from '../io/open-input.js';
import {
  checkMemberOptions,
  inputMembers,
  memberSourceBatches,
  newReadReport,
  readTypedBatches,
  type ReadReport,
  type ReaderOptions,
} from '../io/readers.js';
import type { RecordInput } from '../extract-stage.js';
import type { SourceRecord } from '../types.js';
import { extractCandidates } from '../extract/index.js';
import type { CommandIo } from './io.js';
import type { BadRows } from './render.js';

/** parseArgs option definitions for input, screening and output. */
export const INPUT_OPTIONS = {
  'input-format': { type: 'string' },
  columns: { type: 'string' },
  fields: { type: 'string' },
  'index-col': { type: 'string' },
  'skip-bad-rows': { type: 'boolean' },
  'strict-csv': { type: 'boolean' },
  delimiter: { type: 'string' },
  encoding: { type: 'string' },
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
  'strict-csv'?: boolean | undefined;
  delimiter?: string | undefined;
  encoding?: string | undefined;
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
  badRows: BadRows;
  /** Repaired CSV records and what --columns/--fields matched, filled in as reading goes. */
  report: ReadReport;
  /** The first member of the input, opened (its format, delimiter and container decided). */
  member: InputMember | undefined;
  /** --strict-csv was given (errors then name the lenient default). */
  strictCsv: boolean;
  /** --encoding, if given. */
  encoding: EncodingName | undefined;
  /**
   * Set when the input can be extracted in parts (see parallel-extract.ts): text, or CSV without
   * --skip-bad-rows, not pre-typed. `records` is then not needed, and not read, by the extract command.
   */
  parallel:
    | {
        inputFormat: 'csv' | 'text';
        columns: string[] | undefined;
        indexColumn: string | undefined;
        delimiter: string;
        strictCsv: boolean;
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

/** `--input-format`: the formats, with `json` for jsonl (arrays and _search responses are told apart inside). */
function inputFormat(value: string | undefined): InputFormat | undefined {
  if (value === undefined) return undefined;
  if (value === 'json') return 'jsonl';
  if (value === 'csv' || value === 'text' || value === 'jsonl' || value === 'zeek') return value;
  throw new OptionError('--input-format', value, 'one of csv, text, jsonl, json, zeek');
}

/** `--delimiter`: one of the four, also as a word or `\t`. */
function delimiter(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const named: Record<string, string> = { comma: ',', semicolon: ';', tab: '\t', '\\t': '\t', pipe: '|' };
  const chosen = named[value.toLowerCase()] ?? value;
  if (!(DELIMITERS as readonly string[]).includes(chosen)) {
    throw new OptionError('--delimiter', value, "one of ',' ';' '\\t' (or tab) '|'");
  }
  return chosen;
}

function encoding(value: string | undefined): EncodingName | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  const aliases: Record<string, EncodingName> = { utf8: 'utf-8', cp1252: 'windows-1252', 'iso-8859-1': 'latin1' };
  const chosen = aliases[lower] ?? lower;
  if (!(ENCODINGS as readonly string[]).includes(chosen)) {
    throw new OptionError('--encoding', value, `one of ${ENCODINGS.join(', ')}`);
  }
  return chosen as EncodingName;
}

/** The records of every member: the first (already opened), then the rest. */
async function* allRecords(
  first: InputMember | undefined,
  rest: AsyncGenerator<InputMember>,
  options: ReaderOptions,
): AsyncGenerator<SourceRecord[]> {
  try {
    if (first === undefined) return;
    yield* memberSourceBatches(first, options);
    for await (const member of rest) {
      checkMemberOptions(member, options);
      yield* memberSourceBatches(member, options);
    }
  } finally {
    await rest.return(undefined);
  }
}

/**
 * Resolves the input options of a command with one positional INPUT into a record source. The input is opened
 * here (its container, encoding, format and delimiter decided; see src/io/open-input.ts): a missing file or an
 * unreadable one fails before any output is opened.
 */
export async function resolveInput(values: InputValues, positionals: string[], io?: CommandIo): Promise<ResolvedInput> {
  if (positionals.length !== 1) {
    throw new OptionError('INPUT', positionals.join(' ') || '(nothing)', 'exactly one input file, or - for stdin');
  }
  const path = positionals[0] ?? '-';
  const forced = inputFormat(values['input-format']);
  const report = newReadReport();
  const namedBy = values.columns !== undefined ? '--columns' : values.fields !== undefined ? '--fields' : undefined;
  const badRows: BadRows = { count: 0, first: undefined, report, namedBy };
  const skipBadRows = values['skip-bad-rows'] === true;
  const strictCsv = values['strict-csv'] === true;
  const onBadRow = (error: InputError): void => {
    badRows.count++;
    badRows.first ??= error.message;
  };
  const onNotice = (message: string): void => {
    io?.stderr.write(`ioc-enrich: ${message}\n`);
  };
  const spec = path === '-' && io?.stdin !== undefined ? { path, stream: io.stdin } : { path };
  const dialect = {
    delimiter: delimiter(values.delimiter),
    encoding: encoding(values.encoding),
    strictCsv,
    onNotice,
    skipBadRows,
    onBadRow,
    report,
  };
  const observableColumn = values['observable-col'];
  const typeColumn = values['type-col'];
  let records: RecordInput;
  let parallel: ResolvedInput['parallel'];
  let member: InputMember | undefined;
  if (observableColumn !== undefined || typeColumn !== undefined) {
    if (observableColumn === undefined || typeColumn === undefined) {
      throw new OptionError(
        observableColumn === undefined ? '--observable-col' : '--type-col',
        '(missing)',
        'given together with the other (pre-typed input)',
      );
    }
    if (forced !== undefined && forced !== 'csv') {
      throw new OptionError('--input-format', values['input-format'], 'csv for pre-typed input');
    }
    records = {
      batches: readTypedBatches(spec, {
        observableColumn,
        typeColumn,
        ...(values['index-col'] === undefined ? {} : { indexColumn: values['index-col'] }),
        ...dialect,
      }),
    };
  } else {
    const columns = list(values.columns);
    const fields = list(values.fields);
    const options: ReaderOptions = {
      format: forced,
      ...(columns === undefined ? {} : { columns }),
      ...(fields === undefined ? {} : { fields }),
      ...(values['index-col'] === undefined ? {} : { indexColumn: values['index-col'] }),
      ...dialect,
    };
    const members = inputMembers(spec, options);
    const first = await members.next();
    member = first.done === true ? undefined : first.value;
    if (member !== undefined) checkMemberOptions(member, options);
    const format = member?.format;
    if (
      member !== undefined &&
      member.container !== 'zip' &&
      (format === 'text' || (format === 'csv' && !skipBadRows))
    ) {
      parallel = {
        inputFormat: format,
        columns,
        indexColumn: values['index-col'],
        delimiter: member.delimiter,
        strictCsv,
      };
    }
    records = { batches: allRecords(member, members, options) };
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
  }
  return {
    path,
    records,
    allowlist,
    urlHostsAsDns: values['url-hosts-as-dns'] === true,
    badRows,
    report,
    member,
    strictCsv,
    encoding: dialect.encoding,
    parallel,
  };
}

/**
 * Nothing read, and why that must not pass silently (issue 11): a CSV whose only line was taken for its header, when
 * that line holds IP addresses, URLs or hashes, is data without a header (an export written without one), and
 * exiting 0 with no rows would hide its IoCs. Domain-like names are not counted: real headers have them
 * (`host.name`, `source.domain`). A header-only CSV, an empty input or an empty JSON array stay a success.
 */
export function checkSomethingRead(records: number, input: ResolvedInput): void {
  const header = input.report.header;
  if (records > 0 || header === undefined) return;
  const found = extractCandidates(header.cells.join(' ')).find((candidate) => candidate.type !== 'dns');
  if (found === undefined) return;
  throw new InputError(
    header.file,
    header.line + 1,
    `no records: the only line was read as the header, yet it holds ${found.original}; if the file has no header ` +
      'line, read it with --input-format text',
  );
}
