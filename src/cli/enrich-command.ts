/**
 * `ioc-enrich enrich`: the whole pipeline, from a SIEM export to one enriched row per occurrence.
 */
import { parseArgs } from 'node:util';
import { OptionError } from '../errors.js';
import { inferInputFormat } from '../io/readers.js';
import { joinResults } from '../join/index.js';
import { enrich, type EnrichInput, type EnrichSummary } from '../pipeline.js';
import { extractParallel } from '../parallel/parallel-extract.js';
import { createRowWriter } from '../io/writers.js';
import { ENRICH_COLUMNS } from '../types.js';
import { EXTRACT_HELP, withStrictHint } from './extract-command.js';
import { INPUT_OPTIONS, checkSomethingRead, outputFormat, resolveInput } from './input-options.js';
import { EXIT, openOutput, type CommandIo } from './io.js';
import { nativeEngineWanted, partExtractOptions, sayNativeLoadError } from './part-extract.js';
import { capYoungGeneration, trimHeapEverySecond } from './young-generation.js';
import { ProgressReporter, formatDryRun, formatEnrichSummary } from './render.js';
import { VT_HELP, VT_OPTIONS, resolveVt } from './vt-options.js';
import { DigestBuilder } from '../report/digest.js';
import { OUTPUTS_HELP, OUTPUT_OPTIONS, resolveOutputs, wantsOutputs, writeOutputs } from './outputs-options.js';
import type { EnrichProgress } from '../pipeline.js';

const ENRICH_HELP = `Usage: ioc-enrich enrich [options] INPUT

Extract the IoCs of INPUT (CSV, text, JSON or Zeek; gzip'd or zip'd; - for stdin), look each distinct one up in VirusTotal at
exactly the pace the key allows, and write one row per occurrence, in input order, with msticpy's columns.

${EXTRACT_HELP.slice(EXTRACT_HELP.indexOf('Input:'), EXTRACT_HELP.indexOf('Output:'))}Output:
  --format csv|jsonl|json    default csv (spreadsheet-safe)
  -o, --output FILE          default stdout; written to a temporary name and renamed when complete
  --dry-run                  no lookups: print how many the run needs, by type, and how long they take
  --join FILE                then write the source table to FILE with verdict columns added per row
                             (vt_max_positives, vt_severity, vt_malicious, vt_observables); needs -o and a
                             CSV or JSON-lines input file
${OUTPUTS_HELP}${VT_HELP}
Exit codes: 0 complete, 1 failed, 2 usage error, 3 finished with observables not submitted (quota),
130 interrupted (the output holds what was known; the rest is 'NotSubmitted: interrupted').

Examples:
  ioc-enrich enrich --emulator fixtures/demo/siem-export.csv
  VT_API_KEY=... ioc-enrich enrich --columns src_ip,url proxy.csv -o enriched.csv
  VT_API_KEY=... ioc-enrich enrich --dry-run firewall.csv
  ioc-enrich enrich --emulator fixtures/demo/siem-export.csv -o out.csv --report run.html --export stix=hits.json
`;

