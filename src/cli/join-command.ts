/**
 * `ioc-enrich join`: the source table with verdict columns added, matched with an enrich output by SourceIndex.
 */
import { parseArgs } from 'node:util';
import { OptionError } from '../errors.js';
import { JOIN_COLUMNS, joinResults } from '../join/index.js';
import { EXIT, type CommandIo } from './io.js';
import { nativeEngineWanted } from './part-extract.js';

const JOIN_HELP = `Usage: ioc-enrich join --results RESULTS [options] SOURCE

Write SOURCE (the CSV or JSON-lines file enrich read) with ${JOIN_COLUMNS.length} columns added to each row,
matched with RESULTS (enrich's output: CSV, JSON lines or JSON) by SourceIndex:
  vt_max_positives   the highest Positives among the row's observables
  vt_severity        the worst Severity of the row: high > warning > information
  vt_malicious       the row's observables with Positives > 0, joined with '; '
  vt_observables     how many of the row's observables VirusTotal found
Rows without IoCs get empty cells (null in JSON lines). The source's own columns, order, quoting and line ends
are kept byte for byte; it is streamed, so it may be larger than memory (RESULTS is held in memory).

Options:
  --results FILE                 the enrich output (required)
  --index-col NAME               the column (JSON lines: dotted path) enrich was given as --index-col
  --input-format csv|jsonl       default from SOURCE's extension (.jsonl/.ndjson/.json: jsonl; else csv)
  -o, --output FILE              default stdout; written to a temporary name and renamed when complete

Examples:
  ioc-enrich enrich firewall.csv -o verdicts.csv && ioc-enrich join --results verdicts.csv firewall.csv -o firewall-vt.csv
  ioc-enrich join --results verdicts.jsonl --index-col event.id events.jsonl > events-vt.jsonl
`;

const OPTIONS = {
  results: { type: 'string' },
  'index-col': { type: 'string' },
  'input-format': { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `join`; returns the exit code. */
export async function joinCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help === true) {
    io.stdout.write(JOIN_HELP);
    return EXIT.ok;
  }
  if (values.results === undefined || values.results === '') {
    throw new OptionError(
      '--results',
      values.results ?? '(none)',
      'the enrich output to join (see ioc-enrich join --help)',
    );
  }
  if (positionals.length !== 1) {
    throw new OptionError('SOURCE', positionals.join(' ') || '(none)', 'exactly one source file (- for stdin)');
  }
  const source = positionals[0] as string;
  const format = values['input-format'];
  if (format !== undefined && format !== 'csv' && format !== 'jsonl') {
    throw new OptionError('--input-format', format, 'csv or jsonl');
  }
  if (source === '-' && format === undefined) {
    throw new OptionError('--input-format', '(none)', 'given when SOURCE is - (stdin has no extension)');
  }
  const toStdout = values.output === undefined || values.output === '-';
  const stats = await joinResults({
    source: source === '-' ? '<stdin>' : source,
    ...(source === '-' ? { sourceStream: io.stdin ?? process.stdin } : {}),
    sourceFormat: format,
    results: values.results,
    output: toStdout ? io.stdout : (values.output as string),
    indexColumn: values['index-col'],
    nativeEngine: nativeEngineWanted(io.env),
    onNotice: (message) => io.stderr.write(`ioc-enrich: ${message}\n`),
  });
  io.stderr.write(
    `joined ${stats.sourceRows.toLocaleString('en-US')} rows: ${stats.matchedRows.toLocaleString('en-US')} with results ` +
      `(${stats.resultRows.toLocaleString('en-US')} result rows)\n`,
  );
  if (stats.unmatchedIndexes > 0) {
    io.stderr.write(
      `warning: ${stats.unmatchedIndexes.toLocaleString('en-US')} SourceIndex values of ${values.results} match no row of ${source}: ` +
        'wrong source file, or a missing or different --index-col?\n',
    );
  }
  return EXIT.ok;
}