/** Runs `enrich`; returns the exit code. */
export async function enrichCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...INPUT_OPTIONS,
      ...VT_OPTIONS,
      ...OUTPUT_OPTIONS,
      'dry-run': { type: 'boolean' },
      join: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(ENRICH_HELP);
    return EXIT.ok;
  }
  const format = outputFormat(values.format, ['csv', 'jsonl', 'json'] as const);
  const dryRun = values['dry-run'] === true;
  // Usage errors before the input is opened: a bad option is exit 2 whatever the input.
  const outputs = resolveOutputs(values, io, !dryRun && (values.output === undefined || values.output === '-'));
  if (dryRun && wantsOutputs(outputs)) throw new OptionError('--report/--export', '(given)', 'left out of a dry run');
  const nativeEngine = nativeEngineWanted(io.env);
  const input = await resolveInput(values, positionals, io);
  // Text and CSV are extracted as `extract` extracts them (the native engine where it is built); other inputs
  // (JSON, pre-typed, --skip-bad-rows) through the record pipeline.
  const { parallel } = input;
  if (parallel !== undefined && nativeEngine) sayNativeLoadError(io);
  const checkMemory = parallel !== undefined && io.limitYoungGeneration === true ? capYoungGeneration() : undefined;
  const source: EnrichInput =
    parallel === undefined
      ? input.records
      : {
          extractTo: (spool, stats, onFirstSightings) =>
            extractParallel(
              partExtractOptions(input, parallel, {
                output: spool,
                stats,
                outputFormat: 'jsonl',
                nativeEngine,
                onPart: checkMemory,
                onFirstSightings,
              }),
            ),
        };
  const joinTarget = values.join;
  const sourceFormat = input.member?.format ?? inferInputFormat(input.path);
  if (joinTarget !== undefined) {
    // The join reads the results back from -o and the source again from its file.
    if (values.output === undefined || values.output === '-')
      throw new OptionError('--join', joinTarget, 'given with -o FILE');
    if (
      input.path === '-' ||
      input.member?.container === 'zip' ||
      (sourceFormat !== 'csv' && sourceFormat !== 'jsonl')
    ) {
      throw new OptionError('--join', joinTarget, 'used with a CSV or JSON-lines input file, not stdin or text');
    }
  }
  const vt = await resolveVt(values, io, { keyRequired: !dryRun });
  const progress = new ProgressReporter(io.stderr, vt.logger);
  // A dry run writes no rows: its output is the plan.
  const output = dryRun ? undefined : openOutput(values.output, io);
  const writer = output === undefined ? undefined : createRowWriter(ENRICH_COLUMNS, format, output.stream);
  let summary: EnrichSummary;
  let rows = 0;
  // The report and exports are made from the rows, like `ioc-enrich report` makes them from the output file.
  const digest = wantsOutputs(outputs) ? new DigestBuilder() : undefined;
  let quota: EnrichProgress | undefined;
  const startedAt = new Date();
  const stopTrimming = io.limitYoungGeneration === true ? trimHeapEverySecond() : undefined;
  try {
    summary = await enrich(
      source,
      {
        lookup: vt.lookup,
        ...(vt.cache === undefined ? {} : { cache: vt.cache }),
        ...(input.allowlist === undefined ? {} : { allowlist: input.allowlist }),
        urlHostsAsDns: input.urlHostsAsDns,
        dryRun,
        onProgress: (state) => {
          quota = state;
          progress.update(state);
        },
      },
      (row) => {
        rows++;
        digest?.addRow(row);
        return writer?.write(row);
      },
    );
  } catch (error) {
    progress.done();
    if (rows === 0) {
      // The input failed before any row (a missing file, a malformed row in the first pass): no output file.
      await output?.abort();
      throw withStrictHint(error, input);
    }
    // Rows for everything known were written before the failure was rethrown: keep them.
    await writer?.end();
    await output?.commit();
    throw withStrictHint(error, input);
  } finally {
    stopTrimming?.();
    await vt.close();
  }
  progress.done();
  await writer?.end();
  if (summary.stopReason !== 'interrupted') {
    try {
      checkSomethingRead(summary.extract.records, input);
    } catch (error) {
      await output?.abort();
      throw error;
    }
  }
  await output?.commit();
  if (dryRun) {
    io.stdout.write(formatDryRun(summary));
    return EXIT.ok;
  }
  io.stderr.write(formatEnrichSummary(summary, input.badRows));
  if (values.output !== undefined && values.output !== '-') {
    io.stderr.write(`  wrote ${summary.occurrences} row(s) to ${values.output}\n`);
  }
  if (digest !== undefined) {
    const source = input.path === '-' ? '<stdin>' : input.path;
    const state = quota === undefined ? undefined : { ...quota, requests: summary.lookup?.requests ?? 0 };
    await writeOutputs(outputs, digest.finish(), { source, startedAt, finishedAt: new Date(), quota: state }, io);
  }
  if (joinTarget !== undefined && values.output !== undefined) {
    const joined = await joinResults({
      source: input.path,
      sourceFormat: sourceFormat === 'jsonl' ? 'jsonl' : 'csv',
      delimiter: input.member?.delimiter,
      encoding: input.encoding,
      results: values.output,
      output: joinTarget,
      indexColumn: values['index-col'],
      nativeEngine,
    });
    io.stderr.write(
      `  joined verdicts into ${joined.matchedRows} of ${joined.sourceRows} source row(s): ${joinTarget}\n`,
    );
  }
  if (summary.stopReason === 'interrupted') return EXIT.interrupted;
  if (summary.notSubmitted > 0) return EXIT.notSubmitted;
  return EXIT.ok;
}
